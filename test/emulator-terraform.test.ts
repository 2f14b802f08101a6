import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator';
import { terraform, terraformTest } from './helpers/terraform';

type Snapshot = { clusters: { name: string; status: string; version: string; tags: Record<string, string>; configs: { name: string; status: string; issuerUrl: string; tags: Record<string, string> }[] }[] };

// One test on purpose: each Terraform run costs ~15 s or more (the AWS provider binary is big).
terraformTest(test, 'Terraform\'s AWS provider 5.100 applies, re-plans with no changes, and destroys a cluster with two identity provider configs on the emulator', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 200, clusterDeleteMs: 100, updateMs: 200 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-emu-tf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stack = fs.readFileSync(path.join(__dirname, 'fixtures', 'emulator', 'stack.tf.json'), 'utf8').replace('__EKS_ENDPOINT__', em.url);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), stack);

  const init = await terraform(dir, ['init', '-input=false', '-no-color']);
  t.is(init.code, 0, init.stderr);
  // The provider does not retry 409 ResourceInUse, and both configs update the same cluster.
  const apply = await terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-parallelism=1']);
  t.is(apply.code, 0, apply.stderr);

  const after = em.snapshot() as Snapshot;
  t.is(after.clusters.length, 1);
  const cluster = after.clusters[0]!;
  t.like(cluster, { name: 'emu-main', status: 'ACTIVE', version: '1.32', tags: { team: 'platform', env: 'test' } });
  t.deepEqual(cluster.configs.map((c) => [c.name, c.status, c.issuerUrl]).sort(), [
    ['corp-sso', 'ACTIVE', 'https://sso.example.com/oauth2'],
    ['partners', 'ACTIVE', 'https://partners.example.net'],
  ]);
  t.deepEqual(cluster.configs.find((c) => c.name === 'partners')!.tags, { owner: 'partners', tier: 'external' });
  t.is(em.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig' && u.status === 'Successful').length, 2);

  // Exit 0 (not 2) proves every attribute Terraform reads back round-trips unchanged.
  const plan = await terraform(dir, ['plan', '-detailed-exitcode', '-input=false', '-no-color']);
  t.is(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);

  const destroy = await terraform(dir, ['destroy', '-auto-approve', '-input=false', '-no-color']);
  t.is(destroy.code, 0, destroy.stderr);
  t.deepEqual((em.snapshot() as Snapshot).clusters, []);
  const calls = em.calls();
  t.is(calls.DisassociateIdentityProviderConfig, 2);
  t.is(calls.DeleteCluster, 1);
});
