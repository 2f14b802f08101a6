import test from 'ava';
import { colors } from '../lib/color';
import { jsonPlan } from '../engine/json-plan';
import { parseTemplate } from '../engine/expressions';
import { evaluateMarks } from '../engine/expressions';
import { renderPlan } from '../engine/render';
import { readState } from '../engine/state';
import { fromStatePaths, schemaSensitivePaths, toStatePaths } from '../engine/sensitive';
import type { BlockSchema, Value } from '../engine/protocol';
import { engineErrors, harness } from './fixtures/engine/harness';

/**
 * Sensitive values without terraform (the oracle is test/sensitive-terraform.test.ts): marks through
 * expressions as `terraform console` gave them (Terraform 1.11.4, measured here), and a plan, apply and
 * re-plan with the memory provider: plan text, JSON plan and state sensitive_attributes.
 */

const VARS = { s: 'hunter2', l: ['a', 'b'] };
const SENSITIVE = new Set(['s', 'l']);

function marksOf(expr: string): Value {
  const lookup = (ref: { kind: string; target: string; path: (string | number)[] }) => {
    if (ref.kind !== 'var') return { error: 'no' };
    let v: Value = (VARS as Record<string, Value>)[ref.target.slice(4)] ?? null;
    for (const p of ref.path) v = (v as Record<string, Value>)[p as string] ?? null;
    return { value: v };
  };
  t0(parseTemplate(`\${${expr}}`));
  return evaluateMarks(`\${${expr}}`, lookup as never, (ref) => (ref.kind === 'var' && SENSITIVE.has(ref.target.slice(4)) ? [[]] : []));
}
function t0(x: unknown): void { if (typeof x === 'string') throw new Error(x); }

// [expression, sensitive paths] as terraform console 1.11.4 printed them ((sensitive value) where marked).
const CASES: [string, Value][] = [
  ['sensitive("a")', [[]]],
  ['nonsensitive(var.s)', []],
  ['nonsensitive("a")', []],
  ['merge({a = var.s}, {b = "x"})', [['a']]],
  ['{a = var.s, b = "x"}', [['a']]],
  ['[var.s, "x"]', [[0]]],
  ['concat([var.s], ["x"])', [[0]]],
  ['concat(["x"], [var.s])', [[1]]],
  ['length(var.l)', [[]]],
  ['length([var.s, "x"])', []],
  ['[for x in var.l : x]', [[]]],
  ['[for x in [var.s, "y"] : x]', [[0]]],
  ['[for k, v in {a = var.s, b = "x"} : v]', [[0]]],
  ['{a = var.s}.a', [[]]],
  ['tolist([var.s, "x"])', [[0]]],
  ['tomap({a = var.s, b = "x"})', [['a']]],
  ['jsonencode({a = var.s})', [[]]],
  ['true ? "a" : var.s', [[]]],
  ['true ? {a = var.s, b = "x"} : {a = "y", b = "z"}', [['a']]],
  ['true ? {a = "x"} : {a = var.s}', []],
  ['lookup({a = var.s, b = "x"}, "b")', []],
  ['keys({a = var.s})', []],
  ['upper(var.s)', [[]]],
  ['var.l[0]', [[]]],
  ['coalesce(var.s, "x")', [[]]],
  ['element([var.s, "x"], 1)', []],
  ['[var.s, "x"][1]', []],
  ['var.s == "a"', [[]]],
  ['{a = var.s, b = "x"}["b"]', []],
  ['"${var.s}-x"', [[]]],
];

test('marks follow expressions as Terraform 1.11 carries them (terraform console cases)', (t) => {
  for (const [expr, want] of CASES) t.deepEqual(marksOf(expr), want, expr);
});

test('state sensitive_attributes: Terraform 1.11 steps (get_attr, index with typed keys), read back to the same paths', (t) => {
  const block: BlockSchema = {
    attributes: { tags: { type: ['map', 'string'], optional: true }, obj: { type: ['object', { a: 'string' }], optional: true } },
    block_types: { oidc: { nesting_mode: 'list', block: { attributes: { client_id: { type: 'string', required: true } } } } },
  };
  const paths = [['tags', 'secret'], ['oidc', 0, 'client_id'], ['obj', 'a']];
  const state = toStatePaths(block, paths);
  t.deepEqual(state, [
    [{ type: 'get_attr', value: 'obj' }, { type: 'get_attr', value: 'a' }],
    [{ type: 'get_attr', value: 'oidc' }, { type: 'index', value: { value: 0, type: 'number' } }, { type: 'get_attr', value: 'client_id' }],
    [{ type: 'get_attr', value: 'tags' }, { type: 'index', value: { value: 'secret', type: 'string' } }],
  ]);
  t.deepEqual(fromStatePaths(state), [['obj', 'a'], ['oidc', 0, 'client_id'], ['tags', 'secret']]);
});

function stack(h: ReturnType<typeof harness>, secret = 'hunter2', extraOutputs: Record<string, Value> = {}) {
  h.write(
    { a: { name: 'a', value: '${var.secret}', tags: { env: 'x', key: 'k-${var.secret}' } }, b: { name: 'b', value: '${memory_item.a.value}' } },
    {},
    { variable: { secret: { type: 'string', default: secret, sensitive: true } }, output: { v: { value: '${memory_item.b.value}', sensitive: true }, ...extraOutputs } },
  );
}

test('schema-declared sensitive attributes: their paths in a value, through single, list and map blocks; none for a schema without any', (t) => {
  const inner: BlockSchema = { attributes: { token: { type: 'string', optional: true, sensitive: true }, name: { type: 'string', optional: true } } };
  const block: BlockSchema = {
    attributes: { password: { type: 'string', optional: true, sensitive: true }, id: { type: 'string', computed: true } },
    block_types: {
      one: { nesting_mode: 'single', block: inner },
      many: { nesting_mode: 'list', block: inner },
      byKey: { nesting_mode: 'map', block: inner },
      plain: { nesting_mode: 'list', block: { attributes: { x: { type: 'string', optional: true } } } },
    },
  };
  const value: Value = { password: 'p', id: 'i', one: { token: 't', name: 'n' }, many: [{ token: 'a' }, { token: 'b' }], byKey: { k: { token: 'c' } }, plain: [{ x: 'y' }] };
  t.deepEqual(schemaSensitivePaths(block, value), [['password'], ['one', 'token'], ['many', 0, 'token'], ['many', 1, 'token'], ['byKey', 'k', 'token']]);
  t.deepEqual(schemaSensitivePaths({ attributes: { a: { type: 'string', optional: true } }, block_types: { plain: block.block_types!.plain! } }, { a: 'x', plain: [{ x: 'y' }] }), []);
});

test('a sensitive variable: (sensitive value) in the plan text, JSON sensitive fields, state sensitive_attributes, read back by the next plan', async (t) => {
  const h = harness(t);
  stack(h);
  const { plan: p } = await h.apply();
  const text = renderPlan(p, colors(false));
  t.false(text.includes('hunter2'));
  t.regex(text, /\+ value\s+= \(sensitive value\)/);
  t.regex(text, /tags\s+= \{ env = "x", key = \(sensitive value\) \}/);
  const json = jsonPlan(p, [], new Map()) as { resource_changes: { address: string; change: { after_sensitive: Value } }[]; planned_values: { root_module: { resources: { address: string; sensitive_values: Value }[] } } };
  const a = json.resource_changes.find((c) => c.address === 'memory_item.a')!;
  t.deepEqual(a.change.after_sensitive, { spec: [], tags: { key: true }, value: true });
  // A reference to a sensitive attribute is sensitive: b's value came from a's.
  t.deepEqual(json.planned_values.root_module.resources.find((r) => r.address === 'memory_item.b')!.sensitive_values, { spec: [], value: true });
  const state = readState(h.statePath)!;
  const inst = (n: string) => state.resources.find((r) => r.name === n)!.instances[0]!;
  t.deepEqual(inst('a').sensitive_attributes, [
    [{ type: 'get_attr', value: 'tags' }, { type: 'index', value: { value: 'key', type: 'string' } }],
    [{ type: 'get_attr', value: 'value' }],
  ]);
  t.deepEqual(inst('b').sensitive_attributes, [[{ type: 'get_attr', value: 'value' }]]);
  // Read back: the next plan has no changes (the marks in state are the configuration's).
  t.deepEqual((await h.plan()).changes.map((c) => c.actions.join()), ['no-op', 'no-op']);
  // Changed: the update shows (sensitive value), never the old or new value; before_sensitive from state.
  stack(h, 'other');
  const p2 = await h.plan();
  const text2 = renderPlan(p2, colors(false));
  t.false(/hunter2|other/.test(text2), text2);
  t.regex(text2, /~ value\s+= \(sensitive value\)/);
  const a2 = (jsonPlan(p2, [], new Map()) as { resource_changes: { address: string; change: { before_sensitive: Value } }[] }).resource_changes.find((c) => c.address === 'memory_item.a')!;
  t.deepEqual(a2.change.before_sensitive, { spec: [], tags: { key: true }, value: true });
});

test('a change of sensitivity alone is an update, as in Terraform, and shows the value masked with a note', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: '${var.v}' } }, {}, { variable: { v: { type: 'string', default: 'same' } } });
  await h.apply();
  h.write({ a: { name: 'a', value: '${var.v}' } }, {}, { variable: { v: { type: 'string', default: 'same', sensitive: true } } });
  const { plan: p } = await h.apply();
  t.deepEqual(p.changes.map((c) => c.actions.join()), ['update']);
  t.regex(renderPlan(p, colors(false)), /~ value\s+= \(sensitive value\) # now sensitive: the value is unchanged/);
  t.deepEqual(readState(h.statePath)!.resources[0]!.instances[0]!.sensitive_attributes, [[{ type: 'get_attr', value: 'value' }]]);
  t.deepEqual((await h.plan()).changes.map((c) => c.actions.join()), ['no-op']);
});

test('an output of a sensitive value not declared sensitive is refused before any API call, as Terraform refuses it', async (t) => {
  const h = harness(t);
  stack(h, 'hunter2', { leak: { value: '${memory_item.a.tags}' }, fine: { value: '${memory_item.a.name}' }, ns: { value: '${nonsensitive(var.secret)}' } });
  const errs = await engineErrors(t, () => h.plan());
  t.true(errs.some((e) => /output\.leak: value: Output refers to sensitive values/.test(e)), errs.join('\n'));
  t.false(errs.some((e) => /output\.(fine|ns)/.test(e)));
  t.throws(() => h.cloud()); // nothing was created: no cloud file written
});

test('a for over a repeated resource not yet created: an unmarked attribute of each is fine, a marked one needs sensitive = true (as Terraform judges it)', async (t) => {
  // Found with a cdktf stack (test/cdktf-language-terraform.test.ts): forExpressionForMap('key', 'val.id')
  // over configs whose client id came from a sensitive variable was refused as a whole.
  const h = harness(t);
  h.write(
    { a: { for_each: '${toset(["x", "y"])}', name: '${each.key}', value: '${var.secret}' } },
    {},
    { variable: { secret: { type: 'string', default: 'hunter2', sensitive: true } }, output: { names: { value: '${{for k, v in memory_item.a : k => v.name}}' }, leak: { value: '${[for v in memory_item.a : v.value]}' } } },
  );
  const errs = await engineErrors(t, () => h.plan());
  t.true(errs.some((e) => /output\.leak: value: Output refers to sensitive values/.test(e)), errs.join('\n'));
  t.false(errs.some((e) => /output\.names/.test(e)), errs.join('\n'));
});

test('a sensitive for_each is refused with Terraform\'s error', async (t) => {
  const h = harness(t);
  h.write({ a: { for_each: '${toset([var.secret])}', name: '${each.key}' } }, {}, { variable: { secret: { type: 'string', default: 'x', sensitive: true } } });
  const errs = await engineErrors(t, () => h.plan());
  t.true(errs.some((e) => /memory_item\.a: for_each: Invalid for_each argument/.test(e)), errs.join('\n'));
});
