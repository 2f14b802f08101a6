/**
 * Rotation benchmark (issue 16): replacing both OIDC configs on every cluster of a fleet, eksidp next
 * to Terraform, against the embedded emulator with 20 ms per call and updates of `--update-ms`
 * (2,000 ms standing in for EKS's 20-40 minutes).
 *
 *   npm run build && npx tsx bench/rotation.ts [--sizes 20,200,1000] [--rate-limits 0,50]
 *       [--update-ms 2000] [--terraform-size 20] [--no-terraform] [--parallelism N] [--bin PATH]
 *
 * The fleet: N clusters on Kubernetes 1.33 (data sources), each with two configs (a and b, issuers
 * apart), seeded through the SDK with latency and update time off; both tools' state is written from
 * the live objects with the provider's own mapping. The change gives both configs a new client ID, so
 * each is replaced (delete, then create, under one name): four updates per cluster, one at a time.
 *
 * Ideal without a rate limit: 4 x update time + start-up, the start-up being a plan of the same fleet
 * with nothing to change (process start, stack, refresh reads), measured in the same run. With an
 * account rate limit: 4 x update time + start-up + N x k / rate, k the calls one cluster needs at
 * the least (printed with how it is counted). After each apply: exit 0, no failed update in the
 * emulator, no 409 (ResourceInUse) surfacing, and a plan with no changes.
 *
 * Terraform runs the same change at `--terraform-size` clusters with -parallelism=1 (a cluster with two
 * configs allows one update at a time, and hashicorp/aws does not retry a 409); for larger fleets
 * N x 4 x update time is printed as its lower bound (its polling would not scale to 30-minute updates).
 * `--parallelism` passes eksidp's flag (default: none, the CLI's default: 64 requests in flight for apply).
 * `--cpu-prof DIR` writes a V8 CPU profile of each eksidp apply to DIR (node --cpu-prof), to see where its CPU goes.
 * EKSIDP_BENCH_LOG=PREFIX writes each eksidp/terraform run's output, each chunk with its time, to
 * PREFIX.<command> (where the time of a fleet apply goes, step by step).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type EmulatorHandle } from '../emulator';
import { sdkClient } from '../test/fixtures/drift/fleet';
import { writeStack } from '../test/helpers/stacks';
import { rotationStack as stack, seedRotationFleet as seed, writeRotationState as writeState } from '../test/fixtures/rotation';
import { terraformAvailable, terraformEnv } from '../test/helpers/terraform';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const LATENCY_MS = 20;
const UPDATES_PER_CLUSTER = 4;
const TARGET = 1.3;
const root = path.join(__dirname, '..');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const numbers = (s: string) => s.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 0);
const eksidpBin = flag('bin') ? path.resolve(flag('bin')!) : path.join(root, 'node_modules', '.bin', 'eksidp');
const sizes = numbers(flag('sizes') ?? '20,200,1000').filter((n) => n > 0);
const rateLimits = numbers(flag('rate-limits') ?? '0,50');
const updateMs = Number(flag('update-ms') ?? 2000);
const terraformSize = Number(flag('terraform-size') ?? 20);
const parallelism = flag('parallelism');
const cpuProfDir = flag('cpu-prof') ? path.resolve(flag('cpu-prof')!) : undefined;
const withTerraform = !process.argv.includes('--no-terraform') && terraformSize > 0;

/**
 * k, the calls one cluster's rotation needs at the least: the plan's refresh (DescribeCluster for the
 * data source, DescribeIdentityProviderConfig per config), then per config a delete (Disassociate,
 * one poll that finds it gone) and a create (Associate, one poll that finds it ACTIVE). The update
 * of an association is asked (DescribeUpdate) only when it was made before the run: a token replayed
 * from an earlier run's failure (idp.ts); k counts none.
 */
const K_PARTS = { refresh: 1 + 2, deletePerConfig: 2, createPerConfig: 2 };
const K = K_PARTS.refresh + 2 * (K_PARTS.deletePerConfig + K_PARTS.createPerConfig);

type Run = { code: number; wallS: number; cpuS: number; peakMb: number; stdout: string; stderr: string };

/** A whole process under GNU time: wall time, CPU (user + system) and peak RSS. */
function measure(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = execFile('/usr/bin/time', ['-v', cmd, ...args], { cwd, env, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      if (trace.length) fs.writeFileSync(`${process.env.EKSIDP_BENCH_LOG!}.${args[0]}`, trace.join(''));
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no measurements from /usr/bin/time: ${stderr.slice(-500)}`));
      const cpu = (what: string) => Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(stderr)?.[1] ?? NaN);
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code) : 0, wallS, cpuS: cpu('User') + cpu('System'), peakMb: Number(m[1]) / 1024, stdout, stderr });
    });
    // EKSIDP_BENCH_LOG=FILE: the output of each run with the time of each chunk, to see where time goes.
    const trace: string[] = [];
    if (process.env.EKSIDP_BENCH_LOG) {
      const at = () => (Number(process.hrtime.bigint() - started) / 1e9).toFixed(2);
      child.stdout?.on('data', (d: Buffer) => trace.push(`[${at()} out] ${d.toString()}`));
      child.stderr?.on('data', (d: Buffer) => trace.push(`[${at()} err] ${d.toString()}`));
    }
  });
}

type Checks = { failedUpdates: number; surfaced409: boolean; planAfterClean: boolean; throttled: number | undefined };

/** What must hold after an apply: no failed update, no 409 in its output, a plan with nothing to do. */
async function checkAfter(emu: EmulatorHandle, run: Run, since: number, planAfter: () => Promise<Run>, throttledFromLog: boolean): Promise<Checks> {
  const failedUpdates = emu.updates().filter((u) => u.createdAt >= since && u.status !== 'Successful').length;
  const surfaced409 = /ResourceInUse/.test(run.stdout + run.stderr);
  // The call log holds the last 10,000 calls: a count of throttles only when nothing was dropped.
  const log = emu.callLog();
  const throttled = throttledFromLog && log.length < 10_000 ? log.filter((c) => c.status === 429).length : undefined;
  emu.setFaults({ rateLimit: 0, latencyMs: 0 });
  const plan = await planAfter();
  return { failedUpdates, surfaced409, planAfterClean: plan.code === 0, throttled };
}

type Row = {
  n: number; rate: number; startupS: number; idealS: number; run: Run; calls: number; perCluster: number; checks: Checks;
  /** CPU (user + system) of the emulator, which runs in this process, during the apply. */
  emuCpuS: number; byKind: Record<string, number>; chains: Chains;
};

/** Where a fleet apply's wall time went, from the emulator's updates (ms, median / 90th percentile / max over clusters). */
type Chains = { first: number[]; gap: number[]; chain: number[]; tail: number[] };

function chainsOf(updates: readonly { clusterName: string; createdAt: number; dueAt: number }[], since: number, end: number): Chains {
  const by = new Map<string, { createdAt: number; dueAt: number }[]>();
  for (const u of updates) if (u.createdAt >= since) (by.get(u.clusterName) ?? by.set(u.clusterName, []).get(u.clusterName)!).push(u);
  const c: Chains = { first: [], gap: [], chain: [], tail: [] };
  let last = 0;
  for (const us of by.values()) {
    us.sort((a, b) => a.createdAt - b.createdAt);
    c.first.push(us[0]!.createdAt - since);
    for (let i = 1; i < us.length; i++) c.gap.push(us[i]!.createdAt - us[i - 1]!.dueAt);
    c.chain.push(us[us.length - 1]!.dueAt - us[0]!.createdAt);
    last = Math.max(last, us[us.length - 1]!.dueAt);
  }
  c.tail.push(end - last);
  return c;
}

function spread(xs: number[]): string {
  if (!xs.length) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return xs.length === 1 ? (s[0]! / 1000).toFixed(2) : `${(at(0.5) / 1000).toFixed(2)} / ${(at(0.9) / 1000).toFixed(2)} / ${(s[s.length - 1]! / 1000).toFixed(2)}`;
}

async function eksidpRound(n: number, rate: number): Promise<Row> {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eksidp-rotation-${n}-`));
  try {
    const prefix = 'rot-';
    const client = sdkClient(emu.url);
    const t0 = Date.now();
    await seed(client, prefix, n);
    await writeState(client, dir, prefix, n);
    client.destroy();
    process.stderr.write(`[${n}${rate ? `, ${rate}/s` : ''}] seeded ${n} clusters x 2 configs in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const env = { ...process.env, NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const par = parallelism ? ['--parallelism', parallelism] : [];

    // Start-up: a plan of the unchanged fleet (process start, stack, refresh reads), at 20 ms per call.
    writeStack(dir, stack(prefix, n, emu.url, 0));
    emu.setFaults({ latencyMs: LATENCY_MS, updateMs, rateLimit: 0 });
    const startup = await measure(eksidpBin, ['plan', '--dir', dir, ...par, '--detailed-exitcode'], dir, env);
    if (startup.code !== 0) throw new Error(`plan of the unchanged fleet exited ${startup.code}: ${startup.stderr.slice(-2000)}`);

    writeStack(dir, stack(prefix, n, emu.url, 1));
    emu.setFaults({ latencyMs: LATENCY_MS, updateMs, rateLimit: rate });
    emu.resetCalls();
    const since = Date.now();
    const cpu0 = process.cpuUsage();
    // (--cpu-prof is not allowed in NODE_OPTIONS: node runs the bin itself.)
    const applyArgs = ['apply', '--auto-approve', '--dir', dir, ...par];
    const run = cpuProfDir
      ? await measure(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=apply-${n}-${rate}.cpuprofile`, fs.realpathSync(eksidpBin), ...applyArgs], dir, env)
      : await measure(eksidpBin, applyArgs, dir, env);
    const cpu1 = process.cpuUsage(cpu0);
    const emuCpuS = (cpu1.user + cpu1.system) / 1e6;
    const byKind = emu.calls();
    const chains = chainsOf(emu.updates(), since, since + run.wallS * 1000);
    const calls = Object.values(emu.calls()).reduce((a, b) => a + b, 0);
    process.stderr.write(`[${n}${rate ? `, ${rate}/s` : ''}] eksidp apply: ${run.wallS.toFixed(2)} s, ${run.cpuS.toFixed(2)} s CPU, ${run.peakMb.toFixed(0)} MB, exit ${run.code}, calls ${JSON.stringify(emu.calls())}\n`);
    if (run.code !== 0) process.stderr.write(run.stderr.slice(-3000));
    const checks = await checkAfter(emu, run, since, () => measure(eksidpBin, ['plan', '--dir', dir, '--detailed-exitcode'], dir, env), true);
    const base = UPDATES_PER_CLUSTER * updateMs / 1000 + startup.wallS;
    const idealS = rate > 0 ? base + (n * K) / rate : base;
    return { n, rate, startupS: startup.wallS, idealS, run, calls, perCluster: calls / n, checks, emuCpuS, byKind, chains };
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function terraformRound(n: number): Promise<{ run: Run; checks: Checks } | undefined> {
  if (!withTerraform || !terraformAvailable) return undefined;
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `terraform-rotation-${n}-`));
  try {
    const prefix = 'tf-';
    const client = sdkClient(emu.url);
    await seed(client, prefix, n);
    await writeState(client, dir, prefix, n);
    client.destroy();
    writeStack(dir, stack(prefix, n, emu.url, 1));
    const env = terraformEnv();
    const init = await measure('terraform', ['init', '-input=false', '-no-color'], dir, env);
    if (init.code !== 0) throw new Error(`terraform init: ${init.stderr.slice(-2000)}`);
    emu.setFaults({ latencyMs: LATENCY_MS, updateMs });
    emu.resetCalls();
    const since = Date.now();
    const run = await measure('terraform', ['apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=1'], dir, env);
    process.stderr.write(`[terraform ${n}] apply -parallelism=1: ${run.wallS.toFixed(2)} s, exit ${run.code}, calls ${JSON.stringify(emu.calls())}\n`);
    if (run.code !== 0) process.stderr.write(run.stdout.slice(-3000));
    const checks = await checkAfter(emu, run, since, () => measure('terraform', ['plan', '-detailed-exitcode', '-input=false', '-no-color', '-lock=false'], dir, env), false);
    return { run, checks };
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(eksidpBin)) throw new Error(`${eksidpBin} not found: run npm ci && npm run build`);
  if (withTerraform && !terraformAvailable) process.stderr.write('terraform or its offline provider mirror is missing: Terraform rows skipped\n');
  const rows: Row[] = [];
  for (const rate of rateLimits) for (const n of sizes) rows.push(await eksidpRound(n, rate));
  const tf = await terraformRound(terraformSize);

  const f = (x: number, d = 2) => x.toFixed(d);
  const ok = (c: Checks) => c.failedUpdates === 0 && !c.surfaced409 && c.planAfterClean;
  const lines = [
    `Rotation: both OIDC configs replaced (new client ID) on every cluster, Kubernetes 1.33, two configs per cluster; emulator ${LATENCY_MS} ms/call, updates ${updateMs} ms; eksidp ${parallelism ? `--parallelism ${parallelism}` : 'default flags'}; ${os.cpus().length} CPUs`,
    `k = ${K} calls per cluster at the least: refresh ${K_PARTS.refresh} (DescribeCluster + 2 DescribeIdentityProviderConfig), then per config a delete of ${K_PARTS.deletePerConfig} (Disassociate, Describe gone) and a create of ${K_PARTS.createPerConfig} (Associate, Describe ACTIVE; an earlier run's update replayed would add a DescribeUpdate)`,
    `ideal = ${UPDATES_PER_CLUSTER} x update time + start-up (a plan of the unchanged fleet, same run)${rateLimits.some((r) => r > 0) ? ' [+ N x k / rate with a rate limit]' : ''}`,
    '',
    'CPU s: user + system of the eksidp apply process (GNU time) and of the emulator (in the benchmark process, during the apply); ms/call: each divided by the calls the emulator served.',
    '',
    '| clusters | rate limit /s | start-up s | ideal s | eksidp s | x ideal (<= 1.3) | eksidp CPU s | emulator CPU s | ms/call eksidp, emulator | MB | calls (per cluster, k = ' + K + ') | throttled | failed updates | 409 surfaced | plan after |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of rows) {
    const x = r.run.wallS / r.idealS;
    lines.push(`| ${r.n} | ${r.rate || 'none'} | ${f(r.startupS)} | ${f(r.idealS)} | ${f(r.run.wallS)}${r.run.code ? ` (exit ${r.run.code})` : ''} | ${f(x)} ${x <= TARGET ? 'ok' : 'MISS'} | ${f(r.run.cpuS)} | ${f(r.emuCpuS)} | ${f((r.run.cpuS * 1000) / r.calls, 3)}, ${f((r.emuCpuS * 1000) / r.calls, 3)} | ${f(r.run.peakMb, 0)} | ${r.calls} (${f(r.perCluster, 1)}) | ${r.checks.throttled ?? 'n/a'} | ${r.checks.failedUpdates} | ${r.checks.surfaced409 ? 'YES' : 'no'} | ${r.checks.planAfterClean ? 'no changes' : 'CHANGES'} |`);
  }
  lines.push('', 'Where the wall time went (s, median / 90th percentile / max over clusters): first update sent after the apply started (process start, stack, refresh, plan); gap between a cluster\'s updates (poll that sees one end, the next request); chain (first update sent to last one ended); tail (last update ended to the apply\'s exit).');
  for (const r of rows) lines.push(`  ${r.n} clusters, rate ${r.rate || 'none'}: first ${spread(r.chains.first)}; gap ${spread(r.chains.gap)}; chain ${spread(r.chains.chain)}; tail ${spread(r.chains.tail)}`);
  lines.push('', 'Calls by kind (apply, plan refresh included):');
  for (const r of rows) lines.push(`  ${r.n} clusters, rate ${r.rate || 'none'}: ${Object.entries(r.byKind).sort().map(([k, v]) => `${k} ${v} (${f(v / r.n, 2)}/cluster)`).join(', ')}`);
  lines.push('');
  if (tf) {
    lines.push(`terraform apply -parallelism=1 at ${terraformSize} clusters: ${f(tf.run.wallS)} s measured (exit ${tf.run.code}; failed updates ${tf.checks.failedUpdates}; plan after: ${tf.checks.planAfterClean ? 'no changes' : 'CHANGES'})`);
    const e = rows.find((r) => r.n === terraformSize && r.rate === 0);
    if (e) lines.push(`  eksidp at ${terraformSize} clusters: ${f(e.run.wallS)} s, ${f(tf.run.wallS / e.run.wallS, 1)}x faster`);
  }
  for (const n of sizes.filter((s) => s !== terraformSize || !tf)) {
    lines.push(`terraform at ${n} clusters, LOWER BOUND (not measured): N x ${UPDATES_PER_CLUSTER} x update time = ${f((n * UPDATES_PER_CLUSTER * updateMs) / 1000, 0)} s`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = rows.every((r) => r.run.code === 0 && ok(r.checks)) ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
