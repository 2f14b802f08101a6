/**
 * The data model of environments: what a platform team edits. Environments are data (see
 * environments.ts); constructs turn them into Terraform resources.
 */

import type { OidcConfig, RbacBinding, SampleIdentity } from '../identity/types';

// The OIDC settings, sample identities and RBAC bindings are the identity library's types: the
// constructs write them into the synthesized JSON exactly as the identity preview reads them.
// (usernamePrefix unset with a claim other than `email`: Kubernetes prefixes the issuer URL and `#`.)
export type { RbacBinding, SampleIdentity };

export type IdentityProviderSpec = OidcConfig & {
  /** identity_provider_config_name: unique per cluster. */
  name: string;
  tags?: Record<string, string>;
  sampleIdentities?: SampleIdentity[];
};

export type ClusterSpec = {
  name: string;
  /** Kubernetes version. For an adopted cluster it is the expected version, used for the per-cluster limits. */
  version?: string;
  /**
   * Adopt a cluster that exists already (read through the `aws_eks_cluster` data source) instead of
   * creating it: the usual case on real AWS, where clusters are managed elsewhere.
   */
  existing?: boolean;
  /** Required for clusters eksidp creates. */
  roleArn?: string;
  subnetIds?: string[];
  securityGroupIds?: string[];
  endpointPublicAccess?: boolean;
  endpointPrivateAccess?: boolean;
  tags?: Record<string, string>;
  identityProviders: IdentityProviderSpec[];
  rbacBindings?: RbacBinding[];
};

export type EnvironmentSpec = {
  name: string;
  region: string;
  /** Real AWS: the account the stack must run in (Terraform's allowed_account_ids). */
  accountId?: string;
  /** Real AWS: a role to assume on top of the default chain's credentials (the provider's assume_role). */
  assumeRole?: { roleArn: string; sessionName?: string; externalId?: string };
  /** Tags on every resource of the environment (the provider's default_tags; a resource's own tags win). */
  defaultTags?: Record<string, string>;
  /** The embedded emulator (or another EKS endpoint): dummy keys and skip flags, no AWS account. */
  endpoint?: string;
  /** Local backend path, relative to the stack's folder cdktf.out/stacks/<name> (when there is no `backend`). */
  statePath?: string;
  /** State in S3, as Terraform's S3 backend keeps it (README, "For a team"); absent: the local backend. */
  backend?: S3BackendSpec;
  clusters: ClusterSpec[];
};

export type S3BackendSpec = {
  bucket: string;
  key: string;
  /** Default: the environment's region. */
  region?: string;
  /** Lock with a `<key>.tflock` object (S3's conditional write); the default is true. */
  useLockfile?: boolean;
  /** Also (or instead) lock with this DynamoDB table, and keep the state's digest there. */
  dynamodbTable?: string;
}

/**
 * The keys of each level of the environment data, for synth-time checks: synth runs the app without
 * type-checking it, so a misspelt optional field (`groupPrefix` for `groupsPrefix`) would otherwise be
 * ignored silently. Each table must list exactly the keys of its type (`satisfies FieldsOf<T>` fails to
 * compile on a missing or an extra key), so the types above stay the one definition.
 * 'value': a string, number, boolean or list of them; 'map': free-form keys (tags, claims);
 * a table: a nested object; [table]: a list of nested objects.
 */
export type FieldShape = 'value' | 'map' | Fields | readonly [Fields];
export type Fields = { readonly [key: string]: FieldShape };
type FieldsOf<T> = { readonly [K in keyof Required<T>]: FieldShape };

export const SAMPLE_IDENTITY_FIELDS = { name: 'value', claims: 'map' } as const satisfies FieldsOf<SampleIdentity>;

export const RBAC_BINDING_FIELDS = { role: 'value', kind: 'value', namespace: 'value', users: 'value', groups: 'value' } as const satisfies FieldsOf<RbacBinding>;

export const IDENTITY_PROVIDER_FIELDS = {
  name: 'value', issuerUrl: 'value', clientId: 'value', usernameClaim: 'value', usernamePrefix: 'value', groupsClaim: 'value',
  groupsPrefix: 'value', requiredClaims: 'map', tags: 'map', sampleIdentities: [SAMPLE_IDENTITY_FIELDS],
} as const satisfies FieldsOf<IdentityProviderSpec>;

export const CLUSTER_FIELDS = {
  name: 'value', version: 'value', existing: 'value', roleArn: 'value', subnetIds: 'value', securityGroupIds: 'value',
  endpointPublicAccess: 'value', endpointPrivateAccess: 'value', tags: 'map',
  identityProviders: [IDENTITY_PROVIDER_FIELDS], rbacBindings: [RBAC_BINDING_FIELDS],
} as const satisfies FieldsOf<ClusterSpec>;

export const ASSUME_ROLE_FIELDS = { roleArn: 'value', sessionName: 'value', externalId: 'value' } as const satisfies FieldsOf<NonNullable<EnvironmentSpec['assumeRole']>>;

export const S3_BACKEND_FIELDS = { bucket: 'value', key: 'value', region: 'value', useLockfile: 'value', dynamodbTable: 'value' } as const satisfies FieldsOf<S3BackendSpec>;

export const ENVIRONMENT_FIELDS = {
  name: 'value', region: 'value', accountId: 'value', assumeRole: ASSUME_ROLE_FIELDS, defaultTags: 'map', endpoint: 'value', statePath: 'value', backend: S3_BACKEND_FIELDS, clusters: [CLUSTER_FIELDS],
} as const satisfies FieldsOf<EnvironmentSpec>;
