import type { Path, Value } from '../protocol';
import { isUnknown, UNKNOWN } from '../protocol';
import { byteCompare } from '../types';
import { isObject } from '../util';
import type { Expr, TplPart } from './ast';
import { evalExpr, staticTraversal, type Env } from './evaluate';
import { EvalError, toBool, toStringValue } from './values';

/**
 * Sensitivity of an expression's result, as cty's marks carry it in Terraform: the paths within the
 * value that are sensitive (`[]`: the whole value). Computed beside the value (evaluate.ts stays
 * mark-free): literals build up element paths, references bring theirs, and everything that computes
 * a new value from marked operands (operators, templates, most functions) is sensitive as a whole.
 * Checked against `terraform console` cases (test/sensitive.test.ts). Deliberately coarser than
 * cty in a few places, always towards more marking: a `for` or splat over a collection with marked
 * elements, and functions other than those listed in `callMarks`, mark their whole result.
 */

export type Marks = Path[];

/** Resolves the marks of a reference (root and literal steps), as Env.resolve resolves its value. */
export type ResolveMarks = (root: string, segs: (string | number)[]) => Marks;

export type MarkEnv = { env: Env; resolve: ResolveMarks; vars: ReadonlyMap<string, Marks> };

const WHOLE: Marks = [[]];

export function isWhole(m: Marks): boolean {
  return m.some((p) => p.length === 0);
}

/**
 * A step that stands for every key or index, in marks made before keys are known (the elements of a
 * repeated resource referenced whole, the items of a nested block list): it matches any step.
 */
export const EACH = '(each)';

/** The marks of the value at `step` within a value with marks `m`. */
export function narrow(m: Marks, steps: readonly (string | number)[]): Marks {
  const out: Marks = [];
  for (const p of m) {
    let i = 0;
    while (i < p.length && i < steps.length && (p[i] === steps[i] || p[i] === EACH)) i++;
    if (i === p.length) return WHOLE; // a mark on the value or one of its ancestors
    if (i === steps.length) out.push(p.slice(i));
  }
  return out;
}

export function prefix(m: Marks, step: string | number): Marks {
  return m.map((p) => [step, ...p]);
}

/** Deduplicated, ancestors absorbing descendants, in a stable order. */
export function normalise(m: Marks): Marks {
  const key = (p: Path) => JSON.stringify(p);
  const sorted = [...new Map(m.map((p) => [key(p), p])).values()].sort((a, b) => a.length - b.length);
  const out: Marks = [];
  for (const p of sorted) if (!out.some((q) => q.length <= p.length && q.every((x, i) => x === p[i]))) out.push(p);
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

const any = (...ms: Marks[]) => ms.some((m) => m.length > 0);

function value(e: Expr, me: MarkEnv): Value | undefined {
  try {
    return evalExpr(e, me.env);
  } catch (err) {
    if (err instanceof EvalError) return undefined;
    throw err;
  }
}

function withVars(me: MarkEnv, pairs: [string, Value, Marks][]): MarkEnv {
  const vars = new Map(me.env.vars);
  const marks = new Map(me.vars);
  for (const [k, v, m] of pairs) { vars.set(k, v); marks.set(k, m); }
  return { env: { resolve: me.env.resolve, vars }, resolve: me.resolve, vars: marks };
}

export function exprMarks(e: Expr, me: MarkEnv): Marks {
  switch (e.k) {
    case 'lit': return [];
    case 'paren': return exprMarks(e.e, me);
    case 'tpl': {
      if (e.parts.length === 1 && typeof e.parts[0] !== 'string' && e.parts[0]!.k === 'interp') return exprMarks(e.parts[0]!.e, me);
      return partsMarked(e.parts, me) ? WHOLE : [];
    }
    case 'scope': case 'attr': case 'index': {
      const st = staticTraversal(e);
      if (st && !me.env.vars.has(st.root)) return normalise(me.resolve(st.root, st.segs));
      if (st) return narrow(me.vars.get(st.root) ?? [], st.segs);
      if (e.k === 'scope') return me.vars.get(e.name) ?? [];
      const obj = exprMarks(e.obj, me);
      if (e.k === 'attr') return narrow(obj, [e.name]);
      const km = exprMarks(e.key, me);
      if (km.length > 0) return WHOLE;
      const k = value(e.key, me);
      if (typeof k === 'number' || typeof k === 'string') {
        const container = value(e.obj, me);
        return narrow(obj, [Array.isArray(container) && typeof k === 'string' ? Number(k) : typeof k === 'number' && isObject(container) ? String(k) : k]);
      }
      return obj.length > 0 ? WHOLE : [];
    }
    case 'item': return me.vars.get('\0item') ?? [];
    case 'splat': return any(exprMarks(e.obj, me)) ? WHOLE : [];
    case 'call': return callMarks(e, me);
    case 'unary': return any(exprMarks(e.e, me)) ? WHOLE : [];
    case 'bin': return any(exprMarks(e.l, me), exprMarks(e.r, me)) ? WHOLE : [];
    case 'cond': {
      // hcl: the chosen result keeps its marks; the condition's marks and the other result's own
      // (top-level) marks are added to it (`true ? "a" : var.secret` is sensitive).
      const c = exprMarks(e.c, me);
      const t = exprMarks(e.t, me);
      const f = exprMarks(e.f, me);
      const cv = value(e.c, me);
      if (c.length > 0 || cv === undefined || cv === null || isUnknown(cv)) return any(c, t, f) ? WHOLE : [];
      let pick: boolean;
      try { pick = toBool(cv, 'the condition'); } catch { return any(c, t, f) ? WHOLE : []; }
      const [chosen, other] = pick ? [t, f] : [f, t];
      return isWhole(other) ? WHOLE : chosen;
    }
    case 'tuple': return e.items.flatMap((x, i) => prefix(exprMarks(x, me), i));
    case 'object': {
      const out: Marks = [];
      for (const { key, value: v } of e.items) {
        if (any(exprMarks(key, me))) return WHOLE;
        const k = value(key, me);
        if (k === undefined || k === null || isUnknown(k)) continue;
        let ks: string;
        try { ks = toStringValue(k, 'key'); } catch { continue; }
        out.push(...prefix(exprMarks(v, me), ks));
      }
      return out;
    }
    case 'for': return forMarks(e, me);
  }
}

function partsMarked(parts: TplPart[], me: MarkEnv): boolean {
  for (const p of parts) {
    if (typeof p === 'string') continue;
    if (p.k === 'interp') { if (any(exprMarks(p.e, me))) return true; continue; }
    if (p.k === 'if') { if (any(exprMarks(p.cond, me)) || partsMarked(p.then, me) || partsMarked(p.else, me)) return true; continue; }
    const coll = exprMarks(p.coll, me);
    if (coll.length > 0) return true;
    const v = value(p.coll, me);
    for (const [k, x] of entries(v)) {
      if (partsMarked(p.body, withVars(me, p.keyVar !== undefined ? [[p.keyVar, k, []], [p.valVar, x, []]] : [[p.valVar, x, []]]))) return true;
    }
  }
  return false;
}

function entries(v: Value | undefined): [Value, Value][] {
  if (Array.isArray(v)) return v.map((x, i) => [i, x]);
  if (isObject(v)) return Object.keys(v).sort(byteCompare).map((k) => [k, v[k]!]);
  return [];
}

function forMarks(e: Extract<Expr, { k: 'for' }>, me: MarkEnv): Marks {
  const coll = exprMarks(e.coll, me);
  if (isWhole(coll)) return WHOLE;
  const v = value(e.coll, me);
  if (v === undefined || isUnknown(v)) {
    if (!any(coll)) return [];
    // Not known until apply (instances not yet created): judge the expressions once, the element
    // variable carrying every element's marks merged, so `val.id` over objects whose client_id is
    // sensitive stays unmarked as in Terraform; anything marked marks the whole result (keys unknown).
    const elem = normalise(coll.map((p) => p.slice(1)));
    const inner = withVars(me, e.keyVar !== undefined ? [[e.keyVar, UNKNOWN, []], [e.valVar, UNKNOWN, elem]] : [[e.valVar, UNKNOWN, elem]]);
    return [e.valExpr, e.keyExpr, e.cond].some((x) => x !== undefined && any(exprMarks(x, inner))) ? WHOLE : [];
  }
  const out: Marks = [];
  let n = 0;
  for (const [k, x] of entries(v)) {
    const inner = withVars(me, e.keyVar !== undefined ? [[e.keyVar, k, []], [e.valVar, x, narrow(coll, [k as string | number])]] : [[e.valVar, x, narrow(coll, [k as string | number])]]);
    if (e.cond) {
      if (any(exprMarks(e.cond, inner))) return WHOLE;
      const c = value(e.cond, inner);
      if (c === undefined || c === null || isUnknown(c)) return any(coll) ? WHOLE : out;
      try { if (!toBool(c, 'if')) continue; } catch { continue; }
    }
    const vm = exprMarks(e.valExpr, inner);
    if (!e.keyExpr) { out.push(...prefix(vm, n++)); continue; }
    if (any(exprMarks(e.keyExpr, inner)) || e.group) { if (any(vm) || any(exprMarks(e.keyExpr, inner))) return WHOLE; continue; }
    const key = value(e.keyExpr, inner);
    if (typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean') out.push(...prefix(vm, toStringValue(key, 'key')));
  }
  return out;
}

/** Functions whose result keeps its arguments' element marks (cty parameters with AllowMarked), as Terraform's do. */
function callMarks(e: Extract<Expr, { k: 'call' }>, me: MarkEnv): Marks {
  const args = e.args.map((a) => exprMarks(a, me));
  if (e.name === 'sensitive') return WHOLE;
  // Terraform 1.11's nonsensitive removes the value's own mark (a non-sensitive argument is fine).
  if (e.name === 'nonsensitive') return (args[0] ?? []).filter((p) => p.length > 0);
  if (!args.some((m) => m.length > 0)) return [];
  if (e.expand) return WHOLE;
  const vals = () => e.args.map((a) => value(a, me));
  switch (e.name) {
    // Only the collection's own mark: `length([var.secret, "x"])` is 2, not sensitive.
    case 'length': case 'keys': return isWhole(args[0]!) ? WHOLE : [];
    case 'tolist': case 'tomap': return args[0]!;
    case 'concat': {
      const vs = vals();
      const out: Marks = [];
      let offset = 0;
      for (let i = 0; i < args.length; i++) {
        if (isWhole(args[i]!)) return WHOLE;
        const v = vs[i];
        if (!Array.isArray(v)) return WHOLE;
        for (const p of args[i]!) out.push([(p[0] as number) + offset, ...p.slice(1)]);
        offset += v.length;
      }
      return out;
    }
    case 'merge': {
      const vs = vals();
      const out = new Map<string, Marks>();
      for (let i = 0; i < args.length; i++) {
        if (isWhole(args[i]!)) return WHOLE;
        const v = vs[i];
        if (v === null) continue;
        if (!isObject(v)) return WHOLE;
        for (const k of Object.keys(v)) out.set(k, prefix(narrow(args[i]!, [k]), k));
      }
      return [...out.values()].flat();
    }
    case 'lookup': case 'element': {
      if (isWhole(args[0]!) || any(args[1] ?? [])) return WHOLE;
      const [coll, key] = vals();
      if (e.name === 'element' && Array.isArray(coll) && typeof key === 'number' && coll.length > 0) return narrow(args[0]!, [((key % coll.length) + coll.length) % coll.length]);
      if (e.name === 'lookup' && isObject(coll) && typeof key === 'string') return Object.prototype.hasOwnProperty.call(coll, key) ? narrow(args[0]!, [key]) : (args[2] ?? []);
      return WHOLE;
    }
    default: return WHOLE;
  }
}
