import type { OidcIdentityProviderConfig } from '@aws-sdk/client-eks';
import type { IdentityChange, OidcConfig, SampleIdentity } from '../identity';

/**
 * The drift report model: what the compare functions produce and the renderers consume. The JSON
 * format (drift/SCHEMA.md) is this model, serialised; keep the two in step.
 */

export const FORMAT_VERSION = '1.0';

export const STATUSES = ['in_sync', 'changed', 'missing', 'unmanaged', 'unknown', 'ignored'] as const;
export type Status = (typeof STATUSES)[number];

export const CLUSTER_TYPE = 'aws_eks_cluster';
export const CONFIG_TYPE = 'aws_eks_identity_provider_config';

export type Difference = {
  /** `oidc.issuer_url`, `tags.team`, `version`. */
  path: string;
  /** Declared value (null when the stack does not set it). */
  expected: string | null;
  /** Live value (null when EKS has none). */
  actual: string | null;
  requires_replacement: boolean;
  /** Set when an ignore rule covers this difference: it no longer counts as drift. */
  ignored?: string;
};

export type IdentityPreview = {
  name: string;
  /** Under the live config. */
  live: string;
  /** Under the planned (declared) config. */
  planned: string;
  changed: boolean;
};

export type ResourceDrift = {
  /** null for unmanaged configs (they are in no stack). */
  address: string | null;
  type: typeof CLUSTER_TYPE | typeof CONFIG_TYPE;
  cluster: string;
  /** The config name (identity_provider_config_name), or the cluster name for clusters. */
  name: string;
  status: Status;
  differences: Difference[];
  /** What `eksidp apply` would do about it (null when nothing is to be done). */
  fix: string | null;
  /** The read error, for unknown. */
  error: string | null;
  /** The ignore rule's reason, for ignored. */
  reason?: string;
  /** How sample identities map under the live versus the planned config (configs changed out of band). */
  identities?: IdentityPreview[];
  /** Canonical live and planned documents, for diffs (not part of the JSON schema). */
  live?: Record<string, unknown> | null;
  planned?: Record<string, unknown> | null;
};

export type Summary = Record<Status, number>;

export type DriftReport = {
  format_version: typeof FORMAT_VERSION;
  stack: string;
  shard: string | null;
  summary: Summary;
  resources: ResourceDrift[];
};

/** One declared cluster: a managed aws_eks_cluster resource, or a data source (read only). */
export type DesiredCluster = {
  address: string;
  managed: boolean;
  name: string;
  /** Only what the stack sets (undefined: EKS decides, never drift). */
  version?: string;
  tags?: Record<string, string>;
};

export type DesiredConfig = {
  address: string;
  cluster: string;
  name: string;
  oidc: OidcConfig;
  tags: Record<string, string>;
  sampleIdentities: SampleIdentity[];
};

/** A declared resource whose desired values could not be worked out (e.g. an unresolvable reference). */
export type DesiredError = { address: string; type: ResourceDrift['type']; cluster: string | null; name: string; error: string };

export type Desired = {
  stack: string;
  clusters: DesiredCluster[];
  configs: DesiredConfig[];
  errors: DesiredError[];
};

/** What the live reader found for one cluster. */
export type LiveCluster =
  | { name: string; kind: 'found'; version: string | null; status: string | null; tags: Record<string, string>; configs: LiveConfigRead[] | { error: string } }
  | { name: string; kind: 'not_found' }
  | { name: string; kind: 'error'; error: string };

export type LiveConfigRead = { name: string; config: OidcIdentityProviderConfig } | { name: string; error: string } | { name: string; gone: true };

export type IdentityChangeModel = IdentityChange;
