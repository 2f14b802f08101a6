import net from 'node:net';

/**
 * What the emulator refuses before any routing, so a web page cannot drive it: a browser request
 * (any Origin header: cross-site forms, fetch, DNS rebinding), a Host name other than loopback when
 * bound to loopback (DNS rebinding sends the attacker's name), and a mutating request without a
 * JSON body type (a cross-site `text/plain` form post needs no CORS preflight). STS's `POST /`
 * keeps its form content type, and only there.
 */

export type Doors = {
  /** Host names (or name:port) accepted besides loopback ones; checked when bound to loopback or when given. */
  allowHosts: string[];
  /** Whether the listening address is loopback (then the Host header must be loopback or allowed). */
  loopbackOnly: boolean;
};

export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** Splits a Host header into name and port ("[::1]:4599" → "::1", "4599"). */
function splitHost(value: string): { name: string; port?: string } {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return { name: v.slice(1, end < 0 ? undefined : end), port: end >= 0 && v[end + 1] === ':' ? v.slice(end + 2) : undefined };
  }
  const colon = v.lastIndexOf(':');
  return colon >= 0 && v.indexOf(':') === colon ? { name: v.slice(0, colon), port: v.slice(colon + 1) } : { name: v };
}

/** Why the request is refused, or undefined when it may proceed. */
export function refuseAtDoor(headers: { host?: string; origin?: string }, d: Doors): string | undefined {
  if (headers.origin !== undefined) {
    return `Requests with an Origin header (${headers.origin.slice(0, 100)}) are refused: the emulator serves API clients, not web pages`;
  }
  const host = headers.host;
  if (host === undefined) return undefined;
  const { name } = splitHost(host);
  const whole = host.trim().toLowerCase();
  if (d.allowHosts.some((x) => x.toLowerCase() === name || x.toLowerCase() === whole)) return undefined;
  if (d.loopbackOnly ? isLoopbackAddress(name) : d.allowHosts.length === 0) return undefined;
  return `Host '${host.slice(0, 100)}' is not allowed: ${d.loopbackOnly ? 'the emulator is bound to loopback and answers loopback names only' : 'it is not in the allowed host names'} (allow a name with --allow-host NAME)`;
}

const JSON_TYPE = /^application\/(json|[\w.+-]+\+json|x-amz-json-1\.[01])\s*(;.*)?$/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;.*)?$/i;

/** Whether a request may carry a body of this type: JSON for EKS and admin writes, a form only for STS. */
export function bodyTypeProblem(method: string, contentType: string | undefined, hasBody: boolean, kind: 'json' | 'form'): string | undefined {
  const mutating = method === 'POST' || method === 'PUT' || method === 'PATCH' || hasBody;
  if (!mutating) return undefined;
  const ok = contentType !== undefined && (kind === 'json' ? JSON_TYPE : FORM_TYPE).test(contentType);
  if (ok) return undefined;
  return `${method} requests here must have Content-Type ${kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'}, got ${contentType === undefined ? 'none' : `'${contentType.slice(0, 100)}'`}`;
}
