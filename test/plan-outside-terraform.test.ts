import test from 'ava';
import { startEmulator } from '../emulator';
import { clusterName, tagAndDisassociate, fleetStack, sdkClient, seedFleet, writeTerraformStateFromLive, type FleetSpec } from './fixtures/drift/fleet';
import { writeStack } from './helpers/stacks';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * Terraform as the oracle for the "Objects have changed outside of ..." note, on the same state and the
 * same out-of-band changes (a config's tags edited, another config disassociated). Measured here:
 * Terraform 1.11 prints NO note for them: since 1.2 it lists only drift that feeds another resource's
 * planned change (a reference), and nothing references a config. eksidp deliberately lists more: every
 * object refresh found deleted and every changed object the plan acts on (a new user saw "will be
 * created" with no word that the config had been deleted). So the test holds eksidp's note to what
 * Terraform names (a superset of it, same words) and pins eksidp's own list.
 */

/** `# ADDRESS has changed` / `has been deleted` lines of the note, before the plan proper begins. */
function noted(text: string, tool: string): string[] {
  const start = text.indexOf(`Note: Objects have changed outside of ${tool}`);
  if (start < 0) return [];
  const end = text.indexOf('Unless you have made equivalent changes', start);
  return [...text.slice(start, end).matchAll(/^ {2}# (\S+) (has changed|has been deleted)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

terraformTest(test, 'eksidp plan\'s "changed outside" note names what was deleted or changed, a superset of terraform plan\'s, with its words', async (t) => {
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0 });
  t.teardown(() => emu.close());
  const spec: FleetSpec = { clusters: 3, prefix: 'outside-' };
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  await seedFleet(client, spec);
  const dir = tempDir(t, 'eksidp-outside-tf-');
  writeStack(dir, fleetStack(spec, emu.url));
  await writeTerraformStateFromLive(dir, spec, emu.url);

  const [tagged, gone] = [0, 1].map((i) => clusterName(spec, i));
  await tagAndDisassociate(client, tagged, gone);

  const io = captureIo(dir);
  t.is(await runCommand(['plan', '--dir', dir, '--no-color'], io), 0, io.err());
  const ours = noted(io.out(), 'eksidp');
  const address = (c: string) => `aws_eks_identity_provider_config.${c.replace(/-/g, '_')}_okta`;
  t.deepEqual(ours, [`${address(tagged)} has changed`, `${address(gone)} has been deleted`].sort());

  t.is((await terraform(dir, ['init', '-input=false', '-no-color'])).code, 0);
  const tf = await terraform(dir, ['plan', '-input=false', '-lock=false', '-no-color']);
  t.is(tf.code, 0, tf.stderr);
  const theirs = noted(tf.stdout, 'Terraform');
  for (const line of theirs) t.true(ours.includes(line), `terraform notes "${line}"; eksidp must too`);
  t.log(`terraform plan's note: ${theirs.length ? theirs.join('; ') : '(none: no drift feeds another planned change)'}; eksidp's: ${ours.join('; ')}`);
  // Both plans act the same way on what changed outside: re-create the deleted config, retag the other.
  t.regex(tf.stdout, new RegExp(`# ${address(gone)} will be created`));
  t.regex(tf.stdout, new RegExp(`# ${address(tagged)} will be updated in-place`));
  t.regex(io.out(), new RegExp(`# ${address(gone)} will be created`));
  t.regex(io.out(), new RegExp(`# ${address(tagged)} will be updated in-place`));
});
