import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startEmulator, type CallRecord, type EmulatorHandle } from '../emulator';

/**
 * Credentials, roles and account guards through the real `eksidp` binary against the emulator's
 * STS and EKS, which verify the signatures of the keys and sessions they issue: who signed every EKS
 * call is read back from the emulator's call log. Each run gets a clean environment (no AWS_*
 * variables of the machine, a temporary HOME, AWS_EC2_METADATA_DISABLED=true).
 */

const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp');
const CI = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret-key' };
const GITHUB = 'https://token.actions.githubusercontent.com';

const ACCOUNTS = {
  accounts: {
    '111111111111': {
      users: { ci: CI },
      roles: {
        hop: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] } },
        short: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] }, credentialLifetimeSeconds: 2 },
      },
    },
    '222222222222': {
      roles: {
        deployer: { trust: { principals: ['arn:aws:iam::111111111111:user/ci', 'arn:aws:iam::111111111111:role/hop'], externalId: 'ext-123' } },
        gha: { trust: { webIdentity: [{ issuer: GITHUB, audiences: ['sts.amazonaws.com'], subjects: ['repo:acme/infra:*'] }] } },
      },
    },
  },
};

type Run = { code: number | null; stdout: string; stderr: string };

async function setup(t: ExecutionContext, opts: { updateMs?: number } = {}) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 60, clusterDeleteMs: 30, updateMs: opts.updateMs ?? 60, accounts: ACCOUNTS });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-creds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const stackDir = path.join(dir, 'stack');
  fs.mkdirSync(stackDir);
  return { em, dir, home, stackDir };
}

/** The provider block for the emulator: EKS and STS on its port, no instance metadata. */
function provider(em: EmulatorHandle, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { region: 'us-east-1', endpoints: [{ eks: em.url, sts: em.url }], skip_metadata_api_check: true, ...extra };
}

const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
  name, role_arn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', vpc_config: [{ subnet_ids: ['subnet-a', 'subnet-b'] }], ...extra,
});
const idp = (cluster: string, extra: Record<string, unknown> = {}) => ({
  cluster_name: `\${aws_eks_cluster.${cluster}.name}`,
  oidc: [{ client_id: 'kubernetes', identity_provider_config_name: 'okta', issuer_url: 'https://okta.example.com' }],
  ...extra,
});

function writeStack(dir: string, providers: Record<string, unknown>[], resources: Record<string, Record<string, unknown>>): void {
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: providers },
    // An empty resource object is a block without its label, refused as Terraform refuses it.
    ...(Object.keys(resources).length > 0 ? { resource: resources } : {}),
  }, null, 1));
}

/** The binary with only the environment given (plus PATH), HOME in the test's folder. */
function eksidp(cwd: string, home: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const clean: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: home, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    EKSIDP_POLL_INITIAL_MS: '40', EKSIDP_POLL_MAX_MS: '150', ...env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args, '--dir', cwd], { cwd, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const eksCalls = (em: EmulatorHandle): CallRecord[] => em.callLog().filter((c) => c.service === 'eks');
const stsCalls = (em: EmulatorHandle, action?: string): CallRecord[] => em.callLog().filter((c) => c.service === 'sts' && (!action || c.operation === action));

/** An unsigned JWT as GitHub Actions' OIDC issues it (the emulator checks claims, not the signature). */
function githubToken(sub = 'repo:acme/infra:ref:refs/heads/main'): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: GITHUB, aud: 'sts.amazonaws.com', sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.c2ln`;
}

/** Every EKS call was signed by a session of this role, and so lived in its account. */
function assertSignedByRole(t: ExecutionContext, em: EmulatorHandle, account: string, role: string, what: string): void {
  const calls = eksCalls(em);
  t.true(calls.length > 0, `${what}: EKS was called`);
  const off = calls.filter((c) => !(c.verified && c.accessKeyId?.startsWith('ASIA') && c.accountId === account && c.principal?.startsWith(`arn:aws:sts::${account}:assumed-role/${role}/`)));
  t.deepEqual(off.map((c) => `${c.operation} by ${c.accessKeyId} (${c.principal ?? 'unsigned'})`), [], `${what}: every EKS call signed by ${role}@${account}`);
}

type Snapshot = { clusters: { name: string; accountId: string; region: string; arn?: string }[] };

test('wrong account: plan, apply and drift exit 1 naming the account found and the allowed ones, with zero EKS calls', async (t) => {
  const { em, home, stackDir } = await setup(t);
  // Unlisted keys belong to the emulator's default account, 000000000000.
  writeStack(stackDir, [provider(em, { access_key: 'AKIAOTHER', secret_key: 'x', allowed_account_ids: ['111111111111'] })], { aws_eks_cluster: { a: cluster('a') } });
  for (const args of [['plan'], ['apply', '--auto-approve'], ['drift'], ['destroy', '--auto-approve']]) {
    em.resetCalls();
    const r = await eksidp(stackDir, home, args);
    t.is(r.code, 1, `${args[0]}: ${r.stderr}`);
    t.regex(r.stderr, /provider\.aws: AWS account ID not allowed: the credentials are for account 000000000000; allowed_account_ids: 111111111111/, args[0]);
    t.deepEqual(em.calls(), {}, `${args[0]}: no EKS call`);
    t.is(stsCalls(em, 'GetCallerIdentity').length, 1, `${args[0]}: one GetCallerIdentity`);
  }
  t.false(fs.existsSync(path.join(stackDir, 'terraform.tfstate')), 'no state written');
});

test('forbidden account: exit 1 naming it, zero EKS calls; an allowed one runs with one GetCallerIdentity per configuration', async (t) => {
  const { em, home, stackDir } = await setup(t);
  const keys = { access_key: CI.accessKeyId, secret_key: CI.secretAccessKey };
  writeStack(stackDir, [provider(em, { ...keys, forbidden_account_ids: ['111111111111'] })], { aws_eks_cluster: { a: cluster('a') } });
  for (const args of [['plan'], ['drift']]) {
    em.resetCalls();
    const r = await eksidp(stackDir, home, args);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /AWS account ID not allowed: 111111111111 is in forbidden_account_ids/);
    t.deepEqual(em.calls(), {});
  }
  writeStack(stackDir, [provider(em, { ...keys, allowed_account_ids: ['111111111111'] })], { aws_eks_cluster: { a: cluster('a'), b: cluster('b'), c: cluster('c') } });
  em.resetCalls();
  const applied = await eksidp(stackDir, home, ['apply', '--auto-approve']);
  t.is(applied.code, 0, applied.stderr);
  const log = em.callLog();
  t.is(stsCalls(em, 'GetCallerIdentity').length, 1, 'one call for three clusters');
  t.is(log[0]?.operation, 'GetCallerIdentity', 'before any EKS call');
  t.true(eksCalls(em).every((c) => c.verified && c.accessKeyId === CI.accessKeyId && c.accountId === '111111111111'));
  t.deepEqual((em.snapshot() as Snapshot).clusters.map((c) => c.accountId), ['111111111111', '111111111111', '111111111111']);
});

test('with both skips no STS call is made: allowed_account_ids fails (the account is unknown), forbidden_account_ids passes', async (t) => {
  const { em, home, stackDir } = await setup(t);
  const skips = { access_key: 'AKIAOTHER', secret_key: 'x', skip_credentials_validation: true, skip_requesting_account_id: true };
  writeStack(stackDir, [provider(em, { ...skips, allowed_account_ids: ['000000000000'] })], { aws_eks_cluster: { a: cluster('a') } });
  const r = await eksidp(stackDir, home, ['plan']);
  t.is(r.code, 1);
  t.regex(r.stderr, /AWS account ID not allowed: the credentials are for account unknown \(skip_credentials_validation and skip_requesting_account_id are both true/);
  t.deepEqual(em.stsCalls(), {});
  t.deepEqual(em.calls(), {});
  writeStack(stackDir, [provider(em, { ...skips, forbidden_account_ids: ['000000000000'] })], { aws_eks_cluster: { a: cluster('a') } });
  const ok = await eksidp(stackDir, home, ['plan']);
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(em.stsCalls(), {});
});

test('assume_role: every EKS call is signed with the assumed role\'s credentials, with every field sent, and resources land in its account', async (t) => {
  const { em, home, stackDir } = await setup(t);
  const role = {
    role_arn: 'arn:aws:iam::222222222222:role/deployer', session_name: 'eksidp-test', external_id: 'ext-123', duration: '30m',
    policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:*","Resource":"*"}]}',
    policy_arns: ['arn:aws:iam::aws:policy/AmazonEKSClusterPolicy'], tags: { team: 'platform' }, transitive_tag_keys: ['team'], source_identity: 'alice',
  };
  writeStack(stackDir, [provider(em, { access_key: CI.accessKeyId, secret_key: CI.secretAccessKey, assume_role: [role], allowed_account_ids: ['222222222222'] })], {
    aws_eks_cluster: { a: cluster('a') }, aws_eks_identity_provider_config: { a: idp('a') },
  });
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve']);
  t.is(r.code, 0, r.stderr);
  assertSignedByRole(t, em, '222222222222', 'deployer', 'apply');
  const assumed = stsCalls(em, 'AssumeRole');
  t.true(assumed.length >= 1);
  t.like(assumed[0], { accessKeyId: CI.accessKeyId, verified: true, status: 200 });
  t.like(assumed[0]!.params, {
    RoleArn: role.role_arn, RoleSessionName: 'eksidp-test', ExternalId: 'ext-123', DurationSeconds: '1800', Policy: role.policy, SourceIdentity: 'alice',
  });
  t.regex(JSON.stringify(assumed[0]!.params), /AmazonEKSClusterPolicy/);
  t.regex(JSON.stringify(assumed[0]!.params), /"team"/);
  t.deepEqual((em.snapshot() as Snapshot).clusters.map((c) => [c.name, c.accountId]), [['a', '222222222222']]);
  // The same role reads and destroys: the cluster is not visible from the base account.
  em.resetCalls();
  const destroyed = await eksidp(stackDir, home, ['destroy', '--auto-approve']);
  t.is(destroyed.code, 0, destroyed.stderr);
  assertSignedByRole(t, em, '222222222222', 'deployer', 'destroy');
});

test('a chain of two assume_role blocks: each role assumed with the previous one\'s credentials; EKS sees the last', async (t) => {
  const { em, home, stackDir } = await setup(t);
  writeStack(stackDir, [provider(em, {
    access_key: CI.accessKeyId, secret_key: CI.secretAccessKey,
    assume_role: [{ role_arn: 'arn:aws:iam::111111111111:role/hop', session_name: 'first' }, { role_arn: 'arn:aws:iam::222222222222:role/deployer', session_name: 'second', external_id: 'ext-123' }],
  })], { aws_eks_cluster: { a: cluster('a') } });
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve']);
  t.is(r.code, 0, r.stderr);
  const [first, second] = stsCalls(em, 'AssumeRole');
  t.like(first, { accessKeyId: CI.accessKeyId, params: { RoleArn: 'arn:aws:iam::111111111111:role/hop' } });
  t.like(second, { params: { RoleArn: 'arn:aws:iam::222222222222:role/deployer', ExternalId: 'ext-123' } });
  t.true(second!.accessKeyId?.startsWith('ASIA'), 'the second AssumeRole is signed by the first role\'s session');
  t.regex(second!.principal ?? '', /^arn:aws:sts::111111111111:assumed-role\/hop\/first$/);
  assertSignedByRole(t, em, '222222222222', 'deployer', 'apply through the chain');
  // GetCallerIdentity (credentials validation) is made with the chain's end, too.
  t.regex(stsCalls(em, 'GetCallerIdentity')[0]?.principal ?? '', /assumed-role\/deployer\/second/);
});

test('web identity from the environment, as in a GitHub Actions job; and from the provider block', async (t) => {
  const { em, dir, home, stackDir } = await setup(t);
  const tokenFile = path.join(dir, 'oidc-token');
  fs.writeFileSync(tokenFile, githubToken());
  writeStack(stackDir, [provider(em, { allowed_account_ids: ['222222222222'] })], { aws_eks_cluster: { a: cluster('a') } });
  const env = { AWS_ROLE_ARN: 'arn:aws:iam::222222222222:role/gha', AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_SESSION_NAME: 'gha-run-42' };
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve'], env);
  t.is(r.code, 0, r.stderr);
  const web = stsCalls(em, 'AssumeRoleWithWebIdentity');
  t.true(web.length >= 1);
  t.like(web[0]!.params, { RoleArn: 'arn:aws:iam::222222222222:role/gha', RoleSessionName: 'gha-run-42' });
  assertSignedByRole(t, em, '222222222222', 'gha', 'web identity from env');

  // The block form, with its own session name; a token for another repository is refused.
  em.resetCalls();
  writeStack(stackDir, [provider(em, { assume_role_with_web_identity: [{ role_arn: 'arn:aws:iam::222222222222:role/gha', web_identity_token_file: tokenFile, session_name: 'from-block' }] })], { aws_eks_cluster: { a: cluster('a') } });
  const block = await eksidp(stackDir, home, ['plan', '--detailed-exitcode']);
  t.is(block.code, 0, block.stderr);
  t.like(stsCalls(em, 'AssumeRoleWithWebIdentity')[0]?.params, { RoleSessionName: 'from-block' });
  assertSignedByRole(t, em, '222222222222', 'gha', 'web identity block');
  fs.writeFileSync(tokenFile, githubToken('repo:evil/fork:ref:refs/heads/main'));
  em.resetCalls();
  const denied = await eksidp(stackDir, home, ['plan']);
  t.is(denied.code, 1);
  t.regex(denied.stderr, /provider\.aws: validating provider credentials: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity/);
  t.deepEqual(em.calls(), {});
});

test('profiles from the shared config and credentials files of a temporary HOME, and from files named in the block', async (t) => {
  const { em, dir, home, stackDir } = await setup(t);
  fs.mkdirSync(path.join(home, '.aws'));
  fs.writeFileSync(path.join(home, '.aws', 'credentials'), `[ci]\naws_access_key_id = ${CI.accessKeyId}\naws_secret_access_key = ${CI.secretAccessKey}\n`);
  fs.writeFileSync(path.join(home, '.aws', 'config'), '[profile deploy]\nrole_arn = arn:aws:iam::222222222222:role/deployer\nsource_profile = ci\nexternal_id = ext-123\nrole_session_name = from-profile\n');
  writeStack(stackDir, [provider(em, { profile: 'deploy', allowed_account_ids: ['222222222222'] })], { aws_eks_cluster: { a: cluster('a') } });
  // Keys in the environment lose to the profile named in the block, as in the provider.
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve'], { AWS_ACCESS_KEY_ID: 'AKIAENVKEY', AWS_SECRET_ACCESS_KEY: 'x' });
  t.is(r.code, 0, r.stderr);
  t.like(stsCalls(em, 'AssumeRole')[0], { accessKeyId: CI.accessKeyId, params: { RoleSessionName: 'from-profile', ExternalId: 'ext-123' } });
  assertSignedByRole(t, em, '222222222222', 'deployer', 'profile with a role');

  // shared_credentials_files / shared_config_files name other files (`~` is HOME).
  fs.mkdirSync(path.join(home, 'elsewhere'));
  fs.renameSync(path.join(home, '.aws', 'credentials'), path.join(home, 'elsewhere', 'creds'));
  fs.renameSync(path.join(home, '.aws', 'config'), path.join(home, 'elsewhere', 'conf'));
  writeStack(stackDir, [provider(em, { profile: 'ci', shared_credentials_files: ['~/elsewhere/creds'], shared_config_files: [path.join(home, 'elsewhere', 'conf')], allowed_account_ids: ['111111111111'] })], {});
  em.resetCalls();
  const files = await eksidp(stackDir, home, ['plan']);
  t.is(files.code, 0, files.stderr);
  t.like(stsCalls(em, 'GetCallerIdentity')[0], { accessKeyId: CI.accessKeyId, accountId: '111111111111' });
  // A profile that does not exist fails before any API call, with the provider's message.
  writeStack(stackDir, [provider(em, { profile: 'nope' })], { aws_eks_cluster: { a: cluster('a') } });
  em.resetCalls();
  const missing = await eksidp(stackDir, home, ['plan']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /provider\.aws: profile: failed to get shared config profile, nope/);
  t.deepEqual(em.callLog(), [], 'no STS call either');
  void dir;
});

/** A stand-in SSO portal (GetRoleCredentials): it hands out real sessions of `hop`, from the emulator's STS. */
async function ssoPortal(t: ExecutionContext, em: EmulatorHandle): Promise<{ url: string; seen: string[] }> {
  const sts = new STSClient({ endpoint: em.url, region: 'us-east-1', credentials: CI });
  t.teardown(() => sts.destroy());
  const seen: string[] = [];
  const portal = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push(`${url.pathname} ${url.searchParams.get('role_name')}@${url.searchParams.get('account_id')} ${String(req.headers['x-amz-sso_bearer_token'])}`);
      const out = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'sso-user' }));
      const c = out.Credentials!;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ roleCredentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration!.getTime() } }));
    })();
  });
  await new Promise<void>((r) => portal.listen(0, '127.0.0.1', r));
  t.teardown(() => portal.close());
  return { url: `http://127.0.0.1:${(portal.address() as AddressInfo).port}`, seen };
}

/** An SSO token in the cache, as `aws sso login` leaves it (keyed by the start URL, or by the sso-session's name). */
function cacheSsoToken(home: string, key: string, startUrl: string): void {
  fs.mkdirSync(path.join(home, '.aws', 'sso', 'cache'), { recursive: true });
  const cacheName = crypto.createHash('sha1').update(key).digest('hex');
  fs.writeFileSync(path.join(home, '.aws', 'sso', 'cache', `${cacheName}.json`), JSON.stringify({ startUrl, region: 'us-east-1', accessToken: 'sso-access-token', expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
}

test('SSO in the default chain: a profile with an SSO role and a cached token gets its credentials from the SSO portal', async (t) => {
  const { em, home, stackDir } = await setup(t);
  const portal = await ssoPortal(t, em);
  const startUrl = 'https://acme.awsapps.com/start';
  fs.mkdirSync(path.join(home, '.aws'), { recursive: true });
  fs.writeFileSync(path.join(home, '.aws', 'config'), `[profile sso]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_account_id = 111111111111\nsso_role_name = hop\n`);
  cacheSsoToken(home, startUrl, startUrl);
  writeStack(stackDir, [provider(em, { profile: 'sso', allowed_account_ids: ['111111111111'] })], { aws_eks_cluster: { a: cluster('a') } });
  // The SSO client reads its endpoint from the environment here (endpoints.sso: the next test).
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve'], { AWS_ENDPOINT_URL_SSO: portal.url });
  t.is(r.code, 0, r.stderr);
  t.deepEqual([...new Set(portal.seen)], ['/federation/credentials hop@111111111111 sso-access-token']);
  assertSignedByRole(t, em, '111111111111', 'hop', 'SSO profile');
});

test('several shared files: a later file\'s keys, role settings and region win; sso-session and endpoints.sso; SSO as a role\'s source profile; credential_process; nothing written to disk', async (t) => {
  const { em, dir, home, stackDir } = await setup(t);
  const portal = await ssoPortal(t, em);
  const f = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  // The first credentials file has a wrong secret for the CI key: a request signed with it gets 403.
  const creds = [
    f('creds-1', `[ci]\naws_access_key_id = ${CI.accessKeyId}\naws_secret_access_key = stale-secret\n`),
    f('creds-2', `[ci]\naws_access_key_id = ${CI.accessKeyId}\naws_secret_access_key = ${CI.secretAccessKey}\n`),
  ];
  const script = f('creds-process.js', `process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: '${CI.accessKeyId}', SecretAccessKey: '${CI.secretAccessKey}' }))\n`);
  const config = [
    f('config-1', [
      '[profile deploy]', 'role_arn = arn:aws:iam::222222222222:role/deployer', 'source_profile = ci', 'external_id = wrong', 'role_session_name = from-files', 'region = us-east-1',
      '[profile sso]', 'sso_session = corp', 'sso_account_id = 111111111111', 'sso_role_name = hop', 'region = us-east-1',
      '[profile via-sso]', 'role_arn = arn:aws:iam::222222222222:role/deployer', 'source_profile = sso', 'external_id = ext-123',
      '[profile proc]', 'region = us-east-1', '',
    ].join('\n')),
    f('config-2', [
      '[profile deploy]', 'external_id = ext-123', 'region = eu-west-1',
      '[sso-session corp]', 'sso_region = us-east-1', 'sso_start_url = https://corp.awsapps.com/start',
      '[profile proc]', `credential_process = ${process.execPath} ${script}`, '',
    ].join('\n')),
  ];
  cacheSsoToken(home, 'corp', 'https://corp.awsapps.com/start');
  const files = { shared_config_files: config, shared_credentials_files: creds };
  const run = async (profile: string, extra: Record<string, unknown> = {}) => {
    writeStack(stackDir, [{ endpoints: [{ eks: em.url, sts: em.url, sso: portal.url }], skip_metadata_api_check: true, profile, ...files, ...extra }], { aws_eks_cluster: { [profile.replace(/\W/g, '')]: cluster(`c-${profile}`) } });
    em.resetCalls();
    return eksidp(stackDir, home, ['apply', '--auto-approve']);
  };
  const clusters = () => (em.snapshot() as Snapshot).clusters.map((c) => `${c.name} ${c.accountId} ${c.region}`);

  // The role: the second config file's external_id and region, the second credentials file's secret.
  const deploy = await run('deploy');
  t.is(deploy.code, 0, deploy.stderr);
  t.like(stsCalls(em, 'AssumeRole')[0], { accessKeyId: CI.accessKeyId, verified: true, params: { ExternalId: 'ext-123', RoleSessionName: 'from-files' } });
  assertSignedByRole(t, em, '222222222222', 'deployer', 'role from merged files');
  t.true(clusters().includes('c-deploy 222222222222 eu-west-1'), clusters().join(', '));

  // SSO with its sso-session in another file, the portal reached through endpoints.sso alone.
  const sso = await run('sso');
  t.is(sso.code, 0, sso.stderr);
  assertSignedByRole(t, em, '111111111111', 'hop', 'SSO from merged files');
  t.true(clusters().includes('c-sso 111111111111 us-east-1'));
  // SSO as the source of a role (the SDK's own profile resolver would not find the session here).
  const viaSso = await run('via-sso', { region: 'eu-west-2' });
  t.is(viaSso.code, 0, viaSso.stderr);
  // (The portal's own AssumeRole of hop, signed by the CI user, is in the log too.)
  const deployer = stsCalls(em, 'AssumeRole').filter((c) => c.params?.RoleArn === 'arn:aws:iam::222222222222:role/deployer');
  t.is(deployer.length, 1);
  t.regex(deployer[0]?.principal ?? '', /^arn:aws:sts::111111111111:assumed-role\/hop\//, 'the role was assumed with the SSO session');
  assertSignedByRole(t, em, '222222222222', 'deployer', 'role on top of SSO');
  t.deepEqual([...new Set(portal.seen)], ['/federation/credentials hop@111111111111 sso-access-token'], 'every SSO call went to endpoints.sso, with the session\'s cached token');

  // credential_process from the second config file.
  const proc = await run('proc', { allowed_account_ids: ['111111111111'] });
  t.is(proc.code, 0, proc.stderr);
  t.true(eksCalls(em).length > 0 && eksCalls(em).every((c) => c.verified && c.accessKeyId === CI.accessKeyId));
  t.true(clusters().includes('c-proc 111111111111 us-east-1'));

  // The files in the other order: the stale secret wins and STS refuses it, before any EKS call.
  const reversed = await run('deploy', { shared_credentials_files: [...creds].reverse() });
  t.is(reversed.code, 1);
  t.regex(reversed.stderr, /SignatureDoesNotMatch|signature/i);
  t.deepEqual(eksCalls(em), []);
  t.false(fs.existsSync('/nonexistent'), 'the in-memory files were never written');
});

test('credentials that expire are fetched again before they do, on the SDK path and the lean reads, through a long wait', async (t) => {
  // Sessions of `short` live 2 s; the association takes 6 s, polled all along.
  const { em, home, stackDir } = await setup(t, { updateMs: 6_000 });
  writeStack(stackDir, [provider(em, { access_key: CI.accessKeyId, secret_key: CI.secretAccessKey, assume_role: [{ role_arn: 'arn:aws:iam::111111111111:role/short' }] })], {
    aws_eks_cluster: { a: cluster('a') }, aws_eks_identity_provider_config: { a: idp('a') },
  });
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve']);
  t.is(r.code, 0, r.stderr);
  const calls = eksCalls(em);
  t.deepEqual(calls.filter((c) => c.status === 403).map((c) => `${c.operation}: ${c.error}`), [], 'no call was refused (expired keys would be 403 ExpiredTokenException)');
  assertSignedByRole(t, em, '111111111111', 'short', 'apply across expiries');
  const keys = (ops: string[]) => new Set(calls.filter((c) => ops.includes(c.operation)).map((c) => c.accessKeyId));
  t.true(keys(['AssociateIdentityProviderConfig', 'CreateCluster', 'DescribeUpdate']).size >= 1);
  t.true(keys(['DescribeCluster', 'DescribeIdentityProviderConfig']).size >= 3, 'the lean reads signed with several sessions over the wait');
  t.true(stsCalls(em, 'AssumeRole').length >= 3, 'the role was assumed again as its sessions expired');
  const last = calls[calls.length - 1]!;
  t.true(Date.now() - calls[0]!.at > 5_000 && last.status < 400);
});

test('aliases: each configuration with its own credentials, region and account guard; import and drift through an alias', async (t) => {
  const { em, home, stackDir } = await setup(t);
  const base = { access_key: CI.accessKeyId, secret_key: CI.secretAccessKey };
  const prod = { ...base, alias: 'prod', region: 'eu-west-1', assume_role: [{ role_arn: 'arn:aws:iam::222222222222:role/deployer', external_id: 'ext-123' }] };
  const resources = { aws_eks_cluster: { a: cluster('a'), b: cluster('b', { provider: 'aws.prod' }) }, aws_eks_identity_provider_config: { b: idp('b', { provider: 'aws.prod' }) } };
  writeStack(stackDir, [provider(em, { ...base, allowed_account_ids: ['111111111111'] }), provider(em, { ...prod, allowed_account_ids: ['222222222222'] })], resources);
  const r = await eksidp(stackDir, home, ['apply', '--auto-approve']);
  t.is(r.code, 0, r.stderr);
  t.is(stsCalls(em, 'GetCallerIdentity').length, 2, 'one account check per configuration');
  const clusters = (em.snapshot() as Snapshot).clusters.map((c) => [c.name, c.accountId, c.region]).sort();
  t.deepEqual(clusters, [['a', '111111111111', 'us-east-1'], ['b', '222222222222', 'eu-west-1']]);
  const state = JSON.parse(fs.readFileSync(path.join(stackDir, 'terraform.tfstate'), 'utf8')) as { resources: { type: string; name: string; provider: string }[] };
  t.deepEqual(state.resources.map((x) => `${x.type}.${x.name} ${x.provider}`).sort(), [
    'aws_eks_cluster.a provider["registry.terraform.io/hashicorp/aws"]',
    'aws_eks_cluster.b provider["registry.terraform.io/hashicorp/aws"].prod',
    'aws_eks_identity_provider_config.b provider["registry.terraform.io/hashicorp/aws"].prod',
  ]);
  const drift = await eksidp(stackDir, home, ['drift', '--format', 'json']);
  t.is(drift.code, 0, drift.stdout + drift.stderr);

  // Import through the alias: the cluster is found in its account and region.
  fs.rmSync(path.join(stackDir, 'terraform.tfstate'));
  em.resetCalls();
  const imported = await eksidp(stackDir, home, ['import', 'aws_eks_cluster.b', 'b']);
  t.is(imported.code, 0, imported.stderr);
  t.true(eksCalls(em).every((c) => c.accountId === '222222222222' && c.region === 'eu-west-1'));

  // One configuration's guard failing stops everything before any EKS call.
  writeStack(stackDir, [provider(em, { ...base, allowed_account_ids: ['111111111111'] }), provider(em, { ...prod, allowed_account_ids: ['999999999999'] })], resources);
  for (const args of [['plan'], ['drift']]) {
    em.resetCalls();
    const bad = await eksidp(stackDir, home, args);
    t.is(bad.code, 1);
    t.regex(bad.stderr, /provider\.aws\.prod: AWS account ID not allowed: the credentials are for account 222222222222; allowed_account_ids: 999999999999/);
    t.deepEqual(em.calls(), {}, args[0]);
  }
});
