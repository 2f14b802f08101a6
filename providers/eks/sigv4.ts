import crypto, { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { AwsCredentialIdentity } from '@smithy/types';

/**
 * AWS Signature Version 4 for the lean read path (reads.ts): header signing of small JSON requests.
 *
 * Why not @smithy/signature-v4: measured on a 1,000-cluster drift check it costs ~0.1 ms more CPU
 * per call than this (bench/README.md; the project allows 0.03): two HMACs per call only to name its
 * key cache, generic header handling, a promise per signature. This does the same canonical request
 * with one hash and one HMAC per call and caches the signing key per credentials and day; it signs
 * the same headers (not proxy-*, sec-*, user-agent...). test/sigv4.test.ts checks every signature
 * against @smithy/signature-v4.
 */

export type SignInput = {
  method: string;
  /** Host header value (host[:port]). */
  host: string;
  /** Request path, each segment already URI-encoded once. */
  path: string;
  /** S3: the path is signed as sent (no normalisation, no second encoding), as S3 wants it. */
  pathAsSent?: boolean;
  query?: Record<string, string>;
  /** Headers to send besides host and x-amz-*; lower-case names. All are signed except those the SDK never signs. */
  headers?: Record<string, string>;
  body?: string;
  region: string;
  service: string;
  credentials: AwsCredentialIdentity;
  date: Date;
};

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// crypto.hash (Node >= 20.12) is the one-shot form, much cheaper than a Hash object per call.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
function sha256Hex(data: string): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data, 'utf8').digest('hex');
}

/** RFC 3986 encoding as SigV4 wants it: encodeURIComponent plus !'()*. */
export function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** As the SDK's signer: CR and LF become spaces, runs of spaces and tabs one space, one space trimmed at each end. */
function canonicalValue(v: string): string {
  if (!/[\t\n\r]|  |^ | $/.test(v)) return v;
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/**
 * Headers the SDK's signer never signs (@smithy/signature-v4's ALWAYS_UNSIGNABLE_HEADERS, proxy-*
 * and sec-*): a proxy or a browser may add, drop or change them in transit.
 */
const UNSIGNABLE = new Set(['authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id']);
const signable = (name: string) => !UNSIGNABLE.has(name) && !name.startsWith('proxy-') && !name.startsWith('sec-');

/** Paths that are already canonical: plain segments, nothing a second encoding would change. */
const PLAIN_PATH = /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;

function canonicalPath(path: string): string {
  if (PLAIN_PATH.test(path)) return path;
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const normalized = `/${out.join('/')}${out.length > 0 && path.endsWith('/') ? '/' : ''}`;
  // Non-S3 services sign the path encoded a second time.
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(query: Record<string, string> | undefined): string {
  if (!query) return '';
  return Object.keys(query)
    .sort()
    .map((k) => `${escapeUri(k)}=${escapeUri(query[k]!)}`)
    .join('&');
}

export class SigV4Signer {
  // The key as a KeyObject: createHmac would otherwise convert a Buffer key on every call.
  private cached: { credentials: AwsCredentialIdentity; scope: string; key: KeyObject } | undefined;
  private clock = { second: Number.NaN, amzDate: '' };

  /** The headers to send: the input's, host, x-amz-content-sha256, x-amz-date, x-amz-security-token, authorization. */
  sign(input: SignInput): Record<string, string> {
    // x-amz-date has one-second resolution: format it once per second.
    const second = Math.floor(input.date.getTime() / 1000);
    if (second !== this.clock.second) {
      const iso = input.date.toISOString();
      this.clock = { second, amzDate: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z` };
    }
    const amzDate = this.clock.amzDate;
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${input.region}/${input.service}/aws4_request`;
    const payloadHash = input.body ? sha256Hex(input.body) : EMPTY_SHA256;
    // x-amz-content-sha256 is signed as the SDK's signer does for EKS.
    const headers: Record<string, string> = { ...input.headers, host: input.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
    if (input.credentials.sessionToken) headers['x-amz-security-token'] = input.credentials.sessionToken;
    const names = Object.keys(headers).filter(signable).sort();
    let canonicalHeaders = '';
    for (const n of names) canonicalHeaders += `${n}:${canonicalValue(headers[n]!)}\n`;
    const signedHeaders = names.join(';');
    const canonicalRequest = `${input.method}\n${input.pathAsSent ? input.path : canonicalPath(input.path)}\n${canonicalQuery(input.query)}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey(input.credentials, scope, day, input.region, input.service)).update(stringToSign, 'utf8').digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** Derived once per credentials object and day (the SDK's providers hand out a new object on refresh). */
  private signingKey(credentials: AwsCredentialIdentity, scope: string, day: string, region: string, service: string): KeyObject {
    const c = this.cached;
    if (c && c.credentials === credentials && c.scope === scope) return c.key;
    let key = createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(day).digest();
    for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    this.cached = { credentials, scope, key: createSecretKey(key) };
    return this.cached.key;
  }
}
