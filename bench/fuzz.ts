/**
 * Differential fuzzing against Terraform, run long (issue 14): seeded batches of random scenarios
 * (test/fuzz/stacks.ts, checks in test/fuzz/scenario.ts) against terraform 1.11 + hashicorp/aws 5.100
 * on one emulator, one `terraform init` for the batch. test/fuzz-terraform.test.ts runs a few in CI.
 *
 *   npx tsx bench/fuzz.ts [--minutes 10] [--seed N] [--shrink]
 *
 * Stops starting scenarios after --minutes (at most 60). Prints each scenario's time and every
 * disagreement with its stack; appends the batch's totals to bench/fuzz-results.jsonl, which adds up
 * across runs (the totals so far are printed at the end). --shrink lets fast-check shrink a failure
 * (each try is a full scenario: slow).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { startEmulator } from '../emulator';
import { sdkClient } from '../test/fixtures/drift/fleet';
import { terraformAvailable } from '../test/helpers/terraform';
import { initFolder, runScenario } from '../test/fuzz/scenario';
import { stackGen } from '../test/fuzz/stacks';
import { writeFileAtomicSync } from '../lib/files';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const minutes = Math.min(60, Number(flag('minutes') ?? 10));
const seed = Number(flag('seed') ?? Date.now() % 2 ** 31);
const shrink = process.argv.includes('--shrink');
const RESULTS = path.join(__dirname, 'fuzz-results.jsonl');

async function main(): Promise<number> {
  if (!terraformAvailable) {
    process.stderr.write('terraform (or its offline provider mirror) is missing: nothing to compare against\n');
    return 1;
  }
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0 });
  const client = sdkClient(emu.url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-fuzz-bench-'));
  const env = { dir, emulatorUrl: emu.url, client };
  const deadline = Date.now() + minutes * 60_000;
  let n = 0, failed = 0;
  const times: number[] = [];
  const found: string[] = [];
  process.stdout.write(`seed ${seed}, ${minutes} min\n`);
  try {
    await initFolder(env);
    // fast-check draws the scenarios from the seed; the time limit ends the batch (interruptAfterTimeLimit
    // stops between scenarios, so a started one always finishes).
    const details = await fc.check(
      fc.asyncProperty(stackGen, async (s) => {
        if (Date.now() > deadline) return;
        const res = await runScenario(env, s, `b${seed}-${n}-`);
        n++;
        times.push(res.ms);
        process.stdout.write(`scenario ${n}: ${s.clusters.length} clusters, ${s.clusters.reduce((a, c) => a + c.configs.length, 0)} configs, ${s.oob.length} out-of-band, ${(res.ms / 1000).toFixed(1)} s${res.disagreements.length ? ' DISAGREES' : ''}\n`);
        if (res.disagreements.length) {
          failed++;
          found.push(...res.disagreements);
          process.stdout.write(`${res.disagreements.join('\n')}\nstack: ${JSON.stringify(s)}\n`);
          if (shrink) throw new Error(res.disagreements.join('\n'));
        }
      }),
      { seed, numRuns: 100_000, endOnFailure: !shrink, interruptAfterTimeLimit: minutes * 60_000 + 60_000 },
    );
    if (details.failed) process.stdout.write(`${fc.defaultReportMessage(details)}\n`);
  } finally {
    client.destroy();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0;
  const line = { at: new Date().toISOString(), seed, minutes, scenarios: n, disagreeing: failed, mean_s: Number((mean / 1000).toFixed(1)), cpus: os.cpus().length, load: os.loadavg()[0]!.toFixed(1) };
  const previous = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : '';
  writeFileAtomicSync(RESULTS, `${previous}${JSON.stringify(line)}\n`);
  const all = `${previous}${JSON.stringify(line)}\n`.trim().split('\n').map((l) => JSON.parse(l) as { scenarios: number; disagreeing: number });
  process.stdout.write(`batch: ${n} scenarios, ${failed} disagreeing, ${(mean / 1000).toFixed(1)} s per scenario\n`);
  process.stdout.write(`all batches (bench/fuzz-results.jsonl): ${all.reduce((a, b) => a + b.scenarios, 0)} scenarios, ${all.reduce((a, b) => a + b.disagreeing, 0)} disagreeing\n`);
  return failed ? 2 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
