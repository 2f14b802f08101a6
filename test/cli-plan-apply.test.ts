import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runCli, type Run, type RunOptions } from './helpers/cli';
import { tempDir } from './helpers/project';

const run = (cwd: string, args: string[], opts: Pick<RunOptions, 'onStderr'> = {}) => runCli(args, { ...opts, cwd });

function stack(t: ExecutionContext, resources: Record<string, unknown>, provider: Record<string, unknown> = {}) {
  const dir = tempDir(t, 'eksidp-cli-');
  const write = (res: Record<string, unknown>, prov: Record<string, unknown> = provider) =>
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ '//': { metadata: { stack: 'x' } }, provider: { memory: [{ path: 'cloud.json', ...prov }] }, resource: { memory_item: res } }));
  write(resources);
  const cloud = () => (fs.existsSync(path.join(dir, 'cloud.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'cloud.json'), 'utf8')) : { objects: {}, events: [] });
  const state = () => JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8'));
  return { dir, write, cloud, state };
}

test('plan, apply and plan again: exit codes, summaries, JSON on stdout only', async (t) => {
  const s = stack(t, { a: { name: 'a' }, b: { name: 'b', value: '${memory_item.a.arn}' } });
  const plan = await run(s.dir, ['plan', '--dir', '.', '--detailed-exitcode']);
  t.is(plan.code, 2, plan.stderr);
  t.regex(plan.stdout, /# memory_item\.b will be created[\s\S]*\+ value\s+= \(known after apply\)[\s\S]*Plan: 2 to add, 0 to change, 0 to destroy\./);
  t.false(fs.existsSync(path.join(s.dir, 'terraform.tfstate')), 'plan writes no state');
  const json = await run(s.dir, ['plan', '--dir', '.', '--json']);
  t.is(json.code, 0);
  t.is(json.stderr, '');
  t.deepEqual(JSON.parse(json.stdout).resource_changes.map((c: { change: { actions: string[] } }) => c.change.actions), [['create'], ['create']]);
  const apply = await run(s.dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(apply.code, 0, apply.stderr);
  t.regex(apply.stderr, /memory_item\.a: Creating\.\.\.\nmemory_item\.a: Creation complete after \d+s \[id=mem-a\]/);
  t.regex(apply.stdout, /Apply complete! Resources: 2 added, 0 changed, 0 destroyed\./);
  const again = await run(s.dir, ['plan', '--dir', '.', '--detailed-exitcode']);
  t.is(again.code, 0);
  t.regex(again.stdout, /No changes\. Your infrastructure matches the configuration\./);
});

test('apply without a terminal and without --auto-approve changes nothing and exits 1', async (t) => {
  const s = stack(t, { a: { name: 'a' } });
  const r = await run(s.dir, ['apply', '--dir', '.']);
  t.is(r.code, 1);
  t.regex(r.stderr, /stdin is not a terminal.*--auto-approve/);
  t.deepEqual(s.cloud().objects, {});
});

test('a configuration error exits 1 naming the address and attribute, before any API call', async (t) => {
  const s = stack(t, { a: { name: 'a', nonsense: true } });
  const r = await run(s.dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(r.code, 1);
  t.regex(r.stderr, /Error: memory_item\.a: nonsense: Unsupported argument/);
  t.false(fs.existsSync(path.join(s.dir, 'cloud.json')));
});

test('a saved plan applies exactly with the configuration and variables it carries, a re-synth notwithstanding, and is refused once the state changed', async (t) => {
  const s = stack(t, { a: { name: 'a' } });
  const withVar = (res: Record<string, unknown>) => {
    s.write(res);
    const file = path.join(s.dir, 'cdk.tf.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), variable: { v: { type: 'string' } } }));
  };
  withVar({ a: { name: 'a', value: '${var.v}' } });
  t.is((await run(s.dir, ['plan', '--dir', '.', '--var', 'v=one', '--out', 'p1'])).code, 0);
  t.is(fs.statSync(path.join(s.dir, 'p1')).mode & 0o777, 0o600);
  const shown = await run(s.dir, ['show', 'p1']);
  t.regex(shown.stdout, /Plan: 1 to add/);
  const shownJson = await run(s.dir, ['show', 'p1', '--json']);
  t.is(JSON.parse(shownJson.stdout).format_version, '1.2');
  // Synthesized again (another value, and no variable any more) after planning: the plan holds its own configuration.
  s.write({ a: { name: 'a', value: 'two' } });
  const withVarFlag = await run(s.dir, ['apply', 'p1', '--var', 'v=three']);
  t.is(withVarFlag.code, 1);
  t.regex(withVarFlag.stderr, /Can't change variable when applying a saved plan: the variable v /);
  const ok1 = await run(s.dir, ['apply', 'p1']);
  t.is(ok1.code, 0, ok1.stderr);
  t.is(s.cloud().objects['mem-a'].value, 'one');
  t.is((await run(s.dir, ['plan', '--dir', '.', '--out', 'p2'])).code, 0);
  t.is((await run(s.dir, ['plan', '--dir', '.', '--out', 'p3'])).code, 0);
  const ok = await run(s.dir, ['apply', 'p2']);
  t.is(ok.code, 0, ok.stderr);
  t.is(s.cloud().objects['mem-a'].value, 'two');
  const moved = await run(s.dir, ['apply', 'p3']);
  t.is(moved.code, 1);
  t.regex(moved.stderr, /Saved plan is stale: the state changed since the plan was made/);
  t.is(s.cloud().objects['mem-a'].value, 'two');
});

test('a plan file saved by an older eksidp (format 1 with rendered notes, format 2 without its configuration) is refused by show and apply with a message to plan again; nothing is applied', async (t) => {
  const s = stack(t, { a: { name: 'a' } });
  t.is((await run(s.dir, ['plan', '--dir', '.', '--out', 'new.tfplan'])).code, 0);
  const current = JSON.parse(fs.readFileSync(path.join(s.dir, 'new.tfplan'), 'utf8')) as { format_version: number; configuration?: unknown; plan: { changes: Record<string, unknown>[]; metadata?: unknown; analysisOptions?: unknown } };
  t.is(current.format_version, 3);
  // Version 2 as it was written: no configuration.
  const v2 = { ...current, format_version: 2 };
  delete v2.configuration;
  fs.writeFileSync(path.join(s.dir, 'v2.tfplan'), JSON.stringify(v2));
  // Version 1 as it was written: notes in each change, no metadata or analysis options.
  const old = { ...v2, format_version: 1, plan: { ...current.plan, changes: current.plan.changes.map((c) => ({ ...c, notes: [] })) } };
  delete old.plan.metadata;
  delete old.plan.analysisOptions;
  fs.writeFileSync(path.join(s.dir, 'old.tfplan'), JSON.stringify(old));
  for (const [file, version] of [['old.tfplan', 1], ['v2.tfplan', 2]] as const) {
    for (const argv of [['show', file], ['show', file, '--json'], ['apply', file]]) {
      const r = await run(s.dir, argv);
      t.is(r.code, 1, argv.join(' '));
      t.is(r.stdout, '');
      t.true(r.stderr.includes(`${file} was saved by an older eksidp (plan format version ${version}; this eksidp reads version 3): run eksidp plan again to make a new plan file`), r.stderr);
    }
  }
  t.false(fs.existsSync(path.join(s.dir, 'cloud.json')), 'nothing applied');
  const applied = await run(s.dir, ['apply', 'new.tfplan']);
  t.is(applied.code, 0, applied.stderr);
});

test('a concurrent apply fails at once naming the holder; a stale lock names the force-unlock command', async (t) => {
  // The first apply's create waits for the gate file, which appears only once the second has ended.
  const s = stack(t, { a: { name: 'a' } }, { apply_gate: 'gate' });
  const lockFile = path.join(s.dir, '.terraform.tfstate.lock.info');
  let second: Promise<Run> | undefined;
  const first = run(s.dir, ['apply', '--dir', '.', '--auto-approve'], {
    onStderr: (text) => {
      if (second || !text.includes('Creating...')) return;
      second = run(s.dir, ['apply', '--dir', '.', '--auto-approve']);
      void second.finally(() => fs.writeFileSync(path.join(s.dir, 'gate'), ''));
    },
  });
  const r1 = await first;
  const r2 = await second!;
  t.is(r1.code, 0, r1.stderr);
  t.is(r2.code, 1);
  t.regex(r2.stderr, /the state is locked by .*@.* pid \d+ \(apply since/);
  t.false(fs.existsSync(lockFile));
  fs.writeFileSync(lockFile, JSON.stringify({ ID: 'dead-lock-id', Operation: 'apply', Who: 'x@y', Pid: 2 ** 22 + 4321, Host: os.hostname(), Created: new Date().toISOString() }));
  const blocked = await run(s.dir, ['plan', '--dir', '.']);
  t.is(blocked.code, 1);
  t.regex(blocked.stderr, /the lock is stale.*eksidp force-unlock dead-lock-id/);
  t.is((await run(s.dir, ['force-unlock', 'wrong-id', '--dir', '.', '--force'])).code, 1);
  const unlock = await run(s.dir, ['force-unlock', 'dead-lock-id', '--dir', '.', '--force']);
  t.is(unlock.code, 0, unlock.stderr);
  t.is((await run(s.dir, ['plan', '--dir', '.'])).code, 0);
});

test('Ctrl-C during apply starts nothing new, finishes the step in flight, saves state and exits 1', async (t) => {
  // One concurrency group, so the items are created one at a time.
  const items = Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [n, { name: n, group: 'g' }]));
  const s = stack(t, items, { apply_delay_ms: 700 });
  let sent = false;
  const r = await run(s.dir, ['apply', '--dir', '.', '--auto-approve'], {
    onStderr: (text, child) => { if (!sent && text.includes('Creating...')) { sent = true; child.kill('SIGINT'); } },
  });
  t.is(r.code, 1);
  t.regex(r.stderr, /Interrupt received/);
  t.regex(r.stderr, /Apply interrupted: 3 change\(s\) not started/);
  const inState = s.state().resources.map((x: { name: string }) => x.name);
  t.deepEqual(inState, ['a']);
  t.deepEqual(Object.keys(s.cloud().objects), ['mem-a']);
  t.false(fs.existsSync(path.join(s.dir, '.terraform.tfstate.lock.info')));
});

test('import, state list/show and destroy', async (t) => {
  const s = stack(t, { x: { name: 'x', value: 'v' } });
  fs.writeFileSync(path.join(s.dir, 'cloud.json'), JSON.stringify({ objects: { 'mem-x': { id: 'mem-x', name: 'x', value: 'v', arn: 'arn:memory:::item/x', status: 'ready' } }, events: [] }));
  const imp = await run(s.dir, ['import', 'memory_item.x', 'mem-x', '--dir', '.']);
  t.is(imp.code, 0, imp.stderr);
  const twice = await run(s.dir, ['import', 'memory_item.x', 'mem-x', '--dir', '.']);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /already managed/);
  t.is((await run(s.dir, ['plan', '--dir', '.', '--detailed-exitcode'])).code, 0);
  t.is((await run(s.dir, ['state', 'list', '--dir', '.'])).stdout, 'memory_item.x\n');
  const show = await run(s.dir, ['state', 'show', 'memory_item.x', '--dir', '.']);
  t.regex(show.stdout, /# memory_item\.x:\nresource "memory_item" "x" \{[\s\S]*id\s+= "mem-x"/);
  const destroy = await run(s.dir, ['destroy', '--dir', '.', '--auto-approve']);
  t.is(destroy.code, 0, destroy.stderr);
  t.regex(destroy.stdout, /Destroy complete! Resources: 1 destroyed\./);
  t.deepEqual(s.cloud().objects, {});
  t.is((await run(s.dir, ['state', 'list', '--dir', '.'])).stdout, '');
});

test('the in-memory test provider exists only when the tests ask for it (EKSIDP_TEST_PROVIDERS=1)', async (t) => {
  const s = stack(t, { a: { name: 'a' } });
  const r = await runCli(['plan', '--dir', '.'], { cwd: s.dir, env: { EKSIDP_TEST_PROVIDERS: undefined } });
  t.is(r.code, 1);
  t.regex(r.stderr, /provider\.memory: unknown provider "memory" \(registry\.terraform\.io\/hashicorp\/memory\): eksidp serves no provider of that name/);
  t.false(fs.existsSync(path.join(s.dir, 'cloud.json')), 'nothing was called');
  t.is((await run(s.dir, ['plan', '--dir', '.'])).code, 0);
});
