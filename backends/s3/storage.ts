import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import { LockHeldError, type LockInfo } from '../../engine/lock';
import type { Diagnostic } from '../../engine/protocol';
import { emptyState, parseState, stateText, type StateV4 } from '../../engine/state';
import type { Backend, LockHandle, StateStorage } from '../../engine/statemgr';
import { EngineError } from '../../engine/util';
import { AwsApi, AwsCallError } from './api';
import type { S3Settings } from './settings';

/**
 * Terraform 1.11's S3 backend (internal/backend/remote-state/s3/client.go and backend_state.go), so
 * Terraform and eksidp share one bucket: the same object keys, the same `.tflock` object and
 * DynamoDB items, the same lock info JSON, the same digest check. See FACTS.md's S3 section.
 */

/** Terraform's consistency retry: a digest that differs is read again every 2 s for 10 s. */
export const DIGEST_RETRY = { timeoutMs: 10_000, pollMs: 2_000 };

const md5Hex = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** Terraform's LockInfo JSON (statemgr.LockInfo): these fields, in this order. */
function lockJson(info: LockInfo): string {
  const { ID, Operation, Info, Who, Version, Created, Path } = info;
  return JSON.stringify({ ID, Operation, Info, Who, Version, Created, Path });
}

function parseLock(text: string | undefined): LockInfo | null {
  if (!text) return null;
  try {
    const j = JSON.parse(text) as Partial<LockInfo>;
    return typeof j === 'object' && j !== null && typeof j.ID === 'string' && j.ID !== '' ? (j as LockInfo) : null;
  } catch {
    return null;
  }
}

/**
 * Terraform's "Error acquiring the state lock" with its Lock Info fields, on one line: diagnostics
 * are printed one line each (they carry server text).
 */
export function lockErrorDiagnostic(cause: string, held: LockInfo | null): Diagnostic {
  const info = held
    ? `; Lock Info: ID: ${held.ID}, Path: ${held.Path}, Operation: ${held.Operation}, Who: ${held.Who}, Version: ${held.Version}, Created: ${held.Created}, Info: ${held.Info}. ` +
      `Wait for that run to finish (--lock-timeout waits), or if it died remove its lock with: eksidp force-unlock ${held.ID}`
    : '';
  return { severity: 'error', summary: `Error acquiring the state lock: ${cause}${info}` };
}

/** Terraform's badChecksumError text, on one line. */
function badChecksum(bucket: string, key: string, digest: string, expected: string): string {
  const resolution = digest
    ? `If this problem persists, and neither S3 nor DynamoDB are experiencing an outage, you may need to manually verify the remote state and update the Digest value stored in the DynamoDB table to the following value: ${digest}`
    : 'If this problem persists, and neither S3 nor DynamoDB are experiencing an outage, you may need to manually verify the remote state and remove the Digest value stored in the DynamoDB table';
  return `state data in S3 does not have the expected content. The checksum calculated for the state stored in S3 does not match the checksum stored in DynamoDB. Bucket: ${bucket}, Key: ${key}, Calculated checksum: ${digest}, Stored checksum: ${expected}. ` +
    `This may be caused by unusually long delays in S3 processing a previous state update. Please wait for a minute or two and try again. ${resolution}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class S3Storage implements StateStorage {
  readonly local = false;
  readonly location: string;
  /** `<bucket>/<key>`: the DynamoDB LockID and the lock info's Path. */
  private readonly lockPath: string;
  private readonly lockKey: string;

  constructor(private readonly api: AwsApi, private readonly s: S3Settings, readonly key: string) {
    this.location = `s3://${s.bucket}/${key}`;
    this.lockPath = `${s.bucket}/${key}`;
    this.lockKey = `${key}.tflock`;
  }

  private async storedDigest(): Promise<string> {
    if (!this.s.dynamodbTable) return '';
    try {
      const item = await this.api.getItem(this.s.dynamodbTable, `${this.lockPath}-md5`);
      return item?.Digest?.S ?? '';
    } catch {
      // As Terraform: a digest that cannot be read is skipped (it only logs a warning).
      return '';
    }
  }

  async refresh(): Promise<StateV4 | null> {
    const deadline = Date.now() + DIGEST_RETRY.timeoutMs;
    for (;;) {
      let body: Buffer | undefined;
      try {
        body = await this.api.getObject(this.key);
      } catch (e) {
        throw new EngineError(`cannot read state ${this.location}: ${(e as Error).message}`);
      }
      const expected = await this.storedDigest();
      const digest = body && body.length > 0 ? md5Hex(body) : '';
      if (expected !== '' && expected !== digest) {
        if (Date.now() < deadline) {
          await sleep(DIGEST_RETRY.pollMs);
          continue;
        }
        throw new EngineError(badChecksum(this.s.bucket, this.key, digest, expected));
      }
      return body ? parseState(body.toString('utf8'), `state ${this.location}`) : null;
    }
  }

  async persist(state: StateV4): Promise<void> {
    const text = stateText(state);
    try {
      await this.api.putObject(this.key, text);
    } catch (e) {
      throw new EngineError(`failed to upload state to ${this.location}: ${(e as Error).message}`);
    }
    if (!this.s.dynamodbTable) return;
    try {
      await this.api.putItem(this.s.dynamodbTable, { LockID: { S: `${this.lockPath}-md5` }, Digest: { S: md5Hex(text) } });
    } catch (e) {
      // As Terraform: the next read would fail the digest check, so this is an error too.
      throw new EngineError(`failed to store state MD5 in ${this.s.dynamodbTable}: ${(e as Error).message}`);
    }
  }

  async lock(operation: string): Promise<LockHandle> {
    if (!this.s.useLockfile && !this.s.dynamodbTable) {
      // Neither use_lockfile nor dynamodb_table: Terraform takes no lock then, and neither does eksidp.
      return { info: this.newInfo(operation), unlock: async () => {} };
    }
    const info = this.newInfo(operation);
    if (this.s.useLockfile) await this.lockWithFile(info);
    if (this.s.dynamodbTable) {
      try {
        await this.lockWithDynamo(info);
      } catch (e) {
        // Both must hold: the file lock is given back when the DynamoDB one cannot be taken.
        if (this.s.useLockfile) await this.unlockFile(info.ID).catch(() => undefined);
        throw e;
      }
    }
    let released = false;
    return {
      info,
      unlock: async () => {
        if (released) return;
        released = true;
        await this.unlock(info.ID);
      },
    };
  }

  private newInfo(operation: string): LockInfo {
    return {
      ID: randomUUID(), Operation: operation, Info: '', Who: `${os.userInfo().username}@${os.hostname()}`,
      Version: 'eksidp', Created: new Date().toISOString(), Path: this.lockPath,
    };
  }

  private async lockWithFile(info: LockInfo): Promise<void> {
    try {
      await this.api.putObject(this.lockKey, lockJson(info), { ifNoneMatch: true });
    } catch (e) {
      const held = await this.fileLockInfo().catch(() => null);
      const cause = (e as Error).message;
      if (held || (e instanceof AwsCallError && (e.status === 412 || e.status === 409))) throw new LockHeldError([lockErrorDiagnostic(cause, held)], held);
      throw new EngineError([lockErrorDiagnostic(cause, null)]);
    }
  }

  private async lockWithDynamo(info: LockInfo): Promise<void> {
    const table = this.s.dynamodbTable!;
    try {
      await this.api.putItem(table, { LockID: { S: this.lockPath }, Info: { S: lockJson(info) } }, { ifAbsent: true });
    } catch (e) {
      const held = await this.dynamoLockInfo().catch(() => null);
      const cause = (e as Error).message;
      if (held || (e instanceof AwsCallError && e.code === 'ConditionalCheckFailedException')) throw new LockHeldError([lockErrorDiagnostic(cause, held)], held);
      throw new EngineError([lockErrorDiagnostic(cause, null)]);
    }
  }

  private async fileLockInfo(): Promise<LockInfo | null> {
    const body = await this.api.getObject(this.lockKey);
    return parseLock(body?.toString('utf8'));
  }

  private async dynamoLockInfo(): Promise<LockInfo | null> {
    const item = await this.api.getItem(this.s.dynamodbTable!, this.lockPath);
    return parseLock(item?.Info?.S);
  }

  async lockInfo(): Promise<LockInfo | null> {
    if (this.s.useLockfile) {
      const held = await this.fileLockInfo();
      if (held) return held;
    }
    return this.s.dynamodbTable ? this.dynamoLockInfo() : null;
  }

  private async unlockFile(id: string): Promise<void> {
    const held = await this.fileLockInfo();
    if (!held) throw new Error(`no lock file ${this.lockKey} in bucket ${this.s.bucket}`);
    if (held.ID !== id) throw new Error(`lock ID "${id}" does not match existing lock ("${held.ID}")`);
    await this.api.deleteObject(this.lockKey);
  }

  private async unlockDynamo(id: string): Promise<void> {
    const held = await this.dynamoLockInfo();
    if (!held) throw new Error(`no lock item ${this.lockPath} in table ${this.s.dynamodbTable}`);
    if (held.ID !== id) throw new Error(`lock ID "${id}" does not match existing lock ("${held.ID}")`);
    await this.api.deleteItem(this.s.dynamodbTable!, this.lockPath);
  }

  /** Terraform's Unlock: each lock in use checked against the ID, then removed; both tried in double mode. */
  private async unlock(id: string): Promise<void> {
    const errors: string[] = [];
    if (this.s.useLockfile) await this.unlockFile(id).catch((e: Error) => errors.push(`S3: ${e.message}`));
    if (this.s.dynamodbTable) await this.unlockDynamo(id).catch((e: Error) => errors.push(`DynamoDB: ${e.message}`));
    if (errors.length) throw new EngineError(`failed to unlock the state ${this.location}: ${errors.join('; ')}`);
  }

  async forceUnlock(id: string): Promise<LockInfo> {
    const held = await this.lockInfo();
    if (!held) throw new EngineError(`no lock held on ${this.location}`);
    if (held.ID !== id) throw new EngineError(`lock ID mismatch: the lock on ${this.location} has ID ${held.ID}, not ${id}; nothing was removed`);
    await this.unlock(id);
    return held;
  }
}

export class S3Backend implements Backend {
  readonly kind = 's3';
  constructor(private readonly api: AwsApi, private readonly s: S3Settings) {}

  /** `key` for default; else `<workspace_key_prefix>/<workspace>/<key>` (an empty prefix gives `<workspace>/<key>`). */
  keyFor(workspace: string): string {
    if (workspace === 'default') return this.s.key;
    return [this.s.workspaceKeyPrefix, workspace, this.s.key].filter((p) => p !== '').join('/');
  }

  storage(workspace: string): S3Storage {
    return new S3Storage(this.api, this.s, this.keyFor(workspace));
  }

  /** As Terraform's Workspaces(): default first, then the keys under the prefix that are exactly `<prefix>/<ws>/<key>`, sorted. */
  async workspaces(): Promise<string[]> {
    const prefix = this.s.workspaceKeyPrefix === '' ? '' : `${this.s.workspaceKeyPrefix}/`;
    const found = new Set<string>(['default']);
    for (const k of await this.api.listKeys(prefix)) {
      const rest = k.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash <= 0) continue;
      const ws = rest.slice(0, slash);
      if (rest.slice(slash + 1) === this.s.key) found.add(ws);
    }
    found.delete('default');
    return ['default', ...[...found].sort()];
  }

  /**
   * As Terraform's StateMgr for a workspace not listed yet: under the lock (operation "init"), an
   * empty state (serial 1, a new lineage) is stored unless one appeared meanwhile, so the workspace lists.
   */
  async createWorkspace(name: string): Promise<void> {
    if ((await this.workspaces()).includes(name)) return;
    const storage = this.storage(name);
    const lock = await storage.lock('init');
    try {
      if (!(await storage.refresh())) await storage.persist({ ...emptyState(), serial: 1 });
    } finally {
      await lock.unlock();
    }
  }

  async deleteWorkspace(name: string): Promise<void> {
    if (name === 'default') throw new EngineError('the default workspace cannot be deleted');
    const key = this.keyFor(name);
    await this.api.deleteObject(key);
    if (this.s.dynamodbTable) await this.api.deleteItem(this.s.dynamodbTable, `${this.s.bucket}/${key}-md5`);
  }

  close(): Promise<void> {
    return this.api.close();
  }
}
