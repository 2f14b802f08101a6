import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, guarded, loadConfig, locate, LOCK_FLAGS, lockOptionsOf, STACK_FLAGS, variableInputs } from '../support';
import { openBackend, selectedWorkspace, setSelectedWorkspace, validWorkspaceName } from '../../backends';
import { invalidNameMessage } from '../../backends/workspace';
import { resourceAddress } from '../../engine/state';
import { lockWithTimeout } from '../../engine/statemgr';
import { EngineError } from '../../engine/util';
import { escapeControls as e } from '../../lib/escape';

/**
 * `eksidp workspace list | show | new NAME | select NAME | delete NAME`, with Terraform 1.11's
 * semantics and messages (internal/command/workspace_*.go). The selection is the stack folder's
 * `.terraform/environment`, shared with `terraform workspace select` run there; TF_WORKSPACE
 * overrides it. The workspaces themselves are the backend's (S3 keys, or local folders).
 */

const OVERRIDDEN_NOTE = 'The active workspace is being overridden using the TF_WORKSPACE environment variable.';
const OVERRIDDEN_SELECT = 'The selected workspace is currently overridden using the TF_WORKSPACE environment variable. To select a new workspace, either update this environment variable or unset it and then run this command again.';
const OVERRIDDEN_NEW = 'The workspace is currently overridden using the TF_WORKSPACE environment variable. You cannot create a new workspace when using this setting. To create a new workspace, either unset this environment variable or update it to match the workspace name you are trying to create, and then run this command again.';
const doesNotExist = (name: string) => `Workspace ${JSON.stringify(name)} doesn't exist. You can create this workspace with the "new" subcommand or include the --or-create flag with the "select" subcommand.`;
const created = (name: string) => `Created and switched to workspace ${JSON.stringify(name)}!\n\nYou're now on a new, empty workspace. Workspaces isolate their state,\nso if you run "eksidp plan" eksidp will not see any existing state\nfor this configuration.\n`;

const SUBCOMMANDS = ['list', 'show', 'new', 'select', 'delete'] as const;
type Sub = (typeof SUBCOMMANDS)[number];
/** Which flags each subcommand takes beyond --stack/--dir and --color (a flag given to another is an error, not ignored). */
const ALLOWED: Record<Sub, string[]> = { list: [], show: [], new: [], select: ['or-create'], delete: ['force', 'lock', 'lock-timeout'] };

export const command: Command = {
  spec: {
    name: 'workspace',
    summary: 'Manage workspaces: workspace list | show | new NAME | select NAME | delete NAME',
    args: '(list | show | new NAME | select NAME | delete NAME)',
    maxPositionals: 2,
    flags: {
      ...STACK_FLAGS,
      'or-create': { type: 'boolean', description: 'select: create the workspace when it does not exist (Terraform\'s -or-create).' },
      force: { type: 'boolean', description: 'delete: delete a workspace whose state still tracks resources (they are forgotten, not destroyed).' },
      ...LOCK_FLAGS,
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const [sub, name] = positionals;
    if (!SUBCOMMANDS.includes(sub as Sub)) throw new UsageError("eksidp workspace: expected 'list', 'show', 'new NAME', 'select NAME' or 'delete NAME'");
    const s = sub as Sub;
    for (const flag of ['or-create', 'force', 'lock', 'lock-timeout']) {
      if (values[flag] !== undefined && !ALLOWED[s].includes(flag)) throw new UsageError(`eksidp workspace ${s}: --${flag} is not a flag of this subcommand`);
    }
    if ((s === 'list' || s === 'show') && name !== undefined) throw new UsageError(`eksidp workspace ${s}: unexpected argument '${name}'`);
    if ((s === 'new' || s === 'select' || s === 'delete') && (name === undefined || name === '')) throw new UsageError(`eksidp workspace ${s}: expected a single argument: NAME`);
    // As Terraform: new and select check the name; delete does not, so a badly named workspace can be removed.
    if ((s === 'new' || s === 'select') && !validWorkspaceName(name!)) throw new UsageError(invalidNameMessage(name!));
    const lockOpts = lockOptionsOf(values);
    const c = colorsFor(io, values);
    return guarded(io, values, async () => {
      const loc = locate(values, io, { allowFailedSynth: true });
      if (s === 'show') {
        io.stdout.write(`${e(selectedWorkspace(io.env, loc.dir).name)}\n`);
        return EXIT.OK;
      }
      // Only the backend block is needed: variables without a value are no error here.
      const config = loadConfig(loc, variableInputs(parsed, io, loc, { tolerateMissing: true }));
      const current = selectedWorkspace(io.env, loc.dir, { lenient: s === 'select' });
      if (s === 'new' && current.overridden && current.name !== name) throw new EngineError(OVERRIDDEN_NEW);
      if (s === 'select' && current.overridden) throw new EngineError(OVERRIDDEN_SELECT);
      const backend = openBackend(config, io.env);
      try {
        const existing = await backend.workspaces();
        if (s === 'list') {
          io.stdout.write(existing.map((w) => `${w === current.name ? '* ' : '  '}${e(w)}\n`).join('') + '\n');
          if (current.overridden) io.stdout.write(`${OVERRIDDEN_NOTE}\n`);
          return EXIT.OK;
        }
        const ws = name!;
        if (s === 'new') {
          if (existing.includes(ws)) throw new EngineError(`Workspace ${JSON.stringify(ws)} already exists`);
          await backend.createWorkspace(ws);
          setSelectedWorkspace(io.env, loc.dir, ws);
          io.stdout.write(c.green(c.bold(created(ws))));
          return EXIT.OK;
        }
        if (s === 'select') {
          if (ws === current.name) return EXIT.OK;
          const found = existing.includes(ws);
          if (!found && values['or-create'] !== true) throw new EngineError(doesNotExist(ws));
          if (!found) await backend.createWorkspace(ws);
          setSelectedWorkspace(io.env, loc.dir, ws);
          io.stdout.write(c.green(found ? `Switched to workspace ${JSON.stringify(ws)}.\n` : created(ws)));
          return EXIT.OK;
        }
        // delete
        if (!existing.includes(ws)) throw new EngineError(doesNotExist(ws));
        if (ws === current.name) throw new EngineError(`Workspace ${JSON.stringify(ws)} is your active workspace. You cannot delete the currently active workspace. Please switch to another workspace and try again.`);
        if (ws === 'default') throw new EngineError('Cannot delete the default workspace');
        const storage = backend.storage(ws);
        const lock = lockOpts.lock ? await lockWithTimeout(storage, 'workspace delete', lockOpts.timeoutMs, { signal: io.signal, onWait: () => io.stderr.write('Acquiring state lock. This may take a few moments...\n') }) : undefined;
        let tracked: string[];
        try {
          const state = await storage.refresh();
          tracked = (state?.resources ?? []).filter((r) => r.mode === 'managed' && r.instances.length > 0).map((r) => resourceAddress(r));
        } finally {
          // As Terraform: released just before the state is removed.
          await lock?.unlock();
        }
        if (tracked.length > 0 && values.force !== true) {
          throw new EngineError(`Workspace is not empty: workspace ${JSON.stringify(ws)} is currently tracking the following resource instances: ${tracked.map(e).join(', ')}. ` +
            'Deleting this workspace would cause eksidp to lose track of any associated remote objects, which would then require you to delete them manually. ' +
            'You should destroy these objects (eksidp destroy in that workspace) before deleting the workspace. If you want to delete this workspace anyway, and have eksidp forget about these managed objects, use the --force option to disable this safety check.');
        }
        await backend.deleteWorkspace(ws);
        io.stdout.write(c.green(`Deleted workspace ${JSON.stringify(ws)}!\n`));
        if (tracked.length > 0) io.stdout.write(c.yellow(`WARNING: ${JSON.stringify(ws)} was non-empty.\nThe resources managed by the deleted workspace may still exist,\nbut are no longer manageable by eksidp since the state has\nbeen deleted.\n`));
        return EXIT.OK;
      } finally {
        await backend.close();
      }
    });
  },
};
