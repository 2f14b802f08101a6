/**
 * Issue 17's warm start figures: a Terraform provider plugin (hashicorp/aws 5.100, offline mirror)
 * started by eksidp with a warm schema cache, side by side with Terraform on the same stack.
 *
 *   npm run build && npx tsx bench/plugin-start.ts [--runs 5] [--no-terraform] [--endpoints-block] [--bin PATH]
 *
 * The stack: one aws_eks_cluster and one aws_eks_identity_provider_config, every type through the
 * plugin (EKSIDP_NATIVE_PROVIDERS=0), applied once on the embedded emulator (setup, not timed). Then,
 * alternating, `--runs` times each:
 * - the plugin binary alone: spawn → its go-plugin handshake line (the start no tool avoids);
 * - `eksidp plan` (EKSIDP_PLUGIN_TIMING=1): the whole process, and from its timing lines the start-up,
 *   spawn → configured (the plugin's start, gRPC, Configure) and "plugin needed" → configured (from
 *   the moment the run knows it needs the plugin);
 * - `terraform plan` of the same stack and state (its own folder, `terraform init` as setup).
 * Memory: the peak RSS (VmHWM) of the CLI process and of the plugin process, polled every 20 ms,
 * and the largest sum over the process tree. Medians are printed; the machine's load average at the
 * start and the end says how much to trust them. One cold eksidp plan (no schema cache) runs first.
 * Endpoints come from AWS_ENDPOINT_URL_EKS for both tools; `--endpoints-block` sets an `endpoints`
 * block instead (Terraform then pays ValidateProviderConfig, 2-6 s, on every run; eksidp caches it).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator';
import { mirror, terraformAvailable, terraformCliConfig, terraformEnv } from '../test/helpers/terraform';
import { descendants, statusKb } from './proc';

const ROOT = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const RUNS = Number(opt('--runs') ?? 5);
const EKSIDP = path.resolve(opt('--bin') ?? path.join(ROOT, 'bin', 'eksidp.js'));
const WITH_TF = !argv.includes('--no-terraform');
const ENDPOINTS_BLOCK = argv.includes('--endpoints-block');
const TARGET_START_MS = 1000;
const PLUGIN = mirror ? path.join(mirror, 'registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5') : '';

type Run = { code: number; stdout: string; stderr: string; ms: number; rootMb: number; pluginMb: number; treeMb: number };


const isPlugin = (pid: number): boolean => {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('terraform-provider-'); } catch { return false; }
};

/** Runs a whole process: its wall time, and the peak RSS of it, of its plugin processes and of the tree. */
function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let rootKb = 0, pluginKb = 0, treeKb = 0;
    const poll = () => {
      if (child.pid === undefined) return;
      const kids = [...descendants(child.pid)];
      rootKb = Math.max(rootKb, statusKb(child.pid, 'VmHWM'));
      for (const k of kids) if (isPlugin(k)) pluginKb = Math.max(pluginKb, statusKb(k, 'VmHWM'));
      treeKb = Math.max(treeKb, statusKb(child.pid, 'VmRSS') + kids.reduce((a, p) => a + statusKb(p, 'VmRSS'), 0), rootKb);
    };
    poll();
    const timer = setInterval(poll, 20);
    child.on('error', (e) => { clearInterval(timer); reject(e); });
    child.on('close', (code) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ code: code ?? 1, stdout, stderr, ms, rootMb: rootKb / 1024, pluginMb: pluginKb / 1024, treeMb: treeKb / 1024 });
    });
  });
}

function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

/** The plugin binary alone: spawn → handshake line, then killed. */
function handshakeMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(PLUGIN, [], {
      env: { ...process.env, TF_PLUGIN_MAGIC_COOKIE: 'd602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2', PLUGIN_PROTOCOL_VERSIONS: '5' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.stdout.once('data', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      child.kill('SIGKILL');
      child.once('close', () => resolve(ms));
    });
    child.once('error', reject);
  });
}

/** From EKSIDP_PLUGIN_TIMING's lines: ms at a step (the first line that contains `what`). */
function at(stderr: string, what: string): number | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('eksidp plugin timing: ') && l.includes(what));
  return line ? Number(/timing: ([\d.]+) ms/.exec(line)?.[1]) : undefined;
}

function stack(url: string): string {
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: {
      aws: [{
        region: 'us-east-1', access_key: 'bench', secret_key: 'bench', skip_credentials_validation: true,
        skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true,
        ...(ENDPOINTS_BLOCK ? { endpoints: [{ eks: url }] } : {}),
      }],
    },
    resource: {
      aws_eks_cluster: { main: { name: 'plugin-start', version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }], tags: { team: 'platform' } } },
      aws_eks_identity_provider_config: {
        main: { cluster_name: '${aws_eks_cluster.main.name}', oidc: [{ client_id: 'kubernetes', identity_provider_config_name: 'corp', issuer_url: 'https://sso.example.com/oauth2', username_claim: 'email' }] },
      },
    },
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (the eksidp bin runs dist/)');
  if (!mirror || !fs.existsSync(PLUGIN)) throw new Error('the offline mirror of hashicorp/aws 5.100.0 was not found (EKSIDP_TF_MIRROR)');
  const withTf = WITH_TF && terraformAvailable;
  if (WITH_TF && !withTf) process.stderr.write('terraform is missing: eksidp only\n');
  const loadBefore = load();
  const em = await startEmulator({ port: 0, clusterCreateMs: 50, updateMs: 50 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-plugin-start-'));
  const dirs = { eksidp: path.join(work, 'eksidp'), terraform: path.join(work, 'terraform') };
  const endpoints = ENDPOINTS_BLOCK ? {} : { AWS_ENDPOINT_URL_EKS: em.url };
  const eEnv: NodeJS.ProcessEnv = {
    ...process.env, ...endpoints, NO_COLOR: '1', TF_CLI_CONFIG_FILE: terraformCliConfig(), EKSIDP_CACHE_DIR: path.join(work, 'cache'),
    EKSIDP_NATIVE_PROVIDERS: '0', EKSIDP_PLUGIN_TIMING: '1', AWS_EC2_METADATA_DISABLED: 'true', CHECKPOINT_DISABLE: '1',
  };
  const tEnv = terraformEnv({ ...endpoints, AWS_EC2_METADATA_DISABLED: 'true' });
  const ek = (a: string[]) => timed(process.execPath, [EKSIDP, ...a, '--dir', dirs.eksidp], dirs.eksidp, eEnv);
  const tf = (a: string[]) => timed('terraform', [...a, '-input=false', '-no-color'], dirs.terraform, tEnv);
  process.stderr.write(`emulator ${em.url}, work folder ${work}, load average ${loadBefore}\n`);
  const rows: { handshake: number[]; plan: Run[]; spawnToConfigured: number[]; neededToConfigured: number[]; tf: Run[] } = { handshake: [], plan: [], spawnToConfigured: [], neededToConfigured: [], tf: [] };
  let cold: Run | undefined;
  try {
    for (const d of Object.values(dirs)) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'cdk.tf.json'), stack(em.url));
    }
    // Setup: the first run fetches and caches the schema (and the provider validation): timed as "cold".
    must(await ek(['apply', '--auto-approve']), 'eksidp apply');
    fs.rmSync(path.join(work, 'cache'), { recursive: true, force: true });
    cold = must(await ek(['plan', '--detailed-exitcode']), 'eksidp plan (cold)');
    if (withTf) {
      must(await tf(['init']), 'terraform init');
      fs.copyFileSync(path.join(dirs.eksidp, 'terraform.tfstate'), path.join(dirs.terraform, 'terraform.tfstate'));
    }
    for (let i = 0; i < RUNS; i++) {
      process.stderr.write(`run ${i + 1}/${RUNS}\n`);
      const steps: (() => Promise<void>)[] = [
        async () => { rows.handshake.push(await handshakeMs()); },
        async () => {
          const r = must(await ek(['plan', '--detailed-exitcode']), 'eksidp plan');
          rows.plan.push(r);
          const spawned = at(r.stderr, 'worker: spawn'), needed = at(r.stderr, 'plugin modules loaded'), configured = at(r.stderr, 'configured');
          if (spawned === undefined || needed === undefined || configured === undefined) throw new Error(`eksidp printed no timing lines (EKSIDP_PLUGIN_TIMING):\n${r.stderr.slice(-2000)}`);
          rows.spawnToConfigured.push(configured - spawned);
          rows.neededToConfigured.push(configured - needed);
        },
        ...(withTf ? [async () => { rows.tf.push(must(await tf(['plan', '-detailed-exitcode']), 'terraform plan')); }] : []),
      ];
      // Alternating order, so neither tool always runs first after the other's run.
      for (const s of i % 2 ? [...steps].reverse() : steps) await s();
    }
  } finally {
    await em.close();
    if (process.env.EKSIDP_BENCH_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
  }
  const f = (x: number | undefined, d = 0) => (x === undefined ? '-' : x.toFixed(d));
  const med = (xs: number[]) => (xs.length ? median(xs) : undefined);
  const list = (xs: number[]) => xs.map((x) => f(x)).join(', ');
  const lines = [
    `| ${RUNS} runs each, medians | eksidp | terraform |`,
    '| --- | ---: | ---: |',
    `| the plugin alone: spawn → handshake line, ms | ${f(med(rows.handshake))} | (same binary) |`,
    `| warm start-up: plugin spawned → configured, ms | ${f(med(rows.spawnToConfigured))} | - |`,
    `| warm start-up: plugin needed → configured, ms | ${f(med(rows.neededToConfigured))} | - |`,
    `| whole \`plan\` of the stack (no changes), ms | ${f(med(rows.plan.map((r) => r.ms)))} | ${f(med(rows.tf.map((r) => r.ms)))} |`,
    `| peak RSS of the CLI process, MB | ${f(med(rows.plan.map((r) => r.rootMb)))} | ${f(med(rows.tf.map((r) => r.rootMb)))} |`,
    `| peak RSS of the plugin process, MB | ${f(med(rows.plan.map((r) => r.pluginMb)))} | ${f(med(rows.tf.map((r) => r.pluginMb)))} |`,
    `| peak RSS of the process tree, MB | ${f(med(rows.plan.map((r) => r.treeMb)))} | ${f(med(rows.tf.map((r) => r.treeMb)))} |`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  process.stdout.write(`runs, ms: handshake ${list(rows.handshake)}; eksidp spawn → configured ${list(rows.spawnToConfigured)}; eksidp plan ${list(rows.plan.map((r) => r.ms))}${withTf ? `; terraform plan ${list(rows.tf.map((r) => r.ms))}` : ''}\n`);
  if (cold) process.stdout.write(`cold eksidp plan (no schema cache, provider validation not cached): ${f(cold.ms)} ms\n`);
  process.stdout.write(`load average before ${loadBefore}, after ${load()} (1, 5, 15 min)${ENDPOINTS_BLOCK ? '; endpoints block' : '; endpoints from AWS_ENDPOINT_URL_EKS'}\n`);
  const startMs = med(rows.spawnToConfigured)!;
  const ok = startMs < TARGET_START_MS;
  process.stdout.write(`target: warm start-up (spawn → configured, the plugin's own start included) under ${TARGET_START_MS} ms: ${ok ? 'MET' : 'MISSED'} (${f(startMs)} ms)\n`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exitCode = 1;
});
