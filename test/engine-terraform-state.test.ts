import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readState, StateManager, writeStateFile } from '../engine/state';
import { terraform, terraformTest } from './helpers/terraform';
import { harness } from './fixtures/engine/harness';

/**
 * State interop with real Terraform, using its built-in terraform_data resource (no provider
 * download, runs in well under a second): eksidp reads what Terraform writes, and Terraform reads
 * what eksidp writes, with the same layout.
 */
terraformTest(test, 'eksidp reads Terraform state and Terraform reads state eksidp rewrote, with the same layout', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-tfstate-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ resource: { terraform_data: { a: { input: 'x' }, b: { input: '${terraform_data.a.id}' } } } }));
  t.is((await terraform(dir, ['init', '-input=false'])).code, 0);
  const applied = await terraform(dir, ['apply', '-auto-approve', '-input=false']);
  t.is(applied.code, 0, applied.stderr);
  const file = path.join(dir, 'terraform.tfstate');
  const tfState = readState(file)!;
  t.is(tfState.version, 4);
  t.deepEqual(tfState.resources.map((r) => r.name), ['a', 'b']);
  t.deepEqual(tfState.resources[1]!.instances[0]!.dependencies, ['terraform_data.a']);

  // Rewrite it through eksidp's writer (new serial, same lineage): Terraform must accept it as is.
  const mgr = new StateManager(file, tfState, true);
  await writeStateFile(file, { ...mgr.state, serial: tfState.serial + 1 });
  const plan = await terraform(dir, ['plan', '-detailed-exitcode', '-input=false']);
  t.is(plan.code, 0, plan.stdout + plan.stderr);
  const list = await terraform(dir, ['state', 'list']);
  t.deepEqual(list.stdout.trim().split('\n'), ['terraform_data.a', 'terraform_data.b']);

  // The state eksidp writes for its own resources has Terraform's key order at every level.
  const h = harness(t);
  h.write({ a: { name: 'a' }, b: { name: 'b', value: '${memory_item.a.id}' } });
  await h.apply();
  const ours = JSON.parse(fs.readFileSync(h.statePath, 'utf8'));
  const theirs = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.deepEqual(Object.keys(ours), Object.keys(theirs));
  t.deepEqual(Object.keys(ours.resources[1]), Object.keys(theirs.resources[1]));
  t.deepEqual(Object.keys(ours.resources[1].instances[0]), Object.keys(theirs.resources[1].instances[0]));
});
