import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves when `check` holds, polling every few ms (moments such as "an association was sent" or
 * "the cluster is ACTIVE"); throws naming `what` after `timeoutMs`. The one wait of the tests.
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
