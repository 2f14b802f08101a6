import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import test from 'ava';
import { awsStack, cli, clusterRes, emulator, oidcRes, type Json } from './fixtures/reliability/harness';
import { tempDir } from './helpers/project';
import { writeStack } from './helpers/stacks';

/**
 * Secrets never leave the process: planted values in the provider block, the environment and a
 * whoami token are searched for in every byte a run writes (stdout, stderr, plan, state, backup,
 * drift report), including error paths; a saved plan (0600) holds the provider block's, as it
 * carries its configuration. Plus the emulator's network surface and file modes.
 */

const SECRETS = {
  access_key: 'AKIAPLANTEDSECRET0001',
  secret_key: 'pLaNtEd/SeCrEt+Key0002',
  token: 'PlantedSessionToken0003',
  envToken: 'PlantedEnvSessionToken0004',
  envSecret: 'PlantedEnvSecretKey0005',
};
const ENV = { AWS_SESSION_TOKEN: SECRETS.envToken, AWS_SECRET_ACCESS_KEY: SECRETS.envSecret, AWS_ACCESS_KEY_ID: 'AKIAPLANTEDENVKEY0006' };
const PLANTED = [...Object.values(SECRETS), ENV.AWS_ACCESS_KEY_ID];

function secretStack(endpoint: string): Json {
  return awsStack(endpoint, {
    aws_eks_cluster: { main: clusterRes('sec-main') },
    aws_eks_identity_provider_config: { okta: oidcRes('main', 'okta') },
  }, { access_key: SECRETS.access_key, secret_key: SECRETS.secret_key, token: SECRETS.token });
}

function leaks(text: string): string[] {
  return PLANTED.filter((s) => text.includes(s));
}

function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile() && f !== 'cdk.tf.json') out[f] = fs.readFileSync(p, 'latin1');
  }
  return out;
}

test('planted credentials never appear in output, state, backups, drift reports or error messages; a plan file (0600) holds the provider block\'s only', async (t) => {
  const em = await emulator(t);
  const dir = tempDir(t, 'eksidp-sec-');
  writeStack(dir, secretStack(em.url));
  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const r = await cli(dir, args, { env: ENV });
    outputs.push(`$ eksidp ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  t.is((await run(['plan', '--dir', '.', '--out', 'tfplan'])).code, 0);
  t.is((await run(['show', 'tfplan', '--json'])).code, 0);
  t.is((await run(['plan', '--dir', '.', '--json'])).code, 0);
  t.is((await run(['apply', 'tfplan'])).code, 0);
  t.is((await run(['state', 'show', 'aws_eks_identity_provider_config.okta', '--dir', '.'])).code, 0);
  t.is((await run(['drift', '--dir', '.', '--format', 'json', '--out', 'reports/drift.json'])).code, 0);
  t.is((await run(['drift', '--dir', '.', '--format', 'markdown', '--out', 'reports/drift.md'])).code, 0);
  // State and plan files are owner-only.
  for (const f of ['tfplan', 'terraform.tfstate', 'terraform.tfstate.backup']) t.is(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  // Error paths: an unreachable endpoint (port 9, nobody listens) and a server error.
  writeStack(dir, secretStack('http://127.0.0.1:9'));
  const dead = (await run(['plan', '--dir', '.'])).code;
  t.is(dead, 1);
  t.is((await cli(dir, ['drift', '--dir', '.'], { env: { ...ENV, EKSIDP_MAX_ATTEMPTS: '1' } })).code, 1);
  const em2 = await emulator(t, { errorRate: 1 });
  writeStack(dir, secretStack(em2.url));
  const failing = await cli(dir, ['apply', '--dir', '.', '--auto-approve'], { env: { ...ENV, EKSIDP_MAX_ATTEMPTS: '1' } });
  outputs.push(failing.stdout + failing.stderr);
  t.is(failing.code, 1);
  t.regex(failing.stderr, /Error: aws_eks_/);

  const files = filesOf(dir);
  // A saved plan carries its configuration (as Terraform's does), so the provider block's credentials
  // are in it (the file is 0600, above, and credential-equivalent: engine/PLANFILE.md); the
  // environment's never are.
  const inConfig = [SECRETS.access_key, SECRETS.secret_key, SECRETS.token];
  t.deepEqual(leaks(files.tfplan!).sort(), [...inConfig].sort(), 'the plan file holds the configuration\'s credentials, and only those');
  for (const [name, text] of Object.entries(files)) if (name !== 'tfplan') t.deepEqual(leaks(text), [], `secret in ${name}`);
  for (const o of outputs) t.deepEqual(leaks(o), [], `secret in output:\n${o.slice(0, 400)}`);
});

test('an ID token given to whoami is never printed, also when it is rejected', async (t) => {
  const dir = tempDir(t, 'eksidp-sec-whoami-');
  writeStack(dir, secretStack('http://127.0.0.1:9'));
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sig = 'PlantedSignatureNeverPrinted0007';
  const now = Math.floor(Date.now() / 1000);
  const good = `${b64({ alg: 'RS256' })}.${b64({ iss: 'https://okta.example.com', aud: 'kubernetes', exp: now + 600, email: 'alice@example.com', sub: 'alice' })}.${sig}`;
  const bad = `${b64({ alg: 'RS256' })}.${b64({ iss: 'https://evil.example.com', aud: 'kubernetes', exp: now - 600, email: 'x' })}.${sig}`;
  for (const token of [good, bad, `${good}garbage.x`]) {
    for (const extra of [[], ['--json']]) {
      // From the environment: a token on the command line is refused (test/whoami.test.ts).
      const r = await cli(dir, ['whoami', '--dir', '.', '--config', 'aws_eks_identity_provider_config.okta', ...extra], { env: { EKSIDP_TOKEN: token } });
      t.true([0, 1, 3].includes(r.code!), `exit ${r.code}`);
      const all = r.stdout + r.stderr;
      t.false(all.includes(sig), 'signature printed');
      t.false(all.includes(token), 'token printed');
      t.false(all.includes(token.split('.')[1]!), 'payload printed');
    }
  }
  t.deepEqual(Object.keys(filesOf(dir)), [], 'whoami writes nothing');
});

function raw(url: string, method: string, p: string, body?: string): Promise<{ status: number; type: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: p, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['x-amzn-errortype'] ?? ''), body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the emulator listens on loopback by default, refuses oversize bodies and treats path parameters as data', async (t) => {
  const em = await emulator(t, { maxBodyBytes: 64 * 1024 });
  t.regex(em.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  // The CLI form as well: its first line names a loopback address.
  const dir = tempDir(t, 'eksidp-sec-emu-');
  const r = await cli(dir, ['emulator', '--port', '0'], { onStderr: () => undefined, onSpawn: (c) => c.stdout!.once('data', () => c.kill('SIGTERM')) });
  t.regex(r.stdout, /^EKS emulator listening on http:\/\/127\.0\.0\.1:\d+/);

  const big = JSON.stringify({ name: 'x', roleArn: 'arn', resourcesVpcConfig: {}, tags: { k: 'v'.repeat(200 * 1024) } });
  const over = await raw(em.url, 'POST', '/clusters', big);
  t.is(over.status, 413);
  t.is(over.type, 'RequestEntityTooLargeException');

  for (const p of ['/clusters/..%2F..%2Fetc%2Fpasswd', '/clusters/%2E%2E', `/clusters/${'a'.repeat(5000)}`, '/clusters/a%00b', '/clusters/%E2%80%AE']) {
    const res = await raw(em.url, 'GET', p);
    t.is(res.status, 404, p.slice(0, 60));
    t.is(res.type, 'ResourceNotFoundException', p.slice(0, 60));
    t.true(res.body.length < 1000, 'no echo of a huge name');
  }
  const traversal = await raw(em.url, 'GET', '/clusters/../_emulator/state');
  t.not(traversal.status, 200, 'no route into the admin API through ..');
  const malformed = await raw(em.url, 'GET', '/clusters/%E0%A4%A');
  t.is(malformed.status, 400);
  t.is((em.snapshot() as { clusters: unknown[] }).clusters.length, 0);
  t.is((await raw(em.url, 'GET', '/_emulator/health')).status, 200, 'still serving');
});
