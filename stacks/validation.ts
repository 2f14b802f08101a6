import { formatPath } from '../engine/protocol';
import { validateCluster, validateClusterConfigs, validateIdentityProviderConfig, type Issue } from '../providers/eks/validation';
import { resourceName } from './names';
import type { ClusterSpec, EnvironmentSpec, IdentityProviderSpec } from './types';

/**
 * Synth-time validation. The rules themselves live in providers/eks/validation.ts, so that synth and the
 * engine's plan enforce exactly the same ones; here specs are mapped to the Terraform shape and each
 * issue is rendered with the field path as it appears in the synthesized JSON (`oidc[0].issuer_url`).
 * cdktf prefixes every message with the construct path.
 */

const render = (issues: Issue[]): string[] => issues.map((i) => `${formatPath(i.path)}: ${i.message}`);

/** The spec as the resource's Terraform JSON (snake_case, oidc as a one-element block list). */
export function oidcBlock(spec: IdentityProviderSpec): Record<string, unknown> {
  const block: Record<string, unknown> = {
    identity_provider_config_name: spec.name,
    issuer_url: spec.issuerUrl,
    client_id: spec.clientId,
  };
  const optional: [string, unknown][] = [
    ['username_claim', spec.usernameClaim], ['username_prefix', spec.usernamePrefix],
    ['groups_claim', spec.groupsClaim], ['groups_prefix', spec.groupsPrefix], ['required_claims', spec.requiredClaims],
  ];
  for (const [k, v] of optional) if (v !== undefined) block[k] = v;
  return block;
}

export function identityProviderErrors(spec: IdentityProviderSpec): string[] {
  // Config names and issuers must be strings even when the spec file is plain JSON (a missing one
  // would otherwise read as "not known yet" and be skipped).
  const block = oidcBlock(spec);
  for (const k of ['identity_provider_config_name', 'issuer_url', 'client_id']) if (block[k] === undefined) block[k] = null;
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
    configs: spec.identityProviders.map((idp) => ({ address: address(idp), cluster_name: spec.name, oidc: [oidcBlock(idp)] })),
  });
  for (const i of issues) errors.push(`${i.address}: ${formatPath(i.path)}: ${i.message}`);
  return errors;
}

export function environmentErrors(env: EnvironmentSpec): string[] {
  const errors: string[] = [];
  if (!env.region) errors.push('region: required');
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
