import test from 'ava';
import fc from 'fast-check';
import { startEmulator } from '../emulator';
import { sdkClient } from './fixtures/drift/fleet';
import { caseArb, runCase } from './fixtures/drift/property';

/**
 * Issue 20's property, in CI: over random stacks (managed and adopted clusters, 0-3 configs each
 * within EKS's limits, random tags, prefixes, claims, required claims, role_arn, version, subnets),
 * random out-of-band changes (tags edited, configs disassociated or DELETING, rogue configs,
 * clusters deleted or DELETING, configs CREATING) and random stack edits, for each declared resource
 * drift says in_sync exactly when `eksidp plan` leaves it alone, and its difference paths are the
 * attributes the plan changes. The rules and the documented exceptions are in
 * test/fixtures/drift/property.ts and drift/SCHEMA.md. A fixed seed and a few runs here (under a
 * minute); `npx tsx bench/drift-property.ts --runs 200 [--seed N]` runs it long. Replay a failure with
 * EKSIDP_PROPERTY_SEED=<seed> (and the path fast-check prints).
 */

const SEED = Number(process.env.EKSIDP_PROPERTY_SEED ?? 20261130);
const RUNS = Number(process.env.EKSIDP_PROPERTY_RUNS ?? 30);

test(`drift is in_sync exactly when plan is a no-op, with the plan's changed attributes as differences (seed ${SEED}, ${RUNS} runs)`, async (t) => {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0 });
  t.teardown(() => emu.close());
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  t.log(`seed ${SEED}, ${RUNS} runs (EKSIDP_PROPERTY_SEED / EKSIDP_PROPERTY_RUNS)`);
  let n = 0;
  let checked = 0;
  const seen: Record<string, number> = {};
  let failure = '';
  try {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const run = `p${n++}`;
        const out = await runCase(emu, client, c, run).catch((e: unknown) => ({ failures: [`run ${run} threw: ${(e as Error).stack}`], log: [], checked: 0, statuses: {} }));
        checked += out.checked;
        for (const [k, v] of Object.entries(out.statuses)) seen[k] = (seen[k] ?? 0) + v;
        if (out.failures.length > 0) {
          failure = `run ${run}:\n${out.failures.join('\n')}\n--- what happened:\n${out.log.join('\n')}`;
          return false;
        }
        return true;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  } catch (e) {
    t.log(failure);
    t.fail(`${(e as Error).message.split('\n').slice(0, 2).join(' ')} (the failing run is logged above)`);
    return;
  }
  t.log(`${checked} resources checked; drift status / plan action seen: ${JSON.stringify(seen)}`);
  t.true(checked > RUNS, 'the runs declared resources to check');
});
