import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildOracle, goOracleTest, judgeAll, type OracleRequest, type OracleResponse, type OracleVerdict } from './helpers/go-oidc-oracle';
import { captureIo, runCommand } from './helpers/in-process';
import { oidcToTerraform, type OidcConfig } from '../identity';

/**
 * The identity preview against the real go-oidc v2 verifier (test/oracle/go-oidc/main.go): every
 * case's payload is signed by the harness, which verifies it with go-oidc and applies kube-apiserver's
 * legacy --oidc-* mapping; the same signed token goes through `eksidp whoami --token` (EKSIDP_TOKEN, and
 * `--token -` on stdin for a few), and the payload through `whoami --claims`, judged against the harness's
 * verdict on the payload with the claims a sketch lacks filled in. Every case also states the verdict
 * expected from the sources, and where that comes from:
 * - go-oidc v2.2.1 (kube-apiserver's go.mod pin; v2.3.0, which later releases pin, only changes go-jose's
 *   import path, and Debian's 2.1.0, which the harness builds, has the same verification code):
 *   `verify.go:N` and `oidc.go:N` are lines of the v2.2.1 tag.
 * - kubernetes: staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/oidc/oidc.go (`k8s oidc.go`),
 *   pkg/kubeapiserver/options/authentication.go (`ToAuthenticationConfig`) and
 *   staging/src/k8s.io/apiserver/pkg/apis/apiserver/validation/validation.go (`validateURL`), named by
 *   function: their line numbers differ between 1.31, 1.32 and 1.33, the functions do not.
 */

const ISS = 'https://idp.example.com';
const T = Math.floor(Date.now() / 1000);

type Cfg = OidcConfig;

const CONFIGS: Record<string, Cfg> = {
  base: { issuerUrl: ISS, clientId: 'kubernetes' },
  noprefix: { issuerUrl: ISS, clientId: 'kubernetes', usernamePrefix: '-' },
  email: { issuerUrl: ISS, clientId: 'kubernetes', usernameClaim: 'email' },
  email_prefixed: { issuerUrl: ISS, clientId: 'kubernetes', usernameClaim: 'email', usernamePrefix: 'oidc:' },
  upn: { issuerUrl: ISS, clientId: 'kubernetes', usernameClaim: 'upn', usernamePrefix: '-' },
  groups: { issuerUrl: ISS, clientId: 'kubernetes', usernamePrefix: '-', groupsClaim: 'groups', groupsPrefix: 'oidc:' },
  groups_plain: { issuerUrl: ISS, clientId: 'kubernetes', usernamePrefix: '-', groupsClaim: 'groups' },
  required: { issuerUrl: ISS, clientId: 'kubernetes', usernamePrefix: 'oidc:', requiredClaims: { hd: 'example.com' } },
  google: { issuerUrl: 'https://accounts.google.com', clientId: 'kubernetes', usernameClaim: 'email' },
  path: { issuerUrl: 'https://idp.example.com/tenant/', clientId: 'kubernetes', usernamePrefix: '-' },
  http: { issuerUrl: 'http://idp.example.com', clientId: 'kubernetes' },
  query: { issuerUrl: 'https://idp.example.com?tenant=a', clientId: 'kubernetes' },
  fragment: { issuerUrl: 'https://idp.example.com#a', clientId: 'kubernetes' },
  userinfo: { issuerUrl: 'https://user:pw@idp.example.com', clientId: 'kubernetes' },
};

/** A payload with iss, aud, exp and iat of a fresh token for `cfg`, then `members` (raw JSON members). */
const tok = (members: string[] = [], cfg = 'base') => `{${[`"iss":${JSON.stringify(CONFIGS[cfg]!.issuerUrl)}`, '"aud":"kubernetes"', `"exp":${T + 3600}`, `"iat":${T}`, ...members].join(',')}}`;
/** A payload of exactly `members`. */
const raw = (members: string[]) => `{${members.join(',')}}`;

const V = 'go-oidc v2.2.1 verify.go';
const O = 'go-oidc v2.2.1 oidc.go';
const K = 'k8s oidc.go';

type Case = {
  id: string;
  config: keyof typeof CONFIGS;
  payload: string;
  /** Expected for the token, from the source cited. */
  expect: OracleVerdict;
  username?: string;
  groups?: string[];
  from: string;
  /** The token's exact JOSE header (default: the harness's RS256 signer's). */
  header?: string;
};

const DIST = '"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://claims.example.com/groups","access_token":"t"}}';

const CASES: Case[] = [
  // Username claim and prefix.
  { id: 'sub-default-prefix', config: 'base', payload: tok(['"sub":"alice"']), expect: 'accepted', username: `${ISS}#alice`, from: 'ToAuthenticationConfig: prefix defaults to issuer URL + "#" for a claim other than email' },
  { id: 'prefix-dash', config: 'noprefix', payload: tok(['"sub":"alice"']), expect: 'accepted', username: 'alice', from: 'ToAuthenticationConfig: prefix "-" means none' },
  { id: 'email-verified', config: 'email', payload: tok(['"sub":"1"', '"email":"a@example.com"', '"email_verified":true']), expect: 'accepted', username: 'a@example.com', from: 'ToAuthenticationConfig: no default prefix for email; k8s oidc.go getUsername' },
  { id: 'email-not-verified', config: 'email', payload: tok(['"sub":"1"', '"email":"a@example.com"', '"email_verified":false']), expect: 'rejected', from: `${K} getUsername: email_verified present must be true` },
  { id: 'email-verified-absent', config: 'email', payload: tok(['"sub":"1"', '"email":"a@example.com"']), expect: 'accepted', username: 'a@example.com', from: `${K} getUsername: email_verified checked only when hasClaim` },
  { id: 'email-verified-string', config: 'email', payload: tok(['"sub":"1"', '"email":"a@example.com"', '"email_verified":"true"']), expect: 'rejected', from: `${K} getUsername: unmarshalClaim into bool fails on a string` },
  { id: 'email-verified-null', config: 'email', payload: tok(['"sub":"1"', '"email":"a@example.com"', '"email_verified":null']), expect: 'rejected', from: `${K} getUsername: null leaves the bool false, "email not verified"` },
  { id: 'email-prefixed', config: 'email_prefixed', payload: tok(['"sub":"1"', '"email":"a@example.com"', '"email_verified":true']), expect: 'accepted', username: 'oidc:a@example.com', from: `${K} getUsername: a non-empty prefix is prepended` },
  { id: 'email-missing', config: 'email', payload: tok(['"sub":"1"']), expect: 'rejected', from: `${K} getUsername: unmarshalClaim "claim not present"` },
  { id: 'upn-missing', config: 'upn', payload: tok(['"sub":"1"']), expect: 'rejected', from: `${K} getUsername: unmarshalClaim "claim not present"` },
  { id: 'upn-number', config: 'upn', payload: tok(['"sub":"1"', '"upn":42']), expect: 'rejected', from: `${K} getUsername: unmarshalClaim into string fails on a number` },
  { id: 'upn-null', config: 'upn', payload: tok(['"sub":"1"', '"upn":null']), expect: 'accepted', username: '', from: `${K} getUsername: null into a string leaves ""` },
  { id: 'sub-missing', config: 'base', payload: tok([]), expect: 'rejected', from: `${K} getUsername: sub (the flag default) not present` },
  { id: 'sub-null', config: 'base', payload: tok(['"sub":null']), expect: 'accepted', username: `${ISS}#`, from: `${O}:344 Subject string (null leaves ""); ${K} getUsername` },
  // Typed decoding of the standard claims (go-oidc oidc.go:342-352, decoded at verify.go:221).
  { id: 'sub-number', config: 'base', payload: tok(['"sub":42']), expect: 'rejected', from: `${O}:344 Subject string; ${V}:221 json.Unmarshal(payload, &token)` },
  { id: 'sub-number-email-user', config: 'email', payload: tok(['"sub":42', '"email":"a@example.com"', '"email_verified":true']), expect: 'rejected', from: `${O}:344 Subject string: rejects even with email as the username claim` },
  { id: 'nonce-number', config: 'base', payload: tok(['"sub":"alice"', '"nonce":7']), expect: 'rejected', from: `${O}:349 Nonce string` },
  { id: 'nonce-string', config: 'base', payload: tok(['"sub":"alice"', '"nonce":"n"']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:349 Nonce string` },
  { id: 'at-hash-number', config: 'base', payload: tok(['"sub":"alice"', '"at_hash":1']), expect: 'rejected', from: `${O}:350 AtHash string` },
  { id: 'sub-upper-number', config: 'base', payload: tok(['"sub":"alice"', '"SUB":5']), expect: 'rejected', from: `${O}:344 struct fields match keys case-insensitively (encoding/json)` },
  { id: 'sub-capitalised-string', config: 'base', payload: tok(['"sub":"alice"', '"Sub":"bob"']), expect: 'accepted', username: `${ISS}#alice`, from: `${K} type claims map[string]json.RawMessage: the username comes from the exact key` },
  { id: 'sub-duplicate-first-bad', config: 'base', payload: tok(['"sub":5', '"sub":"alice"']), expect: 'rejected', from: `${V}:221 json.Unmarshal keeps the first type error though a later "sub" decodes` },
  { id: 'sub-long-s', config: 'base', payload: tok(['"sub":"alice"', '"\u017fub":5']), expect: 'rejected', from: `${O}:344 encoding/json folds "\u017f" (U+017F) to "s" when matching field names` },
  // Issuer (hasCorrectIssuer first, then go-oidc).
  { id: 'iss-other', config: 'base', payload: tok(['"sub":"alice"', '"iss":"https://other.example.com"']), expect: 'skipped', from: `${K} AuthenticateToken: hasCorrectIssuer (the last "iss" wins)` },
  { id: 'iss-trailing-slash', config: 'base', payload: raw([`"iss":"${ISS}/"`, '"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'skipped', from: `${K} hasCorrectIssuer: byte-for-byte comparison` },
  { id: 'iss-missing', config: 'base', payload: raw(['"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'skipped', from: `${K} untrustedIssuer: "" is not the issuer` },
  { id: 'iss-number', config: 'base', payload: raw(['"iss":1', '"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'skipped', from: `${K} untrustedIssuer: Issuer string, json.Unmarshal error` },
  { id: 'iss-null', config: 'base', payload: raw(['"iss":null', '"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'skipped', from: `${K} untrustedIssuer: null leaves ""` },
  { id: 'iss-upper-other', config: 'base', payload: tok(['"sub":"alice"', '"ISS":"https://other.example.com"']), expect: 'skipped', from: `${K} untrustedIssuer: case-insensitive field, the last one wins` },
  { id: 'iss-upper-only', config: 'base', payload: raw([`"ISS":"${ISS}"`, '"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:343 Issuer matched case-insensitively; ${V}:252` },
  { id: 'iss-google-legacy', config: 'google', payload: raw(['"iss":"accounts.google.com"', '"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"1"', '"email":"g@example.com"', '"email_verified":true']), expect: 'accepted', username: 'g@example.com', from: `${V}:258 and ${K} untrustedIssuer: Google's bare-host issuer` },
  { id: 'iss-with-path', config: 'path', payload: tok(['"sub":"alice"'], 'path'), expect: 'accepted', username: 'alice', from: `${V}:252 exact issuer with path and slash` },
  // Audience (verify.go:268, oidc.go:362 audience).
  { id: 'aud-list', config: 'base', payload: tok(['"sub":"alice"', '"aud":["other","kubernetes"]']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:362 audience list; ${V}:268 contains` },
  { id: 'aud-other', config: 'base', payload: tok(['"sub":"alice"', '"aud":"other"']), expect: 'rejected', from: `${V}:268 expected audience` },
  { id: 'aud-missing', config: 'base', payload: raw([`"iss":"${ISS}"`, `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'rejected', from: `${V}:268 an empty audience lacks the client ID` },
  { id: 'aud-number', config: 'base', payload: tok(['"sub":"alice"', '"aud":5']), expect: 'rejected', from: `${O}:362 audience.UnmarshalJSON: neither string nor list` },
  { id: 'aud-null', config: 'base', payload: tok(['"sub":"alice"', '"aud":null']), expect: 'rejected', from: `${O}:362 null decodes as the string "" (no client ID)` },
  { id: 'aud-list-number', config: 'base', payload: tok(['"sub":"alice"', '"aud":["kubernetes",1]']), expect: 'rejected', from: `${O}:362 []string with a number fails` },
  { id: 'aud-empty-list', config: 'base', payload: tok(['"sub":"alice"', '"aud":[]']), expect: 'rejected', from: `${V}:268 contains on an empty list` },
  { id: 'aud-upper-last', config: 'base', payload: tok(['"sub":"alice"', '"aud":"other"', '"AUD":"kubernetes"']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:345 case-insensitive, the last occurrence wins` },
  // exp (verify.go:284, oidc.go:378 jsonTime through json.Number).
  { id: 'exp-past', config: 'base', payload: tok(['"sub":"alice"', `"exp":${T - 120}`]), expect: 'rejected', from: `${V}:284 Expiry.Before(now), no leeway` },
  { id: 'exp-missing', config: 'base', payload: raw([`"iss":"${ISS}"`, '"aud":"kubernetes"', '"sub":"alice"']), expect: 'rejected', from: `${V}:284 the zero time is before now` },
  { id: 'exp-quoted', config: 'base', payload: tok(['"sub":"alice"', `"exp":"${T + 3600}"`]), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:378-380 json.Number takes a quoted number` },
  { id: 'exp-quoted-word', config: 'base', payload: tok(['"sub":"alice"', '"exp":"tomorrow"']), expect: 'rejected', from: `${O}:380 json.Number rejects a string that is not a number` },
  { id: 'exp-null', config: 'base', payload: tok(['"sub":"alice"', '"exp":null']), expect: 'rejected', from: `${O}:385-390 an empty json.Number parses as neither Int64 nor Float64` },
  { id: 'exp-fraction', config: 'base', payload: tok(['"sub":"alice"', `"exp":${T + 3600}.75`]), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:388-392 Float64, truncated` },
  { id: 'exp-exponent', config: 'base', payload: tok(['"sub":"alice"', '"exp":4.1e9']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:388-392 Float64 of 4.1e9` },
  { id: 'exp-bool', config: 'base', payload: tok(['"sub":"alice"', '"exp":true']), expect: 'rejected', from: `${O}:380 json.Number from a boolean` },
  { id: 'exp-upper-past', config: 'base', payload: tok(['"sub":"alice"', `"EXP":${T - 120}`]), expect: 'rejected', from: `${O}:346 "EXP" after "exp" decides (case-insensitive, last wins)` },
  { id: 'exp-upper-only', config: 'base', payload: raw([`"iss":"${ISS}"`, '"aud":"kubernetes"', `"Exp":${T + 3600}`, '"sub":"alice"']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:346 "Exp" is exp` },
  { id: 'exp-int64-max', config: 'base', payload: tok(['"sub":"alice"', '"exp":9223372036854775807']), expect: 'rejected', from: `${O}:394 time.Unix(MaxInt64) overflows Go's internal seconds: before now, ${V}:284` },
  { id: 'exp-beyond-int64', config: 'base', payload: tok(['"sub":"alice"', '"exp":1e19']), expect: 'rejected', from: `${O}:392 int64(1e19) is MinInt64 on amd64: expired` },
  { id: 'exp-out-of-range', config: 'base', payload: tok(['"sub":"alice"', '"exp":1e400']), expect: 'rejected', from: `${O}:388 Float64 range error` },
  // iat: decoded, never compared.
  { id: 'iat-word', config: 'base', payload: tok(['"sub":"alice"', '"iat":"yesterday"']), expect: 'rejected', from: `${O}:347 IssuedAt jsonTime` },
  { id: 'iat-null', config: 'base', payload: tok(['"sub":"alice"', '"iat":null']), expect: 'rejected', from: `${O}:347 jsonTime (not a pointer): null is an error` },
  { id: 'iat-missing', config: 'base', payload: raw([`"iss":"${ISS}"`, '"aud":"kubernetes"', `"exp":${T + 3600}`, '"sub":"alice"']), expect: 'accepted', username: `${ISS}#alice`, from: `${V}: iat is never checked` },
  { id: 'iat-quoted-future', config: 'base', payload: tok(['"sub":"alice"', `"iat":"${T + 86400}"`]), expect: 'accepted', username: `${ISS}#alice`, from: `${V}: iat is never checked; ${O}:378 json.Number` },
  // nbf (verify.go:289-293: 1 minute of leeway; oidc.go:348 *jsonTime).
  { id: 'nbf-within-minute', config: 'base', payload: tok(['"sub":"alice"', `"nbf":${T + 30}`]), expect: 'accepted', username: `${ISS}#alice`, from: `${V}:291 leeway := 1 * time.Minute` },
  { id: 'nbf-three-minutes', config: 'base', payload: tok(['"sub":"alice"', `"nbf":${T + 180}`]), expect: 'rejected', from: `${V}:291-293 1 minute in v2 (v3 allows 5)` },
  { id: 'nbf-null', config: 'base', payload: tok(['"sub":"alice"', '"nbf":null']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:348 *jsonTime: null leaves nil, no nbf (${V}:289)` },
  { id: 'nbf-quoted', config: 'base', payload: tok(['"sub":"alice"', `"nbf":"${T}"`]), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:378 json.Number` },
  { id: 'nbf-word', config: 'base', payload: tok(['"sub":"alice"', '"nbf":"soon"']), expect: 'rejected', from: `${O}:380 json.Number` },
  { id: 'nbf-then-null', config: 'base', payload: tok(['"sub":"alice"', `"nbf":${T + 180}`, '"NBF":null']), expect: 'accepted', username: `${ISS}#alice`, from: `${O}:348 the last occurrence (null) leaves no nbf` },
  { id: 'nbf-int64-max', config: 'base', payload: tok(['"sub":"alice"', '"nbf":9223372036854775807']), expect: 'accepted', username: `${ISS}#alice`, from: `${V}:293 time.Unix(MaxInt64) wraps below now: not after it` },
  // Groups (k8s oidc.go getGroups, stringOrArray).
  { id: 'groups-list', config: 'groups', payload: tok(['"sub":"alice"', '"groups":["eng","ops"]']), expect: 'accepted', username: 'alice', groups: ['oidc:eng', 'oidc:ops'], from: `${K} getGroups: prefix on each group` },
  { id: 'groups-string', config: 'groups', payload: tok(['"sub":"alice"', '"groups":"eng"']), expect: 'accepted', username: 'alice', groups: ['oidc:eng'], from: `${K} stringOrArray: one string is one group` },
  { id: 'groups-null', config: 'groups', payload: tok(['"sub":"alice"', '"groups":null']), expect: 'accepted', username: 'alice', groups: [], from: `${K} stringOrArray: null decodes as a nil list` },
  { id: 'groups-missing', config: 'groups', payload: tok(['"sub":"alice"']), expect: 'accepted', username: 'alice', groups: [], from: `${K} getGroups: absent claim, no groups` },
  { id: 'groups-number-item', config: 'groups', payload: tok(['"sub":"alice"', '"groups":["eng",7]']), expect: 'rejected', from: `${K} stringOrArray: neither []string nor string` },
  { id: 'groups-object', config: 'groups', payload: tok(['"sub":"alice"', '"groups":{"eng":true}']), expect: 'rejected', from: `${K} stringOrArray` },
  { id: 'groups-null-item', config: 'groups', payload: tok(['"sub":"alice"', '"groups":["eng",null]']), expect: 'accepted', username: 'alice', groups: ['oidc:eng', 'oidc:'], from: `${K} stringOrArray: a null item is ""` },
  { id: 'groups-capitalised', config: 'groups', payload: tok(['"sub":"alice"', '"Groups":["eng"]']), expect: 'accepted', username: 'alice', groups: [], from: `${K} getGroups: c[groupsClaim], exact key` },
  { id: 'groups-no-prefix', config: 'groups_plain', payload: tok(['"sub":"alice"', '"groups":["eng"]']), expect: 'accepted', username: 'alice', groups: ['eng'], from: `${K} getGroups: empty prefix` },
  { id: 'groups-not-configured', config: 'base', payload: tok(['"sub":"alice"', '"groups":{"ignored":1}']), expect: 'accepted', username: `${ISS}#alice`, groups: [], from: `${K} getGroups: no groups claim configured` },
  // Distributed claims (verify.go:228-237, k8s oidc.go claimResolver.expand).
  { id: 'dist-groups', config: 'groups', payload: tok(['"sub":"alice"', DIST]), expect: 'unknown', from: `${K} expand: resolve fetches the endpoint (network)` },
  { id: 'dist-no-groups-claim', config: 'base', payload: tok(['"sub":"alice"', DIST]), expect: 'accepted', username: `${ISS}#alice`, from: `${V}:228-237 validated; no resolver without a groups claim` },
  { id: 'dist-missing-source', config: 'base', payload: tok(['"sub":"alice"', '"_claim_names":{"groups":"src1"}']), expect: 'rejected', from: `${V}:234 source does not exist (no groups claim configured)` },
  { id: 'dist-empty-source', config: 'base', payload: tok(['"sub":"alice"', '"_claim_names":{"groups":""}', '"_claim_sources":{}']), expect: 'rejected', from: `${V}:229 failed to obtain source from claim name` },
  { id: 'dist-names-number', config: 'base', payload: tok(['"sub":"alice"', '"_claim_names":5']), expect: 'rejected', from: `${O}:351 ClaimNames map[string]string` },
  { id: 'dist-source-string', config: 'base', payload: tok(['"sub":"alice"', '"_claim_sources":{"src1":"x"}']), expect: 'rejected', from: `${O}:352-356 claimSource struct` },
  { id: 'dist-empty-names-no-sources', config: 'groups', payload: tok(['"sub":"alice"', '"_claim_names":{}']), expect: 'rejected', from: `${K} expand: _claim_names without _claim_sources ("no claim sources")` },
  { id: 'dist-aggregated', config: 'groups', payload: tok(['"sub":"alice"', '"_claim_names":{"groups":"src1"}', '"_claim_sources":{"src1":{"JWT":"a.b.c"}}']), expect: 'accepted', username: 'alice', groups: [], from: `${K} expand: an aggregated claim (no endpoint) is ignored` },
  { id: 'dist-groups-present', config: 'groups', payload: tok(['"sub":"alice"', '"groups":["eng"]', DIST]), expect: 'accepted', username: 'alice', groups: ['oidc:eng'], from: `${K} expand: a normal claim skips resolving` },
  { id: 'dist-username-missing', config: 'groups', payload: tok([DIST]), expect: 'rejected', from: `${K} AuthenticateToken: getUsername fails whatever the endpoint returns` },
  { id: 'dist-upper-names', config: 'groups', payload: tok(['"sub":"alice"', '"_CLAIM_NAMES":{"groups":"src1"}', '"_claim_sources":{"src1":{"endpoint":"https://claims.example.com/g"}}']), expect: 'accepted', username: 'alice', groups: [], from: `${O}:351 go-oidc reads "_CLAIM_NAMES"; ${K} expand looks up the exact key "_claim_names"` },
  // Required claims (k8s oidc.go AuthenticateToken, requiredClaims loop).
  { id: 'required-ok', config: 'required', payload: tok(['"sub":"alice"', '"hd":"example.com"']), expect: 'accepted', username: 'oidc:alice', from: `${K} required claims: present and equal` },
  { id: 'required-missing', config: 'required', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${K} required claims: hasClaim` },
  { id: 'required-other', config: 'required', payload: tok(['"sub":"alice"', '"hd":"evil.com"']), expect: 'rejected', from: `${K} required claims: value does not match` },
  { id: 'required-number', config: 'required', payload: tok(['"sub":"alice"', '"hd":1']), expect: 'rejected', from: `${K} required claims: unmarshalClaim into string` },
  { id: 'required-null', config: 'required', payload: tok(['"sub":"alice"', '"hd":null']), expect: 'rejected', from: `${K} required claims: null is "", not the value` },
  { id: 'required-capitalised', config: 'required', payload: tok(['"sub":"alice"', '"HD":"example.com"']), expect: 'rejected', from: `${K} hasClaim: exact key` },
  // The JOSE header (go-jose ParseSigned before the claims; go-oidc's algorithm check after them).
  { id: 'header-rs256-extra', config: 'base', header: '{"alg":"RS256","typ":"JWT","kid":"k1"}', payload: tok(['"sub":"alice"']), expect: 'accepted', username: `${ISS}#alice`, from: `${V} Verify: RS256 is the default SupportedSigningAlgs; kid and typ play no part offline` },
  { id: 'header-hs256', config: 'base', header: '{"alg":"HS256","typ":"JWT"}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${V} Verify: "id token signed with unsupported algorithm"` },
  { id: 'header-none', config: 'base', header: '{"alg":"none"}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${V} Verify: alg none is not in SupportedSigningAlgs` },
  { id: 'header-es256', config: 'base', header: '{"alg":"ES256"}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${V} Verify: EKS sets no --oidc-signing-algs, so only RS256` },
  { id: 'header-rs512', config: 'base', header: '{"alg":"RS512"}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${V} Verify: only RS256` },
  { id: 'header-lowercase', config: 'base', header: '{"alg":"rs256"}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${V} Verify: contains() compares exactly` },
  { id: 'header-no-alg', config: 'base', header: '{"typ":"JWT"}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `${V} Verify: an absent alg is ""` },
  { id: 'header-alg-null', config: 'base', header: '{"alg":null}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: 'go-jose rawHeader.sanitized skips null members: alg ""' },
  { id: 'header-alg-number', config: 'base', header: '{"alg":256}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: `go-jose rawHeader.sanitized: alg must unmarshal into a string, else ${V} "malformed jwt"` },
  { id: 'header-kid-number', config: 'base', header: '{"alg":"RS256","kid":7}', payload: tok(['"sub":"alice"']), expect: 'rejected', from: 'go-jose rawHeader.sanitized: kid must unmarshal into a string' },
  { id: 'header-hs256-other-issuer', config: 'base', header: '{"alg":"HS256"}', payload: tok(['"sub":"alice"', '"iss":"https://other.example.com"']).replace(`"iss":${JSON.stringify(ISS)},`, ''), expect: 'skipped', from: `${K} AuthenticateToken: hasCorrectIssuer before go-oidc parses anything` },
  // Configurations kube-apiserver refuses at start (validation.go validateURL).
  { id: 'config-http', config: 'http', payload: tok(['"sub":"alice"'], 'http'), expect: 'config-error', from: 'validation.go validateURL: URL scheme must be https' },
  { id: 'config-query', config: 'query', payload: tok(['"sub":"alice"'], 'query'), expect: 'config-error', from: 'validation.go validateURL: URL must not contain a query' },
  { id: 'config-fragment', config: 'fragment', payload: tok(['"sub":"alice"'], 'fragment'), expect: 'config-error', from: 'validation.go validateURL: URL must not contain a fragment' },
  { id: 'config-userinfo', config: 'userinfo', payload: tok(['"sub":"alice"'], 'userinfo'), expect: 'config-error', from: 'validation.go validateURL: URL must not contain a username or password' },
];

/** Does a JSON key set the Go struct field `name` (encoding/json folding, as used by go-oidc's idToken)? */
const folds = (key: string, name: string) => key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase() === name;

/** The payload a claims sketch stands for: absent iss, aud, exp, iat appended (what `whoami --claims` says it fills). */
function sketchPayload(payload: string, cfg: Cfg): { text: string; filled: string[] } {
  const keys = Object.keys(JSON.parse(payload) as object);
  const values: Record<string, string> = { iss: JSON.stringify(cfg.issuerUrl), aud: JSON.stringify(cfg.clientId), exp: String(T + 3600), iat: String(T) };
  const filled = ['iss', 'aud', 'exp', 'iat'].filter((n) => !keys.some((k) => folds(k, n)));
  const add = filled.map((n) => `"${n}":${values[n]}`);
  const body = payload.slice(0, -1);
  return { text: add.length === 0 ? payload : `${body}${body === '{' ? '' : ','}${add.join(',')}}`, filled };
}

function stackDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-oracle-stack-'));
  const configs: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(CONFIGS)) configs[name] = { cluster_name: 'oracle', oidc: oidcToTerraform(c, name) };
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { aws_eks_identity_provider_config: configs } }));
  return dir;
}

type WhoamiOut = { exit: number; json?: Record<string, unknown>; stderr: string };

async function whoami(dir: string, config: string, input: { token: string } | { claimsFile: string }): Promise<WhoamiOut> {
  const env: NodeJS.ProcessEnv = { EKSIDP_TOKEN: '' };
  const args = ['whoami', '--dir', dir, '--config', `aws_eks_identity_provider_config.${config}`, '--json'];
  if ('token' in input) env.EKSIDP_TOKEN = input.token;
  else args.push('--claims', input.claimsFile);
  const io = captureIo(dir, env);
  const exit = await runCommand(args, io);
  const out = io.out();
  return { exit, json: out ? (JSON.parse(out) as Record<string, unknown>) : undefined, stderr: io.err() };
}

/** Does eksidp's answer agree with the harness's verdict? A disagreement in words, or undefined. */
function disagreement(h: OracleResponse, w: WhoamiOut): string | undefined {
  if (h.verdict === 'config-error') {
    return w.exit === 1 && /oidc\.issuer_url .*kube-apiserver refuses this config/.test(w.stderr) ? undefined : `expected exit 1 naming oidc.issuer_url, got ${w.exit}: ${w.stderr}`;
  }
  const j = w.json;
  if (!j) return `no JSON output (exit ${w.exit}): ${w.stderr}`;
  if (h.verdict === 'accepted') {
    if (w.exit !== 0 || j.accepted !== true) return `go-oidc accepted (${h.username}), eksidp: ${JSON.stringify(j)}`;
    if (j.username !== h.username) return `username ${JSON.stringify(j.username)} != ${JSON.stringify(h.username)}`;
    if (JSON.stringify(j.groups) !== JSON.stringify(h.groups)) return `groups ${JSON.stringify(j.groups)} != ${JSON.stringify(h.groups)}`;
    return undefined;
  }
  if (h.verdict === 'unknown') return w.exit === 3 && j.undetermined === true ? undefined : `go-oidc: distributed (unknown offline), eksidp: ${JSON.stringify(j)}`;
  return w.exit === 3 && j.accepted === false && j.undetermined === undefined ? undefined : `go-oidc ${h.verdict} (${h.error}), eksidp: ${JSON.stringify(j)}`;
}

/** One build for the file's tests (a cold Go build cache makes it the slow part). */
let built: string | undefined;
const oracleBin = () => (built ??= buildOracle());
test.after.always(() => {
  if (built) fs.rmSync(path.dirname(built), { recursive: true, force: true });
});

// The sketch (suffix +sketch) is a claims file: no header, so the harness's own RS256 signer.
const request = (c: Case, payload: string, suffix = ''): OracleRequest => ({ id: c.id + suffix, ...CONFIGS[c.config]!, payload, ...(c.header && !suffix ? { header: c.header } : {}) });

goOracleTest(test, `identity preview agrees with go-oidc v2 + kube-apiserver's mapping on ${CASES.length} cases (whoami --token and --claims)`, async (t) => {
  t.true(CASES.length >= 60);
  t.is(new Set(CASES.map((c) => c.id)).size, CASES.length, 'case ids are unique');
  const bin = oracleBin();
  const sketches = CASES.map((c) => sketchPayload(c.payload, CONFIGS[c.config]!));
  const answers = await judgeAll(bin, [...CASES.map((c) => request(c, c.payload)), ...CASES.map((c, i) => request(c, sketches[i]!.text, '+sketch'))]);
  const exact = answers.slice(0, CASES.length);
  const sketched = answers.slice(CASES.length);
  const dir = stackDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const failures: string[] = [];
  for (const [i, c] of CASES.entries()) {
    const h = exact[i]!;
    // The harness against the sources: the table's expectation.
    if (h.verdict !== c.expect) failures.push(`${c.id}: the table expects ${c.expect} (${c.from}), go-oidc says ${h.verdict} (${h.error ?? ''})`);
    if (c.expect === 'accepted' && (h.username !== c.username || JSON.stringify(h.groups) !== JSON.stringify(c.groups ?? []))) {
      failures.push(`${c.id}: the table expects ${c.username} ${JSON.stringify(c.groups ?? [])}, go-oidc says ${h.username} ${JSON.stringify(h.groups)}`);
    }
    const tokenOut = await whoami(dir, c.config, { token: h.token });
    const d1 = disagreement(h, tokenOut);
    if (d1) failures.push(`${c.id} --token: ${d1}`);
    const file = path.join(dir, `${c.id}.json`);
    fs.writeFileSync(file, c.payload);
    const claimsOut = await whoami(dir, c.config, { claimsFile: file });
    const d2 = disagreement(sketched[i]!, claimsOut);
    if (d2) failures.push(`${c.id} --claims: ${d2}`);
    if (claimsOut.json && JSON.stringify(claimsOut.json.filled_claims) !== JSON.stringify(sketches[i]!.filled)) {
      failures.push(`${c.id} --claims: filled ${JSON.stringify(claimsOut.json.filled_claims)}, expected ${JSON.stringify(sketches[i]!.filled)}`);
    }
  }
  t.deepEqual(failures, []);
  // Every verdict occurs, so no class of the table is vacuous.
  t.deepEqual([...new Set(exact.map((h) => h.verdict))].sort(), ['accepted', 'config-error', 'rejected', 'skipped', 'unknown']);
});

goOracleTest(test, 'the built binary reads a signed token from stdin (--token -) and agrees with go-oidc', async (t) => {
  const bin = oracleBin();
  const picks = CASES.filter((c) => ['groups-list', 'exp-upper-past', 'dist-groups', 'nbf-three-minutes'].includes(c.id));
  const answers = await judgeAll(bin, picks.map((c) => request(c, c.payload)));
  const dir = stackDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const eksidp = path.join(__dirname, '..', 'bin', 'eksidp.js');
  for (const [i, c] of picks.entries()) {
    const h = answers[i]!;
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.EKSIDP_TOKEN;
    const r = spawnSync(process.execPath, [eksidp, 'whoami', '--dir', dir, '--config', c.config, '--token', '-', '--json'], { input: h.token, encoding: 'utf8', env });
    const w: WhoamiOut = { exit: r.status ?? -1, json: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined, stderr: r.stderr };
    t.is(disagreement(h, w), undefined, c.id);
    t.false(r.stdout.includes(h.token) || r.stderr.includes(h.token), 'the token is never printed');
  }
});
