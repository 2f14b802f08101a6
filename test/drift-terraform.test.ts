import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeIdentityProviderConfigCommand, DisassociateIdentityProviderConfigCommand, TagResourceCommand,
} from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import { clusterName, driftCli, fleetStack, sdkClient, seedFleet, writeStack, writeTerraformStateFromLive, type FleetSpec } from './fixtures/drift/fleet';
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
  const okta = { type: 'oidc', name: 'okta' };
  const arn = (await client.send(new DescribeIdentityProviderConfigCommand({ clusterName: tagged, identityProviderConfig: okta }))).identityProviderConfig!.oidc!.identityProviderConfigArn!;
  await client.send(new TagResourceCommand({ resourceArn: arn, tags: { env: 'prod' } }));
  await client.send(new DisassociateIdentityProviderConfigCommand({ clusterName: gone, identityProviderConfig: okta }));
  for (let i = 0; ; i++) {
    const found = await client.send(new DescribeIdentityProviderConfigCommand({ clusterName: gone, identityProviderConfig: okta })).then(() => true, () => false);
    if (!found) break;
    if (i > 500) throw new Error('the disassociation never finished');
    await sleep(10);
  }

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
