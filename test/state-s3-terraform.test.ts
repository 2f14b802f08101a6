import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { BUCKET, LOCK_MODES, md5, TABLE, s3Backend, startStateServers, type LockMode, type StateServers } from './helpers/state-servers';
import { terraform, terraformEnv, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Terraform 1.11's own S3 backend is the oracle: Terraform and eksidp share one bucket (the emulator's
 * S3 listener) and one DynamoDB (dynalite). Each reads the state the other wrote with no changes and
 * no digest error; each one's lock stops the other, in each lock mode; force-unlock works both ways.
 * One server pair for the file; the lock cases run Terraform with a configuration that has only the
 * backend block (no provider to start), so they cost about a second each.
 */

let servers: StateServers;
test.before(async () => {
  servers = await startStateServers({ updateMs: 100 });
});
test.after.always(async () => {
  await servers?.close();
});

function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-s3tf-'));
  if (process.env.EKSIDP_KEEP_TF_DIR !== '1') t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function eksidp(dir: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200' });
  const code = await runCommand([...argv, '--dir', dir], io);
  return { code, stdout: io.out(), stderr: io.err() };
}
const tf = (dir: string, args: string[]): Promise<TfResult> => terraform(dir, [...args, '-no-color'], { AWS_EC2_METADATA_DISABLED: 'true' });
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`;

/** One cluster and one identity provider config on the emulator, with the S3 backend: a stack both tools apply. */
function eksStack(key: string, mode: LockMode, tier: string): string {
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { s3: s3Backend(servers, key, mode) } },
    provider: {
      aws: [{
        region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator',
        skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true,
        endpoints: [{ eks: servers.em.url }],
      }],
    },
    resource: {
      aws_eks_cluster: { main: { name: `shared-${key.replace(/\W/g, '-')}`.slice(0, 90), version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }] } },
      aws_eks_identity_provider_config: {
        corp: {
          cluster_name: '${aws_eks_cluster.main.name}',
          oidc: [{ client_id: 'kubernetes', identity_provider_config_name: 'corp-sso', issuer_url: 'https://sso.example.com/oauth2', username_claim: 'email' }],
          tags: { tier },
        },
      },
    },
    output: { cluster: { value: '${aws_eks_cluster.main.name}' }, issuer: { value: '${aws_eks_identity_provider_config.corp.oidc[0].issuer_url}', sensitive: true } },
  }, null, 2);
}

terraformTest(test, 'both lock modes at once: state eksidp wrote plans no changes in Terraform, and state Terraform then wrote plans no changes in eksidp (the digest agrees both ways)', async (t) => {
  const dir = tempDir(t);
  const key = 'shared/eks.tfstate';
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), eksStack(key, 'both', 'one'));
  const started = Date.now();
  const lap = (what: string) => t.log(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const [applied, init] = await Promise.all([eksidp(dir, ['apply', '--auto-approve']), tf(dir, ['init', '-input=false'])]);
  lap('eksidp apply + terraform init');
  t.is(applied.code, 0, out(applied));
  t.is(init.code, 0, out(init));
  const plan = await tf(dir, ['plan', '-detailed-exitcode', '-input=false']);
  t.is(plan.code, 0, `Terraform sees changes in the state eksidp wrote to S3:\n${out(plan)}`);
  lap('terraform plan');

  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), eksStack(key, 'both', 'two'));
  const tfApply = await tf(dir, ['apply', '-auto-approve', '-input=false']);
  t.is(tfApply.code, 0, out(tfApply));
  t.regex(tfApply.stdout, /1 changed/);
  lap('terraform apply');
  const serial = (JSON.parse(servers.s3.object(BUCKET, key)!.body.toString('utf8')) as { serial: number }).serial;
  const back = await eksidp(dir, ['plan', '--detailed-exitcode']);
  t.is(back.code, 0, `eksidp sees changes in the state Terraform wrote to S3:\n${out(back)}`);
  t.is((await eksidp(dir, ['state', 'list'])).stdout, 'aws_eks_cluster.main\naws_eks_identity_provider_config.corp\n');
  t.true(serial >= 2);

  // eksidp show prints the state in S3 as terraform show -json does, exactly; its text has Terraform's resource
  // headers and outputs (one terraform show: each one starts the provider for its schema).
  const [tfJson, myJson, myText] = await Promise.all([tf(dir, ['show', '-json']), eksidp(dir, ['show', '--json']), eksidp(dir, ['show'])]);
  lap('terraform show -json');
  t.is(tfJson.code, 0, out(tfJson));
  const theirs = JSON.parse(tfJson.stdout) as { values: { root_module: { resources: { address: string }[] }; outputs: Record<string, { sensitive: boolean }> } };
  t.deepEqual(JSON.parse(myJson.stdout), theirs);
  const skeleton = myText.stdout.split('\n').filter((l) => /^(# |resource |data |Outputs:|\w+ = )/.test(l));
  t.deepEqual(skeleton, [
    ...theirs.values.root_module.resources.flatMap((r) => [`# ${r.address}:`, `resource "${r.address.split('.')[0]}" "${r.address.split('.')[1]}" {`]),
    'Outputs:', 'cluster = "shared-shared-eks-tfstate"', 'issuer = (sensitive value)',
  ]);
});

/** A folder where Terraform has only the backend block (no provider): `terraform plan` there just locks and reads. */
async function lockOnlyTerraform(t: ExecutionContext, key: string, mode: LockMode): Promise<string> {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ terraform: { backend: { s3: s3Backend(servers, key, mode) } } }));
  const init = await tf(dir, ['init', '-input=false']);
  t.is(init.code, 0, out(init));
  return dir;
}

/** `terraform console`: it holds the state lock until its stdin closes. Resolves once the lock is held. */
function terraformConsole(t: ExecutionContext, dir: string, key: string, mode: LockMode): Promise<{ kill(signal: NodeJS.Signals): void; end(): Promise<void> }> {
  const child = spawn('terraform', ['console', '-no-color'], { cwd: dir, env: terraformEnv({ AWS_EC2_METADATA_DISABLED: 'true' }), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      void (async () => {
        // Terraform takes the file lock first: in 'both' mode the lock is held once the DynamoDB item exists too
        // (a kill between the two would leave a half-held lock, which is not what these cases test).
        const file = mode === 'dynamodb' || servers.s3.object(BUCKET, `${key}.tflock`) !== undefined;
        const held = file && (mode === 'lockfile' || (await servers.item(`${BUCKET}/${key}`)) !== undefined);
        if (held) {
          clearInterval(poll);
          resolve({ kill: (s) => process.kill(-child.pid!, s), end: async () => { child.stdin.end(); await exited; } });
        } else if (Date.now() - started > 60_000) {
          clearInterval(poll);
          reject(new Error(`terraform console never took the lock: ${stderr}`));
        }
      })();
    }, 50);
  });
}

function eksidpStack(t: ExecutionContext, key: string, mode: LockMode, delayMs = 0): string {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: { backend: { s3: s3Backend(servers, key, mode) } },
    provider: { memory: [{ path: path.join(dir, 'cloud.json'), apply_delay_ms: delayMs }] },
    resource: { memory_item: { a: { name: 'a', value: 'one' } } },
  }));
  return dir;
}

for (const mode of LOCK_MODES) {
  terraformTest(test, `${mode}: eksidp's lock stops terraform plan (which shows eksidp's lock info), Terraform's lock stops eksidp at once naming it, and force-unlock works both ways checking the ID`, async (t) => {
    const key = `locks/${mode}.tfstate`;
    const tfDir = await lockOnlyTerraform(t, key, mode);

    // eksidp holds the lock (a slow apply): terraform plan -lock-timeout=0s fails, showing eksidp's lock.
    const holder = eksidpStack(t, key, mode, 4000);
    let lockId: string | undefined;
    const timer = setInterval(() => {
      const o = servers.s3.object(BUCKET, `${key}.tflock`);
      if (o) lockId ??= (JSON.parse(o.body.toString('utf8')) as { ID: string }).ID;
      else if (mode === 'dynamodb') void servers.item(`${BUCKET}/${key}`).then((i) => { if (i?.Info) lockId ??= (JSON.parse(i.Info) as { ID: string }).ID; });
    }, 20);
    t.teardown(() => clearInterval(timer));
    const applying = eksidp(holder, ['apply', '--auto-approve']);
    while (!lockId) await new Promise((r) => setTimeout(r, 20));
    const blocked = await tf(tfDir, ['plan', '-lock-timeout=0s', '-input=false']);
    t.is(blocked.code, 1, out(blocked));
    t.regex(blocked.stderr, /Error acquiring the state lock/);
    t.regex(blocked.stderr, new RegExp(`ID:\\s+${lockId}`));
    t.regex(blocked.stderr, /Operation:\s+OperationTypeApply/);
    t.regex(blocked.stderr, /Version:\s+eksidp/);
    const done = await applying;
    clearInterval(timer);
    t.is(done.code, 0, out(done));
    // eksidp's state (memory_item, which Terraform cannot plan) leaves the bucket with its digest: only the lock is shared here.
    await fetch(`${servers.s3.url}/${BUCKET}/${key}`, { method: 'DELETE' });
    if (mode !== 'lockfile') await servers.dynamo('DeleteItem', { TableName: TABLE, Key: { LockID: { S: `${BUCKET}/${key}-md5` } } });

    // Terraform holds the lock (console): eksidp refuses at once, naming Terraform's holder.
    const console1 = await terraformConsole(t, tfDir, key, mode);
    const refused = await eksidp(holder, ['plan']);
    t.is(refused.code, 1);
    t.regex(refused.stderr, /Error acquiring the state lock: .*Version: 1\.11\.\d+/);
    t.regex(refused.stderr, /Operation: OperationTypeInvalid|Operation: OperationType\w+/);
    await console1.end();

    // A Terraform run killed while holding its lock: eksidp force-unlock with a wrong ID keeps it, with the right one removes it.
    const console2 = await terraformConsole(t, tfDir, key, mode);
    console2.kill('SIGKILL');
    const stale = /ID: ([0-9a-f-]{36})/.exec((await eksidp(holder, ['plan'])).stderr)?.[1];
    t.truthy(stale);
    const wrong = await eksidp(holder, ['force-unlock', 'wrong', '--force']);
    t.is(wrong.code, 1);
    t.regex(wrong.stderr, new RegExp(`lock ID mismatch.*${stale}`));
    t.true(mode === 'dynamodb' || servers.s3.object(BUCKET, `${key}.tflock`) !== undefined, 'a wrong ID removes nothing (lock object)');
    t.true(mode === 'lockfile' || (await servers.item(`${BUCKET}/${key}`)) !== undefined, 'a wrong ID removes nothing (lock item)');
    const unlocked = await eksidp(holder, ['force-unlock', stale!, '--force']);
    t.is(unlocked.code, 0, out(unlocked));
    t.is((await eksidp(holder, ['plan', '--detailed-exitcode'])).code, 2, 'the lock is gone: eksidp plans again');

    // And the reverse: an eksidp lock left behind is removed by terraform force-unlock (the ID must match).
    const { openBackend } = await import('../backends');
    const { loadConfig } = await import('../cli/support');
    const backend = openBackend(loadConfig({ name: 'x', dir: holder, file: path.join(holder, 'cdk.tf.json') }), { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' });
    t.teardown(() => backend.close());
    const left = await backend.storage('default').lock('apply');
    t.is((await tf(tfDir, ['force-unlock', '-force', '00000000-0000-0000-0000-000000000000'])).code, 1);
    t.is((await backend.storage('default').lockInfo())?.ID, left.info.ID, 'Terraform removed nothing for a wrong ID');
    const tfUnlock = await tf(tfDir, ['force-unlock', '-force', left.info.ID]);
    t.is(tfUnlock.code, 0, out(tfUnlock));
    t.is(await backend.storage('default').lockInfo(), null);
  });
}

terraformTest(test, 'workspaces on S3: one terraform makes is listed and used by eksidp, one eksidp makes is listed and used by terraform, each tool deletes the other\'s, and one folder\'s selection is shared', async (t) => {
  const key = 'workspaces/eks.tfstate';
  const tfDir = await lockOnlyTerraform(t, key, 'both');
  const mine = eksidpStack(t, key, 'both');
  const stored = (k: string) => {
    const o = servers.s3.object(BUCKET, k);
    return o ? (JSON.parse(o.body.toString('utf8')) as { serial: number; lineage: string; resources: unknown[] }) : undefined;
  };

  // Terraform makes one (an empty state at env:/tfmade/<key>); eksidp lists it, selects it and applies into it.
  const made = await tf(tfDir, ['workspace', 'new', 'tfmade']);
  t.is(made.code, 0, out(made));
  const tfEmpty = stored(`env:/tfmade/${key}`)!;
  t.like(tfEmpty, { serial: 1, resources: [] });
  t.is((await eksidp(mine, ['workspace', 'list'])).stdout, '* default\n  tfmade\n\n');
  t.is((await eksidp(mine, ['workspace', 'select', 'tfmade'])).stdout, 'Switched to workspace "tfmade".\n');
  const applied = await eksidp(mine, ['apply', '--auto-approve']);
  t.is(applied.code, 0, out(applied));
  t.like(stored(`env:/tfmade/${key}`), { lineage: tfEmpty.lineage, serial: 2 });
  t.is(stored(key), undefined, 'nothing in default');
  const tfList = await tf(tfDir, ['state', 'list']);
  t.is(tfList.stdout, 'memory_item.a\n', `terraform reads eksidp's state in its workspace (digest checked):\n${out(tfList)}`);

  // eksidp makes one (an empty state, as Terraform's backend makes it); terraform lists it, selects it and plans in it.
  const mineNew = await eksidp(mine, ['workspace', 'new', 'eksmade']);
  t.is(mineNew.code, 0, out(mineNew));
  t.like(stored(`env:/eksmade/${key}`), { serial: 1, resources: [] });
  t.is((await servers.item(`${BUCKET}/env:/eksmade/${key}-md5`))?.Digest, md5(servers.s3.object(BUCKET, `env:/eksmade/${key}`)!.body));
  t.is((await tf(tfDir, ['workspace', 'list'])).stdout, '  default\n  eksmade\n* tfmade\n\n');
  t.is((await tf(tfDir, ['workspace', 'select', 'eksmade'])).code, 0);
  const plan = await tf(tfDir, ['plan', '-detailed-exitcode', '-input=false']);
  t.is(plan.code, 0, `terraform plans in eksidp's workspace (locks it, reads it with its digest):\n${out(plan)}`);

  // One folder, both tools: the selection is the folder's .terraform/environment.
  t.is((await eksidp(tfDir, ['workspace', 'show'])).stdout, 'eksmade\n');
  t.is((await eksidp(tfDir, ['workspace', 'select', 'default'])).code, 0);
  t.is((await tf(tfDir, ['workspace', 'show'])).stdout, 'default\n');

  // Terraform deletes eksidp's (empty) workspace, digest item included; eksidp refuses to delete Terraform's
  // while it tracks memory_item.a, then deletes it with --force; both tools then list default alone.
  const tfDelete = await tf(tfDir, ['workspace', 'delete', 'eksmade']);
  t.is(tfDelete.code, 0, out(tfDelete));
  t.is(stored(`env:/eksmade/${key}`), undefined);
  t.is(await servers.item(`${BUCKET}/env:/eksmade/${key}-md5`), undefined);
  t.is((await eksidp(mine, ['workspace', 'select', 'default'])).code, 0);
  const refused = await eksidp(mine, ['workspace', 'delete', 'tfmade']);
  t.regex(refused.stderr, /Workspace is not empty: workspace "tfmade" is currently tracking the following resource instances: memory_item\.a/);
  t.truthy(stored(`env:/tfmade/${key}`));
  t.is((await eksidp(mine, ['workspace', 'delete', 'tfmade', '--force'])).code, 0);
  t.is(stored(`env:/tfmade/${key}`), undefined);
  t.is(await servers.item(`${BUCKET}/env:/tfmade/${key}-md5`), undefined);
  t.is(servers.s3.object(BUCKET, `env:/tfmade/${key}.tflock`), undefined);
  t.is((await tf(tfDir, ['workspace', 'list'])).stdout, '* default\n\n');
});
