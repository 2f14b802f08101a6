/**
 * Drift benchmark: `eksidp drift` versus `terraform plan -refresh-only` on the same fleet, whole
 * processes side by side, against the embedded emulator with 20 ms latency per call.
 *
 *   npx tsx bench/drift.ts [--sizes 50,200,1000] [--no-terraform] [--concurrency 64] [--bin PATH]
 *
 * The fleet is N clusters (data sources) each with one OIDC config. It is seeded through the SDK
 * with latency off; Terraform's state is written from the live objects with the EKS provider's own
 * state mapping (idpState), so no slow `terraform apply` is needed. `--bin` times another build's
 * `eksidp` (bin/eksidp.js of a checkout), to put figures before and after a change side by side.
 * CPU per read call: bench/cpu-per-call.ts.
 */
import { execFile } from 'node:child_process';
import { DescribeClusterCommand, DescribeIdentityProviderConfigCommand, ListIdentityProviderConfigsCommand, type EKSClient } from '@aws-sdk/client-eks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator';
import { terraformAvailable, terraformEnv } from '../test/helpers/terraform';
import { mapBounded } from '../lib/concurrency';
import { clusterName, fleetStack, sdkClient, seedFleet, writeTerraformStateFromLive, type FleetSpec } from '../test/fixtures/drift/fleet';
import { writeStack } from '../test/helpers/stacks';

// Quiet the AWS SDK's Node-version notice (read when the first client is built), as the CLI does.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const LATENCY_MS = 20;
const STARTUP_S = 0.3;
const root = path.join(__dirname, '..');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const eksidpBin = flag('bin') ? path.resolve(flag('bin')!) : path.join(root, 'node_modules', '.bin', 'eksidp');
const sizes = (flag('sizes') ?? '50,200,1000').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const concurrency = Number(flag('concurrency') ?? 64);
const withTerraform = !process.argv.includes('--no-terraform');

type Measured = { code: number; wallS: number; peakMb: number; cpuS: number; stderr: string };

/** Runs a whole process under GNU time: wall time and peak RSS (largest process of the tree). */
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
  await mapBounded(Array.from({ length: spec.clusters }, (_, i) => clusterName(spec, i)), 64, async (name) => {
    await client.send(new DescribeClusterCommand({ name }));
    await client.send(new ListIdentityProviderConfigsCommand({ clusterName: name }));
    await client.send(new DescribeIdentityProviderConfigCommand({ clusterName: name, identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  });
}

type Row = { n: number; calls: number; callsExact: boolean; idealS: number; eksidp: Measured; driftCode: number; tf?: Measured; tfDrifted?: number };

async function bench(n: number): Promise<Row> {
  const spec: FleetSpec = { clusters: n, dataSources: true, prefix: 'bench-' };
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eksidp-bench-${n}-`));
    const t0 = Date.now();
    const seeder = sdkClient(emu.url);
    await seedFleet(seeder, spec, 64);
    await warmUp(seeder, spec);
    seeder.destroy();
    writeStack(dir, fleetStack(spec, emu.url));
    process.stderr.write(`[${n}] seeded ${n} clusters + ${n} configs in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    emu.setFaults({ latencyMs: LATENCY_MS });
    emu.resetCalls();
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const eksidp = await measure(eksidpBin, ['drift', '--dir', dir, '--concurrency', String(concurrency), '--format', 'json', '--out', path.join(dir, 'drift.json')], dir, env);
    const calls = emu.calls();
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    const callsExact = calls.DescribeCluster === n && calls.ListIdentityProviderConfigs === n && calls.DescribeIdentityProviderConfig === n && total === 3 * n;
    const idealS = (3 * n * LATENCY_MS) / 1000 / concurrency + STARTUP_S;
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'drift.json'), 'utf8')) as { summary: Record<string, number> };
    if (report.summary.in_sync !== n) process.stderr.write(`[${n}] WARNING: eksidp summary ${JSON.stringify(report.summary)}\n`);
    process.stderr.write(`[${n}] eksidp drift: ${eksidp.wallS.toFixed(2)} s, ${eksidp.cpuS.toFixed(2)} s CPU, ${eksidp.peakMb.toFixed(0)} MB, exit ${eksidp.code}, calls ${JSON.stringify(calls)}\n`);

    const row: Row = { n, calls: total, callsExact, idealS, eksidp, driftCode: eksidp.code };
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
      process.stderr.write(`[${n}] terraform plan -refresh-only: ${tf.wallS.toFixed(2)} s, ${tf.peakMb.toFixed(0)} MB, exit ${tf.code}, ${row.tfDrifted} resources "changed outside of Terraform", calls ${JSON.stringify(emu.calls())}\n`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return row;
  } finally {
    await emu.close();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(eksidpBin)) throw new Error(`${eksidpBin} not found: run npm ci && npm run build`);
  if (withTerraform && !terraformAvailable) process.stderr.write('terraform or its offline provider mirror is missing: Terraform columns skipped\n');
  const rows: Row[] = [];
  for (const n of sizes) rows.push(await bench(n));
  const lines = [
    `eksidp drift --concurrency ${concurrency} vs terraform plan -refresh-only; emulator latency ${LATENCY_MS} ms/call; ${os.cpus().length} CPUs`,
    '',
    '| clusters | API calls (exact?) | ideal s | eksidp s | ×ideal (≤1.5) | eksidp MB (<150) | exit | terraform s | terraform MB | tf exit | tf false drift | speed-up (≥15×) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const ratio = r.eksidp.wallS / r.idealS;
    const tf = r.tf;
    lines.push(`| ${r.n} | ${r.calls} (${r.callsExact ? 'yes' : 'NO'}) | ${r.idealS.toFixed(2)} | ${r.eksidp.wallS.toFixed(2)} | ${ratio.toFixed(2)} ${ratio <= 1.5 ? 'ok' : 'MISS'} | ${r.eksidp.peakMb.toFixed(0)} ${r.eksidp.peakMb < 150 ? 'ok' : 'MISS'} | ${r.driftCode} | ${tf ? tf.wallS.toFixed(2) : '-'} | ${tf ? tf.peakMb.toFixed(0) : '-'} | ${tf ? tf.code : '-'} | ${tf ? r.tfDrifted : '-'} | ${tf ? `${(tf.wallS / r.eksidp.wallS).toFixed(1)}× ${tf.wallS / r.eksidp.wallS >= 15 ? 'ok' : 'MISS'}` : '-'} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
