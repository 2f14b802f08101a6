import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * The one way this project writes a file (state and its backup, plan files, reports, the emulator's
 * data): a temp file with a random name beside the target, created exclusively (O_EXCL: a file or
 * symlink planted at that name is never followed or clobbered), written, fsynced, then renamed over
 * the target. rename() replaces a symlink at the target itself, never the file it points to, so a
 * planted `terraform.tfstate.backup -> ~/.bashrc` is replaced, not written through.
 *
 * Temp names are `.<name>.<pid>.<hex>.tmp`, so a reader holding the lock can remove those of writers
 * that died (engine/state.ts removeDeadWritersTempFiles).
 */

export type WriteOptions = {
  /** File mode of the new file (default 0o600: most of what we write holds state or live values). */
  mode?: number;
  /** Also fsync the folder after the rename (durable rename; skipped where not possible). */
  syncDir?: boolean;
  /**
   * fsync the data before the rename (default true). Only a file whose loss on power failure does
   * not matter may skip it (the memory test provider's cloud, rewritten on every call); the temp
   * name stays exclusive and the rename atomic either way.
   */
  fsync?: boolean;
};

export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const tmp = tempNameFor(file);
  const fh = await fsp.open(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, opts.mode ?? 0o600);
  try {
    try {
      await fh.writeFile(data);
      if (opts.fsync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  if (opts.syncDir) await syncDir(path.dirname(file));
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, opts.mode ?? 0o600);
  try {
    try {
      fs.writeFileSync(fd, data);
      if (opts.fsync !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (opts.syncDir) {
    try {
      const dfd = fs.openSync(path.dirname(file), 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch {
      // fsync of a folder is not possible everywhere; the rename itself is atomic.
    }
  }
}

/**
 * Creates `file` only when nothing (file or symlink) has that name, for lock files, where a rename
 * would replace another run's lock: the data is written complete to an exclusive temp name, then
 * hard-linked into place. link() fails with EEXIST on any existing name and never follows a symlink,
 * and no reader ever sees a half-written file.
 */
export function createFileExclusiveSync(file: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const tmp = tempNameFor(file);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, opts.mode ?? 0o600);
  try {
    try {
      fs.writeFileSync(fd, data);
      if (opts.fsync !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await fsp.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // fsync of a folder is not possible everywhere; the rename itself is atomic.
  }
}
