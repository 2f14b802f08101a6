import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * SigV4 verification (header auth) for requests signed with keys the accounts file lists.
 *
 * Written apart from the client's signer (providers/eks/sigv4.ts) on purpose: a verifier that shared
 * the signer's canonicalisation would accept whatever that code gets wrong, and the point of checking
 * here is that a signing regression fails end to end. It follows AWS's rules as both clients apply
 * them: the @smithy signer (JS SDK, eksidp) and aws-sdk-go-v2's (Terraform's provider).
 */

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses a request whose signing time is further than this from its clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export type Authorization = {
  accessKeyId: string;
  /** yyyymmdd from the credential scope. */
  day: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
};

/**
 * The key and region an Authorization header names, read cheaply (no full parse): most requests
 * carry keys no accounts file lists, and those need nothing more.
 */
export function credentialOf(header: string): { accessKeyId: string; region: string } | undefined {
  const at = header.indexOf('Credential=');
  if (at < 0) return undefined;
  const start = at + 11;
  const end = header.indexOf(',', start);
  const parts = header.slice(start, end < 0 ? undefined : end).trim().split('/');
  return parts.length === 5 && parts[0] ? { accessKeyId: parts[0], region: parts[2]! } : undefined;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/eks/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorization(header: string): Authorization | { problem: string } {
  if (!header.startsWith(`${ALGORITHM} `)) return { problem: `Unsupported authorization type (only ${ALGORITHM} is accepted)` };
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const f of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.get(f)) return { problem: `Authorization header requires '${f}' parameter. Authorization=${header.slice(0, 200)}` };
  }
  const cred = fields.get('Credential')!.split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request' || !/^\d{8}$/.test(cred[1]!) || !cred[0]) {
    return { problem: `Credential should be scoped to a valid region, service and date: ${fields.get('Credential')!.slice(0, 200)}` };
  }
  const signedHeaders = fields.get('SignedHeaders')!.split(';');
  if (signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) return { problem: 'SignedHeaders must be lower-case names separated by semicolons' };
  const signature = fields.get('Signature')!;
  if (!/^[0-9a-f]{64}$/.test(signature)) return { problem: 'Signature must be 64 lower-case hexadecimal characters' };
  return { accessKeyId: cred[0], day: cred[1]!, region: cred[2]!, service: cred[3]!, signedHeaders, signature };
}

/** The signing time from X-Amz-Date (yyyymmddThhmmssZ), as epoch ms; NaN when missing or malformed. */
export function amzDateMs(value: string | undefined): number {
  const m = value === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

export type SignedRequest = {
  method: string;
  /** The request target as received: path and query, percent-encoded as the client sent them. */
  url: string;
  /** node's rawHeaders: name, value, name, value... (duplicates kept, in order). */
  rawHeaders: string[];
  body: Buffer;
};

/** RFC 3986 unreserved characters stay, everything else is %XX (what SigV4 calls URI-encoding). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Canonical URIs a client may have signed for this path. Non-S3 services encode the (already
 * encoded) path once more; the JS signer first drops empty and dot segments, Go's does not, so both
 * are tried when they differ.
 */
function canonicalPaths(rawPath: string, service: string): string[] {
  // S3 signs the path as sent: no normalisation, no second encoding.
  if (service === 's3') return [rawPath === '' ? '/' : rawPath];
  const segs: string[] = [];
  for (const s of rawPath.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  const normalized = `/${segs.join('/')}${segs.length > 0 && rawPath.endsWith('/') && rawPath !== '/' ? '/' : ''}`;
  const encode = (p: string) => p.split('/').map(uriEncode).join('/');
  const a = encode(normalized);
  const b = encode(rawPath === '' ? '/' : rawPath);
  return a === b ? [a] : [a, b];
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  // URLSearchParams decodes as clients encode (Go sends a space as '+', the JS SDK as %20).
  for (const [k, v] of new URLSearchParams(rawQuery)) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Values of each signed header, trimmed with inner whitespace runs folded, duplicates joined by ','. */
function canonicalHeaders(rawHeaders: string[], names: string[]): string | undefined {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const n = rawHeaders[i]!.toLowerCase();
    if (!names.includes(n)) continue;
    const list = values.get(n) ?? [];
    list.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, ' '));
    values.set(n, list);
  }
  let out = '';
  for (const n of names) {
    const v = values.get(n);
    if (!v) return undefined;
    out += `${n}:${v.join(',')}\n`;
  }
  return out;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

const keyCache = new Map<string, Buffer>();
function signingKey(secret: string, a: Authorization): Buffer {
  const id = `${secret}\u0000${a.day}\u0000${a.region}\u0000${a.service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = createHmac('sha256', `AWS4${secret}`).update(a.day).digest();
    for (const part of [a.region, a.service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

export type Verdict = { ok: true } | { ok: false; problem: string };

/**
 * Recomputes the signature of `req` with `secret` and compares it with the one in `a`. The payload
 * hash is always computed from the body received (X-Amz-Content-Sha256 = UNSIGNED-PAYLOAD aside),
 * so a body changed after signing fails even when the client sent its own hash header.
 */
export function verify(req: SignedRequest, a: Authorization, secret: string, amzDate: string): Verdict {
  if (!a.signedHeaders.includes('host')) return { ok: false, problem: "'Host' must be a signed header" };
  const headers = canonicalHeaders(req.rawHeaders, a.signedHeaders);
  if (headers === undefined) return { ok: false, problem: 'A header listed in SignedHeaders is missing from the request' };
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = canonicalQuery(q < 0 ? '' : req.url.slice(q + 1));
  const declared = headerValue(req.rawHeaders, 'x-amz-content-sha256');
  // S3 also takes streaming (aws-chunked) uploads, whose declared hash names the scheme.
  const payload = declared === 'UNSIGNED-PAYLOAD' || (a.service === 's3' && declared?.startsWith('STREAMING-')) ? declared! : sha256(req.body);
  const scope = `${a.day}/${a.region}/${a.service}/aws4_request`;
  const key = signingKey(secret, a);
  const want = Buffer.from(a.signature, 'hex');
  for (const path of canonicalPaths(rawPath, a.service)) {
    const canonical = `${req.method}\n${path}\n${query}\n${headers}\n${a.signedHeaders.join(';')}\n${payload}`;
    const toSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256(canonical)}`;
    const got = createHmac('sha256', key).update(toSign).digest();
    if (got.length === want.length && timingSafeEqual(got, want)) return { ok: true };
  }
  return { ok: false, problem: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.' };
}

/** The first value of a header in rawHeaders (case-insensitive name). */
export function headerValue(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}
