import type { Command } from '../command';
import { EXIT } from '../command';
import { applyAndReport, COLOR_FLAG, colorsFor, confirm, guarded, loadConfig, locate, openSession, PARALLELISM_FLAG, parallelismOf, STACK_FLAGS, targetsOf } from '../support';
import { hasChanges, plan } from '../../engine/plan';
import { renderPlan } from '../../engine/render';
import { refreshProgress } from '../progress';

/** `eksidp destroy`: plans the deletion of everything in state (dependents first) and applies it. */
export const command: Command = {
  spec: {
    name: 'destroy',
    summary: 'Destroy everything the stack manages.',
    flags: {
      ...STACK_FLAGS,
      'auto-approve': { type: 'boolean', description: 'Destroy without asking (needed when stdin is not a terminal).' },
      target: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Only this resource and what depends on it (repeatable).' },
      ...PARALLELISM_FLAG,
      ...COLOR_FLAG,
    },
  },
  async run({ values }, io) {
    const parallelism = parallelismOf('destroy', values);
    return guarded(io, values, async () => {
      const config = loadConfig(locate(values, io));
      const session = await openSession(config, io, 'destroy');
      try {
        const progress = refreshProgress(io);
        const p = await plan(session.ws, session.state.state, { lineage: session.state.state.lineage, serial: session.state.state.serial }, {
          destroy: true, targets: targetsOf(values), parallelism, signal: io.signal, onRefresh: progress.onRefresh,
        }).finally(progress.stop);
        io.stdout.write(renderPlan(p, colorsFor(io, values)));
        if (!hasChanges(p)) return EXIT.OK;
        if (values['auto-approve'] !== true && !(await confirm(io, 'Do you really want to destroy all resources?', {
          description: ['eksidp will destroy all your managed infrastructure, as shown above.', "There is no undo. Only 'yes' will be accepted to confirm."],
          noTerminal: 'refusing to destroy without confirmation: stdin is not a terminal; review the plan and pass --auto-approve',
        }))) {
          io.stderr.write('Destroy cancelled.\n');
          return EXIT.ERROR;
        }
        return await applyAndReport(session, p, io, values, 'Destroy');
      } finally {
        await session.close();
      }
    });
  },
};
