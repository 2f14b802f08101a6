import { formatPath } from '../engine/protocol';
import { OIDC_FIELD_LIST, oidcToTerraform } from '../identity';
import { validateCluster, validateClusterConfigs, validateIdentityProviderConfig, type Issue } from '../providers/eks/validation';
import { resourceName } from './names';
import { ENVIRONMENT_FIELDS, type ClusterSpec, type EnvironmentSpec, type Fields, type IdentityProviderSpec } from './types';

/**
 * Synth-time validation. The rules themselves live in providers/eks/validation.ts, so that synth and the
 * engine's plan enforce exactly the same ones; here specs are mapped to the Terraform shape and each
 * issue is rendered with the field path as it appears in the synthesized JSON (`oidc[0].issuer_url`).
 * cdktf prefixes every message with the construct path.
 */

const render = (issues: Issue[]): string[] => issues.map((i) => `${formatPath(i.path)}: ${i.message}`);

export function identityProviderErrors(spec: IdentityProviderSpec): string[] {
  // Config names and issuers must be strings even when the spec file is plain JSON (a missing one
  // would otherwise read as "not known yet" and be skipped).
  const block = oidcToTerraform(spec, spec.name);
  for (const { terraform, required } of OIDC_FIELD_LIST) if (required && block[terraform] === undefined) block[terraform] = null;
  return render(validateIdentityProviderConfig({ oidc: [block], tags: spec.tags }));
}

export function clusterErrors(spec: ClusterSpec): string[] {
  const errors = render(validateCluster({ name: spec.name, version: spec.version, tags: spec.tags }));
  if (!spec.existing) {
    if (!spec.roleArn) errors.push('roleArn: required for a cluster eksidp creates (or set existing: true to adopt a cluster)');
    if (!spec.subnetIds || spec.subnetIds.length === 0) errors.push('vpc_config[0].subnet_ids: at least one subnet is required for a cluster eksidp creates');
  }
  const address = (idp: IdentityProviderSpec) => `aws_eks_identity_provider_config.${resourceName(spec.name, idp.name)}`;
  const issues = validateClusterConfigs({
    clusters: [{ address: `aws_eks_cluster.${resourceName(spec.name)}`, name: spec.name, version: spec.version }],
    configs: spec.identityProviders.map((idp) => ({ address: address(idp), cluster_name: spec.name, oidc: [oidcToTerraform(idp, idp.name)] })),
  });
  for (const i of issues) errors.push(`${i.address}: ${formatPath(i.path)}: ${i.message}`);
  return errors;
}

export function environmentErrors(env: EnvironmentSpec): string[] {
  const errors: string[] = unknownKeyErrors(env);
  if (!env.region) errors.push('region: required');
  if (env.backend && env.statePath !== undefined) errors.push('statePath: a local state path and an S3 backend cannot both be set (statePath is for the local backend)');
  if (env.backend && (!env.backend.bucket || !env.backend.key)) errors.push('backend: bucket and key are required');
  if (env.backend && env.backend.useLockfile === false && !env.backend.dynamodbTable) errors.push('backend: with useLockfile false, set dynamodbTable: a team state needs a lock');
  if (env.endpoint !== undefined) {
    try {
      new URL(env.endpoint);
    } catch {
      errors.push(`endpoint: "${env.endpoint}" is not a valid URL (set EKSIDP_LOCAL_ENDPOINT to e.g. http://127.0.0.1:4599)`);
    }
  }
  // Two clusters whose names map to the same Terraform resource name would overwrite each other.
  const seen = new Map<string, string>();
  for (const c of env.clusters) {
    const rn = resourceName(c.name);
    const other = seen.get(rn);
    if (other !== undefined) errors.push(`clusters: "${c.name}" and "${other}" ${other === c.name ? 'are declared twice' : `both map to the resource name ${rn}`}`);
    else seen.set(rn, c.name);
  }
  return errors;
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short names. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `key` (case ignored), when it is close enough to be a likely typo. */
export function nearestName(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = distance(key.toLowerCase(), k.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Keys the environment data does not define, at every level (ENVIRONMENT_FIELDS, derived from the
 * types): synth does not type-check the app, and a misspelt optional field would be dropped silently.
 * Each error names the key, where it is (path, and the cluster / provider names) and the nearest known key.
 */
export function unknownKeyErrors(env: EnvironmentSpec): string[] {
  const errors: string[] = [];
  const walk = (value: unknown, fields: Fields, at: string, names: string[]) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push(`${at || '(environment)'}: must be an object${names.length ? ` (${names.join(', ')})` : ''}`);
      return;
    }
    const known = Object.keys(fields);
    for (const [key, v] of Object.entries(value)) {
      // Own keys only: `constructor` or `toString` in the data are unknown keys, not Object.prototype's.
      const shape = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (shape === undefined) {
        const near = nearestName(key, known);
        const where = names.length ? ` (${names.join(', ')})` : '';
        errors.push(`${at ? `${at}.` : ''}${key}${where}: unknown key "${key}"${near ? `: did you mean ${near}?` : `; known keys here: ${known.join(', ')}`}`);
        continue;
      }
      if (v === undefined || shape === 'value' || shape === 'map') continue;
      const list = Array.isArray(shape) ? (shape as readonly [Fields])[0] : undefined;
      if (list) {
        if (!Array.isArray(v)) { errors.push(`${at ? `${at}.` : ''}${key}: must be a list`); continue; }
        v.forEach((item: unknown, i: number) => {
          const name = typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : undefined;
          const label = key === 'clusters' ? 'cluster' : key === 'identityProviders' ? 'identity provider' : key === 'sampleIdentities' ? 'sample identity' : key === 'rbacBindings' ? 'RBAC binding' : key;
          walk(item, list, `${at ? `${at}.` : ''}${key}[${i}]`, name !== undefined ? [...names, `${label} "${name}"`] : names);
        });
      } else walk(v, shape as Fields, `${at ? `${at}.` : ''}${key}`, names);
    }
  };
  walk(env, ENVIRONMENT_FIELDS, '', []);
  return errors;
}
