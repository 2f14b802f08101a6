/**
 * The drift report model: what the compare functions produce and the renderers consume. The JSON
 * format (drift/SCHEMA.md) is this model, serialised; keep the two in step.
 */

export const FORMAT_VERSION = '1.1';

export const STATUSES = ['in_sync', 'changed', 'missing', 'unmanaged', 'unknown', 'ignored'] as const;
export type Status = (typeof STATUSES)[number];

export type Difference = {
  /** `oidc.issuer_url`, `tags.team`, `version` (drift/differences.ts has the syntax). */
  path: string;
  /** The planned value (null when unset; JSON text for values other than strings). */
  expected: string | null;
  /** The live value, as a refresh reads it (null when unset). */
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
  /** The resource type (`aws_eks_cluster`, `aws_eks_identity_provider_config`). */
  type: string;
  /** The group it lives in, as the provider tells it (the EKS cluster's name). */
  cluster: string;
  /** The config name (identity_provider_config_name), or the cluster name for clusters. */
  name: string;
  status: Status;
  differences: Difference[];
  /** What `eksidp apply` would do about it (null when nothing is to be done). */
  fix: string | null;
  /** The read error, for unknown. */
  error: string | null;
  /**
   * The live object's lifecycle status (ACTIVE, CREATING, DELETING, FAILED...), or its cluster's when
   * the cluster is DELETING or FAILED; null when nothing was read.
   */
  live_status: string | null;
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
