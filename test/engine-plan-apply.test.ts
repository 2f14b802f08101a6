import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { idempotencyToken } from '../engine/apply';
import { jsonPlan } from '../engine/json-plan';
import { acquireLock, forceUnlock, lockPath } from '../engine/lock';
import { plan, planCounts } from '../engine/plan';
import { checkPlanFile, readPlanFile, savedPlanConfig, writePlanFile } from '../engine/planfile';
import { isUnknown, UNKNOWN, type Value } from '../engine/protocol';
import { isUnknownValue } from '../providers/eks/validation';
import { colors } from '../lib/color';
import { renderPlan } from '../engine/render';
import { readState, removeDeadWritersTempFiles, StateManager, stateText, writeStateFile, type StateV4 } from '../engine/state';
import { canonicalJson } from '../engine/util';
import { engineErrors, harness } from './fixtures/engine/harness';

const actionsOf = (changes: { address: string; actions: string[] }[]) => Object.fromEntries(changes.map((c) => [c.address, c.actions.join(',')]));

test('a first plan creates everything; unknown values propagate to dependents', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' }, b: { name: 'b', value: '${memory_item.a.arn}' }, c: { name: 'c', value: 'x-${memory_item.a.name}' } });
  const p = await h.plan();
  t.deepEqual(actionsOf(p.changes), { 'memory_item.a': 'create', 'memory_item.b': 'create', 'memory_item.c': 'create' });
  const b = p.changes.find((c) => c.address === 'memory_item.b')!;
  t.true(isUnknown(b.after!.value));
  t.is(p.changes.find((c) => c.address === 'memory_item.c')!.after!.value, 'x-a');
  t.deepEqual(b.dependencies, ['memory_item.a']);
  t.deepEqual(planCounts(p.changes), { add: 3, change: 0, destroy: 0 });
});

test('apply creates in dependency order, resolves unknowns, writes state v4, and a re-plan is all no-op', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', spec: [{ label: 'L' }] }, b: { name: 'b', value: '${memory_item.a.spec[0].label}:${memory_item.a.arn}' } });
  const { result, log } = await h.apply();
  t.deepEqual(result.diagnostics, []);
  t.is(result.added, 2);
  t.true(log.indexOf('memory_item.a done create') < log.indexOf('memory_item.b start create'));
  const state = readState(h.statePath)!;
  t.is(state.version, 4);
  t.is(state.terraform_version, '1.11.4');
  t.is(state.check_results, null);
  t.deepEqual(state.outputs, {});
  const b = state.resources.find((r) => r.name === 'b')!;
  t.is(b.provider, 'provider["registry.terraform.io/hashicorp/memory"]');
  t.is(b.instances[0]!.attributes.value, 'L:arn:memory:::item/a');
  t.deepEqual(b.instances[0]!.dependencies, ['memory_item.a']);
  t.deepEqual(b.instances[0]!.sensitive_attributes, []);
  // Every schema attribute present, null when unset; blocks as lists.
  t.is(b.instances[0]!.attributes.size, null);
  t.deepEqual(b.instances[0]!.attributes.spec, []);
  const again = await h.plan();
  t.deepEqual(actionsOf(again.changes), { 'memory_item.a': 'no-op', 'memory_item.b': 'no-op' });
});

test('plan distinguishes update, replace (with paths), delete and honours create_before_destroy and ignore_changes', async (t) => {
  const h = harness(t);
  h.write({ u: { name: 'u', value: 'v1' }, r: { name: 'r1' }, d: { name: 'd' }, cbd: { name: 'cbd1', lifecycle: { create_before_destroy: true } }, ig: { name: 'ig', value: 'keep', lifecycle: { ignore_changes: ['value'] } } });
  await h.apply();
  h.write({ u: { name: 'u', value: 'v2' }, r: { name: 'r2' }, cbd: { name: 'cbd2', lifecycle: { create_before_destroy: true } }, ig: { name: 'ig', value: 'changed', lifecycle: { ignore_changes: ['value'] } } });
  const p = await h.plan();
  t.deepEqual(actionsOf(p.changes), {
    'memory_item.u': 'update', 'memory_item.r': 'delete,create', 'memory_item.cbd': 'create,delete', 'memory_item.ig': 'no-op', 'memory_item.d': 'delete',
  });
  const r = p.changes.find((c) => c.address === 'memory_item.r')!;
  t.deepEqual(r.replacePaths, [['name']]);
  t.is(r.reason, 'replace_because_cannot_update');
  t.is(p.changes.find((c) => c.address === 'memory_item.d')!.reason, 'delete_because_no_resource_config');
  // The plan is data: a change holds what it does, no text for a view (views derive their notes).
  t.deepEqual(Object.keys(r).sort(), ['actions', 'address', 'after', 'before', 'dependencies', 'mode', 'name', 'priorDependencies', 'provider', 'providerAddress', 'reason', 'replacePaths', 'schemaVersion', 'type']);
  t.deepEqual(planCounts(p.changes), { add: 2, change: 1, destroy: 3 });
  const text = renderPlan(p, colors(false));
  t.regex(text, /-\/\+ resource "memory_item" "r" \{\n(?:.*\n)*?\s+~ name\s+= "r1" -> "r2" # forces replacement/);
  t.regex(text, /~ value = "v1" -> "v2"/);
  t.regex(text, /# memory_item\.d will be destroyed\n  # \(because memory_item\.d is not in configuration\)/);
  t.regex(text, /Plan: 2 to add, 1 to change, 3 to destroy\.\n$/);
  const { result } = await h.apply();
  t.deepEqual(result.diagnostics, []);
  t.deepEqual(Object.keys(h.cloud().objects).sort(), ['mem-cbd2', 'mem-ig', 'mem-r2', 'mem-u']);
});

test('drift found on refresh is planned back; an object deleted out of band is re-created', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 'v' }, b: { name: 'b' } });
  await h.apply();
  const cloud = h.cloud();
  cloud.objects['mem-a']!.value = 'edited';
  delete cloud.objects['mem-b'];
  fs.writeFileSync(h.cloudFile, JSON.stringify(cloud));
  const p = await h.plan();
  t.deepEqual(actionsOf(p.changes), { 'memory_item.a': 'update', 'memory_item.b': 'create' });
  t.is(p.changes[0]!.before!.value, 'edited');
  const noRefresh = await h.plan({ refresh: false });
  t.deepEqual(actionsOf(noRefresh.changes), { 'memory_item.a': 'no-op', 'memory_item.b': 'no-op' });
});

test('a failed resource records its partial state, skips dependents and continues independent ones', async (t) => {
  const h = harness(t);
  h.write({ bad: { name: 'bad' }, dep: { name: 'dep', value: '${memory_item.bad.id}' }, ok: { name: 'ok' } }, { fail_on: ['bad'], fail_partial: true });
  const { result } = await h.apply();
  t.true(result.diagnostics.some((d) => d.address === 'memory_item.bad' && /injected failure/.test(d.summary)));
  t.deepEqual(result.skipped, ['memory_item.dep']);
  t.is(result.added, 1);
  const state = readState(h.statePath)!;
  const bad = state.resources.find((r) => r.name === 'bad')!;
  t.is(bad.instances[0]!.status, 'tainted');
  t.truthy(state.resources.find((r) => r.name === 'ok'));
  t.falsy(state.resources.find((r) => r.name === 'dep'));
  // The tainted object is replaced next time.
  h.write({ bad: { name: 'bad' }, dep: { name: 'dep', value: '${memory_item.bad.id}' }, ok: { name: 'ok' } });
  const p = await h.plan();
  const c = p.changes.find((x) => x.address === 'memory_item.bad')!;
  t.deepEqual(c.actions, ['delete', 'create']);
  t.is(c.reason, 'replace_because_tainted');
});

test('applies with the same concurrency key never overlap; different keys run in parallel', async (t) => {
  const h = harness(t);
  h.write({ a1: { name: 'a1', group: 'A' }, a2: { name: 'a2', group: 'A' }, a3: { name: 'a3', group: 'A' }, b1: { name: 'b1', group: 'B' }, b2: { name: 'b2', group: 'B' } }, { apply_delay_ms: 150 });
  const { result } = await h.apply({ parallelism: 10 });
  t.deepEqual(result.diagnostics, []);
  const events = h.cloud().events;
  for (const key of ['A', 'B']) {
    const ev = events.filter((e) => e.key === key).sort((x, y) => x.start - y.start);
    for (let i = 1; i < ev.length; i++) t.true(ev[i]!.start >= ev[i - 1]!.end, `${key} overlapped`);
  }
  const a = events.filter((e) => e.key === 'A'), b = events.filter((e) => e.key === 'B');
  // Overlap in time proves the parallelism; a bound on the total span would only measure the machine's load.
  t.true(a.some((x) => b.some((y) => x.start < y.end && y.start < x.end)), 'keys A and B should overlap');
});

test('idempotency tokens are deterministic: the same intended change gets the same token', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 'v' } });
  const first = await h.open();
  const { plan } = await import('../engine/plan');
  const { apply } = await import('../engine/apply');
  const p = await plan(first.ws, first.state.state, { lineage: first.state.state.lineage, serial: 0 });
  const state1 = new StateManager(h.statePath, first.state.state, false);
  await apply(first.ws, p, state1);
  const token1 = first.provider.requests.find((r) => r.verb === 'apply')!.token;
  // Simulate a crash before the state was written: same lineage, same plan, object already made.
  fs.rmSync(h.statePath);
  fs.rmSync(`${h.statePath}.backup`, { force: true });
  const second = await h.open();
  const state2 = new StateManager(h.statePath, { ...second.state.state, lineage: state1.state.lineage }, false);
  const p2 = await plan(second.ws, state2.state, { lineage: state1.state.lineage, serial: 0 });
  const r = await apply(second.ws, p2, state2);
  t.deepEqual(r.diagnostics, [], 'the resumed create is answered with the existing object, not a conflict');
  t.is(second.provider.requests.find((x) => x.verb === 'apply')!.token, token1);
  t.is(Object.keys(h.cloud().objects).length, 1);
});

test('destroy deletes dependents first; --target limits a plan to the target and its dependencies', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' }, b: { name: 'b', value: '${memory_item.a.id}' }, c: { name: 'c' } });
  const targeted = await h.plan({ targets: ['memory_item.b'] });
  t.deepEqual(Object.keys(actionsOf(targeted.changes)).sort(), ['memory_item.a', 'memory_item.b']);
  await h.apply();
  const { result, log } = await h.apply({ destroy: true });
  t.deepEqual(result.diagnostics, []);
  t.is(result.destroyed, 3);
  t.true(log.indexOf('memory_item.b done delete') < log.indexOf('memory_item.a start delete'));
  t.deepEqual(readState(h.statePath)!.resources, []);
  t.deepEqual(h.cloud().objects, {});
  await t.throwsAsync(() => h.plan({ targets: ['memory_item.nope'] }), { message: /^memory_item\.nope: no such resource in the configuration or state \(given as --target\)$/ });
});

test('prevent_destroy refuses a plan that would destroy the resource', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a1', lifecycle: { prevent_destroy: true } } });
  await h.apply();
  h.write({ a: { name: 'a2', lifecycle: { prevent_destroy: true } } });
  const errors = await engineErrors(t, () => h.plan());
  t.true(errors.some((e) => /memory_item\.a: name: Instance cannot be destroyed/.test(e)), errors.join(' | '));
});

test('data sources are read during plan, or deferred to apply when their config is unknown', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 'hello' } });
  await h.apply();
  const json = JSON.parse(fs.readFileSync(`${h.dir}/cdk.tf.json`, 'utf8'));
  json.data = { memory_item: { known: { name: 'a' } } };
  json.resource.memory_item.b = { name: 'b', value: '${data.memory_item.known.value}' };
  fs.writeFileSync(`${h.dir}/cdk.tf.json`, JSON.stringify(json));
  const p = await h.plan();
  t.is(p.changes.find((c) => c.address === 'memory_item.b')!.after!.value, 'hello');
  t.falsy(p.changes.find((c) => c.address === 'data.memory_item.known'));
  json.resource.memory_item.c = { name: 'c' };
  json.data.memory_item.later = { name: '${memory_item.c.name}', depends_on: ['memory_item.c'] };
  fs.writeFileSync(`${h.dir}/cdk.tf.json`, JSON.stringify(json));
  const { plan: p2, result } = await h.apply();
  t.deepEqual(p2.changes.find((c) => c.address === 'data.memory_item.later')!.actions, ['read']);
  t.deepEqual(result.diagnostics, []);
  t.is(readState(h.statePath)!.resources.find((r) => r.name === 'later')!.instances[0]!.attributes.id, 'mem-c');
});

test('plan leaves the state it was given as it was: refresh changes, deletions, implied moves and data reads happen on its own copy', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', value: 'v' }, b: { name: 'b', value: 'w' }, c: { name: 'c' } });
  await h.apply();
  // Outside changes: a's value edited, b deleted; then c removed from the stack, a given count
  // (its object moves to [0]) and a data source added.
  const cloud = h.cloud();
  const ids = Object.keys(cloud.objects);
  const aId = ids.find((id) => (cloud.objects[id] as { name?: string }).name === 'a')!;
  const bId = ids.find((id) => (cloud.objects[id] as { name?: string }).name === 'b')!;
  (cloud.objects[aId] as { value?: string }).value = 'edited';
  delete cloud.objects[bId];
  fs.writeFileSync(h.cloudFile, JSON.stringify(cloud));
  h.write({ a: { name: 'a', value: 'v', count: 1 }, b: { name: 'b', value: 'w' } }, {}, { data: { memory_item: { d: { name: 'a' } } } });
  const { ws, state } = await h.open();
  const given = structuredClone(state.state);
  const p = await plan(ws, state.state, { lineage: state.state.lineage, serial: state.state.serial });
  const actions = actionsOf(p.changes);
  t.is(actions['memory_item.a[0]'], 'update', JSON.stringify(actions));
  t.is(actions['memory_item.b'], 'create');
  t.is(actions['memory_item.c'], 'delete');
  t.true(p.priorState.resources.some((r) => r.mode === 'data'), 'the data source is in the plan\'s state');
  t.deepEqual(state.state, given, 'the state given to plan is unchanged');
});

test('independent data sources are read in parallel during plan, not one after another', async (t) => {
  const h = harness(t);
  const names = ['a', 'b', 'c', 'd'];
  h.write(Object.fromEntries(names.map((n) => [n, { name: n, value: n }])));
  await h.apply();
  // Adopted clusters are data sources with no dependencies: a fleet of them must not cost one round trip each.
  h.write(Object.fromEntries(names.map((n) => [n, { name: n, value: n }])), { read_delay_ms: 40 },
    { data: { memory_item: Object.fromEntries(names.map((n) => [`d_${n}`, { name: n }])) } });
  const { ws, state, provider } = await h.open();
  const p = await plan(ws, state.state, { lineage: state.state.lineage, serial: state.state.serial });
  t.deepEqual(p.changes.filter((c) => c.actions[0] !== 'no-op'), []);
  t.is(provider.requests.filter((r) => r.verb === 'read-data').length, names.length, 'each data source read once');
  t.true(provider.maxConcurrentDataReads > 1, `at most ${provider.maxConcurrentDataReads} read at once`);
});

test('the JSON plan has the terraform show -json shape', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a', spec: [{ label: 'x' }] }, b: { name: 'b', value: '${memory_item.a.arn}' } });
  const p = await h.plan();
  const c = h.config();
  const j = jsonPlan(p, c.resources, new Map([['memory', { name: 'memory', source: 'registry.terraform.io/hashicorp/memory' }]])) as Record<string, any>;
  t.is(j.format_version, '1.2');
  t.is(j.terraform_version, '1.11.4');
  const rc = j.resource_changes.find((x: { address: string }) => x.address === 'memory_item.b');
  t.like(rc, { address: 'memory_item.b', mode: 'managed', type: 'memory_item', name: 'b', provider_name: 'registry.terraform.io/hashicorp/memory' });
  t.deepEqual(rc.change.actions, ['create']);
  t.is(rc.change.before, null);
  t.is(rc.change.after.value, null);
  t.deepEqual(rc.change.after_unknown, { arn: true, id: true, status: true, value: true, spec: [] });
  const ra = j.resource_changes.find((x: { address: string }) => x.address === 'memory_item.a');
  t.deepEqual(ra.change.after_unknown.spec, [{ labels: false } as never].map(() => ({})));
  t.false('value' in j.planned_values.root_module.resources[1].values && j.planned_values.root_module.resources[1].values.arn !== undefined);
  t.deepEqual(j.configuration.root_module.resources[1].expressions.value, { references: ['memory_item.a.arn', 'memory_item.a'] });
  t.is(j.prior_state, undefined);
});

test('state writes are atomic, 0600, keep a backup, bump serial and keep lineage', (t) => {
  const h = harness(t);
  const s = new StateManager(h.statePath, null, false);
  s.set({ mode: 'managed', type: 'memory_item', name: 'a', provider: 'provider["x"]' }, { schema_version: 0, attributes: { id: '1' }, sensitive_attributes: [] });
  return s.persist().then(async () => {
    const first = readState(h.statePath)!;
    t.is(first.serial, 1);
    t.is(fs.statSync(h.statePath).mode & 0o777, 0o600);
    s.set({ mode: 'managed', type: 'memory_item', name: 'a', provider: 'provider["x"]' }, { schema_version: 0, attributes: { id: '2' }, sensitive_attributes: [] });
    await s.persist();
    await s.persist(); // nothing changed: no new serial
    const second = readState(h.statePath)!;
    t.is(second.serial, 2);
    t.is(second.lineage, first.lineage);
    t.is(readState(`${h.statePath}.backup`)!.resources[0]!.instances[0]!.attributes.id, '1');
    t.is(fs.statSync(`${h.statePath}.backup`).mode & 0o777, 0o600);
    t.deepEqual(fs.readdirSync(h.dir).filter((f) => f.endsWith('.tmp')), []);
  });
});

test('idempotency tokens are stable across eksidp versions: a known value (a resumed apply after an upgrade must send the same token)', (t) => {
  const planned = { oidc: [{ issuer_url: 'https://idp.example.com', client_id: '\u00f6-client', required_claims: { b: '2', a: '1' }, groups_prefix: undefined }], cluster_name: 'prod', tags: null, list: [1, 'x\n', true, null, {}] };
  t.is(canonicalJson(planned), '{"cluster_name":"prod","list":[1,"x\\n",true,null,{}],"oidc":[{"client_id":"\u00f6-client","issuer_url":"https://idp.example.com","required_claims":{"a":"1","b":"2"}}],"tags":null}');
  // Computed by eksidp at a18a652 (createHash and map/join), before both were made cheaper.
  t.is(idempotencyToken('lineage-1', 7, 'aws_eks_identity_provider_config.okta', 'create', planned as unknown as Value), '3c01fb90dbefb378142a00986401756a');
});

test('the backup is the file as it was before each write, also when something else changed the file since this process wrote it', async (t) => {
  const h = harness(t);
  const s = new StateManager(h.statePath, null, false);
  const at = { mode: 'managed' as const, type: 'memory_item', name: 'a', provider: 'provider["x"]' };
  const write = async (id: string) => {
    s.set(at, { schema_version: 0, attributes: { id }, sensitive_attributes: [] });
    await s.persist();
  };
  await write('1');
  await write('2');
  t.is(fs.readFileSync(`${h.statePath}.backup`, 'utf8'), stateTextOf({ ...readState(h.statePath)!, serial: 1 }, '1'));
  // Replaced by another writer (a new file), then changed in place: each time the backup is what the file held.
  const other = fs.readFileSync(h.statePath, 'utf8').replace('"id": "2"', '"id": "other"');
  fs.writeFileSync(`${h.statePath}.new`, other);
  fs.renameSync(`${h.statePath}.new`, h.statePath);
  await write('3');
  t.is(fs.readFileSync(`${h.statePath}.backup`, 'utf8'), other);
  const inPlace = fs.readFileSync(h.statePath, 'utf8').replace('"id": "3"', '"id": "in-place"');
  fs.writeFileSync(h.statePath, inPlace);
  await write('4');
  t.is(fs.readFileSync(`${h.statePath}.backup`, 'utf8'), inPlace);
  await write('5');
  t.is(readState(`${h.statePath}.backup`)!.resources[0]!.instances[0]!.attributes.id, '4');
});

test('StateManager owns the state: exists() once there is a state to protect, adoptLineage only before', async (t) => {
  const h = harness(t);
  const s = StateManager.load(h.statePath);
  t.false(s.exists(), 'no file');
  s.adoptLineage('from-a-saved-plan');
  t.is(s.state.lineage, 'from-a-saved-plan');
  s.set({ mode: 'managed', type: 'memory_item', name: 'a', provider: 'provider["x"]' }, { schema_version: 0, attributes: { id: '1' }, sensitive_attributes: [] });
  await s.persist();
  t.true(s.exists());
  t.throws(() => s.adoptLineage('other'), { message: /exists with lineage from-a-saved-plan: its lineage cannot change to other/ });
  const again = StateManager.load(h.statePath);
  t.true(again.exists(), 'a file with a serial');
  t.is(again.state.lineage, 'from-a-saved-plan');
  t.throws(() => again.adoptLineage('other'));
  fs.writeFileSync(h.statePath, '');
  t.false(StateManager.load(h.statePath).exists(), 'an empty file is no state, as Terraform reads it');
});

test('corrupt, truncated or newer state is a clear error and is left untouched', async (t) => {
  const h = harness(t);
  fs.writeFileSync(h.statePath, '{"version": 4, "serial": 1, "lin');
  t.throws(() => readState(h.statePath), { message: /is corrupt/ });
  fs.writeFileSync(h.statePath, JSON.stringify({ version: 5, serial: 1, lineage: 'x', resources: [] }));
  t.throws(() => readState(h.statePath), { message: /format version 5, newer than this eksidp supports/ });
  t.is(JSON.parse(fs.readFileSync(h.statePath, 'utf8')).version, 5);
  await writeStateFile(h.statePath, { version: 4, terraform_version: '1.11.4', serial: 3, lineage: 'l', outputs: {}, resources: [], check_results: null });
  t.is(readState(h.statePath)!.serial, 3);
});

test('the lock refuses a second holder, reports stale locks with the force-unlock command, and force-unlock checks the ID', (t) => {
  const h = harness(t);
  const lock = acquireLock(h.statePath, 'apply');
  t.throws(() => acquireLock(h.statePath, 'apply'), { message: new RegExp(`locked by .*pid ${process.pid} \\(apply since .*lock ID ${lock.info.ID}`) });
  lock.release();
  t.false(fs.existsSync(lockPath(h.statePath)));
  // A lock left by a process that is gone (a pid that cannot be running).
  fs.writeFileSync(lockPath(h.statePath), JSON.stringify({ ...lock.info, ID: 'stale-id', Pid: 2 ** 22 + 12345 }));
  t.throws(() => acquireLock(h.statePath, 'apply'), { message: /the lock is stale.*eksidp force-unlock stale-id/ });
  t.throws(() => forceUnlock(h.statePath, 'wrong'), { message: /lock ID mismatch/ });
  forceUnlock(h.statePath, 'stale-id');
  acquireLock(h.statePath, 'plan').release();
});

test('a saved plan round-trips with its configuration, and is refused when the state changed or its configuration was edited', async (t) => {
  const h = harness(t);
  h.write({ a: { name: 'a' } });
  const p = await h.plan();
  const file = `${h.dir}/plan.json`;
  writePlanFile(file, p, h.config(), '0.1.0');
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  const pf = readPlanFile(file);
  t.true(isUnknown(pf.plan.changes[0]!.after!.id));
  // The stack synthesized again: the plan's own configuration is what apply evaluates.
  h.write({ a: { name: 'a', value: 'other' } });
  const carried = savedPlanConfig(pf, file);
  t.is(carried.hash, p.configHash);
  t.deepEqual(carried.resources.map((r) => [r.address, r.body]), [['memory_item.a', { name: 'a' }]]);
  const edited = readPlanFile(file);
  (edited.configuration.json.resource as { memory_item: { a: { name: string } } }).memory_item.a.name = 'b';
  t.throws(() => savedPlanConfig(edited, file), { message: /plan\.json is damaged: the configuration it carries does not match/ });
  const current = { stackName: 'test', statePath: h.statePath, lineage: p.prior.lineage, serial: 0, stateExists: false };
  t.notThrows(() => checkPlanFile(pf, current));
  t.throws(() => checkPlanFile(pf, { ...current, stateExists: true, serial: 4 }), { message: /state changed since the plan/ });
  t.throws(() => checkPlanFile(pf, { ...current, stackName: 'prod' }), { message: /for stack 'test', not 'prod'/ });
});

test('unknown values are one marker, known by identity: a look-alike object is data; the plan file alone converts to and from {"__unknown__": true}', async (t) => {
  const lookAlike = { __unknown__: true };
  t.true(isUnknown(UNKNOWN));
  t.false(isUnknown(lookAlike));
  t.false(isUnknownValue(lookAlike), 'the EKS validation rules check a look-alike as data');
  t.true(isUnknownValue(UNKNOWN));
  const h = harness(t);
  h.write({ a: { name: 'a' } });
  const p = await h.plan();
  t.true(isUnknown(p.changes[0]!.after!.id));
  // A look-alike in the prior state (data) stays data through the file; the planned unknowns come back as the marker.
  p.priorState.resources.push({ mode: 'managed', type: 'memory_item', name: 'z', provider: 'provider["x"]', instances: [{ schema_version: 0, attributes: { id: 'z', tags: lookAlike as never }, sensitive_attributes: [] }] });
  const file = `${h.dir}/plan.json`;
  writePlanFile(file, p, h.config(), '0.1.0');
  const wire = JSON.parse(fs.readFileSync(file, 'utf8')) as { plan: { changes: { after: Record<string, unknown> }[] } };
  t.deepEqual(wire.plan.changes[0]!.after.id, { __unknown__: true });
  const back = readPlanFile(file).plan;
  t.is(back.changes[0]!.after!.id, UNKNOWN);
  t.false(isUnknown(back.priorState.resources.at(-1)!.instances[0]!.attributes.tags));
  t.deepEqual(back.priorState.resources.at(-1)!.instances[0]!.attributes.tags, lookAlike);
});

test('import reads the object into state through the provider; apply refuses nothing afterwards', async (t) => {
  const h = harness(t);
  fs.writeFileSync(h.cloudFile, JSON.stringify({ objects: { 'mem-x': { id: 'mem-x', name: 'x', value: 'v', arn: 'arn:memory:::item/x', status: 'ready' } }, events: [] }));
  h.write({ x: { name: 'x', value: 'v' } });
  const { provider } = await h.open();
  const imp = await provider.importResourceState({ typeName: 'memory_item', id: 'mem-x' });
  t.is(imp.state!.name, 'x');
  t.is(imp.state!.size, null);
  const missing = await provider.importResourceState({ typeName: 'memory_item', id: 'nope' });
  t.regex(missing.diagnostics[0]!.summary, /no memory_item with id "nope"/);
});

test('temp state files left by a killed writer are removed on the next load; a live writer\'s are kept', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-tmpstate-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'terraform.tfstate');
  const dead = `.terraform.tfstate.999999999.abcd1234.tmp`;
  const live = `.terraform.tfstate.${process.pid}.abcd1234.tmp`;
  const other = 'unrelated.tmp';
  for (const f of [dead, live, other]) fs.writeFileSync(path.join(dir, f), '{');
  removeDeadWritersTempFiles(file);
  t.deepEqual(fs.readdirSync(dir).sort(), [live, other].sort());
});

/** A state's text with its one memory_item's id set. */
function stateTextOf(state: StateV4, id: string): string {
  return stateText({ ...state, resources: state.resources.map((r) => ({ ...r, instances: r.instances.map((i) => ({ ...i, attributes: { ...i.attributes, id } })) })) });
}
