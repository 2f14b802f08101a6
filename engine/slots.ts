import type { RequestSlots } from './protocol';

/**
 * Apply's `--parallelism`: at most `limit` API requests in flight (not steps, as in Terraform).
 * Requests waiting for a slot go in the order they came, normal before low priority (status polls),
 * so a step that can make progress (an association) is not queued behind a thousand polls.
 */
export class Slots implements RequestSlots {
  private active = 0;
  private readonly normal: (() => void)[] = [];
  private readonly low: (() => void)[] = [];
  private peak = 0;

  constructor(readonly limit: number) {}

  async run<T>(send: () => Promise<T>, priority: 'normal' | 'low' = 'normal'): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => (priority === 'low' ? this.low : this.normal).push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await send();
    } finally {
      // The slot passes straight to the next waiter (active stays), so no newcomer jumps the queue.
      const next = this.normal.shift() ?? this.low.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** The most requests that were in flight at once. */
  get peakInFlight(): number {
    return this.peak;
  }
}
