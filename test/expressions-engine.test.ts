import test from 'ava';
import fs from 'node:fs';
import { isUnknown } from '../engine/protocol';
import { readState } from '../engine/state';
import { engineErrors, harness } from './fixtures/engine/harness';

// Resource arguments written as cdktf writes Fn.*, Op.*, conditional and locals, planned and applied.
const VARIABLES = {
  env: { type: 'string', default: 'prod' },
  base_tags: { type: 'map(string)', default: { owner: 'platform', cost: 'eks' } },
  names: { type: 'list(string)', default: ['B', 'a', 'B'] },
};

test('functions, operators, conditionals, for expressions, splats and locals evaluate in resource arguments, through plan and apply', async (t) => {
  const h = harness(t);
  h.write({
    first: {
      name: '${format("%s-%03d", local.prefix, 1 + 2 * 3)}',
      tags: '${merge(var.base_tags, {"team" = "x", "n" = (1 + (2 * 3))})}',
      value: '${(var.env == "prod") ? "https://a" : "https://b"}',
      size: '${length(distinct([for n in var.names : lower(n)]))}',
      enabled: '${!(true && (false || (1 != 2)))}',
    },
    second: {
      // A reference to a computed attribute of another resource inside a function: unknown at plan.
      name: '${upper(memory_item.first.id)}',
      value: '${join(",", [memory_item.first.name, "${local.prefix}x"])}',
      tags: '${{for k, v in var.base_tags : k => "${v}-%{if var.env == "prod"}p%{else}d%{endif}"}}',
    },
  }, {}, {
    variable: VARIABLES,
    locals: { prefix: '${lower(var.env)}-${substr(sha256("x"), 0, 4)}' },
    output: {
      ids: { value: '${[memory_item.first, memory_item.second][*].id}' },
      tags_json: { value: '${jsonencode(memory_item.first.tags)}' },
    },
  });
  const p = await h.plan();
  const first = p.changes.find((c) => c.address === 'memory_item.first')!;
  const second = p.changes.find((c) => c.address === 'memory_item.second')!;
  const after = first.after as Record<string, unknown>;
  t.is(after.name, 'prod-2d71-007');
  t.deepEqual(after.tags, { cost: 'eks', n: '7', owner: 'platform', team: 'x' });
  t.is(after.value, 'https://a');
  t.is(after.size, 2);
  t.is(after.enabled, false);
  // Unknown propagates through functions and templates as in Terraform.
  t.true(isUnknown((second.after as Record<string, unknown>).name));
  // A configured attribute of another resource is known at plan, as in Terraform.
  t.is((second.after as Record<string, unknown>).value, 'prod-2d71-007,prod-2d71x');
  t.deepEqual((second.after as Record<string, unknown>).tags, { cost: 'eks-p', owner: 'platform-p' });
  // The graph sees the reference inside the function call: second waits for first.
  const { result, log } = await h.apply();
  t.deepEqual(result.diagnostics, []);
  t.true(log.indexOf('memory_item.first done create') < log.indexOf('memory_item.second start create'));
  const state = readState(h.statePath)!;
  const attrs = (name: string) => state.resources.find((r) => r.name === name)!.instances[0]!.attributes as Record<string, unknown>;
  t.is(attrs('second').name, 'MEM-PROD-2D71-007');
  t.is(attrs('second').value, 'prod-2d71-007,prod-2d71x');
  t.deepEqual((state.outputs as Record<string, { value: unknown }>).ids?.value, ['mem-prod-2d71-007', 'mem-MEM-PROD-2D71-007']);
  t.is((state.outputs as Record<string, { value: unknown }>).tags_json?.value, '{"cost":"eks","n":"7","owner":"platform","team":"x"}');
  // Planned again: no changes.
  const again = await h.plan();
  t.deepEqual(again.changes.filter((c) => c.actions.join() !== 'no-op').map((c) => c.address), []);
});

test('unsupported functions, references and regexes, and evaluation errors, are refused naming the address and field before any API call', async (t) => {
  const h = harness(t);
  h.write({
    a: { name: '${nosuch("x")}', value: '${replace("a", "/(?i)A/", "b")}' },
    b: { name: 'b', tags: { k: '${self.name}' } },
  }, {}, { locals: { bad: '${path.module}', loop: '${local.loop2}', loop2: '${local.loop}' } });
  const messages = (await engineErrors(t, () => h.plan())).join('\n');
  t.regex(messages, /memory_item\.a: name: unsupported function "nosuch"/);
  t.regex(messages, /memory_item\.a: value: the regular expression \/\(\?i\)A\/ uses flags/);
  t.regex(messages, /memory_item\.b: tags\.k: unsupported reference 'self\.name'/);
  t.regex(messages, /local\.bad: unsupported reference 'path\.module'/);
  t.false(fs.existsSync(h.cloudFile) && h.cloud().events.length > 0);
  h.write({ a: { name: 'a', value: '${local.loop}' } }, {}, { locals: { loop: '${local.loop2}', loop2: '${local.loop}' } });
  t.regex((await engineErrors(t, () => h.plan())).join('\n'), /Cycle: local\.loop, local\.loop2, local\.loop/);
  // An error found only on evaluation (a failed lookup) names the resource, field and expression.
  h.write({ a: { name: '${lookup(var.m, "missing")}' } }, {}, { variable: { m: { type: 'map(string)', default: { k: 'v' } } } });
  const errs = (await engineErrors(t, () => h.plan())).join('\n');
  t.regex(errs, /memory_item\.a: name: Error in function call: lookup failed to find key "missing", in '\$\{lookup\(var\.m, "missing"\)\}'/);
  t.false(fs.existsSync(h.cloudFile) && h.cloud().events.length > 0);
});
