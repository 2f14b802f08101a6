/**
 * A compact-JWS decoder for `whoami --token`: reads the header and claims without verifying the
 * signature (that needs the issuer's keys, fetched over the network). Error messages describe the
 * token's shape and never include any part of the token: a token is a secret.
 */

export class JwtDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwtDecodeError';
  }
}

export type DecodedJwt = {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The payload's exact JSON text: kube-apiserver decodes it with Go's rules (identity/gojson.ts). */
  payload: string;
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodePart(part: string, what: 'header' | 'payload'): { value: Record<string, unknown>; text: string } {
  // Unpadded base64url as RFC 7515 requires (Go's RawURLEncoding): no `=`, `+` or `/`, and a length
  // that is not 1 mod 4 (no whole byte fits in a single leftover character).
  if (part === '' || !BASE64URL.test(part) || part.length % 4 === 1) throw new JwtDecodeError(`the token's ${what} is not base64url`);
  let value: unknown;
  const text = Buffer.from(part, 'base64url').toString('utf8');
  try {
    value = JSON.parse(text);
  } catch {
    throw new JwtDecodeError(`the token's ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwtDecodeError(`the token's ${what} is not a JSON object`);
  return { value: value as Record<string, unknown>, text };
}

export function decodeJwt(token: string): DecodedJwt {
  const t = token.trim();
  if (t === '') throw new JwtDecodeError('the token is empty');
  if (t.startsWith('{')) throw new JwtDecodeError('the token is JSON, not a compact JWT (use --claims FILE for a claims object)');
  const parts = t.split('.');
  if (parts.length === 5) throw new JwtDecodeError('the token is an encrypted JWT (JWE, 5 parts): its claims cannot be read without the key');
  if (parts.length !== 3) throw new JwtDecodeError(`the token is not a compact JWT: expected 3 dot-separated parts, got ${parts.length}`);
  const payload = decodePart(parts[1]!, 'payload');
  const header = decodePart(parts[0]!, 'header').value;
  // go-jose decodes the signature too (RawURLEncoding); an empty one is valid base64url.
  if (!BASE64URL.test(parts[2]!) || parts[2]!.length % 4 === 1) throw new JwtDecodeError('the token\'s signature is not base64url');
  return { header, claims: payload.value, payload: payload.text };
}
