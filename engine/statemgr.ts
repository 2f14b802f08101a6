import { LockHeldError, type LockInfo } from './lock';
import type { StateV4 } from './state';

/**
 * Where a state is kept, as small interfaces with written contracts (OpenTofu's statemgr Refresher,
 * Persister, Locker). The engine's StateManager holds the state of one run and writes through a
 * StateStorage; which storage is the stack's `terraform.backend` block's choice (engine/config.ts
 * parses it, backends/ builds the storage). Locking is apart from the content: a storage may lock
 * while another run reads.
 */

/** Reads what is stored now. */
export interface StateRefresher {
  /** The stored state, or null when there is none (absent or empty). Never cached: each call reads, and the object returned is the caller's (StateManager keeps it without a copy). */
  refresh(): Promise<StateV4 | null>;
}

/** Stores a state. */
export interface StatePersister {
  /**
   * Stores exactly this state (serial and lineage are the caller's). On success the stored state is
   * this one; on failure the stored state is the previous one or this one, never a mix.
   */
  persist(state: StateV4): Promise<void>;
}

/** A lock taken: `unlock()` releases it if it is still this lock (an ID taken over is left alone). */
export type LockHandle = { readonly info: LockInfo; unlock(): Promise<void> };

/** Excludes other writers (eksidp's and, where the storage allows, Terraform's). */
export interface StateLocker {
  /**
   * Takes the lock for `operation` or fails at once: a LockHeldError naming the holder when another
   * run holds it, another error when the lock cannot be read or written.
   */
  lock(operation: string): Promise<LockHandle>;
  /** The lock's holder, or null when the state is not locked. */
  lockInfo(): Promise<LockInfo | null>;
  /** Removes the lock whose ID is `id` (Terraform's force-unlock); any other ID is an error and nothing is removed. */
  forceUnlock(id: string): Promise<LockInfo>;
}

export interface StateStorage extends StateRefresher, StatePersister, StateLocker {
  /** Where the state lives, for messages: an absolute path, or `s3://bucket/key`. */
  readonly location: string;
  /** Whether the state is on this machine's disk (a failed remote write is then kept in errored.tfstate). */
  readonly local: boolean;
}

/** A backend: one storage per workspace (`default` at the configured place). */
export interface Backend {
  readonly kind: string;
  storage(workspace: string): StateStorage;
  /** The workspaces that exist: `default` first (always), then the others sorted, as Terraform lists them. */
  workspaces(): Promise<string[]>;
  /**
   * Makes a workspace exist as Terraform's backend does when it first opens one (`workspace new`):
   * the local backend makes its folder, S3 stores an empty state under the lock. An existing one is left alone.
   */
  createWorkspace(name: string): Promise<void>;
  /** Removes a workspace's state (never `default`); its lock must be held by the caller or absent. */
  deleteWorkspace(name: string): Promise<void>;
  /** Closes its connections. */
  close(): Promise<void>;
}

/**
 * The lock info's Operation as Terraform writes it, so either tool's "lock held" message reads the same:
 * backend operations write their type (`OperationTypeApply` for apply and destroy, `OperationTypePlan`;
 * import runs as `OperationTypeInvalid`), state commands their name (internal/command/state_*.go).
 */
const TERRAFORM_OPERATIONS: Record<string, string> = {
  apply: 'OperationTypeApply', destroy: 'OperationTypeApply', plan: 'OperationTypePlan', import: 'OperationTypeInvalid',
  'state push': 'state-push', 'state rm': 'state-rm', 'state mv': 'state-mv', 'workspace delete': 'workspace-delete',
};

/**
 * Terraform's lock retry (statemgr.LockWithContext): a held lock is asked for again after 1 s, then
 * 2, 4, 8, 16 s apart, until `timeoutMs` is spent; 0 fails at once. Other errors fail at once.
 */
export async function lockWithTimeout(locker: StateLocker, operation: string, timeoutMs: number, opts: { signal?: AbortSignal; onWait?: (held: LockHeldError) => void } = {}): Promise<LockHandle> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1000;
  let told = false;
  for (;;) {
    try {
      return await locker.lock(TERRAFORM_OPERATIONS[operation] ?? operation);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted) throw e;
      if (!told) opts.onWait?.(e);
      told = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(delay, left));
        function done() {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        }
        opts.signal?.addEventListener('abort', done, { once: true });
      });
      delay = Math.min(delay * 2, 16_000);
    }
  }
}

export { LockHeldError };
