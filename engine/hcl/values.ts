import type { Value } from '../protocol';
import { isUnknown } from '../protocol';
import { isObject } from '../util';
import { numberToString, stringToNumber } from './numbers';

/** An evaluation error (what `try` and `can` catch); the caller adds the expression, address and field. */
export class EvalError extends Error {}

/** cty's name for a value's type, as its messages use it (eksidp's values carry no list/tuple distinction). */
export function typeName(v: Value): string {
  if (v === null) return 'null';
  if (isUnknown(v)) return 'unknown';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'tuple';
  return 'object';
}

function primitive(v: Value): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** A primitive converted to a string as cty converts it; collections and null are errors. */
export function toStringValue(v: Value, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) throw new EvalError(`${what} must not be null`);
  throw new EvalError(`${what}: string required, but have ${typeName(v)}`);
}

export function toNumber(v: Value, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = stringToNumber(v);
    if (n === undefined) throw new EvalError(`${what}: a number is required; cannot convert "${v}" to a number`);
    return n;
  }
  if (v === null) throw new EvalError(`${what} must not be null`);
  throw new EvalError(`${what}: number required, but have ${typeName(v)}`);
}

export function toBool(v: Value, what: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === null) throw new EvalError(`${what} must not be null`);
  throw new EvalError(`${what}: bool required, but have ${typeName(v)}${typeof v === 'string' ? ` ("${v}")` : ''}`);
}

/**
 * The one primitive type some values convert to, as cty unifies them (lists from tuples, sets,
 * conditional results, coalesce): all the same type; strings with numbers or bools all strings;
 * numbers with bools have none. Collections are left as they are.
 */
export function unifiedPrimitive(items: Value[], what: string): 'string' | 'number' | 'bool' | undefined {
  const kinds = new Set<string>();
  let collections = false;
  for (const x of items) {
    if (x === null || isUnknown(x)) continue;
    if (primitive(x)) kinds.add(typeName(x));
    else collections = true;
  }
  if (kinds.size === 0) return undefined;
  if (collections) throw new EvalError(`${what}: all elements must have the same type (primitive and collection values mixed)`);
  if (kinds.size === 1) return [...kinds][0] as 'string';
  if (kinds.has('string')) return 'string';
  throw new EvalError(`${what}: all elements must have the same type (number and bool cannot be unified)`);
}

export function convertPrimitive(v: Value, to: 'string' | 'number' | 'bool' | undefined, what: string): Value {
  if (to === undefined || v === null || isUnknown(v)) return v;
  if (to === 'string') return toStringValue(v, what);
  if (to === 'number') return toNumber(v, what);
  return toBool(v, what);
}

/** Items of a tuple converted to a list of one element type. */
export function unifyList(items: Value[], what: string): Value[] {
  const t = unifiedPrimitive(items, what);
  return t === undefined ? items : items.map((x) => convertPrimitive(x, t, what));
}

/** Two values unified as a conditional's results are (primitives, and tuples of primitives). */
export function unifyPrimitives(a: Value, b: Value, what: string): [Value, Value] {
  if (a === null || b === null || isUnknown(a) || isUnknown(b)) return [a, b];
  if (primitive(a) && primitive(b)) {
    const t = unifiedPrimitive([a, b], what);
    return [convertPrimitive(a, t, what), convertPrimitive(b, t, what)];
  }
  if (primitive(a) !== primitive(b)) throw new EvalError(`${what}: the values are ${typeName(a)} and ${typeName(b)}`);
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].every((x) => x === null || primitive(x))) {
    const t = unifiedPrimitive([...a, ...b], what);
    return [a.map((x) => convertPrimitive(x, t, what)), b.map((x) => convertPrimitive(x, t, what))];
  }
  return [a, b];
}

/** `==` as cty compares: same type and value (no conversion: 1 == "1" is false). */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => valueEquals(x, b[i]!));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && valueEquals(a[k]!, b[k]!));
  }
  return false;
}
