import type { ObjectValue, Path, Value } from './protocol';
import { formatPath, isUnknown, UNKNOWN } from './protocol';
import { isObject } from './util';

/**
 * Terraform JSON expressions: strings with `${...}` interpolations. Only references are supported
 * (`aws_x.y.attr[0].z`, `data.aws_x.y.attr`, `var.name`): functions, operators and template
 * directives are rejected with an error naming the expression, so nothing is half-evaluated.
 */

export type Reference = {
  /** `aws_x.y`, `data.aws_x.y` or `var.name`. */
  target: string;
  kind: 'resource' | 'data' | 'var';
  /** Attribute path after the target. */
  path: Path;
  text: string;
};

export type Template = { parts: (string | Reference)[]; whole: boolean };

const SEGMENT = /^(?:\.([A-Za-z_][\w-]*)|\[(\d+)\]|\["([^"\\]*)"\])/;

export function parseReference(text: string): Reference | string {
  const m = /^([A-Za-z_][\w-]*)/.exec(text);
  if (!m) return `unsupported expression '\${${text}}': only references to resources, data sources and variables are supported`;
  const segs: (string | number)[] = [m[1]!];
  let rest = text.slice(m[0].length);
  while (rest.length > 0) {
    const s = SEGMENT.exec(rest);
    if (!s) {
      return `unsupported expression '\${${text}}': functions, operators and conditionals are not supported, only references like aws_x.name.attribute`;
    }
    segs.push(s[1] ?? (s[2] !== undefined ? Number(s[2]) : s[3]!));
    rest = rest.slice(s[0].length);
  }
  const str = (i: number) => (typeof segs[i] === 'string' ? (segs[i] as string) : undefined);
  const head = segs[0] as string;
  if (head === 'data') {
    if (!str(1) || !str(2)) return `invalid reference '\${${text}}': expected data.TYPE.NAME`;
    return { target: `data.${str(1)}.${str(2)}`, kind: 'data', path: segs.slice(3), text };
  }
  if (head === 'var') {
    if (!str(1)) return `invalid reference '\${${text}}': expected var.NAME`;
    return { target: `var.${str(1)}`, kind: 'var', path: segs.slice(2), text };
  }
  if (['local', 'module', 'count', 'each', 'path', 'terraform', 'self'].includes(head)) {
    return `unsupported reference '\${${text}}': ${head}.* is not supported`;
  }
  if (!str(1)) return `invalid reference '\${${text}}': expected TYPE.NAME.ATTRIBUTE`;
  return { target: `${head}.${str(1)}`, kind: 'resource', path: segs.slice(2), text };
}

/** Parses a string; returns null when it holds no interpolation, or an error message. */
export function parseTemplate(s: string): Template | null | string {
  if (!s.includes('${') && !s.includes('%{')) return null;
  const parts: (string | Reference)[] = [];
  let lit = '';
  let i = 0;
  let refs = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) { lit += '${'; i += 3; continue; }
    if (s.startsWith('%%{', i)) { lit += '%{'; i += 3; continue; }
    if (s.startsWith('%{', i)) return `template directives (%{...}) are not supported in '${s}'`;
    if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      if (end < 0) return `unterminated interpolation in '${s}'`;
      const inner = s.slice(i + 2, end).trim().replace(/^~|~$/g, '').trim();
      const ref = parseReference(inner);
      if (typeof ref === 'string') return ref;
      if (lit) parts.push(lit);
      lit = '';
      parts.push(ref);
      refs++;
      i = end + 1;
      continue;
    }
    lit += s[i];
    i++;
  }
  if (lit) parts.push(lit);
  if (refs === 0) return { parts: [lit], whole: false };
  return { parts, whole: parts.length === 1 && typeof parts[0] !== 'string' };
}

/** Every reference in a config value, with the attribute path where it appears; errors are collected. */
export function collectReferences(value: Value, at: Path = []): { refs: { ref: Reference; at: Path }[]; errors: { message: string; at: Path }[] } {
  const refs: { ref: Reference; at: Path }[] = [];
  const errors: { message: string; at: Path }[] = [];
  // One mutable path, copied only where a reference or an error is recorded: configs are mostly
  // plain strings, and a path array per value was most of this walk at fleet scale.
  const p: (string | number)[] = [...at];
  const walk = (v: Value) => {
    if (typeof v === 'string') {
      const t = parseTemplate(v);
      if (typeof t === 'string') errors.push({ message: t, at: [...p] });
      else if (t) for (const part of t.parts) if (typeof part !== 'string') refs.push({ ref: part, at: [...p] });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        p.push(i);
        walk(v[i]!);
        p.pop();
      }
    } else if (isObject(v)) {
      for (const k in v) {
        p.push(k);
        walk(v[k]!);
        p.pop();
      }
    }
  };
  walk(value);
  return { refs, errors };
}

/** Follows a path into a value; unknown anywhere along the way gives UNKNOWN. */
export function getPath(value: Value, path: Path): { value: Value } | { error: string } {
  let cur: Value = value;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isUnknown(cur)) return { value: UNKNOWN };
    if (cur === null) return { error: `attempt to get attribute '${formatPath(path.slice(0, i + 1))}' from a null value` };
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return { error: `'${formatPath(path.slice(0, i))}' is not a list, cannot index it with [${seg}]` };
      if (seg >= cur.length) return { error: `index ${seg} out of range for '${formatPath(path.slice(0, i))}' (length ${cur.length})` };
      cur = cur[seg]!;
    } else {
      if (!isObject(cur)) return { error: `'${formatPath(path.slice(0, i)) || 'value'}' has no attribute '${seg}'` };
      if (!(seg in cur)) return { error: `unsupported attribute '${seg}'` };
      cur = cur[seg]!;
    }
  }
  return { value: cur };
}

export type Lookup = (ref: Reference) => { value: Value } | { error: string };

function interpolate(v: Value): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Evaluates every expression in a config value. A whole-string reference takes the referenced
 * value's type; an embedded one is converted to a string. Unknown values make the result UNKNOWN.
 */
export function evaluate(value: Value, lookup: Lookup, at: Path = []): { value: Value; errors: { message: string; at: Path }[] } {
  const errors: { message: string; at: Path }[] = [];
  // One mutable path, copied only where an error is recorded (as in collectReferences): plans and
  // drift checks evaluate every resource, and a path array per value was much of that at fleet scale.
  const p: (string | number)[] = [...at];
  const fail = (message: string): null => {
    errors.push({ message, at: [...p] });
    return null;
  };
  const walk = (v: Value): Value => {
    if (typeof v === 'string') {
      const t = parseTemplate(v);
      if (t === null) return v;
      if (typeof t === 'string') return fail(t);
      if (t.whole) {
        const r = lookup(t.parts[0] as Reference);
        if ('error' in r) return fail(`${(t.parts[0] as Reference).text}: ${r.error}`);
        return r.value;
      }
      let out = '';
      for (const part of t.parts) {
        if (typeof part === 'string') { out += part; continue; }
        const r = lookup(part);
        if ('error' in r) return fail(`${part.text}: ${r.error}`);
        if (isUnknown(r.value)) return UNKNOWN;
        const s = interpolate(r.value);
        if (s === undefined) return fail(`cannot include '${part.text}' in a string: it is ${r.value === null ? 'null' : Array.isArray(r.value) ? 'a list' : 'an object'}`);
        out += s;
      }
      return out;
    }
    if (Array.isArray(v)) {
      const out: Value[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        p.push(i);
        out[i] = walk(v[i]!);
        p.pop();
      }
      return out;
    }
    if (isObject(v)) {
      const out: ObjectValue = {};
      for (const k in v) {
        p.push(k);
        const x = walk(v[k]!);
        // A JSON key named __proto__ stays a plain property (assignment would set the prototype).
        if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
        else out[k] = x;
        p.pop();
      }
      return out;
    }
    return v;
  };
  const result = walk(value);
  return { value: result, errors };
}
