import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { SYNTH_FAILED_FILE } from '../engine/stack-files';
import { captureIo, runCommand } from './helpers/in-process';
import { cdktfBin, cdktfCliTest, cdktnBin, cdktnCliTest } from './helpers/cdk-cli';
import { runCli } from './helpers/cli';
import { bin, projectRoot, tempDir } from './helpers/project';
import { terraformEnv } from './helpers/terraform';

/**
 * A failed synth leaves the previous cdktf.out in place; until a synth succeeds, plan, apply, destroy
 * and drift on that output exit 1 naming the failed synth instead of planning the old configuration.
 * The project's own app is used from a temp folder; EKSIDP_LOCAL_ENDPOINT=nope makes its `local`
 * environment invalid (the endpoint must be a URL) without editing any file.
 */

const sh = (file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) => runCli(args, { file, cwd, env });

function project(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, 'eksidp-synthfail-');
  // `npx tsx` (the app command, as in the project's cdktf.json) must find the project's tsx, not download one.
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: `npx tsx ${path.join(projectRoot, 'main.ts')}`, sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} }));
  return dir;
}

const COMMANDS = [
  ['plan', '--stack', 'local', '--refresh=false'],
  ['apply', '--stack', 'local', '--auto-approve'],
  ['destroy', '--stack', 'local', '--auto-approve'],
  ['drift', '--stack', 'local'],
  ['plan', '--dir', 'cdktf.out/stacks/local', '--refresh=false'],
];

test('after a failed eksidp synth, plan/apply/destroy/drift on that output exit 1 naming it, until a synth succeeds', async (t) => {
  const dir = project(t);
  const ok = await sh(bin, ['synth'], dir, { EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:1' });
  t.is(ok.code, 0, ok.stderr);
  const marker = path.join(dir, 'cdktf.out', SYNTH_FAILED_FILE);
  t.false(fs.existsSync(marker));

  const failed = await sh(bin, ['synth'], dir, { EKSIDP_LOCAL_ENDPOINT: 'nope' });
  t.is(failed.code, 1);
  t.regex(failed.stderr, /endpoint: "nope" is not a valid URL/);
  t.true(fs.existsSync(path.join(dir, 'cdktf.out', 'stacks', 'local', 'cdk.tf.json')), 'the old output is still there');
  t.true(fs.existsSync(marker));

  for (const argv of COMMANDS) {
    const io = captureIo(dir, { EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:1' });
    const code = await runCommand(argv, io);
    t.is(code, 1, `${argv.join(' ')}: ${io.out()}${io.err()}`);
    t.regex(io.err(), /the last synth into cdktf\.out failed \(eksidp synth, [0-9T:.-]+Z\): \[local\] endpoint: "nope" is not a valid URL.*fix the error and run 'eksidp synth' again/, argv.join(' '));
    t.is(io.out(), '', `${argv.join(' ')} printed no plan`);
  }
  t.false(fs.existsSync(path.join(dir, '.eksidp', 'state')), 'nothing touched state');
  // state list and force-unlock act on state alone: still usable.
  const list = captureIo(dir);
  t.is(await runCommand(['state', 'list', '--stack', 'local'], list), 0, list.err());

  const again = await sh(bin, ['synth'], dir, { EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:1' });
  t.is(again.code, 0, again.stderr);
  t.false(fs.existsSync(marker), 'a successful synth removes the marker');
  const io = captureIo(dir);
  t.is(await runCommand(['plan', '--stack', 'local', '--refresh=false'], io), 0, io.err());
  t.regex(io.out(), /Plan: 5 to add/);
});

test('a failed synth into a folder that did not exist leaves nothing behind (no marker, no output)', async (t) => {
  const dir = project(t);
  const failed = await sh(bin, ['synth'], dir, { EKSIDP_LOCAL_ENDPOINT: 'nope' });
  t.is(failed.code, 1);
  t.false(fs.existsSync(path.join(dir, 'cdktf.out')));
});

/** `<cli> synth` fails on the bad environment (main.ts writes the marker), eksidp plan refuses the output, a good synth clears it. */
async function cliSynthFails(t: ExecutionContext, cli: string, name: string): Promise<void> {
  const dir = project(t);
  t.is((await sh(bin, ['synth'], dir, { EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:1' })).code, 0);
  const failed = await sh(cli, ['synth'], dir, { ...terraformEnv(), EKSIDP_LOCAL_ENDPOINT: 'nope', CI: '1', FORCE_COLOR: '0' });
  t.not(failed.code, 0, `${name} synth must fail`);
  const io = captureIo(dir);
  t.is(await runCommand(['plan', '--stack', 'local', '--refresh=false'], io), 1);
  t.regex(io.err(), /the last synth into cdktf\.out failed \(cdktf synth \(main\.ts\), .*\): \[local\] endpoint: "nope" is not a valid URL/);
  const ok = await sh(cli, ['synth'], dir, { ...terraformEnv(), EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:1', CI: '1', FORCE_COLOR: '0' });
  t.is(ok.code, 0, ok.stderr);
  t.false(fs.existsSync(path.join(dir, 'cdktf.out', SYNTH_FAILED_FILE)), `a successful ${name} synth removes the marker`);
}

cdktfCliTest(test, 'a failed cdktf synth marks the output too (main.ts writes the same marker), and eksidp plan refuses it', (t) => cliSynthFails(t, cdktfBin, 'cdktf'));
cdktnCliTest(test, 'a failed cdktn synth marks the output too (main.ts writes the same marker), and eksidp plan refuses it', (t) => cliSynthFails(t, cdktnBin, 'cdktn'));
