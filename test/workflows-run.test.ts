import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { CreateClusterCommand, DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { projectRoot, tempDir } from './helpers/project';
import { captureIo, runCommand } from './helpers/in-process';
import { startStateServers, TABLE, type StateServers } from './helpers/state-servers';
import { until } from './helpers/wait';
import { DEPLOYER_ROLE, productionJson, writeProject, type StackJson } from './fixtures/workflows/production';

/**
 * Issue 13: every command the two workflows run, as written in the YAML, against the local stand-in
 * (the emulator: EKS, STS and its S3 subset; dynalite for the DynamoDB lock table and digest), with
 * the repository variables set to the stand-in. `run:` steps go to bash as GitHub runs them
 * (`bash --noprofile --norc -eo pipefail`), with the job's and the step's `env:`, `${{ vars.* }}`,
 * `${{ steps.*.outputs.* }}` and `$GITHUB_OUTPUT`; the actions are stood in for: checkout and
 * setup-node (the project's own build), download-artifact (the synthesized production stack),
 * configure-aws-credentials (the CI user's keys), upload-artifact (the file must exist; it is what
 * the next job gets). `npm ci` and `npm run build` are not re-run: the tests run on the built dist/.
 * Synth is not re-run here either: the production stack is synthesized in-process as `eksidp synth`
 * writes it (test/fixtures/workflows/production.ts).
 */

type Step = { id?: string; name?: string; uses?: string; run?: string; if?: string; env?: Record<string, string>; with?: Record<string, unknown> };
type Job = { env?: Record<string, string>; steps: Step[]; strategy?: { matrix?: Record<string, string[]> } };
const workflow = (f: string) => parse(fs.readFileSync(path.join(projectRoot, '.github', 'workflows', f), 'utf8')) as { jobs: Record<string, Job> };

const CI = { accessKeyId: 'AKIACIJOBCIJOBCIJOB1', secretAccessKey: 'ci-secret' };
const ADMIN = { accessKeyId: 'AKIAPRODADMINPRODAD1', secretAccessKey: 'admin-secret' };
const BUCKET = 'example-eksidp-state';

let servers: StateServers;
let vars: Record<string, string>;
test.before(async () => {
  servers = await startStateServers({
    buckets: [BUCKET],
    accounts: { accounts: {
      // The CI role's account (its keys: what configure-aws-credentials leaves in the environment).
      '111111111111': { users: { ci: CI } },
      // Production: the fleet, and the role the stack assumes, trusting the CI account.
      '222222222222': { regions: ['us-east-1'], users: { admin: ADMIN }, roles: { 'eksidp-deployer': { trust: { principals: ['111111111111'] } } } },
    } },
  });
  const eks = new EKSClient({ endpoint: servers.em.url, region: 'us-east-1', credentials: ADMIN, maxAttempts: 5 });
  for (const name of ['prod-us-1', 'prod-us-2']) {
    await eks.send(new CreateClusterCommand({ name, roleArn: 'arn:aws:iam::222222222222:role/eks', version: '1.31', resourcesVpcConfig: { subnetIds: ['subnet-0001'] } }));
  }
  for (const name of ['prod-us-1', 'prod-us-2']) await until(`cluster ${name}`, async () => (await eks.send(new DescribeClusterCommand({ name }))).cluster?.status === 'ACTIVE');
  eks.destroy();
  // The repository variables (Settings > Variables) of a repository whose "AWS" is the stand-in.
  vars = {
    EKSIDP_STATE_BUCKET: BUCKET, EKSIDP_STATE_KEY: 'eksidp/production.tfstate', EKSIDP_TRUSTED_ROLE_ARNS: DEPLOYER_ROLE,
    EKSIDP_S3_ENDPOINT: servers.s3.url, EKSIDP_DYNAMODB_ENDPOINT: servers.dynamodbUrl, EKSIDP_EKS_ENDPOINT: servers.em.url, EKSIDP_STS_ENDPOINT: servers.em.url,
  };
});
test.after.always(async () => servers?.close());

/** The production stack with what the stand-in needs: path-style bucket URLs (no DNS for bucket hosts) and the DynamoDB lock table. */
function standInStack(): StackJson {
  const s = productionJson();
  Object.assign(s.terraform.backend.s3, { use_path_style: true, dynamodb_table: TABLE });
  return s;
}

/** The environment a runner gives a step: no AWS settings of this machine's, no metadata service. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
  const env: Record<string, string> = { AWS_EC2_METADATA_DISABLED: 'true', CHECKPOINT_DISABLE: '1', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200' };
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return env;
}

type Ctx = { vars: Record<string, string>; outputs: Record<string, Record<string, string>>; matrix: Record<string, string> };
function expand(text: string, ctx: Ctx): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    let m = /^vars\.(\w+)$/.exec(expr);
    if (m) return ctx.vars[m[1]!] ?? '';
    m = /^steps\.([\w-]+)\.outputs\.(\w+)$/.exec(expr);
    if (m) return ctx.outputs[m[1]!]?.[m[2]!] ?? '';
    m = /^matrix\.(\w+)$/.exec(expr);
    if (m && ctx.matrix[m[1]!] !== undefined) return ctx.matrix[m[1]!]!;
    throw new Error(`expression not stood in for: ${expr}`);
  });
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; log: string }> {
  return new Promise((resolve, reject) => {
    const file = path.join(cwd, `.step-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`);
    fs.writeFileSync(file, script);
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('error', reject);
    child.on('close', (code) => { fs.rmSync(file, { force: true }); resolve({ code: code ?? 1, log }); });
  });
}

type JobResult = { ok: boolean; failedStep?: string; uploaded: Record<string, string>; logs: Record<string, string>; outputs: Ctx['outputs'] };

/** Runs a job's steps in order as a runner does: a failing step fails the job and skips the rest. */
async function runJob(job: Job, dir: string, artefact: StackJson, matrix: Record<string, string> = {}): Promise<JobResult> {
  const ctx: Ctx = { vars, outputs: {}, matrix };
  let env = { ...baseEnv() };
  for (const [k, v] of Object.entries(job.env ?? {})) env[k] = expand(String(v), ctx);
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  const result: JobResult = { ok: true, uploaded: {}, logs: {}, outputs: ctx.outputs };
  for (const step of job.steps) {
    const label = step.name ?? step.uses ?? step.run!;
    if (step.if !== undefined && !(step.if === 'always()' || step.if === '${{ always() }}')) throw new Error(`condition not stood in for: ${step.if}`);
    if (!result.ok && step.if === undefined) continue;
    if (step.uses) {
      const action = step.uses.split('@')[0]!;
      if (action === 'actions/checkout' || action === 'actions/setup-node') continue;
      if (action === 'actions/download-artifact') { writeProject(dir, artefact); continue; }
      if (action === 'aws-actions/configure-aws-credentials') {
        env = { ...env, AWS_ACCESS_KEY_ID: CI.accessKeyId, AWS_SECRET_ACCESS_KEY: CI.secretAccessKey, AWS_REGION: String(step.with?.['aws-region']), AWS_DEFAULT_REGION: String(step.with?.['aws-region']) };
        continue;
      }
      if (action === 'actions/upload-artifact') {
        const p = expand(String(step.with?.path), ctx);
        if (!fs.existsSync(path.join(dir, p))) { result.ok = false; result.failedStep = label; continue; }
        result.uploaded[p] = fs.readFileSync(path.join(dir, p), 'utf8');
        continue;
      }
      throw new Error(`action not stood in for: ${step.uses}`);
    }
    if (/^npm (ci|run build)\b/.test(step.run!)) continue;
    const outFile = path.join(dir, `.github-output-${Object.keys(result.logs).length}`);
    fs.writeFileSync(outFile, '');
    const stepEnv: Record<string, string> = { ...env, GITHUB_OUTPUT: outFile };
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = expand(String(v), ctx);
    const r = await bash(expand(step.run!, ctx), dir, stepEnv);
    result.logs[label] = r.log;
    if (step.id) ctx.outputs[step.id] = Object.fromEntries(fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    fs.rmSync(outFile);
    if (r.code !== 0) { result.ok = false; result.failedStep = label; }
  }
  return result;
}

/** The state the team's own apply left in S3 (one of the two configs): the pull request plans on top of it. */
async function teamApply(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'eksidp-team-apply-'));
  try {
    writeProject(dir, standInStack());
    const io = captureIo(dir, {
      AWS_ACCESS_KEY_ID: CI.accessKeyId, AWS_SECRET_ACCESS_KEY: CI.secretAccessKey, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_S3: vars.EKSIDP_S3_ENDPOINT!, AWS_ENDPOINT_URL_DYNAMODB: vars.EKSIDP_DYNAMODB_ENDPOINT!, AWS_ENDPOINT_URL_EKS: servers.em.url, AWS_ENDPOINT_URL_STS: servers.em.url,
      AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200',
    });
    const code = await runCommand(['apply', '--stack', 'production', '--auto-approve', '--target', 'aws_eks_identity_provider_config.prod_us_1_okta'], io);
    if (code !== 0) throw new Error(`team apply: ${io.err()}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('drift-pr.yml: the plan job\'s steps against S3 + DynamoDB + EKS stand-ins post one comment with the saved plan (identity preview included) and the drift report; no plan file is left', async (t) => {
  await teamApply();
  const pr = workflow('drift-pr.yml');
  const dir = tempDir(t, 'eksidp-pr-plan-');
  const r = await runJob(pr.jobs.plan!, dir, standInStack());
  t.true(r.ok, `job failed at ${r.failedStep}: ${JSON.stringify(r.logs, null, 1)}`);
  t.deepEqual(r.outputs, { plan: { code: '2' }, drift: { code: '2' } });
  t.deepEqual(Object.keys(r.uploaded), ['comment.md'], 'only the comment leaves the job');
  const comment = r.uploaded['comment.md']!;
  // One comment: the plan (exactly the saved one, rendered by `eksidp show`) and the drift report.
  t.is(comment.match(/### eksidp plan/g)?.length, 1);
  t.regex(comment, /Changes planned \(exit 2\)\./);
  t.regex(comment, /aws_eks_identity_provider_config\.prod_us_2_okta will be created/);
  t.false(/prod_us_1_okta will be/.test(comment), 'the config the team applied is in the S3 state: no change');
  t.regex(comment, /Plan: 1 to add, 0 to change, 0 to destroy/);
  t.regex(comment, /# {3}\+ alice-admin: \(no config\) → okta:alice@example\.com; groups okta:platform-admins, okta:eng/, 'the identity preview of the sample identities');
  t.false(/Saved the plan|To perform exactly these actions/.test(comment), 'the plan as `show` renders it, not the save message');
  t.regex(comment, /Drift found: 1 in_sync, 1 missing\./);
  t.regex(comment, /prod_us_2_okta/);
  t.regex(comment, /\| missing \| 1 \|/);
  t.regex(r.logs['eksidp plan']!, /prod_us_2_okta will be created/, 'the plan is in the job\'s log too');
  t.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tfplan')), [], 'the plan file is deleted in its step');
  // The comment job posts that file as the comment body.
  const post = pr.jobs.comment!.steps.find((s) => s.run?.includes('gh pr comment'))!;
  t.regex(post.run!, /--body-file comment\.md/);
});

test.serial('drift-pr.yml: a plan that errors fails the job; the comment still says why and is posted', async (t) => {
  const pr = workflow('drift-pr.yml');
  const dir = tempDir(t, 'eksidp-pr-fail-');
  // A hostile pull request: its provider block sends EKS calls elsewhere. The guard refuses it, and so the plan and drift fail.
  const hostile = standInStack();
  hostile.provider.aws[0]!.endpoints = [{ eks: 'http://127.0.0.1:9/' }];
  const r = await runJob(pr.jobs.plan!, dir, hostile);
  t.false(r.ok);
  t.is(r.failedStep, 'Fail on errors');
  t.deepEqual(r.outputs, { plan: { code: '1' }, drift: { code: '1' } });
  t.regex(r.logs['Fail on errors']!, /::error::eksidp plan failed \(exit 1\)/);
  const comment = r.uploaded['comment.md']!;
  t.regex(comment, /\*\*The plan failed\*\* \(exit 1\)/);
  t.regex(comment, /provider "aws": "endpoints" is not allowed/);
  t.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tfplan')), []);
  // The comment job runs after a failed plan job (not after a skipped or cancelled one).
  t.is((pr.jobs.comment as Job & { if?: string }).if, "${{ !cancelled() && needs.plan.result != 'skipped' }}");
});

test.serial('drift-scheduled.yml: each shard\'s drift step against the stand-ins; the shards cover the fleet once, and drift fails the job', async (t) => {
  const sched = workflow('drift-scheduled.yml');
  const job = sched.jobs.drift!;
  const seen: string[] = [];
  for (const shard of job.strategy!.matrix!.shard!) {
    const dir = tempDir(t, 'eksidp-sched-');
    const r = await runJob(job, dir, standInStack(), { shard });
    const report = JSON.parse(r.uploaded['drift-report.json']!) as { resources: { address: string; status: string }[] };
    for (const x of report.resources) seen.push(x.address);
    const missing = report.resources.some((x) => x.status === 'missing');
    t.is(r.ok, !missing, `shard ${shard}: ${JSON.stringify(r.logs)}`);
    if (missing) t.is(r.failedStep, 'eksidp drift');
  }
  t.deepEqual(seen.sort(), ['aws_eks_identity_provider_config.prod_us_1_okta', 'aws_eks_identity_provider_config.prod_us_2_okta']);
});
