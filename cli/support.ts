import readline from 'node:readline';
import type { FlagSpec, Parsed } from './args';
import { numberFlag, stringFlag, UsageError } from './args';
import type { Io } from './command';
import { EXIT } from './command';
import { providerFactory } from '../providers/registry';
import { apply, type ApplyResult, type ApplyUi, type StepKind } from '../engine/apply';
import { parseConfig, type StackConfig } from '../engine/config';
import { acquireLock, type StateLock } from '../engine/lock';
import type { Plan } from '../engine/plan';
import { colorEnabled, colors, type Colors } from '../lib/color';
import { renderDiagnostics } from '../engine/render';
import { readTerraformJson, resolveStack, StackInputError, type StackLocation } from '../engine/stack-files';
import { StateManager } from '../engine/state';
import { formatDuration } from '../lib/duration';
import { EngineError } from '../engine/util';
import { escapeControls } from '../lib/escape';
import { closeWorkspace, openWorkspace, type Workspace } from '../engine/workspace';

/** Glue shared by the plan/apply/destroy/show/import/state/force-unlock commands. */

export { STACK_FLAGS } from './args';
export const COLOR_FLAG: Record<string, FlagSpec> = {
  color: { type: 'boolean', negatable: true, description: 'Colour: --color forces it (even when piped), --no-color or NO_COLOR turns it off (default: on a terminal).' },
};
export const PARALLELISM_FLAG: Record<string, FlagSpec> = {
  parallelism: { type: 'string', valueName: 'N', description: 'Resource changes at once (default 10); also caps refresh reads, which otherwise run 32 at once.' },
};

export function colorsFor(io: Io, values: Parsed['values'], stream: 'stdout' | 'stderr' = 'stdout'): Colors {
  return colors(colorEnabled(io[stream], io.env, values.color));
}

/** The --parallelism flag, or undefined when not given (plan and apply then use their own defaults). */
export function parallelismOf(name: string, values: Parsed['values']): number | undefined {
  return numberFlag({ name, summary: '', flags: PARALLELISM_FLAG }, values, 'parallelism', { min: 1, max: 256, integer: true });
}

export function targetsOf(values: Parsed['values']): string[] {
  const t = values.target;
  return Array.isArray(t) ? t.map(String) : typeof t === 'string' ? [t] : [];
}

export function locate(values: Parsed['values'], io: Io, opts: { allowFailedSynth?: boolean } = {}): StackLocation {
  try {
    return resolveStack({ stack: stringFlag(values, 'stack'), dir: stringFlag(values, 'dir'), cwd: io.cwd, ...opts });
  } catch (e) {
    if (e instanceof StackInputError) throw new UsageError(e.message);
    throw e;
  }
}

export function loadConfig(loc: StackLocation): StackConfig {
  try {
    return parseConfig(readTerraformJson(loc), loc);
  } catch (e) {
    if (e instanceof StackInputError) throw new EngineError(e.message);
    throw e;
  }
}

export type Session = { config: StackConfig; state: StateManager; ws: Workspace; lock?: StateLock; close(): Promise<void> };

/** Locks (when asked), reads state, instantiates and validates providers. Call close() in finally. */
export async function openSession(config: StackConfig, io: Io, lockOperation?: string): Promise<Session> {
  const lock = lockOperation ? acquireLock(config.statePath, lockOperation) : undefined;
  try {
    const state = StateManager.load(config.statePath);
    const ws = await openWorkspace(config, providerFactory, { env: io.env, state: state.state });
    return { config, state, ws, lock, close: async () => { try { await closeWorkspace(ws); } finally { lock?.release(); } } };
  } catch (e) {
    lock?.release();
    throw e;
  }
}

/** Runs a command body, printing engine errors as one line each; returns the exit code. */
export async function guarded(io: Io, values: Parsed['values'], body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof EngineError) {
      io.stderr.write(renderDiagnostics(e.diagnostics, colorsFor(io, values, 'stderr')));
      return EXIT.ERROR;
    }
    throw e;
  }
}

const VERBS: Record<StepKind, [string, string, string]> = {
  create: ['Creating...', 'Still creating...', 'Creation complete'],
  update: ['Modifying...', 'Still modifying...', 'Modifications complete'],
  delete: ['Destroying...', 'Still destroying...', 'Destruction complete'],
  read: ['Reading...', 'Still reading...', 'Read complete'],
};

/**
 * Progress lines on stderr as Terraform prints them. Off a terminal (CI logs) only one line per step
 * start and end; the provider's wait messages and `Still ...` ticks are for people watching.
 */
export function progressUi(io: Io, c: Colors): ApplyUi {
  const w = (s: string) => io.stderr.write(s + '\n');
  const tty = io.stderr.isTTY === true;
  // Ids and the providers' progress messages come from the API.
  const e = escapeControls;
  return {
    start: (a, k, id) => w(`${c.bold(e(a))}: ${VERBS[k][0]}${id ? ` [id=${e(id)}]` : ''}`),
    still: (a, k, ms) => w(`${c.bold(e(a))}: ${VERBS[k][1]} [${formatDuration(ms)} elapsed]`),
    done: (a, k, ms, id) => w(`${c.bold(e(a))}: ${VERBS[k][2]} after ${formatDuration(ms)}${id ? ` [id=${e(id)}]` : ''}`),
    failed: (a, k) => w(`${c.bold(e(a))}: ${c.red(`${k} failed`)}`),
    progress: (a, m) => { if (tty) w(`${c.bold(e(a))}: ${e(m)}`); },
  };
}

/**
 * Asks on a terminal, as Terraform does (the question, indented description lines, "Enter a value:");
 * only "yes" confirms. Without a terminal on stdin nobody can answer: `noTerminal` is thrown (an error,
 * exit 1) and nothing is done.
 */
export async function confirm(io: Io, question: string, opts: { description?: string[]; noTerminal?: string } = {}): Promise<boolean> {
  const stdin = io.stdin;
  if (!stdin || stdin.isTTY !== true) {
    throw new EngineError(opts.noTerminal ?? 'refusing to apply without confirmation: stdin is not a terminal; review the plan and pass --auto-approve, or apply a saved plan file');
  }
  const description = opts.description?.length ? `${opts.description.map((l) => `  ${l}`).join('\n')}\n\n` : '';
  io.stderr.write(`\n${question}\n${description}  Enter a value: `);
  const rl = readline.createInterface({ input: stdin, output: io.stderr as NodeJS.WritableStream, terminal: false });
  try {
    const answer = await new Promise<string | null>((resolve) => {
      rl.once('line', (l) => resolve(l));
      rl.once('close', () => resolve(null));
      io.signal.addEventListener('abort', () => resolve(null), { once: true });
    });
    io.stderr.write('\n');
    return answer?.trim() === 'yes';
  } finally {
    rl.close();
  }
}

/** Applies and prints the summary; returns the exit code. */
export async function applyAndReport(session: Session, plan: Plan, io: Io, values: Parsed['values'], verb: 'Apply' | 'Destroy'): Promise<number> {
  const c = colorsFor(io, values, 'stderr');
  const result: ApplyResult = await apply(session.ws, plan, session.state, {
    parallelism: parallelismOf('apply', values), signal: io.signal, ui: progressUi(io, c), tty: io.stderr.isTTY === true,
  });
  const out = colorsFor(io, values);
  if (result.diagnostics.some((d) => d.severity === 'error')) {
    io.stderr.write('\n' + renderDiagnostics(result.diagnostics, c));
    if (result.skipped.length) io.stderr.write(`Skipped because a dependency failed: ${escapeControls(result.skipped.join(', '))}\n`);
    io.stderr.write(`${verb} failed. Resources: ${result.added} added, ${result.changed} changed, ${result.destroyed} destroyed. State saved to ${session.config.statePath}.\n`);
    return EXIT.ERROR;
  }
  io.stdout.write(`\n${out.green(out.bold(`${verb} complete!`))} Resources: ${verb === 'Destroy' ? `${result.destroyed} destroyed` : `${result.added} added, ${result.changed} changed, ${result.destroyed} destroyed`}.\n`);
  return EXIT.OK;
}
