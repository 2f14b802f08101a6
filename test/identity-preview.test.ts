import test from 'ava';
import {
  checkBindings, decodeJwt, identityMetadata, JwtDecodeError, oidcFromTerraform, previewChange, renderIdentityChanges,
  IdentityDataError, findIdentityProviderConfig, bindingsForConfig, type OidcConfig, type RbacBinding, type SampleIdentity,
} from '../identity';

const ISSUER = 'https://idp.example.com';
const alice: SampleIdentity = { name: 'alice', claims: { sub: 'alice', hd: 'example.com', groups: ['eng'] } };
const bob: SampleIdentity = { name: 'bob', claims: { sub: 'bob', groups: ['platform-admins'] } };
const carol: SampleIdentity = { name: 'carol', claims: { sub: 'carol', hd: 'example.com' } };

test('previewChange: a username and groups prefix change changes every mapped name', (t) => {
  const before: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', groupsClaim: 'groups', groupsPrefix: 'oidc:' };
  const after: OidcConfig = { ...before, usernamePrefix: 'oidc:', groupsPrefix: 'idp:' };
  const [a, c] = previewChange(before, after, [alice, carol]);
  t.deepEqual(a!.before, { accepted: true, username: `${ISSUER}#alice`, groups: ['oidc:eng'], warnings: [] });
  t.deepEqual(a!.after, { accepted: true, username: 'oidc:alice', groups: ['idp:eng'], warnings: [] });
  t.true(a!.changed);
  t.false(a!.rejected);
  t.false(a!.losesAllGroups);
  t.deepEqual(a!.lostGroups, ['oidc:eng']);
  t.deepEqual(a!.gainedGroups, ['idp:eng']);
  // carol has no groups claim: only her username changes.
  t.true(c!.changed);
  t.deepEqual(c!.lostGroups, []);
  const lines = renderIdentityChanges([a!, c!], { color: false });
  t.is(lines[0], `alice: ${ISSUER}#alice → oidc:alice; groups oidc:eng → idp:eng`);
  t.is(lines[1], `carol: ${ISSUER}#carol → oidc:carol; groups (none)`);
});

test('previewChange: a new required claim rejects the identity without it', (t) => {
  const before: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernamePrefix: 'oidc:', groupsClaim: 'groups' };
  const after: OidcConfig = { ...before, requiredClaims: { hd: 'example.com' } };
  const changes = previewChange(before, after, [alice, bob]);
  const [a, b] = changes;
  t.false(a!.changed);
  t.false(a!.rejected);
  t.true(b!.rejected);
  t.true(b!.changed);
  t.deepEqual(b!.after, { accepted: false, code: 'required-claim-missing', reason: 'required claim hd=example.com missing' });
  const lines = renderIdentityChanges(changes, { color: false });
  t.is(lines[0], 'alice: oidc:alice; groups eng (unchanged)');
  t.is(lines[1], '! bob: rejected after the change (required claim hd=example.com missing)');
  const colored = renderIdentityChanges(changes, { color: true });
  t.true(colored[1]!.startsWith('\u001b[31m'));
  t.is(colored[1]!.replace(/\u001b\[[0-9;]*m/g, ''), lines[1]);
});

test('previewChange: removing the groups claim loses all groups; removing the config rejects; adding one accepts', (t) => {
  const before: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernamePrefix: '-', groupsClaim: 'groups' };
  const after: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernamePrefix: '-' };
  const [lost] = previewChange(before, after, [alice]);
  t.true(lost!.losesAllGroups);
  t.false(lost!.rejected);
  t.is(renderIdentityChanges([lost!], { color: false })[0], '! alice: alice; groups eng → (none) (loses all groups)');
  const [removed] = previewChange(before, null, [alice]);
  t.true(removed!.rejected);
  t.is(removed!.after, null);
  t.is(renderIdentityChanges([removed!], { color: false })[0], '! alice: rejected after the change (the config is removed)');
  const [added] = previewChange(null, before, [alice]);
  t.false(added!.rejected);
  t.true(added!.changed);
  t.deepEqual(added!.gainedGroups, ['eng']);
  t.is(renderIdentityChanges([added!], { color: false })[0], '+ alice: (no config) → alice; groups eng');
  // A new config that refuses the identity carries the same `!` marker as other refusals.
  const [refusedByNew] = previewChange(null, { ...before, requiredClaims: { hd: 'example.com' } }, [bob]);
  t.is(renderIdentityChanges([refusedByNew!], { color: false })[0], '! bob: (no config) → rejected (required claim hd=example.com missing)');
});

const bindings: RbacBinding[] = [
  { role: 'cluster-admin', kind: 'ClusterRole', groups: ['oidc:platform-admins', 'system:masters'], users: [] },
  { role: 'edit', kind: 'Role', namespace: 'dev', users: ['oidc:alice'], groups: ['oidc:eng'] },
];

test('checkBindings: subjects without the config prefixes are named, system: subjects are not', (t) => {
  const config: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernamePrefix: 'oidc:', groupsClaim: 'groups', groupsPrefix: 'oidc:' };
  t.deepEqual(checkBindings(config, bindings), []);
  const findings = checkBindings(config, [{ role: 'view', groups: ['eng', 'system:authenticated'], users: ['bob'] }]);
  t.deepEqual(findings.map((f) => [f.code, f.binding, f.subject]), [
    ['user-prefix-missing', 'ClusterRole/view', 'bob'],
    ['group-prefix-missing', 'ClusterRole/view', 'eng'],
  ]);
  t.regex(findings[0]!.message, /ClusterRole\/view: user bob lacks the config's username prefix "oidc:"/);
});

test('checkBindings: after a prefix change, bindings on the old prefix are named and identities lose roles', (t) => {
  const previous: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernamePrefix: 'oidc:', groupsClaim: 'groups', groupsPrefix: 'oidc:' };
  const config: OidcConfig = { ...previous, usernamePrefix: 'idp:', groupsPrefix: 'idp:' };
  const findings = checkBindings(config, bindings, [alice, bob], previous);
  const byCode = (code: string) => findings.filter((f) => f.code === code);
  t.deepEqual(byCode('old-group-prefix').map((f) => f.subject), ['oidc:platform-admins', 'oidc:eng']);
  t.deepEqual(byCode('old-user-prefix').map((f) => [f.binding, f.subject]), [['Role/edit in namespace dev', 'oidc:alice']]);
  t.deepEqual(byCode('identity-loses-role').map((f) => [f.identity, f.binding]), [
    ['alice', 'Role/edit in namespace dev'],
    ['bob', 'ClusterRole/cluster-admin'],
  ]);
  t.regex(byCode('identity-loses-role')[1]!.message, /bob loses ClusterRole\/cluster-admin \(had it via group oidc:platform-admins; now maps to idp:bob, groups idp:platform-admins\)/);
  t.is(byCode('user-prefix-missing').length, 0, 'old-prefix subjects are reported once, as old-prefix');
});

test('checkBindings: group subjects with no groups claim, rejected and unbound identities', (t) => {
  const config: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernamePrefix: 'oidc:', requiredClaims: { hd: 'example.com' } };
  const findings = checkBindings(config, bindings, [alice, bob, carol]);
  t.deepEqual(findings.map((f) => [f.code, f.identity ?? null]), [
    ['groups-claim-unset', null],
    ['identity-rejected', 'bob'],
    ['identity-unbound', 'carol'],
  ]);
  t.regex(findings[0]!.message, /ClusterRole\/cluster-admin, Role\/edit in namespace dev/);
});

test('oidcFromTerraform converts snake_case, accepts oidc[0], and names unresolvable references', (t) => {
  const block = { identity_provider_config_name: 'okta', issuer_url: ISSUER, client_id: 'k', username_claim: 'email', groups_claim: 'groups', groups_prefix: 'oidc:', required_claims: { hd: 'example.com' } };
  const expected: OidcConfig = { issuerUrl: ISSUER, clientId: 'k', usernameClaim: 'email', groupsClaim: 'groups', groupsPrefix: 'oidc:', requiredClaims: { hd: 'example.com' } };
  t.deepEqual(oidcFromTerraform(block), expected);
  t.deepEqual(oidcFromTerraform([block]), expected);
  const e = t.throws(() => oidcFromTerraform({ ...block, issuer_url: '${var.issuer}' }), { instanceOf: IdentityDataError });
  t.is(e!.field, 'oidc.issuer_url');
  t.regex(e!.message, /can't be resolved offline/);
  t.throws(() => oidcFromTerraform({ issuer_url: ISSUER }), { message: /oidc\.client_id is missing/ });
});

test('identityMetadata reads sample identities and bindings from the // key, and rejects malformed ones', (t) => {
  const res = { '//': { metadata: { path: 'x' }, eksidp: { sample_identities: [alice], rbac_bindings: bindings } } };
  t.deepEqual(identityMetadata(res), { sampleIdentities: [alice], rbacBindings: bindings });
  t.deepEqual(identityMetadata({ '//': { metadata: {} } }), { sampleIdentities: [], rbacBindings: [] });
  t.throws(() => identityMetadata({ '//': { eksidp: { rbac_bindings: [{ role: 'x', kind: 'Group' }] } } }), { message: /rbac_bindings\[0\]\.kind/ });
  t.throws(() => identityMetadata({ '//': { eksidp: { sample_identities: [{ name: 'x' }] } } }), { message: /needs a "claims" object/ });
});

test('findIdentityProviderConfig and bindingsForConfig resolve addresses, names and the cluster reference', (t) => {
  const tf = {
    resource: {
      aws_eks_cluster: { prod: { name: 'prod', '//': { eksidp: { rbac_bindings: bindings } } } },
      aws_eks_identity_provider_config: {
        a: { cluster_name: '${aws_eks_cluster.prod.name}', oidc: { identity_provider_config_name: 'okta', issuer_url: ISSUER, client_id: 'k' } },
        b: { cluster_name: 'prod', oidc: { identity_provider_config_name: 'dex', issuer_url: ISSUER, client_id: 'k' } },
        c: { cluster_name: 'other', oidc: { identity_provider_config_name: 'dex', issuer_url: ISSUER, client_id: 'k' } },
      },
    },
  };
  t.is(findIdentityProviderConfig(tf, 'aws_eks_identity_provider_config.a').name, 'a');
  t.is(findIdentityProviderConfig(tf, 'b').name, 'b');
  t.is(findIdentityProviderConfig(tf, 'okta').name, 'a');
  t.throws(() => findIdentityProviderConfig(tf, 'dex'), { message: /ambiguous: aws_eks_identity_provider_config\.b, aws_eks_identity_provider_config\.c/ });
  t.throws(() => findIdentityProviderConfig(tf, 'aws_eks_identity_provider_config.zz'), { message: /no resource aws_eks_identity_provider_config\.zz.*configs: aws_eks_identity_provider_config\.a/ });
  const cfg = tf.resource.aws_eks_identity_provider_config;
  t.deepEqual(bindingsForConfig(tf, cfg.a), { cluster: 'aws_eks_cluster.prod', bindings });
  t.deepEqual(bindingsForConfig(tf, cfg.b), { cluster: 'aws_eks_cluster.prod', bindings });
  t.deepEqual(bindingsForConfig(tf, cfg.c), { bindings: [] });
});

function jwt(header: unknown, payload: unknown, sig = 'c2ln'): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc(header)}.${enc(payload)}.${sig}`;
}

test('decodeJwt reads header and claims without verifying, and errors never contain the token', (t) => {
  const token = jwt({ alg: 'RS256', kid: 'k1' }, { sub: 'alice', aud: 'k' });
  t.deepEqual(decodeJwt(token), { header: { alg: 'RS256', kid: 'k1' }, claims: { sub: 'alice', aud: 'k' }, payload: '{"sub":"alice","aud":"k"}' });
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['{"sub":"a"}', /JSON, not a compact JWT/],
    ['a.b', /expected 3 dot-separated parts, got 2/],
    ['a.b.c.d.e', /encrypted JWT/],
    [`${jwt({ alg: 'none' }, {}).split('.')[0]}.eyJzdWIi+Ig.x`, /payload is not base64url/],
    [jwt({ alg: 'RS256' }, ['not', 'an', 'object']), /payload is not a JSON object/],
    [`${Buffer.from('not json').toString('base64url')}.e30.x`, /header is not JSON/],
    [`${jwt({ alg: 'RS256' }, {}).split('.').slice(0, 2).join('.')}.x`, /signature is not base64url/],
    [`${jwt({ alg: 'RS256' }, {}).split('.').slice(0, 2).join('.')}.ab+c`, /signature is not base64url/],
  ];
  for (const [tok, re] of bad) {
    const e = t.throws(() => decodeJwt(tok), { instanceOf: JwtDecodeError });
    t.regex(e!.message, re);
    if (tok.length > 3) t.false(e!.message.includes(tok), 'the token is not echoed');
  }
});
