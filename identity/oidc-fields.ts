import type { OidcIdentityProviderConfig, OidcIdentityProviderConfigRequest } from '@aws-sdk/client-eks';
import type providerSchema from '../providers/eks/schema.json';
import type { OidcConfig } from './types';

/**
 * The one list of an EKS OIDC identity provider config's fields, in both spellings: camelCase as the
 * EKS API names them (and cdktf's bindings, the stacks' data and OidcConfig, which reuse those names),
 * snake_case as Terraform's `oidc` block does. Every conversion between the two (stacks, validation,
 * the identity library, the EKS provider's requests and state) is derived from it.
 *
 * The compiler holds the table to both sides: a field of OidcIdentityProviderConfigRequest or an
 * attribute of hashicorp/aws 5.100's `oidc` block (providers/eks/schema.json) that it lacks, or one it
 * has that they do not, fails to compile; which fields are required and which one is a map is checked
 * against the schema by test/oidc-fields.test.ts.
 */

type OidcBlock = (typeof providerSchema)['resource_schemas']['aws_eks_identity_provider_config']['block']['block_types']['oidc']['block'];
/** An attribute of Terraform's `oidc` block. */
export type OidcAttribute = keyof OidcBlock['attributes'];
/** A field of an OIDC identity provider config, by its EKS API name. */
export type OidcField = keyof OidcIdentityProviderConfigRequest;

type FieldSpec = {
  /** Its attribute in Terraform's `oidc` block. */
  readonly terraform: OidcAttribute;
  /** Terraform requires it (so does EKS). */
  readonly required?: true;
  /** A map of strings (the others are strings). */
  readonly map?: true;
};

/** By API name, in the `oidc` block's order (its attributes sorted, as Terraform stores them). */
export const OIDC_FIELDS = {
  clientId: { terraform: 'client_id', required: true },
  groupsClaim: { terraform: 'groups_claim' },
  groupsPrefix: { terraform: 'groups_prefix' },
  identityProviderConfigName: { terraform: 'identity_provider_config_name', required: true },
  issuerUrl: { terraform: 'issuer_url', required: true },
  requiredClaims: { terraform: 'required_claims', map: true },
  usernameClaim: { terraform: 'username_claim' },
  usernamePrefix: { terraform: 'username_prefix' },
} as const satisfies { readonly [F in OidcField]: FieldSpec };

/** The table as a list: `{ field, terraform, required?, map? }` per field, in the block's order. */
export const OIDC_FIELD_LIST: readonly ({ readonly field: OidcField } & FieldSpec)[] = Object.entries(OIDC_FIELDS).map(([field, spec]) => ({ field: field as OidcField, ...spec }));

/** The fields of OidcConfig: all but the config's name (which stacks call `name` and the identity library does not need). */
export const OIDC_CONFIG_FIELDS = OIDC_FIELD_LIST.filter((f) => f.field !== 'identityProviderConfigName') as readonly ({ readonly field: keyof OidcConfig } & FieldSpec)[];

/** A config's own fields out of anything that carries them (a stack's identity provider spec), unset ones left out. */
export function pickOidcConfig(src: OidcConfig): OidcConfig {
  const out: Partial<Record<keyof OidcConfig, unknown>> = {};
  for (const { field } of OIDC_CONFIG_FIELDS) if (src[field] !== undefined) out[field] = src[field];
  return out as OidcConfig;
}

// The checks the table's `satisfies` cannot make: nothing beyond the API's fields and the block's attributes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Mapped = (typeof OIDC_FIELDS)[OidcField]['terraform'];
type MapFields = { [F in OidcField]: (typeof OIDC_FIELDS)[F] extends { map: true } ? F : never }[OidcField];
type ApiMapFields = { [F in OidcField]: NonNullable<OidcIdentityProviderConfigRequest[F]> extends string ? never : F }[OidcField];
export const OIDC_FIELDS_CHECKED: {
  /** Every attribute of the block has its field. */
  everyAttribute: Same<Mapped, OidcAttribute>;
  /** The API's answer (DescribeIdentityProviderConfig) carries every field under the same name. */
  inTheAnswer: Same<Extract<OidcField, keyof OidcIdentityProviderConfig>, OidcField>;
  /** OidcConfig has every field but the name. */
  config: Same<keyof OidcConfig, Exclude<OidcField, 'identityProviderConfigName'>>;
  /** The map field is the API's non-string one. */
  map: Same<MapFields, ApiMapFields>;
} = { everyAttribute: true, inTheAnswer: true, config: true, map: true };
