import fs from 'node:fs';
import test from 'ava';
import { readState } from '../engine/state';
import { harness } from './fixtures/engine/harness';

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
