import type { OidcIdentityProviderConfig } from '@aws-sdk/client-eks';
import test from 'ava';
import type { ObjectValue } from '../engine/protocol';
import { OIDC_FIELD_LIST, OIDC_FIELDS, oidcFromTerraform, oidcToTerraform, pickOidcConfig, type OidcConfig } from '../identity';
import { idpState, oidcRequest } from '../providers/eks/idp';
import { NO_TAG_CONFIG } from '../providers/eks/settings';
import schemaJson from '../providers/eks/schema.json';

/**
 * identity/oidc-fields.ts is the one list of an OIDC config's fields in both spellings; the compiler
 * checks the names against the EKS SDK and the provider schema, this checks the rest against the
 * schema and that every conversion derived from it goes both ways.
 */

const FULL: OidcConfig = {
  issuerUrl: 'https://idp.example.com',
  clientId: 'kubernetes',
  usernameClaim: 'email',
  usernamePrefix: 'idp:',
  groupsClaim: 'groups',
  groupsPrefix: 'idp:',
  requiredClaims: { hd: 'example.com' },
};

test('the table matches hashicorp/aws 5.100\'s oidc block: every attribute once, required ones and the map marked, in the block\'s order', (t) => {
  const attributes = schemaJson.resource_schemas.aws_eks_identity_provider_config.block.block_types.oidc.block.attributes as Record<string, { required?: boolean; type: unknown }>;
  t.deepEqual(OIDC_FIELD_LIST.map((f) => f.terraform), Object.keys(attributes).sort());
  for (const f of OIDC_FIELD_LIST) {
    const a = attributes[f.terraform]!;
    t.is(f.required === true, a.required === true, `${f.terraform} required`);
    t.is(f.map === true, Array.isArray(a.type) && a.type[0] === 'map', `${f.terraform} map`);
  }
  t.is(OIDC_FIELDS.issuerUrl.terraform, 'issuer_url');
});

test('a config goes to Terraform\'s oidc block and back unchanged, unset fields left out', (t) => {
  const block = oidcToTerraform(FULL, 'corp');
  t.deepEqual(block, {
    client_id: 'kubernetes', groups_claim: 'groups', groups_prefix: 'idp:', identity_provider_config_name: 'corp',
    issuer_url: 'https://idp.example.com', required_claims: { hd: 'example.com' }, username_claim: 'email', username_prefix: 'idp:',
  });
  t.deepEqual(oidcFromTerraform([block]), FULL);
  const minimal = { issuerUrl: 'https://idp.example.com', clientId: 'k8s' };
  t.deepEqual(oidcToTerraform(minimal, 'm'), { client_id: 'k8s', identity_provider_config_name: 'm', issuer_url: 'https://idp.example.com' });
  t.deepEqual(oidcFromTerraform(oidcToTerraform(minimal, 'm')), minimal);
  // A spec carrying more than the config (a stack's name, tags, sample identities) gives only the config.
  t.deepEqual(pickOidcConfig({ ...FULL, name: 'corp', tags: { a: 'b' } } as OidcConfig), FULL);
});

test('the EKS provider sends the block\'s settings and stores EKS\'s answer under the same fields', (t) => {
  const block = oidcToTerraform(FULL, 'corp');
  const request = oidcRequest(block as ObjectValue);
  t.deepEqual(JSON.parse(JSON.stringify(request)), { ...FULL, identityProviderConfigName: 'corp' });
  const answer: OidcIdentityProviderConfig = { ...FULL, identityProviderConfigName: 'corp', clusterName: 'c', status: 'ACTIVE' };
  const state = idpState(answer, null, NO_TAG_CONFIG, 'refresh');
  t.deepEqual(state.oidc, [block]);
  // Unset strings are "" in state (as hashicorp/aws stores them) and are not sent.
  const bare = idpState({ identityProviderConfigName: 'm', issuerUrl: 'https://idp.example.com', clientId: 'k8s', clusterName: 'c' }, null, NO_TAG_CONFIG, 'refresh');
  const oidc = (bare.oidc as Record<string, unknown>[])[0]!;
  t.is(oidc.username_claim, '');
  t.deepEqual(JSON.parse(JSON.stringify(oidcRequest(oidc as ObjectValue))), { identityProviderConfigName: 'm', issuerUrl: 'https://idp.example.com', clientId: 'k8s' });
});
