import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator';
import { clusterName, tagAndDisassociate, driftCli, fleetStack, sdkClient, seedFleet, writeTerraformStateFromLive, type FleetSpec } from './fixtures/drift/fleet';
import { writeStack } from './helpers/stacks';
import { clusterStatus, configStatus, deleteCluster, disassociate, eksidp, writeSpec, type DriftJson, type PlanJson, type StackSpec } from './fixtures/drift/stacks';
import { tempDir } from './helpers/project';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * Terraform is the oracle: on the same fleet, state and out-of-band changes, `eksidp drift` and
 * `terraform plan -refresh-only` must agree where Terraform can tell (a config disassociated: missing /
 * delete; tags edited: changed / update). What Terraform reports on the untouched config is logged
 * beside eksidp's verdict (its null-versus-empty false positives are documented in drift/README.md).
 */

type Report = { resources: { address: string | null; status: string; differences: { path: string }[] }[] };
type TfPlan = { resource_drift?: { address: string; change: { actions: string[] } }[] };

terraformTest(test, 'eksidp drift agrees with terraform plan -refresh-only on a missing and a changed config', async (t) => {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0 });
  t.teardown(() => emu.close());
  const spec: FleetSpec = { clusters: 3, dataSources: true, prefix: 'agree-' };
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  await seedFleet(client, spec);
  const dir = tempDir(t, 'eksidp-drift-tf-');
  writeStack(dir, fleetStack(spec, emu.url));
  await writeTerraformStateFromLive(dir, spec, emu.url);

  const [tagged, gone, untouched] = [0, 1, 2].map((i) => clusterName(spec, i));
  const address = (c: string) => `aws_eks_identity_provider_config.${c.replace(/-/g, '_')}_okta`;
  await tagAndDisassociate(client, tagged, gone);

  const r = await driftCli(['--dir', dir, '--format', 'json'], { cwd: dir });
  t.is(r.code, 2, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  const status = (a: string) => report.resources.find((x) => x.address === a);

  t.is((await terraform(dir, ['init', '-input=false', '-no-color'])).code, 0);
  const planned = await terraform(dir, ['plan', '-refresh-only', '-input=false', '-lock=false', '-no-color', '-out', 'refresh.tfplan']);
  t.is(planned.code, 0, planned.stderr);
  const shown = await terraform(dir, ['show', '-json', 'refresh.tfplan']);
  const drift = new Map(((JSON.parse(shown.stdout) as TfPlan).resource_drift ?? []).map((d) => [d.address, d.change.actions]));

  // Disassociated out of band: Terraform would drop it from state (delete); eksidp says missing.
  t.deepEqual(drift.get(address(gone)), ['delete']);
  t.is(status(address(gone))?.status, 'missing');
  // Tags edited out of band: both see an in-place change of the tags.
  t.deepEqual(drift.get(address(tagged)), ['update']);
  t.is(status(address(tagged))?.status, 'changed');
  t.true(status(address(tagged))!.differences.some((d) => d.path.startsWith('tags')));
  // Untouched: eksidp is certain it is in sync; Terraform's view is logged beside it.
  t.is(status(address(untouched))?.status, 'in_sync');
  t.log(`untouched config: eksidp in_sync; terraform refresh-only: ${JSON.stringify(drift.get(address(untouched)) ?? ['no drift'])}`);
});

/**
 * Issue 12, item 1: what hashicorp/aws 5.100 plans for objects EKS is removing or that FAILED, on the
 * state eksidp's apply wrote: a config DELETING (disassociated out of band, the emulator keeping it
 * DELETING for its updateMs), a cluster DELETING, a cluster FAILED (written into the emulator's
 * persisted state: EKS's own failure). Terraform reads them as present and plans no change; eksidp's
 * plan must plan the same, and drift reports them missing with their live status (the documented
 * exception to "in_sync exactly when the plan is a no-op", drift/SCHEMA.md).
 */
terraformTest(test, 'objects EKS is deleting or that FAILED: terraform plan and eksidp plan are no-ops alike; drift says missing with live_status', async (t) => {
  const data = tempDir(t, 'eksidp-drift-tf-data-');
  const cluster = (key: string) => ({ key, name: `tfl-${key}`, adopted: false, roleArn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', subnets: [`subnet-${key}`] });
  const config = (c: string) => ({ key: `${c}_okta`, cluster: c, name: 'okta', issuer: `https://${c}.example.com`, clientId: 'eks', usernameClaim: 'email' });
  const spec: StackSpec = { clusters: ['deleting_config', 'deleting', 'failed', 'fine'].map(cluster), configs: ['deleting_config', 'deleting', 'failed', 'fine'].map(config) };
  const dir = tempDir(t, 'eksidp-drift-tf-live-');
  const first = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0, dataDir: data });
  writeSpec(dir, spec, first.url);
  const applied = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir);
  await first.close();
  t.is(applied.code, 0, applied.stderr);
  const file = path.join(data, 'state.json');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { clusters: { name: string; status: string }[] };
  saved.clusters.find((c) => c.name === 'tfl-failed')!.status = 'FAILED';
  fs.writeFileSync(file, JSON.stringify(saved));

  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 3_600_000, clusterDeleteMs: 3_600_000, dataDir: data });
  t.teardown(() => emu.close());
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  writeSpec(dir, spec, emu.url);
  await disassociate(emu.url, client, 'tfl-deleting_config', 'okta', false);
  await deleteCluster(emu.url, client, 'tfl-deleting', false);
  t.is(await configStatus(client, 'tfl-deleting_config', 'okta'), 'DELETING');
  t.is(await clusterStatus(client, 'tfl-deleting'), 'DELETING');
  t.is(await clusterStatus(client, 'tfl-failed'), 'FAILED');

  t.is((await terraform(dir, ['init', '-input=false', '-no-color'])).code, 0);
  const planned = await terraform(dir, ['plan', '-input=false', '-lock=false', '-no-color', '-out', 'tf.tfplan']);
  t.is(planned.code, 0, planned.stderr);
  const tf = JSON.parse((await terraform(dir, ['show', '-json', 'tf.tfplan'])).stdout) as PlanJson;
  const tfActions = Object.fromEntries(tf.resource_changes.map((c) => [c.address, c.change.actions.join(',')]));
  const ours = await eksidp(['plan', '--dir', dir, '--json'], dir);
  t.is(ours.code, 0, ours.stderr);
  const ourActions = Object.fromEntries((JSON.parse(ours.stdout) as PlanJson).resource_changes.map((c) => [c.address, c.change.actions.join(',')]));
  t.deepEqual(ourActions, tfActions, 'eksidp plans what Terraform plans');
  t.true(Object.values(tfActions).every((a) => a === 'no-op'), `Terraform leaves them all alone: ${JSON.stringify(tfActions)}`);
  t.log(`terraform 1.11 + hashicorp/aws 5.100: ${JSON.stringify(tfActions)}`);

  const d = await eksidp(['drift', '--dir', dir, '--format', 'json'], dir);
  t.is(d.code, 2);
  const report = JSON.parse(d.stdout) as DriftJson;
  const verdict = (a: string) => { const r = report.resources.find((x) => x.address === a)!; return [r.status, r.live_status]; };
  t.deepEqual(verdict('aws_eks_identity_provider_config.deleting_config_okta'), ['missing', 'DELETING']);
  t.deepEqual(verdict('aws_eks_cluster.deleting'), ['missing', 'DELETING']);
  t.deepEqual(verdict('aws_eks_identity_provider_config.deleting_okta'), ['missing', 'DELETING']);
  t.deepEqual(verdict('aws_eks_cluster.failed'), ['missing', 'FAILED']);
  t.deepEqual(verdict('aws_eks_identity_provider_config.failed_okta'), ['missing', 'FAILED']);
  t.deepEqual(verdict('aws_eks_cluster.fine'), ['in_sync', 'ACTIVE']);
  t.deepEqual(verdict('aws_eks_identity_provider_config.fine_okta'), ['in_sync', 'ACTIVE']);
});
