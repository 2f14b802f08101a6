import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type CallRecord } from '../emulator';
import { terraform, terraformTest } from './helpers/terraform';

type Snapshot = { clusters: { name: string; status: string; version: string; tags: Record<string, string>; configs: { name: string; status: string; issuerUrl: string; tags: Record<string, string> }[] }[] };

// Few runs on purpose: each Terraform run costs ~15 s or more (the AWS provider binary is big), and an
// `endpoints` block costs the provider ~9 s of CPU more per configuration and run: the first test takes
// the EKS endpoint from AWS_ENDPOINT_URL_EKS, the second keeps one block (the assumed roles' STS).
terraformTest(test, 'Terraform\'s AWS provider 5.100 applies, re-plans with no changes, and destroys a cluster with two identity provider configs on the emulator', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 200, clusterDeleteMs: 100, updateMs: 200 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-tf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(path.join(__dirname, 'fixtures', 'emulator', 'stack.tf.json'), path.join(dir, 'main.tf.json'));
  const env = { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_EKS: em.url };

  const init = await terraform(dir, ['init', '-input=false', '-no-color'], env);
  t.is(init.code, 0, init.stderr);
  // The provider does not retry 409 ResourceInUse, and both configs update the same cluster.
  const apply = await terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=1'], env);
  t.is(apply.code, 0, apply.stderr);

  const after = em.snapshot() as Snapshot;
  t.is(after.clusters.length, 1);
  const cluster = after.clusters[0]!;
  t.like(cluster, { name: 'emu-main', status: 'ACTIVE', version: '1.32', tags: { team: 'platform', env: 'test' } });
  t.deepEqual(cluster.configs.map((c) => [c.name, c.status, c.issuerUrl]).sort(), [
    ['corp-sso', 'ACTIVE', 'https://sso.example.com/oauth2'],
    ['partners', 'ACTIVE', 'https://partners.example.net'],
  ]);
  t.deepEqual(cluster.configs.find((c) => c.name === 'partners')!.tags, { owner: 'partners', tier: 'external' });
  t.is(em.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig' && u.status === 'Successful').length, 2);

  // Exit 0 (not 2) proves every attribute Terraform reads back round-trips unchanged.
  const plan = await terraform(dir, ['plan', '-detailed-exitcode', '-input=false', '-no-color'], env);
  t.is(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);

  const destroy = await terraform(dir, ['destroy', '-auto-approve', '-input=false', '-no-color'], env);
  t.is(destroy.code, 0, destroy.stderr);
  t.deepEqual((em.snapshot() as Snapshot).clusters, []);
  const calls = em.calls();
  t.is(calls.DisassociateIdentityProviderConfig, 2);
  t.is(calls.DeleteCluster, 1);
});

const CI = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret/with+chars' };

terraformTest(test, 'Terraform with a chain of two assume_role blocks and endpoints { sts, eks } (the other configuration\'s STS and IAM from AWS_ENDPOINT_URL_*): keys verified, credentials validated, resources land in the last role\'s account; a wrong secret is refused', async (t) => {
  const em = await startEmulator({
    port: 0, clusterCreateMs: 200, clusterDeleteMs: 100, updateMs: 200,
    accounts: {
      accounts: {
        '111111111111': { users: { ci: CI } },
        '222222222222': { roles: { hop: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] } } } },
        '333333333333': { roles: { deployer: { trust: { principals: ['arn:aws:iam::222222222222:role/hop'], externalId: 'ext-123' } } } },
      },
    },
  });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-tf-roles-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stack = fs.readFileSync(path.join(__dirname, 'fixtures', 'emulator', 'assume-role.tf.json'), 'utf8')
    .replaceAll('__ENDPOINT__', em.url).replaceAll('__ACCESS_KEY__', CI.accessKeyId).replace('__SECRET_KEY__', CI.secretAccessKey);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), stack);
  // Nothing may fall back to the instance metadata address or a shared profile. The role chain's
  // configuration has the one `endpoints` block (no EKS endpoint in the environment: its EKS calls prove
  // the block is used); the `base` alias takes STS and IAM from the environment (no block: ~9 s of CPU less per run).
  const env = {
    AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    AWS_ENDPOINT_URL_STS: em.url, AWS_ENDPOINT_URL_IAM: em.url, AWS_ENDPOINT_URL_EKS: '', AWS_ENDPOINT_URL: '',
  };

  const init = await terraform(dir, ['init', '-input=false', '-no-color'], env);
  t.is(init.code, 0, init.stderr);
  const apply = await terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=1'], env);
  t.is(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
  t.regex(apply.stdout, /account = "333333333333"/);
  t.regex(apply.stdout, /caller = "arn:aws:sts::333333333333:assumed-role\/deployer\/tf-deploy"/);
  t.regex(apply.stdout, /cluster_arn = "arn:aws:eks:us-east-1:333333333333:cluster\/emu-roles"/);
  // The second provider configuration (no role, credentials validation skipped) asks IAM GetUser for its account.
  t.regex(apply.stdout, /base_account = "111111111111"/);

  const snap = em.snapshot() as { clusters: { name: string; accountId: string; region: string; arn: string; configs: { arn: string }[] }[] };
  t.deepEqual(snap.clusters.map((c) => [c.name, c.accountId, c.region]), [['emu-roles', '333333333333', 'us-east-1']]);
  t.regex(snap.clusters[0]!.configs[0]!.arn, /^arn:aws:eks:us-east-1:333333333333:identityproviderconfig\/emu-roles\/oidc\/corp-sso\//);

  const log = em.callLog();
  const eksCalls = log.filter((r) => r.service === 'eks');
  t.true(eksCalls.length >= 4, `${eksCalls.length} EKS calls`);
  for (const r of eksCalls) {
    t.like(r, { verified: true, accountId: '333333333333', principal: 'arn:aws:sts::333333333333:assumed-role/deployer/tf-deploy' }, `${r.operation} by ${r.principal ?? 'nobody'}`);
    t.regex(r.accessKeyId ?? '', /^ASIAEMU/);
  }
  // The provider validates its credentials and reads the account with GetCallerIdentity, or, when
  // validation is skipped, with IAM GetUser; it uses nothing else.
  t.deepEqual(Object.keys(em.stsCalls()).sort(), ['AssumeRole', 'GetCallerIdentity']);
  t.deepEqual(Object.keys(em.iamCalls()), ['GetUser']);
  for (const r of log.filter((x) => x.service === 'iam')) t.like(r, { status: 200, verified: true, principal: 'arn:aws:iam::111111111111:user/ci' });
  const assumed = (role: string) => log.filter((r): r is CallRecord & { params: Record<string, unknown> } => r.operation === 'AssumeRole' && r.params?.RoleArn === role);
  const hops = assumed('arn:aws:iam::222222222222:role/hop');
  t.true(hops.length >= 1);
  for (const h of hops) t.like(h, { status: 200, verified: true, principal: 'arn:aws:iam::111111111111:user/ci', params: { RoleSessionName: 'tf-hop' } });
  const deploys = assumed('arn:aws:iam::333333333333:role/deployer');
  t.true(deploys.length >= 1);
  for (const d of deploys) {
    t.like(d, { status: 200, principal: 'arn:aws:sts::222222222222:assumed-role/hop/tf-hop' });
    t.deepEqual(d.params, { RoleArn: 'arn:aws:iam::333333333333:role/deployer', RoleSessionName: 'tf-deploy', DurationSeconds: '1200', ExternalId: 'ext-123', SourceIdentity: 'alice', Tags: { team: 'platform' }, TransitiveTagKeys: ['team'] });
  }

  // (No re-plan here: the test above shows the round trip; destroy below reads everything back with the role.)
  // Terraform's own signer against the verifier: a wrong secret fails at the first STS call, and no EKS call is served.
  em.resetCalls();
  const wrong = await terraform(dir, ['plan', '-input=false', '-no-color', '-var', 'secret_key=not-the-secret'], env);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /SignatureDoesNotMatch/);
  t.deepEqual(em.calls(), {});

  const destroy = await terraform(dir, ['destroy', '-auto-approve', '-input=false', '-no-color'], env);
  t.is(destroy.code, 0, destroy.stderr);
  t.deepEqual((em.snapshot() as { clusters: unknown[] }).clusters, []);
});
