import { Construct } from 'constructs';
import { Annotations } from 'cdktf';
import { mapIdentity, outcomeWord, pickOidcConfig } from '../identity';
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
      // cdktf's binding names the oidc block's fields as the EKS API does (identity/oidc-fields.ts).
      oidc: { identityProviderConfigName: spec.name, ...pickOidcConfig(spec) },
      tags: spec.tags,
    });
    this.resource.overrideLogicalId(resourceName(clusterName, spec.name));
    if (sampleIdentities && sampleIdentities.length > 0) {
      this.resource.addOverride('//.eksidp.sample_identities', sampleIdentities satisfies SampleIdentity[]);
    }
    this.node.addValidation({ validate: () => identityProviderErrors(spec) });
    // A sample identity its own config refuses is most likely a mistake in the sample or the config.
    for (const id of sampleIdentities ?? []) {
      const r = mapIdentity(pickOidcConfig(spec), id.claims);
      if (!r.accepted) Annotations.of(this).addWarning(`config ${spec.name}: sample identity ${id.name} is ${outcomeWord(r)} (${r.reason})`);
    }
  }
}
