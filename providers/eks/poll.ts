import { AbortedError, WaitTimeoutError, type WaitContext } from './wait';

/**
 * Status polls while EKS updates run, one poller per provider connection, so every wait of a fleet
 * apply learns from the others and shares one polling budget.
 *
 * - The interval adapts to how long updates take: each kind of wait (an association, a
 *   disassociation) remembers when its recent waits were seen done. With that known, a new wait
 *   checks first just before its update should end (0.9x the median) and then every tenth of it,
 *   between a floor of 200 ms and the tuning's maximum: seconds against the emulator, minutes on EKS,
 *   and about one poll per update either way. Until then, the tuning's exponential backoff.
 * - The budget is shared: with `budget()` polls per second allowed (a share of the adaptive API rate,
 *   rate.ts, once the API has throttled), no wait polls more often than waits x 1000 / budget ms.
 */

export const POLL_FLOOR_MS = 200;
/** Durations remembered per kind: recent enough to follow a change in EKS's pace. */
const SAMPLES = 32;

export type PollTuning = { initialMs: number; maxMs: number };
export type PollCheck<T> = () => Promise<{ done: true; value: T } | { done: false; status: string }>;

export class Poller {
  private readonly learned = new Map<string, number[]>();
  /** Waits of each kind asleep between checks, each with a way to wake it early. */
  private readonly sleepers = new Map<string, Set<{ started: number; wake: () => void }>>();
  private waiting = 0;
  private polls = 0;

  /** `budget`: polls per second all waits together may make (Infinity: no limit). */
  constructor(private readonly tuning: PollTuning, private readonly budget: () => number = () => Number.POSITIVE_INFINITY) {}

  /** The floor: 200 ms, or less where the tuning asks for faster polls (tests). */
  get floorMs(): number {
    return Math.min(POLL_FLOOR_MS, this.tuning.initialMs);
  }

  /** How long waits of this kind took recently (median, ms); undefined before any ended. */
  expected(kind: string): number | undefined {
    const s = this.learned.get(kind);
    if (!s || s.length === 0) return undefined;
    const sorted = [...s].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** Polls made so far (all waits). */
  get pollCount(): number {
    return this.polls;
  }

  /**
   * Polls `check` until done, as wait.ts's waitFor does (WaitTimeoutError past the deadline,
   * AbortedError on abort, progress when the status changes). `fresh`: the update was just
   * requested, so its duration is learned from and, once known, the first check waits for it;
   * otherwise (resuming, an object found mid-change) the first check is immediate.
   */
  async wait<T>(kind: string, what: string, ctx: WaitContext, fresh: boolean, check: PollCheck<T>): Promise<T> {
    const started = Date.now();
    let backoff: number | undefined;
    let last = 'unknown';
    let checks = 0;
    /** The last check that found it not done yet (ms since start): the update took longer than that. */
    let notDoneAt: number | undefined;
    ctx.progress?.(`waiting for ${what}`);
    this.waiting++;
    try {
      for (;;) {
        // Learned as we go: the first wave of a fleet's updates learns from whichever ends first.
        const expected = fresh ? this.expected(kind) : undefined;
        const elapsed = Date.now() - started;
        let delay: number;
        if (checks === 0 && !fresh) delay = 0;
        else if (expected !== undefined && elapsed < 0.9 * expected) delay = 0.9 * expected - elapsed;
        else if (expected !== undefined) delay = Math.min(this.tuning.maxMs, Math.max(this.floorMs, expected / 10));
        else {
          // Nothing learned yet: from the tuning's first delay, x1.5 a check up to its maximum, with
          // full jitter (half to all of it): a fleet's first wave probes finely and the first wait
          // seen done wakes the rest.
          backoff = backoff === undefined ? (checks === 0 ? 0 : this.tuning.initialMs) : Math.min(this.tuning.maxMs, backoff * 1.5);
          delay = backoff * (0.5 + Math.random() * 0.5);
        }
        delay = Math.max(delay, this.budgetSpacing());
        // Jitter (up to +20%): a fleet's waits, started together, do not poll in lockstep.
        const d = Math.min(Math.max(0, ctx.deadline - Date.now()), expected === undefined ? delay : delay * (1 + Math.random() * 0.2));
        if (d > 0) await this.nap(kind, started, d, what, ctx.signal);
        if (ctx.signal?.aborted) throw new AbortedError(what);
        this.polls++;
        checks++;
        const r = await check();
        if (r.done) {
          if (fresh) this.remember(kind, started, notDoneAt, Date.now() - started);
          return r.value;
        }
        notDoneAt = Date.now() - started;
        if (r.status !== last) ctx.progress?.(`${what}: ${r.status}`);
        last = r.status;
        if (Date.now() >= ctx.deadline) throw new WaitTimeoutError(what, last, Date.now() - started);
      }
    } finally {
      this.waiting--;
    }
  }

  /** Sleeps `ms`, or less when another wait of the same kind, started no later, has just ended. */
  private nap(kind: string, started: number, ms: number, what: string, signal: AbortSignal | undefined): Promise<void> {
    let set = this.sleepers.get(kind);
    if (!set) this.sleepers.set(kind, (set = new Set()));
    const sleepers = set;
    return new Promise<void>((resolve, reject) => {
      const me = { started, wake: () => {} };
      const stop = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        sleepers.delete(me);
      };
      const onAbort = () => {
        stop();
        reject(new AbortedError(what));
      };
      me.wake = () => {
        stop();
        resolve();
      };
      const timer = setTimeout(me.wake, ms);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      sleepers.add(me);
    });
  }

  /** The shortest interval per wait that keeps all waits together within the budget. */
  private budgetSpacing(): number {
    const b = this.budget();
    return Number.isFinite(b) && b > 0 ? (this.waiting / b) * 1000 : 0;
  }

  /**
   * A wait ended after `doneAt` ms, and was still running at `notDoneAt`: its update took about
   * midway between. Waits of the kind asleep that have run as long are checked now.
   */
  private remember(kind: string, started: number, notDoneAt: number | undefined, doneAt: number): void {
    let s = this.learned.get(kind);
    if (!s) this.learned.set(kind, (s = []));
    s.push(notDoneAt === undefined ? doneAt : (notDoneAt + doneAt) / 2);
    if (s.length > SAMPLES) s.shift();
    for (const w of this.sleepers.get(kind) ?? []) if (w.started <= started) w.wake();
  }
}
