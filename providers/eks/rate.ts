import { AdaptiveRetryStrategy, isThrottlingError, StandardRetryStrategy, type RateLimiter } from '@smithy/core/retry';
import type { RetryStrategyV2 } from '@smithy/types';
import type { RetrySettings } from './transport-settings';

/**
 * One adaptive request rate per provider connection, shared by both request paths (the lean reads
 * and the SDK client take it through their AdaptiveRetryStrategy, reads.ts and client.ts), so a
 * fleet apply's writes and polls together stay within the account's API rate.
 *
 * As the SDK's adaptive mode: no limit until the API throttles; then the rate drops to 0.7x what was
 * being sent, and grows back along a cubic towards the rate at which throttling began (fast while far
 * below it, slowly past it, probing). Unlike smithy's DefaultRateLimiter, waiters queue and one timer
 * releases them in order, one token each: with a thousand clusters waiting, the SDK's limiter arms a
 * thousand timers that wake every few milliseconds and lets whoever wakes first go.
 */

const BETA = 0.7;
/** The cubic's scale (smithy's default): how fast the rate climbs back, in requests/s per s^3. */
const SCALE = 0.4;
const MIN_RATE = 0.5;
/** Several throttles answered for requests sent before the last decrease count once. */
const DECREASE_AT_MOST_EVERY_MS = 500;

type Clock = { now(): number };
const systemClock: Clock = { now: () => Date.now() };

export type RateStats = {
  /** Current limit in requests/s; Infinity while the API has not throttled. */
  rate: number;
  throttles: number;
  /** Requests that waited for a token, and how long in total (ms). */
  waited: number;
  waitedMs: number;
};

export class AdaptiveRate implements RateLimiter {
  private rate = Number.POSITIVE_INFINITY;
  /** The rate being sent when throttling last began (the cubic's plateau) and when that was. */
  private lastMax = 0;
  private lastThrottleAt = 0;
  private tokens = 0;
  private filledAt = 0;
  private readonly queue: { release: () => void; since: number }[] = [];
  /** Status polls waiting for a token no request wants (whenSpare). */
  private readonly spare: { release: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Send times over the last second, to measure the rate actually sent. */
  private readonly sent: number[] = [];
  private stats = { throttles: 0, waited: 0, waitedMs: 0 };

  constructor(private readonly clock: Clock = systemClock) {}

  /** Resolves when a request may be sent. */
  getSendToken(): Promise<void> {
    const now = this.clock.now();
    this.refill(now);
    if (this.queue.length === 0 && (this.rate === Number.POSITIVE_INFINITY || this.tokens >= 1)) {
      if (this.rate !== Number.POSITIVE_INFINITY) this.tokens -= 1;
      this.markSent(now);
      return Promise.resolve();
    }
    return new Promise((release) => {
      this.queue.push({ release, since: now });
      this.schedule();
    });
  }

  /**
   * Resolves when a token is free that no queued request wants: status polls go through here first,
   * so writes and reads that make progress are sent ahead of them and polls take what is left of
   * the rate, all of it when nothing else waits (a fleet's last wave of polls). Takes no token
   * itself: the poll's request then takes one as any other. Undefined: go now (nothing limits yet).
   * Abort resolves it too (the caller checks its signal).
   */
  whenSpare(signal?: AbortSignal): Promise<void> | undefined {
    if (this.rate === Number.POSITIVE_INFINITY) return undefined;
    this.refill(this.clock.now());
    if (this.queue.length === 0 && this.spare.length === 0 && this.tokens >= 1) return undefined;
    return new Promise((resolve) => {
      const onAbort = () => {
        const i = this.spare.indexOf(me);
        if (i >= 0) this.spare.splice(i, 1);
        resolve();
      };
      const me = {
        release: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.spare.push(me);
      this.schedule();
    });
  }

  /** Called with each attempt's outcome: RetryErrorInfo after a failure, `{}` after a success. */
  updateClientSendingRate(response: unknown): void {
    const info = response as { errorType?: string; error?: unknown } | undefined;
    const throttled = info?.errorType === 'THROTTLING' || (info?.error !== undefined && isThrottlingError(info.error as Parameters<typeof isThrottlingError>[0]));
    const now = this.clock.now();
    this.refill(now);
    if (throttled) {
      this.stats.throttles++;
      if (now - this.lastThrottleAt < DECREASE_AT_MOST_EVERY_MS) return;
      const measured = this.measured(now);
      const sending = this.rate === Number.POSITIVE_INFINITY ? measured : Math.min(this.rate, Math.max(measured, MIN_RATE));
      this.lastMax = sending;
      this.lastThrottleAt = now;
      this.rate = Math.max(MIN_RATE, sending * BETA);
      this.tokens = Math.min(this.tokens, 1);
    } else if (this.rate !== Number.POSITIVE_INFINITY) {
      // The cubic through (0, BETA x lastMax) that reaches lastMax after `window` seconds.
      const window = Math.cbrt((this.lastMax * (1 - BETA)) / SCALE);
      const t = (now - this.lastThrottleAt) / 1000;
      this.rate = Math.max(MIN_RATE, SCALE * (t - window) ** 3 + this.lastMax);
    }
    this.schedule();
  }

  snapshot(): RateStats {
    return { rate: this.rate, ...this.stats };
  }

  private refill(now: number): void {
    if (this.rate === Number.POSITIVE_INFINITY) {
      this.filledAt = now;
      return;
    }
    // At most one second's worth banked: a burst after a quiet spell stays within the rate's bucket.
    this.tokens = Math.min(Math.max(1, this.rate), this.tokens + ((now - this.filledAt) / 1000) * this.rate);
    this.filledAt = now;
  }

  private markSent(now: number): void {
    this.sent.push(now);
    if (this.sent.length > 4096) this.sent.splice(0, this.sent.length - 2048);
  }

  /** Requests sent over the last second (a fleet apply sends many; a quiet one has little to measure). */
  private measured(now: number): number {
    let i = this.sent.length;
    while (i > 0 && now - this.sent[i - 1]! < 1000) i--;
    return this.sent.length - i;
  }

  private schedule(): void {
    if (this.timer || (this.queue.length === 0 && this.spare.length === 0)) return;
    const now = this.clock.now();
    this.refill(now);
    const drain = () => {
      this.timer = undefined;
      const t = this.clock.now();
      this.refill(t);
      while (this.queue.length > 0 && (this.rate === Number.POSITIVE_INFINITY || this.tokens >= 1)) {
        if (this.rate !== Number.POSITIVE_INFINITY) this.tokens -= 1;
        const w = this.queue.shift()!;
        this.stats.waited++;
        this.stats.waitedMs += t - w.since;
        this.markSent(t);
        w.release();
      }
      // Polls after every other request, one per free token: each takes it through getSendToken
      // within this turn's microtasks, before the next drain runs.
      for (let free = this.rate === Number.POSITIVE_INFINITY ? this.spare.length : Math.floor(this.tokens); this.queue.length === 0 && free > 0 && this.spare.length > 0; free--) {
        this.spare.shift()!.release();
      }
      this.schedule();
    };
    const due = this.rate === Number.POSITIVE_INFINITY || this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
    this.timer = setTimeout(drain, due);
  }
}

/**
 * The strategy for these settings, as the SDK client would build it; in adaptive mode with `limiter`,
 * the connection's shared rate instead of a rate of its own (both request paths take this one).
 */
export function retryStrategy(retry: RetrySettings, limiter?: AdaptiveRate): RetryStrategyV2 {
  if (retry.mode !== 'adaptive') return new StandardRetryStrategy(async () => retry.maxAttempts);
  // With options, smithy reads maxAttempts only from a number (a provider function would mean 3).
  return limiter ? new AdaptiveRetryStrategy(retry.maxAttempts, { rateLimiter: limiter }) : new AdaptiveRetryStrategy(async () => retry.maxAttempts);
}
