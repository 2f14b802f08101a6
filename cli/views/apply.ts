import type { Io } from '../command';
import type { ApplyEvent, StepKind } from '../../engine/apply';
import type { Colors } from '../../lib/color';
import { formatDuration } from '../../lib/duration';
import { coalescedWriter } from '../coalesce';
import { escapeControls as e } from '../../lib/escape';
import { GroupTracker, groupName, type GroupSummary } from './groups';

/**
 * Apply's progress on stderr, as Terraform's hook UI prints it (internal/command/views/hook_ui.go):
 * a line when a step starts and when it ends. At a terminal also the provider's wait messages and,
 * every 10 s, `Still creating... [1m10s elapsed]`; off a terminal (CI logs) neither. The view owns
 * the clock and the tickers: the engine only reports events. Lines are whole strings, written together
 * once per event-loop turn (cli/coalesce.ts: a fleet's steps end in bursts), so lines from steps
 * running in parallel never interleave; a step's ticker stops before its last line, so no
 * "Still..." follows "... complete".
 *
 * A fleet (steps in more than one group, the provider's concurrency key: EKS clusters, issue 16):
 * at a terminal one summary line redrawn in place every second (clusters done / in progress /
 * waiting, changes running, elapsed, the slowest cluster) replaces the step lines, and only a failed
 * step gets a line above it; off a terminal the step lines stay and the summary is added every 30 s.
 * Both end with the last summary as a line.
 */

const VERBS: Record<StepKind, [start: string, still: string, done: string]> = {
  create: ['Creating...', 'Still creating...', 'Creation complete'],
  update: ['Modifying...', 'Still modifying...', 'Modifications complete'],
  delete: ['Destroying...', 'Still destroying...', 'Destruction complete'],
  read: ['Reading...', 'Still reading...', 'Read complete'],
};

export const STILL_EVERY_MS = 10_000;
/** A fleet's summary line: redrawn this often at a terminal, added this often to a log. */
export const SUMMARY_REDRAW_MS = 1_000;
export const SUMMARY_EVERY_MS = 30_000;

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

/** The fleet summary line (no newline): clusters done / in progress / waiting, changes running, elapsed, slowest. */
export function summaryLine(s: GroupSummary, elapsedMs: number): string {
  const slowest = s.slowest ? `; slowest: ${e(groupName(s.slowest.group))} (${formatDuration(s.slowest.ms)})` : '';
  return `Progress: ${s.done}/${s.total} ${s.noun} done, ${s.inProgress} in progress, ${s.waiting} waiting; ${s.running} changes running; ${formatDuration(elapsedMs)} elapsed${slowest}`;
}

export function applyView(io: Io, c: Colors, clock: Clock = systemClock): ApplyView {
  const tty = io.stderr.isTTY === true;
  const out = coalescedWriter(io.stderr);
  const groups = new GroupTracker();
  // A fleet at a terminal: one summary line redrawn in place, and only failures above it.
  let summary: { started: number; stop: () => void; inPlace: boolean } | undefined;
  const current = () => summaryLine(groups.summary(clock.now()), clock.now() - summary!.started);
  // A line above the summary: erase it, write the line, draw the summary again below.
  const write = (text: string) => out.write(summary?.inPlace ? `\r\u001b[2K${text}${c.bold(current())}` : text);
  const line = (address: string, text: string) => write(`${c.bold(e(address))}: ${text}\n`);
  // Steps in flight, by address and action (a replacement runs a delete and a create of one address).
  const running = new Map<string, { started: number; stop?: () => void }>();
  const draw = () => {
    if (summary) out.write(summary.inPlace ? `\r\u001b[2K${c.bold(current())}` : `${current()}\n`);
  };
  return {
    onEvent(ev) {
      groups.onEvent(ev, clock.now());
      if (ev.type === 'begin') {
        if (groups.fleet) {
          summary = { started: clock.now(), inPlace: tty, stop: clock.every(tty ? SUMMARY_REDRAW_MS : SUMMARY_EVERY_MS, draw) };
          if (tty) draw();
        }
        return;
      }
      // At a terminal a fleet's steps are the summary's: only a failure gets its own line.
      if (summary?.inPlace && !(ev.type === 'post' && ev.failed)) return;
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
      if (summary) {
        summary.stop();
        // The last count, as a line of its own.
        out.write(summary.inPlace ? `\r\u001b[2K${current()}\n` : `${current()}\n`);
        summary = undefined;
      }
      out.flush();
    },
  };
}
