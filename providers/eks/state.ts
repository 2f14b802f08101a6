import { UNKNOWN, blankObject, isUnknown, schemaEntries, type BlockSchema, type CtyType, type ObjectValue, type Path, type Value } from '../../engine/protocol';
import { blocks, firstBlock, valuesEqual, ZERO_VALUES, ZERO_VALUES_SET } from '../../engine/util';

/**
 * Schema-driven shaping of values, so state has exactly Terraform's shape: every attribute present
 * (null when unset), list/set blocks always arrays, single blocks null or an object, string sets
 * sorted (cty orders sets of strings lexically).
 */

function isSetType(t: CtyType): boolean {
  return Array.isArray(t) && t[0] === 'set';
}

function sortSet(v: Value): Value {
  if (!Array.isArray(v)) return v;
  if (v.every((x) => typeof x === 'string')) return [...(v as string[])].sort();
  return v;
}

export function shape(block: BlockSchema, v: ObjectValue | null | undefined): ObjectValue {
  const src = v ?? {};
  const out = blankObject(block);
  for (const [name, attr] of schemaEntries(block.attributes)) {
    const x = src[name];
    out[name] = x === undefined ? null : isSetType(attr.type) ? sortSet(x) : x;
  }
  for (const [name, bt] of schemaEntries(block.block_types)) {
    const x = src[name];
    if (isUnknown(x)) {
      out[name] = UNKNOWN;
    } else if (bt.nesting_mode === 'single') {
      const item = firstBlock(x);
      out[name] = item ? shape(bt.block, item) : null;
    } else {
      out[name] = blocks(x).map((item) => shape(bt.block, item));
    }
  }
  return out;
}

/**
 * Paths of attributes whose configured value differs between two shaped values, computed-only
 * attributes excluded (they follow from the others). Block count changes are reported at the block.
 * Values compare as Terraform's SDK (v2) diffs them: unset, "", false, [] and {} alike (ZERO_VALUES).
 */
export function changedPaths(block: BlockSchema, a: ObjectValue, b: ObjectValue, base: Path = []): Path[] {
  const out: Path[] = [];
  for (const [name, attr] of schemaEntries(block.attributes)) {
    if (attr.computed && !attr.optional && !attr.required) continue;
    // An optional+computed attribute left unset in config keeps its value: not a change.
    if (attr.computed && b[name] === null) continue;
    if (!valuesEqual(a[name], b[name], isSetType(attr.type) ? ZERO_VALUES_SET : ZERO_VALUES)) out.push([...base, name]);
  }
  for (const [name, bt] of schemaEntries(block.block_types)) {
    const x = a[name];
    const y = b[name];
    if (bt.nesting_mode === 'single') {
      if (!valuesEqual(x, y, ZERO_VALUES)) out.push([...base, name]);
      continue;
    }
    const xs = Array.isArray(x) ? (x as ObjectValue[]) : [];
    const ys = Array.isArray(y) ? (y as ObjectValue[]) : [];
    if (isUnknown(y)) {
      out.push([...base, name]);
    } else if (xs.length !== ys.length) {
      // An optional+computed block left out of config keeps what EKS reports.
      if (!(ys.length === 0 && isComputedBlock(bt.block, name))) out.push([...base, name]);
    } else {
      xs.forEach((item, i) => out.push(...changedPaths(bt.block, item, ys[i], [...base, name, i])));
    }
  }
  return out;
}

/**
 * Optional+Computed blocks of hashicorp/aws 5.100 (left out of config, they keep what EKS reports).
 * `providers schema -json` does not say a block is computed, so they are listed by name.
 */
const COMPUTED_BLOCKS = new Set(['access_config', 'kubernetes_network_config', 'elastic_load_balancing', 'upgrade_policy', 'remote_pod_networks']);

/** A block EKS fills when config leaves it out. */
function isComputedBlock(block: BlockSchema, name = ''): boolean {
  if (COMPUTED_BLOCKS.has(name)) return true;
  const attrs = Object.values(block.attributes ?? {});
  return attrs.length > 0 && attrs.some((a) => a.computed) && attrs.every((a) => a.computed || a.optional) && attrs.some((a) => a.computed && a.optional);
}

/**
 * The planned state: config values, with computed attributes that config leaves unset taken from the
 * prior state (or UNKNOWN when there is none). `fresh` marks every such computed value UNKNOWN
 * (creation or replacement: EKS decides them anew).
 */
export function mergeComputed(block: BlockSchema, config: ObjectValue, prior: ObjectValue | null, fresh: boolean): ObjectValue {
  const out: ObjectValue = { ...config };
  for (const [name, attr] of schemaEntries(block.attributes)) {
    if (!attr.computed) continue;
    const c = config[name];
    if (c !== null && c !== undefined) continue;
    out[name] = fresh || !prior ? UNKNOWN : (prior[name] ?? null);
  }
  for (const [name, bt] of schemaEntries(block.block_types)) {
    const c = config[name];
    if (!Array.isArray(c)) continue;
    const p = prior && Array.isArray(prior[name]) ? (prior[name] as ObjectValue[]) : [];
    if (c.length === 0 && !fresh && p.length > 0 && isComputedBlock(bt.block, name)) {
      out[name] = p;
      continue;
    }
    if (c.length === 0 && isComputedBlock(bt.block, name)) {
      out[name] = fresh || !prior ? UNKNOWN : [];
      continue;
    }
    out[name] = (c as ObjectValue[]).map((item, i) => mergeComputed(bt.block, item, p[i] ?? null, fresh || p[i] === undefined));
  }
  return out;
}

/** The value at a path, undefined when the path does not exist. */
export function getPath(v: Value, path: Path): Value | undefined {
  let cur: Value | undefined = v;
  for (const p of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[p as number] : (cur as ObjectValue)[p as string];
  }
  return cur;
}

export function samePath(a: Path, b: Path): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isEmptyCollection(v: Value | undefined): boolean {
  return (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && !isUnknown(v) && Object.keys(v).length === 0);
}

/**
 * An empty map where EKS returns none, in the form `like` (the state compared against) has: null stays
 * null, a map gives {}, and nothing to go by gives `fallback`.
 */
export function emptyLike(v: Value | undefined, fallback: ObjectValue | null = null): ObjectValue | null {
  if (v === null) return null;
  if (v && typeof v === 'object' && !Array.isArray(v)) return {};
  return fallback;
}

/**
 * Null and empty collections mean the same to Terraform, but a refresh that turns one into the other
 * reads as drift. Where EKS's answer is empty and the state we compare against (`like`) holds the
 * other form, keep `like`'s form.
 */
export function alignEmpty(v: Value, like: Value | undefined): Value {
  if (like === undefined || isUnknown(like)) return v;
  if (v === null && isEmptyCollection(like)) return like;
  if (isEmptyCollection(v) && like === null) return null;
  // Copied only where something changes (rarely): a cluster's value rebuilt key by key into `{}` has
  // too many members for V8's fast objects, and every refresh and drift read paid for that.
  if (Array.isArray(v) && Array.isArray(like) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
    let out: Value[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = alignEmpty(v[i]!, like[i]);
      if (x !== v[i]) (out ??= [...v])[i] = x;
    }
    return out ?? v;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && like !== null && typeof like === 'object' && !Array.isArray(like)) {
    let out: ObjectValue | undefined;
    for (const k in v) {
      const x = alignEmpty(v[k]!, (like as ObjectValue)[k]);
      if (x !== v[k]) (out ??= { ...v })[k] = x;
    }
    return out ?? v;
  }
  return v;
}
