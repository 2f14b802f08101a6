import test from 'ava';
import { applyIgnores, compare, exitCode, type Desired, type LiveCluster } from '../drift';

const desired: Desired = {
  stack: 's',
  clusters: [{ address: 'aws_eks_cluster.a', managed: true, name: 'a', version: '1.32' }],
  configs: [{ address: 'aws_eks_identity_provider_config.a', cluster: 'a', name: 'okta', oidc: { issuerUrl: 'https://i', clientId: 'k', usernamePrefix: '' }, tags: {}, sampleIdentities: [] }],
  errors: [],
};

function live(config: Record<string, unknown>): LiveCluster {
  return { name: 'a', kind: 'found', version: '1.32', status: 'ACTIVE', tags: { extra: 'x' }, configs: [{ name: 'okta', config: { clusterName: 'a', identityProviderConfigName: 'okta', ...config } }] };
}

test('absent, null, "" and empty maps are equal: no false drift; undeclared cluster tags are not compared', (t) => {
  const r = compare(desired, [live({ issuerUrl: 'https://i', clientId: 'k', requiredClaims: {}, tags: {}, usernamePrefix: undefined, groupsClaim: '' })]);
  t.deepEqual(r.resources.map((x) => x.status), ['in_sync', 'in_sync']);
  t.is(exitCode(r), 0);
});

test('a read error is unknown (exit 1), never missing; a config listed then gone is missing', (t) => {
  const err = compare(desired, [{ name: 'a', kind: 'found', version: '1.32', status: 'ACTIVE', tags: {}, configs: { error: 'ListIdentityProviderConfigs a: ServerException' } }]);
  t.is(err.resources.find((x) => x.type === 'aws_eks_identity_provider_config')!.status, 'unknown');
  t.is(exitCode(err), 1);
  const gone = compare(desired, [{ name: 'a', kind: 'found', version: '1.32', status: 'ACTIVE', tags: {}, configs: [{ name: 'okta', gone: true }] }]);
  t.is(gone.resources.find((x) => x.type === 'aws_eks_identity_provider_config')!.status, 'missing');
  t.is(exitCode(gone), 2);
});

test('cluster version drift is in place; an ignore rule on the whole address reports it as ignored with the reason', (t) => {
  const r = compare(desired, [{ ...live({ issuerUrl: 'https://i', clientId: 'k' }), version: '1.31' } as LiveCluster]);
  const c = r.resources.find((x) => x.type === 'aws_eks_cluster')!;
  t.deepEqual(c.differences, [{ path: 'version', expected: '1.32', actual: '1.31', requires_replacement: false }]);
  t.regex(c.fix!, /upgrades Kubernetes to 1\.32/);
  const ignored = applyIgnores(r, [{ address: 'aws_eks_cluster.*', reason: 'upgrade window' }]);
  t.is(ignored.resources.find((x) => x.type === 'aws_eks_cluster')!.status, 'ignored');
  t.is(ignored.summary.ignored, 1);
  t.is(exitCode(ignored), 0);
  t.is(r.summary.changed, 1, 'the input report is not modified');
});
