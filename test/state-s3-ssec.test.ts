import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { BUCKET, s3Backend, startStateServers, type StateServers } from './helpers/state-servers';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * SSE-C (`sse_customer_key`, `AWS_SSE_CUSTOMER_KEY`) as Terraform 1.11's S3 backend sends it: Terraform
 * writes a state with a customer key and eksidp reads it with the same key, and the reverse; without the
 * key S3 refuses the read. The configurations have only a backend and an output (no provider to start).
 */

let servers: StateServers;
test.before(async () => {
  servers = await startStateServers();
});
test.after.always(async () => {
  await servers?.close();
});

const KEY = randomBytes(32).toString('base64');

function stackDir(t: ExecutionContext, backend: Record<string, unknown>, value: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-ssec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ terraform: { backend: { s3: backend } }, output: { hello: { value } } }));
  return dir;
}

async function eksidp(dir: string, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true', ...env });
  const code = await runCommand([...argv, '--dir', dir], io);
  return { code, stdout: io.out(), stderr: io.err() };
}

terraformTest(test, 'sse_customer_key: a state Terraform writes with SSE-C is read by eksidp with the key, and the reverse; without the key S3 refuses', async (t) => {
  const key = 'ssec/terraform.tfstate';
  const backend = s3Backend(servers, key, 'lockfile', { encrypt: true, sse_customer_key: KEY });
  const tfDir = stackDir(t, backend, 'from-terraform');
  const env = { AWS_EC2_METADATA_DISABLED: 'true' };
  t.is((await terraform(tfDir, ['init', '-input=false', '-no-color'], env)).code, 0);
  const applied = await terraform(tfDir, ['apply', '-auto-approve', '-input=false', '-no-color'], env);
  t.is(applied.code, 0, applied.stderr);
  t.truthy(servers.s3.object(BUCKET, key)?.sseCustomerKeyMd5, 'Terraform wrote the state with SSE-C');

  // eksidp, same key: reads Terraform's state (its output), then applies a change Terraform reads back.
  const ekDir = stackDir(t, backend, 'from-eksidp');
  const read = await eksidp(ekDir, ['output', '--json']);
  t.is(read.code, 0, read.stderr);
  t.is(JSON.parse(read.stdout).hello.value, 'from-terraform');
  const ekApplied = await eksidp(ekDir, ['apply', '--auto-approve']);
  t.is(ekApplied.code, 0, ekApplied.stderr);
  const tfOut = await terraform(tfDir, ['output', '-json'], env);
  t.is(tfOut.code, 0, tfOut.stderr);
  t.is(JSON.parse(tfOut.stdout).hello.value, 'from-eksidp');
  const o = servers.s3.object(BUCKET, key)!;
  t.is(o.headers['x-amz-server-side-encryption-customer-algorithm'], 'AES256', 'eksidp wrote it with SSE-C');
  t.false(o.headers['x-amz-server-side-encryption'] !== undefined, 'and not as SSE-S3');

  // The key from the environment, as Terraform reads it.
  const { sse_customer_key: _k, ...withoutKey } = backend;
  const envDir = stackDir(t, withoutKey, 'x');
  const viaEnv = await eksidp(envDir, ['output', '--json'], { AWS_SSE_CUSTOMER_KEY: KEY });
  t.is(viaEnv.code, 0, viaEnv.stderr);
  t.is(JSON.parse(viaEnv.stdout).hello.value, 'from-eksidp');
  // No key, or another one: S3 refuses the read, and eksidp says so.
  const noKey = await eksidp(envDir, ['output', '--json']);
  t.is(noKey.code, 1);
  t.regex(noKey.stderr, /InvalidRequest|stored using a form of Server Side Encryption/);
  const otherKey = await eksidp(envDir, ['output', '--json'], { AWS_SSE_CUSTOMER_KEY: randomBytes(32).toString('base64') });
  t.is(otherKey.code, 1);
  t.regex(otherKey.stderr, /AccessDenied|403/);
  t.false((noKey.stderr + otherKey.stderr + read.stderr).includes(KEY), 'the key is never printed');
});

test('sse_customer_key is refused before any call without encrypt = true, with kms_key_id, or when it is not 44 characters of base64', async (t) => {
  const cases: [Record<string, unknown>, RegExp, NodeJS.ProcessEnv?][] = [
    [{ sse_customer_key: KEY }, /"sse_customer_key" has no effect without "encrypt = true"/],
    [{}, /"AWS_SSE_CUSTOMER_KEY" has no effect without "encrypt = true"/, { AWS_SSE_CUSTOMER_KEY: KEY }],
    [{ encrypt: true, sse_customer_key: KEY, kms_key_id: 'arn:aws:kms:us-east-1:000000000000:key/k' }, /Only one of "kms_key_id" and "sse_customer_key"/],
    [{ encrypt: true, kms_key_id: 'arn:aws:kms:us-east-1:000000000000:key/k' }, /only one of "kms_key_id" and the environment variable "AWS_SSE_CUSTOMER_KEY"/, { AWS_SSE_CUSTOMER_KEY: KEY }],
    [{ encrypt: true, sse_customer_key: 'c2hvcnQ=' }, /sse_customer_key value: "sse_customer_key" must be 44 characters in length/],
    [{ encrypt: true, sse_customer_key: `${'!'.repeat(43)}=` }, /must be base64 encoded/],
  ];
  for (const [extra, message, env] of cases) {
    const before = JSON.stringify(servers.s3.calls());
    const dir = stackDir(t, s3Backend(servers, 'ssec/refused.tfstate', 'lockfile', extra), 'x');
    const r = await eksidp(dir, ['plan'], env);
    t.is(r.code, 1, JSON.stringify(extra));
    t.regex(r.stderr, message);
    t.false(r.stderr.includes(KEY));
    t.is(JSON.stringify(servers.s3.calls()), before, 'no S3 call');
  }
});
