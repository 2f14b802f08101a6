import type { ObjectValue, Value } from '../protocol';
import { isUnknown, UNKNOWN } from '../protocol';
import { byteCompare } from '../types';
import { containsUnknown, isObject } from '../util';
import type { Expr, TplPart } from './ast';
import { callFunction, FUNCTIONS } from './functions';
import { arith } from './numbers';
import { EvalError, typeName, toBool, toNumber, toStringValue, unifyPrimitives, valueEquals } from './values';

/**
 * Evaluates an HCL expression over eksidp's values (JSON values and UNKNOWN), as Terraform does:
 * unknown operands make results unknown, strings and numbers convert where cty converts them, and
 * errors are thrown as EvalError (try and can catch them).
 */

/** Resolves a traversal that starts outside any `for` variable (var.x, aws_x.y.attr, local.z). */
export type Resolve = (root: string, segs: (string | number)[], node: Expr) => Value;

export type Env = { resolve: Resolve; vars: ReadonlyMap<string, Value> };

/** `root.a["b"][0]` with only literal steps: the part of an expression that names a reference. */
export function staticTraversal(e: Expr): { root: string; segs: (string | number)[] } | undefined {
  const segs: (string | number)[] = [];
  let cur = e;
  for (;;) {
    if (cur.k === 'scope') return { root: cur.name, segs: segs.reverse() };
    if (cur.k === 'attr') { segs.push(cur.name); cur = cur.obj; continue; }
    if (cur.k === 'index' && cur.key.k === 'lit' && (typeof cur.key.v === 'string' || typeof cur.key.v === 'number')) { segs.push(cur.key.v); cur = cur.obj; continue; }
    return undefined;
  }
}

export function evalExpr(e: Expr, env: Env): Value {
  switch (e.k) {
    case 'lit': return e.v;
    case 'paren': return evalExpr(e.e, env);
    case 'tpl': return evalTemplate(e.parts, env);
    case 'scope':
    case 'attr':
    case 'index': {
      const st = staticTraversal(e);
      if (st && !env.vars.has(st.root)) return env.resolve(st.root, st.segs, e);
      if (e.k === 'scope') return env.vars.get(e.name)!;
      const obj = evalExpr(e.obj, env);
      if (e.k === 'attr') return getAttr(obj, e.name);
      return index(obj, evalExpr(e.key, env));
    }
    case 'item': return env.vars.get('\0item')!;
    case 'splat': {
      const obj = evalExpr(e.obj, env);
      if (isUnknown(obj)) return UNKNOWN;
      // A splat over null is an empty tuple; over a single value, a tuple of that value.
      const items = obj === null ? [] : Array.isArray(obj) ? obj : [obj];
      return items.map((item) => evalExpr(e.each, withVars(env, [['\0item', item]])));
    }
    case 'call': return evalCall(e, env);
    case 'unary': {
      const v = evalExpr(e.e, env);
      if (isUnknown(v)) return UNKNOWN;
      if (v === null) throw new EvalError('Operation failed: argument must not be null');
      if (e.op === '!') return !toBool(v, 'the operand of !');
      const n = arith('-', 0, toNumber(v, 'the operand of -'));
      if (typeof n !== 'number') throw new EvalError(n.error);
      return n;
    }
    case 'bin': return evalBinary(e.op, evalExpr(e.l, env), evalExpr(e.r, env));
    case 'cond': {
      const c = evalExpr(e.c, env);
      if (c === null) throw new EvalError('Null condition: the condition value is null; conditions must either be true or false');
      // Both results are evaluated for their types; only the chosen one's error counts, as in hcl.
      const t = attempt(() => evalExpr(e.t, env));
      const f = attempt(() => evalExpr(e.f, env));
      if (isUnknown(c)) return UNKNOWN;
      const pick = toBool(c, 'the condition');
      const chosen = pick ? t : f;
      if ('error' in chosen) throw chosen.error;
      const other = pick ? f : t;
      if ('error' in other) return chosen.value;
      const [ut, uf] = unifyPrimitives((t as { value: Value }).value, (f as { value: Value }).value, 'Inconsistent conditional result types: the true and false result expressions must have consistent types');
      return pick ? ut : uf;
    }
    case 'tuple': return e.items.map((x) => evalExpr(x, env));
    case 'object': {
      const out: ObjectValue = {};
      for (const { key, value } of e.items) {
        const k = evalExpr(key, env);
        if (isUnknown(k)) return UNKNOWN;
        if (k === null) throw new EvalError('Null value as key: can\'t use a null value as a key');
        const ks = toStringValue(k, 'an object key');
        setKey(out, ks, evalExpr(value, env));
      }
      return out;
    }
    case 'for': return evalFor(e, env);
  }
}

function attempt(f: () => Value): { value: Value } | { error: EvalError } {
  try {
    return { value: f() };
  } catch (err) {
    if (err instanceof EvalError) return { error: err };
    throw err;
  }
}

function setKey(o: ObjectValue, k: string, v: Value): void {
  // A key named __proto__ stays a plain property (assignment would set the prototype).
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function withVars(env: Env, pairs: [string, Value][]): Env {
  const vars = new Map(env.vars);
  for (const [k, v] of pairs) vars.set(k, v);
  return { resolve: env.resolve, vars };
}

export function getAttr(obj: Value, name: string): Value {
  if (isUnknown(obj)) return UNKNOWN;
  if (obj === null) throw new EvalError(`Attempt to get attribute "${name}" from a null value`);
  if (!isObject(obj)) throw new EvalError(`Unsupported attribute: can't access attribute "${name}" on a value of type ${typeName(obj)}`);
  if (!Object.prototype.hasOwnProperty.call(obj, name)) throw new EvalError(`Unsupported attribute: this object does not have an attribute named "${name}"`);
  return obj[name]!;
}

export function index(obj: Value, key: Value): Value {
  if (isUnknown(obj) || isUnknown(key)) return UNKNOWN;
  if (obj === null) throw new EvalError('Attempt to index null value');
  if (key === null) throw new EvalError('Invalid index: can\'t use a null value as an indexing key');
  if (Array.isArray(obj)) {
    const n = toNumber(key, 'the index');
    if (!Number.isInteger(n)) throw new EvalError('Invalid index: the index must be a whole number');
    if (n < 0 || n >= obj.length) throw new EvalError(`Invalid index: the given key does not identify an element in this collection value (index ${n}, length ${obj.length})`);
    return obj[n]!;
  }
  if (isObject(obj)) {
    const k = toStringValue(key, 'the key');
    if (!Object.prototype.hasOwnProperty.call(obj, k)) throw new EvalError(`Invalid index: the given key does not identify an element in this collection value ("${k}")`);
    return obj[k]!;
  }
  throw new EvalError(`Invalid index: this value of type ${typeName(obj)} does not have any indices`);
}

function evalBinary(op: string, l: Value, r: Value): Value {
  if (op === '==' || op === '!=') {
    if (isUnknown(l) || isUnknown(r) || (containsUnknown(l) || containsUnknown(r))) return UNKNOWN;
    const eq = valueEquals(l, r);
    return op === '==' ? eq : !eq;
  }
  if (isUnknown(l) || isUnknown(r)) return UNKNOWN;
  if (l === null || r === null) throw new EvalError('Operation failed: argument must not be null');
  if (op === '&&' || op === '||') {
    const a = toBool(l, `the left operand of ${op}`);
    const b = toBool(r, `the right operand of ${op}`);
    return op === '&&' ? a && b : a || b;
  }
  const a = toNumber(l, `the left operand of ${op}`);
  const b = toNumber(r, `the right operand of ${op}`);
  switch (op) {
    case '<': return a < b;
    case '>': return a > b;
    case '<=': return a <= b;
    case '>=': return a >= b;
  }
  const n = arith(op as '+', a, b);
  if (typeof n !== 'number') throw new EvalError(n.error);
  return n;
}

/** The elements of a collection to iterate: [key, value] pairs (index keys for tuples, keys in order for objects). */
function iterate(coll: Value, what: string): [Value, Value][] {
  if (coll === null) throw new EvalError(`Iteration over null value: a null value cannot be used as the collection in a ${what}`);
  if (Array.isArray(coll)) return coll.map((v, i) => [i, v]);
  if (isObject(coll)) return Object.keys(coll).sort(byteCompare).map((k) => [k, coll[k]!]);
  throw new EvalError(`Iteration over non-iterable value: a value of type ${typeName(coll)} cannot be used as the collection in a ${what}`);
}

function evalFor(e: Extract<Expr, { k: 'for' }>, env: Env): Value {
  const coll = evalExpr(e.coll, env);
  if (isUnknown(coll)) return UNKNOWN;
  const tuple: Value[] = [];
  const obj: ObjectValue = {};
  const groups = new Map<string, Value[]>();
  let unknown = false;
  for (const [k, v] of iterate(coll, 'for expression')) {
    const inner = withVars(env, e.keyVar !== undefined ? [[e.keyVar, k], [e.valVar, v]] : [[e.valVar, v]]);
    if (e.cond) {
      const c = evalExpr(e.cond, inner);
      if (isUnknown(c)) { unknown = true; continue; }
      if (c === null) throw new EvalError('Condition is null: the value of the if clause must not be null');
      if (!toBool(c, 'the if clause')) continue;
    }
    if (!e.keyExpr) { tuple.push(evalExpr(e.valExpr, inner)); continue; }
    const key = evalExpr(e.keyExpr, inner);
    if (isUnknown(key)) { unknown = true; continue; }
    if (key === null) throw new EvalError('Invalid object key: key expression result must not be null');
    const ks = toStringValue(key, 'the key expression');
    const val = evalExpr(e.valExpr, inner);
    if (e.group) {
      const g = groups.get(ks) ?? [];
      g.push(val);
      groups.set(ks, g);
    } else {
      if (Object.prototype.hasOwnProperty.call(obj, ks)) throw new EvalError(`Duplicate object key: two different items produced the key "${ks}" in this 'for' expression; use the ellipsis (...) after the value expression to group them`);
      setKey(obj, ks, val);
    }
  }
  if (unknown) return UNKNOWN;
  if (!e.keyExpr) return tuple;
  if (e.group) for (const [k, g] of groups) setKey(obj, k, g);
  return sortKeys(obj);
}

export function sortKeys(o: ObjectValue): ObjectValue {
  const out: ObjectValue = {};
  for (const k of Object.keys(o).sort(byteCompare)) setKey(out, k, o[k]!);
  return out;
}

function evalTemplate(parts: TplPart[], env: Env): Value {
  // A template that is exactly one interpolation is that value, unconverted (`"${x}"` is x).
  if (parts.length === 1 && typeof parts[0] !== 'string' && parts[0]!.k === 'interp') return evalExpr(parts[0]!.e, env);
  const out = renderParts(parts, env);
  return out;
}

function renderParts(parts: TplPart[], env: Env): string | Value {
  let s = '';
  for (const p of parts) {
    if (typeof p === 'string') { s += p; continue; }
    if (p.k === 'interp') {
      const v = evalExpr(p.e, env);
      if (isUnknown(v)) return UNKNOWN;
      if (v === null) throw new EvalError('Invalid template interpolation value: the expression result is null');
      if (Array.isArray(v) || isObject(v)) throw new EvalError(`Invalid template interpolation value: cannot include a value of type ${typeName(v)} in a string`);
      s += toStringValue(v, 'an interpolation');
      continue;
    }
    if (p.k === 'if') {
      const c = evalExpr(p.cond, env);
      if (isUnknown(c)) return UNKNOWN;
      if (c === null) throw new EvalError('Invalid template if directive: the condition is null');
      const r = renderParts(toBool(c, 'the %{if} condition') ? p.then : p.else, env);
      if (isUnknown(r)) return UNKNOWN;
      s += r as string;
      continue;
    }
    const coll = evalExpr(p.coll, env);
    if (isUnknown(coll)) return UNKNOWN;
    for (const [k, v] of iterate(coll, 'template for directive')) {
      const r = renderParts(p.body, withVars(env, p.keyVar !== undefined ? [[p.keyVar, k], [p.valVar, v]] : [[p.valVar, v]]));
      if (isUnknown(r)) return UNKNOWN;
      s += r as string;
    }
  }
  return s;
}

function evalCall(e: Extract<Expr, { k: 'call' }>, env: Env): Value {
  if (e.name === 'try' || e.name === 'can') {
    if (e.expand) throw new EvalError(`${e.name}: argument expansion (...) is not supported`);
    if (e.name === 'can' && e.args.length !== 1) throw new EvalError('can: exactly one argument is required');
    if (e.name === 'try' && e.args.length === 0) throw new EvalError('try: at least one argument is required');
    const errors: string[] = [];
    for (const a of e.args) {
      try {
        const v = evalExpr(a, env);
        // hcl's tryfunc: a value not wholly known may still fail once known, so the result waits too.
        if (containsUnknown(v)) return UNKNOWN;
        return e.name === 'can' ? true : v;
      } catch (err) {
        if (!(err instanceof EvalError)) throw err;
        if (e.name === 'can') return false;
        errors.push(err.message);
      }
    }
    throw new EvalError(`Error in function call: no expression succeeded: ${errors.join('; ')}`);
  }
  const fn = FUNCTIONS.get(e.name);
  if (!fn) throw new EvalError(`Call to unsupported function "${e.name}"`);
  let args = e.args.map((a) => evalExpr(a, env));
  if (e.expand) {
    const last = args[args.length - 1];
    if (isUnknown(last)) return UNKNOWN;
    if (!Array.isArray(last)) throw new EvalError(`Invalid expanding argument value: the expanding argument (indicated by ...) must be of a tuple, list, or set type`);
    args = [...args.slice(0, -1), ...last];
  }
  return callFunction(e.name, fn, args);
}
