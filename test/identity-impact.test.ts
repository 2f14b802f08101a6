import test from 'ava';
import type { Plan, ResourceChange } from '../engine/plan';
import type { ObjectValue, Value } from '../engine/protocol';
import { UNKNOWN } from '../engine/protocol';
import type { StateV4 } from '../engine/state';
import { configImpact, identityImpact, outageText, plannedResources } from '../identity/impact';

/**
 * The identity impact is derived from a finished plan (planned values, `//` metadata, the plan's
 * analysis options), never stored in it: these build plans by hand and read the model.
 */

const CONFIG = 'aws_eks_identity_provider_config';
const oidc = (name: string, prefix: string) => [{ identity_provider_config_name: name, issuer_url: `https://${name}.example.com`, client_id: 'k8s', username_claim: 'sub', username_prefix: prefix, groups_claim: 'groups', groups_prefix: prefix }];
const config = (name: string, prefix: string): ObjectValue => ({ cluster_name: 'prod', id: `prod:${name}`, oidc: oidc(name, prefix) });
const dana = [{ name: 'dana', claims: { sub: 'dana', groups: ['eng'] } }];
const bindings = { eksidp: { rbac_bindings: [{ role: 'edit', kind: 'ClusterRole', groups: ['a:eng', 'b:eng'] }] } };

function change(address: string, actions: ResourceChange['actions'], before: ObjectValue | null, after: ObjectValue | null, type = CONFIG): ResourceChange {
  const name = address.split('.').pop()!;
  return { address, mode: 'managed', type, name, provider: 'aws', providerAddress: 'provider["registry.terraform.io/hashicorp/aws"]', actions, before, after, replacePaths: [], dependencies: [], priorDependencies: [], schemaVersion: 0 };
}

function state(resources: { mode: 'managed' | 'data'; type: string; name: string; attributes: ObjectValue }[]): StateV4 {
  return {
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'l', outputs: {}, check_results: null,
    resources: resources.map((r) => ({ mode: r.mode, type: r.type, name: r.name, provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: 0, attributes: r.attributes, sensitive_attributes: [] }] })),
  };
}

function planOf(changes: ResourceChange[], prior: StateV4, extra: { prev?: StateV4; metadata?: Record<string, Value>; analysisOptions?: Record<string, Value>; targets?: string[] } = {}): Plan {
  return {
    stackName: 's', configHash: 'h', statePath: '/x', prior: { lineage: 'l', serial: 1 }, prevRunState: extra.prev ?? prior, priorState: prior, changes, outputChanges: [], destroy: false,
    targets: extra.targets ?? [], createdAt: '2026-01-01T00:00:00.000Z', warnings: [], metadata: extra.metadata ?? {}, analysisOptions: extra.analysisOptions ?? {},
  };
}

test('logins stop while a config is re-associated or once it is removed; an in-place update (tags) and other types have no impact', (t) => {
  const before = config('okta', 'oidc:');
  const replaced = configImpact({ address: `${CONFIG}.okta`, type: CONFIG, actions: ['delete', 'create'], before, after: before });
  t.deepEqual(replaced?.outage, { kind: 'reassociation', cluster: 'prod', config: 'okta' });
  t.is(outageText(replaced!.outage!), 'OIDC logins to cluster prod fail while config okta is re-associated (EKS takes 20–40 min).');
  const removed = configImpact({ address: `${CONFIG}.okta`, type: CONFIG, actions: ['delete'], before, after: null });
  t.is(outageText(removed!.outage!), 'OIDC logins to cluster prod through config okta stop working once it is disassociated.');
  t.is(configImpact({ address: `${CONFIG}.okta`, type: CONFIG, actions: ['create'], before: null, after: before })?.outage, null);
  t.is(configImpact({ address: `${CONFIG}.okta`, type: CONFIG, actions: ['update'], before, after: before }), undefined);
  t.is(configImpact({ address: 'aws_eks_cluster.prod', type: 'aws_eks_cluster', actions: ['delete', 'create'], before: { name: 'prod' }, after: { name: 'prod' } }), undefined);
});

test('a side known only after apply, or bad sample identities, make the preview unavailable, naming why', (t) => {
  const after = { ...config('okta', 'oidc:'), oidc: [{ ...oidc('okta', 'oidc:')[0]!, issuer_url: UNKNOWN }] };
  const i = configImpact({ address: `${CONFIG}.okta`, type: CONFIG, actions: ['create'], before: null, after, metadata: { eksidp: { sample_identities: dana } } });
  t.deepEqual(i?.unavailable, ['after: oidc.issuer_url is known only after apply']);
  t.deepEqual(i?.identities, []);
  const bad = configImpact({ address: `${CONFIG}.okta`, type: CONFIG, actions: ['create'], before: null, after: config('okta', 'oidc:') }, { sampleIdentities: [{ claims: {} }] });
  t.deepEqual(bad?.unavailable, ['sample identities: --identities[0] needs a non-empty string "name"']);
});

test('from a plan: the plan\'s metadata and --identities feed the model; a config outside --target counts as it stands (refreshed state)', (t) => {
  const a = config('a', 'a:');
  const b = config('b', 'b:');
  const cluster = { name: 'prod', id: 'prod' };
  const prior = state([
    { mode: 'managed', type: 'aws_eks_cluster', name: 'prod', attributes: cluster },
    { mode: 'managed', type: CONFIG, name: 'a', attributes: a },
    { mode: 'managed', type: CONFIG, name: 'b', attributes: b },
  ]);
  // `plan --target` config a (removed from the configuration): b is not in the plan's changes.
  const p = planOf([change(`${CONFIG}.a`, ['delete'], a, null)], prior, {
    targets: [`${CONFIG}.a`], metadata: { 'aws_eks_cluster.prod': bindings }, analysisOptions: { sample_identities: dana },
  });
  t.deepEqual(plannedResources(p).map((r) => [r.address, r.values === null ? 'deleted' : 'kept']), [
    [`${CONFIG}.a`, 'deleted'], ['aws_eks_cluster.prod', 'kept'], [`${CONFIG}.b`, 'kept'],
  ]);
  const [impact] = identityImpact(p);
  t.is(impact?.address, `${CONFIG}.a`);
  t.like(impact?.identities[0], { name: 'dana', rejected: true });
  t.is(impact?.cluster, 'prod');
  // a:eng matches nobody once a is gone; dana keeps the role through b (b:eng), which the targeted
  // plan leaves in place: without b in the model she would lose it (as in the next test).
  t.deepEqual(impact?.bindings.map((f) => [f.code, f.subject ?? f.identity]), [['old-group-prefix', 'a:eng']]);
});

test('a destroy plan no longer reads its data sources: an adopted cluster\'s bindings come from the last read', (t) => {
  const a = config('a', 'a:');
  const prev = state([{ mode: 'data', type: 'aws_eks_cluster', name: 'prod', attributes: { name: 'prod', id: 'prod' } }, { mode: 'managed', type: CONFIG, name: 'a', attributes: a }]);
  const prior = state([{ mode: 'managed', type: CONFIG, name: 'a', attributes: a }]);
  const p = planOf([change(`${CONFIG}.a`, ['delete'], a, null)], prior, { prev, metadata: { 'data.aws_eks_cluster.prod': bindings, [`${CONFIG}.a`]: { eksidp: { sample_identities: dana } } } });
  const [impact] = identityImpact(p);
  t.deepEqual(impact?.bindings.map((f) => [f.code, f.subject ?? f.identity]), [['old-group-prefix', 'a:eng'], ['identity-loses-role', 'dana']]);
});
