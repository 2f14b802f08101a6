import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFileExclusiveSync } from '../lib/files';
import type { Diagnostic } from './protocol';
import { EngineError, pidAlive } from './util';

/**
 * A lock file next to the state (`.terraform.tfstate.lock.info`, Terraform's local-backend name and
 * fields) created exclusively (lib/files.ts: written whole, then linked into place; an existing file
 * or planted symlink makes it fail), so two eksidp runs never write the same state at once.
 *
 * It does NOT keep out a concurrent Terraform run: Terraform's local backend locks with fcntl on the
 * state file itself and does not look at this file. Terraform does write this file while it holds the
 * state, so eksidp refuses then, saying the exclusion is one-way (README: S3 for teams).
 */

/** Terraform's lock info fields, plus Pid and Host (Terraform ignores extra fields; its own locks have neither). */
/** A lock's Operation for a sentence: Terraform's `OperationTypeApply` reads as `apply`. */
export function operationLabel(op: string): string {
  return /^OperationType[A-Z]/.test(op) ? op.slice('OperationType'.length).toLowerCase() : op;
}

export type LockInfo = { ID: string; Operation: string; Info: string; Who: string; Version: string; Created: string; Path: string; Pid?: number; Host?: string };

/** "user@host pid 123", or just Who for a lock without a pid (Terraform's). */
export function lockHolder(held: LockInfo): string {
  return `${held.Who}${typeof held.Pid === 'number' ? ` pid ${held.Pid}` : ''}`;
}

/**
 * Whether the lock's holder is still running: known only for a lock taken on this host with a pid
 * (eksidp's). A lock Terraform holds has no pid, and a process on another host cannot be checked.
 */
export function lockHolderLiveness(held: LockInfo): 'running' | 'gone' | 'unknown' {
  if (held.Host !== os.hostname() || typeof held.Pid !== 'number') return 'unknown';
  return pidAlive(held.Pid) ? 'running' : 'gone';
}

/** Terraform's own lock info (its local backend writes the same file): a Terraform version and no pid, which eksidp always records. */
export function heldByTerraform(held: LockInfo): boolean {
  return typeof held.Pid !== 'number' && /^\d+\.\d+\.\d+/.test(held.Version);
}

export function lockPath(statePath: string): string {
  return path.join(path.dirname(statePath), `.${path.basename(statePath)}.lock.info`);
}

export function readLock(statePath: string): LockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(lockPath(statePath), 'utf8')) as LockInfo;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new EngineError(`cannot read lock file ${lockPath(statePath)}: ${(e as Error).message}`);
  }
}

export type StateLock = { info: LockInfo; release(): void };

/** The lock is held by another run: `holder` is its lock info (null when it could not be read). */
export class LockHeldError extends EngineError {
  constructor(message: Diagnostic[] | string, readonly holder: LockInfo | null) {
    super(message);
  }
}

export function acquireLock(statePath: string, operation: string): StateLock {
  const file = lockPath(statePath);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = {
    ID: crypto.randomUUID(),
    Operation: operation,
    Info: '',
    Who: `${os.userInfo().username}@${os.hostname()}`,
    Version: 'eksidp',
    Created: new Date().toISOString(),
    Path: statePath,
    Pid: process.pid,
    Host: os.hostname(),
  };
  try {
    // No fsync: the exclusion is link()'s EEXIST, not durability, and Terraform's local backend writes
    // this file without one too (statemgr.Filesystem.writeLockInfo); it cost up to 0.2 s on a busy disk.
    createFileExclusiveSync(file, JSON.stringify(info, null, 2) + '\n', { mode: 0o600, fsync: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new EngineError(`cannot create lock file ${file}: ${(e as Error).message}`);
    let held: LockInfo | null = null;
    try { held = readLock(statePath); } catch { /* unreadable: reported below */ }
    if (!held) throw new EngineError(`Error acquiring the state lock: ${file} exists but is unreadable; remove it by hand if no other run is active`);
    const holder = lockHolder(held);
    if (lockHolderLiveness(held) === 'gone') {
      throw new LockHeldError(`Error acquiring the state lock: the lock is stale: it was taken by ${holder} (${operationLabel(held.Operation)}, ${held.Created}), which is no longer running. If no other run uses this state, remove the lock with: eksidp force-unlock ${held.ID}`, held);
    }
    if (heldByTerraform(held)) {
      throw new LockHeldError(`Error acquiring the state lock: Terraform holds this local state (${held.Who}, Terraform ${held.Version}, ${operationLabel(held.Operation)} since ${held.Created}, lock ID ${held.ID}). ` +
        'Wait for it to finish (if no Terraform run is active, remove the lock with: eksidp force-unlock ' + held.ID + '). ' +
        'On a local state eksidp sees Terraform\'s lock but Terraform does not see eksidp\'s: Terraform locks the file with fcntl, which eksidp cannot take, so a Terraform run started while eksidp applies is not stopped. ' +
        'When both tools work on one state, keep it in S3 (README, "For a team: state in S3"), where each honours the other\'s lock.', held);
    }
    throw new LockHeldError(`Error acquiring the state lock: the state is locked by ${holder} (${operationLabel(held.Operation)} since ${held.Created}, lock ID ${held.ID}). Wait for it to finish.`, held);
  }
  let released = false;
  return {
    info,
    release() {
      if (released) return;
      released = true;
      const cur = (() => { try { return readLock(statePath); } catch { return null; } })();
      if (cur?.ID === info.ID) fs.rmSync(file, { force: true });
    },
  };
}

export function forceUnlock(statePath: string, id: string): LockInfo {
  const held = readLock(statePath);
  if (!held) throw new EngineError(`no lock held on ${statePath}`);
  if (held.ID !== id) throw new EngineError(`lock ID mismatch: the lock on ${statePath} has ID ${held.ID}, not ${id}; nothing was removed`);
  fs.rmSync(lockPath(statePath), { force: true });
  return held;
}
