import type { Command } from '../command';
import { COLOR_FLAG, guarded, PARALLELISM_FLAG, parallelismOf, STACK_FLAGS, VAR_FLAGS, LOCK_FLAGS } from '../support';
import { planAndApply } from '../operation';
import { EngineError } from '../../engine/util';
import { JSON_NEEDS_APPROVAL, JsonUi, jsonGuarded } from '../views/apply-json';

/** `eksidp destroy`: plans the deletion of everything in state (dependents first) and applies it. */
export const command: Command = {
  spec: {
    name: 'destroy',
    summary: 'Destroy everything the stack manages.',
    flags: {
      ...STACK_FLAGS,
      ...VAR_FLAGS,
      ...LOCK_FLAGS,
      'auto-approve': { type: 'boolean', description: 'Destroy without asking (needed when stdin is not a terminal).' },
      target: { type: 'string', multiple: true, valueName: 'ADDR', description: 'Only this resource and what depends on it (repeatable).' },
      json: { type: 'boolean', description: 'Print Terraform\'s machine-readable UI (`terraform destroy -json`) on stdout, then a per-cluster summary; needs --auto-approve.' },
      ...PARALLELISM_FLAG,
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values } = parsed;
    parallelismOf('destroy', values);
    if (values.json === true) {
      const json = new JsonUi(io);
      return jsonGuarded(json, async () => {
        if (values['auto-approve'] !== true) throw new EngineError([JSON_NEEDS_APPROVAL]);
        return planAndApply(io, parsed, 'destroy', json);
      });
    }
    return guarded(io, values, () => planAndApply(io, parsed, 'destroy'));
  },
};
