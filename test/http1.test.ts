import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import { Http1Pool } from '../providers/eks/http1';
import { createTransport } from '../providers/eks/transport';

/**
 * The lean read path's HTTP/1.1 client (providers/eks/http1.ts) against a scripted raw TCP server:
 * every framing EKS or a proxy in front of it may use, connection reuse and loss, limits, timeouts.
 * The hostile servers at the end (issue 19, item 7) run against both HTTP clients eksidp has: this
 * one and the undici transport (providers/eks/transport.ts) that the SDK client and proxied reads use.
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

// ---------------------------------------------------------------------------------------------
// Hostile servers, against both clients: each ends with a clear error within the request deadline,
// and what the client buffered stays bounded (the server counts what it could write before the
// client hung up: an unbounded client would have taken all of it).

type Client = { get(): Promise<{ status: number; body: string }>; close(): void };
const LIMITS = { maxHeaderBytes: 16 * 1024, maxResponseBytes: 256 * 1024 };
const DEADLINE_MS = 1_500;

const clients: Record<string, (url: URL) => Client> = {
  http1: (url) => {
    const p = new Http1Pool(url, { maxSockets: 2, timeoutMs: DEADLINE_MS, ...LIMITS });
    return { get: () => p.request(get()), close: () => p.close() };
  },
  undici: (url) => {
    const tr = createTransport({
      proxy: { httpProxy: '', httpsProxy: '', noProxy: '' }, maxSockets: 2, requestTimeoutMs: DEADLINE_MS, connectTimeoutMs: 1_000,
      maxHeaderBytes: LIMITS.maxHeaderBytes, maxResponseBytes: LIMITS.maxResponseBytes,
    });
    return {
      get: async () => {
        const r = await tr.send(url, get());
        return { status: r.status, body: r.body.toString('utf8') };
      },
      close: () => void tr.close(),
    };
  },
};

/** At most this much is offered by a flooding server; a bounded client hangs up long before. */
const FLOOD_CAP = 64 * 1024 * 1024;

/** A server that writes `head` then `next()` repeatedly (respecting backpressure) until the client goes or the cap is hit. */
async function flooder(t: ExecutionContext, head: string, next: () => string) {
  let written = 0;
  let capped = false;
  const { url } = await server(t, ({ socket }) => {
    socket.write(head);
    written += head.length;
    const pump = () => {
      while (!socket.destroyed && written < FLOOD_CAP) {
        const piece = next();
        written += piece.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      if (written >= FLOOD_CAP) capped = true;
    };
    pump();
  });
  return { url, stats: () => ({ written, capped }) };
}

async function failsClearly(t: ExecutionContext, p: Promise<unknown>, expected: { code?: RegExp; message: RegExp }) {
  const started = Date.now();
  const err = (await t.throwsAsync(p)) as NodeJS.ErrnoException | undefined;
  const ms = Date.now() - started;
  t.regex(err?.message ?? '', expected.message);
  if (expected.code) t.regex(String(err?.code), expected.code);
  t.true(ms < DEADLINE_MS + 1_000, `failed after ${ms} ms (deadline ${DEADLINE_MS} ms)`);
  return err;
}

for (const [name, make] of Object.entries(clients)) {
  test.serial(`${name}: endless headers end with a header-size error, memory bounded`, async (t) => {
    const line = `x-junk: ${'a'.repeat(1000)}\r\n`;
    const { url, stats } = await flooder(t, 'HTTP/1.1 200 OK\r\n', () => line);
    const c = make(url);
    t.teardown(() => c.close());
    await failsClearly(t, c.get(), { code: /HEADER|HPE_/, message: /head|header/i });
    t.false(stats().capped, 'the client hung up before the server ran out of headers to send');
    t.true(stats().written < 16 * 1024 * 1024, `the server got ${stats().written} bytes out before the client hung up`);
  });

  for (const [framing, head, next] of [
    ['Content-Length larger than the limit', 'HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n', () => 'b'.repeat(4096)],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', () => `1000\r\n${'b'.repeat(4096)}\r\n`],
    ['delimited by close', 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n', () => 'b'.repeat(4096)],
  ] as const) {
    test.serial(`${name}: an endless body (${framing}) ends with a size error, memory bounded`, async (t) => {
      const { url, stats } = await flooder(t, head, next);
      const c = make(url);
      t.teardown(() => c.close());
      await failsClearly(t, c.get(), { code: /TOO_LARGE|MAX_SIZE/, message: new RegExp(`exceeds ${LIMITS.maxResponseBytes} bytes|too large`) });
      t.false(stats().capped);
      t.true(stats().written < 16 * 1024 * 1024, `the server got ${stats().written} bytes out before the client hung up`);
    });
  }

  for (const [what, head, drip] of [
    ['the head', '', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: ' + 'z'.repeat(1000)],
    ['the body', 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n', 'y'.repeat(100000)],
  ] as const) {
    test.serial(`${name}: a server trickling ${what} a byte every 20 ms hits the whole-request deadline`, async (t) => {
      const { url } = await server(t, ({ socket }) => {
        socket.write(head);
        let i = 0;
        const timer = setInterval(() => (socket.destroyed || i >= drip.length ? clearInterval(timer) : socket.write(drip[i++]!)), 20);
        socket.on('close', () => clearInterval(timer));
      });
      const c = make(url);
      t.teardown(() => c.close());
      const started = Date.now();
      await failsClearly(t, c.get(), { code: /^ETIMEDOUT$/, message: /within 1500 ms|in time/ });
      t.true(Date.now() - started >= DEADLINE_MS - 50, 'not before the deadline');
    });
  }

  for (const bad of ['0x10', '1e3', '', '-3', '1.5', '2, 3']) {
    test(`${name}: Content-Length ${JSON.stringify(bad)} is refused with a clear error`, async (t) => {
      const { url } = await server(t, ({ socket }) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${bad}\r\n\r\n{}`));
      const c = make(url);
      t.teardown(() => c.close());
      await failsClearly(t, c.get(), { code: /^HPE_/, message: /Content-Length/i });
    });
  }

  test(`${name}: a well-formed response still goes through after the hostile ones (the limits are not too tight)`, async (t) => {
    const body = JSON.stringify({ cluster: { name: 'a'.repeat(200_000) } });
    const { url } = await server(t, ({ socket }) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Fine: ${'h'.repeat(8000)}\r\n\r\n${body}`));
    const c = make(url);
    t.teardown(() => c.close());
    const r = await c.get();
    t.is(r.status, 200);
    t.is(r.body, body);
  });
}

test('http1: header values with CR, LF or NUL are refused before anything is written', async (t) => {
  let requests = 0;
  const { url } = await server(t, ({ socket }) => {
    requests++;
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const p = pool(t, url);
  await t.throwsAsync(p.request({ method: 'GET', path: '/x', headers: { 'x-amz-security-token': 'abc\r\nx-injected: 1' } }), { code: 'ERR_INVALID_HEADER' });
  t.is((await p.request(get())).body, 'ok');
  t.is(requests, 1, 'only the valid request reached the server');
});
