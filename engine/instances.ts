import { evaluate, getPath, type Lookup, type Reference } from './expressions';
import type { ResourceConfig } from './config';
import type { CtyType, Diagnostic, Value } from './protocol';
import { isUnknown, UNKNOWN } from './protocol';
import { settle } from './outputs';
import { byteCompare, DYNAMIC, friendlyName, literalType } from './types';
import { containsUnknown, error, isObject } from './util';

/**
 * Resource instances, as Terraform expands them (internal/addrs/instance_key.go,
 * internal/terraform/eval_count.go and eval_for_each.go): `count` gives integer keys 0..n-1,
 * `for_each` string keys; a resource with neither has one instance with no key. Addresses are
 * `type.name`, `type.name[0]` or `type.name["key"]`, in plans, state, --target and import.
 */

/** An instance key; undefined is Terraform's NoKey. */
export type InstanceKey = number | string;

/** How a resource repeats: no repetition, `count`, or `for_each`. */
export type EachMode = 'single' | 'count' | 'for_each';

/** One instance of an expanded resource: its key and, for for_each, its each.value. */
export type Instance = { key?: InstanceKey; value?: Value };

/** A resource's instances at plan time, in Terraform's order (integer keys ascending, string keys by bytes). */
export type Expansion = { mode: EachMode; instances: Instance[] };

/** A string key as Terraform quotes it in an address (HCL's quoting: `${` and `%{` doubled). */
function quoteKey(k: string): string {
  return JSON.stringify(k).replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** `[0]` / `["a"]`; empty for no key. */
export function keyText(key: InstanceKey | undefined): string {
  if (key === undefined) return '';
  return typeof key === 'number' ? `[${key}]` : `[${quoteKey(key)}]`;
}

/** The instance address: the resource address and its key. */
export function instanceAddress(resource: string, key: InstanceKey | undefined): string {
  return resource + keyText(key);
}

/**
 * Parses `type.name`, `data.type.name`, with an optional `[N]` or `["key"]`; undefined when the text
 * is not such an address.
 */
export function parseInstanceAddress(text: string): { resource: string; key?: InstanceKey } | undefined {
  const m = /^((?:data\.)?[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*)(?:\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])?$/.exec(text);
  if (!m) return undefined;
  if (m[2] !== undefined) return { resource: m[1]!, key: Number(m[2]) };
  if (m[3] !== undefined) {
    try {
      return { resource: m[1]!, key: (JSON.parse(m[3]) as string).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{') };
    } catch {
      return undefined;
    }
  }
  return { resource: m[1]! };
}

/** Terraform's instance order in state and plans: no key first, then integers ascending, then strings by bytes. */
export function compareKeys(a: InstanceKey | undefined, b: InstanceKey | undefined): number {
  if (a === b) return 0;
  if (a === undefined || b === undefined) return a === undefined ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number' || typeof b === 'number') return typeof a === 'number' ? -1 : 1;
  return byteCompare(a, b);
}

/** The repetition a resource's configuration declares. */
export function eachModeOf(r: Pick<ResourceConfig, 'count' | 'forEach'>): EachMode {
  return r.count !== undefined ? 'count' : r.forEach !== undefined ? 'for_each' : 'single';
}

/** The repetition a set of state keys implies (for a resource that is only in state). */
export function eachModeOfKeys(keys: readonly (InstanceKey | undefined)[]): EachMode {
  if (keys.some((k) => typeof k === 'string')) return 'for_each';
  if (keys.some((k) => typeof k === 'number')) return 'count';
  return 'single';
}

/**
 * A resource's value as references see it: the object for a single instance, a tuple of the
 * instances' objects for count, an object by key for for_each (as Terraform).
 */
export function resourceValue(mode: EachMode, instances: readonly { key?: InstanceKey; value: Value }[]): Value | undefined {
  if (mode === 'single') return instances.find((i) => i.key === undefined)?.value;
  const sorted = [...instances].sort((a, b) => compareKeys(a.key, b.key));
  if (mode === 'count') return sorted.filter((i) => typeof i.key === 'number').map((i) => i.value);
  const out: Record<string, Value> = {};
  for (const i of sorted) if (typeof i.key === 'string') out[i.key] = i.value;
  return out;
}

const COUNT_UNKNOWN = 'The "count" value depends on resource attributes that cannot be determined until apply, so Terraform cannot predict how many instances will be created. To work around this, use the -target argument to first apply only the resources that the count depends on.';
const FOR_EACH_UNKNOWN_MAP = 'The "for_each" map includes keys derived from resource attributes that cannot be determined until apply, and so Terraform cannot determine the full set of keys that will identify the instances of this resource. When working with unknown values in for_each, it\'s better to define the map keys statically in your configuration and place apply-time results only in the map values. Alternatively, you could use the -target planning option to first apply only the resources that the for_each value depends on, and then apply a second time to fully converge.';
const FOR_EACH_UNKNOWN_SET = 'The "for_each" set includes values derived from resource attributes that cannot be determined until apply, and so Terraform cannot determine the full set of keys that will identify the instances of this resource. When working with unknown values in for_each, it\'s better to use a map value where the keys are defined statically in your configuration and where only the values contain apply-time results. Alternatively, you could use the -target planning option to first apply only the resources that the for_each value depends on, and then apply a second time to fully converge.';

/**
 * Evaluates a resource's `count` or `for_each` against current values, with Terraform's errors (an
 * unknown count or for_each key, a negative or fractional count, a list where a set is needed).
 * `typeOf` gives the expression's type (a literal list is a tuple, `${var.x}` its declared type):
 * for_each takes a map or object, or a set of strings. Undefined (with diagnostics) on error.
 */
export function expand(r: ResourceConfig, lookup: Lookup, typeOf: (expr: Value, value: Value) => CtyType, diags: Diagnostic[]): Expansion | undefined {
  if (r.count !== undefined) {
    const ev = evaluate(r.count, lookup, ['count']);
    for (const e of ev.errors) diags.push(error(e.message, r.address, e.at));
    if (ev.errors.length > 0) return undefined;
    let v = ev.value;
    if (isUnknown(v)) { diags.push(error('Invalid count argument', r.address, ['count'], COUNT_UNKNOWN)); return undefined; }
    if (v === null) { diags.push(error('Invalid count argument', r.address, ['count'], 'The given "count" argument value is null. An integer is required.')); return undefined; }
    // count converts to a number first, as Terraform evaluates it as cty.Number ("2" is 2).
    if (typeof v === 'string' && /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) v = Number(v);
    if (typeof v !== 'number') { diags.push(error('Incorrect value type', r.address, ['count'], 'Invalid expression value: a number is required.')); return undefined; }
    if (!Number.isInteger(v)) { diags.push(error('Invalid count argument', r.address, ['count'], 'The given "count" argument value is unsuitable: value must be a whole number, between -9223372036854775808 and 9223372036854775807.')); return undefined; }
    if (v < 0) { diags.push(error('Invalid count argument', r.address, ['count'], 'The given "count" argument value is unsuitable: must be greater than or equal to zero.')); return undefined; }
    return { mode: 'count', instances: Array.from({ length: v }, (_, i) => ({ key: i })) };
  }
  if (r.forEach !== undefined) {
    const ev = evaluate(r.forEach, lookup, ['for_each']);
    for (const e of ev.errors) diags.push(error(e.message, r.address, e.at));
    if (ev.errors.length > 0) return undefined;
    const v = ev.value;
    const fail = (detail: string, summary = 'Invalid for_each argument'): undefined => { diags.push(error(summary, r.address, ['for_each'], detail)); return undefined; };
    const declared = typeOf(r.forEach, v);
    // A conversion's collection (tolist(...)) takes its element type from the value, as outputs do.
    const t = Array.isArray(declared) && ['list', 'set', 'map'].includes(declared[0] as string) && declared[1] === DYNAMIC ? settle(declared, v) : declared;
    const kind = Array.isArray(t) ? t[0] : t;
    if (v === null) return fail('The given "for_each" argument value is unsuitable: the given "for_each" argument value is null. A map, or set of strings is allowed.');
    if (kind !== 'map' && kind !== 'object' && kind !== 'set' && t !== DYNAMIC) {
      return fail(`The given "for_each" argument value is unsuitable: the "for_each" argument must be a map, or set of strings, and you have provided a value of type ${friendlyName(t)}.`);
    }
    if (isUnknown(v)) return fail(kind === 'set' ? FOR_EACH_UNKNOWN_SET : FOR_EACH_UNKNOWN_MAP);
    if (kind === 'set' || (t === DYNAMIC && Array.isArray(v))) {
      if (!Array.isArray(v)) return fail('The "for_each" expression must be a collection.');
      if (containsUnknown(v)) return fail(FOR_EACH_UNKNOWN_SET);
      const elem = Array.isArray(t) && t[0] === 'set' ? (t[1] as CtyType) : DYNAMIC;
      if (t === DYNAMIC) return fail(`The given "for_each" argument value is unsuitable: the "for_each" argument must be a map, or set of strings, and you have provided a value of type ${friendlyName(literalType(v))}.`);
      if (elem !== 'string' && elem !== DYNAMIC) return fail(`The given "for_each" argument value is unsuitable: "for_each" supports maps and sets of strings, but you have provided a set containing type ${friendlyName(elem)}.`, 'Invalid for_each set argument');
      const keys = new Set<string>();
      for (const x of v) {
        if (x === null) return fail('The given "for_each" argument value is unsuitable: "for_each" sets must not contain null values.', 'Invalid for_each set argument');
        if (typeof x !== 'string') return fail(`The given "for_each" argument value is unsuitable: "for_each" supports maps and sets of strings, but you have provided a set containing type ${friendlyName(literalType(x))}.`, 'Invalid for_each set argument');
        keys.add(x);
      }
      return { mode: 'for_each', instances: [...keys].sort(byteCompare).map((k) => ({ key: k, value: k })) };
    }
    if (!isObject(v)) return fail(`The given "for_each" argument value is unsuitable: the "for_each" argument must be a map, or set of strings, and you have provided a value of type ${friendlyName(literalType(v))}.`);
    return { mode: 'for_each', instances: Object.keys(v).sort(byteCompare).map((k) => ({ key: k, value: v[k]! })) };
  }
  return { mode: 'single', instances: [{}] };
}

/**
 * The lookup one instance's configuration is evaluated with: count.index and each.key/each.value
 * from its key, everything else from `base`. Outside count / for_each they are errors (validated
 * statically first, in Terraform's words).
 */
export function instanceLookup(base: Lookup, inst: Instance): Lookup {
  return (ref: Reference) => {
    if (ref.kind === 'count') return typeof inst.key === 'number' ? { value: inst.key } : { error: 'Reference to "count" in non-counted context' };
    if (ref.kind === 'each') {
      if (typeof inst.key !== 'string') return { error: 'Reference to "each" in context without for_each' };
      if (ref.target === 'each.key') return ref.path.length === 0 ? { value: inst.key } : getPath(inst.key, ref.path);
      return getPath(inst.value ?? null, ref.path);
    }
    return base(ref);
  };
}

/** The static stand-in for count.index / each.*: unknown (their values differ per instance). */
export function staticRepetition(ref: Reference): { value: Value } | undefined {
  return ref.kind === 'count' || ref.kind === 'each' ? { value: UNKNOWN } : undefined;
}

/**
 * Static checks of a resource's references to repetition and to other resources' instances, in
 * Terraform's words: count.index only where count is set, each.* only where for_each is; a counted or
 * for_each resource's attributes only through an instance key. `modeOf` gives a declared resource's
 * repetition.
 */
export function checkRepetitionRefs(r: ResourceConfig, refs: readonly { ref: Reference; at: (string | number)[] }[], modeOf: (target: string) => EachMode | undefined, diags: Diagnostic[]): void {
  const mode = eachModeOf(r);
  for (const { ref, at } of refs) {
    if (ref.kind === 'count' && mode !== 'count') {
      diags.push(error('Reference to "count" in non-counted context', r.address, at, 'The "count" object can only be used in "module", "resource", and "data" blocks, and only when the "count" argument is set.'));
    } else if (ref.kind === 'each' && mode !== 'for_each') {
      diags.push(error('Reference to "each" in context without for_each', r.address, at, 'The "each" object can be used only in "module" or "resource" blocks, and only when the "for_each" argument is set.'));
    } else if (at[0] === 'count' || at[0] === 'for_each') {
      if (ref.kind === 'count' || ref.kind === 'each') diags.push(error(`Invalid ${at[0]} argument`, r.address, at, `The "${at[0]}" expression cannot refer to ${ref.target}.`));
    }
    if (ref.kind === 'resource' || ref.kind === 'data') checkInstanceRef(ref, modeOf(ref.target), r.address, at, diags);
  }
}

/** A reference into a repeated resource must pick an instance (or take the whole collection). */
export function checkInstanceRef(ref: Reference, mode: EachMode | undefined, address: string, at: (string | number)[], diags: Diagnostic[]): void {
  if (mode === undefined || mode === 'single' || ref.path.length === 0) return;
  const first = ref.path[0];
  if (mode === 'count' && typeof first !== 'number') {
    diags.push(error('Missing resource instance key', address, at, `Because ${ref.target} has "count" set, its attributes must be accessed on specific instances. For example, to correlate with indices of a referring resource, use: ${ref.target}[count.index]`));
  } else if (mode === 'for_each' && typeof first === 'number') {
    diags.push(error('Invalid index', address, at, `${ref.target} has "for_each" set: the given key does not identify an element in this collection value. An object only supports looking up attributes by name, not by numeric index.`));
  }
}

/**
 * Every instance's current value (state, planned or applied), and each resource's value assembled
 * from them as references see it (resourceValue). A null value is an instance that is gone (deleted,
 * or planned for deletion); undefined an instance nothing is known of yet.
 */
export class InstanceValues {
  private readonly byResource = new Map<string, Map<string, { key?: InstanceKey; value: Value | null }>>();
  private readonly assembled = new Map<string, Value | null | undefined>();

  /** `modeOf` gives a configured resource's repetition; a resource only in state has its keys'. */
  constructor(private readonly modeOf: (resource: string) => EachMode | undefined) {}

  set(resource: string, key: InstanceKey | undefined, value: Value | null): void {
    let m = this.byResource.get(resource);
    if (!m) this.byResource.set(resource, (m = new Map()));
    m.set(keyText(key), { ...(key !== undefined ? { key } : {}), value });
    this.assembled.delete(resource);
  }

  /** Keeps only the instances with these keys (a resource's new expansion). */
  retain(resource: string, keys: readonly (InstanceKey | undefined)[]): void {
    const m = this.byResource.get(resource);
    if (!m) return;
    const keep = new Set(keys.map(keyText));
    for (const k of [...m.keys()]) if (!keep.has(k)) m.delete(k);
    this.assembled.delete(resource);
  }

  instance(resource: string, key: InstanceKey | undefined): Value | null | undefined {
    return this.byResource.get(resource)?.get(keyText(key))?.value;
  }

  /** The resource's value: undefined when nothing is known of it; null when a single instance is gone. */
  resource(resource: string): Value | null | undefined {
    if (this.assembled.has(resource)) return this.assembled.get(resource);
    const m = this.byResource.get(resource);
    const all = m ? [...m.values()] : [];
    const mode = this.modeOf(resource) ?? eachModeOfKeys(all.map((i) => i.key));
    let v: Value | null | undefined;
    if (mode === 'single') v = m?.get('')?.value;
    else v = resourceValue(mode, all.filter((i): i is { key?: InstanceKey; value: Value } => i.value !== null)) ?? null;
    this.assembled.set(resource, v);
    return v;
  }
}
