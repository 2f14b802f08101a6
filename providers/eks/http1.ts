import net from 'node:net';

/**
 * A small keep-alive HTTP/1.1 client for the lean read path (reads.ts): one request at a time per
 * connection, up to maxSockets connections, requests queued beyond that.
 *
 * Why not node:http: on this workload (thousands of tiny JSON GETs in a short-lived process) its
 * client costs ~0.37 ms of CPU per request, most of it before the JIT has warmed up; this costs
 * ~0.14 ms, which is the difference between a 1,000-cluster drift check bound by API latency and
 * one bound by CPU. It handles what EKS and proxies in front of it send: Content-Length and chunked
 * bodies, bodies delimited by close, 1xx interim responses, `Connection: close`, and servers that
 * close idle connections. Connection failures carry node's error codes (ECONNRESET, ETIMEDOUT...)
 * so the SDK's retry strategy classifies them as transient. test/http1.test.ts covers the framing.
 */

export type Http1Request = { method: string; path: string; headers: Record<string, string>; body?: string };
export type Http1Response = { status: number; headers: Record<string, string>; body: string };
export type Http1Options = {
  maxSockets: number;
  timeoutMs: number;
  /** Extra trusted CA for https (tests); the default is Node's trust store, and verification is always on. */
  ca?: string;
};

type Pending = { req: Http1Request; resolve: (r: Http1Response) => void; reject: (e: Error) => void; signal?: AbortSignal };

const CRLF2 = Buffer.from('\r\n\r\n');

export class Http1Pool {
  private readonly free: Conn[] = [];
  private readonly queue: Pending[] = [];
  private open = 0;
  private closed = false;
  /** Connections busy per abort signal: one listener per signal (EventTarget listeners cost ~10 µs each). */
  private readonly busy = new WeakMap<AbortSignal, Set<Conn>>();

  constructor(private readonly url: URL, private readonly opts: Http1Options) {}

  request(req: Http1Request, signal?: AbortSignal): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(codeError('The connection pool is closed', 'ERR_POOL_CLOSED'));
      const p: Pending = { req, resolve, reject, signal };
      const conn = this.free.pop() ?? (this.open < this.opts.maxSockets ? this.connect() : undefined);
      if (conn) conn.run(p);
      else this.queue.push(p);
    });
  }

  /** Closes every connection; queued requests fail. */
  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(codeError('The connection pool is closed', 'ERR_POOL_CLOSED'));
    for (const c of this.free.splice(0)) c.destroy();
  }

  private connect(): Conn {
    this.open++;
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const socket =
      this.url.protocol === 'https:'
        ? (require('node:tls') as typeof import('node:tls')).connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ca: this.opts.ca })
        : net.connect({ host, port });
    socket.setNoDelay(true);
    return new Conn(socket, this.url.host, this.opts.timeoutMs, {
      watch: (c, signal) => {
        let set = this.busy.get(signal);
        if (!set) {
          const mine = new Set<Conn>();
          set = mine;
          this.busy.set(signal, mine);
          signal.addEventListener('abort', () => {
            for (const conn of [...mine]) conn.abort(abortReason(signal));
            mine.clear();
          }, { once: true });
        }
        set.add(c);
      },
      unwatch: (c, signal) => void this.busy.get(signal)?.delete(c),
      idle: (c) => {
        const next = this.queue.shift();
        if (next) c.run(next);
        else if (this.closed) c.destroy();
        else this.free.push(c);
      },
      gone: (c) => {
        this.open--;
        const i = this.free.indexOf(c);
        if (i >= 0) this.free.splice(i, 1);
        // A queued request takes the freed slot.
        const next = this.queue.shift();
        if (next) (this.free.pop() ?? this.connect()).run(next);
      },
    });
  }
}

type Hooks = { idle: (c: Conn) => void; gone: (c: Conn) => void; watch: (c: Conn, s: AbortSignal) => void; unwatch: (c: Conn, s: AbortSignal) => void };

class Conn {
  private current: Pending | undefined;
  private chunks: Buffer[] = [];
  private length = 0;
  private dead = false;

  constructor(private readonly socket: net.Socket, private readonly host: string, private readonly timeoutMs: number, private readonly hooks: Hooks) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.fail(codeError('The server closed the connection before the response ended', 'ECONNRESET'), true));
    socket.on('error', (e: Error) => this.fail(e));
    socket.on('close', () => this.fail(codeError('socket hang up', 'ECONNRESET')));
    socket.on('timeout', () => this.fail(codeError(`No response within ${timeoutMs} ms`, 'ETIMEDOUT', 'TimeoutError')));
  }

  run(p: Pending): void {
    if (p.signal?.aborted) {
      p.reject(abortReason(p.signal));
      this.hooks.idle(this);
      return;
    }
    this.current = p;
    this.chunks = [];
    this.length = 0;
    this.socket.ref();
    this.socket.setTimeout(this.timeoutMs);
    if (p.signal) this.hooks.watch(this, p.signal);
    const { req } = p;
    let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${this.host}\r\n`;
    for (const k in req.headers) if (k !== 'host') head += `${k}: ${req.headers[k]}\r\n`;
    if (req.body !== undefined) head += `content-length: ${Buffer.byteLength(req.body)}\r\n`;
    this.socket.write(req.body === undefined ? `${head}\r\n` : `${head}\r\n${req.body}`);
  }

  destroy(): void {
    this.socket.destroy();
  }

  abort(reason: Error): void {
    this.fail(reason);
  }

  private onData(d: Buffer): void {
    if (!this.current) {
      // Bytes nobody asked for: the connection can no longer be trusted.
      this.socket.destroy();
      return;
    }
    this.chunks.push(d);
    this.length += d.length;
    this.tryParse(false);
  }

  /** Completes the response if the bytes so far hold all of it; `eof` when the server closed. */
  private tryParse(eof: boolean): boolean {
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    this.chunks = [buf];
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) return false;
      const lines = buf.toString('latin1', 0, end).split('\r\n');
      const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
      if (!m) return this.fail(codeError(`Malformed HTTP response: ${JSON.stringify(lines[0]!.slice(0, 80))}`, 'HPE_INVALID_CONSTANT'));
      const status = Number(m[2]);
      const headers: Record<string, string> = {};
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const k = line.slice(0, colon).trim().toLowerCase();
        const v = line.slice(colon + 1).trim();
        headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
      }
      const bodyStart = end + 4;
      if (status >= 100 && status < 200) {
        // Interim response (100 Continue...): the real one follows.
        buf = buf.subarray(bodyStart);
        this.chunks = [buf];
        this.length = buf.length;
        continue;
      }
      const keepAlive = m[1] === '1' ? !/\bclose\b/i.test(headers.connection ?? '') : /\bkeep-alive\b/i.test(headers.connection ?? '');
      const noBody = this.current!.req.method === 'HEAD' || status === 204 || status === 304;
      let body: Buffer | undefined;
      let reusable = keepAlive;
      if (noBody) body = Buffer.alloc(0);
      else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
        const r = dechunk(buf, bodyStart);
        if (r === 'incomplete') return eof ? this.fail(codeError('The connection closed inside a chunked body', 'ECONNRESET')) : false;
        if (r === 'malformed') return this.fail(codeError('Malformed chunked body', 'HPE_INVALID_CHUNK_SIZE'));
        body = r.body;
        reusable = keepAlive && r.end === buf.length;
      } else if (headers['content-length'] !== undefined) {
        const len = Number(headers['content-length']);
        if (!Number.isInteger(len) || len < 0) return this.fail(codeError(`Bad Content-Length ${headers['content-length']}`, 'HPE_INVALID_CONTENT_LENGTH'));
        if (buf.length < bodyStart + len) return eof ? this.fail(codeError('The connection closed inside the body', 'ECONNRESET')) : false;
        body = buf.subarray(bodyStart, bodyStart + len);
        reusable = keepAlive && buf.length === bodyStart + len;
      } else {
        // Delimited by the end of the connection.
        if (!eof) return false;
        body = buf.subarray(bodyStart);
        reusable = false;
      }
      this.finish({ status, headers, body: body.toString('utf8') }, reusable);
      return true;
    }
  }

  private finish(res: Http1Response, reusable: boolean): void {
    const p = this.current!;
    this.release();
    if (reusable && !this.dead) {
      this.socket.setTimeout(0);
      // An idle pooled connection must not keep the process alive.
      this.socket.unref();
      p.resolve(res);
      this.hooks.idle(this);
    } else {
      this.dead = true;
      this.socket.destroy();
      p.resolve(res);
      this.hooks.gone(this);
    }
  }

  /** The connection is finished: the request in flight (if any) fails with `e`. */
  private fail(e: Error, eof = false): false {
    if (eof && this.current && this.length > 0 && this.tryParse(true)) return false;
    const p = this.current;
    this.release();
    if (!this.dead) {
      this.dead = true;
      this.socket.destroy();
      this.hooks.gone(this);
    }
    p?.reject(e);
    return false;
  }

  private release(): void {
    if (this.current?.signal) this.hooks.unwatch(this, this.current.signal);
    this.current = undefined;
    this.chunks = [];
    this.length = 0;
  }
}

/** Decodes a chunked body starting at `at`: the body and where it ended, or why it cannot yet. */
function dechunk(buf: Buffer, at: number): { body: Buffer; end: number } | 'incomplete' | 'malformed' {
  const parts: Buffer[] = [];
  let pos = at;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) return 'incomplete';
    const sizeText = buf.toString('latin1', pos, eol).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return 'malformed';
    const size = parseInt(sizeText, 16);
    pos = eol + 2;
    if (size === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const t = buf.indexOf('\r\n', pos, 'latin1');
        if (t < 0) return 'incomplete';
        const empty = t === pos;
        pos = t + 2;
        if (empty) return { body: Buffer.concat(parts), end: pos };
      }
    }
    if (buf.length < pos + size + 2) return 'incomplete';
    parts.push(buf.subarray(pos, pos + size));
    if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) return 'malformed';
    pos += size + 2;
  }
}

function codeError(message: string, code: string, name = 'Error'): Error {
  return Object.assign(new Error(message), { code, name });
}

/** What an aborted call fails with: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}
