import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { captureIo, runCommand } from './helpers/in-process';

/**
 * Provider aliases through the CLI with the memory provider: each configuration is its own provider
 * instance (here its own "cloud" file), resources go where `provider` names, state and JSON plans
 * name the configuration as Terraform does.
 */

const SOURCE = 'registry.terraform.io/hashicorp/memory';

function stack(t: ExecutionContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-alias-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Cloud paths are absolute: the memory provider resolves them against the process's folder.
  const at = (p: Record<string, unknown>) => ({ ...p, path: path.join(dir, String(p.path)) });
  const write = (resources: Record<string, unknown>, providers: Record<string, unknown>[] = [{ path: 'east.json' }, { alias: 'west', path: 'west.json' }]) =>
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { memory: providers.map(at) }, resource: { memory_item: resources } }));
  const cloud = (file: string): Record<string, unknown> => {
    const p = path.join(dir, file);
    return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, 'utf8')) as { objects: Record<string, unknown> }).objects : {};
  };
  const state = () => JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')) as { resources: { name: string; provider: string }[] };
  const cli = async (...argv: string[]) => {
    const io = captureIo(dir);
    const code = await runCommand(argv[0] === 'show' ? argv : [...argv, '--dir', '.'], io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  return { dir, write, cloud, state, cli };
}

test('resources go to the configuration their provider names; state and the JSON plan name it as Terraform does', async (t) => {
  const s = stack(t);
  s.write({ a: { name: 'a' }, b: { name: 'b', provider: 'memory.west' }, c: { name: 'c', provider: '${memory.west}', value: '${memory_item.a.arn}' } });
  const json = await s.cli('plan', '--json');
  t.is(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout) as {
    resource_changes: { address: string; provider_name: string }[];
    configuration: { provider_config: Record<string, unknown>; root_module: { resources: { address: string; provider_config_key: string }[] } };
  };
  t.deepEqual(plan.configuration.provider_config, { memory: { name: 'memory', full_name: SOURCE }, 'memory.west': { name: 'memory', full_name: SOURCE, alias: 'west' } });
  t.deepEqual(Object.fromEntries(plan.configuration.root_module.resources.map((r) => [r.address, r.provider_config_key])), { 'memory_item.a': 'memory', 'memory_item.b': 'memory.west', 'memory_item.c': 'memory.west' });
  t.true(plan.resource_changes.every((c) => c.provider_name === SOURCE), 'provider_name carries no alias');

  const apply = await s.cli('apply', '--auto-approve');
  t.is(apply.code, 0, apply.stderr);
  t.deepEqual(Object.keys(s.cloud('east.json')), ['mem-a']);
  t.deepEqual(Object.keys(s.cloud('west.json')).sort(), ['mem-b', 'mem-c']);
  t.deepEqual(Object.fromEntries(s.state().resources.map((r) => [r.name, r.provider])), {
    a: `provider["${SOURCE}"]`,
    b: `provider["${SOURCE}"].west`,
    c: `provider["${SOURCE}"].west`,
  });
  const again = await s.cli('plan', '--detailed-exitcode');
  t.is(again.code, 0, again.stdout + again.stderr);
  // A saved plan shows the same configurations.
  s.write({ a: { name: 'a' }, b: { name: 'b', provider: 'memory.west', value: 'changed' }, c: { name: 'c', provider: '${memory.west}', value: '${memory_item.a.arn}' } });
  t.is((await s.cli('plan', '--out', 'p.plan')).code, 0);
  const shown = await s.cli('show', 'p.plan', '--json');
  const saved = JSON.parse(shown.stdout) as { configuration: typeof plan.configuration; resource_changes: { address: string; change: { actions: string[] } }[] };
  t.deepEqual(saved.configuration.provider_config, plan.configuration.provider_config);
  t.deepEqual(saved.resource_changes.filter((c) => c.change.actions[0] !== 'no-op').map((c) => c.address), ['memory_item.b']);
  t.is((await s.cli('apply', 'p.plan')).code, 0);
  t.is((s.cloud('west.json')['mem-b'] as { value?: string }).value, 'changed');
});

test('--target and destroy work per configuration; a resource moved to another configuration is read and made there', async (t) => {
  const s = stack(t);
  s.write({ a: { name: 'a' }, b: { name: 'b', provider: 'memory.west' } });
  t.is((await s.cli('apply', '--auto-approve', '--target', 'memory_item.b')).code, 0);
  t.deepEqual(s.cloud('east.json'), {});
  t.deepEqual(Object.keys(s.cloud('west.json')), ['mem-b']);
  t.is((await s.cli('apply', '--auto-approve')).code, 0);
  // b moves to the default configuration: it is read there (absent) and created; state names the new configuration.
  s.write({ a: { name: 'a' }, b: { name: 'b' } });
  const moved = await s.cli('apply', '--auto-approve');
  t.is(moved.code, 0, moved.stderr);
  t.regex(moved.stdout, /1 added/);
  t.deepEqual(Object.keys(s.cloud('east.json')).sort(), ['mem-a', 'mem-b']);
  t.is(s.state().resources.find((r) => r.name === 'b')?.provider, `provider["${SOURCE}"]`);
  const destroy = await s.cli('destroy', '--auto-approve');
  t.is(destroy.code, 0, destroy.stderr);
  t.deepEqual(s.cloud('east.json'), {});
});

test('an aliased resource left in state needs its configuration: removing the block is an error naming both, and nothing is done', async (t) => {
  const s = stack(t);
  s.write({ a: { name: 'a' }, b: { name: 'b', provider: 'memory.west' } });
  t.is((await s.cli('apply', '--auto-approve')).code, 0);
  const before = fs.readFileSync(path.join(s.dir, 'terraform.tfstate'), 'utf8');
  s.write({ a: { name: 'a' } }, [{ path: 'east.json' }]);
  const r = await s.cli('apply', '--auto-approve');
  t.is(r.code, 1);
  t.regex(r.stderr, /memory_item\.b: memory_item\.b is in state with provider configuration provider\["registry\.terraform\.io\/hashicorp\/memory"\]\.west, which is not in the configuration/);
  t.deepEqual(Object.keys(s.cloud('west.json')), ['mem-b']);
  t.is(fs.readFileSync(path.join(s.dir, 'terraform.tfstate'), 'utf8'), before);
});

test('import of an aliased resource reads it through its configuration and records the alias', async (t) => {
  const s = stack(t);
  s.write({ b: { name: 'b', provider: 'memory.west' } });
  t.is((await s.cli('apply', '--auto-approve')).code, 0);
  const forget = () => fs.rmSync(path.join(s.dir, 'terraform.tfstate'));
  forget();
  const r = await s.cli('import', 'memory_item.b', 'mem-b');
  t.is(r.code, 0, r.stderr);
  t.is(s.state().resources.find((x) => x.name === 'b')?.provider, `provider["${SOURCE}"].west`);
  // Imported through the default configuration instead, the object is not found there.
  s.write({ b: { name: 'b' } });
  forget();
  const wrong = await s.cli('import', 'memory_item.b', 'mem-b');
  t.is(wrong.code, 1);
});

test('two configurations with one alias, or an invalid provider reference, are errors before anything runs', async (t) => {
  const s = stack(t);
  s.write({ a: { name: 'a' } }, [{ path: 'east.json' }, { alias: 'west', path: 'w1.json' }, { alias: 'west', path: 'w2.json' }]);
  const dup = await s.cli('plan');
  t.is(dup.code, 1);
  t.regex(dup.stderr, /provider\.memory\.west: duplicate provider configuration for "memory\.west"/);
  s.write({ a: { name: 'a', provider: 'memory.west.x' } });
  const bad = await s.cli('plan');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /memory_item\.a: provider: invalid provider reference "memory\.west\.x"/);
});
