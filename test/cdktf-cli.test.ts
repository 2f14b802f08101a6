import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator/index';
import { bin, projectRoot, tempDir } from './helpers/project';
import { terraformEnv, terraformTest } from './helpers/terraform';

/**
 * The stacks as users run them through the cdktf CLI: `cdktf diff` and `cdktf deploy` of the `local`
 * environment against the emulator, then eksidp reads the state cdktf/Terraform wrote and sees no
 * changes. The project is used through a temp folder of its own (cdktf.json pointing at main.ts), so the
 * state lands there and not in the project's .eksidp/.
 */

type Run = { code: number; stdout: string; stderr: string };
function sh(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code !== 'number') return reject(err);
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code) : 0, stdout, stderr });
    });
  });
}

terraformTest(test, 'npx cdktf diff and cdktf deploy of the local stack run against the emulator, and eksidp then sees no changes', async (t) => {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 200, updateMs: 200 });
  t.teardown(() => emu.close());
  const dir = tempDir(t, 'eksidp-cdktf-');
  const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({
    language: 'typescript', app: `${tsx} ${path.join(projectRoot, 'main.ts')}`, sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {},
  }));
  const env = terraformEnv({ EKSIDP_LOCAL_ENDPOINT: emu.url, CI: '1', FORCE_COLOR: '0' });
  const cdktf = path.join(projectRoot, 'node_modules', '.bin', 'cdktf');

  const diff = await sh(cdktf, ['diff', 'local', '--skip-provider-lock'], dir, env);
  t.is(diff.code, 0, `cdktf diff: ${diff.stdout}\n${diff.stderr}`);
  t.regex(diff.stdout, /Plan: 5 to add, 0 to change, 0 to destroy/);

  // Terraform's provider does not retry 409 ResourceInUse: one update per cluster at a time.
  const deploy = await sh(cdktf, ['deploy', 'local', '--auto-approve', '--terraform-parallelism', '1', '--skip-provider-lock'], dir, env);
  t.is(deploy.code, 0, `cdktf deploy: ${deploy.stdout}\n${deploy.stderr}`);
  t.regex(deploy.stdout, /Apply complete! Resources: 5 added, 0 changed, 0 destroyed/);

  const live = emu.snapshot() as { clusters: { name: string; status: string; configs: unknown[] }[] };
  t.deepEqual(live.clusters.map((c) => `${c.name}:${c.status}:${c.configs.length} configs`).sort(), ['dev:ACTIVE:2 configs', 'legacy:ACTIVE:1 configs']);
  const statePath = path.join(dir, '.eksidp', 'state', 'local.tfstate');
  t.true(fs.existsSync(statePath), 'state is where the stack says: <project>/.eksidp/state/local.tfstate');

  // eksidp reads the state Terraform wrote through cdktf: no changes.
  const plan = await sh(bin, ['plan', '--dir', path.join(dir, 'cdktf.out', 'stacks', 'local'), '--detailed-exitcode', '--no-color'], dir, env);
  t.is(plan.code, 0, `eksidp plan after cdktf deploy: ${plan.stdout}\n${plan.stderr}`);
  t.regex(plan.stdout, /No changes/);
});
