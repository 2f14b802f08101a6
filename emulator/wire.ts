import type { ClusterRec, ConfigRec, UpdateRecord } from './store';

/**
 * Records → the JSON AWS sends. Timestamps are epoch seconds (restJson1's default), and optional
 * members are left out rather than sent as null, so the SDK and Terraform see what AWS returns.
 */

const seconds = (ms: number) => ms / 1000;

export function clusterWire(c: ClusterRec): Record<string, unknown> {
  return strip({
    name: c.name,
    arn: c.arn,
    createdAt: seconds(c.createdAt),
    version: c.version,
    endpoint: c.endpoint,
    roleArn: c.roleArn,
    resourcesVpcConfig: c.resourcesVpcConfig,
    kubernetesNetworkConfig: c.kubernetesNetworkConfig,
    logging: c.logging,
    identity: { oidc: { issuer: c.issuer } },
    status: c.status,
    certificateAuthority: { data: c.certificateData },
    clientRequestToken: c.clientRequestToken,
    platformVersion: c.platformVersion,
    tags: { ...c.tags },
    encryptionConfig: c.encryptionConfig,
    health: { issues: [] },
    accessConfig: c.accessConfig,
    upgradePolicy: c.upgradePolicy,
    zonalShiftConfig: c.zonalShiftConfig,
    computeConfig: c.computeConfig,
    storageConfig: c.storageConfig,
    remoteNetworkConfig: c.remoteNetworkConfig,
    deletionProtection: c.deletionProtection,
    controlPlaneScalingConfig: c.controlPlaneScalingConfig,
  });
}

export function configWire(x: ConfigRec): Record<string, unknown> {
  return strip({
    identityProviderConfigName: x.name,
    identityProviderConfigArn: x.arn,
    clusterName: x.clusterName,
    issuerUrl: x.issuerUrl,
    clientId: x.clientId,
    usernameClaim: x.usernameClaim,
    usernamePrefix: x.usernamePrefix,
    groupsClaim: x.groupsClaim,
    groupsPrefix: x.groupsPrefix,
    requiredClaims: x.requiredClaims ? { ...x.requiredClaims } : undefined,
    tags: { ...x.tags },
    status: x.status,
  });
}

export function updateWire(u: UpdateRecord): Record<string, unknown> {
  return { id: u.id, status: u.status, type: u.type, params: u.params, createdAt: seconds(u.createdAt), errors: u.errors };
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
