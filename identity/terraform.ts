import { firstBlock, isObject } from '../engine/util';
import { OIDC_CONFIG_FIELDS, OIDC_FIELD_LIST, type OidcField } from './oidc-fields';
import type { OidcConfig, RbacBinding, SampleIdentity } from './types';

/**
 * Reading identity data out of Terraform JSON (cdk.tf.json): the `oidc` block of an
 * `aws_eks_identity_provider_config`, and eksidp's own metadata that stacks put under each
 * resource's `//` key (Terraform ignores `//`):
 *   aws_eks_identity_provider_config: "//": {"eksidp": {"sample_identities": [...]}}
 *   aws_eks_cluster (resource or data):  "//": {"eksidp": {"rbac_bindings": [...]}}
 */

/** A problem in the identity data, naming the field (callers prefix the resource address). */
export class IdentityDataError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
    this.name = 'IdentityDataError';
  }
}

type Json = Record<string, unknown>;

/** A `${...}` interpolation: its value is known only to Terraform, at plan time. */
export function isTerraformReference(v: unknown): boolean {
  return typeof v === 'string' && v.includes('${');
}

function stringField(block: Json, key: string, required: boolean): string | undefined {
  const v = block[key];
  if (v === undefined || v === null) {
    if (required) throw new IdentityDataError(`oidc.${key} is missing`, `oidc.${key}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new IdentityDataError(`oidc.${key} must be a string, got ${typeof v}`, `oidc.${key}`);
  if (isTerraformReference(v)) {
    throw new IdentityDataError(`oidc.${key} is the reference ${v}, which can't be resolved offline (only Terraform knows it at plan time)`, `oidc.${key}`);
  }
  return v;
}

/**
 * The camelCase config from Terraform JSON's snake_case `oidc` block. Accepts the block itself or
 * the one-element list Terraform JSON also allows (`oidc[0]`). Throws IdentityDataError naming the
 * field for a missing/mistyped value or an unresolvable `${...}` reference.
 */
export function oidcFromTerraform(obj: unknown): OidcConfig {
  const block = firstBlock(obj);
  if (!block) throw new IdentityDataError('oidc block is missing or not an object', 'oidc');
  const config: Partial<Record<keyof OidcConfig, unknown>> = {};
  for (const { field, terraform, required, map } of OIDC_CONFIG_FIELDS) {
    const v = map ? claimsField(block, terraform) : stringField(block, terraform, required === true);
    if (v !== undefined) config[field] = v;
  }
  return config as OidcConfig;
}

function claimsField(block: Json, key: string): Record<string, string> | undefined {
  const rc = block[key];
  if (rc === undefined || rc === null) return undefined;
  if (isTerraformReference(rc)) throw new IdentityDataError(`oidc.${key} is the reference ${String(rc)}, which can't be resolved offline`, `oidc.${key}`);
  if (!isObject(rc)) throw new IdentityDataError(`oidc.${key} must be a map of strings`, `oidc.${key}`);
  const claims: Record<string, string> = {};
  for (const [k, v] of Object.entries(rc)) {
    if (typeof v !== 'string') throw new IdentityDataError(`oidc.${key}.${k} must be a string`, `oidc.${key}.${k}`);
    if (isTerraformReference(v)) throw new IdentityDataError(`oidc.${key}.${k} is the reference ${v}, which can't be resolved offline`, `oidc.${key}.${k}`);
    claims[k] = v;
  }
  return Object.keys(claims).length > 0 ? claims : undefined;
}

/** The snake_case `oidc` block for a config named `name`, its unset fields left out (the inverse of oidcFromTerraform). */
export function oidcToTerraform(config: OidcConfig, name: string): Json {
  const out: Json = {};
  const withName: Partial<Record<OidcField, unknown>> = { ...config, identityProviderConfigName: name };
  for (const { field, terraform, map } of OIDC_FIELD_LIST) {
    const v = withName[field];
    if (v !== undefined) out[terraform] = map && isObject(v) ? { ...v } : v;
  }
  return out;
}

/** Validates a JSON array of sample identities (from metadata or an --identities file). */
export function parseSampleIdentities(v: unknown, where = 'sample_identities'): SampleIdentity[] {
  if (!Array.isArray(v)) throw new IdentityDataError(`${where} must be a list of {name, claims}`, where);
  return v.map((item, i) => {
    if (!isObject(item) || typeof item.name !== 'string' || item.name === '') {
      throw new IdentityDataError(`${where}[${i}] needs a non-empty string "name"`, `${where}[${i}].name`);
    }
    if (!isObject(item.claims)) throw new IdentityDataError(`${where}[${i}] (${item.name}) needs a "claims" object`, `${where}[${i}].claims`);
    return { name: item.name, claims: { ...item.claims } };
  });
}

function stringList(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new IdentityDataError(`${field} must be a list of strings`, field);
  return [...(v as string[])];
}

/** Validates a JSON array of RBAC bindings. */
export function parseRbacBindings(v: unknown, where = 'rbac_bindings'): RbacBinding[] {
  if (!Array.isArray(v)) throw new IdentityDataError(`${where} must be a list of bindings`, where);
  return v.map((item, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(item) || typeof item.role !== 'string' || item.role === '') throw new IdentityDataError(`${at} needs a non-empty string "role"`, `${at}.role`);
    const b: RbacBinding = { role: item.role };
    if (item.kind !== undefined) {
      if (item.kind !== 'ClusterRole' && item.kind !== 'Role') throw new IdentityDataError(`${at}.kind must be "ClusterRole" or "Role"`, `${at}.kind`);
      b.kind = item.kind;
    }
    if (item.namespace !== undefined) {
      if (typeof item.namespace !== 'string') throw new IdentityDataError(`${at}.namespace must be a string`, `${at}.namespace`);
      b.namespace = item.namespace;
    }
    const users = stringList(item.users, `${at}.users`);
    if (users) b.users = users;
    const groups = stringList(item.groups, `${at}.groups`);
    if (groups) b.groups = groups;
    return b;
  });
}

/**
 * eksidp's metadata on one resource's JSON: sample identities (on identity provider configs) and
 * RBAC bindings (on clusters). Absent metadata is empty lists; malformed metadata throws
 * IdentityDataError naming the field under `//.eksidp`.
 */
export function identityMetadata(resourceJson: unknown): { sampleIdentities: SampleIdentity[]; rbacBindings: RbacBinding[] } {
  const meta = isObject(resourceJson) && isObject(resourceJson['//']) ? resourceJson['//'].eksidp : undefined;
  if (!isObject(meta)) return { sampleIdentities: [], rbacBindings: [] };
  return {
    sampleIdentities: meta.sample_identities === undefined ? [] : parseSampleIdentities(meta.sample_identities, '//.eksidp.sample_identities'),
    rbacBindings: meta.rbac_bindings === undefined ? [] : parseRbacBindings(meta.rbac_bindings, '//.eksidp.rbac_bindings'),
  };
}

export const CONFIG_TYPE = 'aws_eks_identity_provider_config';
/** The cluster type whose `//` metadata holds the RBAC bindings (a resource, or a data source for an adopted cluster). */
export const CLUSTER_TYPE = 'aws_eks_cluster';

export type ConfigEntry = { address: string; name: string; resource: Json };

/** Every identity provider config resource in a Terraform JSON document, by address. */
export function listIdentityProviderConfigs(tfJson: Json): ConfigEntry[] {
  const resources = isObject(tfJson.resource) ? tfJson.resource[CONFIG_TYPE] : undefined;
  if (!isObject(resources)) return [];
  return Object.entries(resources).filter(([, r]) => isObject(r)).map(([name, r]) => ({ address: `${CONFIG_TYPE}.${name}`, name, resource: r as Json }));
}

function oidcConfigName(resource: Json): string | undefined {
  const name = firstBlock(resource.oidc)?.identity_provider_config_name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Finds one config by its address (`aws_eks_identity_provider_config.NAME`), by its resource name,
 * or by its `identity_provider_config_name` when that names exactly one. Throws IdentityDataError
 * naming what was asked for and what exists.
 */
export function findIdentityProviderConfig(tfJson: Json, ref: string): ConfigEntry {
  const all = listIdentityProviderConfigs(tfJson);
  const known = all.map((c) => c.address).join(', ') || '(none)';
  if (ref.includes('.')) {
    const hit = all.find((c) => c.address === ref);
    if (!hit) throw new IdentityDataError(`no resource ${ref} in the stack; identity provider configs: ${known}`, ref);
    return hit;
  }
  const byResource = all.filter((c) => c.name === ref);
  if (byResource.length === 1) return byResource[0]!;
  const byConfigName = all.filter((c) => oidcConfigName(c.resource) === ref);
  if (byConfigName.length === 1) return byConfigName[0]!;
  if (byConfigName.length > 1) {
    throw new IdentityDataError(`config name '${ref}' is ambiguous: ${byConfigName.map((c) => c.address).join(', ')}; pass the resource address`, ref);
  }
  throw new IdentityDataError(`no identity provider config '${ref}' in the stack; identity provider configs: ${known}`, ref);
}

/**
 * The RBAC bindings recorded on the cluster a config belongs to: `cluster_name` is a reference to an
 * `aws_eks_cluster` resource or data source (`${aws_eks_cluster.X.name}`, `.id` too), or a literal
 * matching a cluster's `name`. Empty when the cluster or its metadata is not in the document.
 */
export function bindingsForConfig(tfJson: Json, configResource: Json): { cluster?: string; bindings: RbacBinding[] } {
  const clusterName = configResource.cluster_name;
  if (typeof clusterName !== 'string') return { bindings: [] };
  const candidates: Array<[string, Json]> = [];
  for (const [kind, root] of [['', tfJson.resource], ['data.', tfJson.data]] as const) {
    const clusters = isObject(root) ? root.aws_eks_cluster : undefined;
    if (!isObject(clusters)) continue;
    for (const [name, r] of Object.entries(clusters)) if (isObject(r)) candidates.push([`${kind}aws_eks_cluster.${name}`, r]);
  }
  const ref = /^\$\{((?:data\.)?aws_eks_cluster\.[A-Za-z0-9_-]+)\.(?:name|id)\}$/.exec(clusterName);
  const hit = ref ? candidates.find(([addr]) => addr === ref[1]) : candidates.find(([, r]) => r.name === clusterName);
  if (!hit) return { bindings: [] };
  return { cluster: hit[0], bindings: identityMetadata(hit[1]).rbacBindings };
}

/**
 * The other identity provider configs on the same cluster as `entry` (same `cluster_name` value:
 * the same reference or literal). Configs whose `oidc` block can't be read offline are left out.
 */
export function siblingConfigs(tfJson: Json, entry: ConfigEntry): Array<{ address: string; config: OidcConfig }> {
  const cluster = entry.resource.cluster_name;
  if (typeof cluster !== 'string') return [];
  const out: Array<{ address: string; config: OidcConfig }> = [];
  for (const c of listIdentityProviderConfigs(tfJson)) {
    if (c.address === entry.address || c.resource.cluster_name !== cluster) continue;
    try {
      out.push({ address: c.address, config: oidcFromTerraform(c.resource.oidc) });
    } catch (e) {
      if (!(e instanceof IdentityDataError)) throw e;
    }
  }
  return out;
}
