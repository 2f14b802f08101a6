import path from 'node:path';
import { stringFlag, UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { applyAndReport, COLOR_FLAG, colorsFor, confirm, guarded, loadConfig, locate, openSession, PARALLELISM_FLAG, parallelismOf, STACK_FLAGS, targetsOf } from '../support';
import { hasChanges, plan } from '../../engine/plan';
import { checkPlanFile, readPlanFile } from '../../engine/planfile';
import { renderPlan } from '../../engine/render';
import { describeInputs } from './plan';
import { refreshProgress } from '../progress';

/**
 * `eksidp apply [PLANFILE]`: with a saved plan, applies exactly it (refused when the stack, the
 * configuration or the state changed since); without, plans, shows and asks for approval.
 */
export const command: Command = {
  spec: {
    name: 'apply',
    summary: 'Apply a saved plan, or plan and apply after approval.',
    args: '[PLANFILE]',
    maxPositionals: 1,
    flags: {
      ...STACK_FLAGS,
      'auto-approve': { type: 'boolean', description: 'Apply without asking (needed when stdin is not a terminal).' },
      target: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Only this resource and its dependencies (repeatable).' },
      ...PARALLELISM_FLAG,
      ...COLOR_FLAG,
    },
  },
  async run({ values, positionals }, io) {
    const planFile = positionals[0];
    const parallelism = parallelismOf('apply', values);
    if (planFile && targetsOf(values).length > 0) throw new UsageError('eksidp apply: --target cannot be used with a saved plan (the plan already fixes what is applied)');
    return guarded(io, values, async () => {
      if (planFile) {
        const pf = readPlanFile(path.resolve(io.cwd, planFile));
        const explicit = stringFlag(values, 'stack') !== undefined || stringFlag(values, 'dir') !== undefined;
        const loc = explicit ? locate(values, io) : { name: pf.stack.name, dir: path.dirname(pf.stack.file), file: pf.stack.file };
        const config = loadConfig(loc);
        const session = await openSession(config, io, 'apply');
        try {
          const s = session.state;
          const exists = s.state.serial > 0 || s.state.resources.length > 0;
          checkPlanFile(pf, { stackName: loc.name, configHash: config.hash, statePath: config.statePath, lineage: s.state.lineage, serial: s.state.serial, stateExists: exists });
          // A plan made with no state fixed the lineage its idempotency tokens use.
          if (!exists) s.state.lineage = pf.state.lineage;
          if (!hasChanges(pf.plan)) { io.stdout.write('No changes. Apply complete! Resources: 0 added, 0 changed, 0 destroyed.\n'); return EXIT.OK; }
          return await applyAndReport(session, pf.plan, io, values, 'Apply');
        } finally {
          await session.close();
        }
      }
      const loc = locate(values, io);
      const config = loadConfig(loc);
      const session = await openSession(config, io, 'apply');
      try {
        const progress = refreshProgress(io);
        const p = await plan(session.ws, session.state.state, { lineage: session.state.state.lineage, serial: session.state.state.serial }, {
          targets: targetsOf(values), parallelism, signal: io.signal, onRefresh: progress.onRefresh,
          // The same identity preview as `eksidp plan` shows, before the approval prompt.
          describe: describeInputs(loc, undefined),
        }).finally(progress.stop);
        io.stdout.write(renderPlan(p, colorsFor(io, values)));
        if (!hasChanges(p)) {
          // As Terraform does, keep what the refresh found (objects gone, attributes read back).
          session.state.replaceResources(structuredClone(p.priorState.resources));
          await session.state.persist();
          io.stdout.write('\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.\n');
          return EXIT.OK;
        }
        if (values['auto-approve'] !== true && !(await confirm(io, 'Do you want to perform these actions?', { description: ['eksidp will perform the actions described above.', "Only 'yes' will be accepted to approve."] }))) {
          io.stderr.write('Apply cancelled.\n');
          return EXIT.ERROR;
        }
        return await applyAndReport(session, p, io, values, 'Apply');
      } finally {
        await session.close();
      }
    });
  },
};
