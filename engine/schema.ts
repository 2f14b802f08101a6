import type { BlockSchema, CtyType, Diagnostic, ObjectValue, Path, Value } from './protocol';
import { blankObject, isUnknown, schemaEntries, UNKNOWN } from './protocol';
import { error, isObject } from './util';

/**
 * Configuration against a provider schema in Terraform's JSON schema format: unknown and missing
 * arguments, read-only ones, and types, converting what Terraform converts (numbers and bools to
 * strings, numeric strings to numbers, "true"/"false" to bools). The result has every attribute
 * (null when unset) and every block (lists for list/set nesting), as Terraform stores them.
 */

export function typeName(t: CtyType): string {
  if (typeof t === 'string') return t;
  if (t[0] === 'object') return 'object';
  return `${t[0]} of ${typeName(t[1] as CtyType)}`;
}

/**
 * Converts one value to its type. The value's path is `[...parent, key]`, built only when a
 * problem is reported or a collection is entered: configuration is mostly plain strings, and a path
 * array per value was much of a plan's (and a drift check's) time at fleet scale.
 */
function convert(t: CtyType, v: Value, address: string, parent: Path, key: string | number, diags: Diagnostic[]): Value {
  if (v === null || isUnknown(v)) return v;
  const bad = (what: string) => {
    const got = Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
    diags.push(error(`Incorrect attribute value type: ${what} required, got ${got}`, address, [...parent, key]));
    return null;
  };
  if (t === 'dynamic') return v;
  if (t === 'string') {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return bad('string');
  }
  if (t === 'number') {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    return bad('number');
  }
  if (t === 'bool') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return bad('bool');
  }
  if (Array.isArray(t)) {
    const [kind, inner] = t;
    const path = [...parent, key];
    if (kind === 'list' || kind === 'set') {
      if (!Array.isArray(v)) return bad(typeName(t));
      return v.map((x, i) => convert(inner as CtyType, x, address, path, i, diags));
    }
    if (kind === 'tuple') {
      if (!Array.isArray(v)) return bad('tuple');
      const types = inner as unknown as CtyType[];
      return v.map((x, i) => convert(types[i] ?? 'dynamic', x, address, path, i, diags));
    }
    if (kind === 'map') {
      if (!isObject(v)) return bad(typeName(t));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(inner as CtyType, x, address, path, k, diags)]));
    }
    if (kind === 'object') {
      if (!isObject(v)) return bad('object');
      const attrs = inner as Record<string, CtyType>;
      for (const k of Object.keys(v)) if (!(k in attrs)) diags.push(error(`Unsupported attribute "${k}" in object`, address, [...path, k]));
      return Object.fromEntries(Object.entries(attrs).map(([k, at]) => [k, convert(at, v[k] ?? null, address, path, k, diags)]));
    }
  }
  return v;
}

/** Validates and normalises one block of configuration. `raw` may contain UNKNOWN values. */
export function conformBlock(block: BlockSchema, raw: Value, address: string, path: Path, diags: Diagnostic[]): ObjectValue {
  if (!isObject(raw)) {
    diags.push(error(`Invalid block: an object is required`, address, path));
    return {};
  }
  const attrs = block.attributes ?? {};
  const blocks = block.block_types ?? {};
  const out = blankObject(block);
  for (const key of Object.keys(raw)) {
    if (!(key in attrs) && !(key in blocks)) diags.push(error(`Unsupported argument: an argument named "${key}" is not expected here`, address, [...path, key]));
  }
  for (const [name, a] of schemaEntries(attrs)) {
    const v = raw[name] ?? null;
    if (v === null) {
      if (a.required) diags.push(error(`Missing required argument: "${name}" is required`, address, [...path, name]));
      out[name] = null;
      continue;
    }
    if (a.computed && !a.optional && !a.required) {
      diags.push(error(`Invalid configuration for read-only attribute: "${name}" is computed by the provider and cannot be set`, address, [...path, name]));
      out[name] = null;
      continue;
    }
    out[name] = convert(a.type, v, address, path, name, diags);
  }
  for (const [name, bt] of schemaEntries(blocks)) {
    const v = raw[name] ?? null;
    if (v === null && !bt.min_items) {
      out[name] = bt.nesting_mode === 'single' ? null : bt.nesting_mode === 'map' ? {} : [];
      continue;
    }
    const p = [...path, name];
    if (isUnknown(v)) { out[name] = UNKNOWN; continue; }
    if (bt.nesting_mode === 'single') {
      const item = Array.isArray(v) ? (v.length > 1 ? (diags.push(error(`Too many "${name}" blocks: at most one is allowed`, address, p)), v[0]) : v[0] ?? null) : v;
      out[name] = item === null || item === undefined ? null : conformBlock(bt.block, item, address, p, diags);
      if (out[name] === null && (bt.min_items ?? 0) > 0) diags.push(error(`Missing required block: a "${name}" block is required`, address, p));
      continue;
    }
    if (bt.nesting_mode === 'map') {
      if (v !== null && !isObject(v)) { diags.push(error(`Invalid "${name}" blocks: an object of blocks by key is required`, address, p)); out[name] = {}; continue; }
      out[name] = Object.fromEntries(Object.entries(v ?? {}).map(([k, x]) => [k, conformBlock(bt.block, x, address, [...p, k], diags)]));
      continue;
    }
    const items: Value[] = v === null ? [] : Array.isArray(v) ? v : [v];
    out[name] = items.map((x, i) => (isUnknown(x) ? UNKNOWN : conformBlock(bt.block, x, address, [...p, i], diags)));
    if (bt.min_items !== undefined && items.length < bt.min_items) {
      diags.push(error(`Insufficient "${name}" blocks: at least ${bt.min_items} required, got ${items.length}`, address, p));
    }
    if (bt.max_items !== undefined && bt.max_items > 0 && items.length > bt.max_items) {
      diags.push(error(`Too many "${name}" blocks: at most ${bt.max_items} allowed, got ${items.length}`, address, p));
    }
  }
  return out;
}

/**
 * Terraform's "proposed new state": configured values, and for computed attributes left unset the
 * prior value (the provider then decides what becomes unknown).
 */
export function proposedNew(block: BlockSchema, prior: ObjectValue | null, config: ObjectValue): ObjectValue {
  const out = blankObject(block);
  for (const [name, a] of schemaEntries(block.attributes)) {
    const c = config[name] ?? null;
    out[name] = c === null && a.computed ? (prior?.[name] ?? null) : c;
  }
  for (const [name, bt] of schemaEntries(block.block_types)) {
    const c = config[name] ?? null;
    const p = prior?.[name] ?? null;
    if (isUnknown(c) || c === null) { out[name] = c; continue; }
    if (bt.nesting_mode === 'single') out[name] = isObject(c) ? proposedNew(bt.block, isObject(p) ? p : null, c) : c;
    else if (bt.nesting_mode === 'map') {
      out[name] = isObject(c) ? Object.fromEntries(Object.entries(c).map(([k, x]) => [k, isObject(x) ? proposedNew(bt.block, isObject(p) && isObject(p[k]) ? (p[k] as ObjectValue) : null, x) : x])) : c;
    } else if (Array.isArray(c)) {
      out[name] = c.map((x, i) => (isObject(x) ? proposedNew(bt.block, Array.isArray(p) && isObject(p[i]) ? (p[i] as ObjectValue) : null, x) : x));
    } else out[name] = c;
  }
  return out;
}

function checkTypePath(t: CtyType, path: Path): string | undefined {
  if (path.length === 0 || t === 'dynamic') return undefined;
  const [seg, ...rest] = path;
  if (Array.isArray(t)) {
    const [kind, inner] = t;
    if ((kind === 'list' || kind === 'set' || kind === 'tuple') && typeof seg === 'number') return checkTypePath(kind === 'tuple' ? 'dynamic' : (inner as CtyType), rest);
    if (kind === 'map' && typeof seg === 'string') return checkTypePath(inner as CtyType, rest);
    if (kind === 'object' && typeof seg === 'string') {
      const attrs = inner as Record<string, CtyType>;
      return seg in attrs ? checkTypePath(attrs[seg]!, rest) : `unsupported attribute "${seg}"`;
    }
  }
  return typeof seg === 'number' ? `cannot index a ${typeName(t)} with [${seg}]` : `a ${typeName(t)} has no attribute "${seg}"`;
}

/** Whether an attribute path exists in a schema (for references); returns an error message if not. */
export function checkSchemaPath(block: BlockSchema, path: Path): string | undefined {
  if (path.length === 0) return undefined;
  const [seg, ...rest] = path;
  if (typeof seg !== 'string') return `cannot index a resource with [${seg}]`;
  const a = block.attributes?.[seg];
  if (a) return checkTypePath(a.type, rest);
  const bt = block.block_types?.[seg];
  if (!bt) return `unsupported attribute "${seg}"`;
  if (bt.nesting_mode === 'single') return checkSchemaPath(bt.block, rest);
  if (rest.length === 0) return undefined;
  const [idx, ...more] = rest;
  if (bt.nesting_mode === 'map' ? typeof idx !== 'string' : typeof idx !== 'number') return `"${seg}" blocks must be indexed${bt.nesting_mode === 'map' ? ' by key' : ' like ' + seg + '[0]'}`;
  return checkSchemaPath(bt.block, more);
}

const declared = { sensitive: new WeakMap<BlockSchema, boolean>(), write_only: new WeakMap<BlockSchema, boolean>() };

/** Whether a block declares an attribute `flag` (sensitive, write-only), in itself or a nested block (schemas never change: asked once each). */
export function blockDeclares(block: BlockSchema, flag: 'sensitive' | 'write_only'): boolean {
  let d = declared[flag].get(block);
  if (d === undefined) {
    d = schemaEntries(block.attributes).some(([, a]) => !!a[flag]) || schemaEntries(block.block_types).some(([, bt]) => blockDeclares(bt.block, flag));
    declared[flag].set(block, d);
  }
  return d;
}

/** The paths of a schema's write-only attributes within one value of it (configschema.WriteOnlyPaths). */
export function writeOnlyPaths(block: BlockSchema | undefined, value: Value | undefined): Path[] {
  const out: Path[] = [];
  const walk = (b: BlockSchema, v: Value | undefined, at: Path) => {
    if (!isObject(v)) return;
    for (const [name, a] of schemaEntries(b.attributes)) if (a.write_only) out.push([...at, name]);
    for (const [name, bt] of schemaEntries(b.block_types)) {
      const x = v[name];
      if (Array.isArray(x)) x.forEach((item, i) => walk(bt.block, item, [...at, name, i]));
      else if (isObject(x) && bt.nesting_mode === 'map') for (const k of Object.keys(x)) walk(bt.block, x[k], [...at, name, k]);
      else walk(bt.block, x, [...at, name]);
    }
  };
  // Most schemas (the EKS ones among them) have none: no walk over every value.
  if (block && blockDeclares(block, 'write_only')) walk(block, value, []);
  return out;
}
