import type { BlockSchema, CtyType, ObjectValue, Path, Value } from './protocol';
import { isUnknown, schemaEntries } from './protocol';
import { isObject } from './util';
import { normalise, type Marks } from './hcl/marks';
import { blockDeclares } from './schema';

/**
 * Sensitive values, as Terraform 1.11 tracks them: a resource instance's sensitive paths are those
 * its configuration's marks put there (a sensitive variable, `sensitive()`, another sensitive value)
 * plus the attributes its schema declares sensitive. Plans, state and renderers carry them as paths
 * (`[]`: the whole value); state stores them in Terraform's `sensitive_attributes` format.
 */

const mayMarkMemo = new WeakMap<object, boolean>();

/** Whether a configuration itself can mark values: a sensitive variable, or a call to (non)sensitive(). */
export function mayMark(config: { sensitiveVariables: ReadonlySet<string>; source: Record<string, unknown> }): boolean {
  let m = mayMarkMemo.get(config);
  if (m === undefined) mayMarkMemo.set(config, (m = config.sensitiveVariables.size > 0 || JSON.stringify(config.source).includes('sensitive(')));
  return m;
}

/** A config-relative path made a value path: a single block is an object (no `[0]`), a list block given as one object gains `[0]`. */
function conformPath(block: BlockSchema, path: Path): Path {
  const [name, ...rest] = path;
  if (typeof name !== 'string') return path;
  const bt = block.block_types?.[name];
  if (!bt) return path;
  if (bt.nesting_mode === 'single') return [name, ...conformPath(bt.block, rest[0] === 0 ? rest.slice(1) : rest)];
  if (bt.nesting_mode === 'map') return rest.length === 0 ? [name] : [name, rest[0]!, ...conformPath(bt.block, rest.slice(1))];
  if (rest.length === 0) return [name];
  if (typeof rest[0] === 'string') return [name, 0, ...conformPath(bt.block, rest)];
  return [name, rest[0]!, ...conformPath(bt.block, rest.slice(1))];
}

/** The paths of the attributes a schema declares sensitive, within one value of it. */
export function schemaSensitivePaths(block: BlockSchema, value: Value): Marks {
  const out: Marks = [];
  // Most schemas (the EKS ones among them) declare none: no walk over every instance's value.
  if (!blockDeclares(block, 'sensitive')) return out;
  const walk = (b: BlockSchema, v: Value, at: Path) => {
    if (!isObject(v)) return;
    for (const [name, a] of schemaEntries(b.attributes)) if (a.sensitive) out.push([...at, name]);
    for (const [name, bt] of schemaEntries(b.block_types)) {
      if (!blockDeclares(bt.block, 'sensitive')) continue;
      const x = v[name];
      if (bt.nesting_mode === 'single') walk(bt.block, x ?? null, [...at, name]);
      else if (Array.isArray(x)) x.forEach((item, i) => walk(bt.block, item, [...at, name, i]));
      else if (isObject(x)) for (const k of Object.keys(x)) walk(bt.block, x[k]!, [...at, name, k]);
    }
  };
  walk(block, value, []);
  return out;
}

/** An instance's sensitive paths: its configuration's marks (config-relative) and its schema's, over its value. */
export function instanceMarks(block: BlockSchema, configMarks: Marks, value: Value): Marks {
  return normalise([...configMarks.map((p) => conformPath(block, p)), ...schemaSensitivePaths(block, value)]);
}

type Step = { type: 'get_attr'; value: string } | { type: 'index'; value: { value: string | number; type: 'string' | 'number' } };

/** The type of a block attribute's value at a path, to tell an object's attribute from a map's key. */
function steps(block: BlockSchema, path: Path): Step[] {
  const out: Step[] = [];
  let b: BlockSchema | undefined = block;
  let t: CtyType | undefined;
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    if (b) {
      const name = String(s);
      out.push({ type: 'get_attr', value: name });
      const bt: NonNullable<BlockSchema['block_types']>[string] | undefined = b.block_types?.[name];
      if (bt) {
        b = bt.block;
        if (bt.nesting_mode !== 'single' && i + 1 < path.length) { i++; const k = path[i]!; out.push({ type: 'index', value: { value: k, type: typeof k === 'number' ? 'number' : 'string' } }); }
      } else { t = b.attributes?.[name]?.type; b = undefined; }
      continue;
    }
    if (Array.isArray(t) && t[0] === 'object' && typeof s === 'string') { out.push({ type: 'get_attr', value: s }); t = (t[1] as Record<string, CtyType>)[s]; continue; }
    out.push({ type: 'index', value: { value: s, type: typeof s === 'number' ? 'number' : 'string' } });
    t = Array.isArray(t) && t[0] !== 'object' && t[0] !== 'tuple' ? (t[1] as CtyType) : Array.isArray(t) && t[0] === 'tuple' ? (t[1] as unknown as CtyType[])[s as number] : undefined;
  }
  return out;
}

/** State's `sensitive_attributes` (Terraform 1.11: a list of paths, each a list of get_attr / index steps). */
export function toStatePaths(block: BlockSchema, marks: Marks): unknown[] {
  return normalise(marks).filter((p) => p.length > 0).map((p) => steps(block, p));
}

/** Paths from state's `sensitive_attributes` (unknown shapes are skipped: the next write has them again). */
export function fromStatePaths(raw: unknown): Marks {
  const out: Marks = [];
  for (const p of Array.isArray(raw) ? raw : []) {
    if (!Array.isArray(p)) continue;
    const path: Path = [];
    for (const s of p as unknown[]) {
      if (!isObject(s as Value)) break;
      const st = s as { type?: unknown; value?: unknown };
      if (st.type === 'get_attr' && typeof st.value === 'string') path.push(st.value);
      else if (st.type === 'index' && isObject(st.value as Value) && ['string', 'number'].includes(typeof (st.value as { value: unknown }).value)) path.push((st.value as { value: string | number }).value);
      else break;
    }
    if (path.length === p.length) out.push(path);
  }
  return out;
}

/** True when the value at `path` is marked (the path or one of its ancestors). */
export function isSensitiveAt(marks: Marks | undefined, path: Path): boolean {
  return (marks ?? []).some((m) => m.length <= path.length && m.every((x, i) => x === path[i]));
}

/** True when something at or below `path` is marked. */
export function hasSensitiveWithin(marks: Marks | undefined, path: Path): boolean {
  return (marks ?? []).some((m) => (m.length <= path.length ? m.every((x, i) => x === path[i]) : path.every((x, i) => x === m[i])));
}

/** Terraform's sensitiveAsBool: `true` at marked values, lists keep positions, objects omit false. */
export function sensitiveMirror(v: Value, marks: Marks, at: Path = []): Value {
  // Only the marks that run through `at` can matter below it; mirrorWithin keeps that set as it descends.
  if (isSensitiveAt(marks, at)) return true;
  return mirrorWithin(v, marks.filter((m) => at.every((x, i) => x === m[i])), at.length);
}

/** sensitiveMirror at a depth where every mark in `marks` matches the path so far. */
function mirrorWithin(v: Value, marks: Marks, depth: number): Value {
  if (marks.length === 0) return falseMirror(v);
  for (const m of marks) if (m.length === depth) return true;
  if (Array.isArray(v)) return v.map((x, i) => mirrorWithin(x, marks.filter((m) => m[depth] === i), depth + 1));
  if (isObject(v)) {
    const out: ObjectValue = {};
    for (const k in v) {
      const m = mirrorWithin(v[k]!, marks.filter((p) => p[depth] === k), depth + 1);
      if (m !== false) out[k] = m;
    }
    return out;
  }
  return false;
}

/**
 * The mirror of a value with nothing marked (the common case: most values carry no marks): lists
 * keep positions, objects keep only their lists and objects, everything else is false.
 */
export function falseMirror(v: Value): Value {
  if (Array.isArray(v)) return v.map(falseMirror);
  if (isObject(v)) {
    let out: ObjectValue | undefined;
    for (const k in v) {
      const x = v[k]!;
      if (typeof x === 'object' && x !== null && !isUnknown(x)) (out ??= {})[k] = falseMirror(x);
    }
    return out ?? {};
  }
  return false;
}

/** A value with every marked part replaced by `mask` (for text that must never show them). */
export function redact(v: Value, marks: Marks | undefined, mask: Value = '(sensitive value)', at: Path = []): Value {
  if (!marks || marks.length === 0) return v;
  if (isSensitiveAt(marks, at)) return mask;
  if (Array.isArray(v)) return v.map((x, i) => redact(x, marks, mask, [...at, i]));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, marks, mask, [...at, k])]));
  return v;
}
