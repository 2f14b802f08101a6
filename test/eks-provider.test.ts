import test, { type ExecutionContext } from 'ava';
import { AssociateIdentityProviderConfigCommand, DisassociateIdentityProviderConfigCommand, EKSClient } from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../emulator/index';
import { isUnknown, type ObjectValue, type Provider } from '../engine/protocol';
import { createEksProvider } from '../providers/eks/index';
import { requestToken } from '../providers/eks/common';
import { DEFAULT_TUNING, LOOPBACK_TUNING, isLoopback, tuningFromEnv } from '../providers/eks/client';

/** Emulator + provider configured against it, with fast polls; both stopped at teardown. */
async function setup(t: ExecutionContext, opts: EmulatorOptions = {}): Promise<{ emu: EmulatorHandle; p: Provider }> {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 20, clusterDeleteMs: 20, updateMs: 30, seed: 1, ...opts });
  t.teardown(() => emu.close());
  const p = createEksProvider({ pollInitialMs: 5, pollMaxMs: 40, maxAttempts: 10 });
  t.teardown(() => p.close?.());
  const r = await p.configure({
    config: { region: 'us-east-1', access_key: 'test', secret_key: 'test', skip_credentials_validation: true, skip_requesting_account_id: true, endpoints: [{ eks: emu.url }] },
    env: {},
  });
  t.deepEqual(r.diagnostics, []);
  return { emu, p };
}

/** Both skips: no STS call (the emulator serves EKS only here). */
const NO_STS = { skip_credentials_validation: true, skip_requesting_account_id: true };

const clusterConfig = (name: string, extra: ObjectValue = {}): ObjectValue => ({
  name,
  role_arn: 'arn:aws:iam::000000000000:role/eks',
  version: '1.31',
  vpc_config: [{ subnet_ids: ['subnet-b', 'subnet-a'] }],
  ...extra,
});

const idpConfig = (cluster: string, name: string, extra: ObjectValue = {}, tags: ObjectValue | null = null): ObjectValue => ({
  cluster_name: cluster,
  oidc: [{ client_id: 'kubernetes', identity_provider_config_name: name, issuer_url: `https://${name}.example.com`, ...extra }],
  tags,
});

let tokenSeq = 0;
/** Plans and applies one change as the engine would; returns the apply response. */
async function change(p: Provider, typeName: string, prior: ObjectValue | null, config: ObjectValue | null, extra: Partial<Parameters<Provider['applyResourceChange']>[0]> = {}) {
  const address = `${typeName}.test`;
  const plan = p.planResourceChange({ typeName, address, priorState: prior, proposedNewState: config, config });
  const progress: string[] = [];
  const res = await p.applyResourceChange({
    typeName,
    address,
    priorState: prior,
    plannedState: plan.plannedState,
    config,
    timeouts: {},
    idempotencyToken: `tok-${++tokenSeq}`,
    progress: (m) => progress.push(m),
    ...extra,
  });
  return { ...res, plan, progress };
}

async function createCluster(t: ExecutionContext, p: Provider, name: string, version = '1.31'): Promise<ObjectValue> {
  const r = await change(p, 'aws_eks_cluster', null, clusterConfig(name, { version }));
  t.deepEqual(r.diagnostics, []);
  t.truthy(r.newState);
  return r.newState!;
}

test('a cluster and an identity provider config are created, read, retagged in place and deleted', async (t) => {
  const { emu, p } = await setup(t);
  const cluster = await createCluster(t, p, 'prod');
  t.is(cluster.status, 'ACTIVE');
  t.is(cluster.id, 'prod');
  t.deepEqual((cluster.vpc_config as ObjectValue[])[0].subnet_ids, ['subnet-a', 'subnet-b']);
  t.regex(String(cluster.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(cluster.tags, null, 'no tags configured: null, as planned');
  const refreshed = await p.readResource({ typeName: 'aws_eks_cluster', address: 'c', priorState: cluster });
  t.deepEqual(refreshed.newState, cluster, 'a refresh of an unchanged cluster changes nothing (no null-vs-empty drift)');

  const cfg = idpConfig('prod', 'okta', { username_prefix: 'okta:', required_claims: { aud: 'kube' } }, { team: 'a' });
  const created = await change(p, 'aws_eks_identity_provider_config', null, cfg);
  t.deepEqual(created.diagnostics, []);
  const s = created.newState!;
  t.is(s.id, 'prod:okta');
  t.is(s.status, 'ACTIVE');
  t.regex(String(s.arn), /identityproviderconfig\/prod\/oidc\/okta/);
  t.deepEqual(s.tags, { team: 'a' });
  t.deepEqual(s.tags_all, { team: 'a' });
  t.deepEqual(Object.keys(s).sort(), ['arn', 'cluster_name', 'id', 'oidc', 'status', 'tags', 'tags_all', 'timeouts']);
  t.deepEqual((s.oidc as ObjectValue[])[0], {
    client_id: 'kubernetes',
    groups_claim: '',
    groups_prefix: '',
    identity_provider_config_name: 'okta',
    issuer_url: 'https://okta.example.com',
    required_claims: { aud: 'kube' },
    username_claim: '',
    username_prefix: 'okta:',
  });
  t.true(created.progress.length > 0, 'progress reported while waiting');

  // Refresh of an unchanged config: same state, and the plan is a no-op.
  const read = await p.readResource({ typeName: 'aws_eks_identity_provider_config', address: 'x', priorState: s });
  t.deepEqual(read.newState, s);
  const noop = p.planResourceChange({ typeName: 'aws_eks_identity_provider_config', address: 'x', priorState: s, proposedNewState: cfg, config: cfg });
  t.deepEqual(noop.requiresReplace, []);
  t.deepEqual(noop.plannedState, s);

  const retag = { ...cfg, tags: { team: 'b', env: 'prod' } };
  const updated = await change(p, 'aws_eks_identity_provider_config', s, retag);
  t.deepEqual(updated.plan.requiresReplace, []);
  t.deepEqual(updated.plan.plannedState?.tags_all, { team: 'b', env: 'prod' });
  t.deepEqual(updated.diagnostics, []);
  t.deepEqual(updated.newState?.tags, { env: 'prod', team: 'b' });
  t.is(emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig').length, 1, 'retagging did not re-associate');

  const deleted = await change(p, 'aws_eks_identity_provider_config', updated.newState, null);
  t.deepEqual(deleted.diagnostics, []);
  t.is(deleted.newState, null);
  const gone = await p.readResource({ typeName: 'aws_eks_identity_provider_config', address: 'x', priorState: s });
  t.is(gone.newState, null, 'a config gone on read is null');
  t.deepEqual(gone.diagnostics, []);

  const again = await change(p, 'aws_eks_identity_provider_config', updated.newState, null);
  t.deepEqual(again.diagnostics, [], 'deleting a config that is already gone is done');

  const clusterGone = await change(p, 'aws_eks_cluster', cluster, null);
  t.deepEqual(clusterGone.diagnostics, []);
  t.is((await p.readResource({ typeName: 'aws_eks_cluster', address: 'c', priorState: cluster })).newState, null);
});

test('changing an oidc field or the cluster name plans a replacement; tags alone an update', (t) => {
  const p = createEksProvider();
  const prior: ObjectValue = {
    id: 'prod:okta',
    arn: 'arn:x',
    cluster_name: 'prod',
    status: 'ACTIVE',
    tags: null,
    tags_all: {},
    timeouts: null,
    oidc: [{ client_id: 'k', groups_claim: '', groups_prefix: '', identity_provider_config_name: 'okta', issuer_url: 'https://a', required_claims: null, username_claim: '', username_prefix: '' }],
  };
  const plan = (config: ObjectValue) => p.planResourceChange({ typeName: 'aws_eks_identity_provider_config', address: 'a', priorState: prior, proposedNewState: config, config });
  const base = idpConfig('prod', 'okta', { client_id: 'k', issuer_url: 'https://a' });
  t.deepEqual(plan(base).requiresReplace, []);
  t.deepEqual(plan(base).plannedState, prior);
  t.deepEqual(plan(idpConfig('prod', 'okta', { client_id: 'k2', issuer_url: 'https://a' })).requiresReplace, [['oidc', 0, 'client_id']]);
  t.deepEqual(plan(idpConfig('prod', 'okta', { client_id: 'k', issuer_url: 'https://a', username_prefix: 'x:' })).requiresReplace, [['oidc', 0, 'username_prefix']]);
  t.deepEqual(plan(idpConfig('dev', 'okta', { client_id: 'k', issuer_url: 'https://a' })).requiresReplace, [['cluster_name']]);
  const replaced = plan(idpConfig('dev', 'okta', { client_id: 'k', issuer_url: 'https://a' })).plannedState!;
  t.true(isUnknown(replaced.arn) && isUnknown(replaced.id) && isUnknown(replaced.status));
  const retag = plan({ ...base, tags: { a: 'b' } });
  t.deepEqual(retag.requiresReplace, []);
  t.is(retag.plannedState?.arn, 'arn:x');
  t.deepEqual(retag.plannedState?.tags_all, { a: 'b' });
});

test('import by cluster:name reads the config; a malformed or unknown id is an error', async (t) => {
  const { p } = await setup(t);
  await createCluster(t, p, 'imp');
  const created = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('imp', 'dex'));
  t.deepEqual(created.diagnostics, []);
  const imp = await p.importResourceState({ typeName: 'aws_eks_identity_provider_config', id: 'imp:dex' });
  t.deepEqual(imp.diagnostics, []);
  t.is(imp.state?.id, 'imp:dex');
  t.is((imp.state?.oidc as ObjectValue[])[0].issuer_url, 'https://dex.example.com');
  const bad = await p.importResourceState({ typeName: 'aws_eks_identity_provider_config', id: 'nocolon' });
  t.regex(bad.diagnostics[0].summary, /expected cluster-name:config-name/);
  const missing = await p.importResourceState({ typeName: 'aws_eks_identity_provider_config', id: 'imp:nope' });
  t.regex(missing.diagnostics[0].summary, /not found/);
  const ds = await p.readDataSource({ typeName: 'aws_eks_cluster', address: 'data.aws_eks_cluster.imp', config: { name: 'imp' } });
  t.deepEqual(ds.diagnostics, []);
  t.is(ds.state?.status, 'ACTIVE');
  t.is(ds.state?.version, '1.31');
});

test('two associations on one cluster at once: the second retries the 409 until the first is done', async (t) => {
  const { emu, p } = await setup(t, { updateMs: 150 });
  await createCluster(t, p, 'busy', '1.32');
  const [a, b] = await Promise.all([
    change(p, 'aws_eks_identity_provider_config', null, idpConfig('busy', 'one')),
    change(p, 'aws_eks_identity_provider_config', null, idpConfig('busy', 'two')),
  ]);
  t.deepEqual(a.diagnostics, []);
  t.deepEqual(b.diagnostics, []);
  t.is(a.newState?.status, 'ACTIVE');
  t.is(b.newState?.status, 'ACTIVE');
  const assoc = emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig');
  t.is(assoc.length, 2);
  t.true([...a.progress, ...b.progress].some((m) => /cluster busy/.test(m)), 'one of them saw the cluster busy');
});

test('a Failed association update is an error naming the address, with the update errors', async (t) => {
  const { emu, p } = await setup(t);
  await createCluster(t, p, 'failing');
  emu.setFaults({ failUpdateRate: 1 });
  const r = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('failing', 'okta'));
  t.is(r.diagnostics.length, 1);
  t.is(r.diagnostics[0].address, 'aws_eks_identity_provider_config.test');
  t.regex(r.diagnostics[0].summary, /associating identity provider config failing:okta failed/);
  t.regex(r.diagnostics[0].detail ?? '', /EKS update \S+ Failed: Unknown: Update AssociateIdentityProviderConfig failed .*\(okta\)/);
});

test('a wait past its timeout fails with the last status; an abort stops waiting and keeps what exists', async (t) => {
  const { p } = await setup(t, { updateMs: 5_000 });
  await createCluster(t, p, 'slow');
  const timedOut = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('slow', 'okta'), { timeouts: { create: 100 } });
  t.regex(timedOut.diagnostics[0].summary, /timeout while waiting for association of identity provider config okta to cluster slow \(last status CREATING/);
  t.is(timedOut.newState?.status, 'CREATING', 'partial state records the config being associated');

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const started = Date.now();
  const aborted = await change(p, 'aws_eks_identity_provider_config', timedOut.newState, null, { signal: ac.signal, timeouts: { delete: 60_000 } });
  t.true(Date.now() - started < 3_000, 'stopped waiting promptly');
  t.regex(aborted.diagnostics[0].summary, /interrupted/);
  t.truthy(aborted.newState, 'the config still exists and stays in state');
});

test('resume: a config already CREATING from a crashed apply is waited for, never associated twice', async (t) => {
  const { emu, p } = await setup(t, { updateMs: 200 });
  await createCluster(t, p, 'resume');
  const sdk = new EKSClient({ region: 'us-east-1', endpoint: emu.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  t.teardown(() => sdk.destroy());
  await sdk.send(
    new AssociateIdentityProviderConfigCommand({
      clusterName: 'resume',
      oidc: { identityProviderConfigName: 'okta', issuerUrl: 'https://okta.example.com', clientId: 'kubernetes' },
    }),
  );
  const r = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('resume', 'okta'));
  t.deepEqual(r.diagnostics, []);
  t.is(r.newState?.status, 'ACTIVE');
  t.is(emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig' && u.clusterName === 'resume').length, 1);
  t.true(r.progress.some((m) => /already .* waiting for it/.test(m)));

  // A destroy that crashed after disassociating: the config is DELETING; we wait, never disassociate twice.
  await sdk.send(new DisassociateIdentityProviderConfigCommand({ clusterName: 'resume', identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  const d = await change(p, 'aws_eks_identity_provider_config', r.newState, null);
  t.deepEqual(d.diagnostics, []);
  t.is(d.newState, null);
  t.is(emu.updates().filter((u) => u.type === 'DisassociateIdentityProviderConfig' && u.clusterName === 'resume').length, 1);
});

test('an association and a disassociation are sent without a Describe first; a wait is one Describe per poll', async (t) => {
  const { emu, p } = await setup(t);
  await createCluster(t, p, 'lean', '1.32');
  // More than a second since the connection opened: the association's update is known to be this run's.
  await new Promise((r) => setTimeout(r, 1500));
  emu.resetCalls();
  const created = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('lean', 'okta'));
  t.deepEqual(created.diagnostics, []);
  t.is(created.newState?.status, 'ACTIVE');
  const ops = () => emu.callLog().filter((c) => c.service === 'eks').map((c) => c.operation);
  const assoc = ops();
  t.is(assoc[0], 'AssociateIdentityProviderConfig');
  // The update was made by this run (no earlier run's failure replayed): polls until ACTIVE, nothing else.
  t.deepEqual([...new Set(assoc.slice(1))], ['DescribeIdentityProviderConfig']);

  emu.resetCalls();
  const deleted = await change(p, 'aws_eks_identity_provider_config', created.newState, null);
  t.deepEqual(deleted.diagnostics, []);
  t.is(deleted.newState, null);
  const dis = ops();
  t.is(dis[0], 'DisassociateIdentityProviderConfig');
  t.deepEqual([...new Set(dis.slice(1))], ['DescribeIdentityProviderConfig']);

  // Already gone (removed outside eksidp since the refresh): one refused Disassociate, nothing to wait for.
  emu.resetCalls();
  const again = await change(p, 'aws_eks_identity_provider_config', created.newState, null);
  t.deepEqual(again.diagnostics, []);
  t.is(again.newState, null);
  t.deepEqual(ops(), ['DisassociateIdentityProviderConfig']);
});

test('a token replayed from an earlier run is checked: its failed update is retried with a derived token; one made since is not asked', async (t) => {
  // An earlier run (its own connection) sent the association and it ended Failed. Its update lasts
  // long enough that the earlier run's own check (it may not yet know the update is its own) sees it
  // InProgress; under load it may see it Failed and retry (each retry fails too): counted below.
  const { emu, p } = await setup(t, { updateMs: 300 });
  const cluster = await createCluster(t, p, 'replay', '1.32');
  emu.setFaults({ failUpdateRate: 1 });
  const failed = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('replay', 'okta'), { idempotencyToken: 'tok-replayed' });
  t.regex(failed.diagnostics[0]?.summary ?? '', /associating identity provider config replay:okta failed/);
  emu.setFaults({ failUpdateRate: 0 });
  const earlier = emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig' && u.clusterName === 'replay');
  t.true(earlier.length >= 1 && earlier.length <= 4 && earlier.every((u) => u.status === 'Failed'), JSON.stringify(earlier.map((u) => u.status)));
  // A later run: a new connection, the same plan's token. EKS answers with the failed update (made
  // before this connection opened), so it is asked, and the association is sent again with a new token.
  await new Promise((r) => setTimeout(r, 20));
  const later = createEksProvider({ pollInitialMs: 5, pollMaxMs: 40, maxAttempts: 10 });
  t.teardown(() => later.close?.());
  t.deepEqual((await later.configure({ config: { region: 'us-east-1', access_key: 'test', secret_key: 'test', ...NO_STS, endpoints: [{ eks: emu.url }] }, env: {} })).diagnostics, []);
  // A read first, as a run's refresh does: the server's clock is learned from its Date header.
  t.deepEqual((await later.readResource({ typeName: 'aws_eks_cluster', address: 'aws_eks_cluster.replay', priorState: cluster })).diagnostics, []);
  // Date headers have one-second resolution: an update is known to be this run's from about a second
  // after the connection opened, plus the slowest sample's round trip (one read here: seconds apart
  // keep a loaded machine's slow request from failing the test; a fleet's first association comes later).
  await new Promise((r) => setTimeout(r, 3000));
  emu.resetCalls();
  const r = await change(later, 'aws_eks_identity_provider_config', null, idpConfig('replay', 'okta'), { idempotencyToken: 'tok-replayed' });
  t.deepEqual(r.diagnostics, []);
  t.is(r.newState?.status, 'ACTIVE');
  const ops = emu.callLog().filter((c) => c.service === 'eks').map((c) => c.operation);
  // Each replayed failure (made before this connection opened) is asked, then a derived token sent.
  const replays = earlier.flatMap(() => ['AssociateIdentityProviderConfig', 'DescribeUpdate']);
  t.deepEqual(ops.slice(0, replays.length + 1), [...replays, 'AssociateIdentityProviderConfig']);
  // The last association's update was made by this run: not asked.
  t.deepEqual([...new Set(ops.slice(replays.length + 1))], ['DescribeIdentityProviderConfig']);
  const updates = emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig' && u.clusterName === 'replay');
  t.deepEqual(updates.map((u) => u.status), [...earlier.map(() => 'Failed'), 'Successful']);
});

test('associating over a config of the same name: other settings are an error naming the field, one being removed is waited out', async (t) => {
  const { emu, p } = await setup(t, { updateMs: 100 });
  await createCluster(t, p, 'taken', '1.32');
  const sdk = new EKSClient({ region: 'us-east-1', endpoint: emu.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  t.teardown(() => sdk.destroy());
  await sdk.send(
    new AssociateIdentityProviderConfigCommand({
      clusterName: 'taken',
      oidc: { identityProviderConfigName: 'okta', issuerUrl: 'https://elsewhere.example.com', clientId: 'other' },
    }),
  );
  const clash = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('taken', 'okta'));
  t.is(clash.diagnostics.length, 1);
  t.regex(clash.diagnostics[0].summary, /aws_eks_identity_provider_config\.test: identity provider config okta already exists on cluster taken with other settings/);
  t.deepEqual(clash.diagnostics[0].attribute, ['oidc', 0, 'identity_provider_config_name']);
  t.is(emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig').length, 1, 'nothing associated');

  // Wait for it to be ACTIVE, then start its removal outside eksidp: the association waits it out.
  for (let i = 0; i < 100 && emu.updates().some((u) => u.status === 'InProgress'); i++) await new Promise((r) => setTimeout(r, 20));
  await sdk.send(new DisassociateIdentityProviderConfigCommand({ clusterName: 'taken', identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  const r = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('taken', 'okta'));
  t.deepEqual(r.diagnostics, []);
  t.is(r.newState?.status, 'ACTIVE');
  t.is((r.newState?.oidc as ObjectValue[])[0].client_id, 'kubernetes');
  t.is(emu.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig' && u.status === 'Successful').length, 2);
});

test('a Failed disassociation is said at once with its errors, not polled until the timeout', async (t) => {
  const { emu, p } = await setup(t);
  await createCluster(t, p, 'stuck');
  const created = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('stuck', 'okta'));
  t.deepEqual(created.diagnostics, []);
  emu.setFaults({ failUpdateRate: 1 });
  const r = await change(p, 'aws_eks_identity_provider_config', created.newState, null, { timeouts: { delete: 600_000 } });
  t.is(r.diagnostics.length, 1);
  t.regex(r.diagnostics[0].summary, /disassociating identity provider config stuck:okta failed/);
  t.regex(r.diagnostics[0].detail ?? '', /EKS update \S+ Failed: Unknown: Update DisassociateIdentityProviderConfig failed/);
  t.is(r.newState?.status, 'ACTIVE', 'the config stays in state');
});

test('throttling and server errors are retried by the client', async (t) => {
  const { emu, p } = await setup(t);
  emu.setFaults({ throttleRate: 0.2, errorRate: 0.1, seed: 7 });
  const cluster = await change(p, 'aws_eks_cluster', null, clusterConfig('flaky'));
  t.deepEqual(cluster.diagnostics, []);
  const r = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('flaky', 'okta'));
  t.deepEqual(r.diagnostics, []);
  t.is(r.newState?.status, 'ACTIVE');
  const calls = emu.calls();
  t.true(Object.values(calls).reduce((a, b) => a + b, 0) > 0);
});

test('the idempotency token reaches EKS as clientRequestToken, shortened deterministically when too long', async (t) => {
  const { emu, p } = await setup(t);
  await createCluster(t, p, 'tok');
  const long = 'x'.repeat(100);
  const r = await change(p, 'aws_eks_identity_provider_config', null, idpConfig('tok', 'okta'), { idempotencyToken: long });
  t.deepEqual(r.diagnostics, []);
  const u = emu.updates().find((x) => x.type === 'AssociateIdentityProviderConfig' && x.clusterName === 'tok');
  t.is(u?.clientRequestToken, requestToken(long));
  t.is(requestToken(long).length, 64);
  t.is(requestToken(long), requestToken(long));
  t.is(requestToken('short-token_1'), 'short-token_1');
});

test('configure: endpoints as an object or from AWS_ENDPOINT_URL_EKS; missing region is an error', async (t) => {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 10 });
  t.teardown(() => emu.close());
  for (const [config, env] of [
    [{ region: 'us-east-1', access_key: 'a', secret_key: 'b', endpoints: { eks: emu.url }, ...NO_STS }, {}],
    [{ region: 'us-east-1', access_key: 'a', secret_key: 'b', ...NO_STS }, { AWS_ENDPOINT_URL_EKS: emu.url }],
  ] as [ObjectValue, NodeJS.ProcessEnv][]) {
    const p = createEksProvider({ pollInitialMs: 5, pollMaxMs: 20 });
    t.teardown(() => p.close?.());
    t.deepEqual((await p.configure({ config, env })).diagnostics, []);
    const ds = await p.readDataSource({ typeName: 'aws_eks_cluster', address: 'data.aws_eks_cluster.none', config: { name: 'none' } });
    t.regex(ds.diagnostics[0]?.summary ?? '', /EKS cluster "none" not found/, 'the call reached the emulator');
  }
  const p = createEksProvider();
  const r = await p.configure({ config: {}, env: {} });
  t.regex(r.diagnostics[0]?.summary ?? '', /No AWS region/);
});

test('cluster: version, logging and endpoint access update in place, each waited for; name replaces', async (t) => {
  const { emu, p } = await setup(t);
  const prior = await createCluster(t, p, 'upd');
  const cfg = clusterConfig('upd', {
    version: '1.32',
    enabled_cluster_log_types: ['audit', 'api'],
    vpc_config: [{ subnet_ids: ['subnet-a', 'subnet-b'], endpoint_private_access: true }],
    tags: { team: 'x' },
  });
  const r = await change(p, 'aws_eks_cluster', prior, cfg);
  t.deepEqual(r.plan.requiresReplace, []);
  t.deepEqual(r.diagnostics, []);
  t.is(r.newState?.version, '1.32');
  t.deepEqual(r.newState?.enabled_cluster_log_types, ['api', 'audit']);
  t.is((r.newState?.vpc_config as ObjectValue[])[0].endpoint_private_access, true);
  t.deepEqual(r.newState?.tags_all, { team: 'x' });
  const types = emu.updates().filter((u) => u.clusterName === 'upd').map((u) => u.type);
  t.true(types.includes('VersionUpdate'));
  t.true(emu.updates().every((u) => u.clusterName !== 'upd' || u.status === 'Successful'));
  const noop = p.planResourceChange({ typeName: 'aws_eks_cluster', address: 'a', priorState: r.newState, proposedNewState: cfg, config: cfg });
  t.deepEqual(noop.plannedState, r.newState, 'no diff after the update');
  const rename = p.planResourceChange({ typeName: 'aws_eks_cluster', address: 'a', priorState: r.newState, proposedNewState: { ...cfg, name: 'upd2' }, config: { ...cfg, name: 'upd2' } });
  t.deepEqual(rename.requiresReplace, [['name']]);
});

test('the concurrency key of a config is its cluster\'s', (t) => {
  const p = createEksProvider();
  const before: ObjectValue = { cluster_name: 'prod', oidc: [{ identity_provider_config_name: 'okta' }] };
  t.is(p.concurrencyKey?.('aws_eks_identity_provider_config', before), p.concurrencyKey?.('aws_eks_cluster', { name: 'prod' }));
});

test('poll delays: short against a loopback endpoint, Terraform-like against AWS, overridable by env', (t) => {
  t.true(isLoopback('http://127.0.0.1:4599'));
  t.true(isLoopback('http://localhost:1'));
  t.false(isLoopback('https://eks.us-east-1.amazonaws.com'));
  t.false(isLoopback(undefined));
  const tuned = tuningFromEnv({ EKSIDP_POLL_INITIAL_MS: '10', EKSIDP_POLL_MAX_MS: '100' }, DEFAULT_TUNING);
  t.is(tuned.pollInitialMs, 10);
  t.is(tuned.pollMaxMs, 100);
  t.is(tuningFromEnv({ EKSIDP_POLL_INITIAL_MS: 'soon' }, DEFAULT_TUNING).pollInitialMs, DEFAULT_TUNING.pollInitialMs, 'a malformed value keeps the default');
  t.true(LOOPBACK_TUNING.pollInitialMs < DEFAULT_TUNING.pollInitialMs);
});

test('cluster: an update started while another update runs waits out the 409; a Failed update names its errors', async (t) => {
  const { emu, p } = await setup(t, { updateMs: 200 });
  const prior = await createCluster(t, p, 'queue', '1.32');
  const sdk = new EKSClient({ region: 'us-east-1', endpoint: emu.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  t.teardown(() => sdk.destroy());
  // The association outlasts the time the cluster update takes to be sent, however loaded the
  // machine (with 200 ms it sometimes ended first: no 409 to wait out); the cluster's own update is quick.
  emu.setFaults({ updateMs: 1_500 });
  await sdk.send(new AssociateIdentityProviderConfigCommand({ clusterName: 'queue', oidc: { identityProviderConfigName: 'x', issuerUrl: 'https://x.example.com', clientId: 'k' } }));
  emu.setFaults({ updateMs: 200 });
  const r = await change(p, 'aws_eks_cluster', prior, clusterConfig('queue', { version: '1.33' }));
  t.deepEqual(r.diagnostics, []);
  t.is(r.newState?.version, '1.33');
  t.true(r.progress.some((m) => /cluster busy/.test(m)));

  emu.setFaults({ failUpdateRate: 1 });
  const failed = await change(p, 'aws_eks_cluster', r.newState, clusterConfig('queue', { version: '1.33', enabled_cluster_log_types: ['api'] }));
  t.is(failed.diagnostics.length, 1);
  t.is(failed.diagnostics[0].address, 'aws_eks_cluster.test');
  t.regex(failed.diagnostics[0].summary, /^updating cluster queue failed/, 'the address is the diagnostic\'s, not repeated in its summary');
  t.regex(failed.diagnostics[0].detail ?? '', /Failed: Unknown: /);
  t.truthy(failed.newState, 'the cluster stays in state');
});
