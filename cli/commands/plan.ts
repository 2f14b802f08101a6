import path from 'node:path';
import { UsageError, stringFlag } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, guarded, loadConfig, locate, openSession, PARALLELISM_FLAG, parallelismOf, STACK_FLAGS, targetsOf, VERSION } from '../../engine/cli-support';
import { jsonPlan } from '../../engine/json-plan';
import { hasChanges, plan } from '../../engine/plan';
import { writePlanFile } from '../../engine/planfile';
import { renderPlan } from '../../engine/render';

/** `eksidp plan`: refresh, compare with the configuration, show (or save) the changes. */
export const command: Command = {
  spec: {
    name: 'plan',
    summary: 'Show the changes needed to reach the stack\'s configuration (exit 2 with --detailed-exitcode when there are changes).',
    usage: 'eksidp plan [--stack NAME | --dir DIR] [--out FILE] [--json] [--detailed-exitcode] [--refresh=false] [--target ADDR]... [--parallelism N] [--no-color]',
    flags: {
      ...STACK_FLAGS,
      out: { type: 'string', valueName: 'FILE', description: 'Save the plan for `eksidp apply FILE` (written 0600).' },
      json: { type: 'boolean', description: 'Print the plan in the `terraform show -json` format on stdout only.' },
      'detailed-exitcode': { type: 'boolean', description: 'Exit 2 when there are changes (0: none, 1: error).' },
      refresh: { type: 'string', valueName: 'BOOL', description: 'Read live objects first (default true).' },
      target: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Only this resource and its dependencies (repeatable).' },
      destroy: { type: 'boolean', description: 'Plan to destroy everything in state.' },
      ...PARALLELISM_FLAG,
      ...COLOR_FLAG,
    },
  },
  async run({ values }, io) {
    const refreshText = stringFlag(values, 'refresh') ?? 'true';
    if (refreshText !== 'true' && refreshText !== 'false') throw new UsageError(`eksidp plan: --refresh must be true or false, got '${refreshText}'`);
    const parallelism = parallelismOf('plan', values);
    return guarded(io, values, async () => {
      const loc = locate(values, io);
      const config = loadConfig(loc);
      const session = await openSession(config, io, 'plan');
      try {
        const p = await plan(session.ws, session.state.state, { lineage: session.state.state.lineage, serial: session.state.state.serial }, {
          refresh: refreshText === 'true', targets: targetsOf(values), parallelism, signal: io.signal, destroy: values.destroy === true,
        });
        const out = stringFlag(values, 'out');
        if (out) writePlanFile(path.resolve(io.cwd, out), p, loc, VERSION);
        if (values.json) {
          io.stdout.write(JSON.stringify(jsonPlan(p, config.resources, new Map([...config.providers].map(([n, pc]) => [n, pc.source])))) + '\n');
        } else {
          io.stdout.write(renderPlan(p, colorsFor(io, values)));
          if (out && hasChanges(p)) io.stdout.write(`\nSaved the plan to: ${out}\n\nTo perform exactly these actions, run:\n  eksidp apply ${out}\n`);
        }
        return hasChanges(p) && values['detailed-exitcode'] === true ? EXIT.CHANGES : EXIT.OK;
      } finally {
        await session.close();
      }
    });
  },
};
