import test, { type ExecutionContext } from 'ava';
import type { EmulatorHandle } from '../emulator';
import { associations, cli, clusterRes, emulator, fleet, liveConfigs, oidcRes, prng, readStateFile, awsStack, type Json } from './fixtures/reliability/harness';
import { tempDir } from './helpers/project';
import { writeStack } from './helpers/stacks';

/**
 * API faults from the emulator's seeded injection (throttling 30%, server errors 10%, connection
 * resets 5%, latency jitter) during apply, plan and drift, and EKS updates that end Failed.
 * Plan and drift must give the fault-free answer or exit 1 naming what could not be read.
 */

const FAULTS = { throttleRate: 0.3, errorRate: 0.1, resetRate: 0.05 };
const APPLY_SEEDS = [11, 12, 13];
const READ_SEEDS = [21, 22, 23];

/** Latency jitter: a seeded 0-40 ms latency, changed every 25 ms while the test runs. */
function jitter(t: ExecutionContext, em: EmulatorHandle, seed: number): void {
  const rnd = prng(seed);
  const timer = setInterval(() => em.setFaults({ latencyMs: Math.round(rnd() * 40) }), 25);
  t.teardown(() => clearInterval(timer));
}

type Change = { address: string; change: { actions: string[] } };
const actions = (stdout: string) => Object.fromEntries((JSON.parse(stdout) as { resource_changes: Change[] }).resource_changes.map((c) => [c.address, c.change.actions.join(',')]));

for (const seed of APPLY_SEEDS) {
  test(`apply under faults (seed ${seed}) converges: every config once, state and live equal, then no changes`, async (t) => {
    const em = await emulator(t, { ...FAULTS, seed });
    jitter(t, em, seed);
    const dir = tempDir(t, 'eksidp-faults-');
    writeStack(dir, fleet(em.url, 2, 2));
    // An apply may give up on a resource whose retries ran out; re-running is how it converges.
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const r = await cli(dir, ['apply', '--dir', '.', '--auto-approve']);
      runs.push(`exit ${r.code} in ${r.ms} ms`);
      if (r.code === 0) break;
      t.is(r.code, 1);
      t.regex(r.stderr, /Error: aws_eks_\w+\.\w+: /, 'a failure names the resource');
    }
    t.log(`seed ${seed}: ${runs.join(', ')}; ${Object.values(em.calls()).reduce((a, b) => a + b, 0)} API calls`);
    t.regex(runs[runs.length - 1]!, /^exit 0/);
    em.setFaults({ throttleRate: 0, errorRate: 0, resetRate: 0 });
    for (const [id, n] of associations(em)) t.is(n, 1, `${id} associated ${n} times`);
    const inState = (readStateFile(dir)?.resources ?? []).filter((r) => r.type === 'aws_eks_identity_provider_config').map((r) => String(r.instances[0]!.attributes.id)).sort();
    t.deepEqual(inState, [...liveConfigs(em).keys()].sort());
    t.is(inState.length, 4);
    const plan = await cli(dir, ['plan', '--dir', '.', '--detailed-exitcode']);
    t.is(plan.code, 0, plan.stdout);
  });
}

test(`plan and drift under faults (seeds ${READ_SEEDS.join(', ')}): the fault-free answer, or exit 1 naming what could not be read`, async (t) => {
  const em = await emulator(t);
  const dir = tempDir(t, 'eksidp-faults-read-');
  const base = fleet(em.url, 3, 1);
  writeStack(dir, base);
  const applied = await cli(dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(applied.code, 0, applied.stderr);
  // Change the stack: a retag (update), a new issuer (replace), a new config (create), one config removed (delete).
  const res = base.resource as { aws_eks_cluster: Json; aws_eks_identity_provider_config: Record<string, Json> };
  const configs: Json = {
    c0_okta: oidcRes('c0', 'okta', {}, { tags: { team: 'identity' } }),
    c1_okta: oidcRes('c1', 'okta', { issuer_url: 'https://new-okta.example.com' }),
    c1_corp: { ...oidcRes('c1', 'corp'), depends_on: ['aws_eks_identity_provider_config.c1_okta'] },
  };
  writeStack(dir, awsStack(em.url, { aws_eks_cluster: res.aws_eks_cluster, aws_eks_identity_provider_config: configs }));
  const truthPlan = await cli(dir, ['plan', '--dir', '.', '--json']);
  t.is(truthPlan.code, 0, truthPlan.stderr);
  const want = actions(truthPlan.stdout);
  t.deepEqual(want, {
    'aws_eks_cluster.c0': 'no-op', 'aws_eks_cluster.c1': 'no-op', 'aws_eks_cluster.c2': 'no-op',
    'aws_eks_identity_provider_config.c0_okta': 'update', 'aws_eks_identity_provider_config.c1_okta': 'delete,create',
    'aws_eks_identity_provider_config.c1_corp': 'create', 'aws_eks_identity_provider_config.c2_okta': 'delete',
  });
  const truthDrift = await cli(dir, ['drift', '--dir', '.', '--format', 'json']);
  t.is(truthDrift.code, 2, truthDrift.stderr);
  type DriftRes = { address?: string; cluster?: string; name?: string; status: string; error?: string };
  const key = (r: DriftRes) => r.address ?? `${r.cluster}:${r.name}`;
  const driftTruth = new Map((JSON.parse(truthDrift.stdout) as { resources: DriftRes[] }).resources.map((r) => [key(r), r.status]));

  const outcomes: string[] = [];
  for (const seed of READ_SEEDS) {
    em.setFaults({ ...FAULTS, seed });
    jitter(t, em, seed);
    const p = await cli(dir, ['plan', '--dir', '.', '--json']);
    if (p.code === 0) t.deepEqual(actions(p.stdout), want, `plan under faults, seed ${seed}`);
    else {
      t.is(p.code, 1);
      t.regex(p.stderr, /Error: aws_eks_\w+\.\w+: .*reading/, `plan names what it could not read (seed ${seed})`);
    }
    const d = await cli(dir, ['drift', '--dir', '.', '--format', 'json']);
    const rep = JSON.parse(d.stdout) as { resources: DriftRes[]; summary: { unknown: number } };
    t.deepEqual(new Set(rep.resources.map(key)), new Set(driftTruth.keys()), `drift covers the same resources (seed ${seed})`);
    for (const r of rep.resources) {
      if (r.status === 'unknown') t.truthy(r.error, `${key(r)} unknown without a reason`);
      else t.is(r.status, driftTruth.get(key(r)) ?? "(not in the fault-free report)", `${key(r)} under faults (seed ${seed}): never false or missed drift`);
    }
    t.is(d.code, rep.summary.unknown > 0 ? 1 : 2);
    outcomes.push(`seed ${seed}: plan exit ${p.code} (${p.ms} ms), drift exit ${d.code} with ${rep.summary.unknown} unknown (${d.ms} ms)`);
  }
  t.log(outcomes.join('; '));
});

test('a failed EKS update: that resource stops with the update error, independent ones go on, state records all, exit 1; the next plan shows what is left', async (t) => {
  const em = await emulator(t);
  const dir = tempDir(t, 'eksidp-failupdate-');
  const clusters = { c0: clusterRes('rel-c0'), c1: clusterRes('rel-c1') };
  writeStack(dir, awsStack(em.url, { aws_eks_cluster: clusters, aws_eks_identity_provider_config: { c1_okta: oidcRes('c1', 'okta') } }));
  t.is((await cli(dir, ['apply', '--dir', '.', '--auto-approve'])).code, 0);
  // Every association now fails; tag changes and cluster creation are not EKS updates and go through.
  em.setFaults({ failUpdateRate: 1 });
  writeStack(dir, awsStack(em.url, {
    aws_eks_cluster: { ...clusters, c2: clusterRes('rel-c2') },
    aws_eks_identity_provider_config: {
      c1_okta: oidcRes('c1', 'okta', {}, { tags: { owner: 'identity' } }),
      c0_okta: oidcRes('c0', 'okta'),
      c0_corp: { ...oidcRes('c0', 'corp'), depends_on: ['aws_eks_identity_provider_config.c0_okta'] },
    },
  }));
  const r = await cli(dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /Error: aws_eks_identity_provider_config\.c0_okta: .*associating identity provider config rel-c0:okta.*Failed: Unknown: Update AssociateIdentityProviderConfig failed \(injected by the emulator's failUpdateRate\)/);
  t.regex(r.stderr, /Skipped because a dependency failed: aws_eks_identity_provider_config\.c0_corp/);
  t.regex(r.stderr, /Apply failed\. Resources: 1 added, 1 changed, 0 destroyed\. State saved to /);
  const state = readStateFile(dir)!;
  const addrs = state.resources.map((x) => `${x.type}.${x.name}`);
  t.deepEqual(addrs, ['aws_eks_cluster.c0', 'aws_eks_cluster.c1', 'aws_eks_cluster.c2', 'aws_eks_identity_provider_config.c1_okta']);
  t.deepEqual(state.resources[3]!.instances[0]!.attributes.tags, { owner: 'identity' });
  t.deepEqual([...liveConfigs(em).keys()], ['rel-c1:okta']);
  em.setFaults({ failUpdateRate: 0 });
  const plan = await cli(dir, ['plan', '--dir', '.', '--json']);
  t.is(plan.code, 0, plan.stderr);
  t.deepEqual(Object.entries(actions(plan.stdout)).filter(([, a]) => a !== 'no-op').sort(), [
    ['aws_eks_identity_provider_config.c0_corp', 'create'], ['aws_eks_identity_provider_config.c0_okta', 'create'],
  ]);
  const again = await cli(dir, ['apply', '--dir', '.', '--auto-approve']);
  t.is(again.code, 0, again.stderr);
  t.is(liveConfigs(em).size, 3);
});
