import path from 'node:path';
import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, confirm, guarded, loadConfig, locate, STACK_FLAGS, variableInputs, openStorage } from '../support';
import { lockHolder, lockHolderLiveness, operationLabel, type LockInfo } from '../../engine/lock';
import { EngineError } from '../../engine/util';
import { escapeControls } from '../../lib/escape';

const LIVENESS: Record<ReturnType<typeof lockHolderLiveness>, string> = {
  running: 'That process is STILL RUNNING on this host: removing its lock lets another run write the state while it does.',
  gone: 'That process is no longer running on this host.',
  unknown: 'Whether the holder is still running is unknown (a lock taken by Terraform, or on another host, names no process this host can check).',
};

/** The lock file's fields are whatever was written there: escaped before they reach a terminal. */
function describe(held: LockInfo, statePath: string, cwd: string): string[] {
  return [
    `eksidp will remove the lock on the state ${path.isAbsolute(statePath) ? path.relative(cwd, statePath) || statePath : statePath},`,
    `held by ${lockHolder(held)} for ${held.Operation ? operationLabel(held.Operation) : 'an operation'} since ${held.Created} (lock ID ${held.ID}).`,
    LIVENESS[lockHolderLiveness(held)],
    "This allows eksidp commands to modify this state, even though it may still be in use. Only 'yes' will be accepted to confirm.",
  ].map(escapeControls);
}

/**
 * `eksidp force-unlock ID`: removes a state lock whose holder died; the ID must match the lock's.
 * As Terraform, it asks first (at a terminal) unless --force; without a terminal and without
 * --force it refuses and the lock stays.
 */
export const command: Command = {
  spec: {
    name: 'force-unlock',
    summary: 'Remove a stale state lock by its ID (only when no other run uses the state). Asks for confirmation unless --force.',
    args: 'LOCK_ID',
    maxPositionals: 1,
    flags: {
      ...STACK_FLAGS,
      force: { type: 'boolean', description: 'Do not ask for confirmation (needed when stdin is not a terminal).' },
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const id = positionals[0];
    if (!id) throw new UsageError('eksidp force-unlock: the lock ID is required (it is printed in the lock error)');
    return guarded(io, values, async () => {
      const loc = locate(values, io, { allowFailedSynth: true });
      // Only the state's place is needed: variables without a value are no error here.
      const config = loadConfig(loc, variableInputs(parsed, io, loc, { tolerateMissing: true }));
      const { backend, storage } = openStorage(config, io);
      try {
        const where = storage.location;
        const held = await storage.lockInfo();
        if (!held) throw new EngineError(`no lock held on ${where}`);
        if (held.ID !== id) throw new EngineError(`lock ID mismatch: the lock on ${where} has ID ${held.ID}, not ${id}; nothing was removed`);
        if (values.force !== true) {
          const yes = await confirm(io, 'Do you really want to force-unlock?', {
            description: describe(held, where, io.cwd),
            noTerminal: escapeControls(`refusing to force-unlock without confirmation: stdin is not a terminal; the lock ${held.ID} (held by ${lockHolder(held)} for ${operationLabel(held.Operation)}) is kept. ` +
              `${LIVENESS[lockHolderLiveness(held)]} Pass --force to remove it without asking.`),
          });
          if (!yes) {
            io.stderr.write('force-unlock cancelled. The lock is kept.\n');
            return EXIT.ERROR;
          }
        } else if (lockHolderLiveness(held) === 'running') {
          io.stderr.write(`${colorsFor(io, values, 'stderr').yellow('Warning:')} ${escapeControls(`removing the lock of ${lockHolder(held)}, which is still running on this host.`)}\n`);
        }
        // forceUnlock checks the ID again: a lock taken anew while the question was open is kept.
        const removed = await storage.forceUnlock(id);
        const c = colorsFor(io, values);
        io.stdout.write(`${c.green(c.bold('eksidp state has been successfully unlocked!'))}\n\n${escapeControls(`The lock ${removed.ID} (held by ${lockHolder(removed)} for ${operationLabel(removed.Operation)}) has been removed; eksidp commands can now obtain a new lock on the state.`)}\n`);
        return EXIT.OK;
      } finally {
        await backend.close();
      }
    });
  },
};
