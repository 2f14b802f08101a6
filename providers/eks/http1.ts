import net from 'node:net';
import type { SecureContext } from 'node:tls';
import { abortReason, SignalWatch } from './abort';

/**
 * A small keep-alive HTTP/1.1 client for the lean read path (reads.ts) on direct connections: one
 * request at a time per connection, up to maxSockets connections, requests queued beyond that.
 * Everything else (proxies, the SDK client) goes through undici (transport.ts).
 *
 * Why not undici here too: measured side by side on a 1,000-cluster drift check (bench/README.md),
 * undici costs ~0.2 ms more CPU per read call than this, four times the 0.05 ms the project allows
 * (about +0.6 s of CPU per 1,000 clusters): module loading, its per-request objects and header
 * validation. Why not node:http: ~0.37 ms per request on this workload, most of it before the JIT
 * has warmed up.
 *
 * What it handles: Content-Length and chunked bodies (decoded as they arrive), bodies delimited by
 * close, 1xx interim responses, `Connection: close`, servers that close idle connections. What it
 * refuses, each with a clear error and the connection dropped: a response head over maxHeaderBytes,
 * a body over maxResponseBytes, a Content-Length that is not plain digits (`0x10`, `1e3`, empty,
 * two different values), a malformed chunk, header values with CR, LF or NUL in the request. The
 * deadline covers the whole request (queueing, connect, headers and body), so a server trickling
 * bytes cannot hold it. Connection failures carry node's error codes (ECONNRESET, ETIMEDOUT...) so
 * the SDK's retry strategy classifies them as transient. test/http1.test.ts covers all of it.
 */

export type Http1Request = { method: string; path: string; headers: Record<string, string>; body?: string };
export type Http1Response = { status: number; headers: Record<string, string>; body: string };
export type Http1Options = {
  maxSockets: number;
  /** Deadline for a whole request, from `request()` to the last byte of the body. */
  timeoutMs: number;
  /** Largest response head (status line and headers) accepted; default 64 KiB. */
  maxHeaderBytes?: number;
  /** Largest response body accepted; default 8 MiB. */
  maxResponseBytes?: number;
  /** Extra trusted CA (PEM) for https, replacing the default roots. */
  ca?: string;
  /** No certificate verification (`insecure = true` in the provider block). */
  insecure?: boolean;
};

const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

type Pending = {
  req: Http1Request;
  resolve: (r: Http1Response) => void;
  reject: (e: Error) => void;
  signal?: AbortSignal;
  timer?: NodeJS.Timeout;
  conn?: Conn;
  done: boolean;
};

type Limits = { maxHeaderBytes: number; maxResponseBytes: number };

const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const UNSAFE_VALUE = /[\r\n\0]/;

export class Http1Pool {
  private readonly free: Conn[] = [];
  private readonly queue: Pending[] = [];
  private open = 0;
  private closed = false;
  /**
   * What answers for a request with an abort signal: its connection while in flight (at most
   * maxSockets objects, re-added request after request), the request itself while queued.
   * Watching each request instead cost ~20 MB of peak RSS and ~0.05 ms per call on a 1,000-cluster
   * drift check (thousands of distinct entries churning through one Set).
   */
  private readonly watched = new SignalWatch<Conn | Pending>((x, reason) => (x instanceof Conn ? x.abort(reason) : this.fail(x, reason)));
  private readonly limits: Limits;
  private secureContext: SecureContext | undefined;

  constructor(private readonly url: URL, private readonly opts: Http1Options) {
    this.limits = { maxHeaderBytes: opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES };
  }

  request(req: Http1Request, signal?: AbortSignal): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(codeError('The connection pool is closed', 'ERR_POOL_CLOSED'));
      if (signal?.aborted) return reject(abortReason(signal));
      for (const k in req.headers) {
        if (UNSAFE_VALUE.test(req.headers[k]!) || UNSAFE_VALUE.test(k)) return reject(codeError(`Invalid character in the ${k} request header`, 'ERR_INVALID_HEADER'));
      }
      const p: Pending = { req, resolve, reject, signal, done: false };
      p.timer = setTimeout(() => this.fail(p, codeError(`No complete response from ${this.url.host} within ${this.opts.timeoutMs} ms`, 'ETIMEDOUT', 'TimeoutError')), this.opts.timeoutMs);
      const conn = this.free.pop() ?? (this.open < this.opts.maxSockets ? this.connect() : undefined);
      if (conn) conn.run(p);
      else {
        this.queue.push(p);
        if (signal) this.watched.watch(signal, p);
      }
    });
  }

  /** Closes every connection; queued requests fail. */
  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.fail(p, codeError('The connection pool is closed', 'ERR_POOL_CLOSED'));
    for (const c of this.free.splice(0)) c.destroy();
  }

  /** Ends `p` with `e` wherever it is: queued (removed), in flight (its connection is dropped). */
  private fail(p: Pending, e: Error): void {
    if (p.done) return;
    if (p.conn) {
      p.conn.abort(e);
      return;
    }
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    settle(p, this.watched, undefined);
    p.reject(e);
  }

  /** The next queued request, no longer watched as queued (its connection will be). */
  private dequeue(): Pending | undefined {
    const next = this.queue.shift();
    if (next?.signal) this.watched.unwatch(next.signal, next);
    return next;
  }

  private connect(): Conn {
    this.open++;
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    let socket: net.Socket;
    if (this.url.protocol === 'https:') {
      const tls = require('node:tls') as typeof import('node:tls');
      // One TLS context for a custom CA: building it per connection would parse the bundle each time.
      if (this.opts.ca) this.secureContext ??= tls.createSecureContext({ ca: this.opts.ca });
      socket = tls.connect({
        host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'],
        ...(this.opts.insecure ? { rejectUnauthorized: false } : this.secureContext ? { secureContext: this.secureContext } : {}),
      });
    } else socket = net.connect({ host, port });
    socket.setNoDelay(true);
    return new Conn(socket, this.url.host, this.limits, {
      settled: (p, c) => settle(p, this.watched, c),
      watch: (signal, c) => this.watched.watch(signal, c),
      idle: (c) => {
        const next = this.dequeue();
        if (next) c.run(next);
        else if (this.closed) c.destroy();
        else this.free.push(c);
      },
      gone: (c) => {
        this.open--;
        const i = this.free.indexOf(c);
        if (i >= 0) this.free.splice(i, 1);
        // A queued request takes the freed slot.
        const next = this.dequeue();
        if (next) (this.free.pop() ?? this.connect()).run(next);
      },
    });
  }
}

/** Marks `p` finished: no timer, no signal watch (of it queued, or of its connection `c`), no connection. */
function settle(p: Pending, watched: SignalWatch<Conn | Pending>, c: Conn | undefined): void {
  p.done = true;
  p.conn = undefined;
  clearTimeout(p.timer);
  if (p.signal) watched.unwatch(p.signal, c ?? p);
}

type Hooks = {
  idle: (c: Conn) => void;
  gone: (c: Conn) => void;
  settled: (p: Pending, c: Conn) => void;
  watch: (signal: AbortSignal, c: Conn) => void;
};

/** How the body of the response being read is delimited, once its head is parsed. */
type BodyState =
  | { kind: 'length'; remaining: number }
  | { kind: 'close' }
  | { kind: 'chunked'; decoder: ChunkedDecoder };

class Conn {
  private current: Pending | undefined;
  /** Response head bytes so far (before the blank line). */
  private head: Buffer[] = [];
  private headLength = 0;
  /** The last bytes of the head so far (at most 3), where a blank line may have begun. */
  private headTail: Buffer = EMPTY;
  private status = 0;
  private headers: Record<string, string> = {};
  private keepAlive = false;
  private body: BodyState | undefined;
  private bodyChunks: Buffer[] = [];
  private bodyLength = 0;
  private dead = false;

  constructor(private readonly socket: net.Socket, private readonly host: string, private readonly limits: Limits, private readonly hooks: Hooks) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: Error) => this.fail(e));
    socket.on('close', () => this.fail(codeError('socket hang up', 'ECONNRESET')));
  }

  run(p: Pending): void {
    if (p.done) {
      this.hooks.idle(this);
      return;
    }
    this.current = p;
    p.conn = this;
    if (p.signal) this.hooks.watch(p.signal, this);
    this.resetResponse();
    this.socket.ref();
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

  private resetResponse(): void {
    this.head = [];
    this.headLength = 0;
    this.headTail = EMPTY;
    this.headers = {};
    this.body = undefined;
    this.bodyChunks = [];
    this.bodyLength = 0;
  }

  private onData(d: Buffer): void {
    if (!this.current) {
      // Bytes nobody asked for: the connection can no longer be trusted.
      this.socket.destroy();
      return;
    }
    // Offsets into `d`, not copies: the common response (head and body in one chunk) costs one slice.
    let at = 0;
    while (at < d.length && this.current) {
      if (!this.body) {
        at = this.readHead(d, at);
        if (at < 0) return;
        // readHead set the body's delimitation, unless an interim 1xx response ended (the real head follows).
        const body = this.body as BodyState | undefined;
        if (!body) continue;
        if (body.kind === 'length' && body.remaining === 0) return void this.complete(at === d.length);
        if (at === d.length) return;
      }
      at = this.readBody(d, at);
    }
  }

  /**
   * Reads response-head bytes from `d` at `at`; when the blank line is found, parses the head and
   * returns where the body starts in `d` (-1 while the head is incomplete, or when the request has
   * failed). Each byte is searched once and copied at most once.
   */
  private readHead(d: Buffer, at: number): number {
    const max = this.limits.maxHeaderBytes;
    const tail = this.headTail;
    let end = -1; // just after the blank line, in `d`
    if (tail.length > 0) {
      // A blank line split across chunks starts in the last 3 bytes seen and ends in the first 3 here.
      const probe = Buffer.concat([tail, d.subarray(at, Math.min(d.length, at + 3))]);
      const i = probe.indexOf(CRLF2);
      if (i >= 0) end = at + i + 4 - tail.length;
    }
    if (end < 0) {
      const i = d.indexOf(CRLF2, at);
      if (i >= 0) end = i + 4;
    }
    if (end < 0) {
      const piece = at === 0 ? d : d.subarray(at);
      this.head.push(piece);
      this.headLength += piece.length;
      if (this.headLength > max) return this.fail(codeError(`The response head from ${this.host} exceeds ${max} bytes`, 'HPE_HEADER_OVERFLOW')), -1;
      this.headTail = piece.length >= 3 ? piece.subarray(piece.length - 3) : Buffer.concat([tail, piece]).subarray(-3);
      return -1;
    }
    if (this.headLength + end - at - 4 > max) return this.fail(codeError(`The response head from ${this.host} exceeds ${max} bytes`, 'HPE_HEADER_OVERFLOW')), -1;
    let text: string;
    if (this.head.length === 0) text = d.toString('latin1', at, end - 4);
    else {
      const joined = Buffer.concat([...this.head, d.subarray(at, end)]);
      text = joined.toString('latin1', 0, joined.length - 4);
    }
    this.head = [];
    this.headLength = 0;
    this.headTail = EMPTY;
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
    if (!m) return this.fail(codeError(`Malformed HTTP response from ${this.host}: ${JSON.stringify(lines[0]!.slice(0, 80))}`, 'HPE_INVALID_CONSTANT')), -1;
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
    // Interim response (100 Continue...): the real one follows.
    if (status >= 100 && status < 200) return end;
    this.status = status;
    this.headers = headers;
    this.keepAlive = m[1] === '1' ? !/\bclose\b/i.test(headers.connection ?? '') : /\bkeep-alive\b/i.test(headers.connection ?? '');
    const noBody = this.current!.req.method === 'HEAD' || status === 204 || status === 304;
    if (noBody) this.body = { kind: 'length', remaining: 0 };
    else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) this.body = { kind: 'chunked', decoder: new ChunkedDecoder(max) };
    else if (headers['content-length'] !== undefined) {
      const len = contentLength(headers['content-length']);
      if (len === undefined) return this.fail(codeError(`Bad Content-Length from ${this.host}: ${JSON.stringify(headers['content-length'])}`, 'HPE_INVALID_CONTENT_LENGTH')), -1;
      if (len > this.limits.maxResponseBytes) return this.fail(tooLarge(this.host, this.limits.maxResponseBytes)), -1;
      this.body = { kind: 'length', remaining: len };
    } else this.body = { kind: 'close' };
    return end;
  }

  /** Consumes body bytes from `d` at `at`; returns where the next response would start (`d.length` when all was taken). */
  private readBody(d: Buffer, at: number): number {
    const body = this.body!;
    if (body.kind === 'length') {
      const take = Math.min(body.remaining, d.length - at);
      this.addBody(at === 0 && take === d.length ? d : d.subarray(at, at + take));
      body.remaining -= take;
      if (body.remaining === 0) this.complete(at + take === d.length);
      return d.length;
    }
    if (body.kind === 'close') {
      if (this.bodyLength + d.length - at > this.limits.maxResponseBytes) return this.fail(tooLarge(this.host, this.limits.maxResponseBytes)), d.length;
      this.addBody(at === 0 ? d : d.subarray(at));
      return d.length;
    }
    const r = body.decoder.push(d, at, (chunk) => this.addBody(chunk));
    if (r === 'malformed') return this.fail(codeError(`Malformed chunked body from ${this.host}`, 'HPE_INVALID_CHUNK_SIZE')), d.length;
    if (this.bodyLength > this.limits.maxResponseBytes) return this.fail(tooLarge(this.host, this.limits.maxResponseBytes)), d.length;
    if (r !== 'more') this.complete(r.end === d.length);
    return d.length;
  }

  private addBody(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bodyChunks.push(chunk);
    this.bodyLength += chunk.length;
  }

  /** The response is complete; the connection is reused when nothing followed it and the server allows. */
  private complete(nothingAfter: boolean): void {
    const p = this.current!;
    const body = this.bodyChunks.length === 1 ? this.bodyChunks[0]! : Buffer.concat(this.bodyChunks, this.bodyLength);
    const res: Http1Response = { status: this.status, headers: this.headers, body: body.toString('utf8') };
    const reusable = this.keepAlive && nothingAfter && this.body?.kind !== 'close' && !this.dead;
    this.release();
    this.hooks.settled(p, this);
    if (reusable) {
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

  private onEnd(): void {
    // A body delimited by the end of the connection is complete now.
    if (this.current && this.body?.kind === 'close') return this.complete(false);
    const midway = this.current && (this.body !== undefined || this.headLength > 0);
    this.fail(codeError(midway ? `The connection to ${this.host} closed before the response ended` : 'The server closed the connection before the response ended', 'ECONNRESET'));
  }

  /** The connection is finished: the request in flight (if any) fails with `e`. */
  private fail(e: Error): void {
    const p = this.current;
    this.release();
    if (!this.dead) {
      this.dead = true;
      this.socket.destroy();
      this.hooks.gone(this);
    }
    if (p && !p.done) {
      this.hooks.settled(p, this);
      p.reject(e);
    }
  }

  private release(): void {
    this.current = undefined;
    this.resetResponse();
  }
}

/**
 * Decodes a chunked body as its bytes arrive: chunk-size lines (extensions ignored), data, CRLF,
 * and after the last chunk, trailers up to a blank line. Size lines and trailers are bounded.
 */
class ChunkedDecoder {
  private state: 'size' | 'data' | 'data-crlf' | 'trailers' = 'size';
  private line = '';
  private remaining = 0;
  private trailerBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds `data` from `start`; returns 'more', 'malformed', or where the body ended in `data`. */
  push(data: Buffer, start: number, emit: (chunk: Buffer) => void): 'more' | 'malformed' | { end: number } {
    let pos = start;
    while (pos < data.length) {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, data.length - pos);
        emit(data.subarray(pos, pos + take));
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          this.state = 'data-crlf';
          this.line = '';
        }
        continue;
      }
      const nl = data.indexOf(10, pos);
      const end = nl < 0 ? data.length : nl + 1;
      this.line += data.toString('latin1', pos, end);
      pos = end;
      if (this.line.length > this.maxLineBytes) return 'malformed';
      if (nl < 0) break;
      const line = this.line.endsWith('\r\n') ? this.line.slice(0, -2) : undefined;
      this.line = '';
      if (line === undefined) return 'malformed';
      if (this.state === 'data-crlf') {
        if (line !== '') return 'malformed';
        this.state = 'size';
      } else if (this.state === 'size') {
        const sizeText = line.split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return 'malformed';
        this.remaining = parseInt(sizeText, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'data';
      } else {
        this.trailerBytes += line.length + 2;
        if (this.trailerBytes > this.maxLineBytes) return 'malformed';
        if (line === '') return { end: pos };
      }
    }
    return 'more';
  }
}

/** Content-Length as RFC 9110 allows it: digits only; a list of equal values is that value. */
function contentLength(raw: string): number | undefined {
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const values = raw.split(',').map((v) => v.trim());
  if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) return undefined;
  return Number(values[0]);
}

function tooLarge(host: string, max: number): Error {
  return codeError(`The response from ${host} exceeds ${max} bytes`, 'ERR_RESPONSE_TOO_LARGE');
}

function codeError(message: string, code: string, name = 'Error'): Error {
  return Object.assign(new Error(message), { code, name });
}
