import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AssociateIdentityProviderConfigCommand, CreateClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorOptions } from '../emulator';
import { DEFAULT_TUNING, newClient, resolveSettings, type Tuning } from '../providers/eks/client';
import * as eksModule from '@aws-sdk/client-eks';
import { ERROR_SHAPES, leanReads, openConnection, resolveEndpoint, sdkReads, TIMESTAMP_PATHS, type EksCalls, type EksReads } from '../providers/eks/reads';
import { fleetStack, sdkClient, seedFleet, type FleetSpec } from './fixtures/drift/fleet';
import { writeStack } from './helpers/stacks';
import { rotationStack, seedRotationFleet, writeRotationState } from './fixtures/rotation';

/**
 * The lean read path (providers/eks/reads.ts) against the SDK's own `client.send`, on the same
 * emulator: the same results, the same errors, the same retries; and what it exists for (no SDK
 * loaded by a drift check on an explicit endpoint with static keys).
 */

const TUNING: Tuning = { ...DEFAULT_TUNING, maxAttempts: 3 };
const KEYS = { access_key: 'test', secret_key: 'test' };

async function setup(t: ExecutionContext, opts: EmulatorOptions = {}) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0, ...opts });
  t.teardown(() => em.close());
  const admin = sdkClient(em.url);
  t.teardown(() => admin.destroy());
  return { em, admin };
}

/** Lean reads (static keys + endpoint: no SDK client) and SDK reads on one endpoint. */
function both(t: ExecutionContext, url: string, tuning: Tuning = TUNING): { lean: EksCalls; sdk: EksCalls } {
  const lean = openConnection({ region: 'us-east-1', ...KEYS, endpoints: [{ eks: url }] }, {}, tuning).connection!;
  const viaSdk = openConnection({ region: 'us-east-1', ...KEYS, endpoints: [{ eks: url }] }, {}, tuning).connection!;
  t.teardown(() => {
    lean.close();
    viaSdk.close();
  });
  return { lean: { ...lean.reads, ...lean.writes }, sdk: sdkReads(viaSdk.client) };
}

async function seed(admin: EKSClient, name: string): Promise<string> {
  await admin.send(new CreateClusterCommand({
    name, version: '1.31', roleArn: 'arn:aws:iam::000000000000:role/eks', tags: { team: 'platform', 'cost-center': '' },
    resourcesVpcConfig: { subnetIds: ['subnet-1', 'subnet-2'], endpointPublicAccess: true },
  }));
  const out = await admin.send(new AssociateIdentityProviderConfigCommand({
    clusterName: name,
    oidc: {
      identityProviderConfigName: 'okta', issuerUrl: 'https://okta.example.com/oauth2/default', clientId: 'eks',
      usernameClaim: 'email', usernamePrefix: 'okta:', groupsClaim: 'groups', groupsPrefix: 'okta:', requiredClaims: { aud: 'eks', 'hd': 'example.com' },
    },
    tags: { env: 'test' },
  }));
  return out.update!.id!;
}

/**
 * Everything about an error that a caller, a log or a JSON report could see: its own properties and
 * which are enumerable, their values, $metadata, its JSON, and whether the SDK's class for its name
 * accepts it. Only what differs per request is masked (the request id's value, the raw response).
 */
function errorShape(e: unknown) {
  const err = e as Error & Record<string, unknown> & { $metadata?: Record<string, unknown>; $response?: { statusCode?: number } };
  const own = Object.getOwnPropertyNames(err).filter((k) => k !== 'stack');
  const mask = (m: Record<string, unknown> | undefined) => m && { ...m, requestId: typeof m.requestId };
  const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
  const SdkClass = (eksModule as unknown as Record<string, unknown>)[err.name];
  return {
    isError: err instanceof Error,
    name: err.name,
    message: err.message,
    fault: err.$fault,
    status: err.$metadata?.httpStatusCode,
    own: [...own].sort(),
    enumerable: Object.keys(err).sort(),
    values: Object.fromEntries(own.filter((k) => k !== '$metadata' && k !== '$response').sort().map((k) => [k, err[k]])),
    metadata: mask(err.$metadata),
    json: { ...json, $metadata: mask(json.$metadata as Record<string, unknown> | undefined) },
    rawStatus: err.$response?.statusCode,
    sdkClassAccepts: typeof SdkClass === 'function' ? err instanceof (SdkClass as new () => unknown) : 'no such class',
  };
}

/** The outcome; a result's $metadata (request id, attempts) is the SDK's bookkeeping, which no caller reads. */
async function settle<T>(p: Promise<T>): Promise<{ ok: unknown } | { err: ReturnType<typeof errorShape> }> {
  try {
    const { $metadata: _ignored, ...rest } = (await p) as T & { $metadata?: unknown };
    return { ok: rest };
  } catch (e) {
    return { err: errorShape(e) };
  }
}

test('the timestamp members of the four outputs are exactly those the service model declares', (t) => {
  type Shape = { type: string; members?: Record<string, { shape: string }>; member?: { shape: string }; value?: { shape: string } };
  const model = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'emulator', 'eks-2017-11-01.service.json'), 'utf8')) as { shapes: Record<string, Shape> };
  const found: string[] = [];
  const walk = (name: string, at: string, seen: Set<string>) => {
    const s = model.shapes[name]!;
    if (s.type === 'timestamp') return void found.push(at);
    if (seen.has(name)) return;
    const next = new Set(seen).add(name);
    if (s.type === 'structure') for (const [k, m] of Object.entries(s.members ?? {})) walk(m.shape, at ? `${at}.${k}` : k, next);
    if (s.type === 'list') walk(s.member!.shape, `${at}[]`, next);
    if (s.type === 'map') walk(s.value!.shape, `${at}{}`, next);
  };
  for (const out of ['DescribeClusterResponse', 'ListIdentityProviderConfigsResponse', 'DescribeIdentityProviderConfigResponse', 'DescribeUpdateResponse']) walk(out, '', new Set());
  t.deepEqual(found.sort(), [...TIMESTAMP_PATHS].sort());
});

test('the modelled error shapes lean errors are built from are exactly the service model\'s', (t) => {
  type Shape = { type: string; members?: Record<string, unknown>; error?: unknown; fault?: boolean };
  const model = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'emulator', 'eks-2017-11-01.service.json'), 'utf8')) as { shapes: Record<string, Shape> };
  const fromModel = Object.fromEntries(
    Object.entries(model.shapes)
      .filter(([, s]) => s.type === 'structure' && s.error !== undefined)
      .map(([name, s]) => [name, { fault: s.fault ? 'server' : 'client', members: Object.keys(s.members ?? {}).filter((m) => m !== 'message') }]),
  );
  t.deepEqual(ERROR_SHAPES, fromModel);
});

test('lean reads return exactly what the SDK returns, for found and not-found objects', async (t) => {
  const { em, admin } = await setup(t);
  const updateId = await seed(admin, 'alpha');
  await admin.send(new CreateClusterCommand({ name: 'bare', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
  const { lean, sdk } = both(t, em.url);
  const cases: [string, (r: EksReads) => Promise<unknown>][] = [
    ['DescribeCluster alpha', (r) => r.describeCluster('alpha')],
    ['DescribeCluster bare', (r) => r.describeCluster('bare')],
    ['DescribeCluster missing', (r) => r.describeCluster('missing')],
    ['ListIdentityProviderConfigs alpha', (r) => r.listIdentityProviderConfigs('alpha', undefined)],
    ['ListIdentityProviderConfigs bare', (r) => r.listIdentityProviderConfigs('bare', undefined)],
    ['ListIdentityProviderConfigs missing', (r) => r.listIdentityProviderConfigs('missing', undefined)],
    ['DescribeIdentityProviderConfig alpha:okta', (r) => r.describeIdentityProviderConfig('alpha', 'okta')],
    ['DescribeIdentityProviderConfig alpha:gone', (r) => r.describeIdentityProviderConfig('alpha', 'gone')],
    ['DescribeIdentityProviderConfig missing:okta', (r) => r.describeIdentityProviderConfig('missing', 'okta')],
    ['DescribeUpdate alpha', (r) => r.describeUpdate('alpha', updateId)],
    ['DescribeUpdate alpha:unknown', (r) => r.describeUpdate('alpha', '00000000-0000-0000-0000-000000000000')],
    ['DescribeUpdate missing', (r) => r.describeUpdate('missing', updateId)],
  ];
  for (const [what, call] of cases) {
    const [a, b] = [await settle(call(lean)), await settle(call(sdk))];
    t.deepEqual(a, b, what);
  }
  // The comparison above is not vacuous: real objects, real errors, a real Date.
  const c = await lean.describeCluster('alpha');
  t.true(c.cluster?.createdAt instanceof Date);
  const u = await lean.describeUpdate('alpha', updateId);
  t.true(u.update?.createdAt instanceof Date);
  t.like(u.update, { id: updateId, type: 'AssociateIdentityProviderConfig' });
  t.deepEqual(c.cluster?.tags, { team: 'platform', 'cost-center': '' });
  t.deepEqual((await lean.describeIdentityProviderConfig('alpha', 'okta')).identityProviderConfig?.oidc?.requiredClaims, { aud: 'eks', hd: 'example.com' });
  t.like(errorShape(await lean.describeCluster('missing').catch((e: unknown) => e)), { name: 'ResourceNotFoundException', status: 404, fault: 'client' });
});

test('the SDK-derived context (credentials from the SDK client\'s own chain) reads the same as static keys', async (t) => {
  const { em, admin } = await setup(t);
  await seed(admin, 'alpha');
  // Settings without credentials of their own (built by hand: a provider configuration always has
  // them): the lean reads take the SDK client's, whose default chain reads process.env itself.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'from-env';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  t.teardown(() => {
    for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  // The region the seed used: the emulator keeps clusters per account and region, as AWS does.
  const env = { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_EKS: em.url, AWS_ACCESS_KEY_ID: 'from-env', AWS_SECRET_ACCESS_KEY: 'secret', HOME: '/nonexistent/home' };
  const { settings } = resolveSettings({}, env, TUNING);
  const { credentials, ...byHand } = settings!.client;
  t.like(credentials, { accessKeyId: 'from-env' }, 'the environment\'s keys, read by the settings');
  const transport = settings!.transport();
  t.teardown(() => transport.close());
  let client: EKSClient | undefined;
  const reads = leanReads(byHand, transport, () => (client ??= newClient(byHand, transport)));
  t.teardown(() => {
    reads.close();
    client?.destroy();
  });
  const viaChain = await settle(reads.describeIdentityProviderConfig('alpha', 'okta'));
  t.truthy(client, 'the context came from the SDK client');
  const { sdk } = both(t, em.url);
  t.deepEqual(viaChain, await settle(sdk.describeIdentityProviderConfig('alpha', 'okta')));
  t.like(viaChain, { ok: { identityProviderConfig: { oidc: { identityProviderConfigName: 'okta' } } } });
});

test('throttling and server errors are retried with the adaptive strategy; the last error surfaces once attempts run out', async (t) => {
  const { em, admin } = await setup(t, { seed: 7 });
  await seed(admin, 'alpha');
  const { lean } = both(t, em.url, { ...TUNING, maxAttempts: 8 });
  em.setFaults({ throttleRate: 0.2, errorRate: 0.15, resetRate: 0.1 });
  em.resetCalls();
  for (let i = 0; i < 12; i++) t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha');
  t.true((em.calls().DescribeCluster ?? 0) > 12, 'some calls were retried');

  em.setFaults({ throttleRate: 1, errorRate: 0, resetRate: 0 });
  em.resetCalls();
  const { lean: strict } = both(t, em.url, { ...TUNING, maxAttempts: 2 });
  const e = (await strict.describeCluster('alpha').catch((x: unknown) => x)) as Error & { $metadata?: { attempts?: number; httpStatusCode?: number } };
  t.is(e.name, 'ThrottlingException');
  t.is(e.$metadata?.httpStatusCode, 429);
  t.is(em.calls().DescribeCluster, 2, 'exactly maxAttempts calls');
});

test('aborting the signal ends calls in flight at once with its reason', async (t) => {
  const { em, admin } = await setup(t);
  await seed(admin, 'alpha');
  const { lean } = both(t, em.url);
  em.setFaults({ latencyMs: 5_000 });
  const ac = new AbortController();
  const started = Date.now();
  const calls = [lean.describeCluster('alpha', ac.signal), lean.listIdentityProviderConfigs('alpha', undefined, ac.signal)];
  setTimeout(() => ac.abort(new Error('budget spent')), 100);
  for (const c of calls) await t.throwsAsync(c, { message: 'budget spent' });
  t.true(Date.now() - started < 2_000);
  em.setFaults({ latencyMs: 0 });
  t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha', 'the pool still serves new calls');
});

test('eksidp --version loads neither the AWS SDK nor undici (start-up cost)', async (t) => {
  const cli = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
  const script = `require(${JSON.stringify(cli)}).main(['--version']).then((code) => {
    const loaded = Object.keys(require.cache).filter((k) => /[\\\\/](@aws-sdk|@smithy|undici)[\\\\/]/.test(k));
    process.stderr.write('LOADED=' + JSON.stringify(loaded) + ' CODE=' + code + '\\n');
  });`;
  const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr }))),
  );
  t.regex(out.stdout, /^eksidp \d+\.\d+\.\d+/);
  t.regex(out.stderr, /LOADED=\[\] CODE=0/);
});

test('a drift check on an explicit endpoint with static keys never loads the AWS SDK (start-up cost)', async (t) => {
  const { em, admin } = await setup(t);
  const spec: FleetSpec = { clusters: 3, dataSources: true, prefix: 'sdkfree-' };
  await seedFleet(admin, spec);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-reads-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeStack(dir, fleetStack(spec, em.url));
  const cli = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
  const script = `require(${JSON.stringify(cli)}).main(['drift', '--dir', ${JSON.stringify(dir)}, '--format', 'json']).then((code) => {
    const loaded = Object.keys(require.cache);
    process.stderr.write('SDK_LOADED=' + loaded.some((k) => k.includes('@aws-sdk/client-eks')) + ' UNDICI_LOADED=' + loaded.some((k) => k.includes('/undici/')) + ' CODE=' + code + '\\n');
  });`;
  const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr }))),
  );
  t.regex(out.stderr, /SDK_LOADED=false UNDICI_LOADED=false CODE=0/, 'direct lean reads need neither the SDK nor undici');
  t.is((JSON.parse(out.stdout) as { summary: { in_sync: number } }).summary.in_sync, 3);
});

test('a skewed local clock is corrected from the server Date, as the SDK does, and the read succeeds', async (t) => {
  const http = await import('node:http');
  const skewMs = 3_600_000; // the server's clock runs an hour ahead of ours
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    const amzDate = String(req.headers['x-amz-date']);
    seen.push(amzDate);
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const serverNow = Date.now() + skewMs;
    res.setHeader('date', new Date(serverNow).toUTCString());
    res.setHeader('content-type', 'application/json');
    if (Math.abs(serverNow - signedAt) > 300_000) {
      res.writeHead(403, { 'x-amzn-errortype': 'InvalidSignatureException' });
      res.end(JSON.stringify({ message: 'Signature expired: the request time is too far from the server time' }));
    } else res.end(JSON.stringify({ cluster: { name: 'alpha', version: '1.32', createdAt: 1764000000.5 } }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const url = `http://127.0.0.1:${(srv.address() as import('node:net').AddressInfo).port}`;
  const { connection } = openConnection({ region: 'us-east-1', ...KEYS, endpoints: [{ eks: url }] }, {}, TUNING);
  t.teardown(() => connection!.close());
  const out = await connection!.reads.describeCluster('alpha');
  t.is(out.cluster?.name, 'alpha');
  t.deepEqual(out.cluster?.createdAt, new Date(1764000000500));
  t.is(seen.length, 2, 'one refused request, then one signed with the corrected clock');
});

test('without a custom endpoint, lean reads go where the SDK would: its endpoint rules per partition (no call is made)', async (t) => {
  const where = async (region: string, endpoint?: string) => {
    const client = newClient(resolveSettings({ region, ...(endpoint ? { endpoints: [{ eks: endpoint }] } : {}) }, {}, TUNING).settings!.client);
    try {
      return (await resolveEndpoint(client)).url.href;
    } finally {
      client.destroy();
    }
  };
  t.is(await where('eu-west-1'), 'https://eks.eu-west-1.amazonaws.com/');
  t.is(await where('cn-north-1'), 'https://eks.cn-north-1.amazonaws.com.cn/');
  t.is(await where('us-gov-west-1'), 'https://eks.us-gov-west-1.amazonaws.com/');
  t.is(await where('us-east-1', 'http://127.0.0.1:4599/prefix'), 'http://127.0.0.1:4599/prefix');
});

test('every error the emulator produces on the three reads has the same shape from lean reads and from the SDK', async (t) => {
  const { em, admin } = await setup(t, { seed: 5 });
  await seed(admin, 'alpha');
  const { lean, sdk } = both(t, em.url, { ...TUNING, maxAttempts: 1 });
  const seen = new Set<string>();
  const compare = async (what: string, call: (r: EksReads) => Promise<unknown>) => {
    const a = await settle(call(lean));
    const b = await settle(call(sdk));
    t.deepEqual(a, b, what);
    if ('err' in b) seen.add(b.err.name);
  };
  await compare('DescribeCluster, no such cluster', (r) => r.describeCluster('missing'));
  await compare('ListIdentityProviderConfigs, no such cluster', (r) => r.listIdentityProviderConfigs('missing', undefined));
  await compare('ListIdentityProviderConfigs, a bad page token', (r) => r.listIdentityProviderConfigs('alpha', 'not-a-token'));
  await compare('DescribeIdentityProviderConfig, no such config', (r) => r.describeIdentityProviderConfig('alpha', 'gone'));
  await compare('DescribeIdentityProviderConfig, no such cluster', (r) => r.describeIdentityProviderConfig('missing', 'okta'));
  em.setFaults({ throttleRate: 1 });
  await compare('DescribeCluster, throttled', (r) => r.describeCluster('alpha'));
  await compare('ListIdentityProviderConfigs, throttled', (r) => r.listIdentityProviderConfigs('alpha', undefined));
  await compare('DescribeIdentityProviderConfig, throttled', (r) => r.describeIdentityProviderConfig('alpha', 'okta'));
  em.setFaults({ throttleRate: 0, errorRate: 1 });
  // The emulator picks ServerException or ServiceUnavailableException at random per call: collect
  // each kind from each path, then compare like with like.
  const kinds = ['ServerException', 'ServiceUnavailableException'];
  const got = { lean: new Map<string, unknown>(), sdk: new Map<string, unknown>() };
  for (let i = 0; i < 60 && kinds.some((k) => !got.lean.has(k) || !got.sdk.has(k)); i++) {
    for (const [which, r] of [['lean', lean], ['sdk', sdk]] as const) {
      const out = await settle(r.describeCluster('alpha'));
      if ('err' in out && !got[which].has(out.err.name)) got[which].set(out.err.name, out);
    }
  }
  for (const k of kinds) {
    t.deepEqual(got.lean.get(k), got.sdk.get(k), `DescribeCluster, ${k}`);
    if (got.sdk.has(k)) seen.add(k);
  }
  t.deepEqual([...seen].sort(), ['InvalidParameterException', 'ResourceNotFoundException', 'ServerException', 'ServiceUnavailableException', 'ThrottlingException']);
});

test('after retries, the final error carries the same attempts and delay bookkeeping as the SDK\'s', async (t) => {
  const { em, admin } = await setup(t);
  await seed(admin, 'alpha');
  const { lean, sdk } = both(t, em.url, { ...TUNING, maxAttempts: 2 });
  em.setFaults({ throttleRate: 1 });
  const [a, b] = [await settle(lean.describeCluster('alpha')), await settle(sdk.describeCluster('alpha'))];
  const meta = (x: typeof a) => ('err' in x ? x.err.metadata : undefined) as Record<string, unknown> | undefined;
  t.is(meta(a)?.attempts, 2);
  t.is(meta(b)?.attempts, 2);
  // The delays are jittered: equal keys, each a positive number of ms.
  t.deepEqual(Object.keys(meta(a)!).sort(), Object.keys(meta(b)!).sort());
  t.true((meta(a)!.totalRetryDelay as number) > 0 && (meta(b)!.totalRetryDelay as number) > 0);
});

test('errors outside the model (a new type, a body code, a namespaced __type, no type at all) have the SDK\'s shape too', async (t) => {
  const http = await import('node:http');
  const replies: Record<string, { status: number; headers?: Record<string, string>; body: string }> = {
    '/clusters/newtype': { status: 400, headers: { 'x-amzn-errortype': 'BrandNewException:http://internal.amazon.com/', 'x-amz-id-2': 'ext-id' }, body: '{"message":"a new kind of error","detail":"x","clusterName":"newtype"}' },
    '/clusters/bodycode': { status: 403, body: '{"Code":"AccessDeniedException","Message":"no"}' },
    '/clusters/dundertype': { status: 400, body: '{"__type":"com.amazonaws.eks#InvalidParameterException","message":"bad","clusterName":"dundertype"}' },
    '/clusters/untyped': { status: 502, body: '{"message":"bad gateway"}' },
    '/clusters/empty': { status: 500, body: '' },
  };
  const srv = http.createServer((req, res) => {
    const r = replies[req.url ?? ''] ?? { status: 404, body: '{}' };
    res.writeHead(r.status, { 'content-type': 'application/json', 'x-amzn-requestid': `req-${Math.random()}`, ...r.headers });
    res.end(r.body);
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  t.teardown(() => srv.close());
  const { lean, sdk } = both(t, `http://127.0.0.1:${(srv.address() as import('node:net').AddressInfo).port}`, { ...TUNING, maxAttempts: 1 });
  for (const name of Object.keys(replies).map((p) => p.split('/').pop()!)) {
    t.deepEqual(await settle(lean.describeCluster(name)), await settle(sdk.describeCluster(name)), name);
  }
  const e = (await settle(lean.describeCluster('newtype'))) as { err: ReturnType<typeof errorShape> };
  t.like(e.err, { name: 'BrandNewException', message: 'a new kind of error', fault: 'client', values: { detail: 'x', clusterName: 'newtype' } });
});

test('lean writes (Associate/DisassociateIdentityProviderConfig) return and fail exactly as the SDK\'s: updates, token replays, 409 while busy, not found', async (t) => {
  const { em, admin } = await setup(t, { updateMs: 60_000 });
  const { lean, sdk } = both(t, em.url, { ...TUNING, maxAttempts: 1 });
  // The same sequence on two clusters per path (one kept busy, one idle with an ACTIVE config); ids,
  // times and cluster names are masked.
  const clusters = { lean: ['via-lean', 'idle-lean'], sdk: ['via-sdk', 'idle-sdk'] } as const;
  const oidc = (name: string) => ({ identityProviderConfigName: name, issuerUrl: `https://${name}.example.com`, clientId: 'eks', requiredClaims: { aud: 'eks' } });
  em.setFaults({ updateMs: 0 });
  for (const name of [...clusters.lean, ...clusters.sdk]) {
    await admin.send(new CreateClusterCommand({ name, version: '1.33', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
    await admin.send(new AssociateIdentityProviderConfigCommand({ clusterName: name, oidc: oidc('corp') }));
  }
  em.setFaults({ updateMs: 60_000 });
  const steps: [string, (w: EksCalls, cluster: string, idle: string) => Promise<unknown>][] = [
    ['associate okta', (w, c) => w.associateIdentityProviderConfig({ clusterName: c, oidc: oidc('okta'), tags: { env: 'test' }, clientRequestToken: 'tok-1' })],
    ['associate again with the same token: the same update', (w, c) => w.associateIdentityProviderConfig({ clusterName: c, oidc: oidc('okta'), tags: { env: 'test' }, clientRequestToken: 'tok-1' })],
    ['associate another while the cluster is busy: 409', (w, c) => w.associateIdentityProviderConfig({ clusterName: c, oidc: oidc('corp2'), clientRequestToken: 'tok-2' })],
    ['associate on no such cluster', (w) => w.associateIdentityProviderConfig({ clusterName: 'missing', oidc: oidc('okta'), clientRequestToken: 'tok-3' })],
    ['disassociate while the cluster is busy: 409', (w, c) => w.disassociateIdentityProviderConfig({ clusterName: c, identityProviderConfig: { type: 'oidc', name: 'corp' }, clientRequestToken: 'tok-4' })],
    ['disassociate no such config', (w, c) => w.disassociateIdentityProviderConfig({ clusterName: c, identityProviderConfig: { type: 'oidc', name: 'nope' }, clientRequestToken: 'tok-5' })],
    ['disassociate an ACTIVE config', (w, _c, idle) => w.disassociateIdentityProviderConfig({ clusterName: idle, identityProviderConfig: { type: 'oidc', name: 'corp' }, clientRequestToken: 'tok-6' })],
  ];
  const mask = (out: unknown, names: readonly string[]) => {
    let text = JSON.stringify(out, (k, v: unknown) => (k === 'id' || k === 'createdAt' || k === 'requestId' ? typeof v : v));
    for (const n of names) text = text.replaceAll(n, 'CLUSTER');
    return JSON.parse(text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'UUID')) as unknown;
  };
  const run = async (w: EksCalls, [cluster, idle]: readonly [string, string]) => {
    const outs: unknown[] = [];
    for (const [, step] of steps) outs.push(mask(await settle(step(w, cluster, idle)), [cluster, idle]));
    return outs;
  };
  const [a, b] = await Promise.all([run(lean, clusters.lean), run(sdk, clusters.sdk)]);
  steps.forEach(([what], i) => t.deepEqual(a[i], b[i], what));
  // Not vacuous: a real update (a Date), a replay of it, a 409, a 404.
  const first = await lean.associateIdentityProviderConfig({ clusterName: clusters.lean[0], oidc: oidc('okta'), tags: { env: 'test' }, clientRequestToken: 'tok-1' });
  t.true(first.update?.createdAt instanceof Date);
  t.like(first, { update: { type: 'AssociateIdentityProviderConfig', status: 'InProgress' }, tags: { env: 'test' } });
  t.like(a[2], { err: { name: 'ResourceInUseException', status: 409 } });
  t.like(a[3], { err: { name: 'ResourceNotFoundException', status: 404 } });
  t.like(a[4], { err: { name: 'ResourceInUseException', status: 409 } });
  t.like(a[5], { err: { name: 'ResourceNotFoundException', status: 404 } });
  t.like(a[6], { ok: { update: { type: 'DisassociateIdentityProviderConfig', status: 'InProgress' } } });
});

test('a rotation apply (configs replaced) on an explicit endpoint with static keys never loads the AWS SDK: associations go through the lean path', async (t) => {
  const { em, admin } = await setup(t);
  await seedRotationFleet(admin, 'sdkfree-', 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-rotation-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await writeRotationState(admin, dir, 'sdkfree-', 2);
  writeStack(dir, rotationStack('sdkfree-', 2, em.url, 1));
  em.setFaults({ updateMs: 100 });
  em.resetCalls();
  const cli = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
  const script = `require(${JSON.stringify(cli)}).main(['apply', '--auto-approve', '--dir', ${JSON.stringify(dir)}]).then((code) => {
    process.stderr.write('SDK_LOADED=' + Object.keys(require.cache).some((k) => k.includes('@aws-sdk/client-eks')) + ' CODE=' + code + '\\n');
  });`;
  const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: { ...process.env, NO_COLOR: '1', EKSIDP_POLL_INITIAL_MS: '50' } }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr }))),
  );
  t.regex(out.stderr, /SDK_LOADED=false CODE=0/, out.stderr);
  t.is(em.calls().AssociateIdentityProviderConfig, 4, 'both configs of both clusters were associated again');
  t.is(em.calls().DisassociateIdentityProviderConfig, 4);
});
