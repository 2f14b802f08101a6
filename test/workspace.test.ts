import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * `eksidp workspace` with the local backend (Terraform's `terraform.tfstate.d/<name>/terraform.tfstate`,
 * or `workspace_dir`), the selection in the stack folder's `.terraform/environment` shared with
 * `terraform workspace` run there, and `eksidp show` of the state. The S3 side, against Terraform's own
 * S3 backend, is in state-s3-terraform.test.ts.
 */

type Run = { code: number; stdout: string; stderr: string };

function stack(t: ExecutionContext, backend?: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-ws-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    ...(backend ? { terraform: { backend: { local: backend } } } : {}),
    provider: { memory: [{ path: path.join(dir, 'cloud.json') }] },
    resource: { memory_item: { a: { name: 'a', value: 'one' } } },
    output: { v: { value: '${memory_item.a.value}' }, secret: { value: 's3cr3t', sensitive: true } },
  }));
  return dir;
}

async function eksidp(dir: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const io = captureIo(dir, { TF_WORKSPACE: '', TF_DATA_DIR: '', ...env });
  const code = await runCommand([...argv, '--dir', dir], io);
  return { code, stdout: io.out(), stderr: io.err() };
}

test('workspace new, select, show, list and delete on the local backend, with Terraform\'s rules and messages', async (t) => {
  const dir = stack(t);
  t.deepEqual(await eksidp(dir, ['workspace', 'list']), { code: 0, stdout: '* default\n\n', stderr: '' });
  t.is((await eksidp(dir, ['workspace', 'show'])).stdout, 'default\n');

  const created = await eksidp(dir, ['workspace', 'new', 'dev']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^Created and switched to workspace "dev"!\n\nYou're now on a new, empty workspace/);
  t.is(fs.readFileSync(path.join(dir, '.terraform', 'environment'), 'utf8'), 'dev', 'the selection is kept as Terraform keeps it: the bare name');
  t.true(fs.statSync(path.join(dir, 'terraform.tfstate.d', 'dev')).isDirectory());
  t.is((await eksidp(dir, ['workspace', 'list'])).stdout, '  default\n* dev\n\n');
  t.regex((await eksidp(dir, ['workspace', 'new', 'dev'])).stderr, /Workspace "dev" already exists/);

  // Each workspace has its own state: apply in dev writes dev's file only; default plans from nothing.
  t.is((await eksidp(dir, ['apply', '--auto-approve'])).code, 0);
  const devState = path.join(dir, 'terraform.tfstate.d', 'dev', 'terraform.tfstate');
  t.true(fs.existsSync(devState));
  t.false(fs.existsSync(path.join(dir, 'terraform.tfstate')));
  t.is((await eksidp(dir, ['state', 'list'])).stdout, 'memory_item.a\n');
  t.is((await eksidp(dir, ['state', 'list'], { TF_WORKSPACE: 'default' })).stdout, '', 'TF_WORKSPACE overrides the selection');

  const current = await eksidp(dir, ['workspace', 'delete', 'dev']);
  t.is(current.code, 1);
  t.regex(current.stderr, /Workspace "dev" is your active workspace\. You cannot delete the currently active workspace/);
  t.regex((await eksidp(dir, ['workspace', 'select', 'nope'])).stderr, /Workspace "nope" doesn't exist\. You can create this workspace with the "new" subcommand or include the --or-create flag/);
  t.deepEqual(await eksidp(dir, ['workspace', 'select', 'default']), { code: 0, stdout: 'Switched to workspace "default".\n', stderr: '' });
  t.deepEqual(await eksidp(dir, ['workspace', 'select', 'default']), { code: 0, stdout: '', stderr: '' }, 'already there: nothing said');
  t.is(fs.readFileSync(path.join(dir, '.terraform', 'environment'), 'utf8'), 'default');

  // dev still tracks memory_item.a: refused without --force, and nothing is removed.
  const notEmpty = await eksidp(dir, ['workspace', 'delete', 'dev']);
  t.is(notEmpty.code, 1);
  t.regex(notEmpty.stderr, /Workspace is not empty: workspace "dev" is currently tracking the following resource instances: memory_item\.a\. .*--force/);
  t.true(fs.existsSync(devState));
  t.is(fs.readdirSync(path.dirname(devState)).filter((f) => f.includes('lock')).length, 0, 'the lock was released');
  const forced = await eksidp(dir, ['workspace', 'delete', 'dev', '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.regex(forced.stdout, /^Deleted workspace "dev"!\nWARNING: "dev" was non-empty\./);
  t.false(fs.existsSync(path.join(dir, 'terraform.tfstate.d', 'dev')));
  t.is((await eksidp(dir, ['workspace', 'list'])).stdout, '* default\n\n');

  // select --or-create, then default cannot be deleted; an empty workspace goes without --force.
  const orCreate = await eksidp(dir, ['workspace', 'select', 'qa', '--or-create']);
  t.regex(orCreate.stdout, /^Created and switched to workspace "qa"!/);
  t.regex((await eksidp(dir, ['workspace', 'delete', 'default'])).stderr, /Cannot delete the default workspace/);
  t.is((await eksidp(dir, ['workspace', 'select', 'default'])).code, 0);
  t.deepEqual(await eksidp(dir, ['workspace', 'delete', 'qa']), { code: 0, stdout: 'Deleted workspace "qa"!\n', stderr: '' });
});

test('workspace names are checked as Terraform checks them; TF_WORKSPACE overrides the selection and blocks select and new, as in Terraform', async (t) => {
  const dir = stack(t);
  for (const bad of ['a/b', 'a b', 'é', 'a,b', 'a;b', 'a?b', '']) {
    const r = await eksidp(dir, ['workspace', 'new', bad]);
    t.is(r.code, 1, bad);
    t.regex(r.stderr, bad === '' ? /expected a single argument: NAME/ : /is not allowed\. The name must contain only URL safe characters/, bad);
  }
  // Go's url.PathEscape leaves these alone, so Terraform accepts them.
  t.is((await eksidp(dir, ['workspace', 'new', 'a~b$c&d+e:f=g@h.i_j-k'])).code, 0);
  t.is((await eksidp(dir, ['workspace', 'new', '..'])).code, 1, 'a name that would leave the workspace folder');
  t.false(fs.readdirSync(dir).includes('terraform.tfstate'));

  const env = { TF_WORKSPACE: 'ci' };
  t.is((await eksidp(dir, ['workspace', 'show'], env)).stdout, 'ci\n');
  t.regex((await eksidp(dir, ['workspace', 'select', 'default'], env)).stderr, /currently overridden using the TF_WORKSPACE environment variable/);
  t.regex((await eksidp(dir, ['workspace', 'new', 'other'], env)).stderr, /You cannot create a new workspace when using this setting/);
  t.is((await eksidp(dir, ['workspace', 'new', 'ci'], env)).code, 0, 'new of the overriding name is allowed');
  t.is((await eksidp(dir, ['workspace', 'list'], env)).stdout, '  default\n  a~b$c&d+e:f=g@h.i_j-k\n* ci\n\nThe active workspace is being overridden using the TF_WORKSPACE environment variable.\n');
  t.regex((await eksidp(dir, ['plan'], { TF_WORKSPACE: 'a/b' })).stderr, /Invalid workspace name set using TF_WORKSPACE/);
  // A selection file edited by hand to an invalid name: commands refuse it, select replaces it.
  fs.writeFileSync(path.join(dir, '.terraform', 'environment'), 'bad/name\n');
  t.regex((await eksidp(dir, ['plan'])).stderr, /Invalid workspace name: the selected workspace described in .*environment.* has an invalid name/);
  t.is((await eksidp(dir, ['workspace', 'select', 'default'])).code, 0);
  t.is((await eksidp(dir, ['workspace', 'show'])).stdout, 'default\n');
  // Flags of another subcommand are refused, not ignored; TF_DATA_DIR moves the selection as in Terraform.
  t.regex((await eksidp(dir, ['workspace', 'list', '--force'])).stderr, /--force is not a flag of this subcommand/);
  t.regex((await eksidp(dir, ['workspace', 'new', 'x', '--lock=false'])).stderr, /--lock is not a flag of this subcommand/);
  t.is((await eksidp(dir, ['workspace', 'select', 'ci'], { TF_DATA_DIR: 'tfdata' })).code, 0);
  t.is(fs.readFileSync(path.join(dir, 'tfdata', 'environment'), 'utf8'), 'ci');
  t.is((await eksidp(dir, ['workspace', 'show'])).stdout, 'default\n');
});

test('workspace_dir places the workspaces elsewhere, as in Terraform', async (t) => {
  const dir = stack(t, { path: '../state/x.tfstate', workspace_dir: '../state/x.tfstate.d' });
  t.is((await eksidp(dir, ['workspace', 'new', 'dev'])).code, 0);
  t.is((await eksidp(dir, ['apply', '--auto-approve'])).code, 0);
  t.true(fs.existsSync(path.join(dir, '..', 'state', 'x.tfstate.d', 'dev', 'terraform.tfstate')));
  t.teardown(() => fs.rmSync(path.join(dir, '..', 'state'), { recursive: true, force: true }));
  t.is((await eksidp(dir, ['workspace', 'list'])).stdout, '  default\n* dev\n\n');
});

test('show without a plan file: the current workspace\'s state, for people and as terraform show -json prints a state', async (t) => {
  const dir = stack(t);
  t.deepEqual(await eksidp(dir, ['show']), { code: 0, stdout: 'No state.\n', stderr: '' });
  t.is((await eksidp(dir, ['show', '--json'])).stdout, '{"format_version":"1.0"}\n');
  t.is((await eksidp(dir, ['apply', '--auto-approve'])).code, 0);
  const human = await eksidp(dir, ['show']);
  t.is(human.code, 0, human.stderr);
  // Terraform's layout (jsonformat's RenderHumanState): "# ADDR:", the resource block with aligned attributes, then the outputs.
  t.regex(human.stdout, /^# memory_item\.a:\nresource "memory_item" "a" \{\n(    \w+ +=.*\n)+\}\n\n\nOutputs:\n\nsecret = \(sensitive value\)\nv = "one"\n$/);
  t.regex(human.stdout, /\n    name += "a"\n/);
  t.regex(human.stdout, /\n    value += "one"\n/);
  const json = JSON.parse((await eksidp(dir, ['show', '--json'])).stdout) as Record<string, unknown>;
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')) as { terraform_version: string; resources: { instances: { attributes: Record<string, unknown> }[] }[] };
  const item = state.resources[0]!.instances[0]!.attributes;
  t.deepEqual(json, {
    format_version: '1.0', terraform_version: state.terraform_version,
    values: {
      outputs: { secret: { sensitive: true, value: 's3cr3t', type: 'string' }, v: { sensitive: false, value: 'one', type: 'string' } },
      root_module: { resources: [{ address: 'memory_item.a', mode: 'managed', type: 'memory_item', name: 'a', provider_name: 'registry.terraform.io/hashicorp/memory', schema_version: 0, values: item, sensitive_values: { spec: [] } }] },
    },
  });
  // The workspace's state, not default's (output too reads it through the backend).
  t.is((await eksidp(dir, ['output', 'v'])).stdout, '"one"\n');
  t.is((await eksidp(dir, ['workspace', 'new', 'empty'])).code, 0);
  t.is((await eksidp(dir, ['show'])).stdout, 'No state.\n');
  t.regex((await eksidp(dir, ['output', 'v'])).stderr, /No outputs found/);
  t.is((await eksidp(dir, ['output', 'v'], { TF_WORKSPACE: 'default' })).stdout, '"one"\n');
  t.regex((await eksidp(dir, ['show', 'some.tfplan'])).stderr, /--stack and --dir are for showing the state/);
});

terraformTest(test, 'local backend: a workspace terraform makes is listed and used by eksidp, and one eksidp makes is listed and used by terraform, through the shared .terraform/environment', async (t) => {
  const dir = stack(t);
  const tf = (args: string[]) => terraform(dir, [...args, '-no-color'], { TF_WORKSPACE: '', TF_DATA_DIR: '' });
  const made = await tf(['workspace', 'new', 'tfmade']);
  t.is(made.code, 0, made.stderr);
  t.is((await eksidp(dir, ['workspace', 'list'])).stdout, '  default\n* tfmade\n\n');
  t.is((await eksidp(dir, ['apply', '--auto-approve'])).code, 0);
  t.true(fs.existsSync(path.join(dir, 'terraform.tfstate.d', 'tfmade', 'terraform.tfstate')));
  t.is((await tf(['state', 'list'])).stdout, 'memory_item.a\n', 'terraform reads the state eksidp wrote in its workspace');

  t.is((await eksidp(dir, ['destroy', '--auto-approve'])).code, 0, 'frees the name for the next workspace');
  t.is((await eksidp(dir, ['workspace', 'new', 'eksmade'])).code, 0);
  const listed = await tf(['workspace', 'list']);
  t.regex(listed.stdout, /^  default\n\* eksmade\n  tfmade\n/);
  t.is((await tf(['workspace', 'show'])).stdout, 'eksmade\n');
  t.is((await eksidp(dir, ['workspace', 'select', 'tfmade'])).code, 0);
  t.is((await tf(['workspace', 'show'])).stdout, 'tfmade\n');
  t.is((await tf(['workspace', 'select', 'eksmade'])).code, 0);
  const applied = await eksidp(dir, ['apply', '--auto-approve']);
  t.is(applied.code, 0, applied.stderr);
  t.is((await tf(['state', 'list'])).stdout, 'memory_item.a\n');
  // Terraform deletes eksidp's workspace (with -force: it tracks a resource), and eksidp no longer lists it.
  t.is((await tf(['workspace', 'select', 'default'])).code, 0);
  const deleted = await tf(['workspace', 'delete', '-force', 'eksmade']);
  t.is(deleted.code, 0, deleted.stderr);
  t.is((await eksidp(dir, ['workspace', 'list'])).stdout, '* default\n  tfmade\n\n');
});
