/**
 * Validation rules for EKS clusters and OIDC identity provider configs, as pure functions over plain
 * objects. No SDK imports, only pure helpers (engine/util's values, the protocol's unknown marker,
 * identity/issuer.ts's issuer URL rule, shared with the emulator), so synth stays light: the provider
 * runs them at plan time and the cdktf constructs (stacks/) run the very same rules at synth time.
 *
 * A value that is not known yet (a reference to a resource not yet created: `undefined`, the engine's
 * UNKNOWN marker, or a string still holding a Terraform interpolation `${...}`) is skipped, never
 * reported: it is checked again once it is known.
 */

import { isUnknown } from '../../engine/protocol';
import { firstBlock } from '../../engine/util';
import { issuerUrlProblem } from '../../identity/issuer';
import { OIDC_FIELD_LIST } from '../../identity/oidc-fields';

export type Path = (string | number)[];
export type Issue = { path: Path; message: string };
/** An issue in a configuration with several resources: which resource it is about. */
export type AddressedIssue = Issue & { address: string };

export const LIMITS = {
  clusterNameMax: 100,
  tagsMax: 50,
  tagKeyMax: 128,
  tagValueMax: 256,
  requiredClaimKeyMax: 63,
  requiredClaimValueMax: 253,
  /** Kubernetes < 1.32: one OIDC provider per cluster; from 1.32 up to 10, combined size under 12 KB. */
  oidcPerClusterBefore132: 1,
  oidcPerClusterFrom132: 10,
  oidcCombinedBytesFrom132: 12 * 1024,
} as const;

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;

export function isUnknownValue(v: unknown): boolean {
  if (v === undefined) return true;
  if (typeof v === 'string') return v.includes('${');
  return isUnknown(v);
}

function known(v: unknown): boolean {
  return !isUnknownValue(v) && v !== null;
}

export function validateClusterName(name: unknown, path: Path = ['name']): Issue[] {
  if (!known(name)) return [];
  if (typeof name !== 'string' || name.length === 0) return [{ path, message: 'cluster name must not be empty' }];
  if (name.length > LIMITS.clusterNameMax) return [{ path, message: `cluster name "${name}" is longer than ${LIMITS.clusterNameMax} characters` }];
  if (!CLUSTER_NAME.test(name)) {
    return [{ path, message: `cluster name "${name}" must start with a letter or digit and contain only letters, digits, hyphens and underscores` }];
  }
  return [];
}

export function validateTags(tags: unknown, path: Path = ['tags']): Issue[] {
  if (!known(tags) || typeof tags !== 'object' || tags === null) return [];
  const issues: Issue[] = [];
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > LIMITS.tagsMax) issues.push({ path, message: `at most ${LIMITS.tagsMax} tags are allowed (got ${entries.length})` });
  for (const [key, value] of entries) {
    const p = [...path, key];
    if (key.length < 1 || key.length > LIMITS.tagKeyMax) issues.push({ path: p, message: `tag key must be 1-${LIMITS.tagKeyMax} characters (got ${key.length})` });
    if (key.toLowerCase().startsWith('aws:')) issues.push({ path: p, message: `tag key "${key}" must not start with "aws:" (reserved for AWS)` });
    if (known(value) && typeof value === 'string' && value.length > LIMITS.tagValueMax) {
      issues.push({ path: p, message: `tag value for "${key}" must be at most ${LIMITS.tagValueMax} characters (got ${value.length})` });
    }
  }
  return issues;
}

export function validateIssuerUrl(url: unknown, path: Path): Issue[] {
  if (!known(url)) return [];
  if (typeof url !== 'string' || url === '') return [{ path, message: 'issuer_url must not be empty' }];
  const problem = issuerUrlProblem(url);
  return problem ? [{ path, message: `issuer_url ${JSON.stringify(url)} ${problem}` }] : [];
}

function nonEmptyString(v: unknown, path: Path, what: string): Issue[] {
  if (v === null) return [{ path, message: `${what} is required` }];
  if (isUnknownValue(v)) return [];
  if (typeof v !== 'string' || v.trim() === '') return [{ path, message: `${what} must not be empty` }];
  return [];
}

/** Optional strings: Terraform 5.100 rejects "" (NoZeroValues); prefixes must not reach into system: names. */
function optionalString(v: unknown, path: Path, what: string, noSystem: boolean): Issue[] {
  if (!known(v)) return [];
  if (typeof v !== 'string' || v === '') return [{ path, message: `${what} must not be empty when set` }];
  if (noSystem && v.includes('system:')) return [{ path, message: `${what} "${v}" must not contain "system:"` }];
  return [];
}

export type IdentityProviderConfigInput = {
  cluster_name?: unknown;
  oidc?: unknown;
  tags?: unknown;
};

/** Rules for one aws_eks_identity_provider_config (paths as Terraform renders them: oidc[0].issuer_url). */
export function validateIdentityProviderConfig(config: IdentityProviderConfigInput): Issue[] {
  const issues: Issue[] = [];
  issues.push(...validateClusterName(config.cluster_name, ['cluster_name']));
  const oidc = firstBlock(config.oidc);
  if (!oidc) {
    if (!isUnknownValue(config.oidc)) issues.push({ path: ['oidc'], message: 'exactly one oidc block is required' });
  } else {
    const p = (k: string): Path => ['oidc', 0, k];
    issues.push(...nonEmptyString(oidc.client_id, p('client_id'), 'client_id'));
    const name = oidc.identity_provider_config_name;
    issues.push(...nonEmptyString(name, p('identity_provider_config_name'), 'identity_provider_config_name'));
    // The resource id is `cluster_name:config_name`: a colon in the name would make it ambiguous.
    if (known(name) && typeof name === 'string' && name.includes(':')) {
      issues.push({ path: p('identity_provider_config_name'), message: `identity_provider_config_name "${name}" must not contain ":"` });
    }
    if (oidc.issuer_url === null) issues.push({ path: p('issuer_url'), message: 'issuer_url is required' });
    else issues.push(...validateIssuerUrl(oidc.issuer_url, p('issuer_url')));
    issues.push(...optionalString(oidc.username_claim, p('username_claim'), 'username_claim', false));
    issues.push(...optionalString(oidc.groups_claim, p('groups_claim'), 'groups_claim', false));
    issues.push(...optionalString(oidc.username_prefix, p('username_prefix'), 'username_prefix', true));
    issues.push(...optionalString(oidc.groups_prefix, p('groups_prefix'), 'groups_prefix', true));
    const claims = oidc.required_claims;
    if (known(claims) && typeof claims === 'object' && claims !== null) {
      for (const [key, value] of Object.entries(claims as Record<string, unknown>)) {
        const cp = [...p('required_claims'), key];
        if (key.length < 1 || key.length > LIMITS.requiredClaimKeyMax) {
          issues.push({ path: cp, message: `required_claims key must be 1-${LIMITS.requiredClaimKeyMax} characters (got ${key.length})` });
        }
        if (known(value) && (typeof value !== 'string' || value.length < 1 || value.length > LIMITS.requiredClaimValueMax)) {
          const len = typeof value === 'string' ? value.length : 0;
          issues.push({ path: cp, message: `required_claims value for "${key}" must be 1-${LIMITS.requiredClaimValueMax} characters (got ${len})` });
        }
      }
    }
  }
  issues.push(...validateTags(config.tags));
  return issues;
}

export type ClusterInput = { name?: unknown; tags?: unknown; version?: unknown };

/** Rules for one aws_eks_cluster. */
export function validateCluster(config: ClusterInput): Issue[] {
  const issues = [...validateClusterName(config.name, ['name'])];
  if (known(config.version) && (typeof config.version !== 'string' || !/^\d+\.\d+$/.test(config.version))) {
    issues.push({ path: ['version'], message: `version "${String(config.version)}" must look like "1.32"` });
  }
  issues.push(...validateTags(config.tags));
  return issues;
}

/** Parses "1.31" into a comparable number (1.31 → 131); undefined when unknown or not a version. */
export function parseKubernetesVersion(v: unknown): number | undefined {
  if (!known(v) || typeof v !== 'string') return undefined;
  const m = /^(\d+)\.(\d+)$/.exec(v);
  return m ? Number(m[1]) * 100 + Number(m[2]) : undefined;
}

/** What counts against the 12 KB limit: the config as sent to EKS (its OIDC fields), in UTF-8 bytes. */
export function oidcConfigSize(oidc: Record<string, unknown>): number {
  const picked: Record<string, unknown> = {};
  for (const { terraform } of OIDC_FIELD_LIST) if (known(oidc[terraform])) picked[terraform] = oidc[terraform];
  return Buffer.byteLength(JSON.stringify(picked), 'utf8');
}

export type ClusterConfigsInput = {
  /** aws_eks_cluster resources of the configuration (name and version as configured). */
  clusters: { address: string; name: unknown; version: unknown }[];
  /** aws_eks_identity_provider_config resources of the configuration. */
  configs: { address: string; cluster_name: unknown; oidc: unknown }[];
};

/**
 * Rules across resources, per cluster: config names unique, issuer URLs unique, and the number/size
 * limits that depend on the cluster's Kubernetes version (taken from the aws_eks_cluster of that name in
 * the same configuration; unknown → only the limits that hold for every version are checked).
 */
export function validateClusterConfigs(input: ClusterConfigsInput): AddressedIssue[] {
  const issues: AddressedIssue[] = [];
  const byCluster = new Map<string, { address: string; oidc: Record<string, unknown> }[]>();
  for (const c of input.configs) {
    if (!known(c.cluster_name) || typeof c.cluster_name !== 'string') continue;
    const oidc = firstBlock(c.oidc);
    if (!oidc) continue;
    const list = byCluster.get(c.cluster_name) ?? [];
    list.push({ address: c.address, oidc });
    byCluster.set(c.cluster_name, list);
  }
  // By name, not a search per cluster (quadratic in a fleet); the first of a name, as find() gave.
  const clustersByName = new Map<unknown, (typeof input.clusters)[number]>();
  for (const c of input.clusters) if (!clustersByName.has(c.name)) clustersByName.set(c.name, c);
  for (const [cluster, list] of byCluster) {
    for (const field of ['identity_provider_config_name', 'issuer_url'] as const) {
      const seen = new Map<string, string>();
      for (const { address, oidc } of list) {
        const v = oidc[field];
        if (!known(v) || typeof v !== 'string') continue;
        // Issuers differing only by a trailing slash are the same issuer to the API server.
        const key = field === 'issuer_url' ? v.replace(/\/+$/, '') : v;
        const first = seen.get(key);
        if (first !== undefined) {
          const what = field === 'issuer_url' ? 'issuer URL' : 'identity provider config name';
          issues.push({ address, path: ['oidc', 0, field], message: `${what} "${v}" is already used for cluster "${cluster}" by ${first}` });
        } else seen.set(key, address);
      }
    }
    const clusterRes = clustersByName.get(cluster);
    const version = clusterRes ? parseKubernetesVersion(clusterRes.version) : undefined;
    const last = list[list.length - 1].address;
    if (version !== undefined && version < 132 && list.length > LIMITS.oidcPerClusterBefore132) {
      issues.push({
        address: last,
        path: ['cluster_name'],
        message: `cluster "${cluster}" runs Kubernetes ${String(clusterRes?.version)}: EKS allows ${LIMITS.oidcPerClusterBefore132} OIDC identity provider before 1.32 (configured: ${list.length}: ${list.map((l) => l.address).join(', ')})`,
      });
    }
    if (list.length > LIMITS.oidcPerClusterFrom132) {
      issues.push({
        address: last,
        path: ['cluster_name'],
        message: `cluster "${cluster}" has ${list.length} OIDC identity providers: EKS allows at most ${LIMITS.oidcPerClusterFrom132}`,
      });
    }
    const total = list.reduce((n, l) => n + oidcConfigSize(l.oidc), 0);
    if (total >= LIMITS.oidcCombinedBytesFrom132) {
      issues.push({
        address: last,
        path: ['cluster_name'],
        message: `the OIDC identity providers of cluster "${cluster}" total ${total} bytes: EKS requires their combined size to be under 12 KB`,
      });
    }
  }
  return issues;
}
