import path from 'node:path';
import { stringFlag, UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, guarded, locate, openSession, PARALLELISM_FLAG, parallelismOf, STACK_FLAGS, targetsOf, VAR_FLAGS, LOCK_FLAGS, lockOptionsOf, variableInputs } from '../support';
import { applyPlan, planAndApply } from '../operation';
import { hasChanges } from '../../engine/plan';
import { checkPlanFile, readPlanFile, savedPlanConfig, savedVariableConflicts } from '../../engine/planfile';
import { EngineError } from '../../engine/util';
import { escapeControls as e } from '../../lib/escape';
import { JSON_NEEDS_APPROVAL, JsonUi, jsonGuarded } from '../views/apply-json';

/**
 * `eksidp apply [PLANFILE]`: with a saved plan, applies exactly it with the configuration and
 * variable values it carries (refused when the state changed since); without, plans, shows and asks
 * for approval.
 */
export const command: Command = {
  spec: {
    name: 'apply',
    summary: 'Apply a saved plan, or plan and apply after approval.',
    args: '[PLANFILE]',
    maxPositionals: 1,
    flags: {
      ...STACK_FLAGS,
      ...VAR_FLAGS,
      ...LOCK_FLAGS,
      'auto-approve': { type: 'boolean', description: 'Apply without asking (needed when stdin is not a terminal).' },
      target: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Only this resource and its dependencies (repeatable).' },
      json: { type: 'boolean', description: 'Print Terraform\'s machine-readable UI (`terraform apply -json`) on stdout, then a per-cluster summary; needs --auto-approve or a saved plan.' },
      ...PARALLELISM_FLAG,
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const planFile = positionals[0];
    parallelismOf('apply', values);
    if (planFile && targetsOf(values).length > 0) throw new UsageError('eksidp apply: --target cannot be used with a saved plan (the plan already fixes what is applied)');
    const json = values.json === true ? new JsonUi(io) : undefined;
    if (json && !planFile && values['auto-approve'] !== true) return jsonGuarded(json, () => { throw new EngineError([JSON_NEEDS_APPROVAL]); });
    const body = async () => {
      if (!planFile) return planAndApply(io, parsed, 'apply', json);
      const pf = readPlanFile(path.resolve(io.cwd, planFile));
      const explicit = stringFlag(values, 'stack') !== undefined || stringFlag(values, 'dir') !== undefined;
      // --stack/--dir only say which stack the plan must be for: the configuration is the plan's own.
      const stackName = explicit ? locate(values, io).name : pf.stack.name;
      // As Terraform: the saved plan holds the variable values it was made with; others given now must agree.
      const conflicts = savedVariableConflicts(pf, variableInputs(parsed, io, { name: pf.stack.name, dir: path.dirname(pf.stack.file), file: pf.stack.file }));
      const warnings = conflicts.filter((x) => x.severity === 'warning');
      if (json) json.diagnostics(warnings);
      else for (const d of warnings) io.stderr.write(`Warning: ${e(d.summary)}\n`);
      const errors = conflicts.filter((x) => x.severity === 'error');
      if (errors.length > 0) throw new EngineError(errors.map((x) => x.summary).join('\n'));
      const config = savedPlanConfig(pf, planFile);
      const session = await openSession(config, io, 'apply', lockOptionsOf(values));
      try {
        const s = session.state;
        checkPlanFile(pf, { stackName, statePath: config.statePath, lineage: s.state.lineage, serial: s.state.serial, stateExists: s.exists() });
        // A plan made with no state fixed the lineage its idempotency tokens use.
        if (!s.exists()) s.adoptLineage(pf.state.lineage);
        if (json) json.plan(pf.plan);
        if (!hasChanges(pf.plan)) {
          if (json) { json.changeSummary('apply', { added: 0, changed: 0, destroyed: 0 }); json.outputs(s.state.outputs); }
          else io.stdout.write('No changes. Apply complete! Resources: 0 added, 0 changed, 0 destroyed.\n');
          return EXIT.OK;
        }
        return await applyPlan(session, pf.plan, io, values, 'apply', json);
      } finally {
        await session.close();
      }
    };
    return json ? jsonGuarded(json, body) : guarded(io, values, body);
  },
};
