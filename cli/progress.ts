import type { Io } from './command';
import { formatDuration } from '../lib/duration';

/**
 * Refresh progress for people at a terminal: plan's engine only reports each read (onRefresh); this
 * view prints a line every `everyMs` while reads are still running, so a large fleet does not look
 * stuck, and a closing line when it printed any. Off a terminal (CI logs) it prints nothing.
 */
export function refreshProgress(io: Io, everyMs = 2000): { onRefresh: (done: number, total: number) => void; stop: () => void } {
  if (io.stderr.isTTY !== true) return { onRefresh: () => undefined, stop: () => undefined };
  let done = 0, total = 0, printed = false;
  let timer: NodeJS.Timeout | undefined;
  let started = 0;
  const line = () => {
    if (done >= total) return;
    printed = true;
    io.stderr.write(`Refreshing state... ${done}/${total} objects read [${formatDuration(Date.now() - started)} elapsed]\n`);
  };
  return {
    onRefresh(d, t) {
      done = d;
      total = t;
      if (!timer) {
        started = Date.now();
        timer = setInterval(line, everyMs);
        timer.unref();
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (printed) io.stderr.write(`Refreshed ${done}/${total} objects [${formatDuration(Date.now() - started)}]\n`);
    },
  };
}
