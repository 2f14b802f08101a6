import fs from 'node:fs';
import path from 'node:path';
import { UsageError, stringFlag } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, guarded, loadConfig, locate, openSession, PARALLELISM_FLAG, parallelismOf, STACK_FLAGS, targetsOf, VAR_FLAGS, variableInputs, LOCK_FLAGS, lockOptionsOf } from '../support';
import { VERSION } from '../version';
import { hasChanges, plan } from '../../engine/plan';
import type { Value } from '../../engine/protocol';
import { IdentityDataError, parseSampleIdentities } from '../../identity';
import { SAMPLE_IDENTITIES_OPTION } from '../../identity/impact';
import { writePlanFile } from '../../engine/planfile';
import { refreshProgress } from '../progress';
import { planJson, planText } from '../views/plan';

/** `--identities FILE`: a JSON list of {name, claims}, checked here so a bad file is a usage error. */
function readIdentities(file: string, cwd: string): Value {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(path.resolve(cwd, file), 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`--identities ${file}: ${err.code === 'ENOENT' ? 'no such file' : err instanceof SyntaxError ? `not valid JSON: ${err.message}` : err.message}`);
  }
  try {
    return parseSampleIdentities(json, file) as unknown as Value;
  } catch (e) {
    if (e instanceof IdentityDataError) throw new UsageError(`--identities ${e.message}`);
    throw e;
  }
}

/** `eksidp plan`: refresh, compare with the configuration, show (or save) the changes. */
export const command: Command = {
  spec: {
    name: 'plan',
    summary: 'Show the changes needed to reach the stack\'s configuration (exit 2 with --detailed-exitcode when there are changes).',
    flags: {
      ...STACK_FLAGS,
      ...VAR_FLAGS,
      ...LOCK_FLAGS,
      out: { type: 'string', valueName: 'FILE', description: 'Save the plan for `eksidp apply FILE` (written 0600).' },
      json: { type: 'boolean', description: 'Print the plan in the `terraform show -json` format on stdout only.' },
      'detailed-exitcode': { type: 'boolean', description: 'Exit 2 when there are changes (0: none, 1: error).' },
      refresh: { type: 'string', valueName: 'true|false', description: 'Read live objects first (default true); --refresh=false plans from state alone.' },
      target: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Only this resource and its dependencies (repeatable).' },
      destroy: { type: 'boolean', description: 'Plan to destroy everything in state.' },
      identities: { type: 'string', valueName: 'FILE', description: 'JSON list of {name, claims} previewed under every changed identity provider config (instead of its sample identities).' },
      ...PARALLELISM_FLAG,
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values } = parsed;
    const refreshText = stringFlag(values, 'refresh') ?? 'true';
    if (refreshText !== 'true' && refreshText !== 'false') throw new UsageError(`eksidp plan: --refresh must be true or false, got '${refreshText}'`);
    const parallelism = parallelismOf('plan', values);
    const identitiesFile = stringFlag(values, 'identities');
    const identities = identitiesFile === undefined ? undefined : readIdentities(identitiesFile, io.cwd);
    return guarded(io, values, async () => {
      const loc = locate(values, io);
      const config = loadConfig(loc, variableInputs(parsed, io, loc));
      const session = await openSession(config, io, 'plan', lockOptionsOf(values));
      try {
        const progress = refreshProgress(io);
        const p = await plan(session.ws, session.state.state, { lineage: session.state.state.lineage, serial: session.state.state.serial }, {
          refresh: refreshText === 'true', targets: targetsOf(values), parallelism, signal: io.signal, destroy: values.destroy === true,
          // Kept in the plan (a saved one too), so every view of it previews the same identities.
          ...(identities !== undefined ? { analysisOptions: { [SAMPLE_IDENTITIES_OPTION]: identities } } : {}), onRefresh: progress.onRefresh,
        }).finally(progress.stop);
        const out = stringFlag(values, 'out');
        if (out) writePlanFile(path.resolve(io.cwd, out), p, config, VERSION);
        if (values.json) {
          io.stdout.write(JSON.stringify(planJson(p, config.resources, config.providers, config.outputs, config.variables)) + '\n');
        } else {
          io.stdout.write(planText(p, colorsFor(io, values)));
          if (out && hasChanges(p)) io.stdout.write(`\nSaved the plan to: ${out}\n\nTo perform exactly these actions, run:\n  eksidp apply ${out}\n`);
        }
        // Written in every case, as Terraform does; say so, and that it holds a copy of the state.
        if (out && !hasChanges(p)) io.stderr.write(`Saved the plan to: ${out} (it has no changes: applying it changes nothing). It holds a copy of the state: keep it out of version control.\n`);
        else if (out) io.stderr.write(`The plan file ${out} holds a copy of the state: keep it out of version control.\n`);
        return hasChanges(p) && values['detailed-exitcode'] === true ? EXIT.CHANGES : EXIT.OK;
      } finally {
        await session.close();
      }
    });
  },
};
