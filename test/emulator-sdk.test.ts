import test, { type ExecutionContext } from 'ava';
import {
  AssociateIdentityProviderConfigCommand, BadRequestException, CreateClusterCommand, DeleteClusterCommand, DescribeClusterCommand,
  DescribeIdentityProviderConfigCommand, DescribeUpdateCommand, DisassociateIdentityProviderConfigCommand, EKSClient,
  InvalidParameterException, InvalidRequestException, ListClustersCommand, ListIdentityProviderConfigsCommand,
  ListTagsForResourceCommand, ListUpdatesCommand, NotFoundException, ResourceInUseException, ResourceLimitExceededException,
  ResourceNotFoundException, TagResourceCommand, UntagResourceCommand, UpdateClusterConfigCommand, UpdateClusterVersionCommand,
  type OidcIdentityProviderConfigRequest,
} from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorOptions } from '../emulator';

/** An in-process emulator on an OS-picked port and an SDK client for it; both stop with the test. */
async function setup(t: ExecutionContext, opts: EmulatorOptions = {}) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0, ...opts });
  t.teardown(() => em.close());
  const eks = new EKSClient({ region: 'us-east-1', endpoint: em.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  t.teardown(() => eks.destroy());
  return { em, eks };
}

const ROLE = 'arn:aws:iam::000000000000:role/eks';
const createCluster = (eks: EKSClient, name: string, version = '1.32', extra: Partial<ConstructorParameters<typeof CreateClusterCommand>[0]> = {}) =>
  eks.send(new CreateClusterCommand({ name, version, roleArn: ROLE, resourcesVpcConfig: { subnetIds: ['subnet-1', 'subnet-2'] }, ...extra }));
const oidc = (name: string, over: Partial<OidcIdentityProviderConfigRequest> = {}): OidcIdentityProviderConfigRequest =>
  ({ identityProviderConfigName: name, issuerUrl: `https://${name}.example.com`, clientId: 'kubernetes', ...over });
const associate = (eks: EKSClient, clusterName: string, cfg: OidcIdentityProviderConfigRequest, tags?: Record<string, string>, clientRequestToken?: string) =>
  eks.send(new AssociateIdentityProviderConfigCommand({ clusterName, oidc: cfg, tags, clientRequestToken }));
const describeConfig = (eks: EKSClient, clusterName: string, name: string) =>
  eks.send(new DescribeIdentityProviderConfigCommand({ clusterName, identityProviderConfig: { type: 'oidc', name } }));

async function waitFor<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a cluster goes CREATING → ACTIVE and DELETING → gone, with every field Terraform reads', async (t) => {
  const { eks } = await setup(t, { clusterCreateMs: 150, clusterDeleteMs: 100 });
  const created = await createCluster(eks, 'life', '1.31', { tags: { team: 'a' }, logging: { clusterLogging: [{ types: ['api', 'audit'], enabled: true }] } });
  t.is(created.cluster!.status, 'CREATING');
  const c = (await waitFor(() => eks.send(new DescribeClusterCommand({ name: 'life' })), (r) => r.cluster!.status === 'ACTIVE')).cluster!;
  t.is(c.status, 'ACTIVE');
  t.is(c.arn, 'arn:aws:eks:us-east-1:000000000000:cluster/life');
  t.true(c.createdAt instanceof Date && Math.abs(c.createdAt.getTime() - Date.now()) < 10_000);
  t.like(c, { name: 'life', version: '1.31', roleArn: ROLE, platformVersion: 'eks.1', tags: { team: 'a' } });
  t.regex(c.endpoint!, /^https:\/\/[0-9A-F]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com$/);
  t.regex(c.identity!.oidc!.issuer!, /^https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
  t.truthy(Buffer.from(c.certificateAuthority!.data!, 'base64').toString().includes('BEGIN CERTIFICATE'));
  t.like(c.resourcesVpcConfig, { subnetIds: ['subnet-1', 'subnet-2'], securityGroupIds: [], endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'] });
  t.regex(c.resourcesVpcConfig!.clusterSecurityGroupId!, /^sg-[0-9a-f]{17}$/);
  t.regex(c.resourcesVpcConfig!.vpcId!, /^vpc-[0-9a-f]{17}$/);
  t.deepEqual(c.kubernetesNetworkConfig, { serviceIpv4Cidr: '172.20.0.0/16', ipFamily: 'ipv4', elasticLoadBalancing: { enabled: false } });
  t.deepEqual(c.logging, { clusterLogging: [{ types: ['api', 'audit'], enabled: true }, { types: ['authenticator', 'controllerManager', 'scheduler'], enabled: false }] });
  t.deepEqual(c.accessConfig, { authenticationMode: 'CONFIG_MAP', bootstrapClusterCreatorAdminPermissions: true });
  t.deepEqual(c.upgradePolicy, { supportType: 'EXTENDED' });

  t.deepEqual((await eks.send(new ListClustersCommand({}))).clusters, ['life']);
  t.is((await eks.send(new DeleteClusterCommand({ name: 'life' }))).cluster!.status, 'DELETING');
  const gone = await waitFor(() => eks.send(new DescribeClusterCommand({ name: 'life' })).then(() => false, (e: unknown) => e instanceof ResourceNotFoundException), (v) => v);
  t.true(gone);
  await t.throwsAsync(eks.send(new DescribeClusterCommand({ name: 'life' })), { instanceOf: ResourceNotFoundException, message: 'No cluster found for name: life.' });
  t.deepEqual((await eks.send(new ListClustersCommand({}))).clusters, []);
});

test('CreateCluster validates its input and rejects a second cluster with the same name', async (t) => {
  const { eks } = await setup(t);
  await createCluster(eks, 'dup');
  await t.throwsAsync(createCluster(eks, 'dup'), { instanceOf: ResourceInUseException, message: 'Cluster already exists with name: dup' });
  await t.throwsAsync(createCluster(eks, 'bad..name'), { instanceOf: InvalidParameterException, message: /name 'bad\.\.name' does not match pattern/ });
  await t.throwsAsync(createCluster(eks, 'x'.repeat(101)), { instanceOf: InvalidParameterException, message: /name must be at most 100/ });
  await t.throwsAsync(createCluster(eks, 'v', '1.99'), { instanceOf: InvalidParameterException, message: /unsupported Kubernetes version 1\.99/ });
  await t.throwsAsync(eks.send(new CreateClusterCommand({ name: 'norole', roleArn: 'role', resourcesVpcConfig: { subnetIds: ['s'] } })), { instanceOf: InvalidParameterException, message: /roleArn/ });
  await t.throwsAsync(createCluster(eks, 'awstag', '1.32', { tags: { 'aws:x': '1' } }), { instanceOf: InvalidParameterException, message: /reserved prefix 'aws:'/ });
});

test('associating is a cluster update: UPDATING/InProgress/CREATING, a second update gets 409, then Successful/ACTIVE', async (t) => {
  // Long enough that the checks below see the update still running, even on a busy machine.
  const { eks } = await setup(t, { updateMs: 1500 });
  await createCluster(eks, 'c1');
  const r = await associate(eks, 'c1', oidc('corp', { usernameClaim: 'email', usernamePrefix: 'corp:', groupsClaim: 'groups', groupsPrefix: 'g:', requiredClaims: { aud: 'k8s' } }), { owner: 'id' });
  t.like(r.update, { status: 'InProgress', type: 'AssociateIdentityProviderConfig', errors: [] });
  t.deepEqual(r.tags, { owner: 'id' });
  t.is((await eks.send(new DescribeClusterCommand({ name: 'c1' }))).cluster!.status, 'UPDATING');
  t.is((await describeConfig(eks, 'c1', 'corp')).identityProviderConfig!.oidc!.status, 'CREATING');

  const busy = new RegExp(`^Cannot AssociateIdentityProviderConfig because cluster c1 currently has update ${r.update!.id} in progress$`);
  await t.throwsAsync(associate(eks, 'c1', oidc('second')), { instanceOf: ResourceInUseException, message: busy });
  await t.throwsAsync(eks.send(new UpdateClusterVersionCommand({ name: 'c1', version: '1.33' })), { instanceOf: ResourceInUseException, message: /Cannot VersionUpdate because cluster c1 currently has update/ });
  await t.throwsAsync(eks.send(new DeleteClusterCommand({ name: 'c1' })), { instanceOf: ResourceInUseException, message: /Cannot delete because cluster c1 currently has update/ });

  const u = await waitFor(() => eks.send(new DescribeUpdateCommand({ name: 'c1', updateId: r.update!.id })), (x) => x.update!.status !== 'InProgress');
  t.is(u.update!.status, 'Successful');
  const cfg = (await describeConfig(eks, 'c1', 'corp')).identityProviderConfig!.oidc!;
  t.deepEqual({ ...cfg, identityProviderConfigArn: undefined }, {
    identityProviderConfigName: 'corp', identityProviderConfigArn: undefined, clusterName: 'c1', issuerUrl: 'https://corp.example.com', clientId: 'kubernetes',
    usernameClaim: 'email', usernamePrefix: 'corp:', groupsClaim: 'groups', groupsPrefix: 'g:', requiredClaims: { aud: 'k8s' }, tags: { owner: 'id' }, status: 'ACTIVE',
  });
  t.regex(cfg.identityProviderConfigArn!, /^arn:aws:eks:us-east-1:000000000000:identityproviderconfig\/c1\/oidc\/corp\/[0-9a-f-]{36}$/);
  t.is((await eks.send(new DescribeClusterCommand({ name: 'c1' }))).cluster!.status, 'ACTIVE');
  t.deepEqual((await eks.send(new ListIdentityProviderConfigsCommand({ clusterName: 'c1' }))).identityProviderConfigs, [{ type: 'oidc', name: 'corp' }]);

  const d = await eks.send(new DisassociateIdentityProviderConfigCommand({ clusterName: 'c1', identityProviderConfig: { type: 'oidc', name: 'corp' } }));
  t.like(d.update, { status: 'InProgress', type: 'DisassociateIdentityProviderConfig' });
  t.is((await describeConfig(eks, 'c1', 'corp')).identityProviderConfig!.oidc!.status, 'DELETING');
  await waitFor(() => eks.send(new DescribeUpdateCommand({ name: 'c1', updateId: d.update!.id })), (x) => x.update!.status !== 'InProgress');
  await t.throwsAsync(describeConfig(eks, 'c1', 'corp'), { instanceOf: ResourceNotFoundException, message: /No identity provider config found for name: corp/ });
  t.deepEqual((await eks.send(new ListUpdatesCommand({ name: 'c1' }))).updateIds, [r.update!.id, d.update!.id]);
  await t.throwsAsync(eks.send(new DescribeUpdateCommand({ name: 'c1', updateId: 'nope' })), { instanceOf: ResourceNotFoundException });
});

test('OIDC config input is validated as EKS does', async (t) => {
  const { eks } = await setup(t);
  await createCluster(eks, 'v');
  const bad: [Partial<OidcIdentityProviderConfigRequest>, RegExp][] = [
    [{ issuerUrl: 'http://insecure.example.com' }, /issuerUrl "http:\/\/insecure.example.com" must use https:\/\//],
    [{ issuerUrl: 'not a url' }, /issuerUrl "not a url" must not contain whitespace/],
    [{ clientId: '' }, /clientId must be at least 1/],
    [{ usernamePrefix: 'system:x' }, /usernamePrefix must not contain 'system:'/],
    [{ groupsPrefix: 'a-system:' }, /groupsPrefix must not contain 'system:'/],
    [{ requiredClaims: { ['k'.repeat(64)]: 'v' } }, /requiredClaims key .* 1 to 63/],
    [{ requiredClaims: { k: 'v'.repeat(254) } }, /requiredClaims value for 'k' must be 1 to 253/],
    [{ requiredClaims: { k: '' } }, /requiredClaims value for 'k' must be 1 to 253/],
    [{ identityProviderConfigName: '../etc' }, /identityProviderConfigName/],
  ];
  for (const [over, message] of bad) await t.throwsAsync(associate(eks, 'v', oidc('p', over)), { instanceOf: InvalidParameterException, message }, JSON.stringify(over));
  await t.throwsAsync(associate(eks, 'v', oidc('p'), { 'aws:owner': 'x' }), { instanceOf: InvalidParameterException, message: /reserved prefix/ });
  await t.throwsAsync(associate(eks, 'missing', oidc('p')), { instanceOf: ResourceNotFoundException, message: 'No cluster found for name: missing.' });
  // The limits are inclusive.
  await associate(eks, 'v', oidc('p', { requiredClaims: { ['k'.repeat(63)]: 'v'.repeat(253) } }));
  t.is((await describeConfig(eks, 'v', 'p')).identityProviderConfig!.oidc!.requiredClaims!['k'.repeat(63)], 'v'.repeat(253));
});

test('one OIDC config per cluster below Kubernetes 1.32, ten from 1.32, unique issuers, under 12 KB combined', async (t) => {
  const { eks } = await setup(t);
  await createCluster(eks, 'old', '1.31');
  await associate(eks, 'old', oidc('a'));
  await t.throwsAsync(associate(eks, 'old', oidc('b')), { instanceOf: ResourceLimitExceededException, message: /Kubernetes 1\.31 allows at most 1/ });

  await createCluster(eks, 'new', '1.32');
  for (let i = 0; i < 10; i++) await associate(eks, 'new', oidc(`p${i}`));
  await t.throwsAsync(associate(eks, 'new', oidc('p10')), { instanceOf: ResourceLimitExceededException, message: /Kubernetes 1\.32 allows at most 10/ });
  t.is((await eks.send(new ListIdentityProviderConfigsCommand({ clusterName: 'new' }))).identityProviderConfigs!.length, 10);

  await createCluster(eks, 'iss', '1.33');
  await associate(eks, 'iss', oidc('a', { issuerUrl: 'https://same.example.com' }));
  await t.throwsAsync(associate(eks, 'iss', oidc('b', { issuerUrl: 'https://same.example.com' })), { instanceOf: InvalidParameterException, message: /already has an identity provider config with issuer URL https:\/\/same\.example\.com/ });
  await t.throwsAsync(associate(eks, 'iss', oidc('a', { issuerUrl: 'https://other.example.com' })), { instanceOf: ResourceInUseException, message: /a already exists/ });

  await createCluster(eks, 'big', '1.33');
  const claims = (n: number) => Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`claim${i}`, `${n}`.repeat(250)]));
  for (let i = 0; i < 2; i++) await associate(eks, 'big', oidc(`big${i}`, { requiredClaims: claims(i) }));
  await t.throwsAsync(associate(eks, 'big', oidc('big2', { requiredClaims: claims(2) })), { instanceOf: ResourceLimitExceededException, message: /combined size must stay under 12288 bytes/ });
});

test('the same clientRequestToken returns the original result; with a different request it is rejected', async (t) => {
  const { eks, em } = await setup(t, { updateMs: 10_000 });
  await createCluster(eks, 'idem');
  const first = await associate(eks, 'idem', oidc('a'), undefined, 'token-1');
  const again = await associate(eks, 'idem', oidc('a'), undefined, 'token-1');
  t.is(again.update!.id, first.update!.id);
  t.is(em.updates().length, 1);
  await t.throwsAsync(associate(eks, 'idem', oidc('a', { clientId: 'other' }), undefined, 'token-1'), { instanceOf: InvalidRequestException, message: /clientRequestToken token-1 was already used for a different AssociateIdentityProviderConfig request/ });
  const c1 = await createCluster(eks, 'idem2', '1.32', { clientRequestToken: 'ct' });
  const c2 = await createCluster(eks, 'idem2', '1.32', { clientRequestToken: 'ct' });
  t.is(c2.cluster!.arn, c1.cluster!.arn);
  t.is(c2.cluster!.endpoint, c1.cluster!.endpoint);
  await t.throwsAsync(createCluster(eks, 'idem2', '1.33', { clientRequestToken: 'ct' }), { instanceOf: InvalidRequestException });
  t.is(em.updates()[0]!.clientRequestToken, 'token-1');
});

test('every List operation pages with maxResults/nextToken and rejects a foreign or garbled token', async (t) => {
  const { eks } = await setup(t);
  const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
  for (const n of [...names].reverse()) await createCluster(eks, n, '1.33');
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await eks.send(new ListClustersCommand({ maxResults: 3, nextToken: token }));
    seen.push(...r.clusters!);
    token = r.nextToken;
    pages++;
  } while (token);
  t.deepEqual(seen, names);
  t.is(pages, 3);
  await t.throwsAsync(eks.send(new ListClustersCommand({ nextToken: 'garbage' })), { instanceOf: InvalidParameterException, message: /nextToken 'garbage' is not valid/ });
  await t.throwsAsync(eks.send(new ListClustersCommand({ maxResults: 101 })), { instanceOf: InvalidParameterException, message: /maxResults must be between 1 and 100/ });

  for (let i = 0; i < 3; i++) await associate(eks, 'page-0', oidc(`cfg${i}`));
  const p1 = await eks.send(new ListIdentityProviderConfigsCommand({ clusterName: 'page-0', maxResults: 2 }));
  t.deepEqual(p1.identityProviderConfigs!.map((c) => c.name), ['cfg0', 'cfg1']);
  const p2 = await eks.send(new ListIdentityProviderConfigsCommand({ clusterName: 'page-0', maxResults: 2, nextToken: p1.nextToken }));
  t.deepEqual(p2.identityProviderConfigs!.map((c) => c.name), ['cfg2']);
  t.is(p2.nextToken, undefined);
  // A token belongs to its list: one from clusters does not page configs.
  const clusterToken = (await eks.send(new ListClustersCommand({ maxResults: 1 }))).nextToken;
  await t.throwsAsync(eks.send(new ListIdentityProviderConfigsCommand({ clusterName: 'page-0', nextToken: clusterToken })), { instanceOf: InvalidParameterException });

  const u1 = await eks.send(new ListUpdatesCommand({ name: 'page-0', maxResults: 2 }));
  t.is(u1.updateIds!.length, 2);
  const u2 = await eks.send(new ListUpdatesCommand({ name: 'page-0', maxResults: 2, nextToken: u1.nextToken }));
  t.is(u2.updateIds!.length, 1);
  t.is(new Set([...u1.updateIds!, ...u2.updateIds!]).size, 3);
  await t.throwsAsync(eks.send(new ListUpdatesCommand({ name: 'page-1', nextToken: u1.nextToken })), { instanceOf: InvalidParameterException });
});

test('tags on cluster and config ARNs: Describe and ListTagsForResource show them; limits apply', async (t) => {
  const { eks } = await setup(t);
  const arn = (await createCluster(eks, 'tagged', '1.32', { tags: { a: '1' } })).cluster!.arn!;
  await eks.send(new TagResourceCommand({ resourceArn: arn, tags: { b: '2', c: '3' } }));
  await eks.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a', 'c'] }));
  t.deepEqual((await eks.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags, { b: '2' });
  t.deepEqual((await eks.send(new DescribeClusterCommand({ name: 'tagged' }))).cluster!.tags, { b: '2' });

  await associate(eks, 'tagged', oidc('cfg'), { x: '1' });
  const cfgArn = (await describeConfig(eks, 'tagged', 'cfg')).identityProviderConfig!.oidc!.identityProviderConfigArn!;
  await eks.send(new TagResourceCommand({ resourceArn: cfgArn, tags: { y: '2' } }));
  t.deepEqual((await eks.send(new ListTagsForResourceCommand({ resourceArn: cfgArn }))).tags, { x: '1', y: '2' });
  t.deepEqual((await describeConfig(eks, 'tagged', 'cfg')).identityProviderConfig!.oidc!.tags, { x: '1', y: '2' });

  await t.throwsAsync(eks.send(new TagResourceCommand({ resourceArn: arn, tags: { 'aws:k': 'v' } })), { instanceOf: BadRequestException, message: /reserved prefix/ });
  await t.throwsAsync(eks.send(new TagResourceCommand({ resourceArn: arn, tags: { ['k'.repeat(129)]: 'v' } })), { instanceOf: BadRequestException, message: /1 to 128/ });
  await t.throwsAsync(eks.send(new TagResourceCommand({ resourceArn: arn, tags: { k: 'v'.repeat(257) } })), { instanceOf: BadRequestException, message: /at most 256/ });
  const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
  await t.throwsAsync(eks.send(new TagResourceCommand({ resourceArn: arn, tags: fifty })), { instanceOf: BadRequestException, message: /between 1 and 50 tags, got 51/ });
  await t.throwsAsync(eks.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:eks:us-east-1:000000000000:cluster/none' })), { instanceOf: NotFoundException });
  await t.throwsAsync(eks.send(new ListTagsForResourceCommand({ resourceArn: 'not-an-arn' })), { instanceOf: BadRequestException });
  await t.throwsAsync(eks.send(new ListTagsForResourceCommand({ resourceArn: `${cfgArn.slice(0, -3)}000` })), { instanceOf: NotFoundException });
});

test('UpdateClusterVersion and UpdateClusterConfig run as updates and apply their change when they succeed', async (t) => {
  // The version update runs long enough to be seen in progress on a busy machine; the rest are quick.
  const { eks, em } = await setup(t, { updateMs: 1000 });
  await createCluster(eks, 'up', '1.31');
  await t.throwsAsync(eks.send(new UpdateClusterVersionCommand({ name: 'up', version: '1.33' })), { instanceOf: InvalidParameterException, message: 'Unsupported Kubernetes minor version update from 1.31 to 1.33' });
  const v = await eks.send(new UpdateClusterVersionCommand({ name: 'up', version: '1.32' }));
  t.like(v.update, { type: 'VersionUpdate', status: 'InProgress', params: [{ type: 'Version', value: '1.32' }, { type: 'PlatformVersion', value: 'eks.1' }] });
  t.is((await eks.send(new DescribeClusterCommand({ name: 'up' }))).cluster!.version, '1.31');
  em.setFaults({ updateMs: 20 });
  await waitFor(() => eks.send(new DescribeClusterCommand({ name: 'up' })), (r) => r.cluster!.status === 'ACTIVE');
  t.is((await eks.send(new DescribeClusterCommand({ name: 'up' }))).cluster!.version, '1.32');

  const l = await eks.send(new UpdateClusterConfigCommand({ name: 'up', logging: { clusterLogging: [{ types: ['audit'], enabled: true }] } }));
  t.is(l.update!.type, 'LoggingUpdate');
  await waitFor(() => eks.send(new DescribeClusterCommand({ name: 'up' })), (r) => r.cluster!.status === 'ACTIVE');
  const e = await eks.send(new UpdateClusterConfigCommand({ name: 'up', resourcesVpcConfig: { endpointPrivateAccess: true, publicAccessCidrs: ['10.0.0.0/8'] } }));
  t.is(e.update!.type, 'EndpointAccessUpdate');
  await waitFor(() => eks.send(new DescribeClusterCommand({ name: 'up' })), (r) => r.cluster!.status === 'ACTIVE');
  const a = await eks.send(new UpdateClusterConfigCommand({ name: 'up', accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } }));
  t.is(a.update!.type, 'AccessConfigUpdate');
  const c = (await waitFor(() => eks.send(new DescribeClusterCommand({ name: 'up' })), (r) => r.cluster!.status === 'ACTIVE')).cluster!;
  t.deepEqual(c.logging!.clusterLogging![0], { types: ['audit'], enabled: true });
  t.like(c.resourcesVpcConfig, { endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ['10.0.0.0/8'] });
  t.is(c.accessConfig!.authenticationMode, 'API_AND_CONFIG_MAP');

  await t.throwsAsync(eks.send(new UpdateClusterConfigCommand({ name: 'up', accessConfig: { authenticationMode: 'CONFIG_MAP' } })), { instanceOf: InvalidParameterException, message: /from API_AND_CONFIG_MAP to CONFIG_MAP/ });
  await t.throwsAsync(eks.send(new UpdateClusterConfigCommand({ name: 'up', logging: { clusterLogging: [{ types: ['audit'], enabled: true }] } })), { instanceOf: InvalidParameterException, message: /No changes needed/ });
  await t.throwsAsync(eks.send(new UpdateClusterConfigCommand({ name: 'up', logging: { clusterLogging: [{ types: ['api'], enabled: true }] }, upgradePolicy: { supportType: 'STANDARD' } })), { instanceOf: InvalidParameterException, message: /Only one type of update/ });
  await t.throwsAsync(eks.send(new UpdateClusterConfigCommand({ name: 'ghost', upgradePolicy: { supportType: 'STANDARD' } })), { instanceOf: ResourceNotFoundException });
});

test('DeleteCluster refuses a cluster still being created, and takes its configs with it once ACTIVE', async (t) => {
  const { eks, em } = await setup(t, { clusterCreateMs: 1500 });
  await createCluster(eks, 'del');
  await t.throwsAsync(eks.send(new DeleteClusterCommand({ name: 'del' })), { instanceOf: ResourceInUseException, message: 'Cannot delete because cluster del is currently being created' });
  await t.throwsAsync(associate(eks, 'del', oidc('early')), { instanceOf: ResourceInUseException, message: /cluster del is currently CREATING/ });
  em.setFaults({ clusterCreateMs: 0 });
  await createCluster(eks, 'del2');
  await associate(eks, 'del2', oidc('a'));
  const d = await eks.send(new DisassociateIdentityProviderConfigCommand({ clusterName: 'del2', identityProviderConfig: { type: 'oidc', name: 'a' }, clientRequestToken: 'dis-1' }));
  // A replay with the same token is the same update, not a second disassociation.
  const replay = await eks.send(new DisassociateIdentityProviderConfigCommand({ clusterName: 'del2', identityProviderConfig: { type: 'oidc', name: 'a' }, clientRequestToken: 'dis-1' }));
  t.is(replay.update!.id, d.update!.id);
  await associate(eks, 'del2', oidc('b'));
  await eks.send(new DeleteClusterCommand({ name: 'del2' }));
  await t.throwsAsync(eks.send(new DescribeClusterCommand({ name: 'del2' })), { instanceOf: ResourceNotFoundException });
  await t.throwsAsync(describeConfig(eks, 'del2', 'b'), { instanceOf: ResourceNotFoundException, message: 'No cluster found for name: del2.' });
  // A new cluster with the old name starts with no configs and no updates.
  await createCluster(eks, 'del2');
  t.deepEqual((await eks.send(new ListIdentityProviderConfigsCommand({ clusterName: 'del2' }))).identityProviderConfigs, []);
  t.deepEqual((await eks.send(new ListUpdatesCommand({ name: 'del2' }))).updateIds, []);
  await t.throwsAsync(eks.send(new DescribeUpdateCommand({ name: 'del2', updateId: d.update!.id })), { instanceOf: ResourceNotFoundException });
});
