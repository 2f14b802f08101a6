import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator/index';
import type { ObjectValue, Path, Provider } from '../engine/protocol';
import { createEksProvider } from '../providers/eks/index';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * The oracle: real terraform 1.11 + hashicorp/aws 5.100 against the emulator. One apply creates one
 * resource per case (so all cases cost one plan), then for each attribute change we compare our
 * planResourceChange (actions, requiresReplace) with Terraform's JSON plan (actions, replace_paths),
 * from the same prior state (Terraform's own state file). Also: we read Terraform's state with no
 * diff, and Terraform reads the state we write with no diff.
 */

type Json = Record<string, unknown>;
type Change = (r: ObjectValue) => void;
const block = (r: ObjectValue, k: string) => (r[k] as ObjectValue[])[0];

const CLUSTER_CASES: Record<string, Change> = {
  name: (r) => (r.name = `${String(r.name)}-renamed`),
  role_arn: (r) => (r.role_arn = 'arn:aws:iam::000000000000:role/other'),
  version: (r) => (r.version = '1.32'),
  subnet_ids: (r) => (block(r, 'vpc_config').subnet_ids = ['subnet-a', 'subnet-c']),
  endpoint_public_access: (r) => (block(r, 'vpc_config').endpoint_public_access = false),
  public_access_cidrs: (r) => (block(r, 'vpc_config').public_access_cidrs = ['10.0.0.0/8']),
  tags: (r) => (r.tags = { team: 'b' }),
  service_ipv4_cidr: (r) => (block(r, 'kubernetes_network_config').service_ipv4_cidr = '10.200.0.0/16'),
  authentication_mode: (r) => (block(r, 'access_config').authentication_mode = 'API'),
  enabled_cluster_log_types: (r) => (r.enabled_cluster_log_types = ['api', 'audit']),
  bootstrap_self_managed_addons: (r) => (r.bootstrap_self_managed_addons = false),
  security_group_ids: (r) => (block(r, 'vpc_config').security_group_ids = ['sg-1']),
  endpoint_private_access: (r) => (block(r, 'vpc_config').endpoint_private_access = true),
  ip_family: (r) => (block(r, 'kubernetes_network_config').ip_family = 'ipv6'),
  upgrade_policy: (r) => (r.upgrade_policy = [{ support_type: 'STANDARD' }]),
  encryption_config: (r) => (r.encryption_config = [{ resources: ['secrets'], provider: [{ key_arn: 'arn:aws:kms:us-east-1:000000000000:key/k' }] }]),
  bootstrap_admin_false: (r) => (block(r, 'access_config').bootstrap_cluster_creator_admin_permissions = false),
  bootstrap_admin_true: (r) => (block(r, 'access_config').bootstrap_cluster_creator_admin_permissions = true),
};

const IDP_CASES: Record<string, Change> = {
  client_id: (r) => (block(r, 'oidc').client_id = 'other'),
  issuer_url: (r) => (block(r, 'oidc').issuer_url = 'https://other.example.com'),
  username_prefix: (r) => (block(r, 'oidc').username_prefix = 'o:'),
  required_claims: (r) => (block(r, 'oidc').required_claims = { aud: 'x' }),
  tags: (r) => (r.tags = { team: 'b' }),
  untag: (r) => (r.tags = null),
  groups_claim: (r) => (block(r, 'oidc').groups_claim = 'groups'),
  identity_provider_config_name: (r) => (block(r, 'oidc').identity_provider_config_name = 'okta2'),
  cluster_name: (r) => (r.cluster_name = 'elsewhere'),
};

const clusterBase = (name: string): ObjectValue => ({
  name,
  role_arn: 'arn:aws:iam::000000000000:role/eks',
  version: '1.31',
  vpc_config: [{ subnet_ids: ['subnet-a', 'subnet-b'], endpoint_public_access: true }],
  tags: { team: 'a' },
  kubernetes_network_config: [{ service_ipv4_cidr: '10.100.0.0/16' }],
  access_config: [{ authentication_mode: 'API_AND_CONFIG_MAP' }],
  enabled_cluster_log_types: ['api'],
});

const idpBase = (cluster: string): ObjectValue => ({
  cluster_name: cluster,
  oidc: [{ client_id: 'kubernetes', identity_provider_config_name: 'okta', issuer_url: 'https://okta.example.com', username_prefix: 'okta:', required_claims: { aud: 'kube' } }],
  tags: { team: 'a' },
});

function stack(endpoint: string, change: boolean): Json {
  const clusters: Record<string, ObjectValue> = {};
  const idps: Record<string, ObjectValue> = {};
  for (const [k, f] of Object.entries(CLUSTER_CASES)) {
    const r = clusterBase(`c-${k.replace(/_/g, '-')}`);
    if (change) f(r);
    clusters[`c_${k}`] = r;
  }
  for (const [k, f] of Object.entries(IDP_CASES)) {
    const host = `i-${k.replace(/_/g, '-')}`;
    clusters[`host_${k}`] = clusterBase(host);
    const r = idpBase(host);
    if (change) f(r);
    idps[`i_${k}`] = { ...r, depends_on: [`aws_eks_cluster.host_${k}`] };
  }
  return {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: {
      aws: [
        {
          region: 'us-east-1',
          access_key: 'test',
          secret_key: 'test',
          skip_credentials_validation: true,
          skip_requesting_account_id: true,
          skip_metadata_api_check: true,
          endpoints: [{ eks: endpoint }],
        },
      ],
    },
    resource: { aws_eks_cluster: clusters, aws_eks_identity_provider_config: idps },
  };
}

/** The resource's config as the engine hands it to the provider (no meta-arguments). */
function configOf(s: Json, type: string, name: string): ObjectValue {
  const r = { ...((s.resource as Json)[type] as Record<string, ObjectValue>)[name] };
  delete r.depends_on;
  return r;
}

type TfState = { resources: { mode: string; type: string; name: string; instances: { attributes: ObjectValue }[] }[] };
type TfPlan = { resource_changes: { address: string; type: string; name: string; change: { actions: string[]; replace_paths?: Path[] } }[] };

function ours(p: Provider, type: string, name: string, prior: ObjectValue, config: ObjectValue): { actions: string[]; replace: Path[] } {
  const r = p.planResourceChange({ typeName: type, address: `${type}.${name}`, priorState: prior, proposedNewState: config, config });
  t_assertNoErrors(r.diagnostics);
  if (r.requiresReplace.length) return { actions: ['delete', 'create'], replace: sortPaths(r.requiresReplace) };
  return { actions: [JSON.stringify(r.plannedState) === JSON.stringify(prior) ? 'no-op' : 'update'], replace: [] };
}

function t_assertNoErrors(d: { severity: string; summary: string }[]): void {
  const errs = d.filter((x) => x.severity === 'error');
  if (errs.length) throw new Error(errs.map((e) => e.summary).join('\n'));
}

/** A value's form: which attributes, and null / "" / [] / {} / booleans exactly, other strings as "string". */
function signature(v: unknown): unknown {
  if (v === null || v === '' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (Array.isArray(v)) return v.map(signature);
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, signature(x)]));
}

const sortPaths = (ps: Path[]) => [...ps].map((p) => JSON.stringify(p)).sort().map((s) => JSON.parse(s) as Path);

terraformTest(test, 'plan actions and replace paths match terraform + hashicorp/aws 5.100 for each attribute change', async (t) => {
  t.timeout(6 * 60_000);
  const emu = await startEmulator({ port: 0, clusterCreateMs: 10, clusterDeleteMs: 10, updateMs: 10 });
  t.teardown(() => emu.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-diff-'));
  // EKSIDP_KEEP_TF_DIR=1 keeps the folder (state, plans) for a look after a failure.
  if (process.env.EKSIDP_KEEP_TF_DIR === '1') t.log(`terraform folder kept: ${dir}`);
  else t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (s: Json) => fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(s, null, 1));
  const run = async (args: string[]) => {
    const r = await terraform(dir, args);
    if (r.code !== 0 && !(args[0] === 'plan' && r.code === 2)) t.fail(`terraform ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout.slice(-3000)}`);
    return r;
  };

  const base = stack(emu.url, false);
  write(base);
  await run(['init', '-input=false', '-no-color']);
  await run(['apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=20']);
  const tfState = JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')) as TfState & Json;

  const p = createEksProvider({ pollInitialMs: 5, pollMaxMs: 50 });
  t.teardown(() => p.close?.());
  t_assertNoErrors((await p.configure({ config: (base.provider as { aws: ObjectValue[] }).aws[0], env: {} })).diagnostics);

  // Terraform's state read by us: the unchanged config plans no-op, and a refresh changes nothing.
  const ourStates = new Map<string, ObjectValue>();
  for (const r of tfState.resources.filter((x) => x.mode === 'managed')) {
    const prior = r.instances[0].attributes;
    const cfg = configOf(base, r.type, r.name);
    t.deepEqual(ours(p, r.type, r.name, prior, cfg), { actions: ['no-op'], replace: [] }, `${r.type}.${r.name}: no diff on Terraform's state`);
    const read = await p.readResource({ typeName: r.type, address: `${r.type}.${r.name}`, priorState: prior });
    t.deepEqual(read.diagnostics, []);
    t.deepEqual(ours(p, r.type, r.name, read.newState!, cfg), { actions: ['no-op'], replace: [] }, `${r.type}.${r.name}: no diff after our refresh`);
    ourStates.set(`${r.type}.${r.name}`, read.newState!);
  }

  // What we store after creating the same objects has Terraform's shape: same attributes, and the
  // same choice between null, "", [] and {} everywhere (only names, ids and timestamps differ).
  const created: Record<string, ObjectValue> = {};
  for (const [type, cfg] of [
    ['aws_eks_cluster', clusterBase('ours')],
    ['aws_eks_identity_provider_config', idpBase('ours')],
  ] as [string, ObjectValue][]) {
    const planned = p.planResourceChange({ typeName: type, address: `${type}.ours`, priorState: null, proposedNewState: cfg, config: cfg });
    const res = await p.applyResourceChange({
      typeName: type, address: `${type}.ours`, priorState: null, plannedState: planned.plannedState, config: cfg,
      timeouts: {}, idempotencyToken: `diff-${type}`, progress: () => {},
    });
    t.deepEqual(res.diagnostics, []);
    created[type] = res.newState!;
  }
  const tfCluster = tfState.resources.find((r) => r.type === 'aws_eks_cluster' && r.name === 'c_tags')!.instances[0].attributes;
  const tfIdp = tfState.resources.find((r) => r.type === 'aws_eks_identity_provider_config' && r.name === 'i_client_id')!.instances[0].attributes;
  t.deepEqual(signature(created.aws_eks_cluster), signature(tfCluster), 'cluster state shape differs from Terraform\'s');
  t.deepEqual(signature(created.aws_eks_identity_provider_config), signature(tfIdp), 'identity provider config state shape differs from Terraform\'s');

  // The changed configuration, planned by Terraform from its state and by us from the same prior.
  const changed = stack(emu.url, true);
  write(changed);
  await run(['plan', '-refresh=false', '-input=false', '-no-color', '-out=changed.plan']);
  const plan = JSON.parse((await run(['show', '-json', 'changed.plan'])).stdout) as TfPlan;
  const tfChanges = new Map(plan.resource_changes.map((c) => [c.address, c.change]));
  const rows: string[] = [];
  for (const r of tfState.resources.filter((x) => x.mode === 'managed')) {
    const address = `${r.type}.${r.name}`;
    const theirs = tfChanges.get(address);
    t.truthy(theirs, address);
    const expected = { actions: theirs!.actions, replace: sortPaths(theirs!.replace_paths ?? []) };
    const got = ours(p, r.type, r.name, r.instances[0].attributes, configOf(changed, r.type, r.name));
    t.deepEqual(got, expected, `${address}: our plan differs from Terraform's`);
    rows.push(`${address}: ${expected.actions.join(',')} ${JSON.stringify(expected.replace)}`);
  }
  t.log(rows.join('\n'));
  t.true(rows.some((r) => r.includes('delete,create')) && rows.some((r) => r.includes('update')), 'the table covers both replacements and in-place updates');

  // The state we write, read by Terraform: the base configuration plans no changes.
  for (const r of tfState.resources) if (r.mode === 'managed') r.instances[0].attributes = ourStates.get(`${r.type}.${r.name}`)!;
  (tfState as Json).serial = Number((tfState as Json).serial) + 1;
  fs.writeFileSync(path.join(dir, 'terraform.tfstate'), JSON.stringify(tfState, null, 1));
  write(base);
  const again = await run(['plan', '-refresh=false', '-input=false', '-no-color', '-detailed-exitcode']);
  t.is(again.code, 0, `Terraform sees changes in the state we wrote:\n${again.stdout.slice(-4000)}`);
});
