/**
 * Differential fuzzing against Terraform, run long (issue 14): seeded random scenarios
 * (test/fuzz/stacks.ts, checks in test/fuzz/scenario.ts) against terraform 1.11 + hashicorp/aws 5.100
 * on one emulator, one `terraform init` for the run. test/fuzz-terraform.test.ts runs a few in CI.
 *
 *   npx tsx bench/fuzz.ts [--minutes 10] [--seed N] [--batch K] [--shrink]
 *   npx tsx bench/fuzz.ts --replay SCENARIO_SEED [--shrink]
 *
 * Scenario n of a run with seed S is the first stack fast-check draws from seed (S * 1000 + n) mod 2^31
 * (printed), so any one can be replayed alone with --replay. --batch K (default 1) puts K scenarios into
 * one configuration, each under its own namespace (`s0_` … names of resources, variables and outputs;
 * its own emulator prefix, variables and out-of-band changes), so each tool runs once per check for
 * the K of them; every finding is attributed to its scenario by address or output name. A scenario with
 * a finding, and every scenario of a batch with a finding no scenario owns (a tool failure), is re-run
 * alone: only a disagreement that the alone run shows counts as one (--shrink then lets fast-check
 * shrink it, each try a full scenario: slow); a finding the alone run does not show is printed and
 * counted as `batch_only`. Stops starting batches after --minutes (at most 60). The run's totals are
 * one line of bench/fuzz-results.jsonl, rewritten after every batch (a run that is killed keeps the
 * batches it completed; a signal does not reach the script through tsx's wrapper), which adds up
 * across runs (the totals so far are printed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { startEmulator } from '../emulator';
import { sdkClient } from '../test/fixtures/drift/fleet';
import { terraformAvailable } from '../test/helpers/terraform';
import { initFolder, runBatch, runScenario, type Env } from '../test/fuzz/scenario';
import { stackGen, type StackGen } from '../test/fuzz/stacks';
import { writeFileAtomicSync } from '../lib/files';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const minutes = Math.min(60, Number(flag('minutes') ?? 10));
const seed = Number(flag('seed') ?? Date.now() % 2 ** 31);
const batch = Math.max(1, Number(flag('batch') ?? 1));
const replay = flag('replay');
const shrink = process.argv.includes('--shrink');
const RESULTS = path.join(__dirname, 'fuzz-results.jsonl');

/** Scenario n of the run's seed: its own seed, so it can be drawn (and shrunk) alone. */
export const scenarioSeed = (runSeed: number, n: number) => (runSeed * 1000 + n) % 2 ** 31;
const draw = (s: number): StackGen => fc.sample(stackGen, { seed: s, numRuns: 1 })[0]!;
const describe = (s: StackGen) => `${s.clusters.length} clusters (${s.clusters.filter((c) => c.iter).length} iterated), ${s.clusters.reduce((a, c) => a + c.configs.length, 0)} configs, ${s.outputs.length} outputs, ${s.oob.length} out-of-band`;

/** Re-runs a scenario alone; with --shrink, fast-check shrinks it from its seed when it disagrees. */
async function alone(env: Env, sSeed: number, tag: string): Promise<string[]> {
  let first: string[] | undefined;
  let tries = 0;
  const details = await fc.check(
    fc.asyncProperty(stackGen, async (s) => {
      const res = await runScenario(env, s, `${tag}-${tries++}-`);
      first ??= res.disagreements;
      process.stdout.write(`  alone${tries > 1 ? ` (shrink try ${tries - 1})` : ''}: ${describe(s)}, ${(res.ms / 1000).toFixed(1)} s${res.disagreements.length ? ' DISAGREES' : ''}\n`);
      if (res.disagreements.length) throw new Error(res.disagreements.join('\n'));
    }),
    // The first value fast-check draws from a seed is the scenario (draw above); shrinking starts there.
    { seed: sSeed, numRuns: 1, endOnFailure: !shrink },
  );
  if (details.failed) process.stdout.write(`${fc.defaultReportMessage(details)}\n`);
  return first ?? [];
}

async function main(): Promise<number> {
  if (!terraformAvailable) {
    process.stderr.write('terraform (or its offline provider mirror) is missing: nothing to compare against\n');
    return 1;
  }
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0 });
  const client = sdkClient(emu.url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-fuzz-bench-'));
  const env: Env = { dir, emulatorUrl: emu.url, client };
  const t0 = Date.now();
  const deadline = t0 + minutes * 60_000;
  let n = 0, failed = 0, batchOnly = 0, reruns = 0;
  const previous = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, 'utf8') : '';
  const record = () => {
    const perScenario = n ? (Date.now() - t0) / 1000 / n : 0;
    const line = { at: new Date().toISOString(), seed, minutes, batch, scenarios: n, disagreeing: failed, batch_only: batchOnly, rerun_alone: reruns, iteration: true, mean_s: Number(perScenario.toFixed(1)), cpus: os.cpus().length, load: os.loadavg()[0]!.toFixed(1) };
    writeFileAtomicSync(RESULTS, `${previous}${JSON.stringify(line)}\n`);
    return { line, perScenario };
  };
  try {
    await initFolder(env);
    if (replay !== undefined) {
      const s = Number(replay);
      process.stdout.write(`replay of scenario seed ${s}: ${JSON.stringify(draw(s))}\n`);
      const found = await alone(env, s, `r${s}`);
      process.stdout.write(found.length ? `${found.join('\n')}\n` : 'agrees\n');
      return found.length ? 2 : 0;
    }
    process.stdout.write(`seed ${seed}, ${minutes} min, batches of ${batch}\n`);
    while (Date.now() < deadline) {
      const seeds = Array.from({ length: batch }, (_, k) => scenarioSeed(seed, n + k));
      const items = seeds.map((sSeed, k) => ({ s: draw(sSeed), prefix: `b${seed}-${n + k}-`, ns: batch === 1 ? '' : `s${k}_` }));
      const res = await runBatch(env, items);
      process.stdout.write(`scenarios ${n + 1}-${n + batch} (seeds ${seeds[0]}-${seeds[seeds.length - 1]}): ${(res.ms / 1000).toFixed(1)} s, ${res.terraformRuns} terraform runs${res.shared.length ? ', FAILED AS A BATCH' : ''}\n`);
      for (const [k, it] of items.entries()) process.stdout.write(`  ${seeds[k]}: ${describe(it.s)}${res.perItem[k]!.length ? ' DISAGREES in the batch' : ''}\n`);
      if (res.shared.length) process.stdout.write(`${res.shared.join('\n')}\n`);
      for (const [k, it] of items.entries()) {
        const suspect = res.shared.length > 0 || res.perItem[k]!.length > 0;
        if (!suspect) continue;
        if (res.perItem[k]!.length) process.stdout.write(`scenario seed ${seeds[k]} in the batch:\n${res.perItem[k]!.join('\n')}\n`);
        // Confirm alone (also a batch of one is re-run: a second look at a tool failure costs one scenario).
        reruns++;
        const found = await alone(env, seeds[k]!, `a${seeds[k]}`);
        if (found.length) {
          failed++;
          process.stdout.write(`DISAGREEMENT, scenario seed ${seeds[k]} (replay: --replay ${seeds[k]}):\n${found.join('\n')}\nstack: ${JSON.stringify(it.s)}\n`);
        } else if (res.perItem[k]!.length || batch === 1) {
          batchOnly++;
          process.stdout.write(`scenario seed ${seeds[k]}: the finding above does not show alone (batch_only)\n`);
        }
      }
      n += batch;
      record();
    }
  } finally {
    client.destroy();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const { line, perScenario } = record();
  const all = `${previous}${JSON.stringify(line)}\n`.trim().split('\n').map((l) => JSON.parse(l) as { scenarios: number; disagreeing: number });
  process.stdout.write(`run: ${n} scenarios, ${failed} disagreeing (confirmed alone), ${batchOnly} batch-only findings, ${reruns} re-run alone; ${perScenario.toFixed(1)} s wall per scenario\n`);
  process.stdout.write(`all runs (bench/fuzz-results.jsonl): ${all.reduce((a, b) => a + b.scenarios, 0)} scenarios, ${all.reduce((a, b) => a + b.disagreeing, 0)} disagreeing\n`);
  return failed ? 2 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
