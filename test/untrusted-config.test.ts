import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { DEPLOYER_ROLE, productionJson, writeProject, type StackJson } from './fixtures/workflows/production';
import { parseConfig } from '../engine/config';
import { untrustedConfigProblems } from '../cli/untrusted';

/**
 * EKSIDP_UNTRUSTED_CONFIG=1 (the pull-request workflow's plan and drift steps): a synthesized JSON
 * from a pull request may not choose where requests go, which credentials sign them, how TLS is
 * checked, or start a plugin. Each hostile field, in the provider block and in the S3 backend, is
 * refused with exit 1 naming it, and a canary server that every endpoint of the job's environment
 * (and every hostile URL) points at receives nothing; the production JSON as synthesized passes.
 */

let hits = 0;
const canary = http.createServer((req, res) => { hits++; res.writeHead(500).end('canary'); });
let url = '';
test.before(async () => {
  await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
});
test.after.always(() => new Promise<void>((resolve) => canary.close(() => resolve())));

const production = productionJson();

/** The job's environment: its own credentials and endpoints (all the canary here), the guard on. */
const jobEnv = () => ({
  EKSIDP_UNTRUSTED_CONFIG: '1', EKSIDP_TRUSTED_ROLE_ARNS: DEPLOYER_ROLE,
  AWS_ENDPOINT_URL_EKS: url, AWS_ENDPOINT_URL_STS: url, AWS_ENDPOINT_URL_S3: url, AWS_ENDPOINT_URL_DYNAMODB: url,
  AWS_ACCESS_KEY_ID: 'AKIAJOBJOBJOBJOBJOB1', AWS_SECRET_ACCESS_KEY: 'job-secret', AWS_SESSION_TOKEN: 'job-session-token',
  AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
});

async function run(t: { teardown(fn: () => void): void }, stack: StackJson, argv: string[], env: Record<string, string> = {}) {
  const dir = tempDir(t, 'eksidp-untrusted-');
  writeProject(dir, stack);
  const io = captureIo(dir, { ...jobEnv(), ...env });
  const code = await runCommand(argv, io);
  return { code, err: io.err(), out: io.out(), dir };
}

const clone = (): StackJson => JSON.parse(JSON.stringify(production)) as StackJson;
const withProvider = (args: Record<string, unknown>) => { const s = clone(); Object.assign(s.provider.aws[0]!, args); return s; };
const withBackend = (args: Record<string, unknown>) => { const s = clone(); Object.assign(s.terraform.backend.s3, args); return s; };

// Every value points where an attacker would: the canary, a file the PR could ship, a role of its own.
const hostile = () => {
  const pem = path.join(__dirname, 'fixtures', 'tls', fs.readdirSync(path.join(__dirname, 'fixtures', 'tls')).find((f) => f.endsWith('.pem'))!);
  const credentials: [string, Record<string, unknown>][] = [
    ['access_key', { access_key: 'AKIAATTACKERATTACKER', secret_key: 'attacker' }],
    ['token', { token: 'attacker-token' }],
    ['profile', { profile: 'attacker' }],
    ['shared_config_files', { shared_config_files: ['cdktf.out/stacks/production/config'] }],
    ['shared_credentials_files', { shared_credentials_files: ['cdktf.out/stacks/production/credentials'] }],
    ['assume_role', { assume_role: [{ role_arn: 'arn:aws:iam::999999999999:role/attacker', session_name: 'x' }] }],
    ['assume_role_with_web_identity', { assume_role_with_web_identity: [{ role_arn: 'arn:aws:iam::999999999999:role/attacker', web_identity_token_file: '/proc/self/environ' }] }],
    ['skip_metadata_api_check', { skip_metadata_api_check: false }],
    ['http_proxy', { http_proxy: url }],
    ['https_proxy', { https_proxy: url }],
    ['no_proxy', { no_proxy: '*' }],
    ['custom_ca_bundle', { custom_ca_bundle: pem }],
    ['insecure', { insecure: true }],
    ['region', { region: 'x.attacker.example#' }],
    ['sts_region', { sts_region: 'attacker.example/' }],
  ];
  const provider: [string, StackJson][] = [
    ['endpoints', withProvider({ endpoints: [{ eks: url }] })],
    ['endpoints', withProvider({ endpoints: [{ sts: url }] })],
    ['ec2_metadata_service_endpoint', withProvider({ ec2_metadata_service_endpoint: url })],
    ...credentials.map(([f, a]): [string, StackJson] => [f, withProvider(a)]),
  ];
  const backend: [string, StackJson][] = [
    ['endpoints', withBackend({ endpoints: { s3: url } })],
    ['endpoints', withBackend({ endpoints: { dynamodb: url }, dynamodb_table: 'locks' })],
    ['endpoints', withBackend({ endpoints: { sts: url } })],
    ['endpoint', withBackend({ endpoint: url })],
    ['dynamodb_endpoint', withBackend({ dynamodb_endpoint: url, dynamodb_table: 'locks' })],
    ['sts_endpoint', withBackend({ sts_endpoint: url })],
    ['shared_credentials_file', withBackend({ shared_credentials_file: 'cdktf.out/stacks/production/credentials' })],
    ['bucket', withBackend({ bucket: `127.0.0.1:${new URL(url).port}/x` })],
    ...credentials.map(([f, a]): [string, StackJson] => [f, withBackend(a)]),
  ];
  return { provider, backend };
};

test.serial('each hostile provider and backend field is refused by plan and drift, exit 1, naming it, and no request reaches the canary', async (t) => {
  const { provider, backend } = hostile();
  for (const [where, cases] of [['provider "aws"', provider], ['backend "s3"', backend]] as const) {
    for (const [field, stack] of cases) {
      for (const argv of [['plan', '--stack', 'production', '--lock=false'], ['drift', '--stack', 'production', '--format', 'json', '--out', 'drift.json']]) {
        const before = hits;
        const r = await run(t, stack, argv);
        const what = `${argv[0]} with ${where} ${field}`;
        t.is(r.code, 1, what);
        t.true(r.err.includes(`${where}: "${field}"`) && r.err.includes('EKSIDP_UNTRUSTED_CONFIG=1'), `${what}: ${r.err}`);
        t.is(hits, before, `${what}: no request`);
        t.false(fs.existsSync(path.join(r.dir, 'drift.json')), `${what}: no report`);
      }
    }
  }
});

test.serial('types a plugin would serve, and providers other than aws, are refused: a plugin is a program', async (t) => {
  const s = clone();
  (s.resource as Record<string, unknown>).aws_s3_bucket = { loot: { bucket: 'x' } };
  (s.data as Record<string, unknown>).external = { run: { program: ['sh', '-c', 'env'], provider: 'external' } };
  (s.provider as Record<string, unknown>).external = [{}];
  const r = await run(t, s, ['plan', '--stack', 'production', '--lock=false']);
  t.is(r.code, 1);
  t.regex(r.err, /aws_s3_bucket\.loot: aws_s3_bucket would need a provider plugin/);
  t.regex(r.err, /data\.external\.run: external would need a provider plugin/);
  t.regex(r.err, /provider\.external: provider "external" is served by a plugin/);
  t.is(hits, 0);
});

test.serial('the job pins the state object: a bucket or key other than EKSIDP_STATE_BUCKET / EKSIDP_STATE_KEY is refused', async (t) => {
  const pins = { EKSIDP_STATE_BUCKET: 'example-eksidp-state', EKSIDP_STATE_KEY: 'eksidp/production.tfstate' };
  const cfg = (s: StackJson, env: Record<string, string>) => untrustedConfigProblems(parseConfig(s, { name: 'production', dir: '/x', file: '/x/cdk.tf.json' }), { ...jobEnv(), ...env }).map((d) => d.summary);
  t.deepEqual(cfg(production, pins), []);
  t.regex(cfg(withBackend({ bucket: 'attacker-bucket' }), pins).join('\n'), /backend "s3": "bucket" is "attacker-bucket" but the job expects "example-eksidp-state" \(EKSIDP_STATE_BUCKET\)/);
  t.regex(cfg(withBackend({ key: 'other/old.tfstate' }), pins).join('\n'), /backend "s3": "key" is "other\/old.tfstate" but the job expects "eksidp\/production.tfstate" \(EKSIDP_STATE_KEY\)/);
  // Roles as an expression (a pull request's tfvars could fill it in): refused, whatever it would evaluate to.
  t.regex(cfg(withProvider({ assume_role: '${var.roles}' }), {}).join('\n'), /provider "aws": "assume_role" must be written as blocks with a literal role_arn/);
  t.regex(cfg(withProvider({ assume_role: [{ role_arn: '${var.role}' }] }), {}).join('\n'), /provider "aws": "assume_role" role_arn must be a literal role ARN/);
  // Without EKSIDP_TRUSTED_ROLE_ARNS no role may be assumed: the production stack's own is refused.
  t.regex(cfg(production, { EKSIDP_TRUSTED_ROLE_ARNS: '' }).join('\n'), /provider "aws": "assume_role" assumes arn:aws:iam::222222222222:role\/eksidp-deployer, which is not among the roles the job trusts \(EKSIDP_TRUSTED_ROLE_ARNS: none\)/);
});

test.serial('the production JSON as synthesized passes the guard, and then its requests do reach the job\'s endpoints (the canary sees them)', async (t) => {
  t.deepEqual(untrustedConfigProblems(parseConfig(production, { name: 'production', dir: '/x', file: '/x/cdk.tf.json' }), jobEnv()), []);
  const before = hits;
  const r = await run(t, production, ['plan', '--stack', 'production', '--lock=false']);
  // The canary answers 500 to everything: the plan fails, but at the job's endpoint, not at the guard.
  t.is(r.code, 1);
  t.false(r.err.includes('EKSIDP_UNTRUSTED_CONFIG'), r.err);
  t.true(hits > before, 'requests reached the job\'s endpoint');
});
