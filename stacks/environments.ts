import type { EnvironmentSpec } from './types';

/**
 * Every environment as data. `local` targets the embedded EKS emulator; `staging` and `production`
 * are examples of real-AWS environments: they synthesize (and Terraform validates them) but the tests
 * never apply them. To point an environment at real AWS, see the README.
 */

const DEFAULT_LOCAL_ENDPOINT = 'http://127.0.0.1:4599';

const engineers = [
  { name: 'alice-admin', claims: { sub: '00u1alice', email: 'alice@example.com', email_verified: true, groups: ['platform-admins', 'eng'] } },
  { name: 'dev-dana', claims: { sub: '00u2dana', email: 'dana@example.com', email_verified: true, groups: ['eng'] } },
  { name: 'contractor-carl', claims: { sub: '00u3carl', email: 'carl@contractor.example.net', email_verified: true, groups: ['contractors'] } },
];

export function environments(env: NodeJS.ProcessEnv = process.env): EnvironmentSpec[] {
  return [
    {
      name: 'local',
      region: 'us-east-1',
      endpoint: env.EKSIDP_LOCAL_ENDPOINT || DEFAULT_LOCAL_ENDPOINT,
      clusters: [
        {
          name: 'dev',
          version: '1.32',
          roleArn: 'arn:aws:iam::000000000000:role/eks-cluster',
          subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
          tags: { team: 'platform', env: 'local' },
          identityProviders: [
            {
              name: 'okta',
              issuerUrl: 'https://example.okta.com/oauth2/default',
              clientId: 'eks-dev',
              usernameClaim: 'email',
              usernamePrefix: 'okta:',
              groupsClaim: 'groups',
              groupsPrefix: 'okta:',
              tags: { idp: 'okta' },
              sampleIdentities: engineers,
            },
            {
              name: 'dex',
              issuerUrl: 'https://dex.example.com',
              clientId: 'kubernetes',
              usernameClaim: 'sub',
              usernamePrefix: 'dex:',
              groupsClaim: 'groups',
              groupsPrefix: 'dex:',
              requiredClaims: { hd: 'example.com' },
            },
          ],
          rbacBindings: [
            { role: 'cluster-admin', kind: 'ClusterRole', groups: ['okta:platform-admins'] },
            { role: 'edit', kind: 'ClusterRole', groups: ['okta:eng', 'dex:eng'] },
          ],
        },
        {
          name: 'legacy',
          version: '1.31',
          roleArn: 'arn:aws:iam::000000000000:role/eks-cluster',
          subnetIds: ['subnet-0a1b2c3d4e5f60003', 'subnet-0a1b2c3d4e5f60004'],
          tags: { team: 'platform', env: 'local' },
          identityProviders: [
            {
              name: 'entra',
              issuerUrl: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0',
              clientId: '11111111-2222-3333-4444-555555555555',
              usernameClaim: 'preferred_username',
              usernamePrefix: 'entra:',
              groupsClaim: 'groups',
              groupsPrefix: 'entra:',
            },
          ],
        },
      ],
    },
    {
      name: 'staging',
      region: 'eu-west-1',
      accountId: '111111111111',
      clusters: [
        {
          name: 'staging-eu',
          existing: true,
          version: '1.32',
          identityProviders: [
            {
              name: 'okta',
              issuerUrl: 'https://example.okta.com/oauth2/default',
              clientId: 'eks-staging',
              usernameClaim: 'email',
              usernamePrefix: 'okta:',
              groupsClaim: 'groups',
              groupsPrefix: 'okta:',
              tags: { env: 'staging' },
              sampleIdentities: engineers,
            },
          ],
        },
      ],
    },
    {
      name: 'production',
      region: 'us-east-1',
      accountId: '222222222222',
      // A team's state: in S3, locked with a .tflock object (add dynamodbTable to also lock in
      // DynamoDB). CI and people read and lock the same object (README, "For a team").
      backend: { bucket: 'example-eksidp-state', key: 'eksidp/production.tfstate' },
      // CI's credentials (a GitHub Actions OIDC role, say) assume the deployment role of the account.
      assumeRole: { roleArn: 'arn:aws:iam::222222222222:role/eksidp-deployer' },
      defaultTags: { 'managed-by': 'eksidp', env: 'production' },
      clusters: ['prod-us-1', 'prod-us-2'].map((name) => ({
        name,
        existing: true,
        version: '1.31',
        identityProviders: [
          {
            name: 'okta',
            issuerUrl: 'https://example.okta.com/oauth2/default',
            clientId: `eks-${name}`,
            usernameClaim: 'email',
            usernamePrefix: 'okta:',
            groupsClaim: 'groups',
            groupsPrefix: 'okta:',
            tags: { env: 'production' },
            sampleIdentities: engineers,
          },
        ],
        rbacBindings: [{ role: 'cluster-admin', kind: 'ClusterRole' as const, groups: ['okta:platform-admins'] }],
      })),
    },
  ];
}
