import type { HttpHandler } from '@smithy/core/protocols';
import type { HttpRequest, HttpResponse } from '@smithy/core/transport';
import type { HttpHandlerOptions } from '@smithy/types';
import type { SecureContext } from 'node:tls';
import type { Dispatcher } from 'undici';
import { abortReason, SignalWatch } from './abort';
import { compileProxyRules, type ProxyConfig, type ProxyRules } from './proxy';

/**
 * How eksidp talks HTTP to AWS, on both request paths: the lean reads (reads.ts) send through
 * `Transport.send`, and the SDK client gets the same transport as its request handler
 * (`Transport.sdkHandler()`), so proxies, the CA bundle, limits and timeouts are one thing.
 *
 * undici 7 does the protocol (`Pool` per origin, `ProxyAgent` per proxy; undici 8 needs Node
 * 22.19+): header validation, response framing, a header-size limit. What is added here:
 * - a deadline over the whole request (queueing, connect, headers and body), not only idle time;
 * - a response-size limit (the body is buffered: EKS answers are a few KB);
 * - proxies chosen per request by hashicorp/aws's rules (proxy.ts), loopback never proxied;
 * - `custom_ca_bundle` / AWS_CA_BUNDLE replacing the default trust store, as the Go SDK does, and
 *   `insecure` turning verification off;
 * - error codes the SDK's retry strategy classifies (a reset or a timeout is transient, a
 *   malformed or oversized response is not).
 * undici is loaded on the first request, not at import (start-up).
 */

export type TransportSettings = {
  /** Proxies after the provider block is laid over the environment (proxy.ts). */
  proxy: ProxyConfig;
  /** PEM from `custom_ca_bundle` or AWS_CA_BUNDLE: when set, the only roots trusted (as the Go SDK does). */
  ca?: { source: string; pem: string };
  /** `insecure = true`: no certificate verification on any TLS connection (origin or proxy). */
  insecure?: boolean;
  /** Connections per origin (default 50; drift raises it to its --concurrency). */
  maxSockets: number;
  /** Deadline for a whole request: from sending to the last byte of the body. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /** Largest response body accepted; a larger one fails the request. */
  maxResponseBytes: number;
  /** Largest response head (status line and headers) accepted. */
  maxHeaderBytes: number;
};

export const DEFAULT_LIMITS = { connectTimeoutMs: 10_000, maxResponseBytes: 8 * 1024 * 1024, maxHeaderBytes: 64 * 1024 } as const;

export type TransportRequest = {
  method: string;
  /** Path and query string, already encoded. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
};

export type TransportResponse = { status: number; headers: Record<string, string>; body: Buffer };

export interface Transport {
  /** The proxy requests to `origin` go through, or undefined when they go direct (proxy.ts's rules). */
  proxyFor(origin: URL): URL | undefined;
  /** Sends one request to `origin` (scheme://host[:port]) and buffers the response. */
  send(origin: URL, req: TransportRequest, signal?: AbortSignal, timeoutMs?: number): Promise<TransportResponse>;
  /** The SDK client's request handler over this transport (its destroy() leaves the transport open). */
  sdkHandler(): HttpHandler<HttpHandlerOptions>;
  /** Closes every connection; requests in flight fail. */
  close(): Promise<void>;
}

/**
 * undici, loaded on first use. Direct connections need only its Pool module: the package root also
 * loads fetch, WebSocket, caches and mocks (~2.5x the start-up). A proxy needs the root: ProxyAgent
 * tunnels through the API methods (`connect`) that the root adds to every dispatcher. The version
 * is pinned exactly (package.json); test/http1.test.ts and test/transport.test.ts exercise both.
 */
type Undici = typeof import('undici');
let poolClass: Undici['Pool'] | undefined;
const Pool = (): Undici['Pool'] => (poolClass ??= require('undici/lib/dispatcher/pool') as Undici['Pool']);
const ProxyAgent = (): Undici['ProxyAgent'] => (require('undici') as Undici).ProxyAgent;

export function createTransport(settings: TransportSettings): Transport {
  const rules: ProxyRules = compileProxyRules(settings.proxy);
  /** Dispatcher per origin: its own Pool when direct, the proxy's (shared) ProxyAgent otherwise. */
  const byOrigin = new Map<string, Dispatcher>();
  const proxies = new Map<string, Dispatcher>();
  const owned: Dispatcher[] = [];
  const watched = new SignalWatch<Exchange>((ex, reason) => ex.fail(reason));
  let secureContext: SecureContext | undefined;
  let closed = false;

  /** One TLS context for the CA bundle: building it per connection would parse ~150 certificates each time. */
  const tls = (): { secureContext?: SecureContext; rejectUnauthorized?: false } => {
    if (settings.insecure) return { rejectUnauthorized: false };
    if (!settings.ca) return {};
    secureContext ??= (require('node:tls') as typeof import('node:tls')).createSecureContext({ ca: settings.ca.pem });
    return { secureContext };
  };

  const limits = {
    connections: settings.maxSockets,
    maxHeaderSize: settings.maxHeaderBytes,
    // The deadline below covers these too; they only end a stalled connection sooner.
    headersTimeout: settings.requestTimeoutMs,
    bodyTimeout: settings.requestTimeoutMs,
  };

  const dispatcherFor = (key: string, origin: URL): Dispatcher => {
    const known = byOrigin.get(key);
    if (known) return known;
    const proxy = rules.proxyFor(origin);
    let d: Dispatcher;
    if (!proxy) {
      d = new (Pool())(key, { ...limits, connect: { timeout: settings.connectTimeoutMs, ...(origin.protocol === 'https:' ? tls() : {}) } });
      owned.push(d);
    } else {
      const existing = proxies.get(proxy.href);
      if (existing) d = existing;
      else {
        d = new (ProxyAgent())({
          uri: proxy.href,
          ...limits,
          // Plain http through an http proxy is forwarded in absolute form, as Go's transport does;
          // https is tunnelled with CONNECT.
          proxyTunnel: false,
          requestTls: { timeout: settings.connectTimeoutMs, ...tls() },
          proxyTls: { timeout: settings.connectTimeoutMs, ...tls() },
        });
        proxies.set(proxy.href, d);
        owned.push(d);
      }
    }
    byOrigin.set(key, d);
    return d;
  };

  // URL's origin getter is not free: remembered per URL object (the lean reads send to one).
  const origins = new WeakMap<URL, string>();
  const send = (origin: URL, req: TransportRequest, signal?: AbortSignal, timeoutMs?: number): Promise<TransportResponse> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(codeError('The HTTP transport is closed', 'ERR_TRANSPORT_CLOSED'));
      if (signal?.aborted) return reject(abortReason(signal));
      const deadline = Math.min(timeoutMs ?? Infinity, settings.requestTimeoutMs);
      const ex = new Exchange(origin, deadline, settings.maxResponseBytes, resolve, reject, () => signal && watched.unwatch(signal, ex));
      if (signal) watched.watch(signal, ex);
      let key = origins.get(origin);
      if (key === undefined) origins.set(origin, (key = origin.origin));
      let d: Dispatcher;
      try {
        d = dispatcherFor(key, origin);
      } catch (e) {
        return ex.fail(describe(e as Error, origin));
      }
      d.dispatch({ origin: key, method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body ?? null }, ex);
    });

  return {
    proxyFor: (origin) => rules.proxyFor(origin),
    send,
    sdkHandler: () => new SdkHandler(send),
    async close() {
      closed = true;
      const all = owned.splice(0);
      byOrigin.clear();
      proxies.clear();
      await Promise.all(all.map((d) => d.destroy().catch(() => {})));
    },
  };
}

/** One request in flight: collects the response, enforces the deadline and the size limit, settles once. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private bytes = 0;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly origin: URL,
    private readonly deadlineMs: number,
    private readonly maxBytes: number,
    private readonly resolve: (r: TransportResponse) => void,
    private readonly reject: (e: Error) => void,
    private readonly done: () => void,
  ) {
    this.timer = setTimeout(
      () => this.fail(codeError(`No complete response from ${origin.host} within ${deadlineMs} ms`, 'ETIMEDOUT', 'TimeoutError')),
      deadlineMs,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Failed while queued (deadline, abort): the request must not go out now.
    if (this.settled) controller.abort(new Error('settled'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    const out: Record<string, string> = {};
    for (const k in headers) {
      const v = headers[k];
      if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    this.headers = out;
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.fail(codeError(`The response from ${this.origin.host} exceeds ${this.maxBytes} bytes`, 'ERR_RESPONSE_TOO_LARGE'));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settle()) this.resolve({ status: this.status, headers: this.headers, body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes) });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.settle()) this.reject(describe(err, this.origin));
  }

  /** Ends the exchange with `e` (deadline, abort, limit): the connection is dropped if the request went out. */
  fail(e: Error): void {
    if (!this.settle()) return;
    this.chunks = [];
    this.controller?.abort(e);
    this.reject(e);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.done();
    return true;
  }
}

/**
 * The SDK's request handler interface over the transport: the SDK gets the response body as bytes
 * (its deserialisers accept a Uint8Array as they accept a stream).
 */
class SdkHandler implements HttpHandler<HttpHandlerOptions> {
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(private readonly send: Transport['send']) {}

  async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    const origin = new URL(`${request.protocol}//${request.hostname.includes(':') && !request.hostname.startsWith('[') ? `[${request.hostname}]` : request.hostname}${request.port ? `:${request.port}` : ''}`);
    const qs = queryString(request.query ?? {});
    const body = request.body as string | Uint8Array | undefined;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new Error('eksidp: streaming request bodies are not supported by its HTTP transport');
    }
    const signal = options.abortSignal as AbortSignal | undefined;
    const res = await this.send(origin, { method: request.method, path: `${request.path}${qs ? `?${qs}` : ''}`, headers: request.headers, body }, signal, options.requestTimeout || undefined);
    const response: HttpResponse = { statusCode: res.status, headers: res.headers, body: new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength) };
    return { response };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): HttpHandlerOptions {
    return {};
  }

  /** The transport belongs to the connection (the lean reads use it too): the SDK client does not close it. */
  destroy(): void {}
}

/** The query string as the SDK's Node handler builds it: keys sorted, RFC 3986 escapes, repeated keys for lists. */
function queryString(query: NonNullable<HttpRequest['query']>): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const v = query[key];
    const k = escape(key);
    if (Array.isArray(v)) for (const x of v) parts.push(`${k}=${escape(x)}`);
    else if (v === null || v === undefined) parts.push(k);
    else parts.push(`${k}=${escape(v)}`);
  }
  return parts.join('&');
}

function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function codeError(message: string, code: string, name = 'Error', cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code, name });
}

/**
 * undici's errors as the SDK's retry strategy and a reader understand them: connection losses as
 * ECONNRESET and timeouts as ETIMEDOUT (transient), parse and limit errors named with the host.
 */
function describe(err: Error, origin: URL): Error {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const host = origin.host;
  switch (code) {
    case 'UND_ERR_SOCKET':
      return codeError(`The connection to ${host} closed before the response ended`, 'ECONNRESET', 'Error', err);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return codeError(`Could not connect to ${host} in time`, 'ETIMEDOUT', 'TimeoutError', err);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return codeError(`No response from ${host} in time`, 'ETIMEDOUT', 'TimeoutError', err);
    case 'UND_ERR_HEADERS_OVERFLOW':
      return codeError(`The response headers from ${host} are too large`, code, 'Error', err);
    case 'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE':
      return codeError(`The response from ${host} is too large`, code, 'Error', err);
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      // Also what undici reports when llhttp refuses a Content-Length that is not digits ("1e3").
      return codeError(`The response body from ${host} does not match its Content-Length, or that is malformed`, 'HPE_INVALID_CONTENT_LENGTH', 'Error', err);
    case 'UND_ERR_INVALID_ARG':
      // ProxyAgent's refusals (407 from the proxy) and invalid requests.
      return codeError(`${err.message} (${host})`, code, 'Error', err);
    case 'UND_ERR_ABORTED':
      return codeError(`${err.message} (${host})`, code, 'Error', err);
    default:
      // llhttp's errors: "Response does not match the HTTP/1.1 protocol (Invalid character in Content-Length)".
      if (code.startsWith('HPE_') || err.name === 'HTTPParserError') {
        const detail = /\(([^)]*)\)\s*$/.exec(err.message)?.[1] ?? err.message;
        return codeError(`Malformed HTTP response from ${host}: ${detail}`, code.startsWith('HPE_') ? code : 'HPE_INVALID', 'Error', err);
      }
      if ((err as { name?: string }).name === 'SecureProxyConnectionError') return codeError(`TLS to the proxy failed: ${err.message}`, code || 'ERR_PROXY_TLS', 'Error', err);
      return err;
  }
}
