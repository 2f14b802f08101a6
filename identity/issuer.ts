/**
 * The issuer URL of an OIDC identity provider config, checked as a string. kube-apiserver compares a
 * token's `iss` claim with it byte for byte, so a value that a URL parser would quietly repair
 * (`https:/dex.example.com`, ` https://dex.example.com`, `HTTPS://...`) matches no real token. One
 * definition for synth (stacks/), plan (providers/eks/validation.ts), the emulator's
 * AssociateIdentityProviderConfig and the identity preview.
 *
 * Accepted: the literal lowercase `https://`, a non-empty host, then optionally a port, a path and a
 * trailing slash. Refused: whitespace or control characters anywhere, a query, a fragment, user
 * information, and anything the WHATWG URL parser cannot parse.
 */

const PREFIX = 'https://';

/** Why `url` is not a usable issuer URL (a phrase to follow `issuer_url "..."`), or undefined when it is. */
export function issuerUrlProblem(url: string): string | undefined {
  // Before the prefix check: a leading space would otherwise be reported as a wrong scheme.
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f) || /\s/.test(url[i]!)) {
      const what = c === 0x20 ? 'a space' : /\s/.test(url[i]!) ? 'whitespace' : 'a control character';
      return `must not contain whitespace or control characters (${what} at position ${i + 1})`;
    }
  }
  if (!url.startsWith(PREFIX)) return `must use https://: it must start with exactly "https://" (lowercase, two slashes)`;
  const rest = url.slice(PREFIX.length);
  if (rest.includes('?')) return 'must not contain a query string';
  if (rest.includes('#')) return 'must not contain a fragment';
  const authority = rest.split('/', 1)[0]!;
  if (authority.includes('@')) return 'must not contain user information';
  // IPv6 literals keep their colons inside the brackets; only a port follows them.
  const host = authority.startsWith('[') && authority.includes(']') ? authority.slice(0, authority.indexOf(']') + 1) : authority.replace(/:[^:]*$/, '');
  if (host === '' || host === '[]') return 'must name a host after "https://"';
  try {
    new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  return undefined;
}
