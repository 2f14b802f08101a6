import test, { type ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator/index';
import { EMULATOR_DATA_DIR } from '../cli/main-job';
import { cdktfCliTest, cdktnCliTest } from './helpers/cdk-cli';
import { bin, projectRoot, tempDir } from './helpers/project';
import { mirror } from './helpers/terraform';

/**
 * The README as a new user follows it: its commands are the fast ones, its plan files are git-ignored
 * `.tfplan`s, its emulator command keeps npm start's state, and its Terraform / CDK CLI blocks are run
 * exactly as written (offline CLI config, then `npx cdktf` on Node 20 or `npx cdktn` on Node 24).
 */

const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const codeBlocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** The sh block right after `<!-- readme-test: NAME -->`. */
function block(name: string): string {
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no block marked readme-test: ${name}`);
  return m[1]!;
}

test('the README\'s commands call node_modules/.bin/eksidp, never npx eksidp', (t) => {
  const lines = codeBlocks.flatMap((b) => b.split('\n')).filter((l) => /\beksidp (synth|plan|apply|drift|whoami|emulator|<command>)/.test(l));
  t.true(lines.length >= 7, lines.join('\n'));
  for (const l of lines) t.regex(l, /^node_modules\/\.bin\/eksidp /, l);
  t.notRegex(codeBlocks.join('\n'), /npx eksidp/);
});

test('plan files: the README names them *.tfplan, .gitignore ignores them, and the README says they hold the state', (t) => {
  const planLines = codeBlocks.flatMap((b) => b.split('\n')).filter((l) => /eksidp (plan|apply) /.test(l));
  const planFiles = planLines.join('\n').match(/(?:--out|apply --stack local \[)\s*(\S+?)[\]\s]/g) ?? [];
  t.true(planFiles.length >= 2, String(planFiles));
  for (const p of planFiles) t.regex(p, /\.tfplan/, p);
  const ignored = spawnSync('git', ['check-ignore', '--no-index', '-q', 'local.tfplan'], { cwd: projectRoot });
  t.is(ignored.status, 0, '.gitignore ignores local.tfplan');
  t.regex(readme, /A saved plan \(`plan --out FILE`\) holds a copy of the state/);
});

test('the README\'s emulator command uses the data folder npm start uses', (t) => {
  const line = codeBlocks.flatMap((b) => b.split('\n')).find((l) => l.includes('eksidp emulator'));
  t.truthy(line);
  t.is(/--data (\S+)/.exec(line!)?.[1], EMULATOR_DATA_DIR);
});

type Run = { code: number; stdout: string; stderr: string };
function sh(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code !== 'number') return reject(err);
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code) : 0, stdout, stderr });
    });
  });
}

/**
 * Runs the offline block and one CLI block exactly as the README writes them, in a project folder of
 * its own (the project's app and node_modules), against an emulator on an OS-chosen port; then eksidp
 * reads the state the CLI wrote and sees no changes.
 */
async function readmeCliFlow(t: ExecutionContext, cli: 'cdktf' | 'cdktn'): Promise<void> {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 200, updateMs: 200 });
  t.teardown(() => emu.close());
  const dir = tempDir(t, `eksidp-readme-${cli}-`);
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  const cdktfJson = JSON.parse(fs.readFileSync(path.join(projectRoot, 'cdktf.json'), 'utf8')) as { app: string };
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ ...cdktfJson, app: cdktfJson.app.replace('main.ts', path.join(projectRoot, 'main.ts')) }));
  const script = `${block('terraform-offline')}\n${block(cli)}`;
  // The environment a user's shell has: nothing of the test helpers' CLI config (the README block makes its own).
  const env: NodeJS.ProcessEnv = { ...process.env, EKSIDP_TF_MIRROR: mirror, EKSIDP_LOCAL_ENDPOINT: emu.url, CI: '1', FORCE_COLOR: '0', TF_CLI_CONFIG_FILE: '/nonexistent' };
  const r = await sh(script, dir, env);
  t.is(r.code, 0, `${script}\n${r.stdout}\n${r.stderr}`);
  t.regex(r.stdout, /Plan: 5 to add, 0 to change, 0 to destroy/);
  t.regex(r.stdout, /Apply complete! Resources: 5 added, 0 changed, 0 destroyed/);
  t.regex(fs.readFileSync(path.join(dir, '.eksidp', 'terraform.rc'), 'utf8'), /filesystem_mirror/);
  const live = emu.snapshot() as { clusters: { name: string; status: string; configs: unknown[] }[] };
  t.deepEqual(live.clusters.map((c) => `${c.name}:${c.status}:${c.configs.length} configs`).sort(), ['dev:ACTIVE:2 configs', 'legacy:ACTIVE:1 configs']);
  t.true(fs.existsSync(path.join(dir, '.eksidp', 'state', 'local.tfstate')), 'state is where the stack says: <project>/.eksidp/state/local.tfstate');
  // Not spawnSync: the emulator answers from this very process.
  const plan = await sh(`${JSON.stringify(bin)} plan --stack local --detailed-exitcode --no-color`, dir, env);
  t.is(plan.code, 0, `eksidp plan after ${cli} deploy: ${plan.stdout}\n${plan.stderr}`);
  t.regex(plan.stdout, /No changes/);
}

cdktfCliTest(test, 'the README\'s offline block and `npx cdktf diff/deploy` run as written against the emulator; eksidp then sees no changes', (t) => readmeCliFlow(t, 'cdktf'));
cdktnCliTest(test, 'the README\'s offline block and `npx cdktn diff/deploy` run as written against the emulator; eksidp then sees no changes', (t) => readmeCliFlow(t, 'cdktn'));
