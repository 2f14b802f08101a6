import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { bin, projectRoot, tempDir } from './helpers/project';

/**
 * The main job (`npm start`, i.e. `node dist/cli/main-job.js`) as a new user runs it, from a project
 * folder of its own, on whatever Node runs this test (npm test also runs it on Node 24): it starts
 * the emulator, persists it under .eksidp/emulator, prints the plan once and applies exactly it; then
 * the README's emulator command (`eksidp emulator --data .eksidp/emulator`) continues from that state.
 */

type Run = { code: number | null; stdout: string; stderr: string };

function node(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function project(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, 'eksidp-mainjob-');
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: `npx tsx ${path.join(projectRoot, 'main.ts')}`, context: {} }));
  return dir;
}

/** A loopback port the OS picked (the main job's own emulator listens on its endpoint's port). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const mainJob = path.join(projectRoot, 'dist', 'cli', 'main-job.js');
const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

test('npm start: synth, plan printed once, the saved plan applied, drift in sync; the README\'s emulator command keeps that state', async (t) => {
  const dir = project(t);
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const first = await node([mainJob], dir, { EKSIDP_LOCAL_ENDPOINT: endpoint });
  t.is(first.code, 0, `${first.stdout}\n${first.stderr}`);
  t.regex(first.stderr, /Started the embedded EKS emulator at .* \(state in \.eksidp\/emulator\)/);
  t.is(count(first.stdout, /Plan: 5 to add, 0 to change, 0 to destroy\./), 1, 'the plan is printed once');
  t.is(count(first.stdout, /# aws_eks_identity_provider_config\.dev_okta will be created/), 1);
  t.regex(first.stderr, /==> Applying exactly that plan: eksidp apply \.eksidp\/local\.tfplan/);
  t.regex(first.stdout, /Apply complete! Resources: 5 added, 0 changed, 0 destroyed\./);
  t.regex(first.stdout, /in sync|No drift/);
  t.false(fs.existsSync(path.join(dir, '.eksidp', 'local.tfplan')), 'the saved plan (it holds state) is removed once applied');

  // The README's emulator command, on the data folder npm start used: the fleet is still there.
  const emu = spawn(bin, ['emulator', '--port', '0', '--data', '.eksidp/emulator'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { emu.kill('SIGTERM'); });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: emu.stdout }).on('line', (l) => { const m = /listening on (http:\/\/\S+)/.exec(l); if (m) resolve(m[1]!); });
    emu.on('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const second = await node([mainJob], dir, { EKSIDP_LOCAL_ENDPOINT: url });
  t.is(second.code, 0, `${second.stdout}\n${second.stderr}`);
  t.regex(second.stderr, /Using the EKS emulator already listening at/);
  t.regex(second.stdout, /No changes\. Your infrastructure matches the configuration\./);
  t.notRegex(second.stdout, /will be created/);
  const exited = new Promise((resolve) => emu.on('exit', resolve));
  emu.kill('SIGINT');
  await exited;
});
