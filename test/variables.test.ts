import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseHclValue, parseTfvars } from '../engine/variables';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * Input variables: --var, --var-file, TF_VAR_*, terraform.tfvars[.json] and *.auto.tfvars[.json] with
 * Terraform's precedence and types. The oracle is Terraform itself on a stack of variables and outputs
 * only (no provider: a Terraform apply takes about a second): both tools' `output -json` must match.
 */

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-vars-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function eksidp(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const io = captureIo(cwd, env);
  const code = await runCommand(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}

const LEVELS = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'];

/** Each variable is set at one more level than the one before, so each shows which level won. */
function precedenceStack(dir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const variable: Record<string, unknown> = Object.fromEntries(LEVELS.map((v) => [v, { type: 'string', default: 'default' }]));
  variable.zones = { type: 'list(string)' };
  variable.sizes = { type: 'map(number)', default: { small: 1 } };
  variable.plain = {};
  variable.shape = { type: 'object({ name = string, ports = set(number) })' };
  const output = Object.fromEntries([...LEVELS, 'zones', 'sizes', 'plain', 'shape'].map((v) => [v, { value: `\${var.${v}}` }]));
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ variable, output }, null, 2));
  fs.writeFileSync(path.join(dir, 'terraform.tfvars'), [
    '# comments of every kind', 'v2 = "tfvars" // trailing', 'v3 = "tfvars"', 'v4 = "tfvars"', 'v5 = "tfvars"', 'v6 = "tfvars"',
    '/* a block */ sizes = {', '  small = 1', '  "large" = 10,', '}', 'undeclared_in_file = true', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'terraform.tfvars.json'), JSON.stringify({ v3: 'tfvars.json', v4: 'tfvars.json', v5: 'tfvars.json', v6: 'tfvars.json' }));
  fs.writeFileSync(path.join(dir, 'b.auto.tfvars.json'), JSON.stringify({ v4: 'b.auto.json', v5: 'b.auto.json', v6: 'b.auto.json' }));
  fs.writeFileSync(path.join(dir, 'a.auto.tfvars'), 'v4 = "a.auto"\nv5 = "a.auto"\nv6 = "a.auto"\n');
  fs.writeFileSync(path.join(dir, 'extra.tfvars'), 'v5 = "file"\nv6 = "file"\nshape = { name = "web", ports = [443, 80, 443] }\n');
  return {
    args: ['-var', 'v5=cli', '-var-file', 'extra.tfvars', '-var', 'v6=last', '-var', 'zones=["b", "a"]', '-var', 'plain=3'],
    env: Object.fromEntries(LEVELS.map((v) => [`TF_VAR_${v}`, 'env'])),
  };
}

test('precedence: default < TF_VAR_ < terraform.tfvars < terraform.tfvars.json < *.auto.tfvars (lexical) < --var/--var-file in order', async (t) => {
  const dir = tempDir(t);
  const { args, env } = precedenceStack(dir);
  const ours = args.map((a) => a.replace(/^-(var|var-file)$/, '--$1'));
  const applied = await eksidp(['apply', '--dir', dir, '--auto-approve', ...ours], dir, env);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /Value for undeclared variable: .*terraform\.tfvars sets "undeclared_in_file"/);
  const out = JSON.parse((await eksidp(['output', '--dir', dir, '--json'], dir)).stdout) as Record<string, { value: unknown; type: unknown }>;
  t.deepEqual(Object.fromEntries(LEVELS.map((v) => [v, out[v]!.value])), { v1: 'env', v2: 'tfvars', v3: 'tfvars.json', v4: 'b.auto.json', v5: 'file', v6: 'last' });
  t.deepEqual(out.zones, { sensitive: false, type: ['list', 'string'], value: ['b', 'a'] } as unknown);
  t.deepEqual(out.sizes, { sensitive: false, type: ['map', 'number'], value: { large: 10, small: 1 } } as unknown);
  t.deepEqual(out.plain, { sensitive: false, type: 'string', value: '3' } as unknown);
  t.deepEqual(out.shape, { sensitive: false, type: ['object', { name: 'string', ports: ['set', 'number'] }], value: { name: 'web', ports: [80, 443] } } as unknown);
});

terraformTest(test, 'the same variable inputs give the same outputs, values and types, in Terraform', async (t) => {
  const dir = tempDir(t);
  const { args, env } = precedenceStack(dir);
  const applied = await terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', ...args], env);
  t.is(applied.code, 0, applied.stderr);
  const theirs = await terraform(dir, ['output', '-json']);
  fs.rmSync(path.join(dir, 'terraform.tfstate'));
  const ours = args.map((a) => a.replace(/^-(var|var-file)$/, '--$1'));
  const ourApply = await eksidp(['apply', '--dir', dir, '--auto-approve', ...ours], dir, env);
  t.is(ourApply.code, 0, ourApply.stderr);
  const mine = await eksidp(['output', '--dir', dir, '--json'], dir);
  t.deepEqual(JSON.parse(mine.stdout), JSON.parse(theirs.stdout));
});

test('a variable without a value, a value of the wrong type, or a value for an undeclared variable is an error naming it, and nothing is written', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ variable: { region: { type: 'string' }, count_of: { type: 'number', default: 1 } }, output: { r: { value: '${var.region}' } } }));
  const missing = await eksidp(['plan', '--dir', dir], dir);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /var\.region: No value for required variable: set it with --var region=VALUE/);
  const wrong = await eksidp(['apply', '--dir', dir, '--auto-approve', '--var', 'region=x', '--var', 'count_of=many'], dir);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /var\.count_of: Invalid value for input variable \(from --var\): a number is required, got "many"/);
  const undeclared = await eksidp(['apply', '--dir', dir, '--auto-approve', '--var', 'region=x', '--var', 'nope=1'], dir);
  t.is(undeclared.code, 1);
  t.regex(undeclared.stderr, /var\.nope: Value for undeclared variable/);
  t.false(fs.existsSync(path.join(dir, 'terraform.tfstate')));
  // Commands that only read the state do not need the values.
  t.is((await eksidp(['state', 'list', '--dir', dir], dir)).code, 0);
});

test('variable blocks with validation are refused, naming the variable (sensitive is accepted: test/sensitive.test.ts)', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ variable: { token: { type: 'string', default: 'x', sensitive: 'yes' }, name: { default: 'a', validation: [{ condition: 'true', error_message: 'no' }] } } }));
  const r = await eksidp(['plan', '--dir', dir], dir);
  t.is(r.code, 1);
  t.regex(r.stderr, /var\.token: sensitive: sensitive must be true or false/);
  t.regex(r.stderr, /var\.name: validation: "validation" in a variable block is not supported/);
});

test('a saved plan keeps its variable values: another --var value is refused (Terraform 1.11), the same one is fine, TF_VAR_ is ignored with a warning', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ variable: { greeting: { type: 'string' } }, output: { g: { value: '${var.greeting}' } } }));
  t.is((await eksidp(['plan', '--dir', dir, '--var', 'greeting=hello', '--out', 'p.plan'], dir)).code, 0);
  const changed = await eksidp(['apply', 'p.plan', '--dir', dir, '--var', 'greeting=bye'], dir);
  t.is(changed.code, 1);
  t.regex(changed.stderr, /Can't change variable when applying a saved plan: the variable greeting .*"hello" .*"bye" was set by --var/);
  fs.writeFileSync(path.join(dir, 'other.tfvars'), 'greeting = "bye"\n');
  t.is((await eksidp(['apply', 'p.plan', '--dir', dir, '--var-file', 'other.tfvars'], dir)).code, 1);
  // The stack folder's own tfvars files are not read for a saved plan (Terraform ignores auto files here).
  fs.writeFileSync(path.join(dir, 'terraform.tfvars'), 'greeting = "bye"\n');
  // The same value again is no change; a TF_VAR_ value is overridden by --var, as in Terraform.
  t.is((await eksidp(['plan', '--dir', dir, '--var', 'greeting=hello', '--out', 'q.plan'], dir)).code, 0);
  const same = await eksidp(['apply', 'q.plan', '--dir', dir, '--var', 'greeting=hello'], dir, { TF_VAR_greeting: 'env' });
  t.is(same.code, 0, same.stderr);
  t.notRegex(same.stderr, /Warning/);
  const ok = await eksidp(['apply', 'p.plan', '--dir', dir], dir, { TF_VAR_greeting: 'env' });
  t.is(ok.code, 1, 'p.plan is stale now');
  t.regex(ok.stderr, /Warning: Ignoring variable when applying a saved plan: the variable greeting .*"env" was set by TF_VAR_greeting/);
  fs.rmSync(path.join(dir, 'terraform.tfvars'));
  t.is((await eksidp(['output', '--dir', dir, 'g', '--raw'], dir)).stdout, 'hello');
});

test('tfvars syntax: literals, escapes, comments; interpolations and expressions refused', (t) => {
  t.deepEqual(parseTfvars('a = "x\\n\\u00e9" # c\nb = [1, 2.5, true, null,]\nc = { k = "v", "q r": [] }\n'), { a: 'x\né', b: [1, 2.5, true, null], c: { k: 'v', 'q r': [] } });
  t.throws(() => parseTfvars('a = "${var.b}"\n'), { message: /interpolations and template directives are not supported/ });
  t.throws(() => parseTfvars('a = upper("x")\n'), { message: /unsupported expression "upper"/ });
  t.throws(() => parseTfvars('a = "x"\na = "y"\n'), { message: /duplicate value for "a"/ });
  t.deepEqual(parseHclValue(' ["a", "b"] ', '--var'), ['a', 'b']);
});
