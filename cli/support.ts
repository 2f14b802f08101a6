import readline from 'node:readline';
import type { FlagSpec, Parsed } from './args';
import { numberFlag, stringFlag, UsageError } from './args';
import type { Io } from './command';
import { EXIT } from './command';
import { providerFactory } from '../providers/registry';
import { parseConfig, type StackConfig } from '../engine/config';
import { acquireLock, type StateLock } from '../engine/lock';
import { colorEnabled, colors, type Colors } from '../lib/color';
import { renderDiagnostics } from '../engine/render';
import { readTerraformJson, resolveStack, StackInputError, type StackLocation } from '../engine/stack-files';
import { StateManager } from '../engine/state';
import { EngineError } from '../engine/util';
import { closeWorkspace, openWorkspace, type Workspace } from '../engine/workspace';
import type { VariableArg, VariableInputs } from '../engine/variables';

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

/** --var and --var-file, for every command that evaluates the stack (engine/variables.ts). */
export const VAR_FLAGS: Record<string, FlagSpec> = {
  var: { type: 'string', multiple: true, valueName: 'NAME=VALUE', description: 'Set an input variable (repeatable; later settings win, as in Terraform).' },
  'var-file': { type: 'string', multiple: true, valueName: 'FILE', description: 'Load input variables from a .tfvars or .tfvars.json file (repeatable).' },
};

/** The variable inputs of a command: --var/--var-file in command-line order, TF_VAR_*, the stack folder's tfvars files. */
export function variableInputs(parsed: Parsed, io: Io, loc: StackLocation, opts: { tolerateMissing?: boolean } = {}): VariableInputs {
  const args: VariableArg[] = (parsed.options ?? []).flatMap((o): VariableArg[] => (o.name === 'var' && o.value !== undefined ? [{ kind: 'var', text: o.value }] : o.name === 'var-file' && o.value !== undefined ? [{ kind: 'file', file: o.value }] : []));
  return { args, env: io.env, cwd: io.cwd, dir: loc.dir, ...(opts.tolerateMissing ? { tolerateMissing: true } : {}) };
}

export function loadConfig(loc: StackLocation, inputs?: VariableInputs): StackConfig {
  try {
    return parseConfig(readTerraformJson(loc), loc, inputs);
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
