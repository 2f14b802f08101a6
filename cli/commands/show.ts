import path from 'node:path';
import { UsageError, type Parsed } from '../args';
import type { Command, Io } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, guarded, loadConfig, locate, openStorage, STACK_FLAGS, variableInputs } from '../support';
import { renderInstance } from './state';
import { parseProviderAddress } from '../../engine/config';
import { readPlanFile, savedPlanConfig } from '../../engine/planfile';
import { planJson, planText } from '../views/plan';
import { stateJson, type PlanProviders } from '../../engine/json-plan';
import { stateOutputs } from '../../engine/outputs';
import { resourceAddress, type StateV4 } from '../../engine/state';
import { formatValue } from '../../engine/types';
import { escapeControls as e } from '../../lib/escape';

/**
 * `eksidp show [PLANFILE] [--json]`: without a file, the current state of the stack's workspace (through
 * its backend, as `terraform show` reads it: no lock, no provider); with one, a saved plan. Both for
 * people, or in `terraform show -json` form.
 */
export const command: Command = {
  spec: {
    name: 'show',
    summary: 'Show the current state of the stack (its current workspace), or render a saved plan file.',
    args: '[PLANFILE]',
    maxPositionals: 1,
    flags: {
      ...STACK_FLAGS,
      json: { type: 'boolean', description: 'Print the state or the plan in the `terraform show -json` format on stdout only.' },
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const file = positionals[0];
    if (!file) return guarded(io, values, () => showState(parsed, io));
    if (values.stack !== undefined || values.dir !== undefined) throw new UsageError('eksidp show: a plan file names its own stack: --stack and --dir are for showing the state');
    return guarded(io, values, async () => {
      const pf = readPlanFile(path.resolve(io.cwd, file));
      if (!values.json) {
        io.stdout.write(planText(pf.plan, colorsFor(io, values)));
        return EXIT.OK;
      }
      // The configuration section is the one the plan carries.
      const config = savedPlanConfig(pf, file);
      const providers: PlanProviders = new Map(config.providers);
      for (const c of pf.plan.changes) {
        const parsed = parseProviderAddress(c.providerAddress);
        if (providers.has(c.provider) || !parsed) continue;
        providers.set(c.provider, { name: c.provider.split('.')[0]!, source: parsed.source, ...(parsed.alias ? { alias: parsed.alias } : {}) });
      }
      io.stdout.write(JSON.stringify(planJson(pf.plan, config.resources, providers, config.outputs, config.variables)) + '\n');
      return EXIT.OK;
    });
  },
};

/** The state as `terraform show` prints it (jsonformat's RenderHumanState), or as `terraform show -json`. */
async function showState(parsed: Parsed, io: Io): Promise<number> {
  const { values } = parsed;
  const loc = locate(values, io, { allowFailedSynth: true });
  // Only the backend block is needed: variables without a value are no error here.
  const config = loadConfig(loc, variableInputs(parsed, io, loc, { tolerateMissing: true }));
  const { backend, storage } = openStorage(config, io);
  let state: StateV4 | null;
  try {
    state = await storage.refresh();
  } finally {
    await backend.close();
  }
  if (values.json === true) {
    io.stdout.write(JSON.stringify(stateJson(state)) + '\n');
    return EXIT.OK;
  }
  if (!state) {
    io.stdout.write('No state.\n');
    return EXIT.OK;
  }
  const outputs = stateOutputs(state.outputs);
  const instances = state.resources.flatMap((r) => r.instances.map((i) => ({ r, i })));
  if (instances.length === 0 && Object.keys(outputs).length === 0) {
    io.stdout.write('The state file is empty. No resources are represented.\n');
    return EXIT.OK;
  }
  const sorted = (stateJson(state).values as { root_module: { resources: { address: string }[] } }).root_module.resources.map((x) => x.address);
  const byAddress = new Map(instances.map(({ r, i }) => [`${resourceAddress(r)}${i.index_key === undefined ? '' : `[${JSON.stringify(i.index_key)}]`}`, { r, i }]));
  const blocks = sorted.map((address) => {
    const { r, i } = byAddress.get(address)!;
    const header = `# ${e(address)}:${i.status === 'tainted' ? ' (tainted)' : ''}`;
    return [header, ...renderInstance(r.mode === 'data' ? 'data' : 'resource', r.type, r.name, i)].join('\n') + '\n';
  });
  let text = blocks.join('\n');
  const names = Object.keys(outputs).sort();
  if (names.length > 0) {
    // Output values come from state: controls are escaped line by line (tabs kept, as `eksidp output` does).
    const safe = (t: string) => t.split('\n').map((line) => line.split('\t').map(e).join('\t')).join('\n');
    text += `\n\nOutputs:\n\n${names.map((n) => `${e(n)} = ${outputs[n]!.sensitive ? '(sensitive value)' : safe(formatValue(outputs[n]!.value, outputs[n]!.type))}`).join('\n')}\n`;
  }
  io.stdout.write(text);
  return EXIT.OK;
}
