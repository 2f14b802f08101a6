import type { Io } from '../command';
import type { ApplyEvent, StepKind } from '../../engine/apply';
import type { Colors } from '../../lib/color';
import { formatDuration } from '../../lib/duration';
import { escapeControls as e } from '../../lib/escape';

/**
 * Apply's progress on stderr, as Terraform's hook UI prints it (internal/command/views/hook_ui.go):
 * a line when a step starts and when it ends. At a terminal also the provider's wait messages and,
 * every 10 s, `Still creating... [1m10s elapsed]`; off a terminal (CI logs) neither. The view owns
 * the clock and the tickers: the engine only reports events. Each line is one write, so lines from
 * steps running in parallel never interleave; a step's ticker stops before its last line, so no
 * "Still..." follows "... complete".
 */

const VERBS: Record<StepKind, [start: string, still: string, done: string]> = {
  create: ['Creating...', 'Still creating...', 'Creation complete'],
  update: ['Modifying...', 'Still modifying...', 'Modifications complete'],
  delete: ['Destroying...', 'Still destroying...', 'Destruction complete'],
  read: ['Reading...', 'Still reading...', 'Read complete'],
};

export const STILL_EVERY_MS = 10_000;

/** Time for the view; tests pass their own. */
export type Clock = { now(): number; every(ms: number, tick: () => void): () => void };

const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  },
};

export type ApplyView = { onEvent(event: ApplyEvent): void; close(): void };

export function applyView(io: Io, c: Colors, clock: Clock = systemClock): ApplyView {
  const tty = io.stderr.isTTY === true;
  const line = (address: string, text: string) => io.stderr.write(`${c.bold(e(address))}: ${text}\n`);
  // Steps in flight, by address and action (a replacement runs a delete and a create of one address).
  const running = new Map<string, { started: number; stop?: () => void }>();
  return {
    onEvent(ev) {
      const key = `${ev.address}\u0000${ev.action}`;
      const verbs = VERBS[ev.action];
      switch (ev.type) {
        case 'pre': {
          const started = clock.now();
          // Ids and the providers' messages come from the API: escaped.
          line(ev.address, `${verbs[0]}${ev.id ? ` [id=${e(ev.id)}]` : ''}`);
          const stop = tty ? clock.every(STILL_EVERY_MS, () => line(ev.address, `${verbs[1]} [${formatDuration(clock.now() - started)} elapsed]`)) : undefined;
          running.set(key, { started, ...(stop ? { stop } : {}) });
          return;
        }
        case 'progress':
          if (tty) line(ev.address, e(ev.message));
          return;
        case 'post': {
          const step = running.get(key);
          running.delete(key);
          step?.stop?.();
          if (ev.failed) line(ev.address, c.red(`${ev.action} failed`));
          else line(ev.address, `${verbs[2]} after ${formatDuration(clock.now() - (step?.started ?? clock.now()))}${ev.id ? ` [id=${e(ev.id)}]` : ''}`);
          return;
        }
      }
    },
    close() {
      for (const step of running.values()) step.stop?.();
      running.clear();
    },
  };
}
