import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { EKSClient } from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorHandle } from '../emulator';
import { sdkClient } from './fixtures/drift/fleet';
import {
  associate, clusterStatus, configStatus, deleteCluster, disassociate, eksidp, retag, writeSpec,
  type ConfigSpec, type DriftJson, type PlanJson, type StackSpec,
} from './fixtures/drift/stacks';
import { until } from './helpers/wait';
import { tempDir } from './helpers/project';

/**
 * `eksidp drift` and `eksidp plan` on the same stack, state and live objects, through the CLI: the
 * two cases of issue 20 (drift said in sync where the plan replaces or updates) and the live
 * statuses of issue 12 (objects EKS is creating, removing, or that FAILED).
 */

type Env = { emu: EmulatorHandle; client: EKSClient; dir: string; spec: StackSpec; close: () => Promise<void> };

const OKTA: ConfigSpec = { key: 'a_okta', cluster: 'a', name: 'okta', issuer: 'https://okta.example.com', clientId: 'eks-a', usernameClaim: 'email', tags: { env: 'test' } };
const CORP: ConfigSpec = { key: 'a_corp', cluster: 'a', name: 'corp', issuer: 'https://corp.example.com', clientId: 'eks-a', groupsClaim: 'groups', groupsPrefix: 'corp:' };
const SPEC: StackSpec = {
  clusters: [{ key: 'a', name: 'agree-a', adopted: false, roleArn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', subnets: ['subnet-1'] }],
  configs: [{ ...OKTA, cluster: 'a' }, { ...CORP, cluster: 'a' }],
};

/** An emulator, the stack applied with eksidp (so there is state), nothing changed yet. */
async function applied(t: ExecutionContext, spec: StackSpec = SPEC, dataDir?: string): Promise<Env> {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0, ...(dataDir ? { dataDir } : {}) });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= emu.close());
  t.teardown(close);
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  const dir = tempDir(t, 'eksidp-agree-');
  writeSpec(dir, spec, emu.url);
  const r = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir);
  t.is(r.code, 0, r.stderr);
  return { emu, client, dir, spec, close };
}

async function drift(e: Env): Promise<{ code: number; report: DriftJson; byAddress: (a: string) => DriftJson['resources'][number] }> {
  const r = await eksidp(['drift', '--dir', e.dir, '--format', 'json'], e.dir);
  const report = JSON.parse(r.stdout) as DriftJson;
  return { code: r.code, report, byAddress: (a) => report.resources.find((x) => x.address === a)! };
}

async function planActions(e: Env): Promise<Record<string, string>> {
  const r = await eksidp(['plan', '--dir', e.dir, '--json'], e.dir);
  if (r.code !== 0) throw new Error(`plan failed: ${r.stderr}`);
  return Object.fromEntries((JSON.parse(r.stdout) as PlanJson).resource_changes.map((c) => [c.address, c.change.actions.join(',')]));
}

test('issue 20 regression: a cluster role_arn edited in the stack is changed with requires_replacement, as the plan replaces it (not in sync)', async (t) => {
  const e = await applied(t);
  writeSpec(e.dir, { ...SPEC, clusters: [{ ...SPEC.clusters[0]!, roleArn: 'arn:aws:iam::000000000000:role/other' }] }, e.emu.url);
  const d = await drift(e);
  t.is(d.code, 2);
  const c = d.byAddress('aws_eks_cluster.a');
  t.is(c.status, 'changed');
  t.deepEqual(c.differences, [{ path: 'role_arn', expected: 'arn:aws:iam::000000000000:role/other', actual: 'arn:aws:iam::000000000000:role/eks', requires_replacement: true }]);
  t.regex(c.fix!, /^replace: /);
  t.is((await planActions(e))['aws_eks_cluster.a'], 'delete,create');
});

test('issue 20 regression: a cluster that declares no tags but has tags live is changed, as the plan removes them in place', async (t) => {
  const e = await applied(t);
  await retag(e.emu.url, 'agree-a', undefined, { owner: 'someone' });
  const d = await drift(e);
  t.is(d.code, 2);
  const c = d.byAddress('aws_eks_cluster.a');
  t.is(c.status, 'changed');
  t.deepEqual(c.differences, [{ path: 'tags.owner', expected: null, actual: 'someone', requires_replacement: false }]);
  t.is((await planActions(e))['aws_eks_cluster.a'], 'update');
});

test('issue 12: a config being disassociated (DELETING) is missing with live_status DELETING, exit 2; plan keeps it, as Terraform does, and says it is being removed', async (t) => {
  const e = await applied(t);
  e.emu.setFaults({ updateMs: 3_600_000 });
  await disassociate(e.emu.url, e.client, 'agree-a', 'okta', false);
  t.is(await configStatus(e.client, 'agree-a', 'okta'), 'DELETING');
  const d = await drift(e);
  t.is(d.code, 2);
  const x = d.byAddress('aws_eks_identity_provider_config.a_okta');
  t.is(x.status, 'missing');
  t.is(x.live_status, 'DELETING');
  t.regex(x.fix!, /being removed outside eksidp \(status DELETING\)/);
  t.is(d.byAddress('aws_eks_identity_provider_config.a_corp').status, 'in_sync');
  t.is(d.report.format_version, '1.1');
  const human = await eksidp(['drift', '--dir', e.dir], e.dir);
  t.regex(human.stdout, /\+ aws_eks_identity_provider_config\.a_okta: missing \(live status DELETING\)/);
  const md = await eksidp(['drift', '--dir', e.dir, '--format', 'markdown'], e.dir);
  t.regex(md.stdout, /<summary><code>aws_eks_identity_provider_config\.a_okta<\/code>: <b>missing<\/b><\/summary>\n\nLive status: `DELETING`\n/);

  const p = await eksidp(['plan', '--dir', e.dir, '--detailed-exitcode'], e.dir);
  t.is(p.code, 0, 'a no-op, as hashicorp/aws 5.100 plans it (test/drift-terraform.test.ts)');
  t.regex(p.stdout, /Warning: aws_eks_identity_provider_config\.a_okta: identity provider config okta of cluster agree-a is being removed outside eksidp \(status DELETING\)/);
  t.regex(p.stdout, /No changes\./);
});

test('issue 12: a config being associated (CREATING) whose values match is in sync with live_status CREATING, exit 0', async (t) => {
  const e = await applied(t);
  await disassociate(e.emu.url, e.client, 'agree-a', 'corp', true);
  e.emu.setFaults({ updateMs: 3_600_000 });
  await associate(e.emu.url, e.client, 'agree-a', CORP, false);
  t.is(await configStatus(e.client, 'agree-a', 'corp'), 'CREATING');
  const d = await drift(e);
  t.is(d.code, 0);
  const x = d.byAddress('aws_eks_identity_provider_config.a_corp');
  t.is(x.status, 'in_sync');
  t.is(x.live_status, 'CREATING');
  t.is(d.byAddress('aws_eks_cluster.a').live_status, 'UPDATING');
  const p = await eksidp(['plan', '--dir', e.dir, '--detailed-exitcode'], e.dir);
  t.is(p.code, 0, p.stdout);
});

test('issue 12: a cluster being deleted (DELETING) is missing, and so are its configs, with live_status DELETING; plan says so', async (t) => {
  const e = await applied(t);
  e.emu.setFaults({ clusterDeleteMs: 3_600_000 });
  await deleteCluster(e.emu.url, e.client, 'agree-a', false);
  t.is(await clusterStatus(e.client, 'agree-a'), 'DELETING');
  const d = await drift(e);
  t.is(d.code, 2);
  for (const a of ['aws_eks_cluster.a', 'aws_eks_identity_provider_config.a_okta', 'aws_eks_identity_provider_config.a_corp']) {
    t.is(d.byAddress(a).status, 'missing', a);
    t.is(d.byAddress(a).live_status, 'DELETING', a);
  }
  const p = await eksidp(['plan', '--dir', e.dir], e.dir);
  t.is(p.code, 0);
  t.regex(p.stdout, /Warning: aws_eks_cluster\.a: cluster agree-a is being deleted outside eksidp \(status DELETING\)/);
});

test('issue 12: a FAILED cluster makes it and its configs missing with live_status FAILED, exit 2; plan says eksidp cannot repair it', async (t) => {
  const data = tempDir(t, 'eksidp-agree-data-');
  const first = await applied(t, SPEC, data);
  await first.close();
  // EKS's own failure, which the emulator has no fault for: written into its persisted state.
  const file = path.join(data, 'state.json');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { clusters: { name: string; status: string }[] };
  saved.clusters.find((c) => c.name === 'agree-a')!.status = 'FAILED';
  fs.writeFileSync(file, JSON.stringify(saved));
  const emu = await startEmulator({ port: 0, dataDir: data });
  t.teardown(() => emu.close());
  writeSpec(first.dir, SPEC, emu.url);
  const e = { ...first, emu };
  const d = await drift(e);
  t.is(d.code, 2);
  for (const a of ['aws_eks_cluster.a', 'aws_eks_identity_provider_config.a_okta', 'aws_eks_identity_provider_config.a_corp']) {
    t.is(d.byAddress(a).status, 'missing', a);
    t.is(d.byAddress(a).live_status, 'FAILED', a);
  }
  t.regex(d.byAddress('aws_eks_cluster.a').fix!, /cluster agree-a is FAILED: .*eksidp cannot repair it/);
  const p = await eksidp(['plan', '--dir', e.dir], e.dir);
  t.is(p.code, 0);
  t.regex(p.stdout, /Warning: aws_eks_cluster\.a: cluster agree-a is FAILED/);
});

test('a config disassociated and gone is missing while the plan creates it again: the two agree', async (t) => {
  const e = await applied(t);
  await disassociate(e.emu.url, e.client, 'agree-a', 'okta', true);
  await until('cluster idle', async () => (await clusterStatus(e.client, 'agree-a')) === 'ACTIVE');
  const d = await drift(e);
  t.is(d.byAddress('aws_eks_identity_provider_config.a_okta').status, 'missing');
  t.is(d.byAddress('aws_eks_identity_provider_config.a_okta').live_status, null);
  t.is((await planActions(e))['aws_eks_identity_provider_config.a_okta'], 'create');
});
