import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp');

test('eksidp --version prints the package version and exits 0', (t) => {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  t.regex(out, /^eksidp \d+\.\d+\.\d+\n$/);
});

test('an unknown command exits 1 with a clear message on stderr', (t) => {
  const r = spawnSync(bin, ['frobnicate'], { encoding: 'utf8' });
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /unknown command 'frobnicate'/);
});

// Usage lines are built from the flag specs, so they cannot leave a flag out again.
// Every command the CLI registers (read from cli/index.ts, so a new command is covered without editing this list).
const COMMAND_NAMES = [...(require('node:fs') as typeof import('node:fs')).readFileSync(path.join(__dirname, '..', 'cli', 'index.ts'), 'utf8').matchAll(/^ {2}'?([a-z-]+)'?: \{ summary:/gm)].map((m) => m[1]!);

test('every command\'s usage line and flag list name the same flags', (t) => {
  t.true(COMMAND_NAMES.length >= 12 && COMMAND_NAMES.includes('pr-comment'), COMMAND_NAMES.join(' '));
  const { helpText } = require('../cli/args') as typeof import('../cli/args');
  for (const name of COMMAND_NAMES) {
    const r = spawnSync(bin, [name, '--help'], { encoding: 'utf8' });
    t.is(r.status, 0, name);
    const usage = /^Usage: (.*)$/m.exec(r.stdout)![1]!;
    const spec = (require(`../cli/commands/${name}`) as typeof import('../cli/commands/plan')).command.spec;
    t.is(r.stdout, helpText(spec));
    for (const [flag, f] of Object.entries(spec.flags)) {
      const syntax = f.type === 'boolean' ? (f.negatable ? `--[no-]${flag}` : `--${flag}`) : `--${flag} ${f.valueName}`;
      t.regex(r.stdout, new RegExp(`^ {2}${syntax.replace(/[[\]|]/g, '\\$&')} `, 'm'), `${name} --help lists ${syntax}`);
      if (!f.collapse) t.true(usage.includes(syntax), `${name} usage line shows ${syntax}: ${usage}`);
    }
  }
});

test('the usage lines show what a new user missed: --destroy, drift\'s --state/--verbose, plan\'s --refresh as in its flag list', (t) => {
  const help = (name: string) => spawnSync(bin, [name, '--help'], { encoding: 'utf8' }).stdout;
  t.regex(help('plan'), /^Usage: eksidp plan .*\[--refresh true\|false\].*\[--destroy\]/m);
  t.regex(help('plan'), /^ {2}--refresh true\|false +Read live objects first/m);
  t.regex(help('drift'), /^Usage: eksidp drift .*\[--state FILE\] \[--verbose\]/m);
  t.regex(help('apply'), /^Usage: eksidp apply \[PLANFILE\] \[--stack NAME \| --dir DIR\] \[--var NAME=VALUE\]\.\.\. \[--var-file FILE\]\.\.\. \[--lock true\|false\] \[--lock-timeout DURATION\] \[--auto-approve\] \[--target ADDR\]\.\.\. \[--json\] \[--parallelism N\] \[--\[no-\]color\]$/m);
  t.regex(help('whoami'), /^Usage: eksidp whoami \[--stack NAME \| --dir DIR\] --config ADDR \[--claims FILE \| --token - \| --token-file FILE \| --identities FILE\]/m);
  t.regex(help('emulator'), /^Usage: eksidp emulator \[--host ADDR\] \[--port N\] \[--s3-port N\] \[--s3-bucket NAME\]\.\.\. \[--data DIR\] \[--accounts FILE\] \[--\[no-\]verify-signatures\] \[--allow-host NAME\]\.\.\. \[--max-connections N\] \[fault and timing flags\]$/m);
});

test('--color forces colour when the output is piped (and over NO_COLOR); --no-color and the default off a terminal give none', (t) => {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-color-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ provider: { memory: [{ path: 'cloud.json' }] }, resource: { memory_item: { a: { name: 'a' } } } }));
  const plan = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(bin, ['plan', '--dir', '.', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env } });
  const ESC = '\u001b[';
  const forced = plan(['--color']);
  t.is(forced.status, 0, forced.stderr);
  t.true(forced.stdout.includes(`${ESC}32m+${ESC}0m create`), forced.stdout);
  t.true(plan(['--color'], { NO_COLOR: '1' }).stdout.includes(ESC), 'the flag wins over NO_COLOR');
  t.false(plan([]).stdout.includes(ESC), 'piped: no colour by default');
  t.false(plan(['--no-color']).stdout.includes(ESC));
  const { colorEnabled } = require('../lib/color') as typeof import('../lib/color');
  t.true(colorEnabled({ isTTY: true }, {}, undefined));
  t.false(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }, undefined));
  t.false(colorEnabled({ isTTY: true }, {}, false));
  t.true(colorEnabled({ isTTY: false }, { NO_COLOR: '1' }, true));
});
