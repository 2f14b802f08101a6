import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { Http1Pool } from '../providers/eks/http1';

/**
 * The lean read path's HTTP/1.1 client (providers/eks/http1.ts) against a scripted raw TCP server:
 * every framing EKS or a proxy in front of it may use, connection reuse and loss, limits, timeouts.
 */

type Script = (req: { head: string; body: string; socket: net.Socket; connection: number }) => void;

/** A loopback server that hands each complete request (head + content-length body) to `script`. */
async function server(t: ExecutionContext, script: Script) {
  let connections = 0;
  let open = 0;
  let maxOpen = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    const connection = ++connections;
    open++;
    maxOpen = Math.max(maxOpen, open);
    sockets.add(socket);
    socket.on('close', () => {
      open--;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = Buffer.from(buf.slice(end + 4, end + 4 + len), 'latin1').toString('utf8');
        buf = buf.slice(end + 4 + len);
        script({ head, body, socket, connection });
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  const port = (srv.address() as net.AddressInfo).port;
  return { url: new URL(`http://127.0.0.1:${port}/`), stats: () => ({ connections, maxOpen }) };
}

function pool(t: ExecutionContext, url: URL, opts: Partial<{ maxSockets: number; timeoutMs: number }> = {}) {
  const p = new Http1Pool(url, { maxSockets: 4, timeoutMs: 5_000, ...opts });
  t.teardown(() => p.close());
  return p;
}

const get = (path = '/x') => ({ method: 'GET', path, headers: { 'x-test': '1' } });

/** Writes `text` one byte at a time, so every parser boundary is crossed. */
async function trickle(socket: net.Socket, text: string) {
  for (const b of Buffer.from(text, 'utf8')) {
    socket.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
}

test('Content-Length responses; the connection is reused for the next request', async (t) => {
  const { url, stats } = await server(t, ({ head, socket }) => {
    const path = head.split(' ')[1]!;
    const body = JSON.stringify({ path, host: /\r\nhost: (.*)/.exec(head)?.[1] });
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  const p = pool(t, url);
  for (const path of ['/a', '/b', '/c']) {
    const r = await p.request(get(path));
    t.is(r.status, 200);
    t.deepEqual(JSON.parse(r.body), { path, host: url.host });
    t.is(r.headers['content-type'], 'application/json');
  }
  t.is(stats().connections, 1);
});

test('chunked bodies with extensions and trailers, delivered a byte at a time; UTF-8 across chunk edges', async (t) => {
  const { url, stats } = await server(t, ({ socket }) => {
    const a = Buffer.from('{"name":"é', 'utf8');
    const b = Buffer.from('ü"}', 'utf8');
    void trickle(socket, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${a.length.toString(16)};ext=1\r\n${a.toString('utf8')}\r\n${b.length.toString(16)}\r\n${b.toString('utf8')}\r\n0\r\nX-Trailer: yes\r\n\r\n`);
  });
  const p = pool(t, url);
  t.deepEqual(JSON.parse((await p.request(get())).body), { name: 'éü' });
  t.deepEqual(JSON.parse((await p.request(get())).body), { name: 'éü' });
  t.is(stats().connections, 1, 'a complete chunked response leaves the connection reusable');
});

test('a body delimited by the end of the connection; Connection: close opens a new connection next time', async (t) => {
  const { url, stats } = await server(t, ({ socket, connection }) => {
    if (connection === 1) socket.end('HTTP/1.1 200 OK\r\n\r\n{"by":"close"}');
    else socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}');
  });
  const p = pool(t, url);
  t.is((await p.request(get())).body, '{"by":"close"}');
  t.is((await p.request(get())).body, '{}');
  t.is((await p.request(get())).body, '{}');
  t.is(stats().connections, 3);
});

test('a 100 Continue interim response is skipped; 204 has no body; POST bodies carry their byte length', async (t) => {
  const { url } = await server(t, ({ head, body, socket }) => {
    if (head.startsWith('POST')) {
      const echo = JSON.stringify({ body, length: /content-length: (\d+)/i.exec(head)?.[1] });
      socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(echo)}\r\n\r\n${echo}`);
    } else socket.write('HTTP/1.1 204 No Content\r\n\r\n');
  });
  const p = pool(t, url);
  const r = await p.request({ method: 'POST', path: '/describe', headers: { 'content-type': 'application/json' }, body: '{"name":"ñ"}' });
  t.deepEqual(JSON.parse(r.body), { body: '{"name":"ñ"}', length: '13' });
  const n = await p.request(get());
  t.is(n.status, 204);
  t.is(n.body, '');
});

test('a server that closes idle connections: the next request gets a fresh one', async (t) => {
  const { url, stats } = await server(t, ({ socket }) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    setTimeout(() => socket.end(), 20);
  });
  const p = pool(t, url);
  t.is((await p.request(get())).body, 'ok');
  await new Promise((r) => setTimeout(r, 100));
  t.is((await p.request(get())).body, 'ok');
  t.is(stats().connections, 2);
});

test('a connection lost mid-response fails with ECONNRESET (retryable); so does a truncated body', async (t) => {
  const { url } = await server(t, ({ socket, connection }) => {
    if (connection === 1) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial"');
    else {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{');
      setTimeout(() => socket.resetAndDestroy(), 10);
    }
  });
  const p = pool(t, url);
  await t.throwsAsync(p.request(get()), { code: 'ECONNRESET' });
  await t.throwsAsync(p.request(get()), { code: 'ECONNRESET' });
});

test('no response within the timeout fails with ETIMEDOUT; malformed responses fail clearly', async (t) => {
  const { url } = await server(t, ({ socket, head }) => {
    if (head.includes('/garbage')) socket.write('SMTP ready\r\n\r\n');
    if (head.includes('/badlen')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n');
    // /silent: nothing
  });
  const p = pool(t, url, { timeoutMs: 200 });
  await t.throwsAsync(p.request(get('/silent')), { code: 'ETIMEDOUT', name: 'TimeoutError' });
  await t.throwsAsync(p.request(get('/garbage')), { message: /Malformed HTTP response/ });
  await t.throwsAsync(p.request(get('/badlen')), { message: /Bad Content-Length/ });
});

test('at most maxSockets connections; requests beyond queue and all complete', async (t) => {
  const { url, stats } = await server(t, ({ socket }) => {
    setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 10);
  });
  const p = pool(t, url, { maxSockets: 3 });
  const all = await Promise.all(Array.from({ length: 30 }, () => p.request(get())));
  t.true(all.every((r) => r.body === 'ok'));
  t.true(stats().maxOpen <= 3, `open connections peaked at ${stats().maxOpen}`);
});

test('aborting a signal fails only the requests that carry it; a refused connection fails with its code', async (t) => {
  const { url } = await server(t, ({ socket, head }) => {
    if (!head.includes('/slow')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const p = pool(t, url);
  const ac = new AbortController();
  const slow = p.request(get('/slow'), ac.signal);
  const fast = p.request(get('/fast'));
  setTimeout(() => ac.abort(new Error('stop')), 50);
  await t.throwsAsync(slow, { message: 'stop' });
  t.is((await fast).body, 'ok');
  await t.throwsAsync(p.request(get('/later'), ac.signal), { message: 'stop' }, 'an already aborted signal fails at once');

  const closed = await server(t, () => {});
  const refused = new URL(closed.url.href);
  await new Promise<void>((r) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      refused.port = String((probe.address() as net.AddressInfo).port);
      probe.close(() => r());
    });
  });
  await t.throwsAsync(pool(t, refused).request(get()), { code: 'ECONNREFUSED' });
});

test('https: the certificate is verified (a self-signed one is refused) and, once trusted, the connection is reused', async (t) => {
  const dir = path.join(__dirname, 'fixtures', 'tls');
  const cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  let connections = 0;
  const srv = tls.createServer({ cert, key: fs.readFileSync(path.join(dir, 'key.pem')) }, (socket) => {
    connections++;
    socket.on('error', () => {});
    socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => srv.close());
  const url = new URL(`https://127.0.0.1:${(srv.address() as net.AddressInfo).port}/`);
  const refused = await t.throwsAsync(pool(t, url).request(get()));
  t.regex(String((refused as NodeJS.ErrnoException | undefined)?.code), /SELF_SIGNED/);
  const trusted = new Http1Pool(url, { maxSockets: 2, timeoutMs: 5_000, ca: cert });
  t.teardown(() => trusted.close());
  t.is((await trusted.request(get())).body, 'secure');
  t.is((await trusted.request(get())).body, 'secure');
  t.is(connections, 1, 'one TLS session for both requests (the refused handshake never became one)');
});
