import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { startEmulator, type EmulatorOptions } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';
import { send } from './helpers/aws-signing';

/**
 * Planted attacks on the emulator's doors: a web page must not be able to drive it (cross-site form
 * posts, DNS rebinding), and a flood of connections must not take it down.
 */

async function setup(t: ExecutionContext, opts: EmulatorOptions = {}) {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, ...opts });
  t.teardown(() => em.close());
  return em;
}

const cluster = JSON.stringify({ name: 'planted', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['s'] } });
const host = (url: string) => new URL(url).host;

test('a cross-site text/plain form post cannot change faults, reset calls or create a cluster, with or without an Origin header', async (t) => {
  const em = await setup(t);
  const before = JSON.parse((await send(em.url, 'GET', '/_emulator/faults', {})).body) as Record<string, number>;
  await send(em.url, 'GET', '/clusters', {});
  // What an HTML <form enctype="text/plain"> sends: no preflight needed, JSON-looking body.
  const forms: Record<string, string>[] = [
    { 'content-type': 'text/plain' },
    { 'content-type': 'text/plain', origin: 'https://evil.example' },
    { 'content-type': 'application/x-www-form-urlencoded' },
    { 'content-type': 'multipart/form-data; boundary=x' },
    {},
  ];
  for (const headers of forms) {
    const label = JSON.stringify(headers);
    const faults = await send(em.url, 'POST', '/_emulator/faults', headers, JSON.stringify({ errorRate: 1, throttleRate: 1 }));
    t.is(faults.status, headers.origin ? 403 : 415, label);
    t.is(faults.type, headers.origin ? 'AccessDeniedException' : 'UnsupportedMediaTypeException', label);
    t.like(await send(em.url, 'POST', '/clusters', headers, cluster), { status: headers.origin ? 403 : 415 }, label);
    t.like(await send(em.url, 'POST', '/_emulator/calls/reset', headers), { status: headers.origin ? 403 : 415 }, label);
    t.like(await send(em.url, 'POST', '/_emulator/out-of-band/delete-cluster', headers, '{"cluster":"x"}'), { status: headers.origin ? 403 : 415 }, label);
  }
  t.deepEqual(JSON.parse((await send(em.url, 'GET', '/_emulator/faults', {})).body), before, 'faults unchanged');
  t.deepEqual(em.calls(), { ListClusters: 1 }, 'calls not reset, and refused requests are not API calls');
  t.deepEqual((em.snapshot() as { clusters: unknown[] }).clusters, [], 'no cluster created');
  // The same requests with the JSON type an API client sends go through.
  t.like(await send(em.url, 'POST', '/clusters', { 'content-type': 'application/json' }, cluster), { status: 200 });
  t.like(await send(em.url, 'POST', '/_emulator/faults', { 'content-type': 'application/json; charset=utf-8' }, '{"latencyMs":1}'), { status: 200 });
  // A DELETE with a body needs JSON too (one without a body, as the SDK sends it, needs no type).
  t.like(await send(em.url, 'DELETE', '/clusters/planted', { 'content-type': 'text/plain', 'content-length': '1' }, 'x'), { status: 415 });
  t.like(await send(em.url, 'DELETE', '/clusters/planted', {}), { status: 200 });
});

test('STS keeps its form content type, and only there; a browser request to it is refused', async (t) => {
  const em = await setup(t);
  const form = 'Action=GetCallerIdentity&Version=2011-06-15';
  const plain = await send(em.url, 'POST', '/', { 'content-type': 'text/plain' }, form);
  t.is(plain.status, 415);
  t.regex(plain.body, /<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">[\s\S]*<Code>UnsupportedMediaType<\/Code>/);
  const browser = await send(em.url, 'POST', '/', { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, form);
  t.is(browser.status, 403);
  t.regex(browser.body, /<Code>AccessDenied<\/Code>[\s\S]*Origin header/);
  // The form type reaches STS (which wants a signature), but is no way into EKS or the admin API.
  t.regex((await send(em.url, 'POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }, form)).body, /<Code>MissingAuthenticationToken<\/Code>/);
  t.deepEqual(em.stsCalls(), { GetCallerIdentity: 1 });
});

test('DNS rebinding: a Host other than a loopback name is refused when bound to loopback, unless allowed by name', async (t) => {
  const em = await setup(t);
  const port = new URL(em.url).port;
  for (const h of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`]) {
    const r = await send(em.url, 'GET', '/_emulator/state', { host: h });
    t.is(r.status, 403, h);
    t.is(r.type, 'AccessDeniedException', h);
    t.regex(r.body, /is not allowed: the emulator is bound to loopback/);
    t.like(await send(em.url, 'POST', '/clusters', { host: h, 'content-type': 'application/json' }, cluster), { status: 403 }, h);
  }
  t.deepEqual((em.snapshot() as { clusters: unknown[] }).clusters, []);
  for (const h of [host(em.url), `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`, 'localhost']) {
    t.is((await send(em.url, 'GET', '/_emulator/health', { host: h })).status, 200, h);
  }

  const allowing = await setup(t, { allowHosts: ['eks.internal.test'] });
  const p2 = new URL(allowing.url).port;
  t.is((await send(allowing.url, 'GET', '/_emulator/health', { host: `eks.internal.test:${p2}` })).status, 200);
  t.is((await send(allowing.url, 'GET', '/_emulator/health', { host: `other.internal.test:${p2}` })).status, 403);
});

test('any request with an Origin header is refused, reads included', async (t) => {
  const em = await setup(t);
  for (const origin of ['https://evil.example', 'null', `http://${host(em.url)}`]) {
    const r = await send(em.url, 'GET', '/_emulator/state', { origin });
    t.like(r, { status: 403, type: 'AccessDeniedException' }, origin);
    t.like(await send(em.url, 'GET', '/clusters', { origin }), { status: 403 }, origin);
  }
  t.deepEqual(em.calls(), {});
});

test('concurrent connections are capped: beyond the cap new ones are closed at once, and freed slots are served again', async (t) => {
  const em = await setup(t, { maxConnections: 4 });
  const { hostname, port } = new URL(em.url);
  const open = () => new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: hostname, port: Number(port) }, () => resolve(s));
    s.on('error', reject);
  });
  /** Whether the server closes this socket within `ms` (it closes sockets over the cap right away). */
  const closedWithin = (s: net.Socket, ms: number) => new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => { clearTimeout(timer); resolve(true); });
    s.on('error', () => undefined);
  });
  const held = await Promise.all(Array.from({ length: 4 }, open));
  t.teardown(() => held.forEach((s) => s.destroy()));
  const extra = await Promise.all(Array.from({ length: 3 }, open));
  t.teardown(() => extra.forEach((s) => s.destroy()));
  t.deepEqual(await Promise.all(extra.map((s) => closedWithin(s, 1000))), [true, true, true], 'over the cap: closed');
  t.deepEqual(await Promise.all(held.map((s) => closedWithin(s, 200))), [false, false, false, false], 'within the cap: kept');
  held[0]!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  t.is((await send(em.url, 'GET', '/_emulator/health', {})).status, 200, 'a freed slot is served');
});

test('binding a non-loopback address is warned about on stderr (API and CLI)', async (t) => {
  // 192.0.2.1 (TEST-NET-1) is on no local interface: the bind fails, so nothing listens, but the warning comes first.
  const lines: string[] = [];
  await t.throwsAsync(startEmulator({ host: '192.0.2.1', port: 0, log: (l) => lines.push(l) }), { code: 'EADDRNOTAVAIL' });
  t.is(lines.length, 1);
  t.regex(lines[0]!, /WARNING: binding 192\.0\.2\.1, which is not a loopback address: anyone who can reach it can read and change its state/);
  const quiet: string[] = [];
  const em = await setup(t, { log: (l) => quiet.push(l) });
  t.truthy(em.url);
  t.deepEqual(quiet, [], 'no warning on loopback');

  const io = captureIo(process.cwd());
  t.is(await runCommand(['emulator', '--host', '192.0.2.1', '--port', '0'], io), 1);
  t.regex(io.err(), /WARNING: binding 192\.0\.2\.1, which is not a loopback address/);
});
