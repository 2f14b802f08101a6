import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DIGEST_RETRY } from '../backends/s3/storage';
import { captureIo, runCommand } from './helpers/in-process';
import { BUCKET, LOCK_MODES, md5, s3Backend, startStateServers, TABLE, type StateServers } from './helpers/state-servers';

/**
 * eksidp's S3 backend against the emulator's S3 subset and dynalite (one of each for the file), with
 * the memory provider for speed: where state and locks go, what a held lock does, the digest check,
 * a failing S3 write, state push/pull and refused settings. The Terraform side is in
 * state-s3-terraform.test.ts.
 */

let servers: StateServers;
test.before(async () => {
  servers = await startStateServers();
});
test.after.always(async () => {
  await servers?.close();
});

let n = 0;
function stackDir(t: ExecutionContext, backend: Record<string, unknown>, resources: Record<string, unknown> = { a: { name: 'a', value: 'one' } }, provider: Record<string, unknown> = {}): { dir: string; write(res: Record<string, unknown>): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-s3-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (res: Record<string, unknown>) => fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: { backend: { s3: backend } },
    provider: { memory: [{ path: path.join(dir, 'cloud.json'), ...provider }] },
    resource: { memory_item: res },
  }));
  write(resources);
  return { dir, write };
}
const uniqueKey = (what: string) => `stacks/${what}-${++n}/terraform.tfstate`;

async function eksidp(dir: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true', ...env });
  const code = await runCommand([...argv, '--dir', dir], io);
  return { code, stdout: io.out(), stderr: io.err() };
}

const stored = (key: string) => {
  const o = servers.s3.object(BUCKET, key);
  return o ? (JSON.parse(o.body.toString('utf8')) as { serial: number; lineage: string; resources: { name: string }[] }) : undefined;
};

for (const mode of LOCK_MODES) {
  test(`${mode}: apply stores the state at the key (and its MD5 digest item with DynamoDB), releases the lock, and plans no changes after`, async (t) => {
    const key = uniqueKey(`apply-${mode}`);
    const s = stackDir(t, s3Backend(servers, key, mode));
    const applied = await eksidp(s.dir, ['apply', '--auto-approve']);
    t.is(applied.code, 0, applied.stderr);
    t.is(stored(key)!.resources[0]!.name, 'a');
    t.false(fs.existsSync(path.join(s.dir, 'terraform.tfstate')), 'no local state');
    t.is(servers.s3.object(BUCKET, `${key}.tflock`), undefined, 'lock object removed');
    t.is(await servers.item(`${BUCKET}/${key}`), undefined, 'lock item removed');
    const digest = await servers.item(`${BUCKET}/${key}-md5`);
    if (mode === 'lockfile') t.is(digest, undefined);
    else t.is(digest?.Digest, md5(servers.s3.object(BUCKET, key)!.body));
    const plan = await eksidp(s.dir, ['plan', '--detailed-exitcode']);
    t.is(plan.code, 0, plan.stdout + plan.stderr);
    t.is((await eksidp(s.dir, ['state', 'list'])).stdout, 'memory_item.a\n');
  });

  test(`${mode}: a lock held elsewhere (Terraform's lock info) stops plan at once naming the holder; --lock-timeout waits for it; force-unlock checks the ID`, async (t) => {
    const key = uniqueKey(`held-${mode}`);
    const s = stackDir(t, s3Backend(servers, key, mode));
    const info = { ID: '4b5f0c2e-1111-2222-3333-444455556666', Operation: 'OperationTypeApply', Info: '', Who: 'alice@laptop', Version: '1.11.4', Created: '2026-11-30T12:00:00.123456789Z', Path: `${BUCKET}/${key}` };
    const hold = async () => {
      if (mode !== 'dynamodb') servers.s3.putObject(BUCKET, `${key}.tflock`, JSON.stringify(info));
      if (mode !== 'lockfile') await servers.dynamo('PutItem', { TableName: TABLE, Item: { LockID: { S: `${BUCKET}/${key}` }, Info: { S: JSON.stringify(info) } } });
    };
    await hold();
    const blocked = await eksidp(s.dir, ['plan']);
    t.is(blocked.code, 1);
    t.regex(blocked.stderr, /Error acquiring the state lock/);
    t.regex(blocked.stderr, /ID: 4b5f0c2e-1111-2222-3333-444455556666, Path: team-state\/stacks\/held-\w+-\d+\/terraform\.tfstate, Operation: OperationTypeApply, Who: alice@laptop, Version: 1\.11\.4/);
    t.regex(blocked.stderr, /eksidp force-unlock 4b5f0c2e-1111-2222-3333-444455556666/);
    t.deepEqual(Object.keys(JSON.parse(fs.readFileSync(path.join(s.dir, 'cdk.tf.json'), 'utf8'))), ['terraform', 'provider', 'resource']);
    t.false(fs.existsSync(path.join(s.dir, 'cloud.json')), 'nothing applied');

    const wrong = await eksidp(s.dir, ['force-unlock', 'not-the-id', '--force']);
    t.is(wrong.code, 1);
    t.regex(wrong.stderr, /lock ID mismatch.*4b5f0c2e-1111-2222-3333-444455556666/);
    const unlocked = await eksidp(s.dir, ['force-unlock', info.ID, '--force']);
    t.is(unlocked.code, 0, unlocked.stderr);
    t.is(servers.s3.object(BUCKET, `${key}.tflock`), undefined);
    t.is(await servers.item(`${BUCKET}/${key}`), undefined);

    // Held again and released after 1.5 s: --lock-timeout 20s waits (Terraform's 1 s, 2 s... retries).
    await hold();
    const release = setTimeout(() => {
      void (async () => {
        if (mode !== 'dynamodb') await fetch(`${servers.s3.url}/${BUCKET}/${key}.tflock`, { method: 'DELETE' });
        if (mode !== 'lockfile') await servers.dynamo('DeleteItem', { TableName: TABLE, Key: { LockID: { S: `${BUCKET}/${key}` } } });
      })();
    }, 1500);
    t.teardown(() => clearTimeout(release));
    const started = Date.now();
    const waited = await eksidp(s.dir, ['apply', '--auto-approve', '--lock-timeout', '20s']);
    t.is(waited.code, 0, waited.stderr);
    t.true(Date.now() - started >= 1500);
    t.regex(waited.stderr, /Acquiring state lock/);
    t.is(stored(key)!.resources.length, 1);
  });
}

test('the lock object eksidp writes is Terraform\'s lock info JSON, and a second eksidp run is refused while it is held', async (t) => {
  const key = uniqueKey('shape');
  const s = stackDir(t, s3Backend(servers, key, 'both'), { a: { name: 'a', value: 'one' } }, { apply_delay_ms: 1500 });
  let seen: { file?: string; item?: string } = {};
  let second: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
  const timer = setInterval(() => {
    const o = servers.s3.object(BUCKET, `${key}.tflock`);
    if (o && !seen.file) seen.file = o.body.toString('utf8');
    // The file lock comes first, then the DynamoDB item: the second run starts once both are held.
    if (seen.file && !second) {
      void servers.item(`${BUCKET}/${key}`).then((i) => {
        if (i?.Info && !second) {
          seen.item = i.Info;
          second = eksidp(s.dir, ['plan']);
        }
      });
    }
  }, 20);
  t.teardown(() => clearInterval(timer));
  const first = await eksidp(s.dir, ['apply', '--auto-approve']);
  clearInterval(timer);
  t.is(first.code, 0, first.stderr);
  const lock = JSON.parse(seen.file!) as Record<string, string>;
  t.deepEqual(Object.keys(lock), ['ID', 'Operation', 'Info', 'Who', 'Version', 'Created', 'Path']);
  t.is(lock.Path, `${BUCKET}/${key}`);
  t.is(lock.Operation, 'OperationTypeApply');
  t.false(Number.isNaN(Date.parse(lock.Created!)));
  t.is(seen.item, seen.file, 'the DynamoDB item holds the same lock info');
  const r2 = await second!;
  t.is(r2.code, 1);
  t.regex(r2.stderr, new RegExp(`Error acquiring the state lock: .*ID: ${lock.ID}, .*Operation: OperationTypeApply`));
});

test('a digest that does not match the state is retried for 10 s, then fails with Terraform\'s error', async (t) => {
  const key = uniqueKey('digest');
  const s = stackDir(t, s3Backend(servers, key, 'dynamodb'));
  t.is((await eksidp(s.dir, ['apply', '--auto-approve'])).code, 0);
  const actual = md5(servers.s3.object(BUCKET, key)!.body);
  await servers.dynamo('PutItem', { TableName: TABLE, Item: { LockID: { S: `${BUCKET}/${key}-md5` }, Digest: { S: '0123456789abcdef0123456789abcdef' } } });
  const started = Date.now();
  const r = await eksidp(s.dir, ['state', 'list']);
  t.is(r.code, 1);
  t.true(Date.now() - started >= DIGEST_RETRY.timeoutMs - 100);
  t.regex(r.stderr, /state data in S3 does not have the expected content/);
  t.regex(r.stderr, new RegExp(`Calculated checksum: ${actual}, Stored checksum: 0123456789abcdef0123456789abcdef`));
  t.regex(r.stderr, new RegExp(`update the Digest value stored in the DynamoDB table to the following value: ${actual}`));
});

test('S3 refusing the state write mid-apply keeps the state in errored.tfstate with the push command; state push stores it and the lock is gone', async (t) => {
  const key = uniqueKey('errored');
  const s = stackDir(t, s3Backend(servers, key, 'lockfile'), { a: { name: 'a', value: 'one' }, b: { name: 'b', value: 'two' } });
  servers.s3.setFaults({ failPutKeys: new RegExp(`^${key.replace(/[.]/g, '\\.')}$`) });
  t.teardown(() => servers.s3.setFaults({ failPutKeys: null }));
  const r = await eksidp(s.dir, ['apply', '--auto-approve']);
  servers.s3.setFaults({ failPutKeys: null });
  t.is(r.code, 1);
  t.regex(r.stderr, /Failed to save state to s3:\/\//);
  t.regex(r.stderr, /eksidp state push errored\.tfstate/);
  const errored = JSON.parse(fs.readFileSync(path.join(s.dir, 'errored.tfstate'), 'utf8')) as { resources: { name: string }[]; lineage: string };
  t.deepEqual(errored.resources.map((x) => x.name).sort(), ['a', 'b']);
  t.is(stored(key), undefined, 'nothing reached S3');
  t.is(servers.s3.object(BUCKET, `${key}.tflock`), undefined, 'the lock was released after the state was kept');
  const pushed = await eksidp(s.dir, ['state', 'push', 'errored.tfstate']);
  t.is(pushed.code, 0, pushed.stderr);
  t.is(stored(key)!.lineage, errored.lineage);
  const plan = await eksidp(s.dir, ['plan', '--detailed-exitcode']);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
});

test('moving a local state to S3: state push keeps lineage and serial; a state of another lineage or an older serial is refused unless --force', async (t) => {
  const local = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-local-'));
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }));
  fs.writeFileSync(path.join(local, 'cdk.tf.json'), JSON.stringify({ provider: { memory: [{ path: path.join(local, 'cloud.json') }] }, resource: { memory_item: { a: { name: 'a', value: 'one' } } } }));
  t.is((await eksidp(local, ['apply', '--auto-approve'])).code, 0);
  const old = JSON.parse(fs.readFileSync(path.join(local, 'terraform.tfstate'), 'utf8')) as { lineage: string; serial: number };

  const key = uniqueKey('migrate');
  const s = stackDir(t, s3Backend(servers, key, 'both'));
  fs.copyFileSync(path.join(local, 'cloud.json'), path.join(s.dir, 'cloud.json'));
  const pushed = await eksidp(s.dir, ['state', 'push', path.join(local, 'terraform.tfstate')]);
  t.is(pushed.code, 0, pushed.stderr);
  t.like(stored(key), { lineage: old.lineage, serial: old.serial });
  t.is((await eksidp(s.dir, ['plan', '--detailed-exitcode'])).code, 0);
  t.is((await eksidp(s.dir, ['state', 'pull'])).stdout, servers.s3.object(BUCKET, key)!.body.toString('utf8'));

  const other = path.join(s.dir, 'other.tfstate');
  fs.writeFileSync(other, JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 9, lineage: 'another-lineage', outputs: {}, resources: [] }));
  const refused = await eksidp(s.dir, ['state', 'push', other]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /lineage another-lineage differs/);
  const older = path.join(s.dir, 'older.tfstate');
  fs.writeFileSync(older, JSON.stringify({ ...stored(key), serial: 0 }));
  t.regex((await eksidp(s.dir, ['state', 'push', older])).stderr, /serial 0 is lower/);
  t.like(stored(key), { lineage: old.lineage, serial: old.serial }, 'unchanged');
  const forced = await eksidp(s.dir, ['state', 'push', other, '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.like(stored(key), { lineage: 'another-lineage', serial: 9 });

  // Another workspace: select it (an empty state of its own lineage at env:/W/<key>), then push: an empty state
  // is replaced whatever its lineage, as Terraform's state push does; the lineage is kept, the serial moves past it.
  t.is((await eksidp(s.dir, ['workspace', 'select', 'dev', '--or-create'])).code, 0);
  t.like(stored(`env:/dev/${key}`), { serial: 1, resources: [] });
  const intoWorkspace = await eksidp(s.dir, ['state', 'push', path.join(local, 'terraform.tfstate')]);
  t.is(intoWorkspace.code, 0, intoWorkspace.stderr);
  t.like(stored(`env:/dev/${key}`), { lineage: old.lineage, serial: Math.max(old.serial, 2) });
  t.is((await eksidp(s.dir, ['state', 'list'])).stdout, 'memory_item.a\n');
});

test('workspaces: TF_WORKSPACE keeps the state at <workspace_key_prefix>/<name>/<key>; the backend lists and deletes them as Terraform does', async (t) => {
  const key = uniqueKey('ws');
  const s = stackDir(t, s3Backend(servers, key, 'lockfile'));
  t.is((await eksidp(s.dir, ['apply', '--auto-approve'], { TF_WORKSPACE: 'staging' })).code, 0);
  t.truthy(stored(`env:/staging/${key}`));
  t.is(stored(key), undefined);
  const custom = stackDir(t, s3Backend(servers, key, 'lockfile', { workspace_key_prefix: 'teams' }));
  t.is((await eksidp(custom.dir, ['apply', '--auto-approve'], { TF_WORKSPACE: 'dev' })).code, 0);
  t.truthy(stored(`teams/dev/${key}`));
  // The backend lists workspaces as Terraform does (keys exactly <prefix>/<ws>/<key>) and deletes one with its digest.
  const { openBackend } = await import('../backends');
  const { loadConfig } = await import('../cli/support');
  const backend = openBackend(loadConfig({ name: 'x', dir: custom.dir, file: path.join(custom.dir, 'cdk.tf.json') }), { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' });
  t.teardown(() => backend.close());
  servers.s3.putObject(BUCKET, `teams/not-a-workspace/${key}.backup`, '{}');
  t.deepEqual(await backend.workspaces(), ['default', 'dev']);
  await t.throwsAsync(backend.deleteWorkspace('default'), { message: /default workspace cannot be deleted/ });
  await backend.deleteWorkspace('dev');
  t.is(stored(`teams/dev/${key}`), undefined);
  t.deepEqual(await backend.workspaces(), ['default']);
  const bad = await eksidp(s.dir, ['plan'], { TF_WORKSPACE: 'a/b' });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /Invalid workspace name set using TF_WORKSPACE/);
});

test('settings eksidp does not implement are refused by name before any call; so is a backend it does not know', async (t) => {
  const key = uniqueKey('refused');
  const before = servers.s3.calls();
  for (const [extra, name] of [[{ sse_customer_key: 'x'.repeat(44) }, 'sse_customer_key'], [{ allowed_account_ids: ['000000000000'] }, 'allowed_account_ids'], [{ endpoints: { s3: servers.s3.url, iam: 'http://127.0.0.1:1' } }, 'endpoints.iam'], [{ kms_key_id: 'alias/x' }, 'kms_key_id'], [{ bogus: true }, 'bogus']] as const) {
    const s = stackDir(t, s3Backend(servers, key, 'lockfile', extra as Record<string, unknown>));
    const r = await eksidp(s.dir, ['plan']);
    t.is(r.code, 1, name);
    t.true(r.stderr.includes(`"${name}"`), `${name}: ${r.stderr}`);
  }
  t.deepEqual(servers.s3.calls(), before, 'no S3 call was made');
  const gcs = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-gcs-'));
  t.teardown(() => fs.rmSync(gcs, { recursive: true, force: true }));
  fs.writeFileSync(path.join(gcs, 'cdk.tf.json'), JSON.stringify({ terraform: { backend: { gcs: { bucket: 'b' } } }, resource: { memory_item: { a: { name: 'a' } } } }));
  const r = await eksidp(gcs, ['plan']);
  t.is(r.code, 1);
  t.regex(r.stderr, /backend "gcs" is not supported/);
});

test('signatures are checked: a wrong secret key is refused by the S3 listener and nothing is written', async (t) => {
  const key = uniqueKey('badkey');
  const s = stackDir(t, s3Backend(servers, key, 'lockfile', { secret_key: 'wrong' }));
  const r = await eksidp(s.dir, ['apply', '--auto-approve']);
  t.is(r.code, 1);
  t.regex(r.stderr, /SignatureDoesNotMatch/);
  t.deepEqual(servers.s3.keys(BUCKET).filter((k) => k.startsWith(key)), []);
});


test('the README\'s cdktf snippet (S3Backend plus use_lockfile through addOverride) synthesizes a backend block eksidp reads and uses', async (t) => {
  const { App, S3Backend, TerraformStack, Testing } = await import('cdktf');
  const app = Testing.app();
  const stack = new TerraformStack(app as InstanceType<typeof App>, 'team');
  const key = uniqueKey('cdktf');
  const backend = new S3Backend(stack, {
    bucket: BUCKET, key, region: 'us-east-1', dynamodbTable: TABLE, usePathStyle: true,
    endpoints: { s3: servers.s3.url, dynamodb: servers.dynamodbUrl },
    accessKey: 'AKIASTATE00000000001', secretKey: 'state-secret',
    skipCredentialsValidation: true, skipRequestingAccountId: true, skipMetadataApiCheck: true, skipRegionValidation: true,
  });
  backend.addOverride('use_lockfile', true);
  const synthesized = JSON.parse(Testing.synth(stack)) as { terraform: { backend: { s3: Record<string, unknown> } } };
  t.like(synthesized.terraform.backend.s3, { bucket: BUCKET, key, use_lockfile: true, dynamodb_table: TABLE, use_path_style: true });
  const s = stackDir(t, synthesized.terraform.backend.s3);
  const applied = await eksidp(s.dir, ['apply', '--auto-approve']);
  t.is(applied.code, 0, applied.stderr);
  t.is(stored(key)!.resources.length, 1);
  t.truthy(await servers.item(`${BUCKET}/${key}-md5`));
});

test('drift-pr.yml\'s plan step, run as written on an S3 state: it reads the state without taking the lock (a lock held elsewhere does not stop it) and exits 1 when the backend fails, which fails the job', async (t) => {
  const workflow = fs.readFileSync(path.join(__dirname, '..', '.github', 'workflows', 'drift-pr.yml'), 'utf8');
  const line = /node_modules\/\.bin\/eksidp (plan [^>\n]*?)\s*>/.exec(workflow)?.[1];
  t.truthy(line, 'the workflow runs eksidp plan');
  // The "Fail on errors" step (run end to end in test/workflows-run.test.ts): any plan exit but 0 and 2 fails the job.
  t.regex(workflow, /case "\$PLAN_EXIT" in 0\|2\) ;; \*\)[^\n]*failed=1/, 'the job fails when the plan step errors');
  const argv = line!.split(/\s+/);
  const at = argv.indexOf('--stack');
  t.true(at > 0);
  argv.splice(at, 2); // --dir below names the test's stack instead
  const key = uniqueKey('pr');
  const s = stackDir(t, s3Backend(servers, key, 'lockfile'));
  t.is((await eksidp(s.dir, ['apply', '--auto-approve'])).code, 0);
  servers.s3.putObject(BUCKET, `${key}.tflock`, JSON.stringify({ ID: 'held-by-a-deploy', Operation: 'OperationTypeApply', Info: '', Who: 'ci@runner', Version: '1.11.4', Created: new Date().toISOString(), Path: `${BUCKET}/${key}` }));
  const inSync = await eksidp(s.dir, argv);
  t.is(inSync.code, 0, inSync.stdout + inSync.stderr);
  t.regex(inSync.stdout, /No changes/);
  s.write({ a: { name: 'a', value: 'changed' } });
  t.is((await eksidp(s.dir, argv)).code, 2);
  const broken = stackDir(t, s3Backend(servers, key, 'lockfile', { bucket: 'no-such-bucket' }));
  const failed = await eksidp(broken.dir, argv);
  t.is(failed.code, 1);
  t.regex(failed.stderr, /NoSuchBucket/);
});
