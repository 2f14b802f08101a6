import fs from 'node:fs';
import test from 'ava';
import { hasChanges } from '../engine/plan';
import { jsonPlan } from '../engine/json-plan';
import { renderPlan } from '../engine/render';
import { instanceAddress, parseInstanceAddress } from '../engine/instances';
import { readState } from '../engine/state';
import { colors } from '../lib/color';
import { engineErrors, harness } from './fixtures/engine/harness';
import { captureIo, runCommand } from './helpers/in-process';

const actions = (p: { changes: { address: string; actions: string[]; reason?: string; previousAddress?: string }[] }) =>
  Object.fromEntries(p.changes.map((c) => [c.address, [c.actions.join(), ...(c.reason ? [c.reason] : []), ...(c.previousAddress ? [`from ${c.previousAddress}`] : [])].join(' ')]));

test('instance addresses format and parse as Terraform writes them', (t) => {
  t.is(instanceAddress('aws_x.y', undefined), 'aws_x.y');
  t.is(instanceAddress('aws_x.y', 3), 'aws_x.y[3]');
  t.is(instanceAddress('aws_x.y', 'a "b"'), 'aws_x.y["a \\"b\\""]');
  t.is(instanceAddress('aws_x.y', '${x}'), 'aws_x.y["$${x}"]');
  t.deepEqual(parseInstanceAddress('data.aws_x.y[12]'), { resource: 'data.aws_x.y', key: 12 });
  t.deepEqual(parseInstanceAddress('aws_x.y["a \\"b\\""]'), { resource: 'aws_x.y', key: 'a "b"' });
  t.deepEqual(parseInstanceAddress('aws_x.y["$${x}"]'), { resource: 'aws_x.y', key: '${x}' });
  t.is(parseInstanceAddress('aws_x.y[a]'), undefined);
});

test('count makes instances [0..n-1] with count.index; state keeps index_key in order; fewer destroys the highest', async (t) => {
  const h = harness(t);
  h.write({ c: { name: 'c-${count.index}', count: 3 } });
  const first = await h.apply();
  t.deepEqual(first.result.diagnostics, []);
  t.deepEqual(actions(first.plan), { 'memory_item.c[0]': 'create', 'memory_item.c[1]': 'create', 'memory_item.c[2]': 'create' });
  t.deepEqual(first.plan.changes.map((c) => c.after?.name), ['c-0', 'c-1', 'c-2']);
  const state = readState(h.statePath)!;
  t.deepEqual(state.resources[0]!.instances.map((i) => [i.index_key, i.attributes.name, Object.keys(i)[0]]), [[0, 'c-0', 'index_key'], [1, 'c-1', 'index_key'], [2, 'c-2', 'index_key']]);
  t.false(hasChanges(await h.plan()));

  h.write({ c: { name: 'c-${count.index}', count: '1' } });
  const fewer = await h.apply();
  t.deepEqual(actions(fewer.plan), { 'memory_item.c[0]': 'no-op', 'memory_item.c[1]': 'delete delete_because_count_index', 'memory_item.c[2]': 'delete delete_because_count_index' });
  t.regex(renderPlan(fewer.plan, colors(false)), /# memory_item\.c\[1\] will be destroyed\n {2}# \(because index \[1\] is out of range for count\)/);
  t.deepEqual(Object.values(h.cloud().objects).map((o) => o.name), ['c-0']);
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances.map((i) => i.index_key), [0]);

  h.write({ c: { name: 'c-${count.index}', count: 0 } });
  await h.apply();
  t.deepEqual(readState(h.statePath)!.resources, [], 'a resource with no instances leaves the state');
});

test('for_each over a map of objects and over another resource gives each.key, each.value and each.value.attr, known at apply', async (t) => {
  const h = harness(t);
  h.write({
    src: { for_each: { b: { v: 'vb' }, a: { v: 'va' } }, name: 'src-${each.key}', value: '${each.value.v}' },
    dst: { for_each: '${memory_item.src}', name: 'dst-${each.key}', value: '${each.value.id}' },
    one: { name: 'one', value: '${memory_item.src["a"].name}:${memory_item.dst["b"].value}' },
  });
  const r = await h.apply();
  t.deepEqual(r.result.diagnostics, []);
  t.deepEqual(Object.keys(actions(r.plan)), ['memory_item.src["a"]', 'memory_item.src["b"]', 'memory_item.dst["a"]', 'memory_item.dst["b"]', 'memory_item.one']);
  const objects = h.cloud().objects;
  const byName = (n: string) => Object.values(objects).find((o) => o.name === n)!;
  t.is(byName('src-a').value, 'va');
  t.is(byName('dst-b').value, byName('src-b').id, 'each.value.id unknown at plan was resolved at apply');
  t.is(byName('one').value, `src-a:${byName('src-b').id as string}`);
  const json = jsonPlan(r.plan, h.config().resources, new Map()) as { resource_changes: { address: string; index?: unknown }[]; configuration: { root_module: { resources: Record<string, unknown>[] } } };
  t.deepEqual(json.resource_changes.map((c) => [c.address, c.index]), [['memory_item.src["a"]', 'a'], ['memory_item.src["b"]', 'b'], ['memory_item.dst["a"]', 'a'], ['memory_item.dst["b"]', 'b'], ['memory_item.one', undefined]]);
  t.deepEqual(json.configuration.root_module.resources.find((x) => x.name === 'dst')!.for_each_expression, { references: ['memory_item.src'] });
  t.false(hasChanges(await h.plan()));

  // Dropping a key destroys that instance and the one made from it.
  h.write({
    src: { for_each: { b: { v: 'vb' } }, name: 'src-${each.key}', value: '${each.value.v}' },
    dst: { for_each: '${memory_item.src}', name: 'dst-${each.key}', value: '${each.value.id}' },
  });
  const p = await h.plan();
  t.deepEqual(actions(p), {
    'memory_item.src["b"]': 'no-op', 'memory_item.dst["b"]': 'no-op',
    'memory_item.dst["a"]': 'delete delete_because_each_key', 'memory_item.one': 'delete delete_because_no_resource_config', 'memory_item.src["a"]': 'delete delete_because_each_key',
  });
});

test('a variable typed set(string) or map drives for_each; a list, tuple, counted resource or null is refused in Terraform words', async (t) => {
  const h = harness(t);
  const variable = { names: { type: 'set(string)', default: ['y', 'x', 'x'] }, list: { type: 'list(string)', default: ['a'] }, nums: { type: 'set(number)', default: [1] } };
  h.write({ s: { for_each: '${var.names}', name: '${each.value}' } }, {}, { variable });
  t.deepEqual(Object.keys(actions(await h.plan())), ['memory_item.s["x"]', 'memory_item.s["y"]']);
  // cdktf's TerraformIterator.fromList writes toset(...): a set; tolist(...) stays a list, refused.
  h.write({ s: { for_each: '${toset(var.list)}', name: '${each.value}' } }, {}, { variable });
  t.deepEqual(Object.keys(actions(await h.plan())), ['memory_item.s["a"]']);
  h.write({ s: { for_each: '${tolist(var.names)}', name: '${each.value}' } }, {}, { variable });
  // tolist gives a list (Terraform: "a value of type list of string"), as outputs type it too.
  const listErrors = await engineErrors(t, () => h.plan());
  t.true(listErrors.some((e) => /Invalid for_each argument \(.*you have provided a value of type list of string/.test(e)), listErrors.join(' | '));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ for_each: ['a'] }, /for_each: Invalid for_each argument \(.*you have provided a value of type tuple\.\)/],
    [{ for_each: '${var.list}' }, /you have provided a value of type list of string\./],
    [{ for_each: '${var.nums}' }, /Invalid for_each set argument \(.*a set containing type number\.\)/],
    [{ for_each: null }, /the given "for_each" argument value is null\. A map, or set of strings is allowed\./],
    [{ for_each: 'abc' }, /you have provided a value of type string\./],
    [{ count: -1 }, /count: Invalid count argument \(.*must be greater than or equal to zero\.\)/],
    [{ count: 1.5 }, /value must be a whole number/],
    [{ count: null }, /The given "count" argument value is null\. An integer is required\./],
    [{ count: 'x' }, /Incorrect value type \(Invalid expression value: a number is required\.\)/],
  ];
  for (const [meta, re] of cases) {
    h.write({ s: { ...meta, name: 'n' } }, {}, { variable });
    const errors = await engineErrors(t, () => h.plan());
    t.true(errors.some((e) => /^memory_item\.s: /.test(e) && re.test(e)), `${JSON.stringify(meta)}: ${errors.join(' | ')}`);
  }
  h.write({ c: { count: 1, name: 'c' }, s: { for_each: '${memory_item.c}', name: 'n' } });
  t.true((await engineErrors(t, () => h.plan())).some((e) => /you have provided a value of type tuple/.test(e)));
  // count that depends on what apply will make are refused at plan, as Terraform refuses them.
  h.write({ a: { name: 'a' }, s: { count: '${memory_item.a.id}', name: 'n' } });
  t.true((await engineErrors(t, () => h.plan())).some((e) => /^memory_item\.s: count: Invalid count argument \(The "count" value depends on resource attributes that cannot be determined until apply/.test(e)));
});

test('count.index, each.* and un-keyed references to repeated resources are refused before any call, as Terraform words them', async (t) => {
  const h = harness(t);
  h.write({ a: { name: '${count.index}' } });
  t.true((await engineErrors(t, () => h.open())).some((e) => /^memory_item\.a: name: Reference to "count" in non-counted context/.test(e)));
  h.write({ a: { name: '${each.key}', count: 1 } });
  t.true((await engineErrors(t, () => h.open())).some((e) => /^memory_item\.a: name: Reference to "each" in context without for_each/.test(e)));
  h.write({ a: { name: 'a', count: 1 }, b: { name: '${memory_item.a.name}' } });
  t.true((await engineErrors(t, () => h.open())).some((e) => /^memory_item\.b: name: Missing resource instance key \(Because memory_item\.a has "count" set/.test(e)));
  h.write({ a: { name: 'a', count: 1 }, b: { name: '${memory_item.a[0].nope}' } });
  t.true((await engineErrors(t, () => h.open())).some((e) => /^memory_item\.b: name: .*unsupported attribute "nope"/.test(e)));
  h.write({ a: { name: '${count.nope}', count: 1 } });
  t.true((await engineErrors(t, () => h.open())).some((e) => /Invalid "count" attribute/.test(e)));
});

test('adding count moves the no-key object to [0] and removing it moves [0] back, as Terraform 1.x does implicitly', async (t) => {
  const h = harness(t);
  h.write({ m: { name: 'm' } });
  await h.apply();
  h.write({ m: { name: 'm', count: 1 } });
  const moved = await h.apply();
  t.deepEqual(actions(moved.plan), { 'memory_item.m[0]': 'no-op from memory_item.m' });
  t.true(hasChanges(moved.plan));
  t.regex(renderPlan(moved.plan, colors(false)), /# memory_item\.m has moved to memory_item\.m\[0\]/);
  const json = jsonPlan(moved.plan, h.config().resources, new Map()) as { resource_changes: Record<string, unknown>[] };
  t.is(json.resource_changes[0]!.previous_address, 'memory_item.m');
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances.map((i) => i.index_key), [0]);
  t.is(h.cloud().events.length, 1, 'the move made no API call');
  h.write({ m: { name: 'm' } });
  const back = await h.apply();
  t.deepEqual(actions(back.plan), { 'memory_item.m': 'no-op from memory_item.m[0]' });
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances.map((i) => i.index_key), [undefined]);
  // for_each has no implied move: the no-key object is destroyed, the keyed one created.
  h.write({ m: { name: 'm2-${each.key}', for_each: { k: 1 } } });
  t.deepEqual(actions(await h.plan()), { 'memory_item.m["k"]': 'create', 'memory_item.m': 'delete delete_because_wrong_repetition' });
});

test('--target takes a whole resource (all instances) or one instance', async (t) => {
  const h = harness(t);
  h.write({ f: { for_each: { a: 1, b: 2 }, name: 'f-${each.key}' }, c: { count: 2, name: 'c-${count.index}' } });
  t.deepEqual(Object.keys(actions(await h.plan({ targets: ['memory_item.f["b"]'] }))), ['memory_item.f["b"]']);
  t.deepEqual(Object.keys(actions(await h.plan({ targets: ['memory_item.c'] }))), ['memory_item.c[0]', 'memory_item.c[1]']);
  await h.apply({ targets: ['memory_item.c[1]'] });
  t.deepEqual(Object.values(h.cloud().objects).map((o) => o.name), ['c-1']);
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances.map((i) => i.index_key), [1]);
  t.true((await engineErrors(t, () => h.plan({ targets: ['memory_item.nope[0]'] }))).some((e) => /memory_item\.nope\[0\]: no such resource/.test(e)));
  // Applying the rest keeps the existing instance's key in place.
  await h.apply();
  const s = fs.readFileSync(h.statePath, 'utf8');
  t.deepEqual(readState(h.statePath)!.resources.map((r) => [r.name, r.instances.map((i) => i.index_key)]), [['c', [0, 1]], ['f', ['a', 'b']]], s);
});

test('state list, show, rm and mv take resource and instance addresses, as Terraform; nothing in the cloud changes', async (t) => {
  const h = harness(t);
  h.write({ f: { for_each: { a: 1, b: 2 }, name: 'f-${each.key}' }, c: { count: 2, name: 'c-${count.index}' } });
  await h.apply();
  const cli = async (...argv: string[]) => {
    const io = captureIo(h.dir);
    const code = await runCommand(['state', ...argv, '--dir', h.dir], io);
    return { code, out: io.out(), err: io.err() };
  };
  t.deepEqual((await cli('list')).out.trim().split('\n'), ['memory_item.c[0]', 'memory_item.c[1]', 'memory_item.f["a"]', 'memory_item.f["b"]']);
  t.regex((await cli('show', 'memory_item.f["b"]')).out, /^# memory_item\.f\["b"\]:\nresource "memory_item" "f" \{[^]*name += "f-b"/);
  t.regex((await cli('show', 'memory_item.f')).err, /it has 2 instances \(memory_item\.f\["a"\], memory_item\.f\["b"\]\): show one of them/);
  const serial = readState(h.statePath)!.serial;
  const rm = await cli('rm', 'memory_item.c[1]');
  t.is(rm.code, 0, rm.err);
  t.is(rm.out, 'Removed memory_item.c[1]\nSuccessfully removed 1 resource instance(s).\n');
  const mv = await cli('mv', 'memory_item.f["a"]', 'memory_item.g[0]');
  t.is(mv.code, 0, mv.err);
  const whole = await cli('mv', 'memory_item.c', 'memory_item.d');
  t.is(whole.code, 0, whole.err);
  const state = readState(h.statePath)!;
  t.is(state.serial, serial + 3);
  t.deepEqual(state.resources.map((r) => [r.name, r.instances.map((i) => i.index_key)]), [['d', [0]], ['f', ['b']], ['g', [0]]]);
  t.is(h.cloud().events.filter((e) => e.op === 'delete').length, 0);
  const missing = await cli('rm', 'memory_item.nope');
  t.is(missing.code, 1);
  t.regex(missing.err, /no matching objects found for "memory_item\.nope"/);
  t.is(readState(h.statePath)!.serial, serial + 3, 'a refused edit writes nothing');
});

test('import takes an instance address; the key must match the resource\'s count or for_each', async (t) => {
  const h = harness(t);
  h.write({ c: { count: 2, name: 'c-${count.index}' } });
  fs.writeFileSync(h.cloudFile, JSON.stringify({ objects: { 'mem-c-1': { id: 'mem-c-1', name: 'c-1', arn: 'arn:memory:::item/c-1', status: 'ready' } }, events: [] }));
  const run = async (...argv: string[]) => {
    const io = captureIo(h.dir);
    const code = await runCommand([...argv, '--dir', h.dir], io);
    return { code, err: io.err() };
  };
  const wrongKind = await run('import', 'memory_item.c["x"]', 'mem-c-1');
  t.is(wrongKind.code, 1);
  t.regex(wrongKind.err, /memory_item\.c has count set: import one instance, as memory_item\.c\[0\]/);
  const ok = await run('import', 'memory_item.c[1]', 'mem-c-1');
  t.is(ok.code, 0, ok.err);
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances.map((i) => [i.index_key, i.attributes.name]), [[1, 'c-1']]);
  t.deepEqual(actions(await h.plan()), { 'memory_item.c[0]': 'create', 'memory_item.c[1]': 'no-op' });
});
