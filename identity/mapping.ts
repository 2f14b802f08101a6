import {
  describeGoJson, goBool, goFieldMatches, goFieldMembers, goJsonFromValue, goJsonTime, goMapGet, goString, goStringSlice, parseGoJson, type Decoded, type GoJson,
} from './gojson';
import type { MapOptions, MappingRejected, MappingResult, MappingUndetermined, OidcConfig, RejectionCode } from './types';

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
 * - github.com/coreos/go-oidc v2 (kube-apiserver pins v2.2.1, later v2.3.0, which only moves go-jose's
 *   import path; the verification is unchanged since 2.1.0): oidc.go `idToken` (the standard claims decoded into typed fields first: a wrong type
 *   anywhere rejects), `audience`, `jsonTime` (json.Number), and verify.go `Verify` (distributed claim
 *   sources, iss, aud, exp with no leeway, nbf with 1 minute).
 * - kubernetes.io docs, "Authenticating" (reference/access-authn-authz/authentication), OpenID Connect
 *   Tokens: the `--oidc-*` flags; EKS API reference, OidcIdentityProviderConfigRequest: the same
 *   usernamePrefix default (`issuerurl#` unless the claim is `email`, `-` for none).
 * The token's signature is never checked here: that needs the issuer's keys (a network call).
 */

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

type Obj = GoJson & { kind: 'object' };

function reject(code: RejectionCode, reason: string): MappingRejected {
  return { accepted: false, code, reason };
}

function undetermined(code: MappingUndetermined['code'], reason: string): MappingUndetermined {
  return { accepted: false, undetermined: true, code, reason };
}

/** time.Unix's internal seconds (go's unixToInternal), wrapping as int64 addition does. */
const UNIX_TO_INTERNAL = 62135596800n;
const internal = (unix: bigint) => BigInt.asIntN(64, unix + UNIX_TO_INTERNAL);
const isoOf = (unix: bigint) => {
  const ms = Number(unix) * 1000;
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${unix} (Unix seconds)`;
};

/** go-oidc v2 allows this much clock skew on `nbf` (verify.go `leeway := 1 * time.Minute`); `exp` gets none. */
const NBF_LEEWAY_SEC = 60n;

/** The standard claims as go-oidc v2 decodes them (oidc.go `idToken`), or the first decode error. */
type IdToken = {
  iss: string;
  aud: string[] | undefined;
  exp: bigint | undefined;
  nbf: bigint | undefined;
  claimNames: Map<string, string> | undefined;
  claimSources: Map<string, { endpoint: string }> | undefined;
};

type DecodeError = { claim: string; error: string };

/** Decodes into a struct's string fields (case-insensitive names, every occurrence, the last wins). */
function decodeStruct(v: GoJson, fields: string[], record: (field: string, value: string) => void): string | undefined {
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'object') return `is ${describeGoJson(v)}, not an object`;
  let first: string | undefined;
  for (const [k, member] of v.members) {
    const field = fields.find((f) => goFieldMatches(k, f));
    if (field === undefined) continue;
    const s = goString(member);
    if (!s.ok) first ??= `${k} ${s.error}`;
    else if (member.kind !== 'null') record(field, s.value);
  }
  return first;
}

/** A Go map from an object: null is nil; a non-nil map is reused by a later occurrence (merged). */
function decodeMap<T>(v: GoJson, into: Map<string, T> | undefined, elem: (e: GoJson) => Decoded<T>): Decoded<Map<string, T> | undefined> {
  if (v.kind === 'null') return { ok: true, value: undefined };
  if (v.kind !== 'object') return { ok: false, error: `is ${describeGoJson(v)}, not an object` };
  const m = into ?? new Map<string, T>();
  let first: string | undefined;
  for (const [k, e] of v.members) {
    const d = elem(e);
    if (!d.ok) first ??= `.${k} ${d.error}`;
    else m.set(k, d.value);
  }
  return first === undefined ? { ok: true, value: m } : { ok: false, error: first };
}

function claimSource(e: GoJson): Decoded<{ endpoint: string }> {
  const src = { endpoint: '' };
  const bad = decodeStruct(e, ['endpoint', 'access_token'], (f, s) => {
    if (f === 'endpoint') src.endpoint = s;
  });
  return bad === undefined ? { ok: true, value: src } : { ok: false, error: bad };
}

/**
 * json.Unmarshal(payload, &idToken): each member whose key folds to a field is decoded into it in
 * order; a type error is remembered and decoding goes on, so the first error is the one reported.
 */
function decodeIdToken(payload: Obj): { token: IdToken; error?: DecodeError } {
  const token: IdToken = { iss: '', aud: undefined, exp: undefined, nbf: undefined, claimNames: undefined, claimSources: undefined };
  let error: DecodeError | undefined;
  const fail = (claim: string, e: string) => (error ??= { claim, error: e });
  for (const [key, v] of payload.members) {
    if (goFieldMatches(key, 'iss')) {
      const s = goString(v, token.iss);
      if (s.ok) token.iss = s.value;
      else fail(key, s.error);
    } else if (goFieldMatches(key, 'sub') || goFieldMatches(key, 'nonce') || goFieldMatches(key, 'at_hash')) {
      const s = goString(v);
      if (!s.ok) fail(key, s.error);
    } else if (goFieldMatches(key, 'aud')) {
      // audience.UnmarshalJSON: a string (null decodes as ""), else a list of strings.
      if (v.kind === 'string' || v.kind === 'null') token.aud = [v.kind === 'string' ? v.value : ''];
      else {
        const list = goStringSlice(v);
        if (list.ok) token.aud = list.value ?? [];
        else fail(key, v.kind === 'array' ? list.error : `is ${describeGoJson(v)}, not a string or a list of strings`);
      }
    } else if (goFieldMatches(key, 'exp') || goFieldMatches(key, 'iat')) {
      const t = goJsonTime(v);
      if (!t.ok) fail(key, t.error);
      else if (goFieldMatches(key, 'exp')) token.exp = t.value;
    } else if (goFieldMatches(key, 'nbf')) {
      // *jsonTime: null leaves the pointer nil, i.e. no nbf.
      if (v.kind === 'null') token.nbf = undefined;
      else {
        const t = goJsonTime(v);
        if (t.ok) token.nbf = t.value;
        else fail(key, t.error);
      }
    } else if (goFieldMatches(key, '_claim_names')) {
      const m = decodeMap(v, token.claimNames, (e) => goString(e));
      if (m.ok) token.claimNames = m.value;
      else fail(key, m.error);
    } else if (goFieldMatches(key, '_claim_sources')) {
      const m = decodeMap(v, token.claimSources, claimSource);
      if (m.ok) token.claimSources = m.value;
      else fail(key, m.error);
    }
  }
  return { token, error };
}

/** kube-apiserver's untrustedIssuer: only iss, typed; a wrong type means "not a token for this issuer". */
function untrustedIssuer(payload: Obj): Decoded<string> {
  let iss = '';
  for (const v of goFieldMembers(payload, 'iss')) {
    const s = goString(v, iss);
    if (!s.ok) return { ok: false, error: s.error };
    iss = s.value;
  }
  return { ok: true, value: iss === 'accounts.google.com' ? 'https://accounts.google.com' : iss };
}

/**
 * claimResolver.expand up to its network call: the endpoint kube-apiserver would fetch the groups
 * claim from, "" when there is none, or why the token is refused.
 */
function distributedEndpoint(claim: string, payload: Obj): Decoded<string> {
  if (goMapGet(payload, claim) !== undefined) return { ok: true, value: '' };
  const names = goMapGet(payload, '_claim_names');
  if (names === undefined) return { ok: true, value: '' };
  const claimToSource = decodeMap(names, undefined, (e) => goString(e));
  if (!claimToSource.ok) return { ok: false, error: `_claim_names ${claimToSource.error}` };
  const rawSources = goMapGet(payload, '_claim_sources');
  if (rawSources === undefined) return { ok: false, error: '_claim_names without _claim_sources' };
  const sources = decodeMap(rawSources, undefined, (e) => {
    const ep = { endpoint: '' };
    const bad = decodeStruct(e, ['endpoint', 'access_token', 'JWT'], (f, s) => {
      if (f === 'endpoint') ep.endpoint = s;
    });
    return bad === undefined ? { ok: true, value: ep } : { ok: false, error: bad };
  });
  if (!sources.ok) return { ok: false, error: `_claim_sources ${sources.error}` };
  const src = claimToSource.value?.get(claim);
  if (src === undefined) return { ok: true, value: '' };
  const ep = sources.value?.get(src);
  if (ep === undefined) return { ok: false, error: `_claim_names names the source ${JSON.stringify(src)} for ${claim}, which _claim_sources lacks` };
  return { ok: true, value: ep.endpoint };
}

/** The claims a claims sketch lacks as go-oidc sees them (no key folding to the field). */
const FILLED = ['iss', 'aud', 'exp', 'iat'] as const;

/** Appends what a fresh token from the config's issuer for its client would carry; returns the names. */
function fillSketch(config: OidcConfig, payload: Obj, nowMs: number): string[] {
  const nowSec = Math.floor(nowMs / 1000);
  const value = (name: (typeof FILLED)[number]): GoJson => {
    if (name === 'iss') return { kind: 'string', value: config.issuerUrl };
    if (name === 'aud') return { kind: 'string', value: config.clientId };
    return { kind: 'number', text: String(name === 'exp' ? nowSec + 3600 : nowSec) };
  };
  const filled: string[] = [];
  for (const name of FILLED) {
    if (payload.members.some(([k]) => goFieldMatches(k, name))) continue;
    filled.push(name);
  }
  for (const name of filled) payload.members.push([name, value(name as (typeof FILLED)[number])]);
  return filled;
}

export type Judgement = {
  result: MappingResult;
  /** Claims filled in because a sketch lacked them (empty for a token judged exactly). */
  filledClaims: string[];
};

/**
 * Judges a token payload (its exact JSON text, or claims as an object) under a config the way
 * kube-apiserver's legacy OIDC authenticator does, in its order: hasCorrectIssuer; go-oidc v2's
 * Verify (typed decode of the standard claims, distributed claim sources, iss, aud, exp, nbf); then
 * oidc.go's AuthenticateToken (distributed groups, getUsername, getGroups, required claims). The
 * first failure wins. Only the signature is not checked (it needs the issuer's keys).
 */
export function judgePayload(config: OidcConfig, payload: string | Record<string, unknown>, opts: MapOptions = {}): Judgement {
  const tree = typeof payload === 'string' ? parseGoJson(payload) : goJsonFromValue(payload);
  if (tree.kind !== 'object') throw new TypeError('the token payload is not a JSON object');
  const nowMs = (opts.now ?? new Date()).getTime();
  const filledClaims = opts.requireTokenClaims ? [] : fillSketch(config, tree, nowMs);
  return { result: judge(config, tree, nowMs, opts.header), filledClaims };
}

/** The members of a JOSE header that go-jose v2 (`rawHeader.sanitized`) decodes as strings; null counts as absent. */
const HEADER_STRINGS = ['alg', 'kid', 'nonce'];
/** go-oidc v2's default `SupportedSigningAlgs`; EKS passes no --oidc-signing-algs to kube-apiserver. */
const SIGNING_ALG = 'RS256';

/** go-jose's ParseSigned on the header (run by go-oidc's Verify before anything else): what it refuses, or undefined. */
function headerProblem(header: Record<string, unknown>): MappingResult | undefined {
  for (const name of HEADER_STRINGS) {
    const v = header[name];
    if (v !== undefined && v !== null && typeof v !== 'string') return reject('malformed-token', `the token's header member ${name} is not a string (go-jose refuses the token as malformed)`);
  }
  // go-jose parses these into keys and certificates; eksidp does not, so it cannot say what go-jose would.
  const parsed = ['jwk', 'x5c'].filter((n) => header[n] !== undefined && header[n] !== null);
  if (parsed.length > 0) return undetermined('header-unchecked', `the token's header carries ${parsed.join(' and ')}, which go-jose parses before any check and eksidp does not`);
  return undefined;
}

function judge(config: OidcConfig, payload: Obj, nowMs: number, header?: Record<string, unknown>): MappingResult {
  // hasCorrectIssuer: a token for another issuer is not this authenticator's to judge, so it is
  // skipped (kube-apiserver answers 401 unless another authenticator takes it).
  const untrusted = untrustedIssuer(payload);
  if (!untrusted.ok) return reject('issuer-mismatch', `iss ${untrusted.error} (this config ignores the token)`);
  if (untrusted.value !== config.issuerUrl) {
    const got = goFieldMembers(payload, 'iss').length === 0 ? 'no iss claim' : `iss ${JSON.stringify(untrusted.value)}`;
    return reject('issuer-mismatch', `${got}, not the issuer URL ${JSON.stringify(config.issuerUrl)} (this config ignores the token)`);
  }
  // go-oidc Verify: jose.ParseSigned first.
  const malformed = header && headerProblem(header);
  if (malformed) return malformed;

  // go-oidc v2 Verify: the typed decode first; a wrong type in any standard claim refuses the token.
  const { token, error } = decodeIdToken(payload);
  if (error) {
    const timeClaim = ['EXP', 'IAT', 'NBF'].includes(error.claim.toUpperCase());
    return reject(timeClaim ? 'invalid-time-claim' : 'standard-claim-invalid', `${error.claim} ${error.error} (go-oidc decodes the standard claims into typed fields before any check)`);
  }
  for (const [name, src] of token.claimNames ?? []) {
    if (src === '') return reject('distributed-claims-invalid', `_claim_names.${name} names no source`);
    if (!token.claimSources?.has(src)) return reject('distributed-claims-invalid', `_claim_names.${name} names the source ${JSON.stringify(src)}, which _claim_sources lacks`);
  }
  if (token.iss !== config.issuerUrl && !(config.issuerUrl === 'https://accounts.google.com' && token.iss === 'accounts.google.com')) {
    return reject('issuer-mismatch', `iss ${JSON.stringify(token.iss)}, not the issuer URL ${JSON.stringify(config.issuerUrl)}`);
  }
  if (!token.aud?.includes(config.clientId)) {
    const got = token.aud === undefined ? 'no aud claim' : `aud ${JSON.stringify(token.aud)}`;
    return reject('audience-mismatch', `${got} does not contain the client ID ${JSON.stringify(config.clientId)}`);
  }
  const nowSec = BigInt(Math.floor(nowMs / 1000));
  const nowSubSec = nowMs % 1000;
  if (token.exp === undefined) return reject('expired', 'no exp claim (a token without one counts as expired)');
  // `t.Expiry.Before(now)` on time.Time: a token expiring this very second (to the nanosecond) still passes.
  const expInt = internal(token.exp);
  const nowInt = nowSec + UNIX_TO_INTERNAL;
  if (expInt < nowInt || (expInt === nowInt && nowSubSec > 0)) return reject('expired', `token expired at ${isoOf(token.exp)}`);
  if (token.nbf !== undefined && nowInt + NBF_LEEWAY_SEC < internal(token.nbf)) {
    return reject('not-yet-valid', `token not valid before ${isoOf(token.nbf)} (go-oidc v2 allows 1 minute of clock skew)`);
  }
  // verify.go: the algorithm is checked after the claims, just before the signature.
  if (header) {
    const alg = typeof header.alg === 'string' ? header.alg : '';
    if (alg !== SIGNING_ALG) {
      return reject('unsupported-algorithm', `the token is signed with ${alg === '' ? 'no algorithm (no alg in its header)' : JSON.stringify(alg)}; kube-apiserver on EKS accepts only ${SIGNING_ALG} (go-oidc's default; EKS sets no --oidc-signing-algs)`);
    }
  }
  return mapClaims(config, payload);
}

/** oidc.go `claims.unmarshalClaim` for a string: present, and a JSON string or null (""). */
function claimString(payload: Obj, name: string): Decoded<string> | undefined {
  const v = goMapGet(payload, name);
  return v === undefined ? undefined : goString(v);
}

/** oidc.go AuthenticateToken after verification, on the `claims` map (exact keys, the last one wins). */
function mapClaims(config: OidcConfig, payload: Obj): MappingResult {
  const warnings: string[] = [];
  // claimResolver.expand runs first, and only with a groups claim configured.
  let pending = '';
  if (config.groupsClaim) {
    const ep = distributedEndpoint(config.groupsClaim, payload);
    if (!ep.ok) return reject('distributed-claims-invalid', ep.error);
    pending = ep.value;
    if (pending === '' && goMapGet(payload, config.groupsClaim) === undefined && goMapGet(payload, '_claim_names') !== undefined) {
      const names = goMapGet(payload, '_claim_names');
      if (names?.kind === 'object' && goMapGet(names, config.groupsClaim) !== undefined) {
        warnings.push(`the groups claim ${config.groupsClaim} is aggregated (a JWT in _claim_sources): kube-apiserver ignores it, so no groups`);
      }
    }
  }
  const undetermined = (): MappingUndetermined => ({
    accepted: false,
    undetermined: true,
    code: 'distributed-claim',
    reason: `the groups claim ${config.groupsClaim} is distributed: kube-apiserver fetches it from ${pending} when the token is used, so the result cannot be known offline`,
  });

  // getUsername: the claim must decode as a string; `email` needs email_verified true *when present*.
  const usernameClaim = effectiveUsernameClaim(config);
  if (pending !== '' && usernameClaim === config.groupsClaim) return undetermined();
  const rawUsername = claimString(payload, usernameClaim);
  if (rawUsername === undefined) return reject('username-claim-missing', `username claim ${usernameClaim} missing`);
  if (!rawUsername.ok) return reject('username-claim-invalid', `username claim ${usernameClaim} ${rawUsername.error}`);
  if (usernameClaim === 'email') {
    const v = goMapGet(payload, 'email_verified');
    if (v !== undefined) {
      const verified = goBool(v);
      if (!verified.ok) return reject('email-verified-invalid', `email_verified ${verified.error}`);
      if (!verified.value) return reject('email-not-verified', `email not verified (email_verified is ${v.kind === 'null' ? 'null' : 'false'})`);
    } else {
      warnings.push('no email_verified claim: accepted (kube-apiserver checks it only when present)');
    }
  }
  const username = effectiveUsernamePrefix(config) + rawUsername.value;
  if (rawUsername.value === '') warnings.push(`username claim ${usernameClaim} is empty`);
  if (username.startsWith('system:')) warnings.push(`username ${username} starts with system:, which is reserved for Kubernetes components`);

  // getGroups: only when a groups claim is configured and present; stringOrArray.
  let groups: string[] = [];
  if (config.groupsClaim && pending === '') {
    const raw = goMapGet(payload, config.groupsClaim);
    if (raw !== undefined) {
      const list = goStringSlice(raw);
      const parsed = list.ok ? list.value ?? [] : raw.kind === 'string' ? [raw.value] : undefined;
      if (parsed === undefined) {
        return reject('groups-claim-invalid', `groups claim ${config.groupsClaim} is ${describeGoJson(raw)}, not a string or a list of strings`);
      }
      const prefix = effectiveGroupsPrefix(config);
      groups = parsed.map((g) => prefix + g);
      if (prefix === '-') warnings.push('groups prefix "-" is used literally (only the username prefix treats "-" as "no prefix")');
    } else {
      warnings.push(`no ${config.groupsClaim} claim: no groups`);
    }
  }

  // Required claims: present, a JSON string (null is ""), equal. Go ranges over a map in random
  // order; sorted keys make the reported reason stable when several fail.
  for (const key of Object.keys(config.requiredClaims ?? {}).sort()) {
    const want = config.requiredClaims![key]!;
    if (pending !== '' && key === config.groupsClaim) return undetermined();
    const got = claimString(payload, key);
    if (got === undefined) return reject('required-claim-missing', `required claim ${key}=${want} missing`);
    if (!got.ok) return reject('required-claim-invalid', `required claim ${key} ${got.error} (want ${JSON.stringify(want)})`);
    if (got.value !== want) return reject('required-claim-mismatch', `required claim ${key} is ${JSON.stringify(got.value)}, not ${JSON.stringify(want)}`);
  }
  if (pending !== '') return undetermined();
  return { accepted: true, username, groups, warnings };
}

/**
 * The Kubernetes username and groups for a set of claims under a config, or why the token is
 * refused, or that it cannot be known offline (a distributed groups claim). Claims are a sketch
 * (absent iss/aud/exp/iat filled in) unless `requireTokenClaims`.
 */
export function mapIdentity(config: OidcConfig, claims: Record<string, unknown>, opts: MapOptions = {}): MappingResult {
  return judgePayload(config, claims, opts).result;
}

/** One word for a result, for every renderer: a distributed groups claim is never shown as a refusal. */
export function outcomeWord(r: MappingResult): 'accepted' | 'rejected' | 'undetermined' {
  return 'undetermined' in r ? 'undetermined' : r.accepted ? 'accepted' : 'rejected';
}
