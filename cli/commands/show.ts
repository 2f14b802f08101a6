import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, guarded } from '../support';
import { parseConfig, parseProviderAddress, type StackConfig } from '../../engine/config';
import type { PlanProviders } from '../../engine/json-plan';
import { readPlanFile } from '../../engine/planfile';
import { planJson, planText } from '../views/plan';

/** `eksidp show FILE [--json]`: renders a saved plan, for people or in `terraform show -json` form. */
export const command: Command = {
  spec: {
    name: 'show',
    summary: 'Render a saved plan file.',
    args: 'PLANFILE',
    maxPositionals: 1,
    flags: {
      json: { type: 'boolean', description: 'Print the plan in the `terraform show -json` format on stdout only.' },
      ...COLOR_FLAG,
    },
  },
  async run({ values, positionals }, io) {
    const file = positionals[0];
    if (!file) throw new UsageError('eksidp show: a plan file is required: eksidp show PLANFILE');
    return guarded(io, values, async () => {
      const pf = readPlanFile(path.resolve(io.cwd, file));
      if (!values.json) {
        io.stdout.write(planText(pf.plan, colorsFor(io, values)));
        return EXIT.OK;
      }
      // The configuration section comes from the stack file when it is still there.
      let config: StackConfig | undefined;
      try {
        const loc = { name: pf.stack.name, dir: path.dirname(pf.stack.file), file: pf.stack.file };
        config = parseConfig(JSON.parse(fs.readFileSync(pf.stack.file, 'utf8')) as Record<string, unknown>, loc, { args: [], env: io.env, cwd: io.cwd, dir: loc.dir, tolerateMissing: true });
      } catch {
        config = undefined;
      }
      const providers: PlanProviders = new Map(config ? config.providers : []);
      for (const c of pf.plan.changes) {
        const parsed = parseProviderAddress(c.providerAddress);
        if (providers.has(c.provider) || !parsed) continue;
        providers.set(c.provider, { name: c.provider.split('.')[0]!, source: parsed.source, ...(parsed.alias ? { alias: parsed.alias } : {}) });
      }
      io.stdout.write(JSON.stringify(planJson(pf.plan, config?.resources ?? [], providers, config?.outputs ?? [])) + '\n');
      return EXIT.OK;
    });
  },
};
