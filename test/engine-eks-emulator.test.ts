import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';

/**
 * The engine with the real EKS provider (registry name `aws`) against the embedded emulator, through
 * the CLI commands in-process: create, a no-change re-plan, a replacement with the provider's note,
 * and destroy. Short emulator durations keep it to a few seconds.
 */

const run = runCommand;
// The fixture names no endpoint: the emulator's comes from AWS_ENDPOINT_URL_EKS, as the provider reads it.
const io = (cwd: string, eks: string) => captureIo(cwd, { EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200', AWS_ENDPOINT_URL_EKS: eks });

test('plan, apply, re-plan, replace and destroy an EKS cluster with identity provider configs on the emulator', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-engine-eks-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stack = fs.readFileSync(path.join(__dirname, 'fixtures', 'emulator', 'stack.tf.json'), 'utf8');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack);

  let i = io(dir, em.url);
  t.is(await run(['apply', '--dir', '.', '--auto-approve'], i), 0, i.err());
  t.regex(i.out(), /Apply complete! Resources: 3 added, 0 changed, 0 destroyed\./);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8'));
  t.deepEqual(state.resources.map((r: { provider: string }) => r.provider), Array(3).fill('provider["registry.terraform.io/hashicorp/aws"]'));
  // One association at a time per cluster: the emulator would answer 409 to overlapping updates.
  const assoc = em.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig');
  t.is(assoc.length, 2);
  t.true(assoc.every((u) => u.status === 'Successful'));

  i = io(dir, em.url);
  t.is(await run(['plan', '--dir', '.', '--detailed-exitcode'], i), 0, i.out() + i.err());

  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack.replace('https://sso.example.com/oauth2', 'https://sso2.example.com/oauth2'));
  i = io(dir, em.url);
  t.is(await run(['plan', '--dir', '.', '--json'], i), 0, i.err());
  const rc = (JSON.parse(i.out()).resource_changes as { address: string; change: { actions: string[]; replace_paths?: unknown }; action_reason?: string }[]).find((c) => c.address === 'aws_eks_identity_provider_config.corp')!;
  t.deepEqual(rc.change.actions, ['delete', 'create']);
  t.deepEqual(rc.change.replace_paths, [['oidc', 0, 'issuer_url']]);
  t.is(rc.action_reason, 'replace_because_cannot_update');
  i = io(dir, em.url);
  t.is(await run(['apply', '--dir', '.', '--auto-approve'], i), 0, i.err());
  t.regex(i.out(), /# Note: .+/);
  t.regex(i.out(), /Apply complete! Resources: 1 added, 0 changed, 1 destroyed\./);

  i = io(dir, em.url);
  t.is(await run(['destroy', '--dir', '.', '--auto-approve'], i), 0, i.err());
  t.deepEqual((em.snapshot() as { clusters: unknown[] }).clusters, []);

  // The same stack applied again after the destroy creates everything anew: requests of the earlier
  // plan are not replayed (EKS would answer a replayed CreateCluster with the deleted cluster).
  i = io(dir, em.url);
  t.is(await run(['apply', '--dir', '.', '--auto-approve'], i), 0, i.err());
  t.regex(i.out(), /Apply complete! Resources: 3 added, 0 changed, 0 destroyed\./);
  const live = em.snapshot() as { clusters: { status: string; configs: unknown[] }[] };
  t.deepEqual(live.clusters.map((c) => [c.status, c.configs.length]), [['ACTIVE', 2]]);
});
