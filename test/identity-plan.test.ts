import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';

/**
 * The identity preview in `eksidp plan` / `eksidp show`, with the real EKS provider against the
 * embedded emulator: sample identities from `//` metadata (or --identities), before → after for
 * replaced, created and removed configs, and RBAC warnings from the cluster's bindings.
 */

const run = runCommand;
const io = (cwd: string) => captureIo(cwd, { EKSIDP_POLL_INITIAL_MS: '20', EKSIDP_POLL_MAX_MS: '50' });

type Oidc = Record<string, unknown>;

const samples = [
  { name: 'alice', claims: { email: 'alice@example.com', email_verified: true, hd: 'example.com', groups: ['admins', 'eng'] } },
  { name: 'bob', claims: { email: 'bob@example.com', email_verified: true, groups: ['eng'] } },
];

const okta: Oidc = {
  identity_provider_config_name: 'okta', issuer_url: 'https://idp.example.com', client_id: 'k8s',
  username_claim: 'email', username_prefix: 'oidc:', groups_claim: 'groups', groups_prefix: 'oidc:',
};
const dex: Oidc = {
  identity_provider_config_name: 'dex', issuer_url: 'https://dex.example.com', client_id: 'k8s',
  username_claim: 'sub', username_prefix: 'dex:', groups_claim: 'groups', groups_prefix: 'dex:',
};

function stack(endpoint: string, oktaOidc: Oidc, withDex = true): string {
  const configs: Record<string, unknown> = {
    okta: { '//': { eksidp: { sample_identities: samples } }, cluster_name: '${aws_eks_cluster.main.name}', oidc: [oktaOidc] },
  };
  if (withDex) configs.dex = { cluster_name: '${aws_eks_cluster.main.name}', depends_on: ['aws_eks_identity_provider_config.okta'], oidc: [dex] };
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: [{ region: 'us-east-1', access_key: 'x', secret_key: 'x', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, endpoints: [{ eks: endpoint }] }] },
    resource: {
      aws_eks_cluster: {
        main: {
          '//': { eksidp: { rbac_bindings: [
            { role: 'cluster-admin', kind: 'ClusterRole', groups: ['oidc:admins', 'system:masters'] },
            { role: 'edit', kind: 'ClusterRole', groups: ['oidc:eng', 'dex:eng'] },
          ] } },
          name: 'idp-plan', version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-0aaa1111'] }],
        },
      },
      aws_eks_identity_provider_config: configs,
    },
  }, null, 2);
}

/** The `#` lines under one resource's change in the human plan. */
function detailLines(out: string, address: string): string[] {
  const start = out.indexOf(`# ${address} `);
  if (start < 0) return [];
  const rest = out.slice(start).split('\n').slice(1);
  const end = rest.findIndex((l) => l.startsWith('  # aws_') || l.startsWith('Plan:'));
  return rest.slice(0, end < 0 ? undefined : end).filter((l) => l.startsWith('  #') && !l.includes('# (') && !l.includes('# Note:')).map((l) => l.trim());
}

test('plan previews sample identities and RBAC for created, replaced and removed configs; show renders the saved plan the same', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 20, clusterDeleteMs: 20, updateMs: 20 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-identity-plan-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cdk.tf.json');
  const OKTA = 'aws_eks_identity_provider_config.okta';

  // Create: every identity is new; nothing wrong with the bindings (dex:eng comes from the dex config).
  fs.writeFileSync(file, stack(em.url, okta));
  let i = io(dir);
  t.is(await run(['plan', '--dir', '.'], i), 0, i.err());
  t.deepEqual(detailLines(i.out(), OKTA), [
    '# Sample identities (username; groups), before → after:',
    '#   + alice: (no config) → oidc:alice@example.com; groups oidc:admins, oidc:eng',
    '#   + bob: (no config) → oidc:bob@example.com; groups oidc:eng',
  ]);
  i = io(dir);
  t.is(await run(['apply', '--dir', '.', '--auto-approve'], i), 0, i.err());

  // A prefix change: usernames and groups move to idp:, bindings still name oidc:, alice loses cluster-admin.
  fs.writeFileSync(file, stack(em.url, { ...okta, username_prefix: 'idp:', groups_prefix: 'idp:' }));
  i = io(dir);
  t.is(await run(['plan', '--dir', '.', '--out', 'prefix.plan'], i), 0, i.err());
  const prefixLines = [
    '# Sample identities (username; groups), before → after:',
    '#   alice: oidc:alice@example.com → idp:alice@example.com; groups oidc:admins, oidc:eng → idp:admins, idp:eng',
    '#   bob: oidc:bob@example.com → idp:bob@example.com; groups oidc:eng → idp:eng',
    '# RBAC bindings of cluster idp-plan:',
    '#   warning: ClusterRole/cluster-admin: group oidc:admins still has the old groups prefix "oidc:"; the config now uses "idp:", so it no longer matches anyone',
    '#   warning: ClusterRole/edit: group oidc:eng still has the old groups prefix "oidc:"; the config now uses "idp:", so it no longer matches anyone',
    '#   warning: alice loses ClusterRole/cluster-admin (had it via group oidc:admins; now maps to idp:alice@example.com, groups idp:admins, idp:eng)',
    '#   warning: alice loses ClusterRole/edit (had it via group oidc:eng; now maps to idp:alice@example.com, groups idp:admins, idp:eng)',
    '#   warning: bob loses ClusterRole/edit (had it via group oidc:eng; now maps to idp:bob@example.com, groups idp:eng)',
  ];
  t.deepEqual(detailLines(i.out(), OKTA), prefixLines);
  // The dex config is not changed, so it has no preview.
  t.deepEqual(detailLines(i.out(), 'aws_eks_identity_provider_config.dex'), []);
  // The saved plan holds data, no rendered text: show derives the same preview from it.
  const saved = fs.readFileSync(path.join(dir, 'prefix.plan'), 'utf8');
  for (const text of ['Sample identities', 'loses ClusterRole', 'OIDC logins', 'idp:alice@example.com']) t.false(saved.includes(text), `the plan file holds no "${text}"`);
  i = io(dir);
  t.is(await run(['show', 'prefix.plan'], i), 0, i.err());
  t.deepEqual(detailLines(i.out(), OKTA), prefixLines);
  t.regex(i.out(), /# Note: OIDC logins to cluster idp-plan fail while config okta is re-associated \(EKS takes 20–40 min\)\./);

  // JSON: Terraform's keys unchanged, the preview under the top-level `eksidp` extension key (plan and show alike).
  for (const argv of [['plan', '--dir', '.', '--json'], ['show', 'prefix.plan', '--json']]) {
    i = io(dir);
    t.is(await run(argv, i), 0, i.err());
    const json = JSON.parse(i.out()) as { format_version: string; resource_changes: { address: string }[]; eksidp: { identity_changes: Array<Record<string, unknown>> } };
    t.is(json.format_version, '1.2');
    t.true(json.resource_changes.some((r) => r.address === OKTA));
    t.is(json.eksidp.identity_changes.length, 1);
    const ic = json.eksidp.identity_changes[0]!;
    t.is(ic.address, OKTA);
    t.deepEqual(ic.actions, ['delete', 'create']);
    t.deepEqual((ic.identities as Array<Record<string, unknown>>)[0], {
      name: 'alice',
      before: { accepted: true, username: 'oidc:alice@example.com', groups: ['oidc:admins', 'oidc:eng'] },
      after: { accepted: true, username: 'idp:alice@example.com', groups: ['idp:admins', 'idp:eng'] },
      changed: true, rejected: false, loses_all_groups: false, lost_groups: ['oidc:admins', 'oidc:eng'], gained_groups: ['idp:admins', 'idp:eng'],
    });
    t.deepEqual((ic.binding_findings as Array<{ code: string; subject?: string; identity?: string }>).map((f) => [f.code, f.subject ?? f.identity]), [
      ['old-group-prefix', 'oidc:admins'], ['old-group-prefix', 'oidc:eng'], ['identity-loses-role', 'alice'], ['identity-loses-role', 'alice'], ['identity-loses-role', 'bob'],
    ]);
  }

  // A required claim and a new groups claim: bob (no hd) is rejected, alice keeps in but loses every group.
  fs.writeFileSync(file, stack(em.url, { ...okta, groups_claim: 'roles', required_claims: { hd: 'example.com' } }));
  i = io(dir);
  t.is(await run(['plan', '--dir', '.'], i), 0, i.err());
  t.deepEqual(detailLines(i.out(), OKTA), [
    '# Sample identities (username; groups), before → after:',
    '#   ! alice: oidc:alice@example.com; groups oidc:admins, oidc:eng → (none) (loses all groups)',
    '#   ! bob: rejected after the change (required claim hd=example.com missing)',
    '# RBAC bindings of cluster idp-plan:',
    '#   warning: alice loses ClusterRole/cluster-admin (had it via group oidc:admins; now maps to oidc:alice@example.com, groups (none))',
    '#   warning: alice loses ClusterRole/edit (had it via group oidc:eng; now maps to oidc:alice@example.com, groups (none))',
    '#   warning: bob is rejected (required claim hd=example.com missing); loses ClusterRole/edit',
  ]);

  // Removing a config: --identities supplies identities (the removed resource has no metadata left),
  // and a binding subject only that config produced is named.
  fs.writeFileSync(file, stack(em.url, okta, false));
  fs.writeFileSync(path.join(dir, 'ids.json'), JSON.stringify([{ name: 'dana', claims: { sub: 'dana', groups: ['eng'] } }]));
  i = io(dir);
  t.is(await run(['plan', '--dir', '.', '--identities', 'ids.json', '--json'], i), 0, i.err());
  const removed = (JSON.parse(i.out()) as { eksidp: { identity_changes: Array<Record<string, unknown>> } }).eksidp.identity_changes;
  t.deepEqual(removed.map((c) => c.address), ['aws_eks_identity_provider_config.dex']);
  t.like((removed[0]!.identities as unknown[])[0], { name: 'dana', before: { accepted: true, username: 'dex:dana' }, after: null, rejected: true });
  t.deepEqual((removed[0]!.binding_findings as Array<{ code: string; subject?: string; identity?: string }>).map((f) => [f.code, f.subject ?? f.identity]), [
    ['old-group-prefix', 'dex:eng'], ['identity-loses-role', 'dana'],
  ]);

  // destroy shows the plan with the same preview as `plan --destroy`, before it asks (here nobody can answer: nothing is destroyed).
  i = io(dir);
  t.is(await run(['plan', '--dir', '.', '--destroy'], i), 0, i.err());
  const destroyLines = detailLines(i.out(), OKTA);
  t.deepEqual(destroyLines, [
    '# Sample identities (username; groups), before → after:',
    '#   ! alice: rejected after the change (the config is removed)',
    '#   ! bob: rejected after the change (the config is removed)',
  ]);
  i = io(dir);
  t.is(await run(['destroy', '--dir', '.'], i), 1);
  t.regex(i.err(), /refusing to destroy without confirmation/);
  t.deepEqual(detailLines(i.out(), OKTA), destroyLines);
  t.regex(i.out(), /# Note: OIDC logins to cluster idp-plan through config okta stop working once it is disassociated\./);

  // A malformed --identities file is a usage error naming the entry.
  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify([{ claims: {} }]));
  i = io(dir);
  t.is(await run(['plan', '--dir', '.', '--identities', 'bad.json'], i), 1);
  t.regex(i.err(), /--identities bad\.json\[0\] needs a non-empty string "name"/);
});
