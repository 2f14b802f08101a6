import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { captureIo, runCommand } from './helpers/in-process';

import { runCliSync } from './helpers/cli';
import { tempDir } from './helpers/project';

// Runs the built CLI (npm test compiles first; run `npm run build` before running this file alone).
const fixtures = path.join(__dirname, 'fixtures', 'identity');
const stackDir = path.join(fixtures, 'prod');
const OKTA = 'aws_eks_identity_provider_config.prod_okta';

function whoami(args: string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  const r = runCliSync(['whoami', '--dir', stackDir, ...args], { input, env: { EKSIDP_TOKEN: undefined, ...env } });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

function jwt(claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  // A made-up signature: whoami never verifies it (offline).
  return `${enc({ alg: 'RS256', kid: 'test' })}.${enc(claims)}.${Buffer.from('signature-bytes-that-are-secret').toString('base64url')}`;
}

const nowSec = () => Math.floor(Date.now() / 1000);
const aliceClaims = { iss: 'https://example.okta.com', aud: 'kubernetes', sub: '00u1', email: 'alice@example.com', email_verified: true, hd: 'example.com', groups: ['platform-admins', 'eng'] };

test('whoami maps a claims file: username, prefixed groups and roles from the cluster bindings, exit 0', (t) => {
  const r = whoami(['--config', OKTA, '--claims', path.join(fixtures, 'alice.json')]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^ {2}username: oidc:alice@example\.com$/m);
  t.regex(r.stdout, /^ {2}groups: {3}oidc:platform-admins, oidc:eng$/m);
  t.regex(r.stdout, /ClusterRole\/cluster-admin \(via group oidc:platform-admins\)/);
  t.regex(r.stdout, /signature not verified/);
  t.is(r.stderr, '');
});

test('whoami --json prints pure JSON on stdout; a rejected claims set exits 3 with the reason', (t) => {
  const r = whoami(['--config', 'okta', '--claims', path.join(fixtures, 'bob-other-domain.json'), '--json']);
  t.is(r.status, 3, r.stderr);
  t.is(r.stderr, '');
  t.deepEqual(JSON.parse(r.stdout), {
    accepted: false,
    code: 'required-claim-mismatch',
    reason: 'required claim hd is "other.com", not "example.com"',
    config: OKTA,
    signature_verified: false,
    filled_claims: ['exp', 'iat'],
  });
  const human = whoami(['--config', 'prod_okta', '--claims', path.join(fixtures, 'bob-other-domain.json')]);
  t.is(human.status, 3);
  t.regex(human.stdout, /rejected: required claim hd is "other\.com", not "example\.com"/);
});

test('whoami --json for an accepted claims set has the documented fields', (t) => {
  const r = whoami(['--config', OKTA, '--claims', path.join(fixtures, 'alice.json'), '--json']);
  t.is(r.status, 0);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.like(out, { accepted: true, username: 'oidc:alice@example.com', groups: ['oidc:platform-admins', 'oidc:eng'], config: OKTA, warnings: [], signature_verified: false });
  t.deepEqual(out.roles, [
    { binding: 'ClusterRole/cluster-admin', via: 'group oidc:platform-admins' },
    { binding: 'Role/edit in namespace dev', via: 'group oidc:eng' },
  ]);
});

test('whoami exits 1 naming an unknown address, and names an unresolvable ${...} field', (t) => {
  const r = whoami(['--config', 'aws_eks_identity_provider_config.nope', '--claims', path.join(fixtures, 'alice.json')]);
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /no resource aws_eks_identity_provider_config\.nope in the stack; identity provider configs: aws_eks_identity_provider_config\.prod_okta, aws_eks_identity_provider_config\.prod_dex/);
  const ref = whoami(['--config', 'prod_dex', '--claims', path.join(fixtures, 'alice.json')]);
  t.is(ref.status, 1);
  t.regex(ref.stderr, /aws_eks_identity_provider_config\.prod_dex: oidc\.issuer_url is the reference \$\{var\.issuer\}, which can't be resolved offline/);
  const missing = whoami(['--config', OKTA, '--claims', path.join(fixtures, 'no-such.json')]);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /--claims .*no-such\.json: no such file/);
});

test('whoami without claims maps the config\'s sample identities; one rejected means exit 3', (t) => {
  const r = whoami(['--config', OKTA, '--json']);
  t.is(r.status, 3);
  const out = JSON.parse(r.stdout) as { identities: Array<Record<string, unknown>>; binding_findings: unknown };
  t.deepEqual(out.identities.map((i) => [i.name, i.accepted, i.username ?? i.reason]), [
    ['alice', true, 'oidc:alice@example.com'],
    ['mallory', false, 'username claim email missing'],
  ]);
  t.deepEqual(out.binding_findings, [{
    severity: 'warning',
    code: 'group-prefix-missing',
    binding: 'ClusterRole/view',
    subject: 'readers',
    message: 'ClusterRole/view: group readers lacks the config\'s groups prefix "oidc:", so no token maps to it',
  }]);
});

test('a token never appears in output or errors, accepted, rejected, malformed or misplaced; it comes from stdin, a file or EKSIDP_TOKEN', (t) => {
  const good = jwt({ ...aliceClaims, exp: nowSec() + 600 });
  const expired = jwt({ ...aliceClaims, exp: nowSec() - 600 });
  const noExp = jwt(aliceClaims);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-whoami-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const cases: Array<{ args: string[]; input?: string; env?: NodeJS.ProcessEnv; status: number; out: RegExp }> = [
    { args: ['--token', '-'], input: `${good}\n`, status: 0, out: /username: oidc:alice@example\.com/ },
    { args: ['--token', '-', '--json'], input: good, status: 0, out: /"signature_verified":false/ },
    { args: ['--token-file', file('good.jwt', `${good}\n`)], status: 0, out: /username: oidc:alice@example\.com/ },
    { args: [], env: { EKSIDP_TOKEN: good }, status: 0, out: /username: oidc:alice@example\.com/ },
    { args: ['--token', '-'], input: expired, status: 3, out: /rejected: token expired at/ },
    { args: ['--token-file', file('noexp.jwt', noExp)], status: 3, out: /rejected: no exp claim/ },
  ];
  const secretPart = good.split('.')[2]!;
  const malformed = `${good.split('.')[0]}.${secretPart}`;
  const outputs: string[] = [];
  for (const c of cases) {
    const r = whoami(['--config', OKTA, ...c.args], c.input, c.env);
    t.is(r.status, c.status, `${c.args.join(' ')}: ${r.stderr}`);
    t.regex(r.stdout, c.out);
    outputs.push(r.stdout + r.stderr);
  }
  // Malformed, extra part, a token pasted as a positional argument, a token file that is not there
  // (its name could be a pasted token): usage errors that say why.
  const usage: Array<{ args: string[]; input?: string; env?: NodeJS.ProcessEnv; err: RegExp }> = [
    { args: ['--token', '-'], input: malformed, err: /--token: the token is not a compact JWT/ },
    { args: ['--token-file', file('extra.jwt', `${good}.extra`)], err: /--token-file: the token is not a compact JWT/ },
    { args: [], env: { EKSIDP_TOKEN: malformed }, err: /EKSIDP_TOKEN: the token is not a compact JWT/ },
    { args: [good], err: /unexpected argument \(not shown: it may be a token\)/ },
    { args: ['--token-file', good], err: /--token-file: (no such file|cannot be read) \(name not shown\)/ },
    { args: ['--token-file', file('x.jwt', good)], env: { EKSIDP_TOKEN: good }, err: /use one of .*\(got --token-file, EKSIDP_TOKEN\)/ },
  ];
  for (const c of usage) {
    const r = whoami(['--config', OKTA, ...c.args], c.input, c.env);
    t.is(r.status, 1, r.stderr);
    t.is(r.stdout, '');
    t.regex(r.stderr, c.err);
    outputs.push(r.stdout + r.stderr);
  }
  for (const [i, text] of outputs.entries()) {
    for (const tok of [good, expired, noExp, malformed, secretPart]) t.false(text.includes(tok), `run ${i} leaked a token`);
  }
});

test('an inline token (--token JWT, --token=JWT) is refused before anything is read, saying why and not showing it', (t) => {
  const good = jwt({ ...aliceClaims, exp: nowSec() + 600 });
  for (const args of [['--token', good], [`--token=${good}`], ['--token', good, '--json'], ['--token', 'not-even-a-jwt']]) {
    // --dir points nowhere: the refusal comes before the stack is read.
    const r = runCliSync(['whoami', '--dir', '/nonexistent-eksidp-stack', '--config', OKTA, ...args]);
    t.is(r.code, 1);
    t.is(r.stdout, '');
    t.regex(r.stderr, /visible to every user of this machine in the process list \(ps\)/);
    t.regex(r.stderr, /--token - \(stdin\), --token-file FILE or the EKSIDP_TOKEN environment variable/);
    t.false(r.stderr.includes(good));
    t.false(r.stderr.includes(good.split('.')[1]!));
  }
});

test('--token - reads the Io\'s stdin (in-process: the process\'s own stdin is never touched); without one it says so', async (t) => {
  const good = jwt({ ...aliceClaims, exp: nowSec() + 600 });
  const withStdin = { ...captureIo(stackDir), stdin: Readable.from([`${good}\n`]) };
  t.is(await runCommand(['whoami', '--dir', stackDir, '--config', OKTA, '--token', '-'], withStdin), 0, withStdin.err());
  t.regex(withStdin.out(), /username: oidc:alice@example\.com/);
  const without = captureIo(stackDir);
  t.is(await runCommand(['whoami', '--dir', stackDir, '--config', OKTA, '--token', '-'], without), 1);
  t.regex(without.err(), /--token -: there is no standard input to read the token from/);
});

test('whoami --claims says which claims it filled in; a distributed groups claim is undetermined (exit 3); an issuer kube-apiserver refuses is an error (exit 1)', (t) => {
  const dir = tempDir(t, 'eksidp-whoami-');
  const oidc = (issuer: string) => ({ identity_provider_config_name: 'x', issuer_url: issuer, client_id: 'k', groups_claim: 'groups', username_prefix: '-' });
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { aws_eks_identity_provider_config: {
    good: { cluster_name: 'c', oidc: oidc('https://idp.example.com') },
    userinfo: { cluster_name: 'c', oidc: oidc('https://me@idp.example.com') },
  } } }));
  const claims = path.join(dir, 'c.json');
  fs.writeFileSync(claims, JSON.stringify({ sub: 'alice', Exp: nowSec() + 600 }));
  const run = (config: string) => runCliSync(['whoami', '--dir', dir, '--config', config, '--claims', claims], { env: { EKSIDP_TOKEN: undefined } });
  const filled = run('good');
  t.is(filled.code, 0, filled.stderr);
  // "Exp" is exp for go-oidc (case-insensitive field names): not filled in.
  t.regex(filled.stdout, /^note: filled in: iss, aud, iat \(a claims file is taken as a fresh token from the config's issuer for its client\)$/m);
  fs.writeFileSync(claims, JSON.stringify({ sub: 'alice', _claim_names: { groups: 's' }, _claim_sources: { s: { endpoint: 'https://claims.example.com/g' } } }));
  const dist = run('good');
  t.is(dist.code, 3);
  t.regex(dist.stdout, /^undetermined: the groups claim groups is distributed: kube-apiserver fetches it from https:\/\/claims\.example\.com\/g when the token is used, so the result cannot be known offline$/m);
  const refused = run('userinfo');
  t.is(refused.code, 1);
  t.is(refused.stdout, '');
  t.regex(refused.stderr, /aws_eks_identity_provider_config\.userinfo: oidc\.issuer_url "https:\/\/me@idp\.example\.com" must not contain user information: kube-apiserver refuses this config/);
});
