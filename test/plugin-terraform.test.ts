import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import type { ObjectValue, Value } from '../engine/protocol';
import { startedPids } from '../providers/plugin/bridge';
import { cli } from './fixtures/reliability/harness';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { until } from './helpers/wait';
import { terraform, terraformCliConfig, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Types served by the real hashicorp/aws 5.100 plugin (offline mirror) next to the native EKS
 * provider, on the embedded emulator, with Terraform as the oracle:
 * - a mixed stack: Terraform creates aws_iam_role objects (the emulator's IAM); eksidp, over
 *   Terraform's state, serves data.aws_iam_policy_document, the roles and aws_eks_cluster (role_arn
 *   from a role) through the plugin and the identity provider config natively; private data
 *   (plan → apply → state, and across runs and tools) and schema versions (UpgradeResourceState
 *   from the stored version) as Terraform keeps them; Terraform then applies only a role's deletion;
 * - differential: the same stack through the plugin only (EKSIDP_NATIVE_PROVIDERS=0) and natively,
 *   created, changed (a tag and a version in place, a prefix by replacement) and a config deleted,
 *   gives the same actions and state, each reads the other's state with no changes, and Terraform
 *   reads both with no changes;
 * - no plugin process outlives its command.
 * One emulator and one cache folder for the file, and the tests run one after the other: only the
 * first command pays GetSchema and ValidateProviderConfig (its answer is cached by binary and
 * provider configuration). Endpoints come from AWS_ENDPOINT_URL_EKS/_IAM for both tools.
 */

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-plugin-cache-'));
let em: Awaited<ReturnType<typeof startEmulator>>;
test.before(async () => {
  em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
});
test.after.always(async () => {
  await em?.close();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});


// Endpoints from the environment, not an `endpoints` block: the block costs the plugin ~9 s of CPU in
// ValidateProviderConfig per configuration and Terraform run.
const provider = () => ({
  region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator',
  skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true,
});
const endpoints = (url: string) => ({ AWS_ENDPOINT_URL_EKS: url, AWS_ENDPOINT_URL_IAM: url });
const cluster = (name: string, version: string, tags: Record<string, string>) => ({
  name, version, role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }], tags,
});
const oidc = (name: string, prefix: string) => ({
  client_id: 'kubernetes', identity_provider_config_name: name, issuer_url: 'https://sso.example.com/oauth2',
  username_claim: 'email', username_prefix: prefix, groups_claim: 'groups', groups_prefix: prefix, required_claims: { aud: 'kubernetes' },
});
const header = { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } };

async function eksidp(argv: string[], dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(dir, { TF_CLI_CONFIG_FILE: terraformCliConfig(), EKSIDP_CACHE_DIR: cacheDir, EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200', ...endpoints(em.url), ...env });
  const t0 = Date.now();
  const code = await runCommand(argv, io);
  if (process.env.EKSIDP_TEST_TIMINGS) process.stderr.write(`eksidp ${argv.join(' ')}: ${Date.now() - t0} ms\n`);
  return { code, stdout: io.out(), stderr: io.err() };
}

/** Every plugin process started so far is gone (GRPCController.Shutdown at the end of each command, or killed). */
function noPluginLeft(t: { deepEqual(a: unknown, b: unknown, m?: string): void; true(v: boolean): void }): void {
  t.true(startedPids.length > 0);
  const alive = startedPids.filter((pid) => {
    try { process.kill(pid, 0); return true; } catch { return false; }
  });
  t.deepEqual(alive, [], 'plugin processes outlived their command');
}

const tf = async (dir: string, args: string[]): Promise<TfResult> => {
  const t0 = Date.now();
  const r = await terraform(dir, [...args, '-input=false', '-no-color'], endpoints(em.url));
  if (process.env.EKSIDP_TEST_TIMINGS) process.stderr.write(`terraform ${args.join(' ')}: ${Date.now() - t0} ms\n`);
  return r;
};
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;

type StateFile = { resources: { mode: string; type: string; name: string; instances: { schema_version: number; attributes: ObjectValue; private?: string }[] }[] };
const stateOf = (dir: string): StateFile => JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')) as StateFile;

/** hashicorp/aws (SDKv2) keeps a resource's timeouts in its private data, as nanoseconds under this key. */
const TIMEOUTS_KEY = 'e2bfb730-ecaa-11e6-8f88-34363bc7c4c0';
const privateOf = (dir: string, type: string, name: string): string | undefined => stateOf(dir).resources.find((r) => r.type === type && r.name === name)?.instances[0]?.private;

terraformTest(test.serial as unknown as typeof test, 'a mixed stack: Terraform makes the IAM roles, eksidp the plugin cluster (role_arn from a role) and native configs; private data and schema versions as Terraform keeps them; each reads the other\'s state with no changes', async (t) => {
  const dir = tempDir(t, 'eksidp-plugin-');
  const write = (withSpare: boolean) => fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: header,
    provider: { aws: [provider()] },
    data: { aws_iam_policy_document: { trust: { statement: [{ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['eks.amazonaws.com'] }] }] } } },
    resource: {
      aws_iam_role: {
        cluster: { name: 'eksidp-cluster', assume_role_policy: '${data.aws_iam_policy_document.trust.json}', tags: { env: 'local' } },
        ...(withSpare ? { spare: { name: 'eksidp-spare', assume_role_policy: '${data.aws_iam_policy_document.trust.json}' } } : {}),
      },
      // A custom timeout lives only in the plugin's private data: it reaches state only if plan → apply threads it.
      aws_eks_cluster: { main: { ...cluster('mixed', '1.32', { env: 'local' }), role_arn: '${aws_iam_role.cluster.arn}', timeouts: { create: '17m' } } },
      aws_eks_identity_provider_config: {
        corp: { cluster_name: '${aws_eks_cluster.main.name}', oidc: [oidc('corp', 'corp:')], tags: { policy: '${data.aws_iam_policy_document.trust.id}' } },
      },
    },
  }, null, 2));
  write(true);
  // terraform init records the lock file, whose hash eksidp then checks.
  const init = await tf(dir, ['init']);
  t.is(init.code, 0, init.stderr);
  // Real Terraform creates the roles against the emulator's IAM.
  const roles = await tf(dir, ['apply', '-auto-approve', '-target=aws_iam_role.cluster', '-target=aws_iam_role.spare']);
  t.is(roles.code, 0, out(roles));
  t.deepEqual(em.iamRoles(), ['eksidp-cluster', 'eksidp-spare']);
  const roleArn = stateOf(dir).resources.find((r) => r.type === 'aws_iam_role' && r.name === 'cluster')!.instances[0]!.attributes.arn;
  t.regex(String(roleArn), /^arn:aws:iam::\d{12}:role\/eksidp-cluster$/);
  const tfRolePrivate = privateOf(dir, 'aws_iam_role', 'cluster');

  // eksidp over Terraform's state: the roles unchanged, the cluster through the plugin, the config natively.
  const env = { EKSIDP_PLUGIN_TYPES: 'aws_eks_cluster' };
  const applied = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir, env);
  t.is(applied.code, 0, out(applied));
  t.regex(applied.stdout, /Resources: 2 added, 0 changed, 0 destroyed\./);
  t.notRegex(applied.stdout, /lock\.hcl/, 'the lock file exists: no warning about it');
  t.is(privateOf(dir, 'aws_iam_role', 'cluster'), tfRolePrivate, 'the role keeps the private data Terraform stored');

  const state = stateOf(dir);
  const doc = state.resources.find((r) => r.type === 'aws_iam_policy_document')!.instances[0]!.attributes;
  t.regex(String(doc.json), /"sts:AssumeRole"/);
  const corp = state.resources.find((r) => r.type === 'aws_eks_identity_provider_config')!.instances[0]!.attributes;
  t.deepEqual(corp.tags, { policy: doc.id });
  const main = state.resources.find((r) => r.type === 'aws_eks_cluster')!.instances[0]!;
  t.is(main.attributes.role_arn, roleArn);
  t.is(main.schema_version, 1, 'the plugin schema\'s version');
  const priv = JSON.parse(Buffer.from(main.private ?? '', 'base64').toString('utf8')) as Record<string, Record<string, number>>;
  t.is(priv[TIMEOUTS_KEY]?.create, 17 * 60e9, 'the planned private data (the custom create timeout) went plan → apply → state');
  const mixed = (em.snapshot() as { clusters: { name: string; roleArn: string; configs: { name: string; status: string }[] }[] }).clusters.find((c) => c.name === 'mixed');
  t.like(mixed, { roleArn, configs: [{ name: 'corp', status: 'ACTIVE' }] });

  // Terraform over eksidp's state: nothing to do but delete the role that left the configuration.
  write(false);
  const tfApply = await tf(dir, ['apply', '-auto-approve']);
  t.is(tfApply.code, 0, out(tfApply));
  t.regex(tfApply.stdout, /Plan: 0 to add, 0 to change, 1 to destroy\./, `Terraform sees changes in the state eksidp wrote:\n${out(tfApply)}`);
  t.regex(tfApply.stdout, /aws_iam_role\.spare: Destruction complete/);
  t.deepEqual(em.iamRoles(), ['eksidp-cluster']);
  t.is(privateOf(dir, 'aws_eks_cluster', 'main'), main.private, 'Terraform read the cluster with the private data eksidp stored, and kept it');

  // eksidp over Terraform's state again: no changes.
  const ours = await eksidp(['plan', '--dir', dir, '--detailed-exitcode'], dir, env);
  t.is(ours.code, 0, out(ours));

  // A state written at schema version 0 (hashicorp/aws before 5.57 had no bootstrap_self_managed_addons):
  // UpgradeResourceState from the stored version fills it in (true); from the current version it
  // would stay null and the plan would replace the cluster.
  const old = stateOf(dir);
  const inst = old.resources.find((r) => r.type === 'aws_eks_cluster')!.instances[0]!;
  t.is(inst.attributes.bootstrap_self_managed_addons, true);
  inst.schema_version = 0;
  delete inst.attributes.bootstrap_self_managed_addons;
  fs.writeFileSync(path.join(dir, 'terraform.tfstate'), JSON.stringify(old, null, 2));
  const upgraded = await eksidp(['plan', '--dir', dir, '--detailed-exitcode'], dir, env);
  t.is(upgraded.code, 0, out(upgraded));
  // Drift over the mixed stack: the roles and the cluster read through the plugin (upgraded from the
  // stored version too), the config through the native bulk reads; all in sync.
  const drift = await eksidp(['drift', '--dir', dir, '--format', 'json'], dir, env);
  t.is(drift.code, 0, out(drift));
  const verdicts = (JSON.parse(drift.stdout) as { resources: { address: string; status: string }[] }).resources.map((r) => [r.address, r.status]).sort();
  t.deepEqual(verdicts, [['aws_eks_cluster.main', 'in_sync'], ['aws_eks_identity_provider_config.corp', 'in_sync'], ['aws_iam_role.cluster', 'in_sync']]);
  noPluginLeft(t);
});

/** State attributes that differ between two emulators or runs by nature. */
const VOLATILE = new Set(['created_at', 'certificate_authority', 'endpoint', 'identity', 'platform_version', 'arn', 'cluster_id', 'vpc_config']);
/**
 * A known difference, reported to the native provider's owners: for a cluster created without an
 * access_config.bootstrap_cluster_creator_admin_permissions setting, hashicorp/aws 5.100 records
 * `true` (the value it sent: CreateCluster's default), the native provider `false`. Neither tool plans
 * a change over the other's value (config null, SDKv2 zero value), which the cross reads below check.
 */
const KNOWN_DIFFERENCE = (v: ObjectValue): ObjectValue => {
  const access = Array.isArray(v.access_config) ? (v.access_config as ObjectValue[]) : null;
  return access ? { ...v, access_config: access.map((a) => ({ ...a, bootstrap_cluster_creator_admin_permissions: '<differs>' })) } : v;
};
/**
 * hashicorp/aws (legacy SDK) records an unset collection as [] or {} after some operations (after an
 * update, enabled_cluster_log_types is [] where the native provider keeps null); Terraform and the
 * SDK treat the two alike, and so does this comparison.
 */
const emptyAsNull = (v: Value): Value => ((Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) ? null : v);
function comparable(dir: string, name: string): Record<string, ObjectValue> {
  return JSON.parse(JSON.stringify(Object.fromEntries(stateOf(dir).resources.map((r) => [
    `${r.type}.${r.name}`,
    KNOWN_DIFFERENCE(Object.fromEntries(Object.entries(r.instances[0]!.attributes).filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => [k, emptyAsNull(v)])) as ObjectValue),
  ]))).replaceAll(name, '<cluster>')) as Record<string, ObjectValue>;
}

terraformTest(test.serial as unknown as typeof test, 'differential: plugin-only and native give the same actions and state, and read each other\'s state with no changes', async (t) => {
  const dirN = tempDir(t, 'eksidp-plugin-');
  const dirP = tempDir(t, 'eksidp-plugin-');
  // The two sides on one emulator, with their own cluster names (diff-n, diff-p).
  const write = (dir: string, name: string, edit: { tag?: string; prefix?: string; version?: string; noConfig?: boolean } = {}) => fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: header,
    provider: { aws: [provider()] },
    resource: {
      aws_eks_cluster: { main: cluster(name, edit.version ?? '1.32', { env: 'local', tier: edit.tag ?? 'one' }) },
      ...(edit.noConfig ? {} : { aws_eks_identity_provider_config: { corp: { cluster_name: '${aws_eks_cluster.main.name}', oidc: [oidc('corp', edit.prefix ?? 'corp:')], tags: { owner: 'identity' } } } }),
    },
  }, null, 2));
  const PLUGIN = { EKSIDP_NATIVE_PROVIDERS: '0' };
  const both = async (argv: string[]) => Promise.all([eksidp([...argv, '--dir', dirN], dirN), eksidp([...argv, '--dir', dirP], dirP, PLUGIN)]);
  const summary = (r: { stdout: string }) => /Resources: .*\./.exec(r.stdout)?.[0] ?? /No changes\./.exec(r.stdout)?.[0];

  write(dirN, 'diff-n');
  write(dirP, 'diff-p');
  const [aN, aP] = await both(['apply', '--auto-approve']);
  t.is(aN.code, 0, out(aN));
  t.is(aP.code, 0, out(aP));
  t.is(summary(aP), summary(aN));
  t.deepEqual(comparable(dirP, 'diff-p'), comparable(dirN, 'diff-n'));

  // Each reads the other's state: plugin over native-written state, native over plugin-written state.
  const [crossN, crossP] = await Promise.all([eksidp(['plan', '--dir', dirN, '--detailed-exitcode'], dirN, PLUGIN), eksidp(['plan', '--dir', dirP, '--detailed-exitcode'], dirP)]);
  t.is(crossN.code, 0, `the plugin sees changes in state the native provider wrote:\n${out(crossN)}`);
  t.is(crossP.code, 0, `the native provider sees changes in state the plugin wrote:\n${out(crossP)}`);

  // A tag and a version (in place) and a prefix (replacement).
  const changed = { tag: 'two', prefix: 'sso:', version: '1.33' };
  write(dirN, 'diff-n', changed);
  write(dirP, 'diff-p', changed);
  const [cN, cP] = await both(['apply', '--auto-approve']);
  t.is(cN.code, 0, out(cN));
  t.is(cP.code, 0, out(cP));
  t.is(summary(cN), 'Resources: 1 added, 1 changed, 1 destroyed.');
  t.is(summary(cP), summary(cN));
  t.deepEqual(comparable(dirP, 'diff-p'), comparable(dirN, 'diff-n'));
  t.is(stateOf(dirP).resources.find((r) => r.type === 'aws_eks_cluster')!.instances[0]!.attributes.version, '1.33');

  // A delete: the config leaves the stack. (Destroying the cluster through the plugin works too, but
  // hashicorp/aws waits for three consecutive not-found reads with back-off: over a minute, beyond
  // this file's time budget.)
  write(dirN, 'diff-n', { ...changed, noConfig: true });
  write(dirP, 'diff-p', { ...changed, noConfig: true });
  const [dN, dP] = await both(['apply', '--auto-approve']);
  t.is(dN.code, 0, out(dN));
  t.is(dP.code, 0, out(dP));
  t.is(summary(dN), 'Resources: 0 added, 0 changed, 1 destroyed.');
  t.is(summary(dP), summary(dN));
  t.deepEqual(comparable(dirP, 'diff-p'), comparable(dirN, 'diff-n'));
  const configs = (em.snapshot() as { clusters: { name: string; configs: unknown[] }[] }).clusters.filter((c) => c.name.startsWith('diff-')).map((c) => c.configs);
  t.deepEqual(configs, [[], []]);

  // Real Terraform reads both states, the native provider's and the plugin's, with no changes.
  const tfPlans = await Promise.all([dirN, dirP].map(async (dir) => {
    const init = await tf(dir, ['init']);
    return init.code === 0 ? tf(dir, ['plan', '-detailed-exitcode']) : init;
  }));
  for (const [i, r] of tfPlans.entries()) t.is(r.code, 0, `Terraform sees changes in the state ${i === 0 ? 'the native provider' : 'the plugin'} wrote:\n${out(r)}`);

  // Destroy, both ways at once (hashicorp/aws waits for three not-found reads with back-off: about a
  // minute of this test's wall time, the native side seconds).
  const [xN, xP] = await both(['destroy', '--auto-approve']);
  t.is(xN.code, 0, out(xN));
  t.is(xP.code, 0, out(xP));
  t.regex(xP.stdout, /Destroy complete! Resources: 1 destroyed\./);
  t.regex(xN.stdout, /Destroy complete! Resources: 1 destroyed\./);
  t.deepEqual([stateOf(dirN).resources, stateOf(dirP).resources], [[], []]);
  const left = (em.snapshot() as { clusters: { name: string }[] }).clusters.filter((c) => c.name.startsWith('diff-'));
  t.deepEqual(left, []);
  noPluginLeft(t);
});

terraformTest(test.serial as unknown as typeof test, 'the plugin killed mid-apply: a clear error naming the provider, state keeps what completed, the next apply converges', async (t) => {
  // Updates that take long enough to kill the plugin while it waits for one.
  const slow = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 2500 });
  t.teardown(() => slow.close());
  const dir = tempDir(t, 'eksidp-plugin-');
  const write = (version: string) => fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: header,
    provider: { aws: [provider()] },
    resource: { aws_eks_cluster: { a: cluster('fault-a', version, {}), b: { ...cluster('fault-b', version, {}), depends_on: ['aws_eks_cluster.a'] } } },
  }, null, 2));
  const PLUGIN = { EKSIDP_NATIVE_PROVIDERS: '0', ...endpoints(slow.url) };
  write('1.31');
  const created = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir, PLUGIN);
  t.is(created.code, 0, out(created));

  write('1.32');
  const before = startedPids.length;
  const applying = eksidp(['apply', '--dir', dir, '--auto-approve'], dir, PLUGIN);
  // a's version update has finished once b's starts: kill the plugin while it waits for b's.
  await until('the update of fault-b to start', () => slow.updates().some((u) => u.clusterName === 'fault-b'), 120_000);
  const pid = startedPids[startedPids.length - 1]!;
  t.true(startedPids.length > before);
  process.kill(pid, 'SIGKILL');
  const failed = await applying;
  t.is(failed.code, 1, out(failed));
  // A legacy-SDK resource read back with [] and {} where apply recorded null has not changed.
  t.notRegex(failed.stdout, /changed outside/);
  t.regex(failed.stdout + failed.stderr, /aws_eks_cluster\.b.*provider registry\.terraform\.io\/hashicorp\/aws \(plugin [^)]*terraform-provider-aws[^)]*\).*the plugin process exited \(SIGKILL\)/s);
  const versions = () => Object.fromEntries(stateOf(dir).resources.map((r) => [r.name, r.instances[0]!.attributes.version]));
  t.deepEqual(versions(), { a: '1.32', b: '1.31' }, 'state keeps the update that completed');

  // Once EKS has finished b's update, the next apply converges (refresh finds it done).
  await until('EKS to finish the update of fault-b', () => !slow.updates().some((u) => u.status === 'InProgress'));
  const again = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir, PLUGIN);
  t.is(again.code, 0, out(again));
  t.deepEqual(versions(), { a: '1.32', b: '1.32' });
  const plan = await eksidp(['plan', '--dir', dir, '--detailed-exitcode'], dir, PLUGIN);
  t.is(plan.code, 0, out(plan));
  noPluginLeft(t);
});

/** Processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch { /* gone */ }
  }
  return out;
}

terraformTest(test.serial as unknown as typeof test, 'Ctrl-C while the real eksidp binary runs a plugin: eksidp stops and no plugin process is left', async (t) => {
  const dir = tempDir(t, 'eksidp-plugin-');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: header,
    provider: { aws: [provider()] },
    data: { aws_iam_policy_document: { trust: { statement: [{ actions: ['sts:AssumeRole'] }] } } },
  }));
  let plugin: number | undefined;
  const run = await cli(dir, ['plan', '--dir', dir], {
    env: { TF_CLI_CONFIG_FILE: terraformCliConfig(), EKSIDP_CACHE_DIR: cacheDir },
    onSpawn: (child) => {
      const poll = setInterval(() => {
        const p = childrenOf(child.pid!).find((c) => c.cmd.includes('terraform-provider-aws'));
        if (!p) return;
        clearInterval(poll);
        plugin = p.pid;
        // Two signals sent at once may arrive as one: the second comes a moment later, if still needed.
        child.kill('SIGINT');
        setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGINT'), 300);
      }, 20);
      child.once('exit', () => clearInterval(poll));
    },
  });
  t.truthy(plugin, `the plugin never started:\n${run.stdout}\n${run.stderr}`);
  // Stopped gracefully (exit 1, "plan interrupted") or at once by the second Ctrl-C (130).
  t.true(run.code === 1 || run.code === 130, `${run.code}: ${run.stderr}`);
  t.regex(run.stderr, /Interrupt received/);
  // Killed at exit: gone (or a zombie waiting for its new parent to reap it) within moments.
  const gone = () => {
    try { return /^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${plugin}/stat`, 'utf8')); } catch { return true; }
  };
  await until(`plugin process ${plugin} to be gone after eksidp exited`, gone, 3000);
  t.true(gone());
});
