import test from 'ava';
import { Testing, TerraformStack } from 'cdktf';
import { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { EksIdentityProviderConfig } from '@cdktf/provider-aws/lib/eks-identity-provider-config';
import { DataAwsEksCluster } from '@cdktf/provider-aws/lib/data-aws-eks-cluster';
import { OidcCluster } from '../stacks/cluster';
import { EksIdpStack } from '../stacks/eks-stack';

const spec = {
  name: 'prod-eu',
  version: '1.32',
  roleArn: 'arn:aws:iam::000000000000:role/eks',
  subnetIds: ['subnet-1', 'subnet-2'],
  tags: { team: 'platform' },
  identityProviders: [
    {
      name: 'okta', issuerUrl: 'https://example.okta.com', clientId: 'eks', usernameClaim: 'email', usernamePrefix: 'okta:',
      groupsClaim: 'groups', groupsPrefix: 'okta:', requiredClaims: { hd: 'example.com' }, tags: { idp: 'okta' },
      sampleIdentities: [{ name: 'alice', claims: { sub: 'alice', email: 'alice@example.com', email_verified: true } }],
    },
  ],
  rbacBindings: [{ role: 'cluster-admin', kind: 'ClusterRole' as const, groups: ['okta:admins'] }],
};

test('OidcCluster declares the cluster and its OIDC config with the typed props mapped to Terraform fields', (t) => {
  const synthesized = Testing.synthScope((scope) => new OidcCluster(scope, 'prod-eu', spec));
  t.true(Testing.toHaveResourceWithProperties(synthesized, EksCluster.tfResourceType, { name: 'prod-eu', version: '1.32', tags: { team: 'platform' } }));
  t.true(Testing.toHaveResourceWithProperties(synthesized, EksIdentityProviderConfig.tfResourceType, {
    oidc: {
      identity_provider_config_name: 'okta', issuer_url: 'https://example.okta.com', client_id: 'eks', username_claim: 'email',
      username_prefix: 'okta:', groups_claim: 'groups', groups_prefix: 'okta:', required_claims: { hd: 'example.com' },
    },
    tags: { idp: 'okta' },
  }));
  t.false(Testing.toHaveDataSource(synthesized, DataAwsEksCluster.tfResourceType));
});

test('resource names are readable and derived from cluster and config names; metadata carries samples and bindings', (t) => {
  const app = Testing.app();
  const stack = new TerraformStack(app, 's');
  new OidcCluster(stack, 'prod-eu', spec);
  // toTerraform() keeps the `//` metadata that Testing.synth strips.
  const json = JSON.parse(JSON.stringify(stack.toTerraform()));
  t.deepEqual(Object.keys(json.resource.aws_eks_cluster), ['prod_eu']);
  t.deepEqual(Object.keys(json.resource.aws_eks_identity_provider_config), ['prod_eu_okta']);
  const cfg = json.resource.aws_eks_identity_provider_config.prod_eu_okta;
  t.is(cfg.cluster_name, '${aws_eks_cluster.prod_eu.name}');
  t.deepEqual(cfg['//'].eksidp.sample_identities[0].name, 'alice');
  t.deepEqual(json.resource.aws_eks_cluster.prod_eu['//'].eksidp.rbac_bindings, spec.rbacBindings);
});

test('an existing cluster is adopted through the aws_eks_cluster data source, not created', (t) => {
  const synthesized = Testing.synthScope((scope) => new OidcCluster(scope, 'adopted', { ...spec, existing: true }));
  t.true(Testing.toHaveDataSourceWithProperties(synthesized, DataAwsEksCluster.tfResourceType, { name: 'prod-eu' }));
  t.false(Testing.toHaveResource(synthesized, EksCluster.tfResourceType));
  t.true(Testing.toHaveResourceWithProperties(synthesized, EksIdentityProviderConfig.tfResourceType, { cluster_name: '${data.aws_eks_cluster.prod_eu.name}' }));
});

test('an environment with an endpoint gets an AWS provider aimed at it with dummy keys and skip flags', (t) => {
  const app = Testing.app();
  const stack = new EksIdpStack(app, { name: 'local', region: 'us-east-1', endpoint: 'http://127.0.0.1:4599', clusters: [spec] });
  const json = JSON.parse(Testing.synth(stack));
  const p = json.provider.aws[0];
  t.deepEqual(p.endpoints, [{ eks: 'http://127.0.0.1:4599' }]);
  t.true(p.skip_credentials_validation && p.skip_requesting_account_id && p.skip_region_validation);
  t.is(json.terraform.backend.local.path, '../../../.eksidp/state/local.tfstate');
  // Local workspaces beside the default state, outside cdktf.out, for Terraform and eksidp alike.
  t.is(json.terraform.backend.local.workspace_dir, '../../../.eksidp/state/local.tfstate.d');
});

test('a real-AWS environment uses the default credential chain and pins the account', (t) => {
  const app = Testing.app();
  const stack = new EksIdpStack(app, { name: 'prod', region: 'eu-west-1', accountId: '222222222222', clusters: [{ ...spec, existing: true }] });
  const p = JSON.parse(Testing.synth(stack)).provider.aws[0];
  t.is(p.region, 'eu-west-1');
  t.deepEqual(p.allowed_account_ids, ['222222222222']);
  t.is(p.access_key, undefined);
  t.is(p.endpoints, undefined);
  t.is(p.assume_role, undefined);
  const withRole = new EksIdpStack(Testing.app(), {
    name: 'prod', region: 'eu-west-1', accountId: '222222222222', clusters: [{ ...spec, existing: true }],
    assumeRole: { roleArn: 'arn:aws:iam::222222222222:role/deployer', externalId: 'x' }, defaultTags: { env: 'prod' },
  });
  const q = JSON.parse(Testing.synth(withRole)).provider.aws[0];
  t.deepEqual(q.assume_role, [{ role_arn: 'arn:aws:iam::222222222222:role/deployer', session_name: 'eksidp', external_id: 'x' }]);
  t.deepEqual(q.default_tags, [{ tags: { env: 'prod' } }]);
});
