import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { until } from './helpers/wait';
import { findPlugin } from '../providers/plugin/find';
import { PluginProvider } from '../providers/plugin/provider';
import { captureIo, runCommand } from './helpers/in-process';
import { fakeMirror, type Mirror } from './helpers/fake-plugin';

/**
 * The plugin adapter's caches and start-up against a small fake tfplugin5 plugin
 * (fixtures/plugin/fake-plugin.js, which logs every RPC it answers): the schema cache keyed by the
 * binary's path, size and modification time; ValidateProviderConfig asked once per binary and
 * provider configuration; through the CLI, the warning without a lock file, the error for a
 * missing plugin, and a stack served wholly natively starting no plugin at all.
 */

function provider(m: Mirror): PluginProvider {
  const source = 'registry.terraform.io/example/fake';
  return new PluginProvider({ source, env: m.env, find: () => findPlugin({ source, stackDir: m.stack, stackName: 'fake', env: m.env }) });
}

/** The number of times each RPC was answered since the last look. */
function counter(m: Mirror): () => Record<string, number> {
  let seen = 0;
  return () => {
    const all = m.calls();
    const fresh = all.slice(seen);
    seen = all.length;
    const out: Record<string, number> = {};
    for (const c of fresh) out[c] = (out[c] ?? 0) + 1;
    return out;
  };
}

test('the schema cache: a second run reads it and starts no plugin; a binary changed in modification time, size or path is asked again', async (t) => {
  const m = fakeMirror(t);
  const since = counter(m);
  const schemaOnce = async () => {
    const p = provider(m);
    t.deepEqual(p.resourceSchema('fake_thing')?.block.attributes?.name, { type: 'string', required: true });
    const pid = p.pid;
    await p.close();
    return pid;
  };
  t.truthy(await schemaOnce(), 'the first run starts the plugin for its schema');
  t.deepEqual(since(), { spawn: 1, GetSchema: 1, Shutdown: 1 });
  t.is(await schemaOnce(), undefined, 'a cached schema needs no plugin');
  t.deepEqual(since(), {});

  // Modification time.
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(m.binary, later, later);
  await schemaOnce();
  t.deepEqual(since(), { spawn: 1, GetSchema: 1, Shutdown: 1 });
  // Size, with the same modification time.
  fs.appendFileSync(m.binary, '# another build\n');
  fs.utimesSync(m.binary, later, later);
  await schemaOnce();
  t.deepEqual(since(), { spawn: 1, GetSchema: 1, Shutdown: 1 });
  await schemaOnce();
  t.deepEqual(since(), {});
  // Path: the same package moved to another mirror, same size and time.
  const moved = path.join(m.root, 'mirror2');
  fs.cpSync(path.join(m.root, 'mirror'), moved, { recursive: true, preserveTimestamps: true });
  fs.rmSync(path.join(m.root, 'mirror'), { recursive: true });
  fs.writeFileSync(m.env.TF_CLI_CONFIG_FILE!, `provider_installation {\n  filesystem_mirror {\n    path = "${moved}"\n  }\n}\n`);
  await schemaOnce();
  t.deepEqual(since(), { spawn: 1, GetSchema: 1, Shutdown: 1 });
});

// Keyed by the binary as the schema cache is (binaryKey: path, size, modification time) and the configuration's bytes.
test('ValidateProviderConfig is asked once per binary and provider configuration, Configure on every run; a refused configuration is not cached', async (t) => {
  const m = fakeMirror(t);
  const since = counter(m);
  const configure = async (region: string) => {
    const p = provider(m);
    const res = await p.configure({ config: { region }, env: m.env });
    await p.close();
    return res.diagnostics.map((d) => `${d.severity}: ${d.summary}`);
  };
  t.deepEqual(await configure('us-east-1'), []);
  t.like(since(), { PrepareProviderConfig: 1, Configure: 1 });
  t.deepEqual(await configure('us-east-1'), []);
  t.deepEqual(since(), { spawn: 1, Configure: 1, Shutdown: 1 }, 'the same binary and configuration: validated from the cache');
  t.deepEqual(await configure('eu-west-1'), []);
  t.deepEqual(since(), { spawn: 1, PrepareProviderConfig: 1, Configure: 1, Shutdown: 1 });
  // The plugin's own validation refuses "bad": no Configure, and asked again next time.
  t.deepEqual(await configure('bad'), ['error: region "bad" is not a region']);
  t.deepEqual(since(), { spawn: 1, PrepareProviderConfig: 1, Shutdown: 1 });
  t.deepEqual(await configure('bad'), ['error: region "bad" is not a region']);
  t.deepEqual(since(), { spawn: 1, PrepareProviderConfig: 1, Shutdown: 1 });
});

const fakeStack = { terraform: { required_providers: { fake: { source: 'example/fake', version: '1.0.0' } } }, provider: { fake: [{ region: 'us-east-1' }] }, resource: { fake_thing: { one: { name: 'one' } } } };

test('through the CLI: a plugin used without a lock file plans with a warning; a missing plugin is an error that says how to install it, with no state written', async (t) => {
  const m = fakeMirror(t);
  fs.writeFileSync(path.join(m.stack, 'cdk.tf.json'), JSON.stringify(fakeStack));
  const io = captureIo(m.stack, m.env);
  const code = await runCommand(['plan', '--dir', m.stack, '--detailed-exitcode'], io);
  t.is(code, 2, io.err());
  t.regex(io.out(), /fake_thing\.one will be created/);
  t.regex(io.out() + io.err(), /Warning: provider\.fake: no \.terraform\.lock\.hcl in .*: the provider plugin registry\.terraform\.io\/example\/fake 1\.0\.0 from filesystem mirror .* is used without a checksum check \(run `terraform init` there to record one\)/);
  t.like(m.calls().reduce<Record<string, number>>((a, c) => ({ ...a, [c]: (a[c] ?? 0) + 1 }), {}), { spawn: 1, Configure: 1, PlanResourceChange: 1, Shutdown: 1 });

  // Not installed anywhere: refused before any call, naming where to run terraform init.
  fs.rmSync(path.join(m.root, 'mirror'), { recursive: true });
  const io2 = captureIo(m.stack, m.env);
  const code2 = await runCommand(['apply', '--dir', m.stack, '--auto-approve'], io2);
  t.is(code2, 1);
  t.regex(io2.err(), /the provider plugin registry\.terraform\.io\/example\/fake is not installed \(a version matching "1\.0\.0"\): run `terraform init` in .*\(cdktf\.out\/stacks\/.*\); offline, with a CLI configuration \(TF_CLI_CONFIG_FILE\)/);
  t.false(fs.existsSync(path.join(m.stack, 'terraform.tfstate')), 'no state written');
});

test('a run that fails before it needs the plugin it spawned leaves no plugin process behind', async (t) => {
  const m = fakeMirror(t);
  // An argument the plugin's provider schema does not have: refused before Configure, the first call that waits for the plugin.
  fs.writeFileSync(path.join(m.stack, 'cdk.tf.json'), JSON.stringify({ ...fakeStack, provider: { fake: [{ region: 'us-east-1', nonsense: true }] } }));
  const io = captureIo(m.stack, m.env);
  t.is(await runCommand(['plan', '--dir', m.stack], io), 1);
  t.regex(io.err(), /provider\.fake: nonsense: Unsupported argument/);
  const spawned = fs.readFileSync(m.log, 'utf8').split('\n').find((l) => l.startsWith('spawn '));
  t.truthy(spawned, 'the plugin was spawned as soon as the run knew it needed it');
  const pid = Number(spawned!.split(' ')[1]);
  const gone = () => {
    try { process.kill(pid, 0); return /^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
  };
  await until(`plugin process ${pid} to be gone`, gone, 10_000);
  t.true(gone());
});

test('a stack served wholly natively never starts a plugin, though hashicorp/aws\'s is installed; one plugin-served type starts it', async (t) => {
  const em = await startEmulator({ port: 0 });
  t.teardown(() => em.close());
  const m = fakeMirror(t, 'hashicorp/aws');
  const aws = { region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true };
  const write = (extra: Record<string, unknown> = {}) => fs.writeFileSync(path.join(m.stack, 'cdk.tf.json'), JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: { aws: [aws] },
    resource: {
      aws_eks_cluster: { main: { name: 'native', version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }] } },
      ...extra,
    },
  }));
  const plan = async (env: NodeJS.ProcessEnv = {}) => {
    const io = captureIo(m.stack, { ...m.env, AWS_ENDPOINT_URL_EKS: em.url, ...env });
    const code = await runCommand(['plan', '--dir', m.stack, '--detailed-exitcode'], io);
    return { code, out: io.out() + io.err() };
  };
  write();
  const native = await plan();
  t.is(native.code, 2, native.out);
  t.deepEqual(m.calls(), [], 'no plugin spawned for a natively served stack');
  // The cluster routed to the plugin: the plugin starts (this fake then refuses the configuration, which is not the point here).
  const routed = await plan({ EKSIDP_PLUGIN_TYPES: 'aws_eks_cluster' });
  t.is(routed.code, 1, routed.out);
  t.is(m.calls()[0], 'spawn');
});
