import { Construct } from 'constructs';
import { EksIdentityProviderConfig } from '@cdktf/provider-aws/lib/eks-identity-provider-config';
import { resourceName } from './names';
import type { IdentityProviderSpec, SampleIdentity } from './types';
import { identityProviderErrors } from './validation';

export type OidcIdentityProviderProps = IdentityProviderSpec & {
  /** The cluster name as Terraform sees it (a reference to the cluster resource or data source). */
  clusterNameRef: string;
  /** The cluster's plain name, used for the resource name. */
  clusterName: string;
};

/**
 * One OIDC identity provider config associated to a cluster (`aws_eks_identity_provider_config`).
 * Sample identities are written into the resource's `//` metadata (Terraform ignores `//` keys), so the
 * identity preview can show how each one's username and groups change in a plan.
 */
export class OidcIdentityProvider extends Construct {
  public readonly resource: EksIdentityProviderConfig;
  public readonly spec: IdentityProviderSpec;

  constructor(scope: Construct, id: string, props: OidcIdentityProviderProps) {
    super(scope, id);
    const { clusterNameRef, clusterName, sampleIdentities, ...spec } = props;
    this.spec = { ...spec, ...(sampleIdentities ? { sampleIdentities } : {}) };
    this.resource = new EksIdentityProviderConfig(this, 'config', {
      clusterName: clusterNameRef,
      oidc: {
        identityProviderConfigName: spec.name,
        issuerUrl: spec.issuerUrl,
        clientId: spec.clientId,
        usernameClaim: spec.usernameClaim,
        usernamePrefix: spec.usernamePrefix,
        groupsClaim: spec.groupsClaim,
        groupsPrefix: spec.groupsPrefix,
        requiredClaims: spec.requiredClaims,
      },
      tags: spec.tags,
    });
    this.resource.overrideLogicalId(resourceName(clusterName, spec.name));
    if (sampleIdentities && sampleIdentities.length > 0) {
      this.resource.addOverride('//.eksidp.sample_identities', sampleIdentities satisfies SampleIdentity[]);
    }
    this.node.addValidation({ validate: () => identityProviderErrors(spec) });
  }
}
