import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateClusterCommand, DescribeClusterCommand, EKSClient, ListClustersCommand, ListTagsForResourceCommand, AssociateIdentityProviderConfigCommand,
  DescribeIdentityProviderConfigCommand, TagResourceCommand,
} from '@aws-sdk/client-eks';
import {
  AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient, type Credentials,
} from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { type AccountsConfig, startEmulator, type EmulatorOptions } from '../emulator';
import { SigV4Signer } from '../providers/eks/sigv4';
import { captureIo, runCommand } from './helpers/in-process';
import { jwt, send, signedSend } from './helpers/aws-signing';

/**
 * STS on the emulator's port and accounts whose keys are SigV4-verified: identities, AssumeRole (and
 * chains), web identity, signature/token/expiry failures in AWS's shapes, clusters kept per account
 * and region, persistence. Clients are the SDK's (@aws-sdk/client-sts, client-eks) and raw requests
 * signed by @smithy/signature-v4, so a test can alter what was signed.
 */

const CI: AwsCredentialIdentity = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret/with+chars' };
const OPS: AwsCredentialIdentity = { accessKeyId: 'AKIAOPS0000000000003', secretAccessKey: 'ops-secret' };
const UNLISTED: AwsCredentialIdentity = { accessKeyId: 'AKIDANYTHING', secretAccessKey: 'whatever' };
const ISSUER = 'https://token.actions.githubusercontent.com';

const ACCOUNTS: AccountsConfig = {
  accounts: {
    '111111111111': {
      users: { ci: { accessKeyId: CI.accessKeyId, secretAccessKey: CI.secretAccessKey } },
      roles: {
        hop: { trust: { principals: ['111111111111'] }, maxSessionDuration: 14400 },
        short: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] }, credentialLifetimeSeconds: 2 },
      },
    },
    '222222222222': {
      roles: {
        deployer: { trust: { principals: ['arn:aws:iam::111111111111:role/hop'] } },
        guarded: { trust: { principals: ['111111111111'], externalId: 'ext-123' } },
        gha: { trust: { webIdentity: [{ issuer: ISSUER, audiences: ['sts.amazonaws.com'], subjects: ['repo:acme/infra:*'] }] } },
      },
    },
    '333333333333': { regions: ['eu-west-1'], users: { ops: { accessKeyId: OPS.accessKeyId, secretAccessKey: OPS.secretAccessKey } } },
  },
};

async function setup(t: ExecutionContext, opts: EmulatorOptions = {}) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0, accounts: ACCOUNTS, ...opts });
  t.teardown(() => em.close());
  return em;
}

function sts(t: ExecutionContext, url: string, credentials?: AwsCredentialIdentity, region = 'us-east-1'): STSClient {
  const c = new STSClient({ region, endpoint: url, maxAttempts: 1, ...(credentials ? { credentials } : {}) });
  t.teardown(() => c.destroy());
  return c;
}

function eks(t: ExecutionContext, url: string, credentials: AwsCredentialIdentity, region = 'us-east-1'): EKSClient {
  const c = new EKSClient({ region, endpoint: url, credentials, maxAttempts: 1 });
  t.teardown(() => c.destroy());
  return c;
}

const asIdentity = (c: Credentials | undefined): AwsCredentialIdentity => ({ accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! });
const clusterInput = (name: string) => ({ name, version: '1.32', roleArn: 'arn:aws:iam::111111111111:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } });

test('GetCallerIdentity answers per key: listed users in their account, unlisted keys as the default account\'s root', async (t) => {
  const em = await setup(t);
  t.like(await sts(t, em.url, CI).send(new GetCallerIdentityCommand({})), { Account: '111111111111', Arn: 'arn:aws:iam::111111111111:user/ci' });
  const ci = await sts(t, em.url, CI).send(new GetCallerIdentityCommand({}));
  t.regex(ci.UserId!, /^AIDA[A-Z2-7]{17}$/);
  t.like(await sts(t, em.url, OPS, 'eu-west-1').send(new GetCallerIdentityCommand({})), { Account: '333333333333', Arn: 'arn:aws:iam::333333333333:user/ops' });
  t.like(await sts(t, em.url, UNLISTED).send(new GetCallerIdentityCommand({})), { Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root', UserId: '000000000000' });
  t.deepEqual(em.stsCalls(), { GetCallerIdentity: 4 });
  t.deepEqual(em.calls(), {}, 'STS calls are counted apart from EKS operations');
});

test('the STS XML is AWS\'s: namespace, Result and ResponseMetadata/RequestId; errors as ErrorResponse with Type, Code, Message, RequestId', async (t) => {
  const em = await setup(t);
  const form = 'Action=GetCallerIdentity&Version=2011-06-15';
  const ok = await signedSend(em.url, { method: 'POST', path: '/', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, credentials: CI, service: 'sts' });
  t.is(ok.status, 200);
  t.regex(ok.body, /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<GetCallerIdentityResult>\s*<Arn>arn:aws:iam::111111111111:user\/ci<\/Arn>\s*<UserId>AIDA\w+<\/UserId>\s*<Account>111111111111<\/Account>\s*<\/GetCallerIdentityResult>\s*<ResponseMetadata>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ResponseMetadata>\s*<\/GetCallerIdentityResponse>\s*$/);
  const denied = await signedSend(em.url, { method: 'POST', path: '/', body: 'Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fdeployer&RoleSessionName=x1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, credentials: CI, service: 'sts' });
  t.is(denied.status, 403);
  t.regex(denied.body, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>AccessDenied<\/Code>\s*<Message>User: arn:aws:iam::111111111111:user\/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role\/deployer<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ErrorResponse>\s*$/);
  const unknown = await signedSend(em.url, { method: 'POST', path: '/', body: 'Action=GetSessionToken&Version=2011-06-15', headers: { 'content-type': 'application/x-www-form-urlencoded' }, credentials: CI, service: 'sts' });
  t.is(unknown.status, 400);
  t.regex(unknown.body, /<Code>InvalidAction<\/Code>/);
  t.like(em.stsCalls(), { GetCallerIdentity: 1, AssumeRole: 1, GetSessionToken: 1 });
});

test('IAM GetUser (which Terraform asks for the account id when it skips credentials validation) answers the caller\'s user, in IAM\'s XML', async (t) => {
  const em = await setup(t);
  const getUser = (credentials: AwsCredentialIdentity, extra = '', service: 'iam' | 'sts' = 'iam') => signedSend(em.url, { method: 'POST', path: '/', body: `Action=GetUser&Version=2010-05-08${extra}`, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, credentials, service });
  const ci = await getUser(CI);
  t.is(ci.status, 200, ci.body);
  t.regex(ci.body, /^<GetUserResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">\s*<GetUserResult>\s*<User>\s*<Path>\/<\/Path>\s*<UserName>ci<\/UserName>\s*<UserId>AIDA\w{17}<\/UserId>\s*<Arn>arn:aws:iam::111111111111:user\/ci<\/Arn>\s*<CreateDate>[\dT:-]+Z<\/CreateDate>\s*<\/User>\s*<\/GetUserResult>\s*<ResponseMetadata>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>/);
  t.regex((await getUser(UNLISTED)).body, /<Arn>arn:aws:iam::000000000000:root<\/Arn>/);
  const named = await getUser(CI, '&UserName=nobody');
  t.is(named.status, 404);
  t.regex(named.body, /^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">[\s\S]*<Code>NoSuchEntity<\/Code>/);
  const hop = asIdentity((await sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'x1' }))).Credentials);
  t.regex((await getUser(hop)).body, /<Code>ValidationError<\/Code>\s*<Message>Must specify userName when calling with non-User credentials<\/Message>/);
  const scopedForSts = await getUser(CI, '', 'sts');
  t.is(scopedForSts.status, 403);
  t.regex(scopedForSts.body, /<Code>SignatureDoesNotMatch<\/Code>\s*<Message>Credential should be scoped to correct service: 'iam'/);
  t.deepEqual(em.iamCalls(), { GetUser: 5 });
  t.deepEqual(em.stsCalls(), { AssumeRole: 1 });
});

test('AssumeRole and a chain of two: each hop\'s credentials are the role\'s, and the chain ends in the target account', async (t) => {
  const em = await setup(t);
  const first = await sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'hop-1', DurationSeconds: 7200 }));
  t.regex(first.Credentials!.AccessKeyId!, /^ASIA[A-Z0-9]{16}$/);
  const lifetime = first.Credentials!.Expiration!.getTime() - Date.now();
  t.true(lifetime > 7190_000 && lifetime <= 7200_000, `Expiration honours DurationSeconds (${lifetime} ms)`);
  t.like(first.AssumedRoleUser, { Arn: 'arn:aws:sts::111111111111:assumed-role/hop/hop-1' });
  t.is(first.PackedPolicySize, undefined, 'no session policy or tags');
  t.regex(first.AssumedRoleUser!.AssumedRoleId!, /^AROA[A-Z2-7]{17}:hop-1$/);

  const hop = asIdentity(first.Credentials);
  t.like(await sts(t, em.url, hop).send(new GetCallerIdentityCommand({})), { Account: '111111111111', Arn: 'arn:aws:sts::111111111111:assumed-role/hop/hop-1' });
  // Role chaining caps a session at one hour, as on AWS.
  await t.throwsAsync(sts(t, em.url, hop).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/deployer', RoleSessionName: 'hop-2', DurationSeconds: 7200 })), { name: 'ValidationError', message: /1 hour session limit for roles assumed by role chaining/ });
  const second = await sts(t, em.url, hop).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/deployer', RoleSessionName: 'hop-2' }));
  const deployer = asIdentity(second.Credentials);
  t.like(await sts(t, em.url, deployer).send(new GetCallerIdentityCommand({})), { Account: '222222222222', Arn: 'arn:aws:sts::222222222222:assumed-role/deployer/hop-2' });

  // The role trusts hop's sessions only: ci itself is refused.
  await t.throwsAsync(sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/deployer', RoleSessionName: 'direct' })), { name: 'AccessDenied', message: 'User: arn:aws:iam::111111111111:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/deployer' });
  await t.throwsAsync(sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/nobody', RoleSessionName: 'x1' })), { name: 'AccessDenied' });

  const c = eks(t, em.url, deployer);
  await c.send(new CreateClusterCommand(clusterInput('chained')));
  t.is((await c.send(new DescribeClusterCommand({ name: 'chained' }))).cluster!.arn, 'arn:aws:eks:us-east-1:222222222222:cluster/chained');
  const log = em.callLog().filter((r) => r.service === 'eks');
  t.deepEqual(log.map((r) => [r.operation, r.accessKeyId, r.verified, r.accountId, r.principal]), [
    ['CreateCluster', deployer.accessKeyId, true, '222222222222', 'arn:aws:sts::222222222222:assumed-role/deployer/hop-2'],
    ['DescribeCluster', deployer.accessKeyId, true, '222222222222', 'arn:aws:sts::222222222222:assumed-role/deployer/hop-2'],
  ]);
});

test('AssumeRole honours DurationSeconds bounds and ExternalId, and records every parameter it was sent', async (t) => {
  const em = await setup(t);
  const client = sts(t, em.url, CI);
  await t.throwsAsync(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'x1', DurationSeconds: 899 })), { name: 'ValidationError', message: /greater than or equal to 900/ });
  await t.throwsAsync(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/short', RoleSessionName: 'x1', DurationSeconds: 3601 })), { name: 'ValidationError', message: /exceeds the MaxSessionDuration set for this role/ });
  await t.throwsAsync(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/guarded', RoleSessionName: 'x1' })), { name: 'AccessDenied' }, 'the role requires an external id');
  await t.throwsAsync(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/guarded', RoleSessionName: 'x1', ExternalId: 'ext-999' })), { name: 'AccessDenied' });
  await t.throwsAsync(client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/guarded', RoleSessionName: 'x1', ExternalId: 'ext-123', Tags: [{ Key: 'a', Value: 'b' }], TransitiveTagKeys: ['c'] })), { name: 'InvalidParameterValue' });
  em.resetCalls();
  const r = await client.send(new AssumeRoleCommand({
    RoleArn: 'arn:aws:iam::222222222222:role/guarded', RoleSessionName: 'ci-run-7', DurationSeconds: 900, ExternalId: 'ext-123',
    Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:*","Resource":"*"}]}',
    PolicyArns: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, { arn: 'arn:aws:iam::222222222222:policy/eks-idp' }],
    Tags: [{ Key: 'team', Value: 'platform' }, { Key: 'run', Value: '7' }], TransitiveTagKeys: ['team'], SourceIdentity: 'alice',
  }));
  t.is(r.SourceIdentity, 'alice');
  t.is(r.PackedPolicySize, 6, 'the policy and tags (105 bytes) take 6% of the 2,048-byte allotment, rounded up');
  const lifetime = r.Credentials!.Expiration!.getTime() - Date.now();
  t.true(lifetime > 890_000 && lifetime <= 900_000, `${lifetime} ms`);
  const [entry] = em.callLog();
  t.like(entry, { service: 'sts', operation: 'AssumeRole', status: 200, accessKeyId: CI.accessKeyId, verified: true, accountId: '111111111111', principal: 'arn:aws:iam::111111111111:user/ci' });
  t.deepEqual(entry!.params, {
    RoleArn: 'arn:aws:iam::222222222222:role/guarded', RoleSessionName: 'ci-run-7', DurationSeconds: '900', ExternalId: 'ext-123',
    Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:*","Resource":"*"}]}', SourceIdentity: 'alice',
    PolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::222222222222:policy/eks-idp'],
    Tags: { team: 'platform', run: '7' }, TransitiveTagKeys: ['team'],
  });
});

test('AssumeRoleWithWebIdentity checks issuer, audience, subject and expiry of the token (not its signature) and needs no credentials', async (t) => {
  const em = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  const token = (claims: Record<string, unknown>) => jwt({ iss: ISSUER, aud: 'sts.amazonaws.com', sub: 'repo:acme/infra:ref:refs/heads/main', iat: now, exp: now + 300, ...claims });
  const client = sts(t, em.url, { accessKeyId: 'unused', secretAccessKey: 'unused' });
  const call = (WebIdentityToken: string, RoleArn = 'arn:aws:iam::222222222222:role/gha') => client.send(new AssumeRoleWithWebIdentityCommand({ RoleArn, RoleSessionName: 'gha-run', WebIdentityToken }));
  const ok = await call(token({}));
  t.like(ok, { SubjectFromWebIdentityToken: 'repo:acme/infra:ref:refs/heads/main', Audience: 'sts.amazonaws.com', Provider: ISSUER, AssumedRoleUser: { Arn: 'arn:aws:sts::222222222222:assumed-role/gha/gha-run' } });
  t.like(await sts(t, em.url, asIdentity(ok.Credentials)).send(new GetCallerIdentityCommand({})), { Account: '222222222222', Arn: 'arn:aws:sts::222222222222:assumed-role/gha/gha-run' });
  t.like(await call(token({ aud: ['other', 'sts.amazonaws.com'] })), { Audience: 'sts.amazonaws.com' });

  await t.throwsAsync(call(token({ sub: 'repo:evil/infra:ref:refs/heads/main' })), { name: 'AccessDenied', message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity' });
  await t.throwsAsync(call(token({ aud: 'someone-else' })), { name: 'AccessDenied' });
  await t.throwsAsync(call(token({ iss: 'https://evil.example.com' })), { name: 'InvalidIdentityTokenException', message: 'No OpenIDConnect provider found in your account for https://evil.example.com' });
  await t.throwsAsync(call(token({ exp: now - 10 })), { name: 'ExpiredTokenException', message: /Token expired/ });
  await t.throwsAsync(call('not-a-jwt'), { name: 'InvalidIdentityTokenException' });
  await t.throwsAsync(call(token({}), 'arn:aws:iam::222222222222:role/deployer'), { name: 'AccessDenied' }, 'a role without web identity trust');
  const unsigned = em.callLog().find((r) => r.operation === 'AssumeRoleWithWebIdentity');
  t.is(unsigned?.accessKeyId, undefined, 'the SDK sends it unsigned');
  t.is(unsigned?.params?.WebIdentityToken, '(present)');
});

test('a wrong signature gets 403 InvalidSignatureException (EKS) and SignatureDoesNotMatch (STS); unlisted keys are not checked', async (t) => {
  const em = await setup(t);
  const wrong = { ...CI, secretAccessKey: 'not-the-secret' };
  await t.throwsAsync(eks(t, em.url, wrong).send(new ListClustersCommand({})), { name: 'InvalidSignatureException', message: /The request signature we calculated does not match the signature you provided/ });
  await t.throwsAsync(sts(t, em.url, wrong).send(new GetCallerIdentityCommand({})), { name: 'SignatureDoesNotMatch' });
  t.like(em.callLog().at(-2), { service: 'eks', status: 403, error: 'InvalidSignatureException', accessKeyId: CI.accessKeyId });
  await t.notThrowsAsync(eks(t, em.url, { ...UNLISTED, secretAccessKey: 'anything-at-all' }).send(new ListClustersCommand({})));

  // Raw requests signed by the SDK's signer, then altered after signing.
  const create = { method: 'POST', path: '/clusters', body: JSON.stringify(clusterInput('raw')), credentials: CI };
  const changedBody = await signedSend(em.url, create, (h, b) => ({ headers: h, body: b!.replace('raw', 'rax') }));
  t.like(changedBody, { status: 403, type: 'InvalidSignatureException' });
  const changedHeader = await signedSend(em.url, { ...create, headers: { 'x-amz-target-note': 'a' } }, (h, b) => ({ headers: { ...h, 'x-amz-target-note': 'b' }, body: b }));
  t.like(changedHeader, { status: 403, type: 'InvalidSignatureException' });
  const otherService = await signedSend(em.url, { ...create, service: 'sts' });
  t.like(otherService, { status: 403, type: 'InvalidSignatureException' });
  t.regex(otherService.body, /Credential should be scoped to correct service: 'eks'/);
  const stale = await signedSend(em.url, { ...create, date: new Date(Date.now() - 20 * 60_000) });
  t.like(stale, { status: 403, type: 'InvalidSignatureException' });
  t.regex(stale.body, /Signature expired: \d{8}T\d{6}Z is now earlier than/);
  const garbled = await send(em.url, 'GET', '/clusters', { authorization: `AWS4-HMAC-SHA256 Credential=${CI.accessKeyId}/20260101/us-east-1/eks/aws4_request` });
  t.like(garbled, { status: 400, type: 'IncompleteSignatureException' });
  const presigned = await send(em.url, 'GET', `/clusters?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${CI.accessKeyId}%2F20260101%2Fus-east-1%2Feks%2Faws4_request&X-Amz-Signature=00`, {});
  t.like(presigned, { status: 400, type: 'IncompleteSignatureException' }, 'query-string auth is refused, not taken for an unsigned request');
  t.deepEqual((em.snapshot() as { clusters: unknown[] }).clusters, [], 'nothing was created by a refused request');

  const good = await signedSend(em.url, create);
  t.is(good.status, 200, good.body);
  // Paths and queries that need encoding: an ARN in the path, pagination tokens with + / = and spaces.
  const arn = 'arn:aws:eks:us-east-1:111111111111:cluster/raw';
  t.is((await signedSend(em.url, { method: 'GET', path: `/tags/${encodeURIComponent(arn)}`, credentials: CI })).status, 200);
  const bad = await signedSend(em.url, { method: 'GET', path: '/clusters', query: { maxResults: '5', nextToken: 'a+b/c==& x' }, credentials: CI });
  t.like(bad, { status: 400, type: 'InvalidParameterException' }, 'the signature passed; the token itself is refused by ListClusters');
  t.is((await signedSend(em.url, { method: 'DELETE', path: `/tags/${encodeURIComponent(arn)}`, query: { tagKeys: ['b', 'a c'] }, credentials: CI })).status, 200);
});

test('eksidp\'s own lean-read signer passes the emulator\'s verification (a signing regression would fail here)', async (t) => {
  const em = await setup(t);
  await eks(t, em.url, CI).send(new CreateClusterCommand(clusterInput('lean')));
  const u = new URL(em.url);
  const signer = new SigV4Signer();
  const cases: { method: string; path: string; query?: Record<string, string>; body?: string }[] = [
    { method: 'GET', path: '/clusters/lean' },
    { method: 'GET', path: '/clusters/lean/identity-provider-configs', query: { maxResults: '10' } },
    { method: 'POST', path: '/clusters/lean/identity-provider-configs/describe', body: JSON.stringify({ identityProviderConfig: { type: 'oidc', name: 'none' } }) },
  ];
  for (const c of cases) {
    const headers = signer.sign({ ...c, host: u.host, headers: c.body ? { 'content-type': 'application/json' } : undefined, region: 'us-east-1', service: 'eks', credentials: CI, date: new Date() });
    const qs = c.query ? `?${new URLSearchParams(c.query).toString()}` : '';
    const r = await send(em.url, c.method, c.path + qs, headers, c.body);
    t.not(r.type, 'InvalidSignatureException', `${c.method} ${c.path}: ${r.body}`);
    t.true(r.status === 200 || r.type === 'ResourceNotFoundException', `${c.method} ${c.path}: ${r.status} ${r.body}`);
  }
  const wrong = signer.sign({ method: 'GET', path: '/clusters/lean', host: u.host, region: 'us-east-1', service: 'eks', credentials: { ...CI, secretAccessKey: 'other' }, date: new Date() });
  t.like(await send(em.url, 'GET', '/clusters/lean', wrong), { status: 403, type: 'InvalidSignatureException' });
});

test('issued credentials expire at Expiration: then EKS answers 403 ExpiredTokenException and STS ExpiredToken; new ones work', async (t) => {
  const em = await setup(t);
  const get = () => sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/short', RoleSessionName: 'brief', DurationSeconds: 900 }));
  const r = await get();
  const lifetime = r.Credentials!.Expiration!.getTime() - Date.now();
  t.true(lifetime <= 2000 && lifetime > 0, `credentialLifetimeSeconds caps the lifetime and Expiration says so (${lifetime} ms)`);
  const creds = asIdentity(r.Credentials);
  await t.notThrowsAsync(eks(t, em.url, creds).send(new ListClustersCommand({})));
  await new Promise((res) => setTimeout(res, r.Credentials!.Expiration!.getTime() - Date.now() + 50));
  const e = await t.throwsAsync(eks(t, em.url, creds).send(new ListClustersCommand({})), { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
  t.is((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
  await t.throwsAsync(sts(t, em.url, creds).send(new GetCallerIdentityCommand({})), { name: 'ExpiredToken' });
  await t.notThrowsAsync(eks(t, em.url, asIdentity((await get()).Credentials)).send(new ListClustersCommand({})), 'refreshed credentials work');
});

test('an unknown or altered session token is refused (UnrecognizedClientException / InvalidClientTokenId)', async (t) => {
  const em = await setup(t);
  const creds = asIdentity((await sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'x1' }))).Credentials);
  const altered = { ...creds, sessionToken: `${creds.sessionToken!.slice(0, -4)}AAAA` };
  await t.throwsAsync(eks(t, em.url, altered).send(new ListClustersCommand({})), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  await t.throwsAsync(sts(t, em.url, altered).send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });
  // An issued-looking key the emulator does not know (e.g. from before a restart without --data) is not taken for an unlisted key.
  await t.throwsAsync(eks(t, em.url, { ...creds, accessKeyId: 'ASIAEMUAAAAAAAAAAAAA' }).send(new ListClustersCommand({})), { name: 'UnrecognizedClientException' });
});

test('clusters are kept per account and region, and their ARNs carry both', async (t) => {
  const em = await setup(t);
  const hop = asIdentity((await sts(t, em.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'x1' }))).Credentials);
  const deployer = asIdentity((await sts(t, em.url, hop).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::222222222222:role/deployer', RoleSessionName: 'x2' }))).Credentials);
  const who: [string, EKSClient, string, string][] = [
    ['ci', eks(t, em.url, CI), '111111111111', 'us-east-1'],
    ['ci-eu', eks(t, em.url, CI, 'eu-west-1'), '111111111111', 'eu-west-1'],
    ['deployer', eks(t, em.url, deployer), '222222222222', 'us-east-1'],
    ['unlisted', eks(t, em.url, UNLISTED), '000000000000', 'us-east-1'],
  ];
  for (const [, c] of who) await c.send(new CreateClusterCommand(clusterInput('same')));
  for (const [label, c, account, region] of who) {
    const d = (await c.send(new DescribeClusterCommand({ name: 'same' }))).cluster!;
    t.is(d.arn, `arn:aws:eks:${region}:${account}:cluster/same`, label);
    t.regex(d.endpoint!, new RegExp(`\\.${region}\\.eks\\.amazonaws\\.com$`), label);
    t.deepEqual((await c.send(new ListClustersCommand({}))).clusters, ['same'], label);
  }
  // Unsigned requests are the default account in the default region: the unlisted key's cluster.
  t.is(JSON.parse((await send(em.url, 'GET', '/clusters/same', {})).body).cluster.arn, 'arn:aws:eks:us-east-1:000000000000:cluster/same');
  const [, ci] = who[0]!;
  await ci.send(new AssociateIdentityProviderConfigCommand({ clusterName: 'same', oidc: { identityProviderConfigName: 'okta', issuerUrl: 'https://okta.example.com', clientId: 'k' } }));
  const cfg = (await ci.send(new DescribeIdentityProviderConfigCommand({ clusterName: 'same', identityProviderConfig: { type: 'oidc', name: 'okta' } }))).identityProviderConfig!.oidc!;
  t.regex(cfg.identityProviderConfigArn!, /^arn:aws:eks:us-east-1:111111111111:identityproviderconfig\/same\/oidc\/okta\//);
  // Another account's ARN is not found, even though a cluster of that name exists in the caller's account.
  await t.throwsAsync(ci.send(new TagResourceCommand({ resourceArn: 'arn:aws:eks:us-east-1:222222222222:cluster/same', tags: { a: 'b' } })), { name: 'NotFoundException' });
  t.deepEqual((await who[2]![1].send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:eks:us-east-1:222222222222:cluster/same' }))).tags, {});
  // An account limited to some regions is refused elsewhere.
  await t.throwsAsync(eks(t, em.url, OPS, 'us-east-1').send(new ListClustersCommand({})), { name: 'UnrecognizedClientException', message: /Region us-east-1 is not enabled for account 333333333333/ });
  t.deepEqual((await eks(t, em.url, OPS, 'eu-west-1').send(new ListClustersCommand({}))).clusters, []);
  const snap = em.snapshot() as { clusters: { name: string; accountId: string; region: string }[] };
  t.deepEqual(snap.clusters.map((c) => `${c.accountId}/${c.region}/${c.name}`).sort(), ['000000000000/us-east-1/same', '111111111111/eu-west-1/same', '111111111111/us-east-1/same', '222222222222/us-east-1/same']);
});

test('with verification off, any signature passes, but keys still name their accounts', async (t) => {
  const em = await setup(t, { verifySignatures: false });
  t.like(await sts(t, em.url, { ...CI, secretAccessKey: 'wrong' }).send(new GetCallerIdentityCommand({})), { Account: '111111111111' });
  await eks(t, em.url, { ...CI, secretAccessKey: 'wrong' }).send(new CreateClusterCommand(clusterInput('nv')));
  t.like((em.snapshot() as { clusters: object[] }).clusters[0], { accountId: '111111111111' });
  t.like(em.callLog().at(-1), { verified: false, accountId: '111111111111' });
});

test('regions declared for the default account apply to unlisted keys too', async (t) => {
  const em = await setup(t, { accounts: { accounts: { '000000000000': { regions: ['eu-west-1'] } } } });
  await t.throwsAsync(eks(t, em.url, UNLISTED, 'us-east-1').send(new ListClustersCommand({})), { name: 'UnrecognizedClientException', message: /Region us-east-1 is not enabled for account 000000000000/ });
  await t.notThrowsAsync(eks(t, em.url, UNLISTED, 'eu-west-1').send(new ListClustersCommand({})));
});

test('with a data dir, clusters per account, sessions and a version 1 data file survive a restart (v1 is migrated; unknown versions are refused)', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-acct-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const first = await startEmulator({ port: 0, dataDir, clusterCreateMs: 0, accounts: ACCOUNTS });
  const hop = asIdentity((await sts(t, first.url, CI).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/hop', RoleSessionName: 'kept' }))).Credentials);
  await eks(t, first.url, hop).send(new CreateClusterCommand(clusterInput('kept')));
  await first.close();
  const saved = JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8')) as { version: number };
  t.is(saved.version, 2);

  const second = await startEmulator({ port: 0, dataDir, accounts: ACCOUNTS });
  t.teardown(() => second.close());
  t.is((await eks(t, second.url, hop).send(new DescribeClusterCommand({ name: 'kept' }))).cluster!.arn, 'arn:aws:eks:us-east-1:111111111111:cluster/kept', 'the session still works after the restart');
  await t.throwsAsync(eks(t, second.url, UNLISTED).send(new DescribeClusterCommand({ name: 'kept' })), { name: 'ResourceNotFoundException' });

  // A version 1 file (one account and region, no scope fields) is read, each cluster's scope from its ARN.
  const v1Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-v1-'));
  t.teardown(() => fs.rmSync(v1Dir, { recursive: true, force: true }));
  const v1Cluster = {
    name: 'old', arn: 'arn:aws:eks:eu-west-1:000000000000:cluster/old', uid: 'u-1', createdAt: 1, version: '1.31', platformVersion: 'eks.1', roleArn: 'arn:aws:iam::000000000000:role/eks',
    status: 'ACTIVE', endpoint: 'https://x.gr7.eu-west-1.eks.amazonaws.com', certificateData: 'Y2VydA==', issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/X', tags: { a: 'b' },
    resourcesVpcConfig: { subnetIds: ['s'] }, logging: { clusterLogging: [] }, accessConfig: {}, upgradePolicy: {}, kubernetesNetworkConfig: {}, updateIds: ['u1'], configs: [],
  };
  const v1Update = { id: 'u1', clusterName: 'old', clusterUid: 'u-1', type: 'VersionUpdate', status: 'Successful', params: [], createdAt: 1, dueAt: 2, finishedAt: 2, fail: false, errors: [] };
  fs.writeFileSync(path.join(v1Dir, 'state.json'), JSON.stringify({ format: 'eksidp-emulator-state', version: 1, savedAt: 1, clusters: [v1Cluster], updates: [v1Update], idempotency: [] }));
  const migrated = await startEmulator({ port: 0, dataDir: v1Dir });
  t.teardown(() => migrated.close());
  const c = (await eks(t, migrated.url, UNLISTED, 'eu-west-1').send(new DescribeClusterCommand({ name: 'old' }))).cluster!;
  t.like(c, { arn: 'arn:aws:eks:eu-west-1:000000000000:cluster/old', tags: { a: 'b' } });
  t.like(migrated.updates()[0], { id: 'u1', accountId: '000000000000', region: 'eu-west-1' });

  const v9Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-v9-'));
  t.teardown(() => fs.rmSync(v9Dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(v9Dir, 'state.json'), JSON.stringify({ format: 'eksidp-emulator-state', version: 9 }));
  await t.throwsAsync(startEmulator({ port: 0, dataDir: v9Dir }), { message: /state\.json: not an emulator state file this version reads \(format eksidp-emulator-state, version 9; known: 1, 2\)/ });
});

test('the accounts document is checked strictly, settable through the admin API (secrets masked when read back) and through --accounts', async (t) => {
  const em = await setup(t, { accounts: undefined });
  t.like(await sts(t, em.url, CI).send(new GetCallerIdentityCommand({})), { Account: '000000000000' }, 'not listed yet');
  const post = (body: unknown) => send(em.url, 'POST', '/_emulator/accounts', { 'content-type': 'application/json' }, JSON.stringify(body));
  const set = await post(ACCOUNTS);
  t.is(set.status, 200);
  t.is(JSON.parse(set.body).accounts['111111111111'].users.ci.secretAccessKey, '***');
  t.like(await sts(t, em.url, CI).send(new GetCallerIdentityCommand({})), { Account: '111111111111' });
  const bad = await post({ accounts: { '111111111111': { users: { ci: { accessKeyId: 'AKIACI00000000000001', secret: 'x' } } } } });
  t.like(bad, { status: 400, type: 'InvalidParameterException' });
  t.regex(bad.body, /accounts: accounts\.111111111111\.users\.ci: unknown field 'secret'/);
  t.like(await sts(t, em.url, CI).send(new GetCallerIdentityCommand({})), { Account: '111111111111' }, 'a refused document changes nothing');
  t.throws(() => em.setAccounts({ accounts: { '12345': {} } }), { message: /accounts\.12345: an account id is 12 digits/ });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-acctfile-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'accounts.json'), JSON.stringify({ accounts: { '111111111111': { roles: { r: { trust: { principals: ['nobody'] } } } } } }));
  const io = captureIo(dir);
  t.is(await runCommand(['emulator', '--port', '0', '--accounts', 'accounts.json'], io), 1);
  t.regex(io.err(), /accounts\.json: accounts\.111111111111\.roles\.r\.trust\.principals\[0\] 'nobody' does not match/);
  t.is(io.out(), '', 'nothing was started');
});
