import readline from 'node:readline';
import type { FlagSpec, Parsed } from './args';
import { numberFlag, stringFlag, UsageError } from './args';
import type { Io } from './command';
import { EXIT } from './command';
import { providerFactory } from '../providers/registry';
import { parseConfig, type StackConfig } from '../engine/config';
import { openBackend, selectedWorkspace } from '../backends';
import { writeFileAtomic } from '../lib/files';
import { parseDuration } from '../lib/duration';
import { lockWithTimeout, type Backend, type LockHandle, type StateStorage } from '../engine/statemgr';
import path from 'node:path';
import { colorEnabled, colors, type Colors } from '../lib/color';
import { renderDiagnostics } from '../engine/render';
import { readTerraformJson, resolveStack, StackInputError, type StackLocation } from '../engine/stack-files';
import { StateManager, stateText } from '../engine/state';
import { EngineError } from '../engine/util';
import { closeWorkspace, openWorkspace, type Workspace } from '../engine/workspace';
import type { VariableArg, VariableInputs } from '../engine/variables';
import { checkUntrustedConfig } from './untrusted';

/** Glue shared by the plan/apply/destroy/show/import/state/force-unlock commands. */

export { STACK_FLAGS } from './args';
export const COLOR_FLAG: Record<string, FlagSpec> = {
  color: { type: 'boolean', negatable: true, description: 'Colour: --color forces it (even when piped), --no-color or NO_COLOR turns it off (default: on a terminal).' },
};
export const PARALLELISM_FLAG: Record<string, FlagSpec> = {
  parallelism: { type: 'string', valueName: 'N', description: 'API requests in flight at most, refresh reads and changes alike (default: 32 for the refresh, 64 for the changes); waiting for EKS takes none (Terraform\'s -parallelism counts resource operations instead).' },
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
    const config = parseConfig(readTerraformJson(loc), loc, inputs);
    // EKSIDP_UNTRUSTED_CONFIG=1 (the pull-request workflow): before the backend or a provider opens.
    if (inputs) checkUntrustedConfig(config, inputs.env);
    return config;
  } catch (e) {
    if (e instanceof StackInputError) throw new EngineError(e.message);
    throw e;
  }
}

/** --lock and --lock-timeout, as Terraform's -lock and -lock-timeout, on every command that writes or plans. */
export const LOCK_FLAGS: Record<string, FlagSpec> = {
  lock: { type: 'string', valueName: 'true|false', description: 'Take the state lock (default true); --lock=false skips it, which is dangerous when others may write the state.' },
  'lock-timeout': { type: 'string', valueName: 'DURATION', description: 'How long to wait for a state lock held by another run (Terraform\'s syntax: 0s, 30s, 5m; default 0s).' },
};

export type LockOptions = { lock: boolean; timeoutMs: number };

export function lockOptionsOf(values: Parsed['values']): LockOptions {
  const lock = stringFlag(values, 'lock');
  if (lock !== undefined && lock !== 'true' && lock !== 'false') throw new UsageError(`--lock must be true or false, got ${JSON.stringify(lock)}`);
  const timeout = stringFlag(values, 'lock-timeout');
  const timeoutMs = timeout === undefined ? 0 : parseDuration(timeout);
  if (timeoutMs === undefined) throw new UsageError(`--lock-timeout must be a duration such as 0s, 30s or 5m, got ${JSON.stringify(timeout)}`);
  return { lock: lock !== 'false', timeoutMs };
}

/**
 * The backend and the current workspace's storage (TF_WORKSPACE, else the stack folder's
 * .terraform/environment, as Terraform selects it): refused backend settings fail here, before any call.
 */
export function openStorage(config: StackConfig, io: Io): { backend: Backend; storage: StateStorage; workspace: string } {
  const workspace = selectedWorkspace(io.env, config.stack.dir).name;
  const backend = openBackend(config, io.env);
  try {
    return { backend, storage: backend.storage(workspace), workspace };
  } catch (e) {
    void backend.close();
    throw e;
  }
}

export type Session = { config: StackConfig; state: StateManager; ws: Workspace; lock?: LockHandle; close(): Promise<void> };

/**
 * Locks (when asked), reads state, instantiates and validates providers. Call close() in finally: it
 * stores what the storage does not have yet (into errored.tfstate in the current folder when a remote
 * write fails, as Terraform does), and only then releases the lock.
 */
export async function openSession(config: StackConfig, io: Io, lockOperation?: string, lockOpts: LockOptions = { lock: true, timeoutMs: 0 }): Promise<Session> {
  const { backend, storage } = openStorage(config, io);
  let lock: LockHandle | undefined;
  try {
    if (lockOperation && lockOpts.lock) {
      lock = await lockWithTimeout(storage, lockOperation, lockOpts.timeoutMs, {
        signal: io.signal,
        onWait: () => io.stderr.write(`Acquiring state lock. This may take a few moments...\n`),
      });
    }
    const state = await StateManager.open(storage);
    const ws = await openWorkspace(config, providerFactory, { env: io.env, state: state.state });
    const close = async () => {
      try {
        await closeWorkspace(ws);
      } finally {
        try {
          if (state.unsaved()) await keepState(state, io);
        } finally {
          try { await lock?.unlock(); } finally { await backend.close(); }
        }
      }
    };
    return { config, state, ws, ...(lock ? { lock } : {}), close };
  } catch (e) {
    try { await lock?.unlock(); } finally { await backend.close(); }
    throw e;
  }
}

/**
 * The last try at storing a run's changes. When a remote storage refuses them, they are written to
 * errored.tfstate in the current folder (Terraform's name and place) with the command that pushes
 * them; a local state that cannot be written is an error as before.
 */
async function keepState(state: StateManager, io: Io): Promise<void> {
  try {
    await state.persist();
    return;
  } catch (e) {
    if (state.storage.local) throw e;
    const file = path.join(io.cwd, 'errored.tfstate');
    await writeFileAtomic(file, stateText(state.state), { mode: 0o600 });
    throw new EngineError(`Failed to save state to ${state.file}: ${(e as Error).message}. The state was written to ${file} instead, so nothing is lost. ` +
      'Once the backend works again, push it with: eksidp state push errored.tfstate (until then do not apply again: the resources recorded only in errored.tfstate would be unknown to it)');
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
