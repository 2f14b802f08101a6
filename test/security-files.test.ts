import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createFileExclusiveSync, tempNameFor, writeFileAtomic, writeFileAtomicSync } from '../lib/files';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { providerBlock } from './fixtures/drift/fleet';

/**
 * Issue 19, item 5: every file eksidp writes is replaced through lib/files.ts (exclusive random
 * temp name, fsync, rename), so a symlink planted where it writes (the state backup, a plan file, a
 * drift or comment report, the memory provider's file, the state lock, a temp name) is never
 * followed: the symlink's target keeps its bytes and its mode.
 */

const VICTIM_TEXT = '{"victim": "must not change"}\n';

/** A file outside the project the attacker wants overwritten or chmod-ed, mode 0644. */
function victim(t: ExecutionContext): string {
  const dir = tempDir(t, 'eksidp-victim-');
  const file = path.join(dir, 'victim.json');
  fs.writeFileSync(file, VICTIM_TEXT);
  fs.chmodSync(file, 0o644);
  return file;
}

function assertUntouched(t: ExecutionContext, file: string, label: string): void {
  t.is(fs.readFileSync(file, 'utf8'), VICTIM_TEXT, `${label}: the symlink's target was written`);
  t.is(fs.statSync(file).mode & 0o777, 0o644, `${label}: the symlink's target was chmod-ed`);
}

function memoryProject(t: ExecutionContext, value: string): string {
  const dir = tempDir(t, 'eksidp-sec-files-');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: { backend: { local: { path: 'terraform.tfstate' } } },
    // Absolute: the memory provider resolves its path against the process's folder.
    provider: { memory: [{ path: path.join(dir, 'cloud.json') }] },
    resource: { memory_item: { a: { name: 'a', value } } },
  }));
  return dir;
}

async function eksidp(dir: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true' });
  const code = await runCommand(argv, io);
  return { code, out: io.out(), err: io.err() };
}

test('apply with a symlink planted at terraform.tfstate.backup replaces the link, never writes or chmods its target', async (t) => {
  const dir = memoryProject(t, 'one');
  t.is((await eksidp(dir, ['apply', '--dir', '.', '--auto-approve'])).code, 0);
  const target = victim(t);
  fs.symlinkSync(target, path.join(dir, 'terraform.tfstate.backup'));
  // The memory provider's own file too: a link to a copy of it, so reading it works.
  const cloudTarget = victim(t);
  fs.writeFileSync(cloudTarget, fs.readFileSync(path.join(dir, 'cloud.json')));
  const cloudBytes = fs.readFileSync(cloudTarget, 'utf8');
  fs.rmSync(path.join(dir, 'cloud.json'));
  fs.symlinkSync(cloudTarget, path.join(dir, 'cloud.json'));

  memoryProjectValue(dir, 'two');
  const r = await eksidp(dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(r.code, 0, r.err);
  assertUntouched(t, target, 'terraform.tfstate.backup');
  const backup = fs.lstatSync(path.join(dir, 'terraform.tfstate.backup'));
  t.true(backup.isFile() && !backup.isSymbolicLink());
  t.is(backup.mode & 0o777, 0o600);
  t.is((JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate.backup'), 'utf8')) as { serial: number }).serial, 1, 'the backup holds the previous state');
  t.is(fs.readFileSync(cloudTarget, 'utf8'), cloudBytes, 'the memory provider wrote through its planted link');
  t.false(fs.lstatSync(path.join(dir, 'cloud.json')).isSymbolicLink());
});

function memoryProjectValue(dir: string, value: string): void {
  const file = path.join(dir, 'cdk.tf.json');
  const stack = JSON.parse(fs.readFileSync(file, 'utf8')) as { resource: { memory_item: { a: { value: string } } } };
  stack.resource.memory_item.a.value = value;
  fs.writeFileSync(file, JSON.stringify(stack));
}

test('plan --out onto a planted symlink (to a file, or dangling) writes a new 0600 plan file, never the link\'s target', async (t) => {
  const dir = memoryProject(t, 'one');
  const target = victim(t);
  fs.symlinkSync(target, path.join(dir, 'tfplan'));
  const dangling = path.join(path.dirname(target), 'created-by-attack.json');
  fs.symlinkSync(dangling, path.join(dir, 'tfplan2'));
  for (const out of ['tfplan', 'tfplan2']) {
    const r = await eksidp(dir, ['plan', '--dir', '.', '--out', out]);
    t.is(r.code, 0, r.err);
    const st = fs.lstatSync(path.join(dir, out));
    t.true(st.isFile() && !st.isSymbolicLink(), out);
    t.is(st.mode & 0o777, 0o600, out);
  }
  assertUntouched(t, target, 'plan file');
  t.false(fs.existsSync(dangling), 'a dangling link\'s target is not created');
  // And the plan file is whole: it applies.
  const applied = await eksidp(dir, ['apply', 'tfplan']);
  t.is(applied.code, 0, applied.err);
});

test('drift --out and pr-comment --out onto planted symlinks replace the links, never write their targets', async (t) => {
  const dir = tempDir(t, 'eksidp-sec-files-');
  // A stack with nothing to read: drift finishes at once, in sync.
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { aws: [providerBlock('http://127.0.0.1:9')] } }));
  const targets: Record<string, string> = {};
  for (const f of ['drift.json', 'drift.md', 'comment.md']) {
    targets[f] = victim(t);
    fs.symlinkSync(targets[f]!, path.join(dir, f));
  }
  t.is((await eksidp(dir, ['drift', '--dir', '.', '--format', 'json', '--out', 'drift.json'])).code, 0);
  t.is((await eksidp(dir, ['drift', '--dir', '.', '--format', 'markdown', '--out', 'drift.md'])).code, 0);
  fs.writeFileSync(path.join(dir, 'plan.txt'), 'No changes.\n');
  t.is((await eksidp(dir, ['pr-comment', '--plan', 'plan.txt', '--plan-exit', '0', '--drift', 'drift.md', '--drift-exit', '0', '--out', 'comment.md'])).code, 0);
  for (const [f, target] of Object.entries(targets)) {
    assertUntouched(t, target, f);
    t.false(fs.lstatSync(path.join(dir, f)).isSymbolicLink(), f);
  }
  t.regex(fs.readFileSync(path.join(dir, 'comment.md'), 'utf8'), /### eksidp drift/);
});

test('a symlink planted at the state lock makes apply refuse (the lock cannot be taken), its target untouched', async (t) => {
  const dir = memoryProject(t, 'one');
  const target = victim(t);
  fs.symlinkSync(target, path.join(dir, '.terraform.tfstate.lock.info'));
  const r = await eksidp(dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(r.code, 1);
  t.regex(r.err, /Error acquiring the state lock: /);
  assertUntouched(t, target, 'lock');
  t.false(fs.existsSync(path.join(dir, 'terraform.tfstate')), 'nothing applied');
});

/** Makes the next temp names predictable (the attacker's best case), for one test. */
function predictableTempNames(t: ExecutionContext): void {
  const real = crypto.randomBytes;
  (crypto as { randomBytes: (n: number) => Buffer }).randomBytes = (n: number) => Buffer.alloc(n, 0xab);
  t.teardown(() => { (crypto as { randomBytes: typeof real }).randomBytes = real; });
}

test('a symlink planted at the temp name the writer will use makes the write fail; neither target nor file is written', async (t) => {
  predictableTempNames(t);
  const dir = tempDir(t, 'eksidp-sec-tmp-');
  const file = path.join(dir, 'terraform.tfstate');
  const tmp = tempNameFor(file);
  t.is(tempNameFor(file), tmp, 'the temp name is predicted');
  const target = victim(t);
  fs.symlinkSync(target, tmp);
  t.throws(() => writeFileAtomicSync(file, 'state'), { code: 'EEXIST' });
  await t.throwsAsync(writeFileAtomic(file, 'state'), { code: 'EEXIST' });
  t.throws(() => createFileExclusiveSync(file, 'lock'), { code: 'EEXIST' });
  assertUntouched(t, target, 'temp name');
  t.false(fs.existsSync(file));
  // A dangling link at the temp name: its target is not created either.
  fs.rmSync(tmp);
  const dangling = path.join(dir, 'elsewhere');
  fs.symlinkSync(dangling, tmp);
  t.throws(() => writeFileAtomicSync(file, 'state'), { code: 'EEXIST' });
  t.false(fs.existsSync(dangling));
});

test('createFileExclusiveSync creates a whole file or fails on any existing name (file, link, dangling link) without touching it', (t) => {
  const dir = tempDir(t, 'eksidp-sec-excl-');
  const file = path.join(dir, 'lock');
  createFileExclusiveSync(file, 'first', { mode: 0o600 });
  t.is(fs.readFileSync(file, 'utf8'), 'first');
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  t.throws(() => createFileExclusiveSync(file, 'second'), { code: 'EEXIST' });
  t.is(fs.readFileSync(file, 'utf8'), 'first');
  const target = victim(t);
  fs.symlinkSync(target, path.join(dir, 'link'));
  t.throws(() => createFileExclusiveSync(path.join(dir, 'link'), 'x'), { code: 'EEXIST' });
  assertUntouched(t, target, 'lock link');
  t.deepEqual(fs.readdirSync(dir).sort(), ['link', 'lock'], 'no temp file left behind');
});
