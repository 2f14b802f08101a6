import { AbortedError, Backoff, sleep, WaitTimeoutError, type WaitContext } from './wait';

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
    const expected = fresh ? this.expected(kind) : undefined;
    const backoff = new Backoff(ctx);
    let last = 'unknown';
    let first = true;
    ctx.progress?.(`waiting for ${what}`);
    this.waiting++;
    try {
      for (;;) {
        let delay: number | undefined;
        if (first && expected !== undefined) delay = 0.9 * expected;
        else if (!first && expected !== undefined) delay = Math.min(this.tuning.maxMs, Math.max(this.floorMs, expected / 10));
        first = false;
        if (delay !== undefined || this.budgetSpacing() > 0) {
          const spaced = Math.max(delay ?? 0, this.budgetSpacing());
          // Jitter (up to +20%): a fleet's waits, started together, do not poll in lockstep.
          const d = Math.min(Math.max(0, ctx.deadline - Date.now()), spaced * (1 + Math.random() * 0.2));
          if (d > 0) await sleep(d, ctx.signal).catch((e: unknown) => { throw e instanceof AbortedError ? new AbortedError(what) : e; });
        }
        if (ctx.signal?.aborted) throw new AbortedError(what);
        this.polls++;
        const r = await check();
        if (r.done) {
          if (fresh) this.remember(kind, Date.now() - started);
          return r.value;
        }
        if (r.status !== last) ctx.progress?.(`${what}: ${r.status}`);
        last = r.status;
        if (Date.now() >= ctx.deadline) throw new WaitTimeoutError(what, last, Date.now() - started);
        // No learned duration yet: the tuning's backoff (with its own jitter) paces the checks.
        if (expected === undefined && !(await backoff.next(what))) throw new WaitTimeoutError(what, last, Date.now() - started);
      }
    } finally {
      this.waiting--;
    }
  }

  /** The shortest interval per wait that keeps all waits together within the budget. */
  private budgetSpacing(): number {
    const b = this.budget();
    return Number.isFinite(b) && b > 0 ? (this.waiting / b) * 1000 : 0;
  }

  private remember(kind: string, ms: number): void {
    let s = this.learned.get(kind);
    if (!s) this.learned.set(kind, (s = []));
    s.push(ms);
    if (s.length > SAMPLES) s.shift();
  }
}
