/**
 * Issue 20's property, run long: for random stacks, out-of-band changes and stack edits, drift's
 * verdict is the plan's (test/fixtures/drift/property.ts has the rules and the documented
 * exceptions; test/drift-property.test.ts runs a few of the same cases in CI).
 *
 *   npx tsx bench/drift-property.ts [--runs 200] [--seed N] [--shrink]
 *
 * Deterministic: the same seed gives the same cases. It prints the seed, and on a failure the
 * counterexample, fast-check's replay path and what happened in that run; `--shrink` lets fast-check
 * look for a smaller failing case (each try is a real run against the emulator: slow).
 */
import fc from 'fast-check';
import { startEmulator } from '../emulator';
import { sdkClient } from '../test/fixtures/drift/fleet';
import { caseArb, runCase } from '../test/fixtures/drift/property';

// Quiet the AWS SDK's Node-version notice (read when the first client is built), as the CLI does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const runs = Number(flag('runs') ?? 200);
const seed = Number(flag('seed') ?? Date.now() % 2 ** 31);
const shrink = process.argv.includes('--shrink');

async function main(): Promise<number> {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0 });
  const client = sdkClient(emu.url);
  process.stderr.write(`drift-property: seed ${seed}, ${runs} runs${shrink ? ', shrinking failures' : ''}\n`);
  const started = Date.now();
  let n = 0;
  let checked = 0;
  let failure = '';
  const seen: Record<string, number> = {};
  try {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const run = `p${n++}`;
        const out = await runCase(emu, client, c, run).catch((e: unknown) => ({ failures: [`threw: ${(e as Error).stack}`], log: [], checked: 0, statuses: {} }));
        checked += out.checked;
        for (const [k, v] of Object.entries(out.statuses)) seen[k] = (seen[k] ?? 0) + v;
        if (n % 20 === 0) process.stderr.write(`  ${n} runs, ${checked} resources, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
        if (out.failures.length === 0) return true;
        failure = `run ${run}:\n${out.failures.join('\n')}\n--- what happened:\n${out.log.join('\n')}`;
        return false;
      }),
      { seed, numRuns: runs, endOnFailure: !shrink },
    );
  } catch (e) {
    process.stdout.write(`FAILED (seed ${seed})\n${(e as Error).message}\n\n${failure}\n`);
    return 1;
  } finally {
    client.destroy();
    await emu.close();
  }
  process.stdout.write(
    `drift-property: ${runs} runs (seed ${seed}), ${checked} declared resources checked in ${((Date.now() - started) / 1000).toFixed(1)} s: drift agreed with plan everywhere outside the documented exceptions.\n` +
    `drift status / plan action: ${JSON.stringify(seen)}\n`,
  );
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
