import { Construct } from 'constructs';
import { Annotations } from 'cdktf';
import { checkClusterBindings, pickOidcConfig } from '../identity';
import { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { DataAwsEksCluster } from '@cdktf/provider-aws/lib/data-aws-eks-cluster';
import { OidcIdentityProvider } from './identity-provider';
import { resourceName } from './names';
import type { ClusterSpec, IdentityProviderSpec } from './types';
import { clusterErrors } from './validation';

/**
 * An EKS cluster and the OIDC identity providers associated to it. The cluster is created
 * (`aws_eks_cluster`) or, with `existing: true`, adopted through the `aws_eks_cluster` data source.
 * Per-cluster rules (unique names and issuers, how many configs the Kubernetes version allows) are
 * validated here, at synth time, before anything reaches EKS.
 */
export class OidcCluster extends Construct {
  public readonly cluster?: EksCluster;
  public readonly adopted?: DataAwsEksCluster;
  public readonly identityProviders: OidcIdentityProvider[] = [];
  public readonly spec: ClusterSpec;

  constructor(scope: Construct, id: string, spec: ClusterSpec) {
    super(scope, id);
    this.spec = spec;
    const name = resourceName(spec.name);
    let clusterNameRef: string;
    if (spec.existing) {
      this.adopted = new DataAwsEksCluster(this, 'existing', { name: spec.name });
      this.adopted.overrideLogicalId(name);
      clusterNameRef = this.adopted.name;
    } else {
      this.cluster = new EksCluster(this, 'cluster', {
        name: spec.name,
        version: spec.version,
        roleArn: spec.roleArn ?? '',
        vpcConfig: {
          subnetIds: spec.subnetIds ?? [],
          securityGroupIds: spec.securityGroupIds,
          endpointPublicAccess: spec.endpointPublicAccess,
          endpointPrivateAccess: spec.endpointPrivateAccess,
        },
        tags: spec.tags,
      });
      this.cluster.overrideLogicalId(name);
      clusterNameRef = this.cluster.name;
    }
    if (spec.rbacBindings && spec.rbacBindings.length > 0) {
      (this.cluster ?? this.adopted)!.addOverride('//.eksidp.rbac_bindings', spec.rbacBindings);
    }
    spec.identityProviders.forEach((idp, i) => this.addIdentityProvider(idp, clusterNameRef, i));
    this.node.addValidation({ validate: () => clusterErrors(spec) });
    // Warnings, not errors: a binding no config can match is a likely typo, but the stack is valid.
    for (const message of bindingWarnings(spec)) Annotations.of(this).addWarning(message);
  }

  private addIdentityProvider(idp: IdentityProviderSpec, clusterNameRef: string, index: number): void {
    // A duplicate name must reach the per-cluster validation (clear message), not the constructs
    // library's "already a construct with name" error.
    const id = this.node.tryFindChild(idp.name) || !idp.name ? `${idp.name || 'config'}-${index}` : idp.name;
    this.identityProviders.push(new OidcIdentityProvider(this, id, { ...idp, clusterNameRef, clusterName: this.spec.name }));
  }
}

/**
 * The cluster's RBAC bindings against its configs: every user and group subject must carry the
 * prefix of at least one config (bindings are per cluster, so `dex:eng` next to an okta config is fine).
 */
export function bindingWarnings(spec: ClusterSpec): string[] {
  if (!spec.rbacBindings?.length || spec.identityProviders.length === 0) return [];
  const configs = spec.identityProviders.map((idp) => ({ name: idp.name, config: pickOidcConfig(idp) }));
  return checkClusterBindings(configs, spec.rbacBindings).map((f) => `cluster ${spec.name}: ${f.message}`);
}
