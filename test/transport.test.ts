import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { CreateClusterCommand, DescribeClusterCommand } from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorHandle } from '../emulator';
import { DEFAULT_TUNING, type Tuning } from '../providers/eks/client';
import { createEksProvider } from '../providers/eks/index';
import { openConnection, retryStrategy, sdkReads, type Connection, type EksReads } from '../providers/eks/reads';
import { sdkClient } from './fixtures/drift/fleet';

/**
 * How eksidp's two request paths travel (providers/eks/transport.ts, http1.ts, reads.ts): the lean
 * reads and the SDK client (its reads and its writes) both honour the provider block's and the
 * environment's proxies, `custom_ca_bundle` / AWS_CA_BUNDLE, `max_retries` and `retry_mode`.
 *
 * The proxy here is a plain node:http forward proxy that alone resolves `eks.internal.test` (to the
 * emulator on loopback): a request that did not go through it cannot succeed.
 */

const NAME = 'eks.internal.test';
const TLS_DIR = path.join(__dirname, 'fixtures', 'tls');
const CERT_FILE = path.join(TLS_DIR, 'cert.pem');
const TUNING: Tuning = { ...DEFAULT_TUNING, maxAttempts: 3 };
const KEYS = { region: 'us-east-1', access_key: 'test', secret_key: 'test' };

async function listen(t: ExecutionContext, srv: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  srv.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  return (srv.address() as net.AddressInfo).port;
}

async function emulator(t: ExecutionContext): Promise<EmulatorHandle & { port: number }> {
  // The emulator answers loopback Host names only, and the name the test proxy maps to it.
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0, allowHosts: [NAME] });
  t.teardown(() => em.close());
  const admin = sdkClient(em.url);
  t.teardown(() => admin.destroy());
  await admin.send(new CreateClusterCommand({ name: 'alpha', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
  return Object.assign(em, { port: Number(new URL(em.url).port) });
}

/** A forward proxy that knows one name: NAME:port is 127.0.0.1:port. Absolute-form requests for http, CONNECT for https. */
async function proxy(t: ExecutionContext) {
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('this proxy takes absolute-form requests only');
      return;
    }
    if (target.hostname !== NAME) {
      res.writeHead(502).end(`this proxy does not know ${target.hostname}`);
      return;
    }
    seen.push(`${req.method} ${target.host}${target.pathname}`);
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const up = http.request({ host: '127.0.0.1', port: Number(target.port), method: req.method, path: `${target.pathname}${target.search}`, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  srv.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(':');
    socket.on('error', () => {});
    if (host !== NAME) return void socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    seen.push(`CONNECT ${req.url}`);
    const up = net.connect(Number(port), '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
  });
  const port = await listen(t, srv);
  return { url: `http://127.0.0.1:${port}`, seen };
}

/** TLS in front of the emulator, with the test-only certificate (127.0.0.1 and NAME). */
async function tlsFront(t: ExecutionContext, upstreamPort: number): Promise<number> {
  const srv = tls.createServer({ cert: fs.readFileSync(CERT_FILE), key: fs.readFileSync(path.join(TLS_DIR, 'key.pem')) }, (s) => {
    const up = net.connect(upstreamPort, '127.0.0.1');
    s.pipe(up);
    up.pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  srv.on('tlsClientError', () => {});
  return listen(t, srv);
}

function connect(t: ExecutionContext, provider: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Connection {
  const { connection, diagnostics } = openConnection({ ...KEYS, ...provider }, env, TUNING);
  if (!connection) throw new Error(`not configured: ${diagnostics.map((d) => d.summary).join('; ')}`);
  t.teardown(() => connection.close());
  return connection;
}

/** The three ways a connection sends: lean reads, the SDK client's reads, and an SDK write. */
function paths(c: Connection): { lean: EksReads; sdk: EksReads; write: (name: string) => Promise<unknown> } {
  return {
    lean: c.reads,
    sdk: sdkReads(c.client),
    write: (name) => c.client.send(new CreateClusterCommand({ name, roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } })),
  };
}

test('a proxy from the provider block carries lean reads, SDK reads and SDK writes to a name only it resolves', async (t) => {
  const em = await emulator(t);
  const px = await proxy(t);
  const c = connect(t, { endpoints: [{ eks: `http://${NAME}:${em.port}` }], http_proxy: px.url });
  const { lean, sdk, write } = paths(c);
  t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha');
  t.is((await sdk.describeCluster('alpha')).cluster?.name, 'alpha');
  await write('beta');
  t.is((await lean.describeCluster('beta')).cluster?.name, 'beta');
  // EKSIDP_SDK_READS=1: the connection's reads are the SDK client's, through the same proxy.
  const viaSdk = connect(t, { endpoints: [{ eks: `http://${NAME}:${em.port}` }], http_proxy: px.url }, { EKSIDP_SDK_READS: '1' });
  t.is((await viaSdk.reads.listIdentityProviderConfigs('alpha', undefined)).identityProviderConfigs?.length, 0);
  t.deepEqual(px.seen, [
    `GET ${NAME}:${em.port}/clusters/alpha`,
    `GET ${NAME}:${em.port}/clusters/alpha`,
    `POST ${NAME}:${em.port}/clusters`,
    `GET ${NAME}:${em.port}/clusters/beta`,
    `GET ${NAME}:${em.port}/clusters/alpha/identity-provider-configs`,
  ]);
});

test('HTTP_PROXY from the environment (lower case too) does the same; NO_PROXY covering the name sends it direct, which fails naming the host', async (t) => {
  const em = await emulator(t);
  const px = await proxy(t);
  const endpoint = { endpoints: [{ eks: `http://${NAME}:${em.port}` }] };
  for (const env of [{ HTTP_PROXY: px.url }, { http_proxy: px.url }]) {
    const { lean, sdk } = paths(connect(t, endpoint, env));
    t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha');
    t.is((await sdk.describeCluster('alpha')).cluster?.name, 'alpha');
  }
  t.is(px.seen.length, 4);

  // One attempt each: the direct connection needs a DNS lookup of a name that exists nowhere (.test).
  const direct = connect(t, { ...endpoint, max_retries: 1 }, { HTTP_PROXY: px.url, NO_PROXY: `other.test,${NAME}` });
  const { lean, sdk, write } = paths(direct);
  for (const call of [() => lean.describeCluster('alpha'), () => sdk.describeCluster('alpha'), () => write('gamma')]) {
    const err = (await t.throwsAsync(call())) as NodeJS.ErrnoException;
    t.regex(String(err.code), /ENOTFOUND|EAI_AGAIN/);
    t.true(err.message.includes(NAME), err.message);
  }
  t.is(px.seen.length, 4, 'nothing more went through the proxy');

  // The block's no_proxy replaces NO_PROXY: the name is proxied again.
  const { lean: again } = paths(connect(t, { ...endpoint, no_proxy: 'other.test' }, { HTTP_PROXY: px.url, NO_PROXY: NAME }));
  t.is((await again.describeCluster('alpha')).cluster?.name, 'alpha');
  t.is(px.seen.length, 5);
});

test('loopback endpoints are never proxied, as with Terraform\'s Go provider', async (t) => {
  const em = await emulator(t);
  const px = await proxy(t);
  const { lean, sdk, write } = paths(connect(t, { endpoints: [{ eks: em.url }], http_proxy: px.url, https_proxy: px.url }, { HTTP_PROXY: px.url }));
  t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha');
  t.is((await sdk.describeCluster('alpha')).cluster?.name, 'alpha');
  await write('delta');
  t.deepEqual(px.seen, []);
});

test('https through the proxy (CONNECT) is trusted with custom_ca_bundle on both paths, and refused without it', async (t) => {
  const em = await emulator(t);
  const px = await proxy(t);
  const tlsPort = await tlsFront(t, em.port);
  const endpoint = { endpoints: [{ eks: `https://${NAME}:${tlsPort}` }], https_proxy: px.url };
  const { lean, sdk, write } = paths(connect(t, { ...endpoint, custom_ca_bundle: CERT_FILE }));
  t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha');
  t.is((await sdk.describeCluster('alpha')).cluster?.name, 'alpha');
  await write('epsilon');
  t.true(px.seen.length >= 1 && px.seen.every((s) => s === `CONNECT ${NAME}:${tlsPort}`), px.seen.join(', '));

  const untrusted = paths(connect(t, { ...endpoint, max_retries: 1 }));
  for (const call of [() => untrusted.lean.describeCluster('alpha'), () => untrusted.sdk.describeCluster('alpha')]) {
    const err = (await t.throwsAsync(call())) as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    t.regex(`${err.code} ${err.cause?.code} ${err.message}`, /SELF_SIGNED|self.signed/i);
  }
});

test('direct https: custom_ca_bundle and AWS_CA_BUNDLE are trusted on both paths; the machine\'s system bundle in AWS_CA_BUNDLE loads and is what is trusted', async (t) => {
  const em = await emulator(t);
  const tlsPort = await tlsFront(t, em.port);
  const endpoint = { endpoints: [{ eks: `https://127.0.0.1:${tlsPort}` }], max_retries: 1 };
  for (const [what, provider, env] of [
    ['custom_ca_bundle', { custom_ca_bundle: CERT_FILE }, {}],
    ['AWS_CA_BUNDLE', {}, { AWS_CA_BUNDLE: CERT_FILE }],
    ['custom_ca_bundle over AWS_CA_BUNDLE', { custom_ca_bundle: CERT_FILE }, { AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' }],
  ] as const) {
    const { lean, sdk, write } = paths(connect(t, { ...endpoint, ...provider }, env));
    t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha', what);
    t.is((await sdk.describeCluster('alpha')).cluster?.name, 'alpha', what);
    await t.notThrowsAsync(write(`w-${what.replace(/\W/g, '')}`.slice(0, 40)), what);
  }
  const system = '/etc/ssl/certs/ca-certificates.crt';
  if (!fs.existsSync(system)) return t.log(`${system} is missing on this machine: its case is skipped`);
  const { connection, diagnostics } = openConnection({ ...KEYS, ...endpoint }, { AWS_CA_BUNDLE: system }, TUNING);
  t.deepEqual(diagnostics, []);
  t.teardown(() => connection?.close());
  const { lean, sdk } = paths(connection!);
  for (const call of [() => lean.describeCluster('alpha'), () => sdk.describeCluster('alpha')]) {
    const err = (await t.throwsAsync(call())) as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    t.regex(`${err.code} ${err.cause?.code} ${err.message}`, /SELF_SIGNED|self.signed/i, 'the system roots do not include the test certificate');
  }
});

test('max_retries and retry_mode (else AWS_MAX_ATTEMPTS / AWS_RETRY_MODE) apply to both paths; unset, eksidp stays adaptive', async (t) => {
  const em = await emulator(t);
  em.setFaults({ throttleRate: 1 });
  const endpoint = { endpoints: [{ eks: em.url }] };
  const attemptsOf = async (provider: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    const c = connect(t, { ...endpoint, ...provider }, env);
    const { lean, sdk } = paths(c);
    const counts: number[] = [];
    for (const r of [lean, sdk]) {
      em.resetCalls();
      await t.throwsAsync(r.describeCluster('alpha'), { name: 'ThrottlingException' });
      counts.push(em.calls().DescribeCluster ?? 0);
    }
    const mode = ((await c.client.config.retryStrategy()) as { mode?: string }).mode;
    return { counts, mode };
  };
  t.deepEqual(await attemptsOf({ max_retries: 2, retry_mode: 'standard' }), { counts: [2, 2], mode: 'standard' });
  t.deepEqual(await attemptsOf({}, { AWS_MAX_ATTEMPTS: '1', AWS_RETRY_MODE: 'standard' }), { counts: [1, 1], mode: 'standard' });
  t.deepEqual(await attemptsOf({ max_retries: 1 }, { AWS_MAX_ATTEMPTS: '3' }), { counts: [1, 1], mode: 'adaptive' });
  // The lean path with static keys builds its strategy from the same settings (no SDK client).
  t.is((retryStrategy({ maxAttempts: 2, mode: 'standard' }) as { mode?: string }).mode, 'standard');
  t.is((retryStrategy({ maxAttempts: 2, mode: 'adaptive' }) as { mode?: string }).mode, 'adaptive');
});

test('the SDK client sends through the connection\'s transport: a query string and a POST body survive, and destroy() leaves the lean reads working', async (t) => {
  const em = await emulator(t);
  const c = connect(t, { endpoints: [{ eks: em.url }] });
  const out = await c.client.send(new DescribeClusterCommand({ name: 'alpha' }));
  t.is(out.cluster?.name, 'alpha');
  t.is(out.$metadata.httpStatusCode, 200);
  c.client.destroy();
  t.is((await c.reads.describeCluster('alpha')).cluster?.name, 'alpha');
});

test('STS goes the same way: the account check and an assumed role reach a name only the proxy resolves, and fail direct', async (t) => {
  const em = await emulator(t);
  const ci = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret-key' };
  em.setAccounts({ accounts: { '111111111111': { users: { ci }, roles: { r: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] } } } } } });
  const px = await proxy(t);
  const config = {
    region: 'us-east-1', access_key: ci.accessKeyId, secret_key: ci.secretAccessKey, endpoints: [{ eks: `http://${NAME}:${em.port}`, sts: `http://${NAME}:${em.port}` }],
    http_proxy: px.url, assume_role: [{ role_arn: 'arn:aws:iam::111111111111:role/r' }], allowed_account_ids: ['111111111111'],
  };
  const p = createEksProvider({ maxAttempts: 2 });
  t.teardown(() => p.close?.());
  em.resetCalls();
  t.deepEqual((await p.configure({ config, env: {} })).diagnostics.filter((d) => d.severity === 'error'), []);
  const ds = await p.readDataSource({ typeName: 'aws_eks_cluster', address: 'data.aws_eks_cluster.a', config: { name: 'alpha' } });
  t.regex(ds.diagnostics[0]?.summary ?? '', /not found/, 'alpha lives in the default account, not the role\'s: the read was the role\'s');
  t.deepEqual(px.seen.filter((s) => s.startsWith('POST')).length, 2, `AssumeRole and GetCallerIdentity through the proxy: ${px.seen.join(', ')}`);
  t.true(px.seen.includes(`GET ${NAME}:${em.port}/clusters/alpha`));
  const eks = em.callLog().filter((c) => c.service === 'eks');
  t.true(eks.length > 0 && eks.every((c) => c.principal?.startsWith('arn:aws:sts::111111111111:assumed-role/r/')));
  // With NO_PROXY naming the host, STS is called directly, where the name does not resolve.
  const direct = createEksProvider({ maxAttempts: 1 });
  t.teardown(() => direct.close?.());
  const r = await direct.configure({ config: { ...config, no_proxy: NAME }, env: {} });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  t.is(errors.length, 1);
  t.regex(errors[0]?.summary ?? '', /validating provider credentials: cannot assume IAM role arn:aws:iam::111111111111:role\/r/);
});

test('insecure = true turns certificate verification off on every path: lean reads, SDK reads and writes, STS, directly and through a proxy; without it the same calls are refused', async (t) => {
  const em = await emulator(t);
  const tlsPort = await tlsFront(t, em.port);
  const px = await proxy(t);
  const direct = { endpoints: [{ eks: `https://127.0.0.1:${tlsPort}` }], max_retries: 1 };
  const proxied = { endpoints: [{ eks: `https://${NAME}:${tlsPort}` }], https_proxy: px.url, max_retries: 1 };
  for (const [what, endpoint] of [['direct', direct], ['through the proxy', proxied]] as const) {
    const refused = paths(connect(t, endpoint));
    for (const call of [() => refused.lean.describeCluster('alpha'), () => refused.sdk.describeCluster('alpha'), () => refused.write(`r-${what.length}`)]) {
      const err = (await t.throwsAsync(call())) as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      t.regex(`${err.code} ${err.cause?.code} ${err.message}`, /SELF_SIGNED|self.signed/i, what);
    }
    // insecure wins over a CA bundle that does not hold the certificate, as Go's InsecureSkipVerify does.
    for (const extra of [{}, { custom_ca_bundle: '/etc/ssl/certs/ca-certificates.crt' }]) {
      if (extra.custom_ca_bundle && !fs.existsSync(extra.custom_ca_bundle)) continue;
      const { lean, sdk, write } = paths(connect(t, { ...endpoint, ...extra, insecure: true }));
      t.is((await lean.describeCluster('alpha')).cluster?.name, 'alpha', what);
      t.is((await sdk.describeCluster('alpha')).cluster?.name, 'alpha', what);
      await t.notThrowsAsync(write(`i-${what.length}-${Object.keys(extra).length}`), what);
    }
  }
  t.true(px.seen.length > 0 && px.seen.every((s) => s === `CONNECT ${NAME}:${tlsPort}`), px.seen.join(', '));

  // STS over https (the account check and an assumed role) is the same transport.
  const ci = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret-key' };
  em.setAccounts({ accounts: { '111111111111': { users: { ci }, roles: { r: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] } } } } } });
  const sts = {
    region: 'us-east-1', access_key: ci.accessKeyId, secret_key: ci.secretAccessKey, max_retries: 1,
    endpoints: [{ eks: `https://127.0.0.1:${tlsPort}`, sts: `https://127.0.0.1:${tlsPort}` }],
    assume_role: [{ role_arn: 'arn:aws:iam::111111111111:role/r' }], allowed_account_ids: ['111111111111'],
  };
  const strict = createEksProvider({ maxAttempts: 1 });
  t.teardown(() => strict.close?.());
  const no = await strict.configure({ config: sts, env: {} });
  t.regex(no.diagnostics.map((d) => d.summary).join('\n'), /validating provider credentials: cannot assume IAM role arn:aws:iam::111111111111:role\/r: .*self.signed/i);
  const lax = createEksProvider({ maxAttempts: 1 });
  t.teardown(() => lax.close?.());
  em.resetCalls();
  t.deepEqual((await lax.configure({ config: { ...sts, insecure: true }, env: {} })).diagnostics.filter((d) => d.severity === 'error'), []);
  t.deepEqual(em.callLog().map((c) => c.operation), ['AssumeRole', 'GetCallerIdentity']);
});
