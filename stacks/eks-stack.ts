import { Construct } from 'constructs';
import { LocalBackend, S3Backend, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { OidcCluster } from './cluster';
import type { EnvironmentSpec } from './types';
import { environmentErrors } from './validation';

/**
 * Where state lives, relative to the stack's folder `cdktf.out/stacks/<stack>` (Terraform, cdktf and
 * eksidp all resolve it there): `<project>/.eksidp/state/<stack>.tfstate`, outside cdktf.out so it
 * survives a re-synth, in a git-ignored folder, and with no absolute path of this machine in the JSON.
 */
export function defaultStatePath(stack: string): string {
  return `../../../.eksidp/state/${stack}.tfstate`;
}

/** One environment: the AWS provider, its backend (local, or S3), and its clusters with their identity providers. */
export class EksIdpStack extends TerraformStack {
  public readonly clusters: OidcCluster[] = [];

  constructor(scope: Construct, env: EnvironmentSpec) {
    super(scope, env.name);
    if (env.backend) {
      const b = env.backend;
      const backend = new S3Backend(this, { bucket: b.bucket, key: b.key, region: b.region ?? env.region, ...(b.dynamodbTable ? { dynamodbTable: b.dynamodbTable } : {}) });
      // cdktf 0.21's S3Backend has no useLockfile: Terraform 1.11 and eksidp read it from the block.
      if (b.useLockfile !== false) backend.addOverride('use_lockfile', true);
    } else {
      // Workspaces other than default beside it (`<state>.d/<workspace>/terraform.tfstate`), not in cdktf.out.
      const statePath = env.statePath ?? defaultStatePath(env.name);
      new LocalBackend(this, { path: statePath, workspaceDir: `${statePath}.d` });
    }
    if (env.endpoint) {
      // The embedded emulator (or any EKS-compatible endpoint): dummy keys, and the skip flags keep
      // the provider from calling STS, IAM or the instance metadata service.
      new AwsProvider(this, 'aws', {
        region: env.region,
        accessKey: 'eksidp-local',
        secretKey: 'eksidp-local',
        skipCredentialsValidation: true,
        skipRequestingAccountId: true,
        skipMetadataApiCheck: 'true',
        skipRegionValidation: true,
        endpoints: [{ eks: env.endpoint }],
      });
    } else {
      // Real AWS: credentials come from the default chain (env, profile, SSO, web identity, instance
      // role), then the environment's role; the account pin makes a run with other credentials fail.
      new AwsProvider(this, 'aws', {
        region: env.region,
        ...(env.accountId ? { allowedAccountIds: [env.accountId] } : {}),
        ...(env.assumeRole ? { assumeRole: [{ roleArn: env.assumeRole.roleArn, sessionName: env.assumeRole.sessionName ?? 'eksidp', ...(env.assumeRole.externalId ? { externalId: env.assumeRole.externalId } : {}) }] } : {}),
        ...(env.defaultTags ? { defaultTags: [{ tags: env.defaultTags }] } : {}),
      });
    }
    env.clusters.forEach((spec, i) => {
      const id = this.node.tryFindChild(spec.name) || !spec.name ? `${spec.name || 'cluster'}-${i}` : spec.name;
      this.clusters.push(new OidcCluster(this, id, spec));
    });
    this.node.addValidation({ validate: () => environmentErrors(env) });
  }
}
