import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { DescribeClusterCommand, EKSClient, ListClustersCommand, TagResourceCommand } from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import { sdkClient } from './fixtures/drift/fleet';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Terraform as the oracle for default_tags, ignore_tags and provider aliases: the same stack (one
 * default configuration, one `west` alias, each with its own default_tags) planned by terraform 1.11
 * + hashicorp/aws 5.100 and by eksidp has the same actions, tags and tags_all per resource, from
 * nothing and after a change of default_tags and tags; after either tool applies, the other plans
 * no changes (but for the update the provider plans forever when a resource's own tags name a key
 * under ignore_tags: both tools plan it); live tags under ignore_tags are invisible to both. Each tool works on its own objects
 * (name prefixes `tf` and `ek`) in one emulator.
 */

type Json = Record<string, unknown>;
type Step = 0 | 1;

/** No `endpoints` block (it costs the provider ~9 s of CPU per configuration and run): AWS_ENDPOINT_URL_EKS gives it, to both tools. */
function stack(prefix: string, step: Step): Json {
  const base = {
    access_key: 'test', secret_key: 'test', skip_credentials_validation: true, skip_requesting_account_id: true,
    skip_metadata_api_check: true,
  };
  const ignore = [{ keys: ['ignored'], key_prefixes: ['kubernetes.io/'] }];
  const cluster = (name: string, tags: Record<string, string> | undefined, extra: Json = {}) => ({
    name: `${prefix}-${name}`, role_arn: 'arn:aws:iam::000000000000:role/eks', version: '1.32',
    vpc_config: [{ subnet_ids: ['subnet-a', 'subnet-b'] }], ...(tags ? { tags } : {}), ...extra,
  });
  const oidc = (name: string, issuer = `https://${name}.example.com`) => [{ client_id: 'kubernetes', identity_provider_config_name: name, issuer_url: issuer }];
  return {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: {
      aws: [
        { ...base, region: 'us-east-1', default_tags: [{ tags: step === 0 ? { env: 'prod', owner: 'platform' } : { env: 'staging', cost: '1' } }], ignore_tags: ignore },
        { ...base, alias: 'west', region: 'us-west-2', default_tags: [{ tags: { env: 'west' } }], ignore_tags: ignore },
      ],
    },
    resource: {
      aws_eks_cluster: {
        none: cluster('none', undefined),
        own: cluster('own', { team: step === 0 ? 'a' : 'a2' }),
        dup: cluster('dup', { env: 'prod' }),
        override: cluster('override', { env: 'dev' }),
        empty: cluster('empty', { note: '' }),
        ignored: cluster('ignored', { ignored: 'x', team: 'b' }),
        west: cluster('west', { team: 'w' }, { provider: 'aws.west' }),
      },
      aws_eks_identity_provider_config: {
        // Step 1 replaces it (a new issuer): tags_all as on create.
        own: { cluster_name: '${aws_eks_cluster.own.name}', oidc: oidc('okta', step === 0 ? 'https://okta.example.com' : 'https://okta2.example.com'), tags: { team: 'a' } },
        west: { provider: 'aws.west', cluster_name: '${aws_eks_cluster.west.name}', oidc: oidc('west') },
      },
    },
  };
}

type ResourceChange = { address: string; change: { actions: string[]; before: Json | null; after: Json | null; after_unknown: Json | boolean } };

/** Per resource: actions, and tags / tags_all before and after (`(unknown)` when known only after apply). */
function tagsView(planJson: string): Record<string, unknown> {
  const plan = JSON.parse(planJson) as { resource_changes: ResourceChange[] };
  const out: Record<string, unknown> = {};
  for (const c of plan.resource_changes) {
    const unknown = typeof c.change.after_unknown === 'object' ? c.change.after_unknown : {};
    const after = (k: string) => (unknown[k] === true ? '(unknown)' : c.change.after?.[k] ?? null);
    const empty = (v: unknown) => (v && typeof v === 'object' && Object.keys(v).length === 0 ? null : v);
    out[c.address] = {
      actions: c.change.actions.join(','),
      before: c.change.before ? { tags: empty(c.change.before.tags), tags_all: empty(c.change.before.tags_all) } : null,
      after: c.change.after ? { tags: empty(after('tags')), tags_all: empty(after('tags_all')) } : null,
    };
  }
  return out;
}

/** Per resource in state: tags and tags_all (null and {} alike). */
function stateTags(dir: string): Record<string, unknown> {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')) as { resources: { mode: string; type: string; name: string; provider: string; instances: { attributes: Json }[] }[] };
  const empty = (v: unknown) => (v && typeof v === 'object' && Object.keys(v).length === 0 ? null : v ?? null);
  return Object.fromEntries(state.resources.filter((r) => r.mode === 'managed').map((r) => [`${r.type}.${r.name}`, {
    provider: r.provider, tags: empty(r.instances[0]!.attributes.tags), tags_all: empty(r.instances[0]!.attributes.tags_all),
  }]));
}

const endpointEnv = (url: string): NodeJS.ProcessEnv => ({ AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_EKS: url, AWS_ENDPOINT_URL: '' });

async function eksidp(argv: string[], cwd: string, url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(cwd, { EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200', ...endpointEnv(url) });
  const code = await runCommand([...argv, '--dir', cwd], io);
  return { code, stdout: io.out(), stderr: io.err() };
}

const tf = (dir: string, args: string[], url: string): Promise<TfResult> => terraform(dir, [...args, '-input=false', '-no-color'], endpointEnv(url));
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;

terraformTest(test, 'default_tags, ignore_tags and an alias: same actions, tags and tags_all as Terraform; each tool plans no changes on the other\'s state', async (t) => {
  t.timeout(10 * 60_000);
  const em = await startEmulator({ port: 0, clusterCreateMs: 50, clusterDeleteMs: 50, updateMs: 50 });
  t.teardown(() => em.close());
  const keep = process.env.EKSIDP_KEEP_TF_DIR === '1';
  const mk = (name: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `eksidp-tags-${name}-`));
    if (keep) t.log(`kept: ${d}`);
    else t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
    return d;
  };
  const tfDir = mk('tf');
  const ekDir = mk('ek');
  const write = (step: Step) => {
    fs.writeFileSync(path.join(tfDir, 'cdk.tf.json'), JSON.stringify(stack('tf', step), null, 1));
    fs.writeFileSync(path.join(ekDir, 'cdk.tf.json'), JSON.stringify(stack('ek', step), null, 1));
  };
  const tfPlanJson = async (dir: string, what: string) => {
    const plan = await tf(dir, ['plan', '-out=p.plan'], em.url);
    t.is(plan.code, 0, `terraform plan (${what}):\n${out(plan)}`);
    return (await terraform(dir, ['show', '-json', 'p.plan'])).stdout;
  };
  const ekPlanJson = async (dir: string, what: string) => {
    const plan = await eksidp(['plan', '--json'], dir, em.url);
    t.is(plan.code, 0, `eksidp plan (${what}):\n${out(plan)}`);
    return plan.stdout;
  };
  // Terraform applies the plan just compared with eksidp's (p.plan of `plans`): no second plan walk.
  const tfApplySaved = () => terraform(tfDir, ['apply', '-input=false', '-no-color', 'p.plan'], endpointEnv(em.url));
  const plans = async (what: string) => {
    const [ek, tfv] = await Promise.all([ekPlanJson(ekDir, what), tfPlanJson(tfDir, what)]);
    t.deepEqual(tagsView(ek), tagsView(tfv), `${what}: eksidp's plan differs from Terraform's`);
  };
  // After either tool applied, both tools plan the same on its state: no changes, except the update
  // hashicorp/aws plans forever for a configured tag under ignore_tags (read drops it, config has it).
  const crossPlans = async (what: string) => {
    // Both folders at once (each plan only reads); eksidp's in-process plans run while terraform's do.
    const views = await Promise.all([tfDir, ekDir].map(async (dir) => {
      const [ek, tfv] = await Promise.all([ekPlanJson(dir, what), tfPlanJson(dir, what)]);
      return { dir, ek: tagsView(ek), tfv: tagsView(tfv) };
    }));
    for (const { dir, ek, tfv } of views) {
      t.deepEqual(ek, tfv, `${what}: the two tools plan differently on ${dir === tfDir ? 'Terraform' : 'eksidp'}'s state`);
      const changed = Object.entries(tfv).filter(([, v]) => (v as { actions: string }).actions !== 'no-op').map(([a]) => a);
      t.deepEqual(changed, ['aws_eks_cluster.ignored'], `${what}: only the perpetual diff of a configured ignored tag`);
    }
    t.deepEqual(stateTags(ekDir), stateTags(tfDir), `${what}: tags and tags_all in state differ`);
  };

  write(0);
  const [i1, i2] = await Promise.all([tf(tfDir, ['init'], em.url), tf(ekDir, ['init'], em.url)]);
  t.is(i1.code + i2.code, 0, i1.stderr + i2.stderr);
  await plans('from nothing');
  const [tfApply, ekApply] = await Promise.all([tfApplySaved(), eksidp(['apply', '--auto-approve'], ekDir, em.url)]);
  t.is(tfApply.code, 0, out(tfApply));
  t.is(ekApply.code, 0, out(ekApply));
  // Create requests carry the merged tags: default_tags under the resource's, ignored keys included.
  // Clusters live per region: the alias's are in us-west-2.
  const eks = sdkClient(em.url);
  const eksWest = new EKSClient({ endpoint: em.url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  t.teardown(() => { eks.destroy(); eksWest.destroy(); });
  const live = async (name: string) => (await (name.endsWith('-west') ? eksWest : eks).send(new DescribeClusterCommand({ name }))).cluster!;
  for (const p of ['tf', 'ek']) {
    t.deepEqual((await live(`${p}-override`)).tags, { env: 'dev', owner: 'platform' }, p);
    t.deepEqual((await live(`${p}-ignored`)).tags, { env: 'prod', owner: 'platform', ignored: 'x', team: 'b' }, p);
    t.deepEqual((await live(`${p}-west`)).tags, { env: 'west', team: 'w' }, p);
  }
  await crossPlans('after apply');

  // Tags set outside under ignore_tags are invisible to both tools (in the next plans' before and after).
  for (const client of [eks, eksWest]) {
    for (const name of (await client.send(new ListClustersCommand({}))).clusters ?? []) {
      await client.send(new TagResourceCommand({ resourceArn: (await live(name)).arn, tags: { 'kubernetes.io/cluster/x': 'owned', ignored: 'live' } }));
    }
  }
  t.is((await eksWest.send(new ListClustersCommand({}))).clusters?.length, 2, 'the alias\'s clusters are in its region');

  write(1);
  await plans('after default_tags and tags change');
  const [tfApply2, ekApply2] = await Promise.all([tfApplySaved(), eksidp(['apply', '--auto-approve'], ekDir, em.url)]);
  t.is(tfApply2.code, 0, out(tfApply2));
  t.is(ekApply2.code, 0, out(ekApply2));
  for (const p of ['tf', 'ek']) {
    t.deepEqual((await live(`${p}-own`)).tags, { env: 'staging', cost: '1', team: 'a2', 'kubernetes.io/cluster/x': 'owned', ignored: 'live' }, `${p}: the ignored live tags stay, owner is gone`);
  }
  await crossPlans('after the second apply');
});
