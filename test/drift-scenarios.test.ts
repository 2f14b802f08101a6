import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  AssociateIdentityProviderConfigCommand, DescribeClusterCommand, DescribeIdentityProviderConfigCommand, DisassociateIdentityProviderConfigCommand,
  TagResourceCommand, type EKSClient,
} from '@aws-sdk/client-eks';
import { startEmulator, type EmulatorHandle } from '../emulator';
import { runCli } from './helpers/cli';
import { tempDir } from './helpers/project';
import { until } from './helpers/wait';
import { clusterName, driftCli, fleetStack, ISSUER, sdkClient, seedFleet, type FleetSpec } from './fixtures/drift/fleet';
import { writeStack } from './helpers/stacks';
import { STATUSES } from '../drift';

type Fleet = { emu: EmulatorHandle; client: EKSClient; dir: string; spec: FleetSpec };

async function fleet(t: ExecutionContext, spec: FleetSpec): Promise<Fleet> {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0, seed: 7 });
  t.teardown(() => emu.close());
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  await seedFleet(client, spec);
  const dir = tempDir(t, 'eksidp-drift-');
  writeStack(dir, fleetStack(spec, emu.url));
  emu.resetCalls();
  return { emu, client, dir, spec };
}

type JsonReport = {
  format_version: string;
  summary: Record<string, number>;
  resources: { address: string | null; type: string; cluster: string; name: string; status: string; differences: { path: string; expected: string | null; actual: string | null; requires_replacement: boolean }[]; fix: string | null; error: string | null; live_status: string | null; reason?: string; identities?: { name: string; live: string; planned: string; changed: boolean }[] }[];
};

async function driftJson(f: Fleet, extra: string[] = []): Promise<{ code: number; report: JsonReport; stderr: string }> {
  const r = await driftCli(['--dir', f.dir, '--format', 'json', ...extra], { cwd: f.dir });
  return { code: r.code, report: JSON.parse(r.stdout) as JsonReport, stderr: r.stderr };
}

async function waitConfigGone(client: EKSClient, cluster: string, name: string): Promise<void> {
  const gone = () => client.send(new DescribeIdentityProviderConfigCommand({ clusterName: cluster, identityProviderConfig: { type: 'oidc', name } })).then(() => false, () => true);
  await until(`${cluster}:${name} gone`, gone);
  await waitClusterIdle(client, cluster);
}

async function waitClusterIdle(client: EKSClient, cluster: string): Promise<void> {
  await until(`${cluster} idle`, async () => (await client.send(new DescribeClusterCommand({ name: cluster }))).cluster?.status === 'ACTIVE');
}

async function configArn(client: EKSClient, cluster: string, name: string): Promise<string> {
  const out = await client.send(new DescribeIdentityProviderConfigCommand({ clusterName: cluster, identityProviderConfig: { type: 'oidc', name } }));
  return out.identityProviderConfig!.oidc!.identityProviderConfigArn!;
}

function byAddress(report: JsonReport): Map<string | null, JsonReport['resources'][number]> {
  return new Map(report.resources.map((r) => [r.address ?? `${r.cluster}:${r.name}`, r]));
}

test('an unchanged fleet is in sync (exit 0) with exactly one DescribeCluster, one List and one Describe per config', async (t) => {
  const f = await fleet(t, { clusters: 3 });
  const { code, report } = await driftJson(f);
  t.is(code, 0);
  t.is(report.resources.length, 6);
  t.true(report.resources.every((r) => r.status === 'in_sync' && r.differences.length === 0 && r.fix === null));
  t.deepEqual(report.summary, { in_sync: 6, changed: 0, missing: 0, unmanaged: 0, unknown: 0, ignored: 0 });
  t.deepEqual(f.emu.calls(), { DescribeCluster: 3, ListIdentityProviderConfigs: 3, DescribeIdentityProviderConfig: 3 });
});

test('a config disassociated out of band is missing, with re-create as the fix (exit 2)', async (t) => {
  const f = await fleet(t, { clusters: 2 });
  const c = clusterName(f.spec, 1);
  await f.client.send(new DisassociateIdentityProviderConfigCommand({ clusterName: c, identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  await waitConfigGone(f.client, c, 'okta');
  const { code, report } = await driftJson(f);
  t.is(code, 2);
  const r = byAddress(report).get(`aws_eks_identity_provider_config.${c}_okta`)!;
  t.is(r.status, 'missing');
  t.regex(r.fix!, /re-create/);
  t.is(report.summary.missing, 1);
  t.is(report.summary.in_sync, 3);
});

test('tags edited out of band are an in-place change; the markdown and human reports show the diff', async (t) => {
  const f = await fleet(t, { clusters: 2 });
  const c = clusterName(f.spec, 0);
  await f.client.send(new TagResourceCommand({ resourceArn: await configArn(f.client, c, 'okta'), tags: { env: 'prod', owner: 'someone' } }));
  const { code, report } = await driftJson(f);
  t.is(code, 2);
  const r = byAddress(report).get(`aws_eks_identity_provider_config.${c}_okta`)!;
  t.is(r.status, 'changed');
  t.deepEqual(r.differences, [
    { path: 'tags.env', expected: 'test', actual: 'prod', requires_replacement: false },
    { path: 'tags.owner', expected: null, actual: 'someone', requires_replacement: false },
  ]);
  t.regex(r.fix!, /in place/);
  t.is(r.identities, undefined, 'tags do not change who can log in');

  const md = await driftCli(['--dir', f.dir, '--format', 'markdown'], { cwd: f.dir });
  t.is(md.code, 2);
  t.regex(md.stdout, /\| changed \| 1 \|/);
  t.regex(md.stdout, /<details>\n<summary><code>aws_eks_identity_provider_config\.c0000_okta<\/code>: <b>changed<\/b><\/summary>/);
  t.regex(md.stdout, /```diff\n--- live\n\+\+\+ planned\n[\s\S]*-    "env": "prod",\n[\s\S]*\+    "env": "test"/);

  const human = await driftCli(['--dir', f.dir, '--no-color'], { cwd: f.dir, env: { ...process.env } });
  t.regex(human.stdout, /~ aws_eks_identity_provider_config\.c0000_okta: changed\n {4}tags\.env: live "prod", declared "test"\n/);
  t.notRegex(human.stdout, /\u001b\[/);
});

test('a config replaced out of band with another issuer is changed, requires replacement, and previews sample identities', async (t) => {
  const f = await fleet(t, { clusters: 1, sampleIdentities: true });
  const c = clusterName(f.spec, 0);
  await f.client.send(new DisassociateIdentityProviderConfigCommand({ clusterName: c, identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  await waitConfigGone(f.client, c, 'okta');
  await f.client.send(new AssociateIdentityProviderConfigCommand({
    clusterName: c,
    oidc: { identityProviderConfigName: 'okta', issuerUrl: 'https://evil.example.net', clientId: `eks-${c}`, usernameClaim: 'sub', groupsClaim: 'groups', groupsPrefix: 'okta:' },
    tags: { env: 'test' },
  }));
  await waitClusterIdle(f.client, c);
  const { code, report } = await driftJson(f);
  t.is(code, 2);
  const r = byAddress(report).get(`aws_eks_identity_provider_config.${c}_okta`)!;
  t.is(r.status, 'changed');
  t.deepEqual(r.differences.map((d) => [d.path, d.actual, d.expected, d.requires_replacement]), [
    ['oidc.issuer_url', 'https://evil.example.net', ISSUER, true],
    ['oidc.username_claim', 'sub', 'email', true],
    ['oidc.username_prefix', null, 'okta:', true],
  ]);
  t.regex(r.fix!, /replace.*20–40 min/);
  t.is(r.identities!.length, 1);
  t.is(r.identities![0]!.name, 'alice');
  t.true(r.identities![0]!.changed);
  t.is(r.identities![0]!.live, 'rejected (username claim sub missing)');
  t.is(r.identities![0]!.planned, 'okta:alice@example.com; groups okta:eng');
});

test('a config added out of band on a managed cluster is unmanaged (address null) and the fix says how to import it', async (t) => {
  const f = await fleet(t, { clusters: 1 });
  const c = clusterName(f.spec, 0);
  await f.client.send(new AssociateIdentityProviderConfigCommand({ clusterName: c, oidc: { identityProviderConfigName: 'rogue', issuerUrl: 'https://rogue.example.org', clientId: 'x' } }));
  await waitClusterIdle(f.client, c);
  const { code, report } = await driftJson(f);
  t.is(code, 2);
  const r = report.resources.find((x) => x.status === 'unmanaged')!;
  t.is(r.address, null);
  t.is(r.cluster, c);
  t.is(r.name, 'rogue');
  t.true(r.fix!.includes(`eksidp import aws_eks_identity_provider_config.NAME ${c}:rogue`));
  t.is(report.summary.unmanaged, 1);
  t.is(report.summary.in_sync, 2);
});

test('with throttling and server errors injected, every verdict is the fault-free one or unknown (exit 1), never wrong', async (t) => {
  const f = await fleet(t, { clusters: 6 });
  const c = clusterName(f.spec, 2);
  await f.client.send(new DisassociateIdentityProviderConfigCommand({ clusterName: c, identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  await waitConfigGone(f.client, c, 'okta');
  const clean = await driftJson(f);
  t.is(clean.code, 2);
  const truth = byAddress(clean.report);
  // Few SDK attempts and a short budget keep this quick; either outcome (verdict or unknown) is allowed.
  const env = { ...process.env, EKSIDP_MAX_ATTEMPTS: '4' };
  // Server errors alone (retried at once), then throttling (adaptive mode slows the client right down).
  for (const [seed, throttleRate, errorRate] of [[1, 0, 0.3], [2, 0.25, 0.15]] as const) {
    f.emu.setFaults({ throttleRate, errorRate, seed });
    const started = Date.now();
    const r = await driftCli(['--dir', f.dir, '--format', 'json', '--concurrency', '4', '--timeout', '6s'], { cwd: f.dir, env });
    const faulty = { code: r.code, report: JSON.parse(r.stdout) as JsonReport };
    t.log(`seed ${seed}: ${Date.now() - started} ms, ${faulty.report.summary.unknown} unknown`);
    for (const r of faulty.report.resources) {
      const want = truth.get(r.address ?? `${r.cluster}:${r.name}`);
      t.truthy(want, `unexpected resource ${r.address}`);
      if (r.status !== 'unknown') t.is(r.status, want!.status, `${r.address} under faults (seed ${seed})`);
      else t.truthy(r.error);
    }
    t.is(faulty.code, faulty.report.summary.unknown > 0 ? 1 : 2);
  }
  // With retries exhausted at once (1 attempt) and every call failing, nothing is a verdict.
  f.emu.setFaults({ throttleRate: 0, errorRate: 1 });
  const broken = await driftCli(['--dir', f.dir, '--format', 'json'], { cwd: f.dir, env: { ...process.env, EKSIDP_MAX_ATTEMPTS: '1' } });
  t.is(broken.code, 1);
  const rep = JSON.parse(broken.stdout) as JsonReport;
  t.true(rep.resources.every((r) => r.status === 'unknown' && /DescribeCluster/.test(r.error!)));
});

test('ignore rules turn matching drift into ignored with its reason (exit 0); an invalid rule is exit 1 naming the entry', async (t) => {
  const f = await fleet(t, { clusters: 2 });
  const c = clusterName(f.spec, 0);
  await f.client.send(new TagResourceCommand({ resourceArn: await configArn(f.client, c, 'okta'), tags: { 'last-scanned': '2025-01-01' } }));
  fs.writeFileSync(path.join(f.dir, 'drift-ignore.json'), JSON.stringify([{ address: 'aws_eks_identity_provider_config.*', path: 'tags.last-*', reason: 'set by the scanner' }]));
  const { code, report } = await driftJson(f);
  t.is(code, 0);
  const r = byAddress(report).get(`aws_eks_identity_provider_config.${c}_okta`)!;
  t.is(r.status, 'ignored');
  t.is(r.reason, 'set by the scanner');
  t.is(r.differences[0]!.path, 'tags.last-scanned');
  t.is(report.summary.ignored, 1);

  const bad = path.join(f.dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify([{ address: 'aws_eks_cluster.*', reason: 'ok' }, { address: 'aws_eks_identity_provider_config.x' }]));
  const r2 = await driftCli(['--dir', f.dir, '--ignore-file', bad], { cwd: f.dir });
  t.is(r2.code, 1);
  t.regex(r2.stderr, /entry 1 \(aws_eks_identity_provider_config\.x\): "reason" is required/);
  t.is(r2.stdout, '');
});

test('--shard i/n partitions the fleet by cluster: every resource in exactly one shard; out of range is a usage error', async (t) => {
  const f = await fleet(t, { clusters: 8 });
  const all = (await driftJson(f)).report.resources.map((r) => r.address).sort();
  const seen: (string | null)[] = [];
  for (let i = 1; i <= 3; i++) {
    const { report } = await driftJson(f, ['--shard', `${i}/3`]);
    for (const r of report.resources) {
      // A cluster's configs travel with it.
      if (r.type === 'aws_eks_identity_provider_config') t.true(report.resources.some((x) => x.type === 'aws_eks_cluster' && x.cluster === r.cluster));
      seen.push(r.address);
    }
  }
  t.deepEqual(seen.sort(), all);
  for (const bad of ['0/3', '4/3', '1/0', 'x']) {
    const r = await driftCli(['--dir', f.dir, '--shard', bad], { cwd: f.dir });
    t.is(r.code, 1, bad);
    t.regex(r.stderr, /--shard/);
  }
});

test('--out writes the report to the file and prints one summary line; the time budget makes unread resources unknown (exit 1)', async (t) => {
  const f = await fleet(t, { clusters: 2 });
  const out = path.join(f.dir, 'reports', 'drift.md');
  const r = await driftCli(['--dir', f.dir, '--format', 'markdown', '--out', out], { cwd: f.dir });
  t.is(r.code, 0);
  // stdout is for the report format alone: with --out, the summary line goes to stderr.
  t.is(r.stdout, '');
  t.true(r.stderr.endsWith(`No drift: 4 in_sync. Report (markdown): ${out}\n`), r.stderr);
  t.regex(fs.readFileSync(out, 'utf8'), /^### eksidp drift: stack `eksidp-drift-/);
  const jsonOut = path.join(f.dir, 'reports', 'drift.json');
  const j = await driftCli(['--dir', f.dir, '--format', 'json', '--out', jsonOut], { cwd: f.dir });
  t.is(j.code, 0);
  t.is(j.stdout, '', '--format json --out prints nothing on stdout');
  t.regex(j.stderr, /No drift: 4 in_sync\. Report \(json\): .*drift\.json\n$/);
  t.is(JSON.parse(fs.readFileSync(jsonOut, 'utf8')).summary.in_sync, 4);

  f.emu.setFaults({ latencyMs: 400 });
  const slow = await driftCli(['--dir', f.dir, '--format', 'json', '--timeout', '100ms'], { cwd: f.dir });
  t.is(slow.code, 1);
  const rep = JSON.parse(slow.stdout) as JsonReport;
  t.true(rep.resources.length > 0 && rep.resources.every((x) => x.status === 'unknown' && /time budget/.test(x.error!)));
});

test('the eksidp binary prints pure JSON on stdout matching the documented schema', async (t) => {
  const f = await fleet(t, { clusters: 1 });
  await f.client.send(new AssociateIdentityProviderConfigCommand({ clusterName: clusterName(f.spec, 0), oidc: { identityProviderConfigName: 'extra', issuerUrl: 'https://extra.example.org', clientId: 'x' } }));
  await waitClusterIdle(f.client, clusterName(f.spec, 0));
  const p = await runCli(['drift', '--dir', f.dir, '--format', 'json']);
  t.is(p.code, 2, p.stderr);
  const report = JSON.parse(p.stdout) as JsonReport;
  t.is(report.format_version, '1.1');
  t.deepEqual(Object.keys(report.summary), [...STATUSES]);
  for (const r of report.resources) {
    t.true((STATUSES as readonly string[]).includes(r.status));
    t.deepEqual(Object.keys(r).slice(0, 9), ['address', 'type', 'cluster', 'name', 'status', 'differences', 'fix', 'error', 'live_status']);
    t.is(r.address === null, r.status === 'unmanaged');
    t.is(r.live_status, 'ACTIVE', 'every object of the settled fleet reads ACTIVE');
  }
  t.is(p.stderr, '');
});

test('a slow run reports its progress every heartbeat (a scheduled job that reads for minutes does not look hung)', async (t) => {
  const f = await fleet(t, { clusters: 4 });
  f.emu.setFaults({ latencyMs: 60 });
  const { runDrift } = await import('../drift');
  const beats: string[] = [];
  const report = await runDrift({
    rawJson: JSON.parse(fs.readFileSync(path.join(f.dir, 'cdk.tf.json'), 'utf8')) as Record<string, unknown>,
    loc: { name: 'fleet', dir: f.dir, file: path.join(f.dir, 'cdk.tf.json') },
    env: {}, concurrency: 1, timeoutMs: 60_000, heartbeat: (m) => beats.push(m), heartbeatMs: 100,
  });
  t.deepEqual(report.summary, { ...report.summary, in_sync: 8, unknown: 0 }, '4 clusters and their 4 configs, all read');
  t.true(beats.length >= 3, `${beats.length} heartbeats in a ~0.7 s read`);
  t.regex(beats[0]!, /^Read [0-3] of 4 cluster\(s\) \(\d+ s elapsed\)\.\.\.$/);
  const counts = beats.map((b) => Number(/^Read (\d+)/.exec(b)![1]));
  t.deepEqual(counts, [...counts].sort((a, b) => a - b), 'progress never goes backwards');
});

test('against an account rate limit (a token bucket, as EKS throttles) the adaptive retries converge: every verdict, nothing unknown', async (t) => {
  const f = await fleet(t, { clusters: 20, dataSources: true });
  f.emu.setFaults({ rateLimit: 30, rateBurst: 10, latencyMs: 5 });
  f.emu.resetCalls();
  const started = Date.now();
  const { code, report } = await driftJson(f, ['--concurrency', '16']);
  const calls = Object.values(f.emu.calls()).reduce((a, b) => a + b, 0);
  t.log(`${Date.now() - started} ms, ${calls} calls for 60 reads (${calls - 60} throttled and retried)`);
  t.is(code, 0);
  t.deepEqual(report.summary, { ...report.summary, in_sync: 20, unknown: 0 });
  t.true(calls > 60, 'the limit was hit');
});
