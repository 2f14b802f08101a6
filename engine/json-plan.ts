import { parseProviderAddress, type ResourceConfig } from './config';
import { collectReferences } from './expressions';
import { stateOutputs, type OutputChange, type OutputConfig, type StateOutput } from './outputs';
import type { ObjectValue, Path, Value } from './protocol';
import { isUnknown } from './protocol';
import type { Plan, ResourceChange } from './plan';
import { instanceKey, resourceAddress, TERRAFORM_VERSION, type StateV4 } from './state';
import { compareKeys, instanceAddress } from './instances';
import { containsUnknown, isObject } from './util';
import { falseMirror, fromStatePaths, sensitiveMirror } from './sensitive';

/** The plan in `terraform show -json` format (format_version 1.2), built from the plan model. */

/** Values with unknowns removed (null in `after`; planned_values omits them). */
export function known(v: Value, omit: boolean): Value {
  if (isUnknown(v)) return null;
  if (Array.isArray(v)) return v.map((x) => known(x, omit));
  if (isObject(v)) {
    const out: ObjectValue = {};
    for (const [k, x] of Object.entries(v)) if (!(omit && isUnknown(x))) out[k] = known(x, omit);
    return out;
  }
  return v;
}

/** Terraform's unknownAsBool/sensitiveAsBool shape: lists keep positions, objects omit false. */
export function boolMirror(v: Value, pred: (x: Value) => boolean): Value {
  if (pred(v)) return true;
  if (Array.isArray(v)) return v.map((x) => boolMirror(x, pred));
  if (isObject(v)) {
    const out: ObjectValue = {};
    for (const [k, x] of Object.entries(v)) {
      const m = boolMirror(x, pred);
      if (m !== false) out[k] = m;
    }
    return out;
  }
  return false;
}


/** provider_name is the source alone, alias or not (`provider["src"].west` → `src`). */
function providerName(addr: string): string {
  return parseProviderAddress(addr)?.source ?? addr;
}

/**
 * Terraform's jsonstate values: outputs, and each resource instance (data sources first, then by type
 * and name, instances by key) with its index, dependencies and taint.
 */
function stateValues(state: StateV4, outputs: Record<string, unknown>, mirror = sensitiveMirror) {
  const order = (r: { mode: string; type: string; name: string }) => `${r.mode === 'data' ? 0 : 1}\u0000${r.type}\u0000${r.name}`;
  const resources = [...state.resources].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return {
    ...(Object.keys(outputs).length > 0 ? { outputs } : {}),
    root_module: {
      // Per instance key its current object, then its deposed ones with their keys, as Terraform's JSON state lists them.
      resources: resources.flatMap((r) => [...r.instances]
        .sort((a, b) => compareKeys(instanceKey(a), instanceKey(b)) || (a.deposed === undefined ? 0 : 1) - (b.deposed === undefined ? 0 : 1))
        .map((i) => {
          const key = instanceKey(i);
          return {
            address: instanceAddress(resourceAddress(r), key), mode: r.mode, type: r.type, name: r.name,
            ...(key === undefined ? {} : { index: key }), provider_name: providerName(r.provider),
            schema_version: i.schema_version, values: i.attributes, sensitive_values: mirror(i.attributes, fromStatePaths(i.sensitive_attributes)),
            ...(i.dependencies?.length ? { depends_on: i.dependencies } : {}), ...(i.status === 'tainted' ? { tainted: true } : {}),
            ...(typeof i.deposed === 'string' ? { deposed_key: i.deposed } : {}),
          };
        })),
    },
  };
}

/** A state as `terraform show -json` prints it (jsonstate.Marshal): only the format version when there is nothing in it. */
export function stateJson(state: StateV4 | null): Record<string, unknown> {
  const outputs = Object.fromEntries(Object.entries(stateOutputs(state?.outputs ?? {})).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, o]) => [name, { sensitive: o.sensitive === true, value: o.value, type: o.type }]));
  if (!state || (state.resources.every((r) => r.instances.length === 0) && Object.keys(outputs).length === 0)) return { format_version: '1.0' };
  return { format_version: '1.0', terraform_version: state.terraform_version, values: stateValues(state, outputs) };
}

export function expressions(body: ObjectValue): ObjectValue {
  const out: ObjectValue = {};
  for (const [k, v] of Object.entries(body)) {
    if (Array.isArray(v) && v.length > 0 && v.every(isObject)) { out[k] = v.map((b) => expressions(b as ObjectValue)); continue; }
    const refs = collectReferences(v).refs;
    if (refs.length === 0) { out[k] = { constant_value: v }; continue; }
    const list: string[] = [];
    for (const { ref } of refs) {
      const full = [ref.target, ...ref.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))].join('');
      for (const s of [full.replace(/\]\./g, '].'), ref.target]) if (!list.includes(s)) list.push(s);
    }
    out[k] = { references: list };
  }
  return out;
}

/** `output_changes`: every planned output change, no-ops included. */
function jsonOutputChanges(changes: readonly OutputChange[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of changes) {
    const whole = !containsUnknown(c.after);
    out[c.name] = {
      actions: c.actions,
      before: c.before,
      after: isUnknown(c.after) ? null : whole ? c.after : known(c.after, true),
      after_unknown: whole ? false : boolMirror(c.after, isUnknown),
      before_sensitive: c.sensitive,
      after_sensitive: c.sensitive,
    };
  }
  return out;
}

/** `planned_values.outputs`: every output not being deleted; value and type only when wholly known. */
function jsonPlannedOutputs(changes: readonly OutputChange[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of changes) {
    if (c.actions[0] === 'delete') continue;
    const whole = !containsUnknown(c.after);
    out[c.name] = { sensitive: c.sensitive, ...(whole && c.type !== undefined ? { type: c.type, value: c.after } : {}) };
  }
  return out;
}

/**
 * `prior_state.values.outputs`: Terraform's plan walk writes each planned output (unknown parts null,
 * a null output removed) into the state it then reports as prior, so its prior_state has the planned
 * outputs over the previous ones.
 */
function priorStateOutputs(prior: Record<string, unknown>, changes: readonly OutputChange[]): Record<string, unknown> {
  const outputs: Record<string, StateOutput> = stateOutputs(prior);
  for (const c of changes) {
    if (c.actions[0] === 'delete' || c.type === undefined) continue;
    if (c.after === null) { delete outputs[c.name]; continue; }
    outputs[c.name] = { value: known(c.after, false), type: c.type, ...(c.sensitive ? { sensitive: true } : {}) };
  }
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(outputs)) out[name] = { sensitive: o.sensitive === true, value: o.value, type: o.type };
  return out;
}

/** The provider configurations the JSON names: by key (`aws`, `aws.west`), with name, source and alias. */
export type PlanProviders = Map<string, { name: string; source: string; alias?: string }>;

/**
 * `extension`: what views derive from the plan (the identity impact), by kind, each entry naming its
 * address; written under the top-level `eksidp` key when not empty.
 */
export function jsonPlan(plan: Plan, resources: readonly ResourceConfig[], providerConfigs: PlanProviders, extension: Record<string, ObjectValue[]> = {}, outputs: readonly OutputConfig[] = [], variables?: Record<string, Value>): Record<string, unknown> {
  // A wholly known value (most are, on a refresh-only or tag-edit plan) is its own `after`, and its
  // unknown mirror has nothing true: no copy, no predicate per node.
  const whole = new Map(plan.changes.map((c) => [c, c.after !== null && !containsUnknown(c.after)]));
  // One object's unmarked mirror serves every place it appears (after_unknown, after_sensitive and
  // planned sensitive_values of an after; before_sensitive and prior_state of a before): built once.
  const shapes = new WeakMap<object, Value>();
  const shape = (v: Value): Value => {
    if (typeof v !== 'object' || v === null) return falseMirror(v);
    let m = shapes.get(v);
    if (m === undefined) shapes.set(v, (m = falseMirror(v)));
    return m;
  };
  const mirror = (v: Value, marks: Path[]): Value => (marks.length === 0 ? shape(v) : sensitiveMirror(v, marks));
  const change = (c: ResourceChange) => ({
    address: c.address,
    ...(c.previousAddress !== undefined ? { previous_address: c.previousAddress } : {}),
    mode: c.mode,
    type: c.type,
    name: c.name,
    ...(c.index !== undefined ? { index: c.index } : {}),
    provider_name: providerName(c.providerAddress),
    ...(c.deposed !== undefined ? { deposed: c.deposed } : {}),
    change: {
      actions: c.actions,
      before: c.before,
      after: c.after === null ? null : whole.get(c) ? c.after : known(c.after, false),
      after_unknown: c.after === null ? false : whole.get(c) ? shape(c.after) : boolMirror(c.after, isUnknown),
      before_sensitive: c.before === null ? false : mirror(c.before, c.beforeSensitive ?? []),
      after_sensitive: c.after === null ? false : mirror(c.after, c.afterSensitive ?? []),
      ...(c.replacePaths.length > 0 ? { replace_paths: c.replacePaths } : {}),
    },
    ...(c.reason ? { action_reason: c.reason } : {}),
  });
  const planned = plan.changes.filter((c) => c.after !== null).map((c) => ({
    address: c.address, mode: c.mode, type: c.type, name: c.name, ...(c.index !== undefined ? { index: c.index } : {}), provider_name: providerName(c.providerAddress), schema_version: c.schemaVersion,
    values: whole.get(c) ? c.after! : known(c.after!, true), sensitive_values: mirror(c.after!, c.afterSensitive ?? []),
  }));
  const out: Record<string, unknown> = {
    format_version: '1.2',
    terraform_version: TERRAFORM_VERSION,
    // As Terraform writes them: every variable's value, sensitive ones in clear too (the JSON plan
    // holds sensitive values; only the human renderings hide them).
    ...(variables && Object.keys(variables).length > 0 ? { variables: Object.fromEntries(Object.keys(variables).sort().map((k) => [k, { value: variables[k]! }])) } : {}),
    planned_values: { ...(plan.outputChanges.some((c) => c.actions[0] !== 'delete') ? { outputs: jsonPlannedOutputs(plan.outputChanges) } : {}), root_module: { resources: planned } },
    resource_changes: plan.changes.map(change),
  };
  if (plan.outputChanges.length > 0) out.output_changes = jsonOutputChanges(plan.outputChanges);
  const priorOutputs = priorStateOutputs(plan.priorState.outputs, plan.outputChanges);
  if (plan.priorState.resources.length > 0 || Object.keys(priorOutputs).length > 0) out.prior_state = { format_version: '1.0', terraform_version: TERRAFORM_VERSION, values: stateValues(plan.priorState, priorOutputs, mirror) };
  out.configuration = {
    provider_config: Object.fromEntries([...providerConfigs].map(([key, p]) => [key, { name: p.name, full_name: p.source, ...(p.alias ? { alias: p.alias } : {}) }])),
    root_module: {
      ...(outputs.length > 0 ? {
        outputs: Object.fromEntries(outputs.map((o) => [o.name, {
          ...(o.sensitive ? { sensitive: true } : {}), expression: expressions({ value: o.expr }).value,
          ...(o.description !== undefined ? { description: o.description } : {}), ...(o.dependsOn.length ? { depends_on: o.dependsOn } : {}),
        }])),
      } : {}),
      resources: resources.map((r) => ({
        address: r.address, mode: r.mode, type: r.type, name: r.name, provider_config_key: r.provider, expressions: expressions(r.body), schema_version: 0,
        ...(r.count !== undefined ? { count_expression: expressions({ x: r.count }).x } : {}), ...(r.forEach !== undefined ? { for_each_expression: expressions({ x: r.forEach }).x } : {}),
        ...(r.dependsOn.length ? { depends_on: r.dependsOn } : {}),
      })),
    },
  };
  // eksidp's own data goes under one extension key, so `terraform show -json` consumers that read
  // only Terraform's keys see an unchanged document.
  if (Object.values(extension).some((list) => list.length > 0)) out.eksidp = extension;
  out.timestamp = plan.createdAt;
  out.applyable = plan.changes.some((c) => c.actions[0] !== 'no-op' || c.previousAddress !== undefined);
  out.complete = plan.targets.length === 0;
  out.errored = false;
  return out;
}
