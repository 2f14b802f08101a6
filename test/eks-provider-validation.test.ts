import test from 'ava';
import { UNKNOWN, formatPath, type ObjectValue } from '../engine/protocol';
import { createEksProvider } from '../providers/eks/index';
import { validateClusterConfigs, validateIdentityProviderConfig, validateTags } from '../providers/eks/validation';
import { parseConfig } from '../engine/config';
import type { EngineError } from '../engine/util';
import { closeWorkspace, openWorkspace } from '../engine/workspace';
import { providerFactory } from '../providers/registry';

const oidc = (extra: ObjectValue = {}): ObjectValue => ({ client_id: 'kube', identity_provider_config_name: 'okta', issuer_url: 'https://okta.example.com', ...extra });
const idp = (extra: ObjectValue = {}, top: ObjectValue = {}): ObjectValue => ({ cluster_name: 'prod', oidc: [oidc(extra)], ...top });

/** One case per rule: the config, the attribute path reported and the message it must carry. */
const RESOURCE_CASES: [string, string, ObjectValue, string, RegExp][] = [
  ['issuer must be https', 'aws_eks_identity_provider_config', idp({ issuer_url: 'http://okta.example.com' }), 'oidc[0].issuer_url', /must use https:\/\//],
  ['issuer must name a host', 'aws_eks_identity_provider_config', idp({ issuer_url: 'https://' }), 'oidc[0].issuer_url', /must name a host/],
  ['issuer without query', 'aws_eks_identity_provider_config', idp({ issuer_url: 'https://okta.example.com/?a=b' }), 'oidc[0].issuer_url', /must not contain a query string/],
  ['issuer without fragment', 'aws_eks_identity_provider_config', idp({ issuer_url: 'https://okta.example.com/#x' }), 'oidc[0].issuer_url', /must not contain a fragment/],
  ['issuer without userinfo', 'aws_eks_identity_provider_config', idp({ issuer_url: 'https://u:p@okta.example.com' }), 'oidc[0].issuer_url', /must not contain user information/],
  ['client_id non-empty', 'aws_eks_identity_provider_config', idp({ client_id: '' }), 'oidc[0].client_id', /client_id must not be empty/],
  ['config name non-empty', 'aws_eks_identity_provider_config', idp({ identity_provider_config_name: ' ' }), 'oidc[0].identity_provider_config_name', /must not be empty/],
  ['config name without colon', 'aws_eks_identity_provider_config', idp({ identity_provider_config_name: 'a:b' }), 'oidc[0].identity_provider_config_name', /must not contain ":"/],
  ['required claim key length', 'aws_eks_identity_provider_config', idp({ required_claims: { ['k'.repeat(64)]: 'v' } }), `oidc[0].required_claims.${'k'.repeat(64)}`, /key must be 1-63 characters \(got 64\)/],
  ['required claim value length', 'aws_eks_identity_provider_config', idp({ required_claims: { aud: 'v'.repeat(254) } }), 'oidc[0].required_claims.aud', /value for "aud" must be 1-253 characters \(got 254\)/],
  ['required claim value non-empty', 'aws_eks_identity_provider_config', idp({ required_claims: { aud: '' } }), 'oidc[0].required_claims.aud', /must be 1-253 characters \(got 0\)/],
  ['username prefix without system:', 'aws_eks_identity_provider_config', idp({ username_prefix: 'system:x' }), 'oidc[0].username_prefix', /must not contain "system:"/],
  ['groups prefix without system:', 'aws_eks_identity_provider_config', idp({ groups_prefix: 'a-system:' }), 'oidc[0].groups_prefix', /must not contain "system:"/],
  ['tag key without aws:', 'aws_eks_identity_provider_config', idp({}, { tags: { 'AWS:x': 'y' } }), 'tags.AWS:x', /must not start with "aws:"/],
  ['tag value length', 'aws_eks_cluster', { name: 'prod', tags: { a: 'v'.repeat(257) } }, 'tags.a', /at most 256 characters \(got 257\)/],
  ['tag key length', 'aws_eks_cluster', { name: 'prod', tags: { ['k'.repeat(129)]: 'v' } }, `tags.${'k'.repeat(129)}`, /tag key must be 1-128 characters \(got 129\)/],
  ['cluster name pattern', 'aws_eks_cluster', { name: '-prod' }, 'name', /must start with a letter or digit/],
  ['cluster name length', 'aws_eks_cluster', { name: 'c'.repeat(101) }, 'name', /longer than 100 characters/],
  ['cluster name on a config', 'aws_eks_identity_provider_config', idp({}, { cluster_name: 'bad name' }), 'cluster_name', /only letters, digits, hyphens and underscores/],
];

for (const [title, typeName, config, attr, message] of RESOURCE_CASES) {
  test(`validateResourceConfig: ${title}`, (t) => {
    const p = createEksProvider();
    const { diagnostics } = p.validateResourceConfig({ typeName, address: `${typeName}.x`, config });
    t.is(diagnostics.length, 1, JSON.stringify(diagnostics));
    t.is(diagnostics[0].severity, 'error');
    t.is(diagnostics[0].address, `${typeName}.x`);
    t.is(formatPath(diagnostics[0].attribute ?? []), attr);
    t.regex(diagnostics[0].summary, message);
  });
}

test('validateResourceConfig: a valid config, and unknown values, pass', (t) => {
  const p = createEksProvider();
  const ok = idp({ username_prefix: 'okta:', groups_prefix: 'okta:', required_claims: { aud: 'kube' } }, { tags: { team: 'a' } });
  t.deepEqual(p.validateResourceConfig({ typeName: 'aws_eks_identity_provider_config', address: 'a', config: ok }).diagnostics, []);
  const unknown = { cluster_name: UNKNOWN, oidc: [oidc({ issuer_url: UNKNOWN, client_id: '${var.x}' })] };
  t.deepEqual(p.validateResourceConfig({ typeName: 'aws_eks_identity_provider_config', address: 'a', config: unknown }).diagnostics, []);
});

test('validateTags: more than 50 tags', (t) => {
  const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
  const issues = validateTags(tags);
  t.is(issues.length, 1);
  t.regex(issues[0].message, /at most 50 tags are allowed \(got 51\)/);
});

const cluster = (name: string, version: unknown) => ({ address: `aws_eks_cluster.${name}`, name, version });
const cfg = (n: string, clusterName: unknown, extra: ObjectValue = {}) => ({
  address: `aws_eks_identity_provider_config.${n}`,
  cluster_name: clusterName,
  oidc: [oidc({ identity_provider_config_name: n, issuer_url: `https://${n}.example.com`, ...extra })],
});

test('validateConfiguration: config names and issuer URLs are unique per cluster', (t) => {
  const p = createEksProvider();
  const resources = [
    { address: 'aws_eks_cluster.prod', typeName: 'aws_eks_cluster', config: { name: 'prod', version: '1.32' } },
    { address: 'aws_eks_identity_provider_config.a', typeName: 'aws_eks_identity_provider_config', config: idp() },
    { address: 'aws_eks_identity_provider_config.b', typeName: 'aws_eks_identity_provider_config', config: idp({ issuer_url: 'https://okta.example.com/' }) },
  ];
  const d = p.validateConfiguration({ resources }).diagnostics;
  t.is(d.length, 2);
  t.is(d[0].address, 'aws_eks_identity_provider_config.b');
  t.regex(d[0].summary, /identity provider config name "okta" is already used for cluster "prod" by aws_eks_identity_provider_config\.a/);
  t.regex(d[1].summary, /issuer URL "https:\/\/okta\.example\.com\/" is already used/);
});

test('static validation: configs naming their cluster by reference (as cdktf writes them) meet the cross-resource rules, a cluster without references once', async (t) => {
  const stack = (issuerB: string, name = 'prod') => parseConfig({
    provider: { aws: [{ access_key: 'test', secret_key: 'test', region: 'us-east-1', endpoints: [{ eks: 'http://127.0.0.1:9' }], skip_credentials_validation: true, skip_metadata_api_check: true, skip_requesting_account_id: true, skip_region_validation: true }] },
    resource: {
      aws_eks_cluster: { prod: { name, version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-1'] }] } },
      aws_eks_identity_provider_config: {
        a: { cluster_name: '${aws_eks_cluster.prod.name}', oidc: [oidc({ identity_provider_config_name: 'a' })] },
        b: { cluster_name: '${aws_eks_cluster.prod.name}', oidc: [oidc({ identity_provider_config_name: 'b', issuer_url: issuerB })] },
      },
    },
  }, { name: 's', dir: '/nonexistent', file: '/nonexistent/cdk.tf.json' });
  const ws = await openWorkspace(stack('https://other.example.com'), providerFactory, { env: {} });
  await closeWorkspace(ws);
  const e = await t.throwsAsync(openWorkspace(stack('https://okta.example.com/'), providerFactory, { env: {} }));
  t.regex(e!.message, /issuer URL "https:\/\/okta\.example\.com\/" is already used for cluster "prod"/);
  // A bad name is reported where it is written, not again on each config that refers to it.
  const bad = await t.throwsAsync(openWorkspace(stack('https://other.example.com', '-prod'), providerFactory, { env: {} }));
  t.deepEqual((bad as EngineError).diagnostics.filter((d) => d.severity === 'error').map((d) => d.address), ['aws_eks_cluster.prod']);
});

test('validateClusterConfigs: one OIDC provider before Kubernetes 1.32, ten from 1.32, unknown cluster values skipped', (t) => {
  const two = [cfg('a', 'old'), cfg('b', 'old')];
  const before = validateClusterConfigs({ clusters: [cluster('old', '1.31')], configs: two });
  t.is(before.length, 1);
  t.regex(before[0].message, /Kubernetes 1\.31: EKS allows 1 OIDC identity provider before 1\.32/);
  t.deepEqual(validateClusterConfigs({ clusters: [cluster('old', '1.32')], configs: two }), []);
  t.deepEqual(validateClusterConfigs({ clusters: [cluster('old', UNKNOWN)], configs: two }), [], 'unknown version: the per-version limit is skipped');
  t.deepEqual(validateClusterConfigs({ clusters: [], configs: [cfg('a', UNKNOWN), cfg('b', UNKNOWN)] }), [], 'unknown cluster names are skipped');
  const eleven = Array.from({ length: 11 }, (_, i) => cfg(`c${i}`, 'new'));
  const many = validateClusterConfigs({ clusters: [cluster('new', '1.33')], configs: eleven });
  t.is(many.length, 1);
  t.regex(many[0].message, /has 11 OIDC identity providers: EKS allows at most 10/);
});

test('validateClusterConfigs: combined size of a cluster\'s configs must stay under 12 KB', (t) => {
  const big = (n: string) => cfg(n, 'big', { required_claims: Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`claim${i}`, 'v'.repeat(200)])) });
  const issues = validateClusterConfigs({ clusters: [cluster('big', '1.32')], configs: [big('a'), big('b'), big('c'), big('d')] });
  t.is(issues.length, 1);
  t.regex(issues[0].message, /combined size to be under 12 KB/);
  t.deepEqual(validateIdentityProviderConfig(big('a') as ObjectValue), []);
});
