import test from 'ava';
import fc from 'fast-check';
import { startEmulator } from '../emulator';
import { sdkClient } from './fixtures/drift/fleet';
import { tempDir } from './helpers/project';
import { terraformTest } from './helpers/terraform';
import { initFolder, runBatch, type Env } from './fuzz/scenario';
import { stackGen, type Item, type StackGen } from './fuzz/stacks';

/**
 * Differential fuzzing against Terraform (issue 14): random stacks (test/fuzz/stacks.ts, count and
 * for_each included) planned, applied, changed out of band and drift-checked by eksidp and by
 * terraform 1.11 + hashicorp/aws 5.100 on one emulator; every check in test/fuzz/scenario.ts. CI runs
 * a fixed set of scenarios as one batch (one configuration, ten Terraform runs for all: ~40-60 s);
 * `bench/fuzz.ts` runs long seeded batches and confirms each finding alone. Scenario k is drawn from seed
 * SEED * 1000 + k, as bench/fuzz.ts draws them: a failure here replays alone (and shrinks) with
 * `npx tsx bench/fuzz.ts --replay <seed> --shrink`, and the shrunk stack goes into REGRESSIONS.
 */

const SEED = 1401;
const RUNS = Number(process.env.EKSIDP_FUZZ_RUNS ?? 4);

/**
 * Shrunk stacks of disagreements found and fixed (engine/README.md, "Differential fuzzing") that need
 * a full scenario to show. Those found so far are kept as unit tests instead, which show them without
 * Terraform (listed in engine/README.md).
 */
const REGRESSIONS: { name: string; stack: StackGen }[] = [];

terraformTest(test, `eksidp and terraform agree on random stacks (seeds ${SEED * 1000}-${SEED * 1000 + RUNS - 1}, one batch) and on the kept regression cases`, async (t) => {
  t.timeout(5 * 60_000);
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0 });
  t.teardown(() => emu.close());
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  const env: Env = { dir: tempDir(t, 'eksidp-fuzz-'), emulatorUrl: emu.url, client };
  await initFolder(env);

  const seeds = Array.from({ length: RUNS }, (_, k) => SEED * 1000 + k);
  const items: (Item & { label: string })[] = [
    ...REGRESSIONS.map((r, k) => ({ s: r.stack, prefix: `r${k}-`, ns: `s${k}_`, label: `regression ${r.name}` })),
    ...seeds.map((seed, k) => ({ s: fc.sample(stackGen, { seed, numRuns: 1 })[0]!, prefix: `f${k}-`, ns: `s${REGRESSIONS.length + k}_`, label: `scenario seed ${seed}` })),
  ];
  const res = await runBatch(env, items, (l) => t.log(l));
  t.log(`${items.length} scenarios in one batch: ${res.ms} ms, ${res.terraformRuns} terraform runs`);
  t.deepEqual(res.shared, [], 'findings no scenario owns (a tool failed)');
  items.forEach((x, k) => t.deepEqual(res.perItem[k], [], `${x.label}: ${JSON.stringify(x.s)}`));
});
