import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { fakeMirror, type Mirror } from './helpers/fake-plugin';
import type { Diagnostic } from '../engine/protocol';
import { formatDiagnostic } from '../engine/util';
import { renderChange } from '../engine/render';
import type { ResourceChange } from '../engine/plan';
import { colors } from '../lib/color';
import { findPlugin } from '../providers/plugin/find';
import { PluginProvider } from '../providers/plugin/provider';

/**
 * Write-only attributes through a plugin (Terraform 1.11's rules, internal/terraform/
 * node_resource_abstract_instance.go and internal/lang/ephemeral): the configured value reaches the
 * provider in the configuration of ValidateResourceTypeConfig, PlanResourceChange and
 * ApplyResourceChange, and nowhere else: not in the plan, the state, the JSON or text renderings; a
 * change of it alone plans nothing; a provider that returns it non-null is refused by name.
 * The fake plugin's `fake_secret` (fixtures/plugin/fake-plugin.js) records what it is given.
 */

const SECRET = 'hunter2-wo-8f3a1c';
const SECRET2 = 'swordfish-wo-5b7e9d';

type Run = { code: number; out: string; err: string };

function stackWith(m: Mirror, attrs: Record<string, unknown>): void {
  fs.writeFileSync(path.join(m.stack, 'cdk.tf.json'), JSON.stringify({
    terraform: { required_providers: { fake: { source: 'example/fake', version: '1.0.0' } } },
    provider: { fake: [{ region: 'us-east-1' }] },
    resource: { fake_secret: { db: { name: 'db', ...attrs } } },
  }));
}

function setup(t: { teardown(fn: () => void): void }) {
  const m = fakeMirror(t);
  const receivedFile = path.join(m.root, 'received.jsonl');
  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => {
    const io = captureIo(m.stack, { ...m.env, FAKE_PLUGIN_RECEIVED: receivedFile, ...env });
    const code = await runCommand([...argv], io);
    return { code, out: io.out(), err: io.err() };
  };
  let seen = 0;
  /** What the plugin was given since the last look: `<rpc> <password_wo>`. */
  const received = (): string[] => {
    const all = fs.existsSync(receivedFile) ? fs.readFileSync(receivedFile, 'utf8').split('\n').filter(Boolean) : [];
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh.map((l) => { const r = JSON.parse(l) as { rpc: string; password_wo: string | null }; return `${r.rpc} ${r.password_wo}`; });
  };
  const statePath = path.join(m.stack, 'terraform.tfstate');
  const state = () => (fs.existsSync(statePath) ? fs.readFileSync(statePath, 'utf8') : undefined);
  return { m, run, received, statePath, state };
}

const DIR = (m: Mirror) => ['--dir', m.stack];

test('the provider gets a write-only value in its configuration at validate, plan and apply; the plan, its file, the JSON, the text and the state never hold it', async (t) => {
  const { m, run, received, statePath, state } = setup(t);
  stackWith(m, { password_wo: SECRET, password_wo_version: 1 });
  const planFile = path.join(m.root, 'secret.tfplan');

  // One plugin run (each costs ~1.5 s here): the plan saved and printed as JSON; the text is `show FILE`'s, the same rendering.
  const plan = await run(['plan', ...DIR(m), '--out', planFile, '--json', '--detailed-exitcode']);
  t.is(plan.code, 2, plan.err);
  t.deepEqual(received(), [`ValidateResourceTypeConfig ${SECRET}`, `PlanResourceChange ${SECRET}`]);
  const text = await run(['show', planFile]);
  t.is(text.code, 0, text.err);
  t.regex(text.out, /fake_secret\.db will be created/);
  t.regex(text.out, /\+ password_wo +\= \(write-only attribute\)\n/, 'shown as Terraform shows it');
  t.false((text.out + text.err + plan.err).includes(SECRET), 'the plan text does not show the value');

  // The saved plan carries the configuration it was made from, as Terraform's plan file carries its
  // configuration snapshot: the value is there and only there (not in the planned change, not in the state copy).
  const saved = JSON.parse(fs.readFileSync(planFile, 'utf8')) as { configuration: { json: { resource: { fake_secret: { db: { password_wo: string } } } } }; plan: { changes: { after: Record<string, unknown> }[] } };
  t.is(saved.configuration.json.resource.fake_secret.db.password_wo, SECRET);
  t.is(saved.plan.changes[0]!.after.password_wo, null);
  t.false(JSON.stringify({ ...saved, configuration: undefined }).includes(SECRET), 'nothing but the carried configuration holds the value');
  t.is(fs.readFileSync(planFile, 'utf8').split(SECRET).length - 1, 1, 'the raw file holds it once: in the carried configuration');

  // The JSON plan (plan --json, show FILE --json): null in the change and the planned values; the
  // configuration section shows the literal as Terraform's does (constant_value), and only there.
  for (const json of [plan, await run(['show', planFile, '--json'])]) {
    t.true(json.code === 0 || json.code === 2, json.err);
    const doc = JSON.parse(json.out) as { resource_changes: { change: { after: Record<string, unknown> } }[]; planned_values: { root_module: { resources: { values: Record<string, unknown> }[] } }; configuration: { root_module: { resources: { expressions: Record<string, { constant_value?: unknown }> }[] } } };
    t.is(doc.resource_changes[0]!.change.after.password_wo, null);
    t.is(doc.planned_values.root_module.resources[0]!.values.password_wo, null);
    t.is(doc.configuration.root_module.resources[0]!.expressions.password_wo!.constant_value, SECRET);
    t.false(JSON.stringify({ ...doc, configuration: undefined }).includes(SECRET));
    t.false(json.err.includes(SECRET));
  }
  const apply = await run(['apply', planFile]);
  t.is(apply.code, 0, apply.err);
  t.false((apply.out + apply.err).includes(SECRET));
  // As Terraform's apply walk: validated and planned again (the final plan, checked against the saved one), then applied.
  t.deepEqual(received(), [`ValidateResourceTypeConfig ${SECRET}`, `PlanResourceChange ${SECRET}`, `ApplyResourceChange ${SECRET}`], 'apply hands the value to the provider');
  const raw = state();
  t.truthy(raw, `state written at ${statePath}`);
  t.false(raw!.includes(SECRET), 'the state file does not hold the value');
  const attrs = (JSON.parse(raw!) as { resources: { instances: { attributes: Record<string, unknown> }[] }[] }).resources[0]!.instances[0]!.attributes;
  t.like(attrs, { id: 'secret-db', name: 'db', password_wo: null, password_wo_version: 1 });

  for (const show of [await run(['show', ...DIR(m)]), await run(['show', ...DIR(m), '--json'])]) {
    t.is(show.code, 0, show.err);
    t.false((show.out + show.err).includes(SECRET));
  }

  // The same configuration again: no changes, though the provider is given the value again.
  const again = await run(['plan', ...DIR(m), '--detailed-exitcode']);
  t.is(again.code, 0, again.out + again.err);
  t.regex(again.out, /No changes/);
  t.true(received().includes(`PlanResourceChange ${SECRET}`));

  // Only the write-only value changed: Terraform compares without it, so nothing to do.
  stackWith(m, { password_wo: SECRET2, password_wo_version: 1 });
  const onlyWo = await run(['plan', ...DIR(m), '--detailed-exitcode']);
  t.is(onlyWo.code, 0, onlyWo.out + onlyWo.err);
  t.regex(onlyWo.out, /No changes/);
  t.false((onlyWo.out + onlyWo.err).includes(SECRET2));
  t.true(received().includes(`PlanResourceChange ${SECRET2}`));

  // The companion attribute is how a new value is applied: an in-place update, the value in apply's configuration.
  stackWith(m, { password_wo: SECRET2, password_wo_version: 2 });
  const bump = await run(['apply', ...DIR(m), '--auto-approve']);
  t.is(bump.code, 0, bump.err);
  t.regex(bump.out, /fake_secret\.db will be updated in-place/);
  t.regex(bump.out, /password_wo_version += 1 -> 2/);
  t.false((bump.out + bump.err).includes(SECRET2));
  t.true(received().includes(`ApplyResourceChange ${SECRET2}`));
  t.false(state()!.includes(SECRET2));
});

test('a provider that returns a write-only value is refused naming the resource and attribute, with exit 1 and nothing stored', async (t) => {
  const { m, run, state, statePath } = setup(t);
  stackWith(m, { password_wo: SECRET, password_wo_version: 1 });

  // Planned non-null: "Provider produced invalid plan" (Terraform's summary), the plan refused.
  const plan = await run(['plan', ...DIR(m), '--out', path.join(m.root, 'leak.tfplan')], { FAKE_PLUGIN_WO_LEAK: 'plan' });
  t.is(plan.code, 1, plan.out + plan.err);
  t.regex(plan.err, /Provider produced invalid plan/);
  t.regex(plan.err, /returned a value for the write-only attribute "fake_secret\.db\.password_wo" during planning/);
  t.false((plan.out + plan.err).includes(SECRET), 'the message does not quote the value');
  t.false(fs.existsSync(path.join(m.root, 'leak.tfplan')), 'no plan file');
  t.is(state(), undefined, 'no state written');

  // Non-null after apply: "Provider produced invalid object"; the created object is not stored.
  const apply = await run(['apply', ...DIR(m), '--auto-approve'], { FAKE_PLUGIN_WO_LEAK: 'apply' });
  t.is(apply.code, 1, apply.out + apply.err);
  t.regex(apply.err, /Provider produced invalid object/);
  t.regex(apply.err, /returned a value for the write-only attribute "fake_secret\.db\.password_wo" after apply/);
  t.false((apply.out + apply.err).includes(SECRET));
  const after = state();
  t.true(after === undefined || !after.includes('fake_secret'), `no state for fake_secret.db in ${statePath}`);
  t.false((after ?? '').includes(SECRET));

});

// Refresh, state upgrade, import and replacement through the provider alone: one plugin process for all.
test('a provider that reads, upgrades or imports a write-only value back is refused, and the prior object kept; its replacement of one is kept', async (t) => {
  const m = fakeMirror(t);
  const env = { ...m.env, FAKE_PLUGIN_WO_LEAK: 'read,upgrade,import', FAKE_PLUGIN_WO_REPLACE: '1' };
  const source = 'registry.terraform.io/example/fake';
  const p = new PluginProvider({ source, env, find: () => findPlugin({ source, stackDir: m.stack, stackName: 'fake', env }) });
  t.teardown(() => p.close());
  t.deepEqual((await p.configure({ config: { region: 'us-east-1' }, env })).diagnostics, []);
  const stored = { id: 'secret-db', name: 'db', password_wo: null, password_wo_version: 1 };
  const text = (ds: Diagnostic[]) => ds.map((d) => formatDiagnostic(d));
  const detail = (what: string, when: string) => `(Provider "${source}" returned a value for the write-only attribute "${what}.password_wo" ${when}. Write-only attributes cannot be read back from the provider. This is a bug in the provider, which should be reported in the provider's own issue tracker)`;

  const up = await p.upgradeResourceState({ typeName: 'fake_secret', address: 'fake_secret.db', version: 0, rawState: stored });
  t.is(up.upgradedState, null);
  t.deepEqual(text(up.diagnostics), [`fake_secret.db: password_wo: Invalid resource state upgrade ${detail('fake_secret.db', 'while upgrading its state')}`]);

  const read = await p.readResource({ typeName: 'fake_secret', address: 'fake_secret.db', priorState: { ...stored } });
  t.deepEqual(read.newState, stored, 'the prior object is kept');
  t.deepEqual(text(read.diagnostics), [`fake_secret.db: password_wo: Provider produced invalid object ${detail('fake_secret.db', 'during refresh')}`]);

  const imp = await p.importResourceState({ typeName: 'fake_secret', id: 'db' });
  t.is(imp.state, null);
  t.deepEqual(text(imp.diagnostics), [`password_wo: Import returned a non-null value for a write-only attribute ${detail('fake_secret', 'during import of "db"')}`]);
  t.false(JSON.stringify([up, read, imp]).includes('read-back'), 'no message quotes the value');

  // Null before and after, yet the provider says it forces replacement: kept, as Terraform keeps it
  // (getRequiredReplaces: "if attribute/path is writeOnly we have no values to compare"); other paths still need a change.
  const config = { id: null, name: 'db', password_wo: SECRET, password_wo_version: 1 };
  const planned = p.planResourceChange({ typeName: 'fake_secret', address: 'fake_secret.db', priorState: stored, proposedNewState: { ...stored, password_wo: SECRET }, config });
  t.deepEqual(planned.diagnostics, []);
  t.deepEqual(planned.requiresReplace, [['password_wo']]);
  t.like(planned.plannedState, { password_wo: null });
});

// Terraform's renderers/write_only.go: the label follows the block's action, an update counts it unchanged.
test('the plan text shows a write-only attribute as Terraform does: created, destroyed, sensitive, unchanged in an update', (t) => {
  const base = { address: 'fake_secret.db', mode: 'managed' as const, type: 'fake_secret', name: 'db', provider: 'fake', providerAddress: 'provider["registry.terraform.io/example/fake"]', replacePaths: [], dependencies: [], priorDependencies: [], schemaVersion: 0, writeOnly: [['password_wo']] };
  const obj = { id: 'secret-db', name: 'db', password_wo: null };
  const lines = (ch: ResourceChange) => renderChange(ch, colors(false)).filter((l) => l.includes('password_wo') || l.includes('hidden'));
  t.deepEqual(lines({ ...base, actions: ['create'], before: null, after: obj }), ['      + password_wo = (write-only attribute)']);
  t.deepEqual(lines({ ...base, actions: ['create'], before: null, after: obj, afterSensitive: [['password_wo']] }), ['      + password_wo = (sensitive, write-only attribute)']);
  t.deepEqual(lines({ ...base, actions: ['delete'], before: obj, after: null }), ['      - password_wo = (write-only attribute) -> null']);
  t.deepEqual(lines({ ...base, actions: ['update'], before: obj, after: { ...obj, name: 'db2' } }), ['        # (2 unchanged attributes hidden)']);
});
