import type { MapOptions, MappingRejected, MappingResult, OidcConfig, RejectionCode } from './types';

/**
 * Maps ID-token claims to the Kubernetes username and groups the way kube-apiserver's OIDC
 * authenticator does with the `--oidc-*` flags EKS sets from an identity provider config. Sources
 * (kubernetes/kubernetes):
 * - pkg/kubeapiserver/options/authentication.go, `BuiltInAuthenticationOptions.ToAuthenticationConfig`:
 *   turns the flags into a JWT authenticator (username prefix default, `-`, groups prefix as given).
 * - staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/oidc/oidc.go:
 *   `Authenticator.AuthenticateToken` (order of checks, required claims), `hasCorrectIssuer`,
 *   `idTokenVerifier.Verify`/`verifyAudience`, `getUsername` (email_verified), `getGroups`
 *   (`stringOrArray`), `claims.unmarshalClaim`/`hasClaim`.
 * - github.com/coreos/go-oidc `IDTokenVerifier.Verify`: iss, aud, exp, nbf (5 min leeway).
 * - kubernetes.io docs, "Authenticating" (reference/access-authn-authz/authentication), OpenID Connect
 *   Tokens: the `--oidc-*` flags; EKS API reference, OidcIdentityProviderConfigRequest: the same
 *   usernamePrefix default (`issuerurl#` unless the claim is `email`, `-` for none).
 * The token's signature is never checked here: that needs the issuer's keys (a network call).
 */

/** go-oidc allows this much clock skew on `nbf` (verify.go); `exp` gets none. */
const NBF_LEEWAY_MS = 5 * 60 * 1000;

/** The username claim in effect: the flag's default is `sub`, and EKS leaves an empty claim unset. */
export function effectiveUsernameClaim(config: OidcConfig): string {
  return config.usernameClaim ? config.usernameClaim : 'sub';
}

/**
 * The prefix kube-apiserver puts before every username (ToAuthenticationConfig): unset (or empty)
 * with a claim other than `email` means the issuer URL and `#`; `-` means none. EKS documents the
 * same default for `usernamePrefix` (OidcIdentityProviderConfigRequest in the EKS API model).
 */
export function effectiveUsernamePrefix(config: OidcConfig): string {
  const prefix = config.usernamePrefix ?? '';
  if (prefix === '-') return '';
  if (prefix === '' && effectiveUsernameClaim(config) !== 'email') return `${config.issuerUrl}#`;
  return prefix;
}

/** The groups prefix is used verbatim (no `-` rule for groups, unlike usernames). */
export function effectiveGroupsPrefix(config: OidcConfig): string {
  return config.groupsPrefix ?? '';
}

/** A claim counts as present when the key exists, even with a JSON null value (`claims.hasClaim`). */
function has(claims: Record<string, unknown>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(claims, name) && claims[name] !== undefined;
}

/** Words for a JSON value's type, for reasons like `... is a number, not a string`. */
export function describeJsonValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return 'an object';
}

/** Go's json.Unmarshal into a string: a JSON string, or null which leaves "" (no error). */
function asGoString(v: unknown): string | undefined {
  if (v === null) return '';
  return typeof v === 'string' ? v : undefined;
}

/**
 * oidc.go `stringOrArray.UnmarshalJSON`: a list of strings (null items become "" and a null list
 * means no groups, as Go decodes them), else a single string, else an error.
 */
function asStringOrArray(v: unknown): string[] | undefined {
  if (v === null) return [];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const item of v) {
      const s = asGoString(item);
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }
  return typeof v === 'string' ? [v] : undefined;
}

function reject(code: RejectionCode, reason: string): MappingRejected {
  return { accepted: false, code, reason };
}

function audienceList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((a) => typeof a === 'string')) return v as string[];
  return undefined;
}

/** The checks go-oidc's verifier makes before any mapping: iss, aud, exp, nbf. */
function verifyTokenClaims(config: OidcConfig, claims: Record<string, unknown>, opts: MapOptions): MappingRejected | undefined {
  const strict = opts.requireTokenClaims === true;
  // hasCorrectIssuer: a token from another issuer is not this authenticator's to judge, so it is
  // skipped (kube-apiserver answers 401 unless another authenticator takes it). Google's legacy
  // bare-host issuer is coalesced, as both hasCorrectIssuer and go-oidc do.
  if (has(claims, 'iss') || strict) {
    const raw = claims.iss;
    const iss = raw === 'accounts.google.com' ? 'https://accounts.google.com' : raw;
    if (iss !== config.issuerUrl) {
      const got = raw === undefined ? 'no iss claim' : typeof raw === 'string' ? `iss ${JSON.stringify(raw)}` : `iss is ${describeJsonValue(raw)}`;
      return reject('issuer-mismatch', `${got}, not the issuer URL ${JSON.stringify(config.issuerUrl)} (this config ignores the token)`);
    }
  }
  if (opts.checkAudience !== false && (has(claims, 'aud') || strict)) {
    const aud = audienceList(claims.aud);
    if (aud === undefined || !aud.includes(config.clientId)) {
      const got = claims.aud === undefined ? 'no aud claim' : aud ? `aud ${JSON.stringify(claims.aud)}` : `aud is ${describeJsonValue(claims.aud)}`;
      return reject('audience-mismatch', `${got} does not contain the client ID ${JSON.stringify(config.clientId)}`);
    }
  }
  const now = (opts.now ?? new Date()).getTime();
  if (has(claims, 'exp') || strict) {
    const exp = claims.exp;
    if (typeof exp !== 'number') {
      return reject(exp === undefined ? 'expired' : 'invalid-time-claim', exp === undefined ? 'no exp claim (a token without one counts as expired)' : `exp is ${describeJsonValue(exp)}, not a number`);
    }
    // go-oidc: `if t.Expiry.Before(now)` → expired; a token expiring this very second still passes.
    if (exp * 1000 < now) return reject('expired', `token expired at ${new Date(exp * 1000).toISOString()}`);
  }
  if (has(claims, 'nbf')) {
    const nbf = claims.nbf;
    if (typeof nbf !== 'number') return reject('invalid-time-claim', `nbf is ${describeJsonValue(nbf)}, not a number`);
    if (now + NBF_LEEWAY_MS < nbf * 1000) return reject('not-yet-valid', `token not valid before ${new Date(nbf * 1000).toISOString()}`);
  }
  return undefined;
}

/**
 * The Kubernetes username and groups for a set of claims under a config, or why the token is
 * refused. Checks run in kube-apiserver's order (AuthenticateToken): issuer, verifier (aud, exp,
 * nbf), username (getUsername), groups (getGroups), required claims; the first failure wins.
 */
export function mapIdentity(config: OidcConfig, claims: Record<string, unknown>, opts: MapOptions = {}): MappingResult {
  const verified = verifyTokenClaims(config, claims, opts);
  if (verified) return verified;
  const warnings: string[] = [];

  // getUsername: the claim must decode as a string; `email` needs email_verified true *when present*
  // (missing is fine, false or null is "email not verified", a non-boolean is a parse error).
  const usernameClaim = effectiveUsernameClaim(config);
  if (!has(claims, usernameClaim)) return reject('username-claim-missing', `username claim ${usernameClaim} missing`);
  const rawUsername = asGoString(claims[usernameClaim]);
  if (rawUsername === undefined) {
    return reject('username-claim-invalid', `username claim ${usernameClaim} is ${describeJsonValue(claims[usernameClaim])}, not a string`);
  }
  if (usernameClaim === 'email') {
    if (has(claims, 'email_verified')) {
      const v = claims.email_verified;
      if (v !== null && typeof v !== 'boolean') {
        return reject('email-verified-invalid', `email_verified is ${describeJsonValue(v)}, not a boolean`);
      }
      if (v !== true) return reject('email-not-verified', `email not verified (email_verified is ${v === null ? 'null' : 'false'})`);
    } else {
      warnings.push('no email_verified claim: accepted (kube-apiserver checks it only when present)');
    }
  }
  const username = effectiveUsernamePrefix(config) + rawUsername;
  if (rawUsername === '') warnings.push(`username claim ${usernameClaim} is empty`);
  if (username.startsWith('system:')) warnings.push(`username ${username} starts with system:, which is reserved for Kubernetes components`);

  // getGroups: only when a groups claim is configured and present; a string is one group.
  let groups: string[] = [];
  if (config.groupsClaim) {
    if (has(claims, config.groupsClaim)) {
      const parsed = asStringOrArray(claims[config.groupsClaim]);
      if (parsed === undefined) {
        return reject('groups-claim-invalid', `groups claim ${config.groupsClaim} is ${describeJsonValue(claims[config.groupsClaim])}, not a string or a list of strings`);
      }
      const prefix = effectiveGroupsPrefix(config);
      groups = parsed.map((g) => prefix + g);
      if (prefix === '-') warnings.push('groups prefix "-" is used literally (only the username prefix treats "-" as "no prefix")');
    } else {
      warnings.push(`no ${config.groupsClaim} claim: no groups`);
    }
  }

  // Required claims: present, a JSON string, equal. Go ranges over a map in random order; sorted
  // keys make the reported reason stable when several fail.
  for (const key of Object.keys(config.requiredClaims ?? {}).sort()) {
    const want = config.requiredClaims![key]!;
    if (!has(claims, key)) return reject('required-claim-missing', `required claim ${key}=${want} missing`);
    const got = asGoString(claims[key]);
    if (got === undefined) return reject('required-claim-invalid', `required claim ${key} is ${describeJsonValue(claims[key])}, not a string (want ${JSON.stringify(want)})`);
    if (got !== want) return reject('required-claim-mismatch', `required claim ${key} is ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
  }
  return { accepted: true, username, groups, warnings };
}
