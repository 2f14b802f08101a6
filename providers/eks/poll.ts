import { AbortedError, WaitTimeoutError, type WaitContext } from './wait';

/**
 * Status polls while EKS updates run, one poller per provider connection, so every wait of a fleet
 * apply learns from the others and shares one polling budget.
 *
 * - The interval adapts to how long updates take: each kind of wait (an association, a
 *   disassociation) remembers when its recent waits were seen done. With that known, a new wait
 *   checks first just before its update should end (0.9x the median, +0-20% jitter) and then every tenth of it,
 *   between a floor of 200 ms and the tuning's maximum: seconds against the emulator, minutes on EKS,
 *   and about one poll per update either way. Until then, a few waits of the kind (PROBES) poll on the
 *   tuning's exponential backoff and the others sleep; when one ends, every wait plans again with what
 *   it learned (those started no later check at once).
 * - The budget is shared: with `budget()` polls per second allowed (the adaptive API rate, rate.ts,
 *   once the API has throttled), no wait polls more often than waits x 1000 / budget ms; and a poll
 *   is sent only with a token no other request wants (`spare`), so writes go first and polls take
 *   the rest of the rate, all of it once no write is left (a fleet's last wave).
 */

export const POLL_FLOOR_MS = 200;
/** Waits per kind that poll before any has ended; the others wait to learn from them. */
const PROBES = 3;
/** Durations remembered per kind: recent enough to follow a change in EKS's pace. */
const SAMPLES = 32;

export type PollTuning = { initialMs: number; maxMs: number };
export type PollCheck<T> = () => Promise<{ done: true; value: T } | { done: false; status: string }>;

export class Poller {
  private readonly learned = new Map<string, number[]>();
  /** The median of `learned`, kept until the next sample (every loop of every wait asks). */
  private readonly medians = new Map<string, number>();
  /** Waits of each kind asleep between checks, each with a way to wake it early. */
  private readonly sleepers = new Map<string, Set<{ started: number; wake: (how: 'slept' | 'woken' | 'replan') => void; learned: boolean }>>();
  /** Waits of each kind polling on the backoff because nothing is learned yet (at most PROBES). */
  private readonly probers = new Map<string, number>();
  private waiting = 0;
  private polls = 0;

  /**
   * `budget`: polls per second all waits together may make (Infinity: no limit). `spare`: resolves
   * when the API's rate has a token no other request wants (rate.ts whenSpare); undefined when a poll
   * may go at once.
   */
  constructor(
    private readonly tuning: PollTuning,
    private readonly budget: () => number = () => Number.POSITIVE_INFINITY,
    private readonly spare?: (signal: AbortSignal | undefined) => Promise<void> | undefined,
  ) {}

  /** The floor: 200 ms, or less where the tuning asks for faster polls (tests). */
  get floorMs(): number {
    return Math.min(POLL_FLOOR_MS, this.tuning.initialMs);
  }

  /** How long waits of this kind took recently (median, ms); undefined before any ended. */
  expected(kind: string): number | undefined {
    let m = this.medians.get(kind);
    if (m === undefined) {
      const s = this.learned.get(kind);
      if (!s || s.length === 0) return undefined;
      const sorted = [...s].sort((a, b) => a - b);
      this.medians.set(kind, (m = sorted[Math.floor(sorted.length / 2)]!));
    }
    return m;
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
    /** Woken because a wait of the kind ended: the next delay is planned again, not polled at once. */
    let replan = false;
    /** Probing (polling on the backoff before anything is learned): a few waits per kind, not all. */
    let probing = false;
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
        else if (expected !== undefined) delay = replan ? 0 : Math.min(this.tuning.maxMs, Math.max(this.floorMs, expected / 10));
        else if (!probing && (this.probers.get(kind) ?? 0) >= PROBES) {
          // A fleet's first wave: a few waits probe, the rest sleep until one ends and they learn.
          delay = this.tuning.maxMs;
        } else {
          if (!probing) this.probers.set(kind, (this.probers.get(kind) ?? 0) + 1);
          probing = true;
          // Nothing learned yet: at once, then from the tuning's first delay, x1.5 a check up to its
          // maximum, with full jitter (half to all of it).
          backoff = checks === 0 ? 0 : !backoff ? this.tuning.initialMs : Math.min(this.tuning.maxMs, backoff * 1.5);
          delay = backoff * (0.5 + Math.random() * 0.5);
        }
        delay = Math.max(delay, this.budgetSpacing());
        // Jitter (up to +20%) on a learned delay: a fleet's waits, started together, do not poll in
        // lockstep. First checks spread around the expected end (0.9-1.08x) keep the estimate honest:
        // one that finds the update running bounds its duration from below, and a later one's end
        // wakes those started before it.
        const d = Math.min(Math.max(0, ctx.deadline - Date.now()), expected === undefined || delay === 0 ? delay : delay * (1 + Math.random() * 0.2));
        replan = false;
        if (d > 0 && (await this.nap(kind, started, d, expected !== undefined, what, ctx.signal)) === 'replan') {
          replan = true;
          continue;
        }
        if (ctx.signal?.aborted) throw new AbortedError(what);
        const turn = this.spare?.(ctx.signal);
        if (turn) {
          await turn;
          if (ctx.signal?.aborted) throw new AbortedError(what);
        }
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
      if (probing) this.probers.set(kind, (this.probers.get(kind) ?? 1) - 1);
    }
  }

  /**
   * Sleeps `ms` ('slept'), or less when a wait of the same kind has just ended: 'woken' when that
   * wait started no later (this one is due too), 'replan' otherwise (plan the delay with what was learned).
   */
  private nap(kind: string, started: number, ms: number, learned: boolean, what: string, signal: AbortSignal | undefined): Promise<'slept' | 'woken' | 'replan'> {
    let set = this.sleepers.get(kind);
    if (!set) this.sleepers.set(kind, (set = new Set()));
    const sleepers = set;
    return new Promise((resolve, reject) => {
      const me = { started, learned, wake: (_how: 'slept' | 'woken' | 'replan') => {} };
      const stop = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        sleepers.delete(me);
      };
      const onAbort = () => {
        stop();
        reject(new AbortedError(what));
      };
      me.wake = (how) => {
        stop();
        resolve(how);
      };
      const timer = setTimeout(() => me.wake('slept'), ms);
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
    this.medians.delete(kind);
    // Those that slept without a learned duration plan again (the rest keep theirs).
    for (const w of [...(this.sleepers.get(kind) ?? [])]) {
      if (w.started <= started) w.wake('woken');
      else if (!w.learned) w.wake('replan');
    }
  }
}
