import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';

/**
 * force-unlock asks first, as Terraform does: at a terminal only 'yes' removes the lock; --force skips
 * the question; without a terminal and without --force it exits 1 and keeps the lock. The question says
 * whether the holder is known to be running (same host, process alive), gone, or unknown (Terraform's
 * locks have no pid).
 */

function stack(t: ExecutionContext): { dir: string; lockFile: string; lock(info: Record<string, unknown>): void } {
  const dir = tempDir(t, 'eksidp-unlock-');
  // An absolute path: the memory provider resolves a relative one against the process's folder.
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { memory: [{ path: path.join(dir, 'cloud.json') }] }, resource: { memory_item: { a: { name: 'a' } } } }));
  const lockFile = path.join(dir, '.terraform.tfstate.lock.info');
  return { dir, lockFile, lock: (info) => fs.writeFileSync(lockFile, JSON.stringify({ ID: 'lock-1', Operation: 'OperationTypeApply', Who: 'ann@build-7', Version: '1.11.4', Created: '2026-11-30T08:00:00Z', Path: 'terraform.tfstate', Info: '', ...info })) };
}

/** A terminal on stdin that answers `answer` (or never answers, when undefined). */
function tty(answer?: string): PassThrough & { isTTY: boolean } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  if (answer !== undefined) setImmediate(() => stdin.write(`${answer}\n`));
  return stdin;
}

const LIVE = { Pid: process.pid, Host: os.hostname(), Who: 'ann@this-host', Version: 'eksidp', Operation: 'apply' };
const DEAD = { Pid: 2 ** 22 + 4321, Host: os.hostname(), Version: 'eksidp', Operation: 'apply' };

test('without a terminal and without --force: exit 1, the lock is kept, and the message says the holder is running', async (t) => {
  const s = stack(t);
  s.lock(LIVE);
  const io = captureIo(s.dir);
  t.is(await runCommand(['force-unlock', 'lock-1', '--dir', '.'], io), 1);
  t.regex(io.err(), /refusing to force-unlock without confirmation: stdin is not a terminal; the lock lock-1 \(held by ann@this-host pid \d+ for apply\) is kept\. That process is STILL RUNNING on this host.*Pass --force/);
  t.true(fs.existsSync(s.lockFile));
});

test('at a terminal the question names the holder and says it is still running; anything but yes keeps the lock', async (t) => {
  const s = stack(t);
  s.lock(LIVE);
  const io = { ...captureIo(s.dir), stdin: tty('y') };
  t.is(await runCommand(['force-unlock', 'lock-1', '--dir', '.'], io), 1);
  t.regex(io.err(), /Do you really want to force-unlock\?\n {2}eksidp will remove the lock on the state terraform\.tfstate,\n {2}held by ann@this-host pid \d+ for apply since 2026-11-30T08:00:00Z \(lock ID lock-1\)\.\n {2}That process is STILL RUNNING on this host[^\n]*\n {2}[^\n]*Only 'yes' will be accepted to confirm\.\n\n {2}Enter a value: /);
  t.regex(io.err(), /force-unlock cancelled\. The lock is kept\./);
  t.true(fs.existsSync(s.lockFile));
});

test('at a terminal, yes removes the lock; a holder that is gone is said to be gone', async (t) => {
  const s = stack(t);
  s.lock(DEAD);
  const io = { ...captureIo(s.dir), stdin: tty('yes') };
  t.is(await runCommand(['force-unlock', 'lock-1', '--dir', '.'], io), 0, io.err());
  t.regex(io.err(), /That process is no longer running on this host\./);
  t.regex(io.out(), /eksidp state has been successfully unlocked!\n\nThe lock lock-1 \(held by ann@build-7 pid \d+ for apply\) has been removed/);
  t.false(fs.existsSync(s.lockFile));
});

test('a lock Terraform holds (no pid, no host): liveness unknown, no "pid undefined"', async (t) => {
  const s = stack(t);
  s.lock({});
  const io = { ...captureIo(s.dir), stdin: tty('yes') };
  t.is(await runCommand(['force-unlock', 'lock-1', '--dir', '.'], io), 0, io.err());
  t.regex(io.err(), /held by ann@build-7 for apply since .*\n {2}Whether the holder is still running is unknown \(a lock taken by Terraform/);
  t.notRegex(io.err() + io.out(), /undefined/);
  t.false(fs.existsSync(s.lockFile));
});

test('--force removes the lock without asking, warning when the holder is still running', async (t) => {
  const s = stack(t);
  s.lock(LIVE);
  const io = captureIo(s.dir);
  t.is(await runCommand(['force-unlock', 'lock-1', '--dir', '.', '--force'], io), 0, io.err());
  t.notRegex(io.err(), /Do you really want/);
  t.regex(io.err(), /Warning: removing the lock of ann@this-host pid \d+, which is still running on this host/);
  t.false(fs.existsSync(s.lockFile));
});

test('a wrong lock ID removes nothing, even with --force', async (t) => {
  const s = stack(t);
  s.lock(DEAD);
  const io = captureIo(s.dir);
  t.is(await runCommand(['force-unlock', 'other', '--dir', '.', '--force'], io), 1);
  t.regex(io.err(), /lock ID mismatch: .* has ID lock-1, not other; nothing was removed/);
  t.true(fs.existsSync(s.lockFile));
});

test('apply asks on the terminal given through Io (not process.stdin): yes applies, no cancels', async (t) => {
  const s = stack(t);
  const no = { ...captureIo(s.dir), stdin: tty('no') };
  t.is(await runCommand(['apply', '--dir', '.'], no), 1);
  t.regex(no.err(), /Do you want to perform these actions\?\n {2}eksidp will perform the actions described above\.\n {2}Only 'yes' will be accepted to approve\.\n\n {2}Enter a value: \nApply cancelled\./);
  t.false(fs.existsSync(path.join(s.dir, 'terraform.tfstate')));
  const yes = { ...captureIo(s.dir), stdin: tty('yes') };
  t.is(await runCommand(['apply', '--dir', '.'], yes), 0, yes.err());
  t.regex(yes.out(), /Apply complete! Resources: 1 added/);
});
