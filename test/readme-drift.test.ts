import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { runCli } from './helpers/cli';
import { bin, projectRoot, tempDir } from './helpers/project';

/**
 * The README's drift walkthrough, run exactly as written: after the main job, the README's emulator
 * command on npm start's state, then the block's out-of-band changes (through the emulator's admin
 * routes), drift, apply and drift again. The emulator listens on a port the OS picked; the block reads
 * it from EKSIDP_LOCAL_ENDPOINT, as the stack does.
 */

const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');

function block(name: string): string {
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no block marked readme-test: ${name}`);
  return m[1]!;
}

const run = (file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) => runCli(args, { file, cwd, env });

test('the README\'s drift walkthrough: out-of-band changes are found, apply fixes what eksidp manages, the rogue config stays unmanaged', async (t) => {
  const dir = tempDir(t, 'eksidp-readme-drift-');
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: `npx tsx ${path.join(projectRoot, 'main.ts')}`, context: {} }));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true' };

  // The README's emulator command on npm start's data folder, on a port the OS picks.
  const emu = spawn(bin, ['emulator', '--port', '0', '--data', '.eksidp/emulator'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => emu.on('exit', resolve));
  t.teardown(async () => {
    emu.kill('SIGTERM');
    await exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: emu.stdout }).on('line', (l) => { const m = /listening on (http:\/\/\S+)/.exec(l); if (m) resolve(m[1]!); });
    emu.on('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const withEndpoint = { ...env, EKSIDP_LOCAL_ENDPOINT: url };

  const start = await run(process.execPath, [path.join(projectRoot, 'dist', 'cli', 'main-job.js')], dir, withEndpoint);
  t.is(start.code, 0, `${start.stdout}\n${start.stderr}`);
  t.regex(start.stdout, /Apply complete! Resources: 5 added/);

  const walk = await run('bash', ['-euo', 'pipefail', '-c', block('drift-walkthrough')], dir, withEndpoint);
  t.is(walk.code, 0, `${walk.stdout}\n${walk.stderr}`);
  const [first, rest] = walk.stdout.split(/Apply complete!/);
  t.truthy(rest, walk.stdout);
  // The first drift check: the hand-made tag, the rogue config and the disassociated one, exit 2.
  t.regex(first!, /aws_eks_cluster\.dev: changed/);
  t.regex(first!, /tags\.owner: live "someone", declared \(unset\)/);
  t.regex(first!, /dev:rogue: unmanaged/);
  t.regex(first!, /aws_eks_identity_provider_config\.dev_okta: missing/);
  t.regex(first!, /drift: exit 2/);
  // Apply removes the tag and associates okta again; the second check finds only the rogue config.
  t.regex(walk.stdout, /Resources: 1 added, 1 changed, 0 destroyed/);
  t.regex(rest!, /Drift found: 5 in_sync, 1 unmanaged\./);
  t.regex(rest!, /drift: exit 2/);
  t.notRegex(rest!, /: (changed|missing)\b/);
});
