import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, guarded, loadConfig, locate, STACK_FLAGS } from '../../engine/cli-support';
import { forceUnlock } from '../../engine/lock';
import { escapeControls } from '../../lib/escape';

/** `eksidp force-unlock ID`: removes a stale state lock; the ID must match the lock's. */
export const command: Command = {
  spec: {
    name: 'force-unlock',
    summary: 'Remove a stale state lock by its ID (only when no other run uses the state).',
    usage: 'eksidp force-unlock LOCK_ID [--stack NAME | --dir DIR]',
    maxPositionals: 1,
    flags: { ...STACK_FLAGS, ...COLOR_FLAG },
  },
  async run({ values, positionals }, io) {
    const id = positionals[0];
    if (!id) throw new UsageError('eksidp force-unlock: the lock ID is required (it is printed in the lock error)');
    return guarded(io, values, async () => {
      const config = loadConfig(locate(values, io, { allowFailedSynth: true }));
      const held = forceUnlock(config.statePath, id);
      // The lock file's fields are whatever was written there.
      io.stdout.write(escapeControls(`The state lock ${held.ID} (held by ${held.Who} pid ${held.Pid} for ${held.Operation}) has been removed.`) + '\n');
      return EXIT.OK;
    });
  },
};
