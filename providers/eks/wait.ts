import type { Progress } from '../../engine/protocol';
import { formatDuration } from '../../lib/duration';

/** The wait ran past its deadline; `lastStatus` is what EKS said last. */
export class WaitTimeoutError extends Error {
  constructor(what: string, readonly lastStatus: string, readonly afterMs: number) {
    super(`timeout while waiting for ${what} (last status ${lastStatus}, after ${formatDuration(afterMs)})`);
  }
}

/** The caller aborted (Ctrl-C): we stop waiting; what exists is recorded by the caller. */
export class AbortedError extends Error {
  constructor(what: string) {
    super(`interrupted while waiting for ${what}`);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('a delay'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('a delay'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export type WaitContext = {
  /** Absolute time (Date.now()) after which waiting fails. */
  deadline: number;
  initialMs: number;
  maxMs: number;
  signal?: AbortSignal;
  progress?: Progress;
};

/** Exponential backoff with full jitter in [d/2, d]: many waiters do not poll in lockstep. */
export class Backoff {
  private delay: number;
  constructor(private readonly ctx: WaitContext) {
    this.delay = Math.max(1, ctx.initialMs);
  }
  /** Sleeps the next delay (never past the deadline); false when the deadline has passed. */
  async next(what: string): Promise<boolean> {
    const remaining = this.ctx.deadline - Date.now();
    if (remaining <= 0) return false;
    const d = Math.min(remaining, this.delay / 2 + Math.random() * (this.delay / 2));
    this.delay = Math.min(this.ctx.maxMs, this.delay * 2);
    try {
      await sleep(d, this.ctx.signal);
    } catch (e) {
      if (e instanceof AbortedError) throw new AbortedError(what);
      throw e;
    }
    return true;
  }
}

/**
 * Polls `check` until it reports done. Throws WaitTimeoutError past the deadline, AbortedError on abort.
 * Progress goes out when the status changes (the engine adds its own elapsed-time lines).
 */
export async function waitFor<T>(
  what: string,
  ctx: WaitContext,
  check: () => Promise<{ done: true; value: T } | { done: false; status: string }>,
): Promise<T> {
  const started = Date.now();
  const backoff = new Backoff(ctx);
  let last = 'unknown';
  ctx.progress?.(`waiting for ${what}`);
  for (;;) {
    if (ctx.signal?.aborted) throw new AbortedError(what);
    const r = await check();
    if (r.done) return r.value;
    if (r.status !== last) ctx.progress?.(`${what}: ${r.status}`);
    last = r.status;
    if (!(await backoff.next(what))) throw new WaitTimeoutError(what, last, Date.now() - started);
  }
}
