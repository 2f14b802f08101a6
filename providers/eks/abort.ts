/** What an aborted call fails with: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}

/**
 * Requests in flight per abort signal, with one listener per signal: a drift check hangs thousands
 * of calls on one budget signal, and an EventTarget listener per call costs ~10 µs. When a signal
 * aborts, `fail` ends each request still watched with the signal's reason.
 */
export class SignalWatch<T> {
  private readonly bySignal = new WeakMap<AbortSignal, Set<T>>();

  constructor(private readonly fail: (item: T, reason: Error) => void) {}

  watch(signal: AbortSignal, item: T): void {
    let set = this.bySignal.get(signal);
    if (!set) {
      const mine = new Set<T>();
      set = mine;
      this.bySignal.set(signal, mine);
      signal.addEventListener('abort', () => {
        for (const x of [...mine]) this.fail(x, abortReason(signal));
        mine.clear();
      }, { once: true });
    }
    set.add(item);
  }

  unwatch(signal: AbortSignal, item: T): void {
    this.bySignal.get(signal)?.delete(item);
  }
}
