import { collectReferences, evaluate, parseTemplate, type Lookup, type Reference } from './expressions';
import type { Expr } from './hcl/ast';
import type { CtyType, Diagnostic, ObjectValue, Value } from './protocol';
import { isUnknown } from './protocol';
import { checkSchemaPath } from './schema';
import { blockType, byteCompare, DYNAMIC, literalType, normaliseSets, pathType } from './types';
import { containsUnknown, error, EXACT, isObject, valuesEqual } from './util';

/**
 * Root module output values, as Terraform handles them: declared in `output` blocks, typed by their
 * expression (a literal list is a tuple, a literal map an object, a reference takes its schema type),
 * planned as output changes (create / update / delete / no-op, by value, type and sensitivity),
 * written to state after apply (a null value is removed), and all removed by destroy.
 */

export type OutputConfig = {
  name: string;
  /** The `value` expression, unevaluated. */
  expr: Value;
  sensitive: boolean;
  description?: string;
  dependsOn: string[];
};

/** An output in state v4: `{value, type, sensitive}` (sensitive only when true). */
export type StateOutput = { value: Value; type: CtyType; sensitive?: boolean };

export type OutputAction = 'create' | 'update' | 'delete' | 'no-op';

export type OutputChange = {
  name: string;
  actions: [OutputAction];
  /** The value in the prior state; null when there was none. */
  before: Value;
  /** The planned value (UNKNOWN where not known until apply); null for a delete. */
  after: Value;
  /** The planned value's type; absent for a delete. */
  type?: CtyType;
  /** Sensitive before or after (Terraform hides both sides then). */
  sensitive: boolean;
};

/** The types of the things an expression may refer to. */
export type TypeScope = {
  /** The schema block of a resource or data source by address (`aws_x.y`, `data.aws_x.y`), when declared. */
  block(target: string): import('./protocol').BlockSchema | undefined;
  /** A variable's type, when declared. */
  variable(name: string): CtyType | undefined;
  /** A declared resource's repetition (count / for_each make it a collection of instances). */
  repetition?(target: string): 'single' | 'count' | 'for_each' | undefined;
};

const OUTPUT_KEYS = new Set(['value', 'sensitive', 'description', 'depends_on']);

/** The `output` blocks of a stripped Terraform JSON document; problems go to `diags`, naming `output.NAME`. */
export function parseOutputs(raw: Value | undefined, diags: Diagnostic[]): OutputConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) {
    diags.push(error('"output" must be an object of output names', 'output'));
    return [];
  }
  const out: OutputConfig[] = [];
  for (const [name, v] of Object.entries(raw)) {
    const address = `output.${name}`;
    if (!/^[A-Za-z_][\w-]*$/.test(name)) { diags.push(error('invalid output name: a name must start with a letter or underscore and contain only letters, digits, underscores and dashes', address)); continue; }
    const body = Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
    if (!isObject(body)) { diags.push(error(Array.isArray(v) && v.length > 1 ? 'duplicate output: declared more than once' : 'the output body must be an object', address)); continue; }
    let ok = true;
    for (const k of Object.keys(body)) {
      if (!OUTPUT_KEYS.has(k)) { diags.push(error(`"${k}" in an output block is not supported (only value, sensitive, description and depends_on)`, address, [k])); ok = false; }
    }
    if (!('value' in body)) { diags.push(error('Missing required argument: the output needs a "value"', address)); ok = false; }
    const sensitive = body.sensitive ?? false;
    if (typeof sensitive !== 'boolean') { diags.push(error('sensitive must be true or false', address, ['sensitive'])); ok = false; }
    const description = body.description;
    if (description !== undefined && description !== null && typeof description !== 'string') { diags.push(error('description must be a string', address, ['description'])); ok = false; }
    const dependsOn: string[] = [];
    if (body.depends_on !== undefined) {
      if (!Array.isArray(body.depends_on)) { diags.push(error('depends_on must be a list of addresses', address, ['depends_on'])); ok = false; }
      else for (const [i, d] of body.depends_on.entries()) {
        const m = typeof d === 'string' ? /^(?:\$\{)?((?:data\.)?[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*)\}?$/.exec(d) : null;
        if (!m) { diags.push(error(`invalid depends_on entry ${JSON.stringify(d)}: expected a resource address`, address, ['depends_on', i])); ok = false; }
        else dependsOn.push(m[1]!);
      }
    }
    for (const e of collectReferences(body.value ?? null, ['value']).errors) { diags.push(error(e.message, address, e.at)); ok = false; }
    if (!ok) continue;
    out.push({ name, expr: body.value ?? null, sensitive: sensitive === true, ...(typeof description === 'string' ? { description } : {}), dependsOn });
  }
  return out;
}

/** Every reference an output makes (for validation, ordering and targeting). */
export function outputReferences(o: OutputConfig): Reference[] {
  return collectReferences(o.expr).refs.map((r) => r.ref);
}

/** Static checks: every reference names a declared resource, data source or variable, with a path its schema has. */
export function validateOutputs(outputs: readonly OutputConfig[], scope: TypeScope & { declared(target: string): boolean }): Diagnostic[] {
  const diags: Diagnostic[] = [];
  for (const o of outputs) {
    const address = `output.${o.name}`;
    for (const { ref, at } of collectReferences(o.expr, ['value']).refs) {
      if (ref.kind === 'var') {
        if (!scope.declared(ref.target)) diags.push(error(`Reference to undeclared input variable: ${ref.text}`, address, at));
        continue;
      }
      if (ref.kind === 'local') {
        if (!scope.declared(ref.target)) diags.push(error(`Reference to undeclared local value: ${ref.text}`, address, at));
        continue;
      }
      if (ref.kind === 'count' || ref.kind === 'each') { diags.push(error(`Reference to "${ref.kind}" in an output: ${ref.text} exists only in a resource block that sets ${ref.kind === 'count' ? 'count' : 'for_each'}`, address, at)); continue; }
      if (!scope.declared(ref.target)) { diags.push(error(`Reference to undeclared resource: ${ref.text}`, address, at)); continue; }
      const block = scope.block(ref.target);
      const rep = scope.repetition?.(ref.target);
      const repeated = rep === 'count' || rep === 'for_each';
      const problem = block ? (repeated ? (ref.path.length > 1 ? checkSchemaPath(block, ref.path.slice(1)) : undefined) : checkSchemaPath(block, ref.path)) : undefined;
      if (problem) diags.push(error(`${ref.text}: ${problem}`, address, at));
    }
    for (const d of o.dependsOn) if (!scope.declared(d)) diags.push(error(`depends_on refers to ${d}, which is not declared`, address, ['depends_on']));
  }
  return diags;
}

/** The type Terraform gives an expression in Terraform JSON, before its value is known. */
export function expressionType(expr: Value, scope: TypeScope): CtyType {
  if (typeof expr === 'string') {
    const t = parseTemplate(expr);
    if (t === null || typeof t === 'string') return 'string';
    const single = t.expr.k === 'tpl' && t.expr.parts.length === 1 && typeof t.expr.parts[0] !== 'string' && t.expr.parts[0]!.k === 'interp';
    // Text with interpolations or directives is a string; one expression has its value's type.
    if (!single) return 'string';
    // A conversion function's result is a collection of one element type (Terraform: tolist(...) is a
    // list, not the tuple its argument is); the element type comes from the value (settle).
    const e = ((t.expr as { parts: unknown[] }).parts[0] as { e: Expr }).e;
    if (e.k === 'call' && COLLECTION_OF[e.name]) return [COLLECTION_OF[e.name]!, DYNAMIC] as unknown as CtyType;
    const ref = t.ref;
    if (!ref || ref.kind === 'local') return DYNAMIC;
    if (ref.kind === 'var') return pathType(scope.variable(ref.target.slice(4)) ?? DYNAMIC, ref.path) ?? DYNAMIC;
    if (ref.kind === 'count') return 'number';
    if (ref.kind === 'each') return ref.target === 'each.key' ? 'string' : DYNAMIC;
    const block = scope.block(ref.target);
    // A repeated resource is a tuple (count) or object (for_each) of instances, its length known only
    // from the value: dynamic here, settled from the value; after the instance key, the block's type.
    const rep = scope.repetition?.(ref.target);
    if (rep === 'count' || rep === 'for_each') return block && ref.path.length > 0 ? (pathType(blockType(block), ref.path.slice(1)) ?? DYNAMIC) : DYNAMIC;
    return block ? (pathType(blockType(block), ref.path) ?? DYNAMIC) : DYNAMIC;
  }
  if (Array.isArray(expr)) return ['tuple', expr.map((x) => expressionType(x, scope))] as unknown as CtyType;
  if (isObject(expr)) return ['object', Object.fromEntries(Object.entries(expr).map(([k, x]) => [k, expressionType(x, scope)]))];
  return literalType(expr);
}

const COLLECTION_OF: Record<string, 'list' | 'set' | 'map'> = { tolist: 'list', toset: 'set', tomap: 'map' };

/** Where the expression's type says `dynamic`, the value's own type fills it in. */
export function settle(t: CtyType, v: Value): CtyType {
  if (t === DYNAMIC) return isUnknown(v) ? DYNAMIC : literalType(v);
  if (!Array.isArray(t) || v === null || isUnknown(v)) return t;
  const [kind, inner] = t;
  // A collection's elements share one type (the conversion unified them): the first known element's.
  if ((kind === 'list' || kind === 'set' || kind === 'map') && inner === DYNAMIC) {
    const first = (Array.isArray(v) ? v : isObject(v) ? Object.values(v) : []).find((x) => x !== null && !isUnknown(x));
    return [kind, first === undefined ? DYNAMIC : literalType(first)] as unknown as CtyType;
  }
  if (kind === 'tuple' && Array.isArray(v)) return ['tuple', (inner as unknown as CtyType[]).map((x, i) => settle(x, v[i] ?? null))] as unknown as CtyType;
  if (kind === 'object' && isObject(v)) return ['object', Object.fromEntries(Object.entries(inner as Record<string, CtyType>).map(([k, x]) => [k, settle(x, v[k] ?? null)]))];
  return t;
}

/** An output's value and type against current values; UNKNOWN parts stay UNKNOWN. */
export function evaluateOutput(o: OutputConfig, lookup: Lookup, scope: TypeScope): { value: Value; type: CtyType } | { errors: Diagnostic[] } {
  const ev = evaluate(o.expr, lookup, ['value']);
  if (ev.errors.length > 0) return { errors: ev.errors.map((e) => error(e.message, `output.${o.name}`, e.at)) };
  const type = settle(expressionType(o.expr, scope), ev.value);
  return { value: normaliseSets(type, ev.value), type };
}

function typesEqual(a: CtyType | undefined, b: CtyType | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The planned output changes, as Terraform's output nodes decide them: null before and after is a
 * no-op; an output new to state is a create; a wholly known value equal to the state's (value and
 * type) with the same sensitivity is a no-op; anything else an update. Outputs in state and not in
 * the configuration, and every output when destroying, are deletes. `only` (targeting) limits the
 * configured outputs planned.
 */
export function planOutputs(outputs: readonly OutputConfig[], prior: Record<string, unknown>, evaluateOne: (o: OutputConfig) => { value: Value; type: CtyType } | { errors: Diagnostic[] }, opts: { destroy: boolean; only?: (o: OutputConfig) => boolean }, diags: Diagnostic[]): OutputChange[] {
  const changes: OutputChange[] = [];
  const state = stateOutputs(prior);
  const configured = new Set<string>();
  if (!opts.destroy) {
    for (const o of outputs) {
      configured.add(o.name);
      if (opts.only && !opts.only(o)) continue;
      const r = evaluateOne(o);
      if ('errors' in r) { diags.push(...r.errors); continue; }
      const before = state[o.name];
      const sensitive = o.sensitive || before?.sensitive === true;
      let action: OutputAction = 'update';
      if (r.value === null && (before === undefined || before.value === null)) action = 'no-op';
      else if (before === undefined) action = 'create';
      else if (!containsUnknown(r.value) && valuesEqual(r.value, before.value, EXACT) && typesEqual(r.type, before.type) && o.sensitive === (before.sensitive === true)) action = 'no-op';
      changes.push({ name: o.name, actions: [action], before: before?.value ?? null, after: r.value, type: r.type, sensitive });
    }
  }
  for (const [name, before] of Object.entries(state)) {
    if (configured.has(name)) continue;
    changes.push({ name, actions: ['delete'], before: before.value, after: null, sensitive: before.sensitive === true });
  }
  return changes.sort((a, b) => byteCompare(a.name, b.name));
}

/** State v4's outputs object, read leniently (Terraform's own files always have value and type). */
export function stateOutputs(raw: Record<string, unknown> | undefined): Record<string, StateOutput> {
  const out: Record<string, StateOutput> = {};
  for (const [name, o] of Object.entries(raw ?? {})) {
    if (typeof o !== 'object' || o === null) continue;
    const x = o as { value?: Value; type?: CtyType; sensitive?: boolean };
    out[name] = { value: x.value ?? null, type: x.type ?? literalType(x.value ?? null), ...(x.sensitive === true ? { sensitive: true } : {}) };
  }
  return out;
}

/**
 * The state's outputs after an apply of these planned changes: deletes removed; the others evaluated
 * against the values apply ended with, a null removed (Terraform keeps no null root outputs). An
 * output that cannot be known (a resource it depends on failed) keeps its prior state, as Terraform
 * does not evaluate it.
 */
export function appliedOutputs(changes: readonly OutputChange[], prior: Record<string, unknown>, outputs: readonly OutputConfig[], evaluateOne: (o: OutputConfig) => { value: Value; type: CtyType } | { errors: Diagnostic[] }): Record<string, StateOutput> {
  const next: Record<string, StateOutput> = stateOutputs(prior);
  const byName = new Map(outputs.map((o) => [o.name, o]));
  for (const c of changes) {
    if (c.actions[0] === 'delete') { delete next[c.name]; continue; }
    const o = byName.get(c.name);
    if (!o) continue;
    const r = evaluateOne(o);
    if ('errors' in r || containsUnknown(r.value)) continue;
    if (r.value === null) { delete next[c.name]; continue; }
    next[c.name] = { value: r.value, type: r.type, ...(o.sensitive ? { sensitive: true } : {}) };
  }
  // Go marshals the outputs map with its keys sorted.
  return Object.fromEntries(Object.keys(next).sort(byteCompare).map((k) => [k, next[k]!]));
}

export function outputChanged(c: OutputChange): boolean {
  return c.actions[0] !== 'no-op';
}
