/**
 * Drift benchmark: `eksidp drift` versus `terraform plan -refresh-only` on the same fleet, whole
 * processes side by side, against the embedded emulator with 20 ms latency per call.
 *
 *   npx tsx bench/drift.ts [--sizes 50,200,1000] [--shapes one,mixed] [--runs 1] [--no-terraform]
 *       [--concurrency 64] [--bin PATH]
 *
 * The fleet is N clusters (data sources) each with one OIDC config (`one`), or one on even clusters
 * and two on odd ones (`mixed`, 1.5 per cluster). Each eksidp run is paired with a drift of a
 * 0-cluster stack (start-up, and the CPU baseline of CPU per read call); the emulator's own CPU
 * during the run caps the ideal (it serves from one thread). The CLI's start-up (`--version`, median
 * of 10) is printed too. It is seeded through the SDK
 * with latency off; Terraform's state is written from the live objects with the EKS provider's own
 * state mapping (idpState), so no slow `terraform apply` is needed. `--bin` times another build's
 * `eksidp` (bin/eksidp.js of a checkout), to put figures before and after a change side by side.
 * CPU per read call of several builds side by side: bench/cpu-per-call.ts.
 */
import { execFile } from 'node:child_process';
import { DescribeClusterCommand, DescribeIdentityProviderConfigCommand, ListIdentityProviderConfigsCommand, type EKSClient } from '@aws-sdk/client-eks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator';
import { terraformAvailable, terraformEnv } from '../test/helpers/terraform';
import { mapBounded } from '../lib/concurrency';
import { SECOND, clusterName, configCount, fleetStack, hasSecond, sdkClient, seedFleet, writeTerraformStateFromLive, type FleetSpec } from '../test/fixtures/drift/fleet';
import { cliStartup, startupLine } from './startup';
import { writeStack } from '../test/helpers/stacks';

// Quiet the AWS SDK's Node-version notice (read when the first client is built), as the CLI does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const LATENCY_MS = 20;
const root = path.join(__dirname, '..');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const eksidpBin = flag('bin') ? path.resolve(flag('bin')!) : path.join(root, 'node_modules', '.bin', 'eksidp');
const sizes = (flag('sizes') ?? '50,200,1000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
/** `one`: one config per cluster; `mixed`: even clusters one, odd two (1.5 per cluster). */
const shapes = (flag('shapes') ?? 'one,mixed').split(',').filter((x): x is Shape => x === 'one' || x === 'mixed');
type Shape = 'one' | 'mixed';
const runs = Math.max(1, Number(flag('runs') ?? 1));
const concurrency = Number(flag('concurrency') ?? 64);
const withTerraform = !process.argv.includes('--no-terraform');

/** Targets (issue 16, "Tighter figures"): ratio to the ideal, CPU per read call, peak memory, speed-up. */
const TARGET = { ratio: 1.2, ratio10k: 1.3, cpuMsPerRead: 0.15, mb: 100, mb10k: 150, speedUp: 10 };

type Measured = { code: number; wallS: number; peakMb: number; cpuS: number; stderr: string };

/** Runs a whole process under GNU time: wall time, CPU (user + system) and peak RSS (largest process of the tree). */
function measure(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    execFile('/usr/bin/time', ['-v', cmd, ...args], { cwd, env, maxBuffer: 512 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no measurements from /usr/bin/time: ${stderr.slice(-500)}`));
      const code = err ? Number((err as NodeJS.ErrnoException).code) : 0;
      // CPU seconds (user + system): steadier than wall time on a machine shared with other work.
      const cpu = (what: string) => Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(stderr)?.[1] ?? NaN);
      resolve({ code, wallS, peakMb: Number(m[1]) / 1024, cpuS: cpu('User') + cpu('System'), stderr });
    });
  });
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException).code) : 0, stdout, stderr }));
  });
}

/**
 * One untimed pass of the three read calls over the fleet, so the emulator's code for them is warm
 * before either tool is timed (seeding never lists configs; a cold emulator cost the first tool
 * measured ~0.15 s at 1,000 clusters, and that was always eksidp).
 */
async function warmUp(client: EKSClient, spec: FleetSpec): Promise<void> {
  await mapBounded(Array.from({ length: spec.clusters }, (_, i) => i), 64, async (i) => {
    const name = clusterName(spec, i);
    await client.send(new DescribeClusterCommand({ name }));
    await client.send(new ListIdentityProviderConfigsCommand({ clusterName: name }));
    await client.send(new DescribeIdentityProviderConfigCommand({ clusterName: name, identityProviderConfig: { type: 'oidc', name: 'okta' } }));
    if (hasSecond(spec, i)) await client.send(new DescribeIdentityProviderConfigCommand({ clusterName: name, identityProviderConfig: { type: 'oidc', name: SECOND.name } }));
  });
}

/** One eksidp drift run of a row, beside a drift of the 0-cluster stack just before it (start-up, CPU baseline). */
type EksidpRun = {
  m: Measured; empty: Measured; calls: number; callsExact: boolean;
  /** CPU (user + system) of the emulator (this process) during the drift, and the requests/s that makes on one core. */
  emuCpuS: number; emuRps: number;
  idealS: number; ratio: number; cpuMsPerRead: number;
};
type Row = { n: number; shape: Shape; configs: number; runs: EksidpRun[]; tf?: Measured; tfDrifted?: number };

async function bench(n: number, shape: Shape): Promise<Row> {
  const spec: FleetSpec = { clusters: n, dataSources: true, prefix: 'bench-', secondOnOdd: shape === 'mixed' };
  const configs = configCount(spec);
  const expectedCalls = 2 * n + configs;
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eksidp-bench-${n}-`));
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-bench-0-'));
    const t0 = Date.now();
    const seeder = sdkClient(emu.url);
    await seedFleet(seeder, spec, 64);
    await warmUp(seeder, spec);
    seeder.destroy();
    writeStack(dir, fleetStack(spec, emu.url));
    writeStack(emptyDir, fleetStack({ ...spec, clusters: 0 }, emu.url));
    process.stderr.write(`[${n} ${shape}] seeded ${n} clusters + ${configs} configs in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    emu.setFaults({ latencyMs: LATENCY_MS });
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const driftArgs = (d: string) => ['drift', '--dir', d, '--concurrency', String(concurrency), '--format', 'json', '--out', path.join(d, 'drift.json')];
    const row: Row = { n, shape, configs, runs: [] };
    for (let r = 0; r < runs; r++) {
      const empty = await measure(eksidpBin, driftArgs(emptyDir), emptyDir, env);
      // The baseline must be a whole drift (a refused stack exits early and flatters both figures).
      if (empty.code !== 0) throw new Error(`0-cluster drift exited ${empty.code}: ${empty.stderr.slice(-400)}`);
      emu.resetCalls();
      const cpu0 = process.cpuUsage();
      const m = await measure(eksidpBin, driftArgs(dir), dir, env);
      const cpu = process.cpuUsage(cpu0);
      const calls = emu.calls();
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      const callsExact = calls.DescribeCluster === n && calls.ListIdentityProviderConfigs === n && calls.DescribeIdentityProviderConfig === configs && total === expectedCalls;
      const emuCpuS = (cpu.user + cpu.system) / 1e6;
      // The emulator serves from one thread: it cannot answer faster than one core allows.
      const emuRps = total / emuCpuS;
      const idealS = Math.max((total * LATENCY_MS) / 1000 / concurrency, total / emuRps) + empty.wallS;
      const report = JSON.parse(fs.readFileSync(path.join(dir, 'drift.json'), 'utf8')) as { summary: Record<string, number> };
      if (report.summary.in_sync !== configs) process.stderr.write(`[${n} ${shape}] WARNING: eksidp summary ${JSON.stringify(report.summary)}\n`);
      const run: EksidpRun = { m, empty, calls: total, callsExact, emuCpuS, emuRps, idealS, ratio: m.wallS / idealS, cpuMsPerRead: ((m.cpuS - empty.cpuS) * 1000) / total };
      row.runs.push(run);
      process.stderr.write(`[${n} ${shape}] eksidp drift ${r + 1}/${runs}: ${m.wallS.toFixed(2)} s (${run.ratio.toFixed(2)}x of ${idealS.toFixed(2)}), ${m.cpuS.toFixed(2)} s CPU (0 clusters: ${empty.wallS.toFixed(2)} s, ${empty.cpuS.toFixed(2)} s CPU), ${m.peakMb.toFixed(0)} MB, exit ${m.code}, emulator ${emuCpuS.toFixed(2)} s CPU, calls ${JSON.stringify(calls)}\n`);
    }

    if (withTerraform && terraformAvailable) {
      emu.setFaults({ latencyMs: 0 });
      await writeTerraformStateFromLive(dir, spec, emu.url);
      const init = await run('terraform', ['init', '-input=false', '-no-color'], dir, terraformEnv());
      if (init.code !== 0) throw new Error(`terraform init failed: ${init.stderr}`);
      emu.setFaults({ latencyMs: LATENCY_MS });
      emu.resetCalls();
      const tf = await measure('terraform', ['plan', '-refresh-only', '-detailed-exitcode', '-input=false', '-lock=false', '-no-color', '-out', 'refresh.tfplan'], dir, terraformEnv());
      const shown = await run('terraform', ['show', '-json', 'refresh.tfplan'], dir, terraformEnv());
      const plan = JSON.parse(shown.stdout || '{}') as { resource_drift?: unknown[] };
      row.tf = tf;
      row.tfDrifted = plan.resource_drift?.length ?? 0;
      process.stderr.write(`[${n} ${shape}] terraform plan -refresh-only: ${tf.wallS.toFixed(2)} s, ${tf.peakMb.toFixed(0)} MB, exit ${tf.code}, ${row.tfDrifted} resources "changed outside of Terraform", calls ${JSON.stringify(emu.calls())}\n`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(emptyDir, { recursive: true, force: true });
    return row;
  } finally {
    await emu.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const range = (xs: number[], d = 2) => (xs.length === 1 ? xs[0]!.toFixed(d) : `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}`);

async function main(): Promise<void> {
  if (!fs.existsSync(eksidpBin)) throw new Error(`${eksidpBin} not found: run npm ci && npm run build`);
  if (withTerraform && !terraformAvailable) process.stderr.write('terraform or its offline provider mirror is missing: Terraform columns skipped\n');
  const startup = await cliStartup(eksidpBin);
  const rows: Row[] = [];
  for (const n of sizes) for (const shape of shapes) rows.push(await bench(n, shape));
  const lines = [
    `eksidp drift --concurrency ${concurrency} vs terraform plan -refresh-only; emulator latency ${LATENCY_MS} ms/call; ${runs} eksidp run(s) per row; ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`,
    'Fleet: N clusters as data sources (Kubernetes 1.32); configs per cluster 1 (`one`) or 1.5 (`mixed`: even clusters one, odd two). Calls: DescribeCluster and ListIdentityProviderConfigs per cluster, DescribeIdentityProviderConfig per config.',
    `Ideal = max(calls x ${LATENCY_MS} ms / ${concurrency}, calls / emulator requests/s) + start-up; start-up = eksidp drift of a 0-cluster stack just before (same run); emulator requests/s = calls / its CPU seconds during the run (it serves from one thread).`,
    'CPU per read = (user+sys of the drift - user+sys of the 0-cluster drift) / calls. Ratios, CPU and MB: one value per run (min-max over runs when several).',
    '',
    `| clusters | configs/cluster | calls (exact?) | start-up s | emulator req/s | ideal s | eksidp s | x ideal (<= ${TARGET.ratio}; ${TARGET.ratio10k} at 10,000) | CPU ms/read (<= ${TARGET.cpuMsPerRead}) | eksidp MB (< ${TARGET.mb}; ${TARGET.mb10k} at 10,000) | exit | terraform s | terraform MB | tf false drift | speed-up (>= ${TARGET.speedUp}x) |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const rs = r.runs;
    const big = r.n >= 10_000;
    const ratios = rs.map((x) => x.ratio), cpus = rs.map((x) => x.cpuMsPerRead), mbs = rs.map((x) => x.m.peakMb);
    const ok = (good: boolean) => (good ? 'ok' : 'MISS');
    const tf = r.tf;
    const wall = median(rs.map((x) => x.m.wallS));
    lines.push(`| ${r.n} | ${(r.configs / r.n).toFixed(1)} | ${rs[0]!.calls} (${rs.every((x) => x.callsExact) ? 'yes' : 'NO'}) | ${range(rs.map((x) => x.empty.wallS))} | ${range(rs.map((x) => x.emuRps), 0)} | ${range(rs.map((x) => x.idealS))} | ${range(rs.map((x) => x.m.wallS))} | ${range(ratios)} ${ok(Math.max(...ratios) <= (big ? TARGET.ratio10k : TARGET.ratio))} | ${range(cpus, 3)} ${ok(Math.max(...cpus) <= TARGET.cpuMsPerRead)} | ${range(mbs, 0)} ${ok(Math.max(...mbs) < (big ? TARGET.mb10k : TARGET.mb))} | ${[...new Set(rs.map((x) => x.m.code))].join(',')} | ${tf ? tf.wallS.toFixed(2) : '-'} | ${tf ? tf.peakMb.toFixed(0) : '-'} | ${tf ? r.tfDrifted : '-'} | ${tf ? `${(tf.wallS / wall).toFixed(1)}x ${ok(tf.wallS / wall >= TARGET.speedUp)}` : '-'} |`);
  }
  lines.push('', startupLine(startup));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
