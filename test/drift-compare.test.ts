import test from 'ava';
import type { Cluster, OidcIdentityProviderConfig } from '@aws-sdk/client-eks';
import { applyIgnores, compare, declare, exitCode, Judgement, stateOnly, type DriftReport, type ResourceDrift } from '../drift';
import { parseConfig } from '../engine/config';
import type { LiveResourceRequest } from '../engine/protocol';
import { emptyState, type StateV4 } from '../engine/state';
import { openWorkspace, closeWorkspace, type Workspace } from '../engine/workspace';
import { snapshot, type ClusterRead } from '../providers/eks/live';
import { providerFactory } from '../providers/registry';
import { clusterState } from '../providers/eks/cluster';
import { NO_TAG_CONFIG } from '../providers/eks/settings';
import { idpState } from '../providers/eks/idp';
import { providerBlock } from './fixtures/drift/fleet';
import { renderHuman, renderMarkdown, unifiedDiff } from '../drift/render';

/**
 * The pure judgement (drift/compare.ts) on canned reads: the EKS provider's snapshot over
 * DescribeCluster / DescribeIdentityProviderConfig answers, planned with the provider's own plan
 * logic. No network: the workspace's provider is configured but never called.
 */

const ROLE = 'arn:aws:iam::000000000000:role/eks';
const OIDC = { identity_provider_config_name: 'okta', issuer_url: 'https://idp.example.com', client_id: 'k', username_claim: 'email' };

type Json = Record<string, unknown>;

function stack(resources: { clusters?: Record<string, Json>; configs?: Record<string, Json>; data?: Record<string, Json> }): Json {
  return {
    provider: { aws: [providerBlock('http://127.0.0.1:9')] },
    ...(resources.data ? { data: { aws_eks_cluster: resources.data } } : {}),
    resource: { ...(resources.clusters ? { aws_eks_cluster: resources.clusters } : {}), ...(resources.configs ? { aws_eks_identity_provider_config: resources.configs } : {}) },
  };
}

const cluster = (over: Json = {}): Json => ({ name: 'a', role_arn: ROLE, version: '1.32', vpc_config: [{ subnet_ids: ['subnet-1'] }], ...over });
const config = (over: Json = {}): Json => ({ cluster_name: '${aws_eks_cluster.a.name}', oidc: [{ ...OIDC }], tags: { env: 'test' }, ...over });

function liveCluster(over: Partial<Cluster> = {}): Cluster {
  return {
    name: 'a', arn: 'arn:aws:eks:us-east-1:000000000000:cluster/a', roleArn: ROLE, version: '1.32', status: 'ACTIVE', createdAt: new Date(0),
    resourcesVpcConfig: { subnetIds: ['subnet-1'], securityGroupIds: [], endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'], vpcId: 'vpc-1' },
    ...over,
  };
}

function liveConfig(over: Partial<OidcIdentityProviderConfig> = {}): OidcIdentityProviderConfig {
  return {
    clusterName: 'a', identityProviderConfigName: 'okta', identityProviderConfigArn: 'arn:aws:eks:us-east-1:000000000000:identityproviderconfig/a/oidc/okta/1',
    issuerUrl: 'https://idp.example.com', clientId: 'k', usernameClaim: 'email', status: 'ACTIVE', tags: { env: 'test' }, ...over,
  };
}

const found = (c: Cluster, configs: OidcIdentityProviderConfig[] = [liveConfig()]): ClusterRead => ({ name: c.name!, kind: 'found', cluster: c, configs: configs.map((x) => ({ name: x.identityProviderConfigName!, config: x })) });

async function workspace(json: Json, state: StateV4 | null = null): Promise<Workspace> {
  const config = parseConfig(json, { name: 's', dir: '/nonexistent', file: '/nonexistent/cdk.tf.json' });
  return openWorkspace(config, providerFactory, { env: {}, state });
}

async function judge(json: Json, reads: ClusterRead[], state: StateV4 | null = null): Promise<DriftReport> {
  const ws = await workspace(json, state);
  try {
    const declared = declare(ws, state);
    const requests: LiveResourceRequest[] = [...declared.values()].map((d) => d.request);
    const snap = snapshot(new Map(reads.map((r) => [r.name, r])), ws.schemas.get('aws')!.dataSources.aws_eks_cluster!.block, requests);
    return compare({ ws, stack: 's', declared, snapshots: new Map([['aws', snap]]), stateOnly: stateOnly(ws, state) });
  } finally {
    await closeWorkspace(ws);
  }
}

const byAddress = (r: DriftReport, a: string): ResourceDrift => r.resources.find((x) => x.address === a)!;
const C = 'aws_eks_cluster.a';
const I = 'aws_eks_identity_provider_config.a';

test('a live fleet as declared is in sync: null, "" and empty collections are alike, and no state file is needed', async (t) => {
  const r = await judge(stack({ clusters: { a: cluster() }, configs: { a: config({ oidc: [{ ...OIDC, required_claims: {} }] }) } }), [
    found(liveCluster({ tags: {} }), [liveConfig({ requiredClaims: {}, groupsPrefix: undefined })]),
  ]);
  t.deepEqual(r.resources.map((x) => [x.address, x.status, x.live_status]), [[C, 'in_sync', 'ACTIVE'], [I, 'in_sync', 'ACTIVE']]);
  t.is(exitCode(r), 0);
});

test('issue 20: a cluster role_arn edited in the stack is changed and requires replacement (the plan replaces it), never in sync', async (t) => {
  const r = await judge(stack({ clusters: { a: cluster({ role_arn: 'arn:aws:iam::000000000000:role/other' }) }, configs: { a: config() } }), [found(liveCluster())]);
  const c = byAddress(r, C);
  t.is(c.status, 'changed');
  t.deepEqual(c.differences, [{ path: 'role_arn', expected: 'arn:aws:iam::000000000000:role/other', actual: ROLE, requires_replacement: true }]);
  t.regex(c.fix!, /^replace: /);
  t.is(exitCode(r), 2);
});

test('issue 20: a cluster that declares no tags but has tags live is changed: the plan removes them (tags.K expected null)', async (t) => {
  const r = await judge(stack({ clusters: { a: cluster() }, configs: { a: config() } }), [found(liveCluster({ tags: { owner: 'someone' } }))]);
  const c = byAddress(r, C);
  t.is(c.status, 'changed');
  t.deepEqual(c.differences, [{ path: 'tags.owner', expected: null, actual: 'someone', requires_replacement: false }]);
  t.regex(c.fix!, /^update in place: eksidp apply sets tags\.owner/);
});

test('every cluster argument the stack sets is compared: subnets (a list, as JSON text) and version', async (t) => {
  const r = await judge(stack({ clusters: { a: cluster({ version: '1.33', vpc_config: [{ subnet_ids: ['subnet-2', 'subnet-1'] }] }) }, configs: { a: config() } }), [found(liveCluster())]);
  const c = byAddress(r, C);
  t.deepEqual(c.differences.map((d) => [d.path, d.actual, d.expected, d.requires_replacement]), [
    ['version', '1.32', '1.33', false],
    ['vpc_config.subnet_ids', '["subnet-1"]', '["subnet-1","subnet-2"]', false],
  ]);
});

test('a read error is unknown (exit 1), never missing; a config listed then gone is missing', async (t) => {
  const json = stack({ clusters: { a: cluster() }, configs: { a: config() } });
  const err = await judge(json, [{ name: 'a', kind: 'found', cluster: liveCluster(), configs: { error: 'ListIdentityProviderConfigs a: ServerException' } }]);
  t.is(byAddress(err, I).status, 'unknown');
  t.is(byAddress(err, I).error, 'ListIdentityProviderConfigs a: ServerException');
  t.is(exitCode(err), 1);
  const gone = await judge(json, [{ name: 'a', kind: 'found', cluster: liveCluster(), configs: [{ name: 'okta', gone: true }] }]);
  t.is(byAddress(gone, I).status, 'missing');
  t.regex(byAddress(gone, I).fix!, /^re-create/);
  t.is(exitCode(gone), 2);
});

test('issue 12: a DELETING config is missing with live_status DELETING, a CREATING one that matches is in sync with live_status CREATING', async (t) => {
  const json = stack({ clusters: { a: cluster() }, configs: { a: config(), b: config({ oidc: [{ ...OIDC, identity_provider_config_name: 'corp', issuer_url: 'https://corp.example.com' }] }) } });
  const r = await judge(json, [found(liveCluster(), [liveConfig({ status: 'DELETING' }), liveConfig({ identityProviderConfigName: 'corp', issuerUrl: 'https://corp.example.com', status: 'CREATING' })])]);
  const deleting = byAddress(r, I);
  t.is(deleting.status, 'missing');
  t.is(deleting.live_status, 'DELETING');
  t.regex(deleting.fix!, /being removed outside eksidp \(status DELETING\)/);
  const creating = byAddress(r, 'aws_eks_identity_provider_config.b');
  t.is(creating.status, 'in_sync');
  t.is(creating.live_status, 'CREATING');
  t.is(exitCode(r), 2);
  // The plan leaves a DELETING config alone, so live and planned are the same: no diff headers over
  // nothing, in the terminal or in the pull request.
  t.deepEqual(deleting.live, deleting.planned);
  t.is(unifiedDiff(deleting), '');
  const human = renderHuman(r, { color: false });
  t.regex(human, /\+ aws_eks_identity_provider_config\.a: missing \(live status DELETING\)/);
  t.false(human.includes('--- live'), human);
  t.false(renderMarkdown(r).includes('```diff'));
});

for (const status of ['DELETING', 'FAILED'] as const) {
  test(`issue 12: a ${status} cluster makes its configs missing with the cluster's status`, async (t) => {
    const r = await judge(stack({ clusters: { a: cluster() }, configs: { a: config() } }), [found(liveCluster({ status }))]);
    for (const a of [C, I]) {
      t.is(byAddress(r, a).status, 'missing', a);
      t.is(byAddress(r, a).live_status, status, a);
      t.regex(byAddress(r, a).fix!, new RegExp(`cluster a is (being deleted|${status})`));
    }
    t.is(exitCode(r), 2);
  });
}

test('arguments EKS does not return are taken as configured without a state file, and from state with one (as the plan does)', async (t) => {
  const json = stack({ clusters: { a: cluster({ bootstrap_self_managed_addons: false }) } });
  const noState = await judge(json, [found(liveCluster(), [])]);
  t.is(byAddress(noState, C).status, 'in_sync', 'not readable, so never drift');
  const state = emptyState();
  state.resources.push({
    mode: 'managed', type: 'aws_eks_cluster', name: 'a', provider: 'provider["registry.terraform.io/hashicorp/aws"]',
    instances: [{ schema_version: 1, attributes: { ...clusterState(liveCluster(), null, NO_TAG_CONFIG, 'refresh'), bootstrap_self_managed_addons: true }, sensitive_attributes: [] }],
  });
  const withState = await judge(json, [found(liveCluster(), [])], state);
  const c = byAddress(withState, C);
  t.is(c.status, 'changed');
  t.deepEqual(c.differences, [{ path: 'bootstrap_self_managed_addons', expected: 'false', actual: 'true', requires_replacement: true }]);
});

test('a config renamed in the stack with state: the plan reads it by its state id and replaces it; without state it is missing and the old one unmanaged', async (t) => {
  const json = stack({ clusters: { a: cluster() }, configs: { a: config({ oidc: [{ ...OIDC, identity_provider_config_name: 'okta2' }] }) } });
  const noState = await judge(json, [found(liveCluster())]);
  t.is(byAddress(noState, I).status, 'missing');
  t.deepEqual(noState.resources.filter((x) => x.status === 'unmanaged').map((x) => x.name), ['okta']);
  const state = emptyState();
  state.resources.push({
    mode: 'managed', type: 'aws_eks_identity_provider_config', name: 'a', provider: 'provider["registry.terraform.io/hashicorp/aws"]',
    instances: [{ schema_version: 0, attributes: idpState(liveConfig(), null, NO_TAG_CONFIG, 'refresh'), sensitive_attributes: [] }],
  });
  const withState = await judge(json, [found(liveCluster())], state);
  const i = byAddress(withState, I);
  t.is(i.status, 'changed');
  t.deepEqual(i.differences.map((d) => [d.path, d.actual, d.expected, d.requires_replacement]), [['oidc.identity_provider_config_name', 'okta', 'okta2', true]]);
  t.is(withState.summary.unmanaged, 0, 'the live config is the one the state names');
});

test('a config in state but gone from the stack is unmanaged, and the fix says the plan destroys it', async (t) => {
  const state = emptyState();
  state.resources.push({
    mode: 'managed', type: 'aws_eks_identity_provider_config', name: 'old', provider: 'provider["registry.terraform.io/hashicorp/aws"]',
    instances: [{ schema_version: 0, attributes: idpState(liveConfig(), null, NO_TAG_CONFIG, 'refresh'), sensitive_attributes: [] }],
  });
  const r = await judge(stack({ clusters: { a: cluster() } }), [found(liveCluster())], state);
  const u = r.resources.find((x) => x.status === 'unmanaged')!;
  t.is(u.address, null);
  t.regex(u.fix!, /^delete: aws_eks_identity_provider_config\.old is in state but no longer in the stack/);
});

test('configs on an adopted cluster (data source) that does not exist are missing, with why nothing can be done yet', async (t) => {
  const r = await judge(stack({ data: { a: { name: 'a' } }, configs: { a: config({ cluster_name: '${data.aws_eks_cluster.a.name}' }) } }), [{ name: 'a', kind: 'not_found' }]);
  t.deepEqual(r.resources.map((x) => [x.address, x.status]), [[I, 'missing']]);
  t.regex(r.resources[0]!.fix!, /none possible yet: cluster a does not exist/);
});

test('version drift is an in-place update; ignore rules still apply and are reported', async (t) => {
  const r = await judge(stack({ clusters: { a: cluster() }, configs: { a: config() } }), [found(liveCluster({ version: '1.31' }))]);
  const c = byAddress(r, C);
  t.deepEqual(c.differences, [{ path: 'version', expected: '1.32', actual: '1.31', requires_replacement: false }]);
  const ignored = applyIgnores(r, [{ address: 'aws_eks_cluster.*', path: 'version', reason: 'upgrade window' }]);
  t.is(byAddress(ignored, C).status, 'ignored');
  t.is(byAddress(ignored, C).reason, 'upgrade window');
  t.is(exitCode(ignored), 0);
  t.is(r.summary.changed, 1, 'the input report is not modified');
});

test('judged while reads come in (any order) or all at the end: the same report', async (t) => {
  const json = stack({
    clusters: { a: cluster(), b: cluster({ name: 'b', tags: { team: 'x' } }) },
    configs: { a: config(), b: config({ cluster_name: '${aws_eks_cluster.b.id}' }) },
  });
  const reads = [found(liveCluster()), found(liveCluster({ name: 'b', arn: 'arn:b', tags: { team: 'y' } }), [liveConfig({ clusterName: 'b', issuerUrl: 'https://other.example.com' })])];
  const ws = await workspace(json);
  t.teardown(() => closeWorkspace(ws));
  const declared = declare(ws, null);
  const requests = [...declared.values()].map((d) => d.request);
  const block = ws.schemas.get('aws')!.dataSources.aws_eks_cluster!.block;
  const batch = compare({ ws, stack: 's', declared, snapshots: new Map([['aws', snapshot(new Map(reads.map((r) => [r.name, r])), block, requests)]]) });
  for (const order of [[0, 1], [1, 0]]) {
    const partial = new Map<string, ClusterRead>();
    const snap = snapshot(partial, block, requests);
    const j = new Judgement({ ws, stack: 's', declared });
    for (const i of order) {
      partial.set(reads[i]!.name, reads[i]!);
      j.groupRead('aws', reads[i]!.name, snap);
    }
    t.deepEqual(j.finish(new Map([['aws', snap]])), batch, `order ${order.join(',')}`);
  }
  t.deepEqual(batch.resources.map((x) => [x.address, x.status]), [
    [C, 'in_sync'], [I, 'in_sync'], ['aws_eks_cluster.b', 'changed'], ['aws_eks_identity_provider_config.b', 'changed'],
  ]);
  t.true(byAddress(batch, 'aws_eks_identity_provider_config.b').differences.every((d) => d.requires_replacement), 'the config reached through .id is read and planned');
});


test('count and for_each: each instance is judged at its instance address, for_each over another resource included', async (t) => {
  const json = stack({
    clusters: { a: cluster({ for_each: { a: '1.32', b: '1.31' }, name: '${each.key}', version: '${each.value}' }) },
    configs: { a: config({ for_each: '${aws_eks_cluster.a}', cluster_name: '${each.value.name}' }) },
  });
  const r = await judge(json, [
    found(liveCluster()),
    found(liveCluster({ name: 'b', arn: 'arn:aws:eks:us-east-1:000000000000:cluster/b', version: '1.31' }), [liveConfig({ clusterName: 'b', tags: { env: 'prod' } })]),
  ]);
  t.deepEqual(r.resources.map((x) => [x.address, x.status]), [
    ['aws_eks_cluster.a["a"]', 'in_sync'], ['aws_eks_identity_provider_config.a["a"]', 'in_sync'],
    ['aws_eks_cluster.a["b"]', 'in_sync'], ['aws_eks_identity_provider_config.a["b"]', 'changed'],
  ]);
  t.deepEqual(byAddress(r, 'aws_eks_identity_provider_config.a["b"]').differences.map((d) => d.path), ['tags.env']);
  const counted = await judge(stack({ clusters: { a: cluster({ count: 2, name: 'c${count.index}' }) } }), [found(liveCluster({ name: 'c0' }), []), { name: 'c1', kind: 'not_found' }]);
  t.deepEqual(counted.resources.map((x) => [x.address, x.status]), [['aws_eks_cluster.a[0]', 'in_sync'], ['aws_eks_cluster.a[1]', 'missing']]);
});

test('sensitive values never reach a drift report: a drifted sensitive attribute says only that it differs; documents are masked and no identity preview is made', async (t) => {
  const json = stack({ clusters: { a: cluster({ tags: { team: '${var.team}' } }) }, configs: { a: config({ oidc: [{ ...OIDC, client_id: '${var.client}' }] }) } });
  json.variable = { client: { type: 'string', default: 'secret-client', sensitive: true }, team: { type: 'string', default: 'secret-team', sensitive: true } };
  const r = await judge(json, [found(liveCluster({ tags: { team: 'live-team' } }), [liveConfig({ clientId: 'live-client' })])]);
  const c = byAddress(r, C);
  t.deepEqual(c.differences, [{ path: 'tags.team', expected: '(sensitive value)', actual: '(sensitive value)', requires_replacement: false }]);
  const i = byAddress(r, I);
  t.is(i.status, 'changed');
  t.deepEqual(i.differences.filter((d) => d.path === 'oidc.client_id').map((d) => [d.expected, d.actual, d.requires_replacement]), [['(sensitive value)', '(sensitive value)', true]]);
  t.is(i.identities, undefined);
  const text = JSON.stringify(r);
  for (const secret of ['secret-client', 'live-client', 'secret-team', 'live-team']) t.false(text.includes(secret), `${secret} in ${text}`);
});

test('for_each over a data source\'s instances: each.value holds what was read (each.value.version), not only the data source\'s configuration', async (t) => {
  // Shrunk from the differential fuzz (bench/fuzz.ts, scenario seeds 20001003 and 20001004): each.value
  // had been fixed when declared, before the read, so each.value.version was null and the tag drifted.
  const json = stack({
    data: { a: { for_each: '${toset(["a"])}', name: '${each.key}' } },
    configs: { a: config({ for_each: '${data.aws_eks_cluster.a}', cluster_name: '${each.value.name}', tags: { version: '${each.value.version}' } }) },
  });
  const r = await judge(json, [found(liveCluster(), [liveConfig({ tags: { version: '1.32' } })])]);
  t.deepEqual(r.resources.map((x) => [x.address, x.status, x.differences.map((d) => d.path)]), [['aws_eks_identity_provider_config.a["a"]', 'in_sync', []]]);
});
