import test from 'ava';
import { judgePayload, mapIdentity, outcomeWord, type MapOptions, type OidcConfig, type RejectionCode } from '../identity';

const ISSUER = 'https://idp.example.com';
const NOW = new Date('2025-06-01T12:00:00Z');
const nowSec = NOW.getTime() / 1000;

const base: OidcConfig = { issuerUrl: ISSUER, clientId: 'kubernetes' };
const withGroups: OidcConfig = { ...base, groupsClaim: 'groups' };
const emailCfg: OidcConfig = { ...base, usernameClaim: 'email' };

type Row = {
  title: string;
  config: OidcConfig;
  claims: Record<string, unknown>;
  opts?: MapOptions;
} & ({ username: string; groups: string[]; warning?: RegExp } | { rejected: RejectionCode; reason: RegExp });

// Expected values follow kube-apiserver's rules (see identity/mapping.ts for the sources).
const rows: Row[] = [
  // Username claim and prefix.
  { title: 'default claim sub gets the issuer URL and # as prefix', config: base, claims: { sub: 'alice' }, username: `${ISSUER}#alice`, groups: [] },
  { title: 'prefix "-" disables prefixing', config: { ...base, usernamePrefix: '-' }, claims: { sub: 'alice' }, username: 'alice', groups: [] },
  { title: 'an explicit prefix is prepended', config: { ...base, usernamePrefix: 'oidc:' }, claims: { sub: 'alice' }, username: 'oidc:alice', groups: [] },
  { title: 'an empty prefix behaves as unset', config: { ...base, usernamePrefix: '' }, claims: { sub: 'alice' }, username: `${ISSUER}#alice`, groups: [] },
  { title: 'a claim other than email also defaults to the issuer prefix', config: { ...base, usernameClaim: 'preferred_username' }, claims: { sub: 'x', preferred_username: 'al' }, username: `${ISSUER}#al`, groups: [] },
  { title: 'the username claim missing is rejected', config: base, claims: { email: 'a@example.com' }, rejected: 'username-claim-missing', reason: /username claim sub missing/ },
  { title: 'a configured username claim missing is rejected', config: { ...base, usernameClaim: 'upn' }, claims: { sub: 'alice' }, rejected: 'username-claim-missing', reason: /username claim upn missing/ },
  { title: 'a non-string sub is refused by go-oidc\'s typed decode', config: base, claims: { sub: 42 }, rejected: 'standard-claim-invalid', reason: /sub is a number, not a string/ },
  { title: 'a non-string username claim (not a standard one) is rejected by getUsername', config: { ...base, usernameClaim: 'upn' }, claims: { sub: 'a', upn: 42 }, rejected: 'username-claim-invalid', reason: /upn is a number, not a string/ },
  { title: 'a null username claim decodes as empty, as Go does', config: { ...base, usernamePrefix: '-' }, claims: { sub: null }, username: '', groups: [], warning: /is empty/ },
  // email and email_verified.
  { title: 'email claim without prefix is not prefixed; email_verified true', config: emailCfg, claims: { email: 'a@example.com', email_verified: true }, username: 'a@example.com', groups: [] },
  { title: 'email_verified false is rejected', config: emailCfg, claims: { email: 'a@example.com', email_verified: false }, rejected: 'email-not-verified', reason: /email not verified/ },
  { title: 'email_verified missing is accepted (checked only when present)', config: emailCfg, claims: { email: 'a@example.com' }, username: 'a@example.com', groups: [], warning: /no email_verified claim/ },
  { title: 'email_verified as the string "true" is rejected (must be a boolean)', config: emailCfg, claims: { email: 'a@example.com', email_verified: 'true' }, rejected: 'email-verified-invalid', reason: /not a boolean/ },
  { title: 'email_verified null counts as not verified', config: emailCfg, claims: { email: 'a@example.com', email_verified: null }, rejected: 'email-not-verified', reason: /null/ },
  { title: 'email claim with an explicit prefix is prefixed', config: { ...emailCfg, usernamePrefix: 'oidc:' }, claims: { email: 'a@example.com', email_verified: true }, username: 'oidc:a@example.com', groups: [] },
  { title: 'email_verified is ignored when the username claim is not email', config: base, claims: { sub: 'alice', email_verified: false }, username: `${ISSUER}#alice`, groups: [] },
  // Groups.
  { title: 'groups as a list', config: withGroups, claims: { sub: 'a', groups: ['eng', 'ops'] }, username: `${ISSUER}#a`, groups: ['eng', 'ops'] },
  { title: 'groups as a single string is one group', config: withGroups, claims: { sub: 'a', groups: 'eng' }, username: `${ISSUER}#a`, groups: ['eng'] },
  { title: 'groups claim missing means no groups', config: withGroups, claims: { sub: 'a' }, username: `${ISSUER}#a`, groups: [], warning: /no groups claim: no groups/ },
  { title: 'groups of the wrong type are rejected', config: withGroups, claims: { sub: 'a', groups: { eng: true } }, rejected: 'groups-claim-invalid', reason: /groups is an object, not a string or a list of strings/ },
  { title: 'a list with a non-string item is rejected', config: withGroups, claims: { sub: 'a', groups: ['eng', 7] }, rejected: 'groups-claim-invalid', reason: /a list/ },
  { title: 'groups prefix is prepended to each group', config: { ...withGroups, groupsPrefix: 'oidc:' }, claims: { sub: 'a', groups: ['eng', 'ops'] }, username: `${ISSUER}#a`, groups: ['oidc:eng', 'oidc:ops'] },
  { title: 'groups prefix "-" is literal', config: { ...withGroups, groupsPrefix: '-' }, claims: { sub: 'a', groups: ['eng'] }, username: `${ISSUER}#a`, groups: ['-eng'], warning: /used literally/ },
  { title: 'no groups claim configured: groups in the token are ignored', config: base, claims: { sub: 'a', groups: ['eng'] }, username: `${ISSUER}#a`, groups: [] },
  // Required claims.
  { title: 'required claim present with the value', config: { ...base, requiredClaims: { hd: 'example.com' } }, claims: { sub: 'a', hd: 'example.com' }, username: `${ISSUER}#a`, groups: [] },
  { title: 'required claim absent is rejected', config: { ...base, requiredClaims: { hd: 'example.com' } }, claims: { sub: 'a' }, rejected: 'required-claim-missing', reason: /^required claim hd=example\.com missing$/ },
  { title: 'required claim with another value is rejected', config: { ...base, requiredClaims: { hd: 'example.com' } }, claims: { sub: 'a', hd: 'evil.com' }, rejected: 'required-claim-mismatch', reason: /hd is "evil\.com", not "example\.com"/ },
  { title: 'required claim must be a string, not a number', config: { ...base, requiredClaims: { tier: '1' } }, claims: { sub: 'a', tier: 1 }, rejected: 'required-claim-invalid', reason: /tier is a number, not a string/ },
  { title: 'the username is checked before required claims', config: { ...base, requiredClaims: { hd: 'example.com' } }, claims: {}, rejected: 'username-claim-missing', reason: /sub missing/ },
  // iss, aud, exp.
  { title: 'iss equal to the issuer URL is accepted', config: base, claims: { sub: 'a', iss: ISSUER }, username: `${ISSUER}#a`, groups: [] },
  { title: 'iss mismatch (trailing slash) is rejected', config: base, claims: { sub: 'a', iss: `${ISSUER}/` }, rejected: 'issuer-mismatch', reason: /not the issuer URL/ },
  { title: 'aud as a string equal to the client ID', config: base, claims: { sub: 'a', aud: 'kubernetes' }, username: `${ISSUER}#a`, groups: [] },
  { title: 'aud as a list containing the client ID', config: base, claims: { sub: 'a', aud: ['other', 'kubernetes'] }, username: `${ISSUER}#a`, groups: [] },
  { title: 'aud as a string not the client ID is rejected', config: base, claims: { sub: 'a', aud: 'other' }, rejected: 'audience-mismatch', reason: /client ID "kubernetes"/ },
  { title: 'aud as a list without the client ID is rejected', config: base, claims: { sub: 'a', aud: ['x', 'y'] }, rejected: 'audience-mismatch', reason: /\["x","y"\]/ },
  { title: 'expired exp is rejected', config: base, claims: { sub: 'a', exp: nowSec - 1 }, rejected: 'expired', reason: /expired at 2025-06-01T11:59:59/ },
  { title: 'exp in the future is accepted', config: base, claims: { sub: 'a', exp: nowSec + 3600 }, username: `${ISSUER}#a`, groups: [] },
  { title: 'exp equal to now still passes (go-oidc: Expiry.Before(now))', config: base, claims: { sub: 'a', exp: nowSec }, username: `${ISSUER}#a`, groups: [] },
  { title: 'nbf within the 1-minute leeway passes (go-oidc v2)', config: base, claims: { sub: 'a', nbf: nowSec + 60 }, username: `${ISSUER}#a`, groups: [] },
  { title: 'nbf 61 seconds ahead is rejected (go-oidc v2 allows 1 minute, not v3\'s 5)', config: base, claims: { sub: 'a', nbf: nowSec + 61 }, rejected: 'not-yet-valid', reason: /1 minute/ },
  { title: 'nbf beyond the leeway is rejected', config: base, claims: { sub: 'a', nbf: nowSec + 600 }, rejected: 'not-yet-valid', reason: /not valid before/ },
  { title: 'a real token must carry iss, aud and exp (requireTokenClaims)', config: base, claims: { sub: 'a' }, opts: { now: NOW, requireTokenClaims: true }, rejected: 'issuer-mismatch', reason: /no iss claim/ },
  { title: 'requireTokenClaims: missing exp is rejected', config: base, claims: { sub: 'a', iss: ISSUER, aud: 'kubernetes' }, opts: { now: NOW, requireTokenClaims: true }, rejected: 'expired', reason: /no exp claim/ },
  { title: 'issuer is checked before the username', config: base, claims: { iss: 'https://other' }, rejected: 'issuer-mismatch', reason: /"https:\/\/other"/ },
];

for (const row of rows) {
  test(`mapIdentity: ${row.title}`, (t) => {
    const r = mapIdentity(row.config, row.claims, row.opts ?? { now: NOW });
    if ('rejected' in row) {
      if (r.accepted) return t.fail(`expected rejection ${row.rejected}, got ${r.username}`);
      t.is(r.code, row.rejected);
      t.regex(r.reason, row.reason);
    } else {
      if (!r.accepted) return t.fail(`expected acceptance, got ${r.code}: ${r.reason}`);
      t.is(r.username, row.username);
      t.deepEqual(r.groups, row.groups);
      if (row.warning) t.true(r.warnings.some((w) => row.warning!.test(w)), `warnings: ${JSON.stringify(r.warnings)}`);
      else t.deepEqual(r.warnings, []);
    }
  });
}

test('mapIdentity does not modify the claims it is given', (t) => {
  const claims = { sub: 'a', groups: ['eng'] };
  const copy = structuredClone(claims);
  mapIdentity({ ...withGroups, groupsPrefix: 'p:' }, claims, { now: NOW });
  t.deepEqual(claims, copy);
});

// Go's decoding of the payload text (go-oidc v2's typed idToken, then kube-apiserver's claims map),
// without the Go oracle (test/identity-oracle.test.ts checks the same rules against go-oidc itself).
const T = nowSec;
const fresh = (members: string) => `{"iss":"${ISSUER}","aud":"kubernetes","exp":${T + 3600},"iat":${T}${members ? `,${members}` : ''}}`;
const payloadRows: Array<{ title: string; config: OidcConfig; payload: string; verdict: 'accepted' | 'rejected' | 'undetermined'; code?: RejectionCode; username?: string; groups?: string[] }> = [
  { title: '"EXP" after "exp" decides (case-insensitive field, last wins)', config: base, payload: fresh(`"sub":"a","EXP":${T - 10}`), verdict: 'rejected', code: 'expired' },
  { title: 'a quoted exp is a number (json.Number)', config: base, payload: fresh(`"sub":"a","exp":"${T + 60}"`), verdict: 'accepted', username: `${ISSUER}#a` },
  { title: 'a null iat rejects (jsonTime is not a pointer)', config: base, payload: fresh('"sub":"a","iat":null'), verdict: 'rejected', code: 'invalid-time-claim' },
  { title: 'a null nbf is no nbf', config: base, payload: fresh('"sub":"a","nbf":null'), verdict: 'accepted', username: `${ISSUER}#a` },
  { title: 'a bad first "sub" rejects although a later one is a string', config: base, payload: fresh('"sub":1,"sub":"a"'), verdict: 'rejected', code: 'standard-claim-invalid' },
  { title: 'a numeric nonce rejects', config: base, payload: fresh('"sub":"a","nonce":1'), verdict: 'rejected', code: 'standard-claim-invalid' },
  { title: 'the username reads the exact key: "Sub" is not sub', config: base, payload: fresh('"Sub":"b"'), verdict: 'rejected', code: 'username-claim-missing' },
  { title: 'a _claim_names entry without its source rejects, groups claim or not', config: base, payload: fresh('"sub":"a","_claim_names":{"groups":"s"}'), verdict: 'rejected', code: 'distributed-claims-invalid' },
  { title: 'a distributed groups claim is undetermined offline', config: withGroups, payload: fresh('"sub":"a","_claim_names":{"groups":"s"},"_claim_sources":{"s":{"endpoint":"https://c.example.com"}}'), verdict: 'undetermined' },
  { title: 'a distributed groups claim with no username is rejected all the same', config: withGroups, payload: fresh('"_claim_names":{"groups":"s"},"_claim_sources":{"s":{"endpoint":"https://c.example.com"}}'), verdict: 'rejected', code: 'username-claim-missing' },
  { title: 'exp beyond Go\'s time range wraps and is expired', config: base, payload: fresh('"sub":"a","exp":9223372036854775807'), verdict: 'rejected', code: 'expired' },
];

for (const row of payloadRows) {
  test(`judgePayload: ${row.title}`, (t) => {
    const { result: r, filledClaims } = judgePayload(row.config, row.payload, { now: NOW, requireTokenClaims: true });
    t.deepEqual(filledClaims, []);
    t.is(outcomeWord(r), row.verdict, JSON.stringify(r));
    if (r.accepted) {
      t.is(r.username, row.username ?? '(no username expected)');
      t.deepEqual(r.groups, row.groups ?? []);
    } else if (row.code) t.is(r.code, row.code);
  });
}

test('a claims sketch gets iss, aud, exp and iat filled in when no key folds to them, and a token does not', (t) => {
  const sketch = judgePayload(base, '{"sub":"a","Exp":' + (T + 60) + '}', { now: NOW });
  t.deepEqual(sketch.filledClaims, ['iss', 'aud', 'iat']);
  t.true(sketch.result.accepted);
  const token = judgePayload(base, '{"sub":"a"}', { now: NOW, requireTokenClaims: true });
  t.deepEqual(token.filledClaims, []);
  t.like(token.result, { accepted: false, code: 'issuer-mismatch' });
});

test('a token header with jwk or x5c is undetermined (go-jose parses them; eksidp does not), and RS256 with other members maps as usual', (t) => {
  const claims = { iss: ISSUER, aud: 'kubernetes', exp: nowSec + 60, sub: 'alice' };
  for (const header of [{ alg: 'RS256', jwk: { kty: 'RSA' } }, { alg: 'RS256', x5c: ['MIIB'] }]) {
    const r = judgePayload(base, claims, { now: NOW, requireTokenClaims: true, header }).result;
    t.true('undetermined' in r && r.code === 'header-unchecked', JSON.stringify(header));
  }
  const ok = judgePayload(base, claims, { now: NOW, requireTokenClaims: true, header: { alg: 'RS256', typ: 'JWT', kid: 'k', x5c: null } }).result;
  t.true(ok.accepted);
  const hs = judgePayload(base, claims, { now: NOW, requireTokenClaims: true, header: { alg: 'HS256' } }).result;
  t.true(!hs.accepted && !('undetermined' in hs) && hs.code === 'unsupported-algorithm');
  // A claims sketch has no header: no algorithm to judge.
  t.true(judgePayload(base, claims, { now: NOW, requireTokenClaims: true }).result.accepted);
});
