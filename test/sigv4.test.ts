import test from 'ava';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Signer, type SignInput } from '../providers/eks/sigv4';
import { Sha256 } from './helpers/aws-signing';

/**
 * The lean read path's SigV4 (providers/eks/sigv4.ts) against the SDK's own signer on the same
 * requests: same signed headers, same signature. The emulator also verifies signatures made with
 * keys its accounts file lists (test/emulator-accounts.test.ts sends this signer's requests there).
 */

const date = new Date('2026-11-28T20:21:09.123Z');
const base: Omit<SignInput, 'method' | 'path'> = {
  host: 'eks.eu-west-1.amazonaws.com',
  region: 'eu-west-1',
  service: 'eks',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date,
};

const cases: [string, SignInput][] = [
  ['GET without query', { ...base, method: 'GET', path: '/clusters/prod-eu' }],
  ['GET with a pagination token', { ...base, method: 'GET', path: '/clusters/prod-eu/identity-provider-configs', query: { nextToken: 'a+b/c==&x y' } }],
  ['POST with a JSON body', { ...base, method: 'POST', path: '/clusters/prod-eu/identity-provider-configs/describe', headers: { 'content-type': 'application/json' }, body: '{"identityProviderConfig":{"type":"oidc","name":"okta"}}' }],
  ['session credentials', { ...base, method: 'GET', path: '/clusters/x', credentials: { ...base.credentials, sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDOPLTOKEN' } }],
  ['a custom endpoint with a port and a path prefix', { ...base, host: '127.0.0.1:4599', method: 'GET', path: '/prefix/clusters/a_b-c' }],
  ['a path segment that needs encoding', { ...base, method: 'GET', path: `/clusters/${encodeURIComponent('name with spaces')}` }],
  [
    'headers the SDK never signs (proxy-*, sec-*, user-agent, connection, x-amzn-trace-id...) are left out',
    {
      ...base, method: 'GET', path: '/clusters/x',
      headers: { 'proxy-authorization': 'Basic abc', 'sec-fetch-mode': 'cors', 'user-agent': 'eksidp', connection: 'keep-alive', 'x-amzn-trace-id': 'Root=1', expect: '100-continue', 'x-custom': 'signed' },
    },
  ],
  [
    'header values with tabs, runs of spaces, line breaks and a non-breaking space',
    { ...base, method: 'GET', path: '/clusters/x', headers: { 'x-a': '  two  spaces\tand a tab ', 'x-b': 'line\r\nbreak', 'x-c': 'non\u00a0breaking\u00a0 space' } },
  ],
];

for (const [what, input] of cases) {
  test(`same signature as @smithy/signature-v4: ${what}`, async (t) => {
    const ours = new SigV4Signer().sign(input);
    const reference = new SignatureV4({ credentials: input.credentials, region: input.region, service: input.service, sha256: Sha256, uriEscapePath: true });
    const [host, port] = input.host.split(':');
    const signed = await reference.sign(
      { method: input.method, protocol: 'https:', hostname: host!, port: port ? Number(port) : undefined, path: input.path, query: input.query ?? {}, headers: { ...input.headers, host: input.host }, body: input.body },
      { signingDate: date },
    );
    t.is(ours.authorization, signed.headers.authorization);
    t.is(ours['x-amz-date'], signed.headers['x-amz-date']);
    t.is(ours['x-amz-security-token'], signed.headers['x-amz-security-token']);
    t.is(ours['x-amz-content-sha256'], signed.headers['x-amz-content-sha256']);
    t.regex(ours.authorization!, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261128\/eu-west-1\/eks\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
    // Every header given is still sent, signed or not.
    for (const k of Object.keys(input.headers ?? {})) t.is(ours[k], input.headers![k]);
  });
}

test('the signing key is cached per credentials and day, and rotated credentials are used at once', (t) => {
  const signer = new SigV4Signer();
  const input: SignInput = { ...base, method: 'GET', path: '/clusters/x' };
  const first = signer.sign(input).authorization;
  t.is(signer.sign(input).authorization, first);
  const rotated = signer.sign({ ...input, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'another-secret' } }).authorization;
  t.not(rotated, first);
  t.not(signer.sign({ ...input, date: new Date('2026-11-29T00:00:01Z') }).authorization, first);
});
