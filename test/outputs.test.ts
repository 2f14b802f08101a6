import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { jsonPlan } from '../engine/json-plan';
import { hasChanges } from '../engine/plan';
import { isUnknown } from '../engine/protocol';
import { colors } from '../lib/color';
import { renderPlan } from '../engine/render';
import { readState } from '../engine/state';
import { formatValue, goQuote, parseTypeConstraint, plainNumber } from '../engine/types';
import { engineErrors, harness } from './fixtures/engine/harness';
import { captureIo, runCommand } from './helpers/in-process';

const none = colors(false);
const actions = (p: { outputChanges: { name: string; actions: string[] }[] }) => Object.fromEntries(p.outputChanges.map((c) => [c.name, c.actions.join()]));

const OUTPUTS = {
  name: { value: '${memory_item.a.name}' },
  arn: { value: '${memory_item.a.arn}', sensitive: true, description: 'the ARN' },
  tags: { value: '${memory_item.a.tags}' },
  spec: { value: '${memory_item.a.spec[0]}' },
  list: { value: ['x', 1, true] },
  map: { value: { k: '${memory_item.a.name}', n: 2 } },
  text: { value: 'item ${memory_item.a.name}' },
  typed: { value: '${var.zones}' },
  untyped: { value: '${var.plain}' },
  nothing: { value: null },
};
const VARIABLES = { zones: { type: 'list(string)', default: ['a', 'b'] }, plain: { default: ['a', 'b'] } };

test('a first plan creates every non-null output, unknown until apply where a computed attribute is referenced', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', tags: { env: 'x' }, spec: [{ label: 'L' }] } }, {}, { output: OUTPUTS, variable: VARIABLES });
  const p = await h.plan();
  t.deepEqual(actions(p), { arn: 'create', list: 'create', map: 'create', name: 'create', nothing: 'no-op', spec: 'create', tags: 'create', text: 'create', typed: 'create', untyped: 'create' });
  const arn = p.outputChanges.find((c) => c.name === 'arn')!;
  t.true(isUnknown(arn.after));
  t.true(arn.sensitive);
  t.deepEqual(p.outputChanges.find((c) => c.name === 'map')!.after, { k: 'a', n: 2 });
  const j = jsonPlan(p, h.config().resources, new Map([['memory', { name: 'memory', source: 'registry.terraform.io/hashicorp/memory' }]]), {}, h.config().outputs) as Record<string, any>;
  t.deepEqual(j.output_changes.arn, { actions: ['create'], before: null, after: null, after_unknown: true, before_sensitive: true, after_sensitive: true });
  t.deepEqual(j.output_changes.list, { actions: ['create'], before: null, after: ['x', 1, true], after_unknown: false, before_sensitive: false, after_sensitive: false });
  t.deepEqual(j.output_changes.nothing.actions, ['no-op']);
  t.deepEqual(j.planned_values.outputs.arn, { sensitive: true });
  t.deepEqual(j.planned_values.outputs.list, { sensitive: false, type: ['tuple', ['string', 'number', 'bool']], value: ['x', 1, true] });
  t.deepEqual(j.configuration.root_module.outputs.arn, { sensitive: true, expression: { references: ['memory_item.a.arn', 'memory_item.a'] }, description: 'the ARN' });
  const text = renderPlan(p, none);
  t.regex(text, /Plan: 1 to add, 0 to change, 0 to destroy\.\n\nChanges to Outputs:\n {2}\+ arn {5}= \(sensitive value\)\n {2}\+ list {4}= \[\n {6}\+ "x",\n {6}\+ 1,\n {6}\+ true,\n {4}\]\n/);
  t.regex(text, /^ {2}\+ text {4}= "item a"$/m);
  t.notRegex(text, /nothing/);
});

test('apply writes outputs to state with Terraform\'s types; null outputs are left out; a re-plan has no changes', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', tags: { env: 'x' }, spec: [{ label: 'L', labels: ['p'] }] } }, {}, { output: OUTPUTS, variable: VARIABLES });
  const { result } = await h.apply();
  t.deepEqual(result.diagnostics, []);
  const outputs = readState(h.statePath)!.outputs;
  t.deepEqual(outputs, {
    arn: { value: 'arn:memory:::item/a', type: 'string', sensitive: true },
    list: { value: ['x', 1, true], type: ['tuple', ['string', 'number', 'bool']] },
    map: { value: { k: 'a', n: 2 }, type: ['object', { k: 'string', n: 'number' }] },
    name: { value: 'a', type: 'string' },
    spec: { value: { label: 'L', labels: ['p'] }, type: ['object', { label: 'string', labels: ['list', 'string'] }] },
    tags: { value: { env: 'x' }, type: ['map', 'string'] },
    text: { value: 'item a', type: 'string' },
    typed: { value: ['a', 'b'], type: ['list', 'string'] },
    untyped: { value: ['a', 'b'], type: ['tuple', ['string', 'string']] },
  });
  t.deepEqual(Object.keys(outputs), Object.keys(outputs).sort());
  const again = await h.plan();
  t.false(hasChanges(again));
  t.true(again.outputChanges.every((c) => c.actions[0] === 'no-op'));
});

test('an output-only change is a change (plan text, exit code); a removed output is deleted; destroy removes every output', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } }, {}, { output: { name: { value: '${memory_item.a.name}' }, gone: { value: 'bye' } } });
  await h.apply();
  h.write({ a: { name: 'a' } }, {}, { output: { name: { value: 'renamed-${memory_item.a.name}' }, fresh: { value: { a: [1] } } } });
  const p = await h.plan();
  t.deepEqual(actions(p), { fresh: 'create', gone: 'delete', name: 'update' });
  t.true(hasChanges(p));
  const text = renderPlan(p, none);
  t.notRegex(text, /Plan:/);
  t.regex(text, /Changes to Outputs:\n {2}\+ fresh = \{\n {6}\+ a = \[\n {10}\+ 1,\n {8}\]\n {4}\}\n {2}- gone {2}= "bye" -> null\n {2}~ name {2}= "a" -> "renamed-a"\n\nYou can apply this plan to save these new output values to the state, without changing any real infrastructure\.\n/);
  await h.apply();
  t.deepEqual(readState(h.statePath)!.outputs, { fresh: { value: { a: [1] }, type: ['object', { a: ['tuple', ['number']] }] }, name: { value: 'renamed-a', type: 'string' } });

  const d = await h.plan({ destroy: true });
  t.deepEqual(actions(d), { fresh: 'delete', name: 'delete' });
  await h.apply({ destroy: true });
  t.deepEqual(readState(h.statePath)!.outputs, {});
});

test('a stack with outputs only writes a state holding them', async (t) => {
  const h = harness(t);
  fs.writeFileSync(path.join(h.dir, 'cdk.tf.json'), JSON.stringify({ output: { greeting: { value: 'hello' } } }));
  const { result } = await h.apply();
  t.deepEqual(result.diagnostics, []);
  t.deepEqual(readState(h.statePath)!.outputs, { greeting: { value: 'hello', type: 'string' } });
});

test('output blocks with unsupported arguments, no value, or references to nothing are refused before any API call, naming the output', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } }, {}, {
    output: {
      checked: { value: 'x', precondition: [{ condition: 'true', error_message: 'no' }] },
      empty: { description: 'no value' },
      ghost: { value: '${memory_item.nope.name}' },
      typo: { value: '${memory_item.a.nmae}' },
      fn: { value: '${nosuch(memory_item.a.name)}' },
      undeclared: { value: '${var.missing}' },
    },
  });
  const messages = (await engineErrors(t, () => h.plan())).join('\n');
  t.regex(messages, /output\.checked: precondition: "precondition" in an output block is not supported/);
  t.regex(messages, /output\.empty: Missing required argument: the output needs a "value"/);
  t.regex(messages, /output\.fn: value: unsupported function "nosuch"/);
  t.false(fs.existsSync(h.cloudFile) && h.cloud().events.length > 0);
  // The reference checks run once the block parses.
  h.write({ a: { name: 'a' } }, {}, { output: { ghost: { value: '${memory_item.nope.name}' }, typo: { value: '${memory_item.a.nmae}' }, undeclared: { value: '${var.missing}' } } });
  const refs = (await engineErrors(t, () => h.plan())).join('\n');
  t.regex(refs, /output\.ghost: value: Reference to undeclared resource: memory_item\.nope\.name/);
  t.regex(refs, /output\.typo: value: memory_item\.a\.nmae: .*nmae/);
  t.regex(refs, /output\.undeclared: value: Reference to undeclared input variable: var\.missing/);
});

test('eksidp output prints as terraform output: all, one NAME, --json, --raw, sensitive hidden only in the list', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', tags: { env: 'x', 'two words': 'y' } } }, {}, {
    output: {
      name: { value: '${memory_item.a.name}' }, secret: { value: 's3cr3t', sensitive: true }, tags: { value: '${memory_item.a.tags}' },
      lines: { value: 'one\ntwo' }, list: { value: ['<a>', 1.5] }, zones: { value: '${var.zones}' },
    },
    variable: { zones: { type: 'set(string)', default: ['b', 'a', 'b'] } },
  });
  await h.apply();
  const out = async (...argv: string[]) => {
    const io = captureIo(h.dir);
    const code = await runCommand(['output', '--dir', h.dir, ...argv], io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  const all = await out();
  t.is(all.code, 0, all.stderr);
  t.is(all.stdout, [
    'lines = <<EOT', 'one', 'two', 'EOT',
    'list = [', '  "<a>",', '  1.5,', ']',
    'name = "a"',
    'secret = <sensitive>',
    'tags = tomap({', '  "env" = "x"', '  "two words" = "y"', '})',
    'zones = toset([', '  "a",', '  "b",', '])', '',
  ].join('\n'));
  t.is((await out('secret')).stdout, '"s3cr3t"\n');
  t.is((await out('name', '--raw')).stdout, 'a');
  t.is((await out('list', '--json')).stdout, '["\\u003ca\\u003e",1.5]\n');
  const json = JSON.parse((await out('--json')).stdout) as Record<string, unknown>;
  t.deepEqual(json.secret, { sensitive: true, type: 'string', value: 's3cr3t' });
  t.deepEqual(json.zones, { sensitive: false, type: ['set', 'string'], value: ['a', 'b'] });
  const raw = await out('tags', '--raw');
  t.is(raw.code, 1);
  t.regex(raw.stderr, /Unsupported value for raw output: .*"tags" is map of string; use --json/);
  const missing = await out('nope');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /Output "nope" not found/);
  t.is((await out('--raw')).code, 1);
});

test('eksidp output with no outputs in state warns and exits 0; --json prints {}', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } });
  const io = captureIo(h.dir);
  t.is(await runCommand(['output', '--dir', h.dir], io), 0);
  t.regex(io.err(), /Warning: No outputs found/);
  t.is(io.out(), '');
  const json = captureIo(h.dir);
  t.is(await runCommand(['output', '--dir', h.dir, '--json'], json), 0);
  t.is(json.out(), '{}\n');
});

test('types: constraints, Terraform\'s value formatting, Go quoting and plain numbers', (t) => {
  t.deepEqual(parseTypeConstraint('list(string)'), ['list', 'string']);
  t.deepEqual(parseTypeConstraint('map(object({ a = string, b = list(number) }))'), ['map', ['object', { a: 'string', b: ['list', 'number'] }]]);
  t.deepEqual(parseTypeConstraint('tuple([string, bool])'), ['tuple', ['string', 'bool']] as unknown);
  t.is(parseTypeConstraint('any'), undefined);
  t.throws(() => parseTypeConstraint('list(strng)'), { message: /unknown type "strng"/ });
  t.throws(() => parseTypeConstraint('object({a = optional(string)})'), { message: /optional\(\) attributes are not supported/ });
  t.is(formatValue(null, ['list', 'string']), 'tolist(null) /* of string */');
  t.is(formatValue(null, ['object', {}]), 'null /* object */');
  t.is(formatValue({ a: [] }, ['object', { a: ['set', 'string'] }]), '{\n  "a" = toset([])\n}');
  t.is(formatValue('x\nEOT\ny', 'string', 2), '<<-EOT_\n  x\n  EOT\n  y\n  EOT_');
  t.is(goQuote('tab\there \x1b é'), '"tab\\there \\x1b é"');
  t.is(plainNumber(1e21), '1000000000000000000000');
  t.is(plainNumber(1.5e-7), '0.00000015');
});

test('state lists resources in Terraform\'s order: by bytes, so upper case before lower case', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' }, B: { name: 'b' }, _c: { name: 'c' } });
  await h.apply();
  // localeCompare would give _c, a, B.
  t.deepEqual(readState(h.statePath)!.resources.map((r) => r.name), ['B', '_c', 'a']);
});

// Found by the differential fuzz (engine/README.md, "Differential fuzzing"): an output written as a
// conversion function took its value's type (tolist(...) stored as a tuple), where Terraform stores
// the collection type, so `terraform output -json` differed and Terraform planned an output update.
test('an output written as tolist/toset/tomap has the collection type Terraform gives it', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } }, {}, { output: {
    l: { value: '${tolist([memory_item.a.name, "b"])}' },
    s: { value: '${toset(["b", memory_item.a.name, "b"])}' },
    m: { value: '${tomap({ x = 1, y = 2 })}' },
    e: { value: '${tolist([])}' },
  } });
  const { result } = await h.apply();
  t.deepEqual(result.diagnostics, []);
  t.deepEqual(readState(h.statePath)!.outputs, {
    e: { value: [], type: ['list', 'dynamic'] },
    l: { value: ['a', 'b'], type: ['list', 'string'] },
    m: { value: { x: 1, y: 2 }, type: ['map', 'number'] },
    s: { value: ['a', 'b'], type: ['set', 'string'] },
  });
});

test('output --json prints maps and objects with their keys in byte order, as terraform output -json, whatever order the state holds', async (t) => {
  // Found by the differential fuzz (test/fuzz-terraform.test.ts, seed 1401000): required_claims written
  // { tenant, hd } came out in that order, Terraform's in byte order.
  const h = harness(t);
  h.write({ a: { name: 'a', tags: { tenant: 'x', hd: 'y', B: 'z' } } }, {}, { output: { tags: { value: '${memory_item.a.tags}' }, obj: { value: { z: 1, a: { y: 2, b: 3 } } }, nums: { value: { 9: 'a', 10: 'b', '01': 'c', '1a': 'd', z: 'e' } } } });
  await h.apply();
  const out = async (...argv: string[]) => {
    const io = captureIo(h.dir);
    t.is(await runCommand(['output', '--dir', h.dir, ...argv], io), 0, io.err());
    return io.out();
  };
  t.is(await out('tags', '--json'), '{"B":"z","hd":"y","tenant":"x"}\n');
  // Integer-like keys too: byte order puts "10" before "9" (a JS object would enumerate 9 first).
  t.is(await out('nums', '--json'), '{"01":"c","10":"b","1a":"d","9":"a","z":"e"}\n');
  const all = await out('--json');
  t.true(all.indexOf('"10"') < all.indexOf('"9"'), all);
  t.is(JSON.stringify(JSON.parse(all)), JSON.stringify({
    nums: { sensitive: false, type: ['object', { '01': 'string', 10: 'string', '1a': 'string', 9: 'string', z: 'string' }], value: { '01': 'c', 10: 'b', '1a': 'd', 9: 'a', z: 'e' } },
    obj: { sensitive: false, type: ['object', { a: ['object', { b: 'number', y: 'number' }], z: 'number' }], value: { a: { b: 3, y: 2 }, z: 1 } },
    tags: { sensitive: false, type: ['map', 'string'], value: { B: 'z', hd: 'y', tenant: 'x' } },
  }));
});
