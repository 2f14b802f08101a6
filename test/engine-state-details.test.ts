import fs from 'node:fs';
import test from 'ava';
import { jsonPlan } from '../engine/json-plan';
import { planCounts } from '../engine/plan';
import { renderPlan } from '../engine/render';
import { readState } from '../engine/state';
import { byteCompare } from '../engine/types';
import { colors } from '../lib/color';
import { harness } from './fixtures/engine/harness';
import { captureIo, runCommand } from './helpers/in-process';

test('byteCompare orders as Go compares the UTF-8 bytes, surrogates (paired or lone) included', (t) => {
  const encoded = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  // Units around the orders that differ: ASCII, Latin-1, BMP below and above the surrogates, both surrogate halves.
  const units = ['a', 'b', 'Z', '_', '\u00e9', '\u00ff', '\u4e00', '\ud7ff', '\ud800', '\udbff', '\udc00', '\udfff', '\ue000', '\uffff'];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const word = () => Array.from({ length: rand(5) }, () => units[rand(units.length)]).join('');
  const cases: [string, string][] = [['\uffff', '\ud800\udc00'], ['x\ud800', 'x\ud800\udc00'], ['\ud800\udc00', '\ud800A'], ['ab', 'a'], ['', 'a'], ['a_b', 'a.b']];
  for (let i = 0; i < 20000; i++) {
    const p = word();
    cases.push([p + word(), p + word()]);
  }
  const wrong = cases.filter(([a, b]) => Math.sign(byteCompare(a, b)) !== Math.sign(encoded(a, b)));
  t.deepEqual(wrong.slice(0, 5).map(([a, b]) => [escape(a), escape(b)]), []);
});

type Raw = { resources: { name: string; instances: Record<string, unknown>[]; [k: string]: unknown }[]; [k: string]: unknown };

test('state: resources written in Terraform\'s byte order however gathered; fields eksidp does not know and check_results are carried through applies', async (t) => {
  const h = harness(t);
  h.write({ B: { name: 'b' }, a: { name: 'a' }, c: { name: 'c', value: '1' } });
  t.deepEqual((await h.apply()).result.diagnostics, []);
  const raw = JSON.parse(fs.readFileSync(h.statePath, 'utf8')) as Raw;
  const byName = new Map(raw.resources.map((r) => [r.name, r]));
  // As a newer Terraform might write it: fields eksidp does not know at every level, checks recorded,
  // and the resources in an order that is not Terraform's (localeCompare's: a < B).
  const checks = [{ object_kind: 'resource', config_addr: 'memory_item.a', status: 'pass', objects: [{ object_addr: 'memory_item.a', status: 'pass' }] }];
  const edited: Raw = {
    ...raw,
    future_top: { x: 1 },
    check_results: checks,
    resources: ['c', 'a', 'B'].map((n) => byName.get(n)!).map((r) => (r.name === 'B' ? r : {
      ...r, future_resource: `r-${r.name}`,
      instances: r.instances.map((i) => ({ ...i, future_instance: [1, r.name] })),
    })),
  };
  fs.writeFileSync(h.statePath, JSON.stringify(edited, null, 2));

  // An apply that changes only an output: the resources go back as refresh left them, unsorted.
  h.write({ B: { name: 'b' }, a: { name: 'a' }, c: { name: 'c', value: '1' } }, {}, { output: { o: { value: 'x' } } });
  t.deepEqual((await h.apply()).result.diagnostics, []);
  let s = JSON.parse(fs.readFileSync(h.statePath, 'utf8')) as Raw;
  t.is(s.serial, raw.serial as number + 1);
  t.deepEqual(s.resources.map((r) => r.name), ['B', 'a', 'c'], 'byte order: "B" (0x42) before "a" (0x61)');
  t.deepEqual(s.future_top, { x: 1 });
  t.deepEqual(s.check_results, checks);
  t.is(s.resources[1]!.future_resource, 'r-a');
  t.deepEqual(s.resources[1]!.instances[0]!.future_instance, [1, 'a']);
  t.deepEqual(Object.keys(s).slice(0, 6), ['version', 'terraform_version', 'serial', 'lineage', 'outputs', 'resources']);

  // An apply that updates c: its resource-level field stays; the others are untouched.
  h.write({ B: { name: 'b' }, a: { name: 'a' }, c: { name: 'c', value: '2' } }, {}, { output: { o: { value: 'x' } } });
  const updated = await h.apply();
  t.deepEqual(updated.result.diagnostics, []);
  t.is(updated.result.changed, 1);
  s = JSON.parse(fs.readFileSync(h.statePath, 'utf8')) as Raw;
  t.deepEqual(s.resources.map((r) => r.name), ['B', 'a', 'c']);
  t.is(s.resources[2]!.future_resource, 'r-c');
  t.is((s.resources[2]!.instances[0]!.attributes as { value: string }).value, '2');
  t.deepEqual(s.resources[1]!.instances[0]!.future_instance, [1, 'a']);
  t.deepEqual(s.check_results, checks);
  t.deepEqual(readState(h.statePath)!.future_top, { x: 1 });
});

test('deposed objects: a create_before_destroy whose destroy fails keeps the old object deposed (the new one current); the next plan destroys it by its key, in text and JSON; a failed create leaves the old object current', async (t) => {
  const h = harness(t);
  const cbd = { lifecycle: { create_before_destroy: true } };
  h.write({ a: { name: 'a1', ...cbd }, z: { name: 'z', value: '${memory_item.a.arn}' } });
  t.deepEqual((await h.apply()).result.diagnostics, []);
  // The new object cannot be created: the old one stays current, nothing is deposed.
  h.write({ a: { name: 'a2', ...cbd }, z: { name: 'z', value: '${memory_item.a.arn}' } }, { fail_on: ['a2'] });
  const noCreate = await h.apply();
  t.true(noCreate.result.diagnostics.some((d) => /injected failure on "a2"/.test(d.summary)));
  let a = readState(h.statePath)!.resources.find((r) => r.name === 'a')!;
  t.deepEqual(a.instances.map((i) => [i.attributes.name, i.deposed]), [['a1', undefined]]);
  // Created, but the old one cannot be destroyed: it stays in state, deposed.
  h.write({ a: { name: 'a2', ...cbd }, z: { name: 'z', value: '${memory_item.a.arn}' } }, { fail_on: ['a1'] });
  const noDestroy = await h.apply();
  t.true(noDestroy.result.diagnostics.some((d) => /injected failure deleting "a1"/.test(d.summary)));
  const raw = JSON.parse(fs.readFileSync(h.statePath, 'utf8')) as Raw;
  a = readState(h.statePath)!.resources.find((r) => r.name === 'a')!;
  t.deepEqual(a.instances.map((i) => i.attributes.name), ['a2', 'a1'], 'current first, then deposed');
  const key = a.instances[1]!.deposed!;
  t.regex(key, /^[0-9a-f]{8}$/);
  t.is(a.instances[0]!.deposed, undefined);
  t.deepEqual(Object.keys(raw.resources.find((r) => r.name === 'a')!.instances[1]!).slice(0, 2), ['deposed', 'schema_version']);
  t.is(readState(h.statePath)!.resources.find((r) => r.name === 'z')!.instances[0]!.attributes.value, 'arn:memory:::item/a2');
  t.truthy(h.cloud().objects['mem-a1'], 'the old object still exists');

  // The next plan destroys the deposed object (and nothing else), by its key.
  h.write({ a: { name: 'a2', ...cbd }, z: { name: 'z', value: '${memory_item.a.arn}' } });
  const p = await h.plan();
  const acting = p.changes.filter((c) => c.actions.join() !== 'no-op');
  t.deepEqual(acting.map((c) => [c.address, c.actions.join(), c.deposed, c.before?.name]), [['memory_item.a', 'delete', key, 'a1']]);
  t.deepEqual(planCounts(p.changes), { add: 0, change: 0, destroy: 1 });
  const text = renderPlan(p, colors(false));
  t.true(text.includes(`# memory_item.a (deposed object ${key}) will be destroyed\n  # (left over from a partially-failed replacement of this instance)\n  - resource "memory_item" "a" {`), text);
  const json = jsonPlan(p, h.config().resources, new Map()) as { resource_changes: { address: string; deposed?: string; change: { actions: string[] } }[]; prior_state: { values: { root_module: { resources: { address: string; deposed_key?: string }[] } } } };
  const rc = json.resource_changes.filter((c) => c.change.actions.join() !== 'no-op');
  t.deepEqual(rc.map((c) => [c.address, c.deposed, c.change.actions]), [['memory_item.a', key, ['delete']]]);
  t.deepEqual(json.prior_state.values.root_module.resources.filter((r) => r.address === 'memory_item.a').map((r) => r.deposed_key), [undefined, key]);
  const cleaned = await h.apply();
  t.deepEqual(cleaned.result.diagnostics, []);
  t.is(cleaned.result.destroyed, 1);
  a = readState(h.statePath)!.resources.find((r) => r.name === 'a')!;
  t.deepEqual(a.instances.map((i) => [i.attributes.name, i.deposed]), [['a2', undefined]]);
  t.falsy(h.cloud().objects['mem-a1']);
  t.deepEqual((await h.plan()).changes.filter((c) => c.actions.join() !== 'no-op'), []);
});

test('deposed objects of for_each instances: kept under their instance key (current first, then deposed), destroyed by key at the instance address; the instance\'s value and outputs stay the current object\'s; a removed key destroys both its objects', async (t) => {
  const h = harness(t);
  const cbd = { lifecycle: { create_before_destroy: true } };
  const items = (b: string) => ({ c: { for_each: { a: 'a1', b }, name: '${each.value}', ...cbd } });
  const output = { output: { o: { value: '${memory_item.c["b"].name}' } } };
  const outputOf = () => (readState(h.statePath)!.outputs.o as { value: unknown }).value;
  h.write(items('b1'), {}, output);
  t.deepEqual((await h.apply()).result.diagnostics, []);
  // A successful create_before_destroy: the old object's delete leaves the instance's value alone.
  h.write(items('b2'), {}, output);
  const replaced = await h.apply();
  t.deepEqual(replaced.result.diagnostics, []);
  t.is(outputOf(), 'b2');
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances.map((i) => [i.index_key, i.attributes.name, i.deposed]), [['a', 'a1', undefined], ['b', 'b2', undefined]]);

  // The old object of ["b"] cannot be destroyed: deposed under key "b", after its current object.
  h.write(items('b3'), { fail_on: ['b2'] }, output);
  const failed = await h.apply();
  t.true(failed.result.diagnostics.some((d) => /injected failure deleting "b2"/.test(d.summary)));
  let c = readState(h.statePath)!.resources.find((r) => r.name === 'c')!;
  t.deepEqual(c.instances.map((i) => [i.index_key, i.attributes.name, i.deposed === undefined ? 'current' : 'deposed']), [['a', 'a1', 'current'], ['b', 'b3', 'current'], ['b', 'b2', 'deposed']]);
  const key = c.instances[2]!.deposed!;
  t.regex(key, /^[0-9a-f]{8}$/);
  const raw = JSON.parse(fs.readFileSync(h.statePath, 'utf8')) as Raw;
  t.deepEqual(Object.keys(raw.resources.find((r) => r.name === 'c')!.instances[2]!).slice(0, 3), ['index_key', 'deposed', 'schema_version'], 'Terraform\'s key order');
  t.is(outputOf(), 'b3');
  // state list and show give each instance once, with its current object.
  const cli = async (argv: string[]) => { const io = captureIo(h.dir, { EKSIDP_TEST_PROVIDERS: '1' }); const code = await runCommand(argv, io); return { code, out: io.out(), err: io.err() }; };
  const list = await cli(['state', 'list', '--dir', h.dir]);
  t.is(list.code, 0, list.err);
  t.is(list.out, 'memory_item.c["a"]\nmemory_item.c["b"]\n');
  const show = await cli(['state', 'show', 'memory_item.c["b"]', '--dir', h.dir]);
  t.is(show.code, 0, show.err);
  t.regex(show.out, /name\s+= "b3"/);
  t.notRegex(show.out, /b2/);

  // The next plan destroys that object at the instance address, with its key and instance key.
  h.write(items('b3'), {}, output);
  const p = await h.plan();
  const acting = p.changes.filter((x) => x.actions.join() !== 'no-op');
  t.deepEqual(acting.map((x) => [x.address, x.index, x.actions.join(), x.deposed, x.before?.name]), [['memory_item.c["b"]', 'b', 'delete', key, 'b2']]);
  const text = renderPlan(p, colors(false));
  t.true(text.includes(`# memory_item.c["b"] (deposed object ${key}) will be destroyed\n  # (left over from a partially-failed replacement of this instance)\n  - resource "memory_item" "c" {`), text);
  const json = jsonPlan(p, h.config().resources, new Map()) as { resource_changes: { address: string; index?: string; deposed?: string; change: { actions: string[] } }[]; prior_state: { values: { root_module: { resources: { address: string; index?: string; deposed_key?: string }[] } } } };
  t.deepEqual(json.resource_changes.filter((x) => x.change.actions.join() !== 'no-op').map((x) => [x.address, x.index, x.deposed]), [['memory_item.c["b"]', 'b', key]]);
  t.deepEqual(json.prior_state.values.root_module.resources.map((r) => [r.address, r.index, r.deposed_key]), [['memory_item.c["a"]', 'a', undefined], ['memory_item.c["b"]', 'b', undefined], ['memory_item.c["b"]', 'b', key]]);

  // Removing key "b" while its deposed object is left: both of its objects are destroyed, ["a"] stays.
  h.write({ c: { for_each: { a: 'a1' }, name: '${each.value}', ...cbd } });
  const removed = await h.apply();
  t.deepEqual(removed.result.diagnostics, []);
  t.deepEqual(removed.plan.changes.filter((x) => x.actions.join() !== 'no-op').map((x) => [x.address, x.deposed ?? null, x.reason ?? null]), [['memory_item.c["b"]', null, 'delete_because_each_key'], ['memory_item.c["b"]', key, null]]);
  t.is(removed.result.destroyed, 2);
  c = readState(h.statePath)!.resources.find((r) => r.name === 'c')!;
  t.deepEqual(c.instances.map((i) => [i.index_key, i.attributes.name, i.deposed]), [['a', 'a1', undefined]]);
  t.deepEqual(Object.keys(h.cloud().objects).sort(), ['mem-a1']);
});
