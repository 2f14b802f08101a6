import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, SourceData } from '@smithy/types';

/**
 * Raw SigV4-signed HTTP for emulator tests: requests signed by the SDK's own signer
 * (@smithy/signature-v4), sent with node:http, so a test can alter a signed request before it goes.
 */

/** The hash primitive @smithy/signature-v4 takes (the SDK passes its own node-crypto one). */
export class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

function bytes(d: SourceData): string | Uint8Array {
  if (typeof d === 'string') return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return new Uint8Array(d);
}

export type SignedCall = {
  method: string;
  /** Path as sent (already percent-encoded), without the query. */
  path: string;
  query?: Record<string, string | string[]>;
  body?: string;
  headers?: Record<string, string>;
  credentials: AwsCredentialIdentity;
  region?: string;
  service?: 'eks' | 'sts' | 'iam';
  date?: Date;
};

/** Signs a call for the emulator at `url`; returns the headers to send. */
export async function signCall(url: string, c: SignedCall): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({ credentials: c.credentials, region: c.region ?? 'us-east-1', service: c.service ?? 'eks', sha256: Sha256, uriEscapePath: true });
  const headers: Record<string, string> = { host: u.host, ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers };
  const signed = await signer.sign({ method: c.method, protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: c.path, query: c.query ?? {}, headers, body: c.body }, { signingDate: c.date ?? new Date() });
  return signed.headers;
}

export type RawAnswer = { status: number; type?: string; body: string };

/** Sends a request as given (path and headers untouched) on a fresh connection. */
export function send(url: string, method: string, pathAndQuery: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: u.port, method, path: pathAndQuery, agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['x-amzn-errortype'] as string | undefined, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The query string as the SDK serialises it (keys in order given, values RFC 3986-encoded). */
export function queryString(q: Record<string, string | string[]> | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(x)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Signs and sends; `tamper` may change the signed headers or body before sending. */
export async function signedSend(url: string, c: SignedCall, tamper?: (h: Record<string, string>, body: string | undefined) => { headers: Record<string, string>; body?: string }): Promise<RawAnswer> {
  let headers = await signCall(url, c);
  let body = c.body;
  if (tamper) ({ headers, body } = tamper(headers, body));
  return send(url, c.method, `${c.path}${queryString(c.query)}`, headers, body);
}

/** An unsigned-signature JWT with these claims (the emulator does not check JWT signatures). */
export function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT', kid: 'test' })}.${b64(claims)}.${Buffer.from('not-checked').toString('base64url')}`;
}
