import test from 'ava';
import { spawnSync } from 'node:child_process';
import { evaluate } from '../engine/expressions';
import type { Value } from '../engine/protocol';
import { valueEquals } from '../engine/hcl/values';
import { tempDir } from './helpers/project';
import { terraformEnv, terraformTest } from './helpers/terraform';

/**
 * One table of expressions, each evaluated by eksidp and by `terraform console` (one process for the
 * whole table): the values must be equal, and an error in one must be an error in the other. Cases
 * are edge cases of each function as hashicorp/terraform's internal/lang/funcs, go-cty's
 * cty/function/stdlib and hcl's ext/tryfunc test them (written here, not copied), plus operators,
 * conditionals, for expressions, splats and templates. `refused` marks a documented difference:
 * Terraform gives a value, eksidp refuses it (numbers a double does not hold exactly).
 */
type Case = { expr: string; refused?: string };
const C = (expr: string, refused?: string): Case => ({ expr, ...(refused ? { refused } : {}) });

const CASES: Case[] = [
  // Operators and precedence
  C('1 + 2 * 3'), C('(1 + 2) * 3'), C('10 - 4 - 3'), C('2 * 3 % 4'), C('-7 % 3'), C('7.5 % 2'), C('7 / 2'), C('0.1 + 0.2'), C('1.5 * 3'),
  C('1 / 3', 'a non-terminating decimal'), C('1 / 0'), C('9007199254740993', 'beyond a double'), C('"1" + 1'), C('"a" + 1'), C('-"2"'),
  C('1 < 2 && 2 < 3'), C('"1" < 2'), C('true || false && false'), C('!true || true'), C('1 == 1.0'), C('1 == "1"'), C('[1, "a"] == [1, "a"]'),
  C('{a = 1} == {a = 1}'), C('null == null'), C('"true" && true'), C('true && null'), C('!null'), C('1 >= 1 == true'), C('5 - -3'),
  // Conditionals (result types unify; only the chosen branch's error counts)
  C('true ? 1 : "a"'), C('false ? 1 : true'), C('true ? "x" : tonumber("nope")'), C('null ? 1 : 2'), C('"true" ? 1 : 2'), C('1 > 2 ? [1] : ["a"]'), C('true ? null : 1'),
  // Literals, templates, escapes
  C('"a\\tb\\n\\"q\\" \\\\ \\u00e9 \\U0001F600"'), C('"$${not} %%{not}"'), C('"${1 + 1}x"'), C('"${null}"'), C('"a${null}"'), C('"${true}"'), C('"${[1]}x"'),
  C('"%{ if 1 < 2 }yes%{ else }no%{ endif }"'), C('"%{ for x in ["a", "b"] ~}${x} %{ endfor ~}!"'), C('"%{ for k, v in {b = 1, a = 2} }${k}=${v};%{ endfor }"'),
  C('"%{ if null }a%{ endif }"'), C('{a = 1, "b-c" = 2, (upper("k")) = 3}'), C('[1, "a", null, true, [], {}]'), C('{a = 1}.a'), C('[1, 2, 3][1]'), C('[1, 2][2]'),
  C('{a = 1}["b"]'), C('[1, 2]["1"]'), C('null.a'), C('[[1, 2], [3]][0][1]'), C('{a = [1, 2]}.a.1'),
  // for expressions
  C('[for x in [1, 2, 3] : x * 2]'), C('[for i, x in ["a", "b"] : "${i}${x}"]'), C('[for k, v in {b = 1, a = 2} : "${k}${v}"]'), C('[for x in [1, 2, 3, 4] : x if x % 2 == 0]'),
  C('{for x in ["a", "b"] : x => upper(x)}'), C('{for x in ["a", "b", "a"] : x => x...}'), C('{for x in ["a", "a"] : x => x}'), C('[for x in null : x]'), C('[for x in "ab" : x]'),
  C('{for k, v in {a = 1, b = 2} : v => k}'), C('[for x in [1, null] : x if x != null]'), C('[for x in [1] : x if null]'),
  // Splats
  C('[{a = 1}, {a = 2}][*].a'), C('[{a = {b = 1}}][*].a.b'), C('{a = 1}[*].a'), C('null[*]'), C('[[1, 2], [3, 4]][*][0]'), C('[{a = 1}, {a = 2}].*.a'), C('[{a = 1}, {b = 2}][*].a'),
  // lookup
  C('lookup({a = "x"}, "a")'), C('lookup({a = "x"}, "b", "d")'), C('lookup({a = "x"}, "b")'), C('lookup({a = 1}, "a", "d")'), C('lookup({}, "a", "d")'), C('lookup([1], "a", "d")'),
  // merge
  C('merge({a = 1}, {b = 2}, {a = 3})'), C('merge()'), C('merge({a = 1}, null)'), C('merge({a = 1}, ["x"])'), C('merge({a = {x = 1}}, {a = {y = 2}})'), C('merge({b = 1, a = 2})'),
  // concat, flatten, distinct, compact
  C('concat([1, 2], ["a"])'), C('concat()'), C('concat([], [])'), C('concat([1], "a")'), C('concat([[1]], [[2]])'),
  C('flatten([[1, 2], [3, [4, [5]]], []])'), C('flatten([])'), C('flatten([[], [[]]])'), C('flatten([null, [null]])'), C('flatten("a")'),
  C('distinct(["a", "b", "a", "c"])'), C('distinct([1, 2, 1])'), C('distinct([])'), C('distinct([1, "1"])'), C('distinct([[1], [1], [2]])'),
  C('compact(["a", "", "b", null])'), C('compact([])'), C('compact(["", ""])'), C('compact([1, "", 2])'),
  // coalesce
  C('coalesce("", "a", "b")'), C('coalesce(null, 1)'), C('coalesce(1, "a")'), C('coalesce("", "")'), C('coalesce(null)'), C('coalesce(true, 1)'),
  // format
  C('format("%s-%d", "a", 7)'), C('format("%03d|%-4s|%4s", 7, "ab", "cd")'), C('format("%.2f|%5.1f|%f", 3.14159, 2.25, 1)'), C('format("%v|%#v|%v", [1, "a"], "x", {b = 1, a = null})'),
  C('format("%q", "a\\"b")'), C('format("%t|%v", true, false)'), C('format("%x|%X|%o|%b", 255, 255, 8, 5)'), C('format("%%|%s", "x")'), C('format("%d", 1.5)'),
  C('format("%s")'), C('format("%[2]s-%[1]s", "a", "b")'), C('format("%s", [1])'), C('format("%e", 1234.5678)'), C('format("%+d|% d", 5, 5)'),
  C('format("%s", 12345678)'), C('format("%s", true)'), C('format("%d", "12")'), C('format("%5t", true)'),
  // join, split
  C('join("-", ["a", "b", "c"])'), C('join(",", [])'), C('join(",", ["a"], ["b", "c"])'), C('join(",", [1, true])'), C('join(",", ["a", null])'), C('join(",")'),
  C('split(",", "a,b,,c")'), C('split(",", "")'), C('split("", "abc")'), C('split(", ", "a, b")'), C('split(",", "abc")'),
  // lower, upper, trimspace, replace
  C('lower("HeLLo ÀÉ")'), C('upper("hello àé ß")'), C('upper(1)'), C('trimspace("  a b \\n\\t")'), C('trimspace("\\u00a0x\\u00a0")'), C('trimspace("")'),
  C('replace("hello world", "o", "0")'), C('replace("aaa", "a", "bb")'), C('replace("abc", "", "x")'), C('replace("hello world", "/w.*d/", "X")'),
  C('replace("a1b22c", "/[0-9]+/", "#")'), C('replace("abc-def", "/([a-z]+)-([a-z]+)/", "$2_$1")'), C('replace("abc-def", "/([a-z]+)-/", "$1_")'),
  C('replace("abc", "/(?P<x>b)/", "[$${x}]")'), C('replace("abc", "/x*/", "-")'), C('replace("a.b", "/./", "x")'), C('replace("a b", "/\\\\s/", "_")'), C('replace("a$b", "$", "S")'),
  C('replace("aaa", "/a/", "$$")'),
  // substr, startswith, contains
  C('substr("hello", 1, 3)'), C('substr("hello", -3, -1)'), C('substr("hello", 0, 10)'), C('substr("hello", 10, 1)'), C('substr("héllo wörld", 6, 5)'), C('substr("", 0, 0)'),
  C('substr("🏳️‍🌈ab", 0, 1)'), C('substr("hello", -10, 2)'), C('substr("hello", 1.5, 2)'),
  C('startswith("hello", "he")'), C('startswith("hello", "")'), C('startswith("", "a")'), C('endswith("hello", "lo")'),
  C('contains(["a", "b"], "a")'), C('contains(["a", "b"], "c")'), C('contains([1, 2], 1)'), C('contains([], 1)'), C('contains([1], "1")'), C('contains([[1]], [1])'),
  // keys, values, length, element
  C('keys({b = 1, a = 2, "10" = 3, "9" = 4})'), C('keys({})'), C('keys([1])'), C('values({b = 1, a = 2})'), C('values({})'),
  C('length("héllo")'), C('length("🏳️‍🌈é")'), C('length("")'), C('length([1, 2])'), C('length({a = 1})'), C('length(null)'), C('length(1)'), C('length("e\\u0301")'),
  C('element(["a", "b"], 0)'), C('element(["a", "b"], 3)'), C('element([], 0)'), C('element(["a"], -1)'), C('element(["a", "b"], "1")'),
  // conversions
  C('tolist(["a", "b"])'), C('tolist([1, "a"])'), C('tolist([1, true])'), C('tolist(null)'), C('tolist("a")'),
  C('toset(["b", "a", "b"])'), C('toset([1, "a", true])'), C('toset([1, true])'), C('toset([10, 9, 1.5])'), C('toset([true, false, true])'), C('toset([])'),
  C('tomap({a = 1, b = "x"})'), C('tomap({a = 1, b = true})'), C('tomap({})'), C('tomap(null)'),
  C('tostring(1.5)'), C('tostring(true)'), C('tostring("a")'), C('tostring([1])'), C('tonumber("42")'), C('tonumber("1e3")'), C('tonumber("0x10")'), C('tonumber("nope")'),
  C('tonumber(true)'), C('tonumber(" 1")'), C('tonumber("-2.5")'), C('tobool("true")'), C('tobool("yes")'),
  // jsonencode, jsondecode
  C('jsonencode({b = "<&>", a = [1, 2.5, true, null]})'), C('jsonencode("\\u2028")'), C('jsonencode(1e21)'), C('jsonencode(0.000001)'), C('jsonencode(-0)'), C('jsonencode({})'),
  C('jsonencode(toset(["b", "a"]))'), C('jsonencode("é\\n\\t")'),
  C('jsondecode("{\\"b\\": [1, 2.5], \\"a\\": null}")'), C('jsondecode("\\"x\\"")'), C('jsondecode("nope")'), C('jsondecode("")'), C('jsondecode("1e400")', 'beyond a double'),
  C('jsondecode("[1, \\"a\\", true]")'),
  // base64, sha256
  C('base64encode("hello")'), C('base64encode("")'), C('base64encode("é")'), C('base64decode("aGVsbG8=")'), C('base64decode("aGVsbG8")'), C('base64decode("!!!!")'),
  C('base64decode("/w==")'), C('sha256("")'), C('sha256("hello")'), C('sha256("é")'),
  // try, can
  C('try(1)'), C('try(lookup({}, "a"), "fallback")'), C('try([][0], [1][5], "c")'), C('try([][0])'), C('can([][0])'), C('can(1)'), C('try({a = 1}.b, null)'),
  C('can(tonumber("x"))'), C('try(tonumber("x"), tonumber("2"))'),
  // function arguments: expansion, arity, nulls
  C('concat([1], [[2], [3]]...)'), C('max(1, 2)', 'unsupported function'), C('upper()'), C('upper("a", "b")'), C('upper(null)'), C('merge([{a = 1}, {b = 2}]...)'),
];

function eksidp(expr: string): { value: Value } | { error: string } {
  const r = evaluate(`\${${expr}}`, () => ({ error: 'no references in the oracle table' }));
  return r.errors.length > 0 ? { error: r.errors[0]!.message } : { value: r.value };
}

const ERR = '__EKSIDP_ORACLE_ERROR__';

terraformTest(test, 'every expression of the table gives what terraform console gives (value, or an error)', async (t) => {
  const dir = tempDir(t);
  // terraform console prints only the last result of piped input and stops at the first error:
  // the whole table is one expression, each case caught by try, the result base64 so no escaping matters.
  const input = `base64encode(jsonencode([${CASES.filter((c) => c.refused !== 'unsupported function').map((c) => `try(jsonencode(${c.expr}), "${ERR}")`).join(', ')}]))\n`;
  const r = spawnSync('terraform', ['console', '-no-color'], { cwd: dir, input, env: terraformEnv(), encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  const results = JSON.parse(Buffer.from(JSON.parse(r.stdout.trim()) as string, 'base64').toString('utf8')) as string[];
  const cases = CASES.filter((c) => c.refused !== 'unsupported function');
  t.is(results.length, cases.length);
  const disagreements: string[] = [];
  cases.forEach((c, i) => {
    const tf: { value: Value } | { error: true } = results[i] === ERR ? { error: true } : { value: JSON.parse(results[i]!) as Value };
    const ours = eksidp(c.expr);
    if (c.refused) {
      // A documented refusal: Terraform has a value, eksidp an error that says why.
      if (!('value' in tf) || !('error' in ours)) disagreements.push(`${c.expr}: expected Terraform to succeed and eksidp to refuse (${c.refused}); terraform ${JSON.stringify(tf)}, eksidp ${JSON.stringify(ours)}`);
      return;
    }
    if ('error' in tf || 'error' in ours) {
      if (!('error' in tf) || !('error' in ours)) disagreements.push(`${c.expr}: terraform ${JSON.stringify(tf)}, eksidp ${JSON.stringify(ours)}`);
      return;
    }
    if (!valueEquals(tf.value, ours.value)) disagreements.push(`${c.expr}: terraform ${JSON.stringify(tf.value)}, eksidp ${JSON.stringify(ours.value)}`);
  });
  t.deepEqual(disagreements, []);
  t.log(`${cases.length} expressions agree with terraform console`);
});

test('functions eksidp does not implement are refused by name', (t) => {
  const r = eksidp('max(1, 2)');
  t.true('error' in r && /unsupported function "max"/.test(r.error));
});
