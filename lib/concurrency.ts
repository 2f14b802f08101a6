/**
 * Bounded concurrency, the two shapes this project needs. Dependency-free.
 * - `mapBounded`: a list of independent jobs, at most `limit` running (refresh reads, cluster reads).
 * - `Limiter`: a FIFO semaphore for calls issued from many places at once (every in-flight API call
 *   of a drift check, whatever cluster it is for).
 */

/** Runs `fn` on every item with at most `limit` at once; the results in item order (rejects with the first error). */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * A FIFO semaphore: at most `limit` bodies run at once, the others wait in the order they came;
 * `low` priority waiters (status polls) go after every normal one waiting (apply's request slots).
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly waitingLow: (() => void)[] = [];
  constructor(readonly limit: number) {}
  async run<T>(fn: () => Promise<T>, priority: 'normal' | 'low' = 'normal'): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => (priority === 'low' ? this.waitingLow : this.waiting).push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter (active stays), so no newcomer can jump the queue.
      const next = this.waiting.shift() ?? this.waitingLow.shift();
      if (next) next();
      else this.active--;
    }
  }
}
