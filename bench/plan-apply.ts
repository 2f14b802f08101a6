/**
 * Plan/apply benchmark: eksidp vs Terraform (hashicorp/aws 5.100, offline mirror), side by side in one
 * run on the same stack shape and the same emulator (20 ms latency per call), at 1, 50 and 200 clusters
 * each with one identity provider config.
 *
 *   npm run build && npx tsx bench/plan-apply.ts [--sizes 1,50,200] [--runs 1] [--no-terraform] [--s3] [--bin PATH]
 *
 * Each size also gets `--runs` timed eksidp plans of its own state, each after a plan of an empty
 * stack (the start-up), against the API ideal: 2 reads per cluster x 20 ms / 32 reads in flight +
 * start-up; with CPU and peak memory. The CLI's start-up (`--version`, median of 10) is printed too.
 *
 * Per size: eksidp applies into one folder and Terraform into another (cluster name prefixes keep the
 * two fleets apart on the one emulator). Then both configurations are edited the same way (a tag
 * change on every 4th cluster, an issuer change forcing replacement on every 10th config) and each
 * folder is planned by both tools, so each tool reads state written by itself and by the other. The
 * actions must be identical (eksidp `plan --json` vs `terraform show -json` resource_changes).
 * Times are of whole processes (start-up included); `terraform init` is setup, not timed. Peak memory
 * is the process tree's (Terraform runs the AWS provider as a child process): the largest sum of RSS
 * over processes alive at one 20 ms poll, and at least the root's VmHWM. `--bin` times another build's
 * `eksidp` (bin/eksidp.js of a checkout) against this checkout's emulator, for before/after figures.
 *
 * `--s3` (issue 13): eksidp's state also goes to the S3 backend (the emulator's S3 listener and dynalite,
 * in this process) with `use_lockfile`, and with both locks (`use_lockfile` and `dynamodb_table`, whose
 * digest is checked on every read); the same plan then runs 5 times with each backend, alternating
 * (local, lockfile, both; the next round in reverse), and the medians are compared: at 200 clusters
 * the S3 backend may cost at most 50 ms more than the local one.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { s3Backend, startStateServers, type LockMode, type StateServers } from '../test/helpers/state-servers';
import { terraformAvailable, terraformEnv } from '../test/helpers/terraform';
import { cliStartup, startupLine } from './startup';
import { descendants, statusKb } from './proc';

const ROOT = path.join(__dirname, '..');
const EMULATOR = path.join(ROOT, 'node_modules', '.bin', 'eksidp');
const binAt = process.argv.indexOf('--bin');
const EKSIDP = binAt >= 0 ? path.resolve(process.argv[binAt + 1]!) : EMULATOR;
const TARGET_PLAN_RATIO = 20;
const TARGET_PEAK_MB = 150;
/** Issue 16, "Tighter figures", at 200 clusters: plan within 1.3x the API ideal, its peak under 100 MB. */
const TARGET_IDEAL_RATIO = 1.3;
const TARGET_PLAN_MB = 100;
const LATENCY_MS = 20;
/** eksidp's refresh reads in flight when --parallelism is not given (engine/plan.ts). */
const READ_CONCURRENCY = 32;
const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt >= 0 ? Math.max(1, Number(process.argv[runsAt + 1])) : 1;
const TERRAFORM_REF = { planS: 16.8, peakMb: 640 };
const S3_RUNS = 5;
const TARGET_S3_EXTRA_MS = 50;

type Run = { code: number; stdout: string; stderr: string; seconds: number; peakMb: number };

function args(): { sizes: number[]; terraform: boolean; s3: boolean } {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--sizes');
  const sizes = i >= 0 ? (argv[i + 1] ?? '').split(',').map(Number) : [1, 50, 200];
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes takes positive integers, e.g. --sizes 1,50,200');
  return { sizes, terraform: !argv.includes('--no-terraform'), s3: argv.includes('--s3') };
}


/** Runs a whole process, timing it and polling the peak RSS of it and its children. */
function timed(cmd: string, argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // Terraform starts the provider plugin more than once per run, one after another: summing each
    // process's VmHWM would count them all at once. So: the largest sum of RSS of the processes alive
    // together at one poll, and at least the root's own VmHWM (eksidp runs no children).
    let peakKb = 0;
    const poll = () => {
      if (child.pid === undefined) return;
      const kids = [...descendants(child.pid)];
      const together = statusKb(child.pid, 'VmRSS') + kids.reduce((a, p) => a + statusKb(p, 'VmRSS'), 0);
      peakKb = Math.max(peakKb, together, statusKb(child.pid, 'VmHWM'));
    };
    poll();
    const timer = setInterval(poll, 20);
    child.on('error', (e) => { clearInterval(timer); reject(e); });
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const peakMb = peakKb / 1024;
      resolve({ code: code ?? 1, stdout, stderr, seconds, peakMb });
    });
  });
}

function must(r: Run, what: string, ok: number[] = [0]): Run {
  if (!ok.includes(r.code)) throw new Error(`${what} exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

function stackJson(endpoint: string, prefix: string, n: number, edited: boolean): string {
  const clusters: Record<string, unknown> = {};
  const configs: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${String(i).padStart(4, '0')}`;
    clusters[`c${i}`] = {
      name, version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster',
      vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }],
      tags: { team: 'platform', tier: edited && i % 4 === 0 ? 'gold' : 'silver' },
    };
    configs[`c${i}`] = {
      cluster_name: `\${aws_eks_cluster.c${i}.name}`,
      oidc: [{
        client_id: 'kubernetes', identity_provider_config_name: 'corp-sso',
        issuer_url: edited && i % 10 === 0 ? 'https://sso2.example.com/oauth2' : 'https://sso.example.com/oauth2',
        username_claim: 'email', username_prefix: 'corp:', groups_claim: 'groups', groups_prefix: 'corp:',
        required_claims: { aud: 'kubernetes' },
      }],
      tags: { owner: 'identity' },
    };
  }
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: {
      aws: [{
        region: 'us-east-1', access_key: 'bench', secret_key: 'bench', skip_credentials_validation: true,
        skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true, endpoints: [{ eks: endpoint }],
      }],
    },
    // An empty stack has no resource object (an empty one is refused, as Terraform refuses it).
    ...(n > 0 ? { resource: { aws_eks_cluster: clusters, aws_eks_identity_provider_config: configs } } : {}),
  });
}

type Actions = Record<string, string>;
function actionsOf(json: string): Actions {
  const plan = JSON.parse(json) as { resource_changes?: { address: string; change: { actions: string[] } }[] };
  return Object.fromEntries((plan.resource_changes ?? []).map((c) => [c.address, c.change.actions.join(',')]));
}
function summary(a: Actions): string {
  const counts: Record<string, number> = {};
  for (const v of Object.values(a)) counts[v] = (counts[v] ?? 0) + 1;
  return Object.entries(counts).sort().map(([k, v]) => `${v} ${k}`).join(', ');
}
function sameActions(a: Actions, b: Actions): string | undefined {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[k] !== b[k]) return `${k}: eksidp ${a[k] ?? 'absent'}, terraform ${b[k] ?? 'absent'}`;
  return undefined;
}

async function startEmulator(): Promise<{ url: string; stop(): void }> {
  const child = spawn(EMULATOR, ['emulator', '--port', '0', '--latency-ms', '20', '--cluster-create-ms', '50', '--update-ms', '50'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const url = /https?:\/\/\S+/.exec(line)?.[0];
  if (!url) throw new Error(`emulator said: ${line}`);
  return { url, stop: () => { child.kill('SIGTERM'); } };
}

type Row = { size: number; tool: string; planOwn: number; planOther?: number; apply: number; peakMb: number; actions: string; same: string; ideal?: IdealRun[] };
/**
 * One timed eksidp plan of the edited fleet (own state) beside a plan of an empty stack just before it
 * (the start-up: process, provider configuration, no resources), with CPU and peak memory.
 */
type IdealRun = { planS: number; cpuS: number; peakMb: number; startupS: number; idealS: number; ratio: number };
type S3Row = { size: number; backend: string; runs: number[]; cpu: number[]; peakMb: number; same: string };
const GNU_TIME = '/usr/bin/time';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * eksidp's plan of the edited stack with its state local and in S3: the local state is pushed to one
 * key per lock mode (`eksidp state push`, untimed), then each backend is planned S3_RUNS times,
 * alternating. The actions must be the local plan's.
 */
async function s3Rows(servers: StateServers, n: number, localDir: string, work: string, ek: (dir: string, a: string[], cpu?: boolean) => Promise<Run>): Promise<S3Row[]> {
  const stack = JSON.parse(fs.readFileSync(path.join(localDir, 'cdk.tf.json'), 'utf8')) as { terraform: Record<string, unknown> };
  const modes: LockMode[] = ['lockfile', 'both'];
  const dirs: Record<string, string> = { local: localDir };
  for (const mode of modes) {
    const dir = path.join(work, `s3-${mode}-${n}`);
    fs.mkdirSync(dir, { recursive: true });
    stack.terraform.backend = { s3: s3Backend(servers, `bench/${n}/${mode}.tfstate`, mode) };
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(stack));
    must(await ek(dir, ['state', 'push', path.join(localDir, 'terraform.tfstate')]), `eksidp state push (${mode}, ${n})`);
    dirs[`s3 ${mode}`] = dir;
  }
  const names = Object.keys(dirs);
  const runs: Record<string, Run[]> = Object.fromEntries(names.map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  // CPU seconds (user + system, GNU time) are steadier than wall time on a shared machine.
  const withTime = fs.existsSync(GNU_TIME);
  for (let round = 0; round < S3_RUNS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const r = must(await ek(dirs[name]!, ['plan', '--json'], withTime), `eksidp plan (${name}, ${n})`);
      const m = /^cpu ([\d.]+) ([\d.]+)$/m.exec(r.stderr);
      if (m) cpu[name]!.push(Number(m[1]) + Number(m[2]));
      runs[name]!.push(r);
    }
  }
  const local = actionsOf(runs.local![0]!.stdout);
  return names.map((name) => {
    const d = sameActions(local, actionsOf(runs[name]![0]!.stdout));
    return { size: n, backend: name, runs: runs[name]!.map((r) => r.seconds), cpu: cpu[name]!, peakMb: Math.max(...runs[name]!.map((r) => r.peakMb)), same: d ? `DIFFERENT (${d})` : 'identical' };
  });
}

async function main(): Promise<void> {
  const { sizes, terraform, s3 } = args();
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (the eksidp bin runs dist/)');
  const withTf = terraform && terraformAvailable;
  if (terraform && !terraformAvailable) process.stderr.write('terraform or the hashicorp/aws 5.100.0 mirror is missing: eksidp only\n');
  const startup = await cliStartup(EKSIDP);
  const em = await startEmulator();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-bench-'));
  const eEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const tEnv = terraformEnv();
  const tf = (dir: string, a: string[]) => timed('terraform', [...a, '-input=false', '-no-color'], dir, tEnv);
  const ek = (dir: string, a: string[], cpu = false) => cpu
    ? timed(GNU_TIME, ['-f', 'cpu %U %S', EKSIDP, ...a, '--dir', dir], dir, eEnv)
    : timed(EKSIDP, [...a, '--dir', dir], dir, eEnv);
  const rows: Row[] = [];
  const s3rows: S3Row[] = [];
  const servers = s3 ? await startStateServers() : undefined;
  process.stderr.write(`emulator ${em.url} (20 ms per call), work folder ${work}${servers ? `, S3 ${servers.s3.url}, DynamoDB ${servers.dynamodbUrl}` : ''}\n`);
  try {
    for (const n of sizes) {
      const dirs = { eksidp: path.join(work, `eksidp-${n}`), terraform: path.join(work, `terraform-${n}`) };
      const write = (edited: boolean) => {
        for (const [tool, dir] of Object.entries(dirs)) {
          fs.mkdirSync(dir, { recursive: true });
          fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stackJson(em.url, `${tool[0]}${n}`, n, edited));
        }
      };
      write(false);
      const tools = withTf ? (['eksidp', 'terraform'] as const) : (['eksidp'] as const);
      // One after another: parallel inits race to fill the shared plugin cache.
      if (withTf) for (const d of Object.values(dirs)) must(await tf(d, ['init']), `terraform init (${d})`);

      process.stderr.write(`[${n}] apply...\n`);
      const applyE = must(await ek(dirs.eksidp, ['apply', '--auto-approve']), `eksidp apply (${n})`);
      const applyT = withTf ? must(await tf(dirs.terraform, ['apply', '-auto-approve']), `terraform apply (${n})`) : undefined;

      write(true);
      process.stderr.write(`[${n}] plan...\n`);
      const plans: Record<string, Record<string, { run: Run; actions: Actions }>> = { eksidp: {}, terraform: {} };
      for (const [owner, dir] of Object.entries(withTf ? dirs : { eksidp: dirs.eksidp })) {
        const e = must(await ek(dir, ['plan', '--json']), `eksidp plan (${owner}'s state, ${n})`);
        plans.eksidp![owner] = { run: e, actions: actionsOf(e.stdout) };
        if (withTf) {
          const t = must(await tf(dir, ['plan', '-out=bench.tfplan']), `terraform plan (${owner}'s state, ${n})`);
          const shown = spawnSync('terraform', ['show', '-json', 'bench.tfplan'], { cwd: dir, env: tEnv, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
          if (shown.status !== 0) throw new Error(`terraform show -json: ${shown.stderr}`);
          plans.terraform![owner] = { run: t, actions: actionsOf(shown.stdout) };
        }
      }
      // The API ideal: the refresh's reads (one per managed object: 2 per cluster) at 20 ms, READ_CONCURRENCY
      // at once, plus the start-up measured by a plan of an empty stack right before each timed plan.
      const emptyDir = path.join(work, `empty-${n}`);
      fs.mkdirSync(emptyDir, { recursive: true });
      fs.writeFileSync(path.join(emptyDir, 'cdk.tf.json'), stackJson(em.url, 'empty', 0, false));
      const ideal: IdealRun[] = [];
      const cpuOf = (r: Run) => { const m = /^cpu ([\d.]+) ([\d.]+)$/m.exec(r.stderr); return m ? Number(m[1]) + Number(m[2]) : Number.NaN; };
      for (let i = 0; i < RUNS; i++) {
        const empty = must(await ek(emptyDir, ['plan', '--json'], true), `eksidp plan (empty stack)`);
        const r = must(await ek(dirs.eksidp, ['plan', '--json'], true), `eksidp plan (${n}, run ${i + 1})`);
        const idealS = (2 * n * LATENCY_MS) / 1000 / READ_CONCURRENCY + empty.seconds;
        ideal.push({ planS: r.seconds, cpuS: cpuOf(r), peakMb: r.peakMb, startupS: empty.seconds, idealS, ratio: r.seconds / idealS });
        process.stderr.write(`[${n}] eksidp plan ${i + 1}/${RUNS}: ${r.seconds.toFixed(2)} s (${(r.seconds / idealS).toFixed(2)}x of ${idealS.toFixed(2)}), ${cpuOf(r).toFixed(2)} s CPU, ${r.peakMb.toFixed(0)} MB; empty stack ${empty.seconds.toFixed(2)} s\n`);
      }
      const verdict = Object.keys(plans.eksidp!).map((owner) => {
        if (!withTf) return 'n/a';
        const d = sameActions(plans.eksidp![owner]!.actions, plans.terraform![owner]!.actions);
        return d ? `DIFFERENT (${owner}'s state: ${d})` : 'identical';
      });
      const same = verdict.every((v) => v === 'identical') ? 'identical' : verdict.join('; ');
      for (const tool of tools) {
        const own = plans[tool]![tool]!;
        const other = plans[tool]![tool === 'eksidp' ? 'terraform' : 'eksidp'];
        const apply = tool === 'eksidp' ? applyE : applyT!;
        const peak = Math.max(apply.peakMb, own.run.peakMb, other?.run.peakMb ?? 0);
        rows.push({ size: n, tool, planOwn: own.run.seconds, planOther: other?.run.seconds, apply: apply.seconds, peakMb: peak, actions: summary(own.actions), same, ...(tool === 'eksidp' ? { ideal } : {}) });
      }
      if (servers) {
        process.stderr.write(`[${n}] plan, local and S3 backends...\n`);
        s3rows.push(...await s3Rows(servers, n, dirs.eksidp, work, ek));
      }
    }
  } finally {
    em.stop();
    await servers?.close();
    if (process.env.EKSIDP_BENCH_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
  }
  report(rows, withTf);
  process.stdout.write(`${startupLine(startup)}\n`);
  if (s3rows.length) reportS3(s3rows);
}

function reportS3(rows: S3Row[]): void {
  const f = (x: number, d = 2) => x.toFixed(d);
  const local = (n: number) => median(rows.find((r) => r.size === n && r.backend === 'local')!.runs);
  const lines = [
    `| clusters | backend | eksidp plan s (${S3_RUNS} runs) | median s | vs local ms | CPU s (user+sys) | median CPU s | CPU vs local ms | peak MB | same actions |`,
    '| ---: | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |',
    ...rows.map((r) => {
      const cpuLocal = rows.find((x) => x.size === r.size && x.backend === 'local')!.cpu;
      const cpuDelta = r.backend === 'local' || !r.cpu.length ? '-' : f((median(r.cpu) - median(cpuLocal)) * 1000, 0);
      return `| ${r.size} | ${r.backend} | ${r.runs.map((x) => f(x)).join(', ')} | ${f(median(r.runs))} | ${r.backend === 'local' ? '-' : f((median(r.runs) - local(r.size)) * 1000, 0)} | ` +
        `${r.cpu.map((x) => f(x)).join(', ') || '-'} | ${r.cpu.length ? f(median(r.cpu)) : '-'} | ${cpuDelta} | ${f(r.peakMb, 0)} | ${r.same} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n\n`);
  let ok = true;
  for (const r of rows.filter((x) => x.size === 200 && x.backend !== 'local')) {
    const extra = (median(r.runs) - local(200)) * 1000;
    const pass = extra <= TARGET_S3_EXTRA_MS && r.same === 'identical';
    process.stdout.write(`200 clusters, ${r.backend}: median plan ${f(extra, 0)} ms more than local (target <= ${TARGET_S3_EXTRA_MS} ms, same actions): ${pass ? 'MET' : 'MISSED'}\n`);
    ok &&= pass;
  }
  if (!ok) process.exitCode = 1;
}

function report(rows: Row[], withTf: boolean): void {
  const f = (x: number | undefined, d = 2) => (x === undefined ? '-' : x.toFixed(d));
  const lines = [
    '| clusters | tool | plan s (own state) | plan s (other\'s state) | apply s | peak MB | plan actions | same actions |',
    '| ---: | --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows.map((r) => `| ${r.size} | ${r.tool} | ${f(r.planOwn)} | ${f(r.planOther)} | ${f(r.apply)} | ${f(r.peakMb, 0)} | ${r.actions} | ${r.same} |`),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  const range = (xs: number[], d = 2) => (xs.length === 1 ? xs[0]!.toFixed(d) : `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}`);
  const ideal = [
    `Fleet: N clusters (managed, Kubernetes 1.32), one OIDC config each, edited (a tag on every 4th cluster, a new issuer on every 10th config); eksidp plan --json of its own state.`,
    `Ideal = reads x ${LATENCY_MS} ms / ${READ_CONCURRENCY} (eksidp's reads in flight) + start-up; reads = 2 per cluster (the refresh of each cluster and config); start-up = eksidp plan of an empty stack just before each timed plan (same run).`,
    '',
    `| clusters | runs | start-up s | ideal s | eksidp plan s | x ideal (<= ${TARGET_IDEAL_RATIO} at 200) | CPU s | plan peak MB (< ${TARGET_PLAN_MB} at 200) | terraform plan s | x faster than terraform (>= ${TARGET_PLAN_RATIO} at 200) |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const e of rows.filter((r) => r.tool === 'eksidp' && r.ideal?.length)) {
    const t = rows.find((r) => r.size === e.size && r.tool === 'terraform');
    const id = e.ideal!;
    const at200 = e.size === 200;
    const ratios = id.map((x) => x.ratio), mbs = id.map((x) => x.peakMb), speed = t ? id.map((x) => t.planOwn / x.planS) : [];
    const mark = (pass: boolean) => (at200 ? (pass ? ' ok' : ' MISS') : '');
    ideal.push(`| ${e.size} | ${id.length} | ${range(id.map((x) => x.startupS))} | ${range(id.map((x) => x.idealS))} | ${range(id.map((x) => x.planS))} | ${range(ratios)}${mark(Math.max(...ratios) <= TARGET_IDEAL_RATIO)} | ${range(id.map((x) => x.cpuS))} | ${range(mbs, 0)}${mark(Math.max(...mbs) < TARGET_PLAN_MB)} | ${t ? t.planOwn.toFixed(2) : '-'} | ${t ? `${range(speed, 1)}${mark(Math.min(...speed) >= TARGET_PLAN_RATIO)}` : '-'} |`);
    if (at200) process.exitCode = Math.max(...ratios) <= TARGET_IDEAL_RATIO && Math.max(...mbs) < TARGET_PLAN_MB ? process.exitCode : 1;
  }
  process.stdout.write(`${ideal.join('\n')}\n\n`);
  let ok = true;
  for (const n of [...new Set(rows.map((r) => r.size))]) {
    const e = rows.find((r) => r.size === n && r.tool === 'eksidp')!;
    const t = rows.find((r) => r.size === n && r.tool === 'terraform');
    const parts = [`${n} clusters: eksidp peak ${f(e.peakMb, 0)} MB`];
    if (t) {
      const planRatio = t.planOwn / e.planOwn;
      parts.push(`plan ${f(planRatio, 1)}x faster (terraform ${f(t.planOwn)} s / eksidp ${f(e.planOwn)} s)`, `apply ${f(t.apply / e.apply, 1)}x faster`, `memory ${f(t.peakMb / e.peakMb, 1)}x less`, `actions ${e.same}`);
      if (n === 200) {
        const checks = [
          [`plan >= ${TARGET_PLAN_RATIO}x faster than terraform`, planRatio >= TARGET_PLAN_RATIO],
          [`peak < ${TARGET_PEAK_MB} MB`, e.peakMb < TARGET_PEAK_MB],
          ['identical actions', e.same === 'identical'],
        ] as const;
        for (const [what, pass] of checks) { parts.push(`target ${what}: ${pass ? 'MET' : 'MISSED'}`); ok &&= pass; }
      }
    } else if (n === 200) {
      parts.push(`target peak < ${TARGET_PEAK_MB} MB: ${e.peakMb < TARGET_PEAK_MB ? 'MET' : 'MISSED'}`, `target plan: ${f(TERRAFORM_REF.planS / TARGET_PLAN_RATIO)} s or less (Terraform's measured ${TERRAFORM_REF.planS} s / ${TARGET_PLAN_RATIO}): ${e.planOwn <= TERRAFORM_REF.planS / TARGET_PLAN_RATIO ? 'MET' : 'MISSED'}`);
      ok &&= e.peakMb < TARGET_PEAK_MB;
    }
    process.stdout.write(`${parts.join('; ')}\n`);
  }
  if (!withTf) process.stdout.write(`(without Terraform; its reference figures at 200 clusters: plan ${TERRAFORM_REF.planS} s, peak ${TERRAFORM_REF.peakMb} MB)\n`);
  process.exitCode = ok && process.exitCode !== 1 ? 0 : 1;
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exitCode = 1;
});
