import test from 'ava';
import { collectReferences, evaluate, parseTemplate } from '../engine/expressions';
import { buildGraph } from '../engine/graph';
import { UNKNOWN, isUnknown } from '../engine/protocol';
import { parseDuration } from '../lib/duration';
import { engineErrors, harness } from './fixtures/engine/harness';

test('references parse with nested paths, whole-string and embedded, and $${ escapes', (t) => {
  const whole = parseTemplate('${aws_eks_cluster.main.identity[0].oidc[0].issuer}');
  t.true(typeof whole === 'object' && whole !== null && whole.whole);
  const refs = collectReferences({ a: 'https://${data.memory_item.x.arn}/p', b: ['$${not.a.ref}'] }).refs;
  t.deepEqual(refs.map((r) => [r.ref.target, r.ref.path, r.at]), [['data.memory_item.x', ['arn'], ['a']]]);
  const ev = evaluate({ a: 'x-${a_b.c.list[1]}', b: '${a_b.c.obj}', c: '$${lit}', d: '${a_b.c.unknown}-z' }, (ref) =>
    ref.path[0] === 'unknown' ? { value: UNKNOWN } : { value: ({ list: ['p', 'q'], obj: { k: 1 } } as Record<string, unknown>)[ref.path[0] as string] === undefined ? null : ref.path[0] === 'list' ? (ref.path[1] === 1 ? 'q' : 'p') : { k: 1 } });
  t.deepEqual(ev.errors, []);
  const v = ev.value as Record<string, unknown>;
  t.is(v.a, 'x-q');
  t.deepEqual(v.b, { k: 1 });
  t.is(v.c, '${lit}');
  t.true(isUnknown(v.d));
});

test('unsupported functions, references and RE2-only regex constructs are errors naming the expression', (t) => {
  t.regex(String(parseTemplate('${nosuch(aws_x.y.name)}')), /unsupported function "nosuch".*in '\$\{nosuch\(aws_x\.y\.name\)\}'/);
  t.regex(String(parseTemplate('${self.name}')), /self\.\* is not supported/);
  t.regex(String(parseTemplate('${replace(var.x, "/(?i)a/", "b")}')), /does not support/);
  t.regex(String(parseTemplate('${1 +}')), /invalid expression/);
  // What is supported parses, with its references (not those of for variables).
  const ok = parseTemplate('${[for x in var.list : upper(x) if x != local.skip]}');
  t.true(typeof ok === 'object' && ok !== null);
  t.deepEqual(typeof ok === 'object' && ok !== null ? ok.refs.map((r) => r.target) : [], ['var.list', 'local.skip']);
});

test('durations parse as Terraform writes them', (t) => {
  t.is(parseDuration('40m'), 40 * 60_000);
  t.is(parseDuration('1h30m'), 90 * 60_000);
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('forty'), undefined);
  t.is(parseDuration('10m junk'), undefined);
});

test('the graph orders dependencies first and reports cycles by name', (t) => {
  const r = (name: string, body: Record<string, unknown>, dependsOn: string[] = []) => ({
    address: `memory_item.${name}`, mode: 'managed' as const, type: 'memory_item', name, provider: 'memory', body: body as never, dependsOn,
    lifecycle: { createBeforeDestroy: false, preventDestroy: false, ignoreChanges: [] },
  });
  const ok = buildGraph([r('c', { v: '${memory_item.b.id}' }), r('b', {}, ['memory_item.a']), r('a', {})], {});
  t.deepEqual(ok.diagnostics, []);
  t.deepEqual(ok.graph.order, ['memory_item.a', 'memory_item.b', 'memory_item.c']);
  const cyc = buildGraph([r('a', { v: '${memory_item.b.id}' }), r('b', { v: '${memory_item.a.id}' })], {});
  t.deepEqual(cyc.diagnostics.map((d) => d.summary), ['Cycle: memory_item.a, memory_item.b']);
});

test('configuration errors are reported together, each naming address and attribute', async (t) => {
  const h = harness(t);
  h.write({
    a: { name: 'a', nonsense: 1 },
    b: { name: 'b', tags: ['x'] },
    c: { value: 'no name' },
    d: { name: 'd', value: { an: 'object' } },
    e: { name: 'e', value: '${memory_item.zz.id}' },
    f: { name: 'f', size: 'big', enabled: 'maybe' },
    g: { name: 'g', arn: 'read-only' },
    h: { name: 'h', value: '${memory_item.a.no_such_attr}' },
  });
  const errors = await engineErrors(t, () => h.open());
  const expect = [
    /memory_item\.a: nonsense: Unsupported argument/,
    /memory_item\.b: tags: Incorrect attribute value type: map of string required, got a list/,
    /memory_item\.c: name: Missing required argument/,
    /memory_item\.d: value: Incorrect attribute value type: string required, got an object/,
    /memory_item\.e: value: Reference to undeclared resource "memory_item\.zz"/,
    /memory_item\.f: size: Incorrect attribute value type: number required/,
    /memory_item\.f: enabled: Incorrect attribute value type: bool required/,
    /memory_item\.g: arn: Invalid configuration for read-only attribute/,
  ];
  for (const re of expect) t.true(errors.some((e) => re.test(e)), `missing ${re}: ${errors.join(' | ')}`);
});

test('a reference to an attribute the target does not have is an error', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' }, b: { name: 'b', value: '${memory_item.a.spec[0].nope}' } });
  const errors = await engineErrors(t, () => h.open());
  t.true(errors.some((e) => /memory_item\.b: value: .*unsupported attribute "nope"/.test(e)), errors.join(' | '));
});

test('numbers convert to strings and strings to numbers and bools, as Terraform converts them', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 42, size: '7', enabled: 'false' } });
  const p = await h.plan();
  const after = p.changes[0]!.after!;
  t.is(after.value, '42');
  t.is(after.size, 7);
  t.is(after.enabled, false);
});

test('duplicate addresses, modules, count with for_each, undeclared provider aliases and bad lifecycle are clear errors', async (t) => {
  const h = harness(t);
  h.write({ a: [{ name: 'a' }, { name: 'a2' }] as never, b: { name: 'b', count: 2, for_each: { x: 1 } }, c: { name: 'c', provider: 'memory.west' }, d: { name: 'd', lifecycle: { replace_triggered_by: [] } } }, {}, { module: { m: { source: './m' } } });
  const errors = await engineErrors(t, async () => h.config());
  t.true(errors.some((e) => /^memory_item\.a: duplicate resource address/.test(e)), errors.join(' | '));
  t.true(errors.some((e) => /^memory_item\.b: for_each: Invalid combination of "count" and "for_each" \(The "count" and "for_each" meta-arguments are mutually-exclusive/.test(e)), errors.join(' | '));
  t.true(errors.some((e) => /^memory_item\.c: provider: provider configuration "memory\.west" is not declared: add a provider "memory" block with alias = "west"/.test(e)), errors.join(' | '));
  t.true(errors.some((e) => /^memory_item\.d: lifecycle\.replace_triggered_by: lifecycle\.replace_triggered_by is not supported/.test(e)));
  t.true(errors.some((e) => /^module: modules are not supported/.test(e)));
});

test('provider validation runs per resource and across the configuration before any apply', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'Bad Name' }, b: { name: 'same' }, c: { name: 'same' } });
  let errors = await engineErrors(t, () => h.open());
  t.true(errors.some((e) => /memory_item\.a: name: invalid name "Bad Name"/.test(e)));
  h.write({ b: { name: 'same' }, c: { name: 'same' } });
  errors = await engineErrors(t, () => h.open());
  t.true(errors.some((e) => /memory_item\.c: name: name "same" is also used by memory_item\.b/.test(e)));
});

test('invalid timeouts are errors naming the block field', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', timeouts: { create: 'soon' } } });
  const errors = await engineErrors(t, () => h.open());
  t.true(errors.some((e) => /memory_item\.a: timeouts\.create: invalid duration "soon"/.test(e)), errors.join(' | '));
});

test('the local backend path resolves against the stack folder; // keys are ignored', (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', '//': { metadata: { path: 'x' } } } }, {}, { terraform: { backend: { local: { path: 'sub/my.tfstate' } } }, '//': { metadata: {} } });
  const c = h.config();
  t.is(c.statePath, `${h.dir}/sub/my.tfstate`);
  t.deepEqual(Object.keys(c.resources[0]!.body), ['name']);
  // ...and kept apart as the resource's metadata (plan, its views and drift read it there, not from the raw JSON).
  t.deepEqual(c.resources[0]!.metadata, { metadata: { path: 'x' } });
  h.write({ a: { name: 'a' } });
  t.is(h.config().resources[0]!.metadata, undefined);
});

// Found by the differential fuzz (engine/README.md, "Differential fuzzing"): a stack whose clusters
// were all adopted wrote `"resource": {}`, which Terraform refuses ("Missing block label") and eksidp
// accepted.
test('an empty resource or data object, or a type with no names, is refused as Terraform refuses it', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } }, {}, { data: {}, resource: { memory_item: { a: { name: 'a' } }, memory_other: {} } });
  const errors = await engineErrors(t, async () => h.config());
  t.true(errors.some((e) => /^data: "data" must name at least one data source type \(Terraform: Missing block label\)/.test(e)), errors.join(' | '));
  t.true(errors.some((e) => /^resource\.memory_other: "resource\.memory_other" must name at least one resource/.test(e)), errors.join(' | '));
  const h2 = harness(t);
  h2.write({}, {}, { resource: {} });
  t.true((await engineErrors(t, async () => h2.config())).some((e) => /^resource: "resource" must name at least one resource type/.test(e)));
  // variable, output and provider too (measured with terraform validate); locals has no label.
  for (const key of ['variable', 'output', 'provider']) {
    const h3 = harness(t);
    h3.write({ a: { name: 'a' } }, {}, { [key]: {}, locals: {} });
    const errs = await engineErrors(t, async () => h3.config());
    t.deepEqual(errs.filter((e) => /Missing block label/.test(e)), [`${key}: "${key}" must name at least one ${key} (Terraform: Missing block label)`], errs.join(' | '));
  }
});
