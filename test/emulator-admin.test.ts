import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CreateClusterCommand, DescribeClusterCommand, DescribeIdentityProviderConfigCommand, EKSClient, AssociateIdentityProviderConfigCommand, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import { send } from './helpers/aws-signing';

/**
 * The admin API's out-of-band changes (what someone does behind eksidp's back, to try drift with),
 * and how fast the emulator stops.
 */

const KEYS = { accessKeyId: 'AKIDADMINTEST', secretAccessKey: 'x' };

async function setup(t: ExecutionContext) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0 });
  t.teardown(() => em.close());
  const eks = new EKSClient({ region: 'us-east-1', endpoint: em.url, credentials: KEYS, maxAttempts: 1 });
  t.teardown(() => eks.destroy());
  await eks.send(new CreateClusterCommand({ name: 'dev', version: '1.32', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['s'] }, tags: { team: 'platform', env: 'dev' } }));
  await eks.send(new AssociateIdentityProviderConfigCommand({ clusterName: 'dev', oidc: { identityProviderConfigName: 'okta', issuerUrl: 'https://okta.example.com', clientId: 'k' }, tags: { idp: 'okta' } }));
  em.resetCalls();
  const admin = async (route: string, body: unknown) => {
    const r = await send(em.url, 'POST', `/_emulator/out-of-band/${route}`, { 'content-type': 'application/json' }, JSON.stringify(body));
    return { ...r, json: JSON.parse(r.body) as Record<string, unknown> };
  };
  const describeConfig = async (name = 'okta') => (await eks.send(new DescribeIdentityProviderConfigCommand({ clusterName: 'dev', identityProviderConfig: { type: 'oidc', name } }))).identityProviderConfig!.oidc!;
  return { em, eks, admin, describeConfig };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (the transition is due after the emulator's duration), for at most 10 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (const end = Date.now() + 10_000; Date.now() < end; await sleep(50)) if (await check()) return true;
  return false;
}
const gone = (p: Promise<unknown>) => p.then(() => false, (e: unknown) => e instanceof ResourceNotFoundException);

test('out-of-band tag edits change cluster and config tags as TagResource/UntagResource would, uncounted; a bad request changes nothing', async (t) => {
  const { em, eks, admin, describeConfig } = await setup(t);
  const r = await admin('tags', { cluster: 'dev', set: { owner: 'someone-else', env: 'prod' }, remove: ['team'] });
  t.is(r.status, 200, r.body);
  t.deepEqual(r.json, { tags: { env: 'prod', owner: 'someone-else' } });
  t.deepEqual((await eks.send(new DescribeClusterCommand({ name: 'dev' }))).cluster!.tags, { env: 'prod', owner: 'someone-else' });
  t.like(await admin('tags', { cluster: 'dev', config: 'okta', set: { idp: 'entra' } }), { status: 200 });
  t.deepEqual((await describeConfig()).tags, { idp: 'entra' });

  t.like(await admin('tags', { cluster: 'dev', set: { 'aws:reserved': 'x' }, remove: ['env'] }), { status: 400, type: 'BadRequestException' });
  t.like(await admin('tags', { cluster: 'dev', remove: [] }), { status: 400 });
  t.like(await admin('tags', { cluster: 'dev', sets: { a: 'b' } }), { status: 400, type: 'InvalidParameterException' });
  t.like(await admin('tags', { cluster: 'nope', set: { a: 'b' } }), { status: 404, type: 'ResourceNotFoundException' });
  t.deepEqual((await eks.send(new DescribeClusterCommand({ name: 'dev' }))).cluster!.tags, { env: 'prod', owner: 'someone-else' }, 'unchanged by refused requests');
  t.deepEqual(em.calls(), { DescribeCluster: 2, DescribeIdentityProviderConfig: 1 }, 'out-of-band changes are not API calls');
});

test('an out-of-band disassociation passes through DELETING for updateMs, as a real one; a rogue association appears CREATING then ACTIVE', async (t) => {
  const { em, eks, admin, describeConfig } = await setup(t);
  // Long enough that the checks right after each call see the in-between state even on a busy machine.
  em.setFaults({ updateMs: 2000 });
  const off = await admin('disassociate', { cluster: 'dev', config: 'okta' });
  t.is(off.status, 200, off.body);
  t.like(off.json, { update: { type: 'DisassociateIdentityProviderConfig', status: 'InProgress' } });
  t.is((await describeConfig()).status, 'DELETING');
  t.is((await eks.send(new DescribeClusterCommand({ name: 'dev' }))).cluster!.status, 'UPDATING');
  // The cluster is busy, as on AWS: a second change waits for the first.
  t.like(await admin('associate', { cluster: 'dev', oidc: { identityProviderConfigName: 'rogue', issuerUrl: 'https://rogue.example.net', clientId: 'x' } }), { status: 409, type: 'ResourceInUseException' });
  t.true(await eventually(() => gone(describeConfig())), 'gone once the update is due');

  const rogue = await admin('associate', { cluster: 'dev', oidc: { identityProviderConfigName: 'rogue', issuerUrl: 'https://rogue.example.net', clientId: 'x', usernameClaim: 'sub' }, tags: { planted: 'yes' } });
  t.is(rogue.status, 200, rogue.body);
  t.like(await describeConfig('rogue'), { status: 'CREATING', issuerUrl: 'https://rogue.example.net', tags: { planted: 'yes' } });
  t.true(await eventually(async () => (await describeConfig('rogue')).status === 'ACTIVE'));
  t.like(await admin('disassociate', { cluster: 'dev', config: 'nope' }), { status: 404 });
  t.like(await admin('associate', { cluster: 'dev', oidc: { identityProviderConfigName: 'bad', issuerUrl: 'http://insecure.example', clientId: 'x' } }), { status: 400, type: 'InvalidParameterException' });
  t.deepEqual(em.updates().map((u) => [u.type, u.configName, u.status]), [
    ['AssociateIdentityProviderConfig', 'okta', 'Successful'],
    ['DisassociateIdentityProviderConfig', 'okta', 'Successful'],
    ['AssociateIdentityProviderConfig', 'rogue', 'Successful'],
  ]);
});

test('an out-of-band cluster deletion passes through DELETING, in the account and region named', async (t) => {
  const { em, eks, admin } = await setup(t);
  em.setFaults({ clusterDeleteMs: 2000 });
  t.like(await admin('delete-cluster', { cluster: 'dev', accountId: '111111111111' }), { status: 404 }, 'another account has no such cluster');
  t.like(await admin('delete-cluster', { cluster: 'dev', region: 'eu-west-1' }), { status: 404 });
  const del = await admin('delete-cluster', { cluster: 'dev', accountId: '000000000000', region: 'us-east-1' });
  t.is(del.status, 200, del.body);
  t.like(del.json, { cluster: { name: 'dev', status: 'DELETING' } });
  t.is((await eks.send(new DescribeClusterCommand({ name: 'dev' }))).cluster!.status, 'DELETING');
  t.true(await eventually(() => gone(eks.send(new DescribeClusterCommand({ name: 'dev' })))));
  t.deepEqual((em.snapshot() as { clusters: unknown[] }).clusters, []);
});

/** Starts the real CLI; resolves with its URL once it listens. */
async function cli(t: ExecutionContext, args: string[]) {
  const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp');
  const child = spawn(bin, ['emulator', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('exited before printing')));
  });
  return { child, exited, url: /listening on (\S+)$/.exec(line)![1]! };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`the emulator exits within 200 ms of ${signal}, with an idle keep-alive connection and a request in flight`, async (t) => {
    const { child, exited, url } = await cli(t, ['--latency-ms', '10000']);
    const agent = new http.Agent({ keepAlive: true });
    t.teardown(() => agent.destroy());
    const { hostname, port } = new URL(url);
    // An idle keep-alive connection...
    await new Promise<void>((resolve) => http.get({ hostname, port, path: '/_emulator/health', agent }, (res) => res.resume().on('end', resolve)));
    // ...and an EKS call held for 10 s by the injected latency.
    const inFlight = new Promise<string>((resolve) => {
      http.get({ hostname, port, path: '/clusters', agent: false }, (res) => res.resume().on('end', () => resolve('answered'))).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    await sleep(150);
    const start = performance.now();
    child.kill(signal);
    const code = await exited;
    const took = performance.now() - start;
    t.is(code, 0);
    t.true(took < 200, `exited ${took.toFixed(0)} ms after ${signal}`);
    t.is(await inFlight, 'ECONNRESET', 'the held request was cut, not answered');
  });
}
