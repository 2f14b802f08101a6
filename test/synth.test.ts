import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { bin, projectRoot, readTree, tempDir } from './helpers/project';
import { terraform, terraformEnv, terraformTest } from './helpers/terraform';

const run = promisify(execFile);

test('eksidp synth writes the same files as npx cdktf synth, and twice the same bytes', async (t) => {
  const dir = tempDir(t);
  const a = path.join(dir, 'eksidp');
  const b = path.join(dir, 'eksidp-again');
  const c = path.join(dir, 'cdktf');
  await run(bin, ['synth', '--output', a], { cwd: projectRoot });
  await run(bin, ['synth', '--output', b], { cwd: projectRoot });
  await run('npx', ['cdktf', 'synth', '--output', c], { cwd: projectRoot, env: terraformEnv() });
  const ta = readTree(a);
  t.deepEqual(Object.keys(ta).sort(), ['manifest.json', 'stacks/local/cdk.tf.json', 'stacks/production/cdk.tf.json', 'stacks/staging/cdk.tf.json']);
  t.deepEqual(readTree(b), ta, 'synthesis is deterministic');
  t.deepEqual(readTree(c), ta, 'eksidp synth and cdktf synth agree byte for byte');
  for (const [file, text] of Object.entries(ta)) {
    t.false(text.includes(projectRoot), `${file} leaks the machine's project path`);
    t.false(text.includes(dir), `${file} leaks the output path`);
  }
});

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
