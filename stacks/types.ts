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
  /** The embedded emulator (or another EKS endpoint): dummy keys and skip flags, no AWS account. */
  endpoint?: string;
  /** Local backend path, relative to the stack's folder cdktf.out/stacks/<name>. */
  statePath?: string;
  clusters: ClusterSpec[];
};
