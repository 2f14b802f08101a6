import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  AssociateIdentityProviderConfigCommand, CreateClusterCommand, DescribeClusterCommand, DescribeIdentityProviderConfigCommand,
  DescribeUpdateCommand, EKSClient, ResourceNotFoundException,
} from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorOptions } from '../emulator';

async function setup(t: ExecutionContext, opts: EmulatorOptions = {}) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0, ...opts });
  t.teardown(() => em.close());
  return em;
}

function client(t: ExecutionContext, url: string): EKSClient {
  const eks = new EKSClient({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  t.teardown(() => eks.destroy());
  return eks;
}

type Raw = { status: number; type?: string; body: string } | 'reset';

/** One raw HTTP request on a fresh connection: status, x-amzn-ErrorType and body, or 'reset'. */
function raw(url: string, method: string, p: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    // `path` as given: a URL string would be normalised (e.g. %2E%2E resolved) before sending.
    const { hostname, port } = new URL(url);
    const req = http.request({ hostname, port, path: p, method, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['x-amzn-errortype'] as string | undefined, body: text }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve('reset') : reject(e)));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const ROLE = 'arn:aws:iam::000000000000:role/eks';
const clusterBody = (name: string, version = '1.32') => JSON.stringify({ name, version, roleArn: ROLE, resourcesVpcConfig: { subnetIds: ['subnet-1'] } });

test('errors carry the type in x-amzn-ErrorType and {"message"} in the body, with the model\'s status', async (t) => {
  const em = await setup(t);
  const r = await raw(em.url, 'GET', '/clusters/nope');
  t.deepEqual(r, { status: 404, type: 'ResourceNotFoundException', body: JSON.stringify({ clusterName: 'nope', message: 'No cluster found for name: nope.' }) });
  const bad = await raw(em.url, 'POST', '/clusters', '{not json');
  t.like(bad, { status: 400, type: 'SerializationException' });
});

test('path parameters are data: traversal-looking or malformed names are simply not found', async (t) => {
  const em = await setup(t);
  t.is((await raw(em.url, 'POST', '/clusters', clusterBody('real'))) !== 'reset', true);
  for (const p of ['/clusters/..%2F..%2Fetc%2Fpasswd', '/clusters/a%2Fb', '/clusters/%2E%2E', '/clusters/real%00']) {
    const r = await raw(em.url, 'GET', p);
    t.like(r, { status: 404, type: 'ResourceNotFoundException' }, p);
  }
  t.like(await raw(em.url, 'GET', '/clusters/%zz'), { status: 400, type: 'InvalidParameterException' });
  // Extra segments are another route, not a way into the first one.
  t.like(await raw(em.url, 'GET', '/clusters/real/../real'), { status: 404, type: 'UnknownOperationException' });
  t.like(await raw(em.url, 'GET', '/clusters/real'), { status: 200 });
});

test('unknown routes get a clear 404 in AWS\'s error format', async (t) => {
  const em = await setup(t);
  const r = await raw(em.url, 'GET', '/clusters/x/nodegroups');
  t.like(r, { status: 404, type: 'UnknownOperationException' });
  t.regex((r as { body: string }).body, /does not implement GET \/clusters\/x\/nodegroups/);
  t.deepEqual(em.calls(), {});
});

test('request bodies are bounded: a declared or streamed body over the limit gets 413', async (t) => {
  const em = await setup(t, { maxBodyBytes: 1024 });
  t.like(await raw(em.url, 'POST', '/clusters', Buffer.alloc(2048, 'a')), { status: 413, type: 'RequestEntityTooLargeException' });
  // Chunked: no content-length, so the limit is enforced while reading.
  const streamed = await new Promise<Raw>((resolve) => {
    const req = http.request(`${em.url}/clusters`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['x-amzn-errortype'] as string, body: '' }));
    });
    req.on('error', () => resolve('reset'));
    for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512, 'b'));
    req.end();
  });
  t.true(streamed === 'reset' || (streamed.status === 413 && streamed.type === 'RequestEntityTooLargeException'), JSON.stringify(streamed));
  t.like(await raw(em.url, 'POST', '/clusters', clusterBody('small')), { status: 200 });
});

test('the emulator listens on loopback unless a host is named', async (t) => {
  const em = await setup(t);
  t.regex(em.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.not(em.port, 0);
});

/** The outcome of each call, so two runs can be compared. */
async function outcomes(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await raw(url, 'GET', '/clusters/none');
    out.push(r === 'reset' ? 'reset' : r.type ?? String(r.status));
  }
  return out;
}

test('fault injection with a seed is deterministic: same seed, same throttles/errors/resets', async (t) => {
  const opts = { seed: 42, throttleRate: 0.25, errorRate: 0.25, resetRate: 0.15 };
  const [a, b, c] = await Promise.all([setup(t, opts), setup(t, opts), setup(t, { ...opts, seed: 7 })]);
  const [ra, rb, rc] = await Promise.all([outcomes(a.url, 40), outcomes(b.url, 40), outcomes(c.url, 40)]);
  t.deepEqual(ra, rb);
  t.notDeepEqual(ra, rc);
  for (const kind of ['reset', 'ThrottlingException', 'ResourceNotFoundException']) t.true(ra.includes(kind), `${kind} in ${ra.join(',')}`);
  t.true(ra.includes('ServerException') || ra.includes('ServiceUnavailableException'));
  // Re-seeding restarts the sequence, even after further calls moved it on.
  await outcomes(a.url, 3);
  a.setFaults({ seed: 42 });
  t.deepEqual(await outcomes(a.url, 40), ra);
  // Faults never touch the admin API.
  a.setFaults({ throttleRate: 1, resetRate: 0, errorRate: 0 });
  t.like(await raw(a.url, 'GET', '/_emulator/health'), { status: 200 });
  t.like(await raw(a.url, 'GET', '/clusters'), { status: 429, type: 'ThrottlingException' });
});

test('latency is added to each EKS call without blocking concurrent calls', async (t) => {
  const em = await setup(t, { latencyMs: 150 });
  const start = Date.now();
  const rs = await Promise.all(Array.from({ length: 20 }, () => raw(em.url, 'GET', '/clusters')));
  const took = Date.now() - start;
  t.true(rs.every((r) => r !== 'reset' && r.status === 200));
  t.true(took >= 150, `took ${took} ms`);
  t.true(took < 1500, `20 concurrent calls took ${took} ms: latency must not serialise them`);
  const s = Date.now();
  await raw(em.url, 'GET', '/_emulator/health');
  t.true(Date.now() - s < 150, 'admin calls get no latency');
});

test('an account rate limit is a token bucket: a burst passes, the rest gets 429 ThrottlingException, and it refills', async (t) => {
  const em = await setup(t, { rateLimit: 1, rateBurst: 4 });
  const first = await Promise.all(Array.from({ length: 10 }, () => raw(em.url, 'GET', '/clusters')));
  const ok = first.filter((r) => r !== 'reset' && r.status === 200).length;
  const throttled = first.filter((r) => r !== 'reset' && r.status === 429 && r.type === 'ThrottlingException').length;
  t.is(ok, 4, 'the burst');
  t.is(throttled, 6);
  await new Promise((r) => setTimeout(r, 1_100)); // one per second: at least one token back (three would take 3 s)
  const later = await Promise.all(Array.from({ length: 4 }, () => raw(em.url, 'GET', '/clusters')));
  const refilled = later.filter((r) => r !== 'reset' && r.status === 200).length;
  t.true(refilled >= 1 && refilled <= 2, `${refilled} calls passed after 1.1 s`);
  em.setFaults({ rateLimit: 0 });
  const free = await Promise.all(Array.from({ length: 10 }, () => raw(em.url, 'GET', '/clusters')));
  t.true(free.every((r) => r !== 'reset' && r.status === 200), 'rateLimit 0 lifts the limit');
  t.throws(() => em.setFaults({ rateLimit: -1 }), { message: /rateLimit must be a number of calls per second/ });
});

test('failUpdateRate makes updates end Failed with an error entry; a failed association leaves no config', async (t) => {
  const em = await setup(t, { failUpdateRate: 1 });
  const eks = client(t, em.url);
  await eks.send(new CreateClusterCommand({ name: 'f', version: '1.32', roleArn: ROLE, resourcesVpcConfig: { subnetIds: ['s'] } }));
  const r = await eks.send(new AssociateIdentityProviderConfigCommand({ clusterName: 'f', oidc: { identityProviderConfigName: 'x', issuerUrl: 'https://x.example.com', clientId: 'k' } }));
  const u = (await eks.send(new DescribeUpdateCommand({ name: 'f', updateId: r.update!.id }))).update!;
  t.is(u.status, 'Failed');
  t.is(u.errors!.length, 1);
  t.like(u.errors![0], { errorCode: 'Unknown', resourceIds: ['x'] });
  await t.throwsAsync(eks.send(new DescribeIdentityProviderConfigCommand({ clusterName: 'f', identityProviderConfig: { type: 'oidc', name: 'x' } })), { instanceOf: ResourceNotFoundException });
  t.is((await eks.send(new DescribeClusterCommand({ name: 'f' }))).cluster!.status, 'ACTIVE');
  t.like(em.updates()[0], { status: 'Failed', type: 'AssociateIdentityProviderConfig', clusterName: 'f', configName: 'x' });
});

test('with a data dir, a restarted emulator keeps its state and completes an update that was in progress', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-data-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const first = await startEmulator({ port: 0, dataDir, clusterCreateMs: 0, updateMs: 600 });
  const eks1 = new EKSClient({ region: 'us-east-1', endpoint: first.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  await eks1.send(new CreateClusterCommand({ name: 'keep', version: '1.32', roleArn: ROLE, resourcesVpcConfig: { subnetIds: ['s'] }, tags: { k: 'v' } }));
  const r = await eks1.send(new AssociateIdentityProviderConfigCommand({ clusterName: 'keep', oidc: { identityProviderConfigName: 'p', issuerUrl: 'https://p.example.com', clientId: 'k' }, clientRequestToken: 'tok' }));
  eks1.destroy();
  await first.close();
  t.false(fs.readdirSync(dataDir).some((f) => f.endsWith('.tmp')), 'no temp file left behind');

  const second = await startEmulator({ port: 0, dataDir, updateMs: 0 });
  t.teardown(() => second.close());
  const eks = client(t, second.url);
  const before = second.updates().find((u) => u.id === r.update!.id)!;
  t.truthy(before);
  t.is(before.clientRequestToken, 'tok');
  // It completes at its original start time + duration, not the new emulator's updateMs.
  t.is(before.dueAt - before.createdAt, 600);
  const u = await (async () => {
    for (let i = 0; i < 100; i++) {
      const x = (await eks.send(new DescribeUpdateCommand({ name: 'keep', updateId: r.update!.id }))).update!;
      if (x.status !== 'InProgress') return x;
      await new Promise((res) => setTimeout(res, 20));
    }
    return undefined;
  })();
  t.is(u?.status, 'Successful');
  t.is(second.updates().find((x) => x.id === r.update!.id)!.finishedAt, before.dueAt);
  const cfg = (await eks.send(new DescribeIdentityProviderConfigCommand({ clusterName: 'keep', identityProviderConfig: { type: 'oidc', name: 'p' } }))).identityProviderConfig!.oidc!;
  t.is(cfg.status, 'ACTIVE');
  t.deepEqual((await eks.send(new DescribeClusterCommand({ name: 'keep' }))).cluster!.tags, { k: 'v' });
  // Idempotency survives too: the same token replays the original update.
  const again = await eks.send(new AssociateIdentityProviderConfigCommand({ clusterName: 'keep', oidc: { identityProviderConfigName: 'p', issuerUrl: 'https://p.example.com', clientId: 'k' }, clientRequestToken: 'tok' }));
  t.is(again.update!.id, r.update!.id);
});

test('the admin API reports state, updates and calls, resets calls, and reads/sets faults', async (t) => {
  const em = await setup(t);
  await raw(em.url, 'POST', '/clusters', clusterBody('adm'));
  await raw(em.url, 'GET', '/clusters/adm');
  await raw(em.url, 'GET', '/clusters/adm');
  const get = async (p: string) => JSON.parse((await raw(em.url, 'GET', p) as { body: string }).body) as Record<string, unknown>;
  t.deepEqual(await get('/_emulator/calls'), { CreateCluster: 1, DescribeCluster: 2 });
  t.deepEqual(em.calls(), { CreateCluster: 1, DescribeCluster: 2 });
  t.like(await get('/_emulator/health'), { ok: true, clusters: 1 });
  const state = await get('/_emulator/state') as { clusters: { name: string }[] };
  t.deepEqual(state.clusters.map((c) => c.name), ['adm']);
  t.deepEqual(await get('/_emulator/updates'), { updates: [] });
  t.like(await raw(em.url, 'POST', '/_emulator/calls/reset'), { status: 200 });
  t.deepEqual(await get('/_emulator/calls'), {});
  em.setFaults({ latencyMs: 1 });
  em.resetCalls();
  t.deepEqual(em.calls(), {});

  const set = await raw(em.url, 'POST', '/_emulator/faults', JSON.stringify({ throttleRate: 0.5, seed: 3 }));
  t.like(set, { status: 200 });
  t.like(await get('/_emulator/faults'), { throttleRate: 0.5, seed: 3, latencyMs: 1, errorRate: 0 });
  t.like(await raw(em.url, 'POST', '/_emulator/faults', JSON.stringify({ errorRate: 2 })), { status: 400, type: 'InvalidParameterException' });
  t.like(await raw(em.url, 'POST', '/_emulator/faults', JSON.stringify({ bogus: 1 })), { status: 400 });
  t.like(await get('/_emulator/faults'), { errorRate: 0 });
  t.like(await raw(em.url, 'GET', '/_emulator/nope'), { status: 404 });
  t.throws(() => em.setFaults({ resetRate: -1 }), { message: /resetRate must be a number between 0 and 1/ });
});

test('`eksidp emulator --port 0` prints its URL as the first stdout line and exits 0 on SIGTERM', async (t) => {
  const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp');
  const child = spawn(bin, ['emulator', '--port', '0', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('exited before printing')));
  });
  const m = /^EKS emulator listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(first);
  t.truthy(m, first);
  t.like(await raw(m![1]!, 'GET', '/_emulator/health'), { status: 200 });
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

test('`eksidp emulator` rejects an out-of-range rate with a usage error', async (t) => {
  const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp');
  const child = spawn(bin, ['emulator', '--throttle-rate', '1.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 1);
  t.regex(err, /--throttle-rate must be a number between 0 and 1, got '1\.5'/);
});

test('the data file is written through lib/files.ts: a symlink planted at the old temp name or at the data file is never written through', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-link-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-victim-'));
  t.teardown(() => { fs.rmSync(dataDir, { recursive: true, force: true }); fs.rmSync(outside, { recursive: true, force: true }); });
  const victim = path.join(outside, 'precious');
  fs.writeFileSync(victim, 'precious\n');
  // The name the emulator used to open with 'w' (following links): state.json.<pid>.tmp.
  fs.symlinkSync(victim, path.join(dataDir, `state.json.${process.pid}.tmp`));
  // A dangling link at the data file itself: reading finds nothing; writing must replace the link, not create its target.
  const created = path.join(outside, 'created-through-link');
  fs.symlinkSync(created, path.join(dataDir, 'state.json'));

  const em = await startEmulator({ port: 0, dataDir, clusterCreateMs: 0 });
  t.like(await raw(em.url, 'POST', '/clusters', clusterBody('linked')), { status: 200 });
  await em.close();
  t.is(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the planted temp-name link\'s target is untouched');
  t.false(fs.existsSync(created), 'nothing was written through the link at the data file');
  const st = fs.lstatSync(path.join(dataDir, 'state.json'));
  t.true(st.isFile(), 'the link was replaced by the data file');
  t.is(st.mode & 0o777, 0o600);
  t.like(JSON.parse(fs.readFileSync(path.join(dataDir, 'state.json'), 'utf8')), { format: 'eksidp-emulator-state', version: 2 });
  t.deepEqual(fs.readdirSync(dataDir).filter((f) => f.endsWith('.tmp')), [`state.json.${process.pid}.tmp`], 'no temp file of ours left behind');

  // A link at the data file to a file that is not emulator state: refused at start, target untouched.
  fs.rmSync(path.join(dataDir, 'state.json'));
  fs.symlinkSync(victim, path.join(dataDir, 'state.json'));
  await t.throwsAsync(startEmulator({ port: 0, dataDir }), { message: /state\.json: not an emulator state file/ });
  t.is(fs.readFileSync(victim, 'utf8'), 'precious\n');
});
