import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { outsideChanges } from '../engine/plan';
import { colors } from '../lib/color';
import { renderPlan } from '../engine/render';
import { refreshProgress } from '../cli/progress';
import { engineErrors, harness } from './fixtures/engine/harness';
import { closedLoopbackPort } from './helpers/ports';
import { captureIo, runCommand } from './helpers/in-process';

/** What a reviewer reads in plan output: each line here was wrong or missing for a new user. */

const plain = colors(false);

test('refresh finds an object deleted and one changed outside of eksidp: the plan keeps prevRunState apart and prints Terraform\'s note', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 'v' }, b: { name: 'b' }, c: { name: 'c' } });
  await h.apply();
  const cloud = h.cloud();
  cloud.objects['mem-a']!.value = 'edited';
  delete cloud.objects['mem-b'];
  fs.writeFileSync(h.cloudFile, JSON.stringify(cloud));
  const p = await h.plan();
  t.is(p.prevRunState.resources.length, 3, 'the state as the last run left it');
  t.is(p.priorState.resources.length, 2, 'the refreshed state: b is gone');
  t.deepEqual(outsideChanges(p).map((c) => [c.address, c.kind]), [['memory_item.a', 'changed'], ['memory_item.b', 'deleted']]);
  const text = renderPlan(p, plain);
  t.regex(text, /^Note: Objects have changed outside of eksidp\n\neksidp detected the following changes made outside of eksidp since the last "eksidp apply" which may have affected this plan:\n\n {2}# memory_item\.a has changed\n {2}~ resource "memory_item" "a" \{\n {6}~ value += "v" -> "edited"\n/);
  t.regex(text, / {2}# memory_item\.b has been deleted\n {2}- resource "memory_item" "b" \{\n[\s\S]*? {6}- name += "b" -> null\n/);
  t.regex(text, /Unless you have made equivalent changes to your configuration[^\n]*\n\n─{77}\n\neksidp used the selected providers/);
  t.notRegex(text, /memory_item\.c has/, 'an untouched object is not in the note');
  // The plan's own actions are unchanged by the note.
  t.regex(text, /# memory_item\.a will be updated in-place[\s\S]*# memory_item\.b will be created/);
  // Nothing changed outside: no note.
  await h.apply();
  t.notRegex(renderPlan(await h.plan(), plain), /changed outside/);
});

test('an object that changed outside but that the plan leaves alone is not reported (no noise), and --refresh=false reports nothing', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 'v' } });
  await h.apply();
  const noRefresh = await h.plan({ refresh: false });
  t.deepEqual(outsideChanges(noRefresh), []);
  h.write({ a: { name: 'a', value: 'v' } });
  const cloud = h.cloud();
  cloud.objects['mem-a']!.status = 'busy';
  fs.writeFileSync(h.cloudFile, JSON.stringify(cloud));
  const p = await h.plan();
  t.deepEqual(outsideChanges(p), []);
});

test('a data source whose read fails reports that error alone, not also "data source returned no object"', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } }, {}, { data: { memory_item: { d: { name: 'absent' } } } });
  const errors = await engineErrors(t, () => h.plan());
  t.deepEqual(errors, ['data.memory_item.d: name: no memory_item named "absent"']);
});

test('plan --out with no changes says the file was written and that it changes nothing; with changes, that it holds state', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } });
  const withChanges = captureIo(h.dir);
  t.is(await runCommand(['plan', '--dir', '.', '--out', 'changes.tfplan'], withChanges), 0, withChanges.err());
  t.regex(withChanges.out(), /Saved the plan to: changes\.tfplan\n\nTo perform exactly these actions, run:\n {2}eksidp apply changes\.tfplan\n/);
  t.regex(withChanges.err(), /The plan file changes\.tfplan holds a copy of the state: keep it out of version control\./);
  await h.apply();
  const none = captureIo(h.dir);
  t.is(await runCommand(['plan', '--dir', '.', '--out', 'none.tfplan'], none), 0, none.err());
  t.regex(none.out(), /No changes\./);
  t.regex(none.err(), /Saved the plan to: none\.tfplan \(it has no changes: applying it changes nothing\)\. It holds a copy of the state/);
  t.true(fs.existsSync(path.join(h.dir, 'none.tfplan')));
});

test('--target with an unknown address names it once', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } });
  const io = captureIo(h.dir);
  t.is(await runCommand(['plan', '--dir', '.', '--target', 'memory_item.nope'], io), 1);
  t.is(io.err(), 'Error: memory_item.nope: no such resource in the configuration or state (given as --target)\n');
});

test('import says what was imported (not "shown above"), and an address already managed points to eksidp state rm, which works', async (t) => {
  const h = harness(t);
  h.write({ x: { name: 'x', value: 'v' } });
  fs.writeFileSync(h.cloudFile, JSON.stringify({ objects: { 'mem-x': { id: 'mem-x', name: 'x', value: 'v', arn: 'arn:memory:::item/x', status: 'ready' } }, events: [] }));
  const io = captureIo(h.dir);
  t.is(await runCommand(['import', 'memory_item.x', 'mem-x', '--dir', '.'], io), 0, io.err());
  t.notRegex(io.out(), /shown above/);
  t.regex(io.out(), /Import successful!\n\nmemory_item\.x \(ID "mem-x"\) is now in the state and will be managed by eksidp\. Run 'eksidp plan'/);
  const twice = captureIo(h.dir);
  t.is(await runCommand(['import', 'memory_item.x', 'mem-x', '--dir', '.'], twice), 1);
  t.notRegex(twice.err(), /remove it from state first/);
  t.regex(twice.err(), /already managed .*'eksidp state rm memory_item\.x' does that \(the object itself stays\), or 'eksidp destroy --target memory_item\.x'/);
  // The command it names works: the address leaves the state and the import succeeds again.
  const rm = captureIo(h.dir);
  t.is(await runCommand(['state', 'rm', 'memory_item.x', '--dir', '.'], rm), 0, rm.err());
  const again = captureIo(h.dir);
  t.is(await runCommand(['import', 'memory_item.x', 'mem-x', '--dir', '.'], again), 0, again.err());
});

test('refresh progress at a terminal: a line while reads run, a closing line; nothing off a terminal', async (t) => {
  const ttyErr = Object.assign(new PassThrough(), { isTTY: true });
  let text = '';
  ttyErr.on('data', (d) => (text += d));
  const io = { ...captureIo('.'), stderr: ttyErr };
  const p = refreshProgress(io, 20);
  p.onRefresh(0, 400);
  p.onRefresh(120, 400);
  await new Promise((r) => setTimeout(r, 70));
  p.onRefresh(400, 400);
  p.stop();
  t.regex(text, /^Refreshing state\.\.\. 120\/400 objects read \[0s elapsed\]\n/);
  t.regex(text, /Refreshed 400\/400 objects \[0s\]\n$/);
  const piped = captureIo('.');
  const q = refreshProgress(piped, 5);
  q.onRefresh(1, 2);
  await new Promise((r) => setTimeout(r, 30));
  q.stop();
  t.is(piped.err(), '');
});

test('plan reports each refresh read to its onRefresh hook (the CLI\'s progress view), starting at 0', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' }, b: { name: 'b' } });
  await h.apply();
  const seen: string[] = [];
  await h.plan({ onRefresh: (d, n) => seen.push(`${d}/${n}`) });
  t.deepEqual(seen, ['0/2', '1/2', '2/2']);
});

test('the EKS endpoint down: plan says once that it does not answer, with the hint to start the emulator, not one line per resource', async (t) => {
  const port = await closedLoopbackPort();
  const dir = (await import('./helpers/project')).tempDir(t, 'eksidp-down-');
  const endpoint = `http://127.0.0.1:${port}`;
  const attrs = (name: string) => ({ id: name, name, arn: `arn:aws:eks:us-east-1:000000000000:cluster/${name}`, version: '1.32', role_arn: 'r', tags: {}, vpc_config: [{ subnet_ids: ['s'] }] });
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    provider: { aws: [{ region: 'us-east-1', access_key: 'x', secret_key: 'y', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: 'true', endpoints: [{ eks: endpoint }] }] },
    resource: { aws_eks_cluster: Object.fromEntries(['a', 'b', 'c'].map((n) => [n, { name: n, role_arn: 'r', vpc_config: { subnet_ids: ['s'] } }])) },
  }));
  fs.writeFileSync(path.join(dir, 'terraform.tfstate'), JSON.stringify({
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'l', outputs: {},
    resources: ['a', 'b', 'c'].map((n) => ({ mode: 'managed', type: 'aws_eks_cluster', name: n, provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: 0, attributes: attrs(n) }] })),
  }));
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true' });
  t.is(await runCommand(['plan', '--dir', '.'], io), 1);
  t.is(io.err(), `Error: the EKS endpoint 127.0.0.1:${port} does not answer (connection refused), for 3 resources: aws_eks_cluster.a, aws_eks_cluster.b, aws_eks_cluster.c ` +
    `(is the EKS emulator running? Start it with \`npm start\`, or \`node_modules/.bin/eksidp emulator --data .eksidp/emulator --port ${port}\`)\n`);
});
