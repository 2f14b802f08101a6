import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { terraform, terraformEnv, terraformTest } from './helpers/terraform';
import { until } from './helpers/wait';

/**
 * The local backend and Terraform (issue 13): Terraform locks a local state with fcntl, which eksidp
 * cannot take, and also writes `.terraform.tfstate.lock.info` beside it, which eksidp reads. So while
 * a real Terraform holds the state, eksidp's apply refuses and says plainly that the exclusion is
 * one-way and that S3 is where both tools honour each other's lock.
 */

terraformTest(test, 'a local state Terraform holds: eksidp apply refuses, naming Terraform, saying Terraform does not see eksidp\'s lock and steering to S3; nothing is applied', async (t) => {
  // Terraform works in `tf` on its default local state; eksidp's stack points its local backend at the same file.
  const tf = tempDir(t, 'eksidp-locallock-tf-');
  const ek = tempDir(t, 'eksidp-locallock-ek-');
  fs.writeFileSync(path.join(tf, 'main.tf.json'), '{}');
  const state = path.join(tf, 'terraform.tfstate');
  fs.writeFileSync(path.join(ek, 'cdk.tf.json'), JSON.stringify({
    terraform: { backend: { local: { path: state } } },
    provider: { memory: [{ path: path.join(ek, 'cloud.json') }] },
    resource: { memory_item: { a: { name: 'a', value: 'one' } } },
  }));
  const eksidp = async () => {
    const io = captureIo(ek);
    return { code: await runCommand(['apply', '--auto-approve', '--dir', ek], io), stderr: io.err() };
  };
  const init = await terraform(tf, ['init', '-input=false', '-no-color']);
  t.is(init.code, 0, init.stdout + init.stderr);

  // `terraform console` holds the state lock until its stdin closes.
  const child = spawn('terraform', ['console', '-no-color'], { cwd: tf, env: terraformEnv(), detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const lockInfo = path.join(tf, '.terraform.tfstate.lock.info');
  await until('Terraform\'s lock info', () => fs.existsSync(lockInfo), 60_000);
  const held = JSON.parse(fs.readFileSync(lockInfo, 'utf8')) as { ID: string; Version: string };
  const stateBefore = fs.readFileSync(state, 'utf8');

  const refused = await eksidp();
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`Terraform holds this local state \\(.*Terraform ${held.Version.replace(/\./g, '\\.')}, .*lock ID ${held.ID}\\)`));
  t.regex(refused.stderr, /Terraform does not see eksidp's: Terraform locks the file with fcntl/);
  t.regex(refused.stderr, /keep it in S3/);
  t.false(fs.existsSync(path.join(ek, 'cloud.json')), 'nothing applied');
  t.is(fs.readFileSync(state, 'utf8'), stateBefore, 'state unchanged');

  child.stdin.end();
  await exited;
  t.false(fs.existsSync(lockInfo), 'Terraform removed its lock info');
  const after = await eksidp();
  t.is(after.code, 0, `eksidp applies once Terraform is done: ${after.stderr}`);
  t.true(fs.existsSync(path.join(ek, 'cloud.json')));
});
