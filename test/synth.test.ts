import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bin, projectRoot, readTree, tempDir } from './helpers/project';
import { terraform, terraformEnv, terraformTest } from './helpers/terraform';
import { cdktfBin, cdktfCliTest, cdktnBin, cdktnCliTest } from './helpers/cdk-cli';

const run = promisify(execFile);

/**
 * A project folder whose app has synth-time warnings (the case where cdktf's manifest used to carry
 * stack traces with machine paths): `npx tsx app.ts` for both the CDK CLIs and eksidp synth.
 */
function warnedProject(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t, 'eksidp-synth-same-');
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'npx tsx app.ts', sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} }));
  const env = {
    name: 'warned', region: 'us-east-1', endpoint: 'http://127.0.0.1:4599',
    clusters: [{ name: 'c1', version: '1.32', roleArn: 'r', subnetIds: ['s'], identityProviders: [{ name: 'okta', issuerUrl: 'https://okta.example.com', clientId: 'k', groupsClaim: 'groups', groupsPrefix: 'okta:', sampleIdentities: [{ name: 'nobody', claims: { sub: 'x', aud: 'other' } }] }], rbacBindings: [{ role: 'edit', groups: ['oidc:eng'] }] }],
  };
  fs.writeFileSync(path.join(dir, 'app.ts'), [
    `import { synth as s } from ${JSON.stringify(path.join(projectRoot, 'main'))};`,
    `const envs = [${JSON.stringify(env)}];`,
    'export function synth(o: { outdir?: string }) { s({ ...o, envs }); }',
    'if (require.main === module) s({ outdir: process.env.CDKTF_OUTDIR, envs });',
    '',
  ].join('\n'));
  return dir;
}

/** eksidp synth twice and the CDK CLI once, each into its own folder; all three trees must be equal. */
async function sameAsCli(t: ExecutionContext, cli: string, cliName: string): Promise<void> {
  for (const [where, cwd] of [['the project', projectRoot], ['an app with warnings', warnedProject(t)]] as const) {
    const dir = tempDir(t);
    const a = path.join(dir, 'eksidp'), b = path.join(dir, 'eksidp-again'), c = path.join(dir, cliName);
    // What Terraform keeps in a stack's folder (the workspace selection, local workspaces' states) survives a re-synth with either tool.
    const kept = ['.terraform/environment', 'terraform.tfstate.d/dev/terraform.tfstate'];
    const seeded = cwd === projectRoot ? [b, c].flatMap((o) => kept.map((f) => ({ file: path.join(o, 'stacks', 'local', f), top: path.join(o, 'stacks', 'local', f.split('/')[0]!) }))) : [];
    for (const { file } of seeded) { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, 'dev'); }
    await run(bin, ['synth', '--output', a], { cwd });
    await run(bin, ['synth', '--output', b], { cwd });
    await run(cli, ['synth', '--output', c], { cwd, env: terraformEnv({ CI: '1', FORCE_COLOR: '0' }) });
    for (const { file, top } of seeded) {
      t.is(fs.readFileSync(file, 'utf8'), 'dev', `${file} survives the synth`);
      fs.rmSync(top, { recursive: true, force: true });
    }
    const ta = readTree(a);
    if (cwd === projectRoot) t.deepEqual(Object.keys(ta).sort(), ['manifest.json', 'stacks/local/cdk.tf.json', 'stacks/production/cdk.tf.json', 'stacks/staging/cdk.tf.json']);
    else t.regex(ta['manifest.json']!, /"@cdktf\/warn"[\s\S]*group oidc:eng matches no identity provider config/, 'the warnings are in the manifest');
    t.deepEqual(readTree(b), ta, `${where}: synthesis is deterministic`);
    t.deepEqual(readTree(c), ta, `${where}: eksidp synth and ${cliName} synth agree byte for byte`);
    for (const [file, text] of Object.entries(ta)) {
      for (const p of [projectRoot, dir, cwd, os.homedir(), os.tmpdir()]) t.false(text.includes(p), `${where}: ${file} holds the machine path ${p}`);
      t.notRegex(text, /"\/(?:home|root|tmp|work|usr|opt)\//, `${where}: ${file} holds an absolute path`);
    }
  }
}

cdktfCliTest(test, 'eksidp synth writes the same files as npx cdktf synth, also with warnings, twice the same bytes, and no machine path', (t) => sameAsCli(t, cdktfBin, 'cdktf'));
cdktnCliTest(test, 'eksidp synth writes the same files as npx cdktn synth, also with warnings, twice the same bytes, and no machine path', (t) => sameAsCli(t, cdktnBin, 'cdktn'));

test('the local stack targets the emulator endpoint from EKSIDP_LOCAL_ENDPOINT and keeps state outside cdktf.out', async (t) => {
  const dir = tempDir(t);
  await run(bin, ['synth', '--output', dir], { cwd: projectRoot, env: { ...process.env, EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:45999' } });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'stacks/local/cdk.tf.json'), 'utf8'));
  t.deepEqual(json.provider.aws[0].endpoints, [{ eks: 'http://127.0.0.1:45999' }]);
  t.is(json.provider.aws[0].skip_credentials_validation, true);
  t.is(json.provider.aws[0].skip_requesting_account_id, true);
  const statePath: string = json.terraform.backend.local.path;
  t.false(path.isAbsolute(statePath));
  const resolved = path.resolve(projectRoot, 'cdktf.out/stacks/local', statePath);
  t.is(resolved, path.join(projectRoot, '.eksidp/state/local.tfstate'));
  t.regex(fs.readFileSync(path.join(projectRoot, '.gitignore'), 'utf8'), /^\.eksidp\/$/m);
  // Readable, stable names derived from cluster and config names.
  t.deepEqual(Object.keys(json.resource.aws_eks_identity_provider_config).sort(), ['dev_dex', 'dev_okta', 'legacy_entra']);
  t.is(json.resource.aws_eks_identity_provider_config.dev_okta.cluster_name, '${aws_eks_cluster.dev.name}');
});

terraformTest(test, 'terraform init and validate accept every synthesized stack (offline, provider mirror)', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out');
  await run(bin, ['synth', '--output', out], { cwd: projectRoot });
  for (const stack of ['local', 'staging', 'production']) {
    // Copy the stack alone: validation must not touch the project's state folder.
    const work = path.join(dir, stack);
    fs.mkdirSync(work);
    fs.copyFileSync(path.join(out, 'stacks', stack, 'cdk.tf.json'), path.join(work, 'cdk.tf.json'));
    const init = await terraform(work, ['init', '-backend=false', '-input=false', '-no-color']);
    t.is(init.code, 0, `terraform init ${stack}: ${init.stderr}${init.stdout}`);
    const v = await terraform(work, ['validate', '-json', '-no-color']);
    const result = JSON.parse(v.stdout) as { valid: boolean; error_count: number; warning_count: number; diagnostics: unknown[] };
    t.true(result.valid, `terraform validate ${stack}: ${JSON.stringify(result.diagnostics)}`);
    t.is(result.error_count, 0);
  }
});

test('eksidp synth prints synth-time warnings (an RBAC binding no config can produce) to stderr and still succeeds', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ app: 'npx tsx app.ts' }));
  const env = {
    name: 'warned', region: 'us-east-1', endpoint: 'http://127.0.0.1:1',
    clusters: [{ name: 'c1', version: '1.32', roleArn: 'r', subnetIds: ['s'], identityProviders: [{ name: 'okta', issuerUrl: 'https://okta.example.com', clientId: 'k', groupsClaim: 'groups', groupsPrefix: 'okta:' }], rbacBindings: [{ role: 'edit', groups: ['oidc:eng'] }] }],
  };
  fs.writeFileSync(path.join(dir, 'app.ts'), `import { synth as s } from ${JSON.stringify(path.join(projectRoot, 'main'))};\nexport function synth(o: { outdir?: string }) { s({ ...o, envs: [${JSON.stringify(env)}] }); }\n`);
  const r = await run(bin, ['synth'], { cwd: dir });
  t.regex(r.stderr, /Warning: \[warned\/c1\] cluster c1: ClusterRole\/edit: group oidc:eng matches no identity provider config/);
  t.true(fs.existsSync(path.join(dir, 'cdktf.out', 'stacks', 'warned', 'cdk.tf.json')));
});
