import type { ObjectValue, Path, Value } from './protocol';
import { formatPath, isUnknown, UNKNOWN } from './protocol';
import { isObject } from './util';
import type { Expr, TplPart } from './hcl/ast';
import { evalExpr, staticTraversal, type Env } from './hcl/evaluate';
import { FUNCTIONS, translateRegex } from './hcl/functions';
import { parseExpression, parseJsonTemplate, ParseError } from './hcl/parser';
import { EvalError } from './hcl/values';
import { exprMarks, narrow, normalise, type Marks } from './hcl/marks';

/**
 * Terraform JSON expressions: strings with `${...}` interpolations and `%{...}` directives holding
 * HCL native syntax (engine/hcl/: parser, evaluator, functions). This file is the engine's view of
 * them: the references an expression makes (for the graph, validation and the JSON plan), and its
 * evaluation against a Lookup that resolves references. Anything eksidp does not implement (an
 * unknown function, `self`, `path`, a regex RE2 reads differently) is an error naming the
 * expression, reported when the configuration is parsed, before any API call.
 */

export type Reference = {
  /** `aws_x.y`, `data.aws_x.y`, `var.name`, `local.name`, `count.index`, `each.key` or `each.value`. */
  target: string;
  /** `count` and `each` are a resource instance's own repetition values (count.index, each.key, each.value). */
  kind: 'resource' | 'data' | 'var' | 'local' | 'count' | 'each';
  /** Attribute path after the target. */
  path: Path;
  text: string;
};

/**
 * A parsed string: its expression, the references in it, and, when the whole string is one
 * reference (`"${aws_x.y.attr}"`), that reference (the value keeps the referenced value's type).
 */
export type Template = { expr: Expr; refs: Reference[]; whole: boolean; ref?: Reference };

function traversalText(root: string, segs: (string | number)[]): string {
  return root + segs.map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][\w-]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('');
}

/** The reference a traversal names, or why it is not one eksidp resolves. */
function referenceOf(root: string, segs: (string | number)[]): Reference | string {
  const text = traversalText(root, segs);
  const str = (i: number) => (typeof segs[i] === 'string' ? (segs[i] as string) : undefined);
  if (root === 'data') {
    if (!str(0) || !str(1)) return `invalid reference '${text}': expected data.TYPE.NAME`;
    return { target: `data.${str(0)}.${str(1)}`, kind: 'data', path: segs.slice(2), text };
  }
  if (root === 'var') {
    if (!str(0)) return `invalid reference '${text}': expected var.NAME`;
    return { target: `var.${str(0)}`, kind: 'var', path: segs.slice(1), text };
  }
  if (root === 'local') {
    if (!str(0)) return `invalid reference '${text}': expected local.NAME`;
    return { target: `local.${str(0)}`, kind: 'local', path: segs.slice(1), text };
  }
  if (root === 'count') {
    if (str(0) !== 'index' || segs.length > 1) return `Invalid "count" attribute in '${text}': the "count" object does not have an attribute named "${String(segs[0])}"; the only supported attribute is count.index, the index of each instance of a resource block that has the "count" argument set`;
    return { target: 'count.index', kind: 'count', path: [], text };
  }
  if (root === 'each') {
    if (str(0) !== 'key' && str(0) !== 'value') return `Invalid "each" attribute in '${text}': the "each" object does not have an attribute named "${String(segs[0])}"; the supported attributes are each.key and each.value, the current key and value pair of the "for_each" attribute set`;
    return { target: `each.${str(0)}`, kind: 'each', path: segs.slice(1), text };
  }
  if (['module', 'path', 'terraform', 'self'].includes(root)) {
    return `unsupported reference '${text}': ${root}.* is not supported`;
  }
  if (!str(0)) return `invalid reference '${text}': expected TYPE.NAME.ATTRIBUTE`;
  return { target: `${root}.${str(0)}`, kind: 'resource', path: segs.slice(1), text };
}

/** A reference written on its own (depends_on, ignore_changes): a traversal and nothing else. */
export function parseReference(text: string): Reference | string {
  let e: Expr;
  try {
    e = parseExpression(text);
  } catch (err) {
    if (err instanceof ParseError) return `invalid reference '${text}': ${err.message}`;
    throw err;
  }
  const st = staticTraversal(e);
  if (!st) return `unsupported expression '\${${text}}': expected a reference like aws_x.name.attribute`;
  return referenceOf(st.root, st.segs);
}

/** The references in an expression and the constructs eksidp refuses in it. */
function analyse(e: Expr): { refs: Reference[]; errors: string[] } {
  const refs: Reference[] = [];
  const errors: string[] = [];
  const walk = (x: Expr, bound: ReadonlySet<string>): void => {
    switch (x.k) {
      case 'lit': case 'item': return;
      case 'paren': return walk(x.e, bound);
      case 'tpl': return walkParts(x.parts, bound);
      case 'scope': case 'attr': case 'index': {
        const st = staticTraversal(x);
        if (st) {
          if (bound.has(st.root)) return;
          const r = referenceOf(st.root, st.segs);
          if (typeof r === 'string') errors.push(r);
          else refs.push(r);
          return;
        }
        if (x.k === 'scope') return;
        walk(x.obj, bound);
        if (x.k === 'index') walk(x.key, bound);
        return;
      }
      case 'splat': walk(x.obj, bound); return walk(x.each, bound);
      case 'call':
        if (x.name !== 'try' && x.name !== 'can' && !FUNCTIONS.has(x.name)) errors.push(`unsupported function "${x.name}": eksidp implements ${[...FUNCTIONS.keys(), 'try', 'can'].sort().join(', ')}`);
        // A literal /regex/ is checked now, so a pattern RE2 reads differently fails before any API call.
        if (x.name === 'replace' && x.args[1]?.k === 'lit' && typeof x.args[1].v === 'string' && /^\/.+\/$/s.test(x.args[1].v)) {
          try { translateRegex(x.args[1].v.slice(1, -1)); } catch (err) { if (err instanceof EvalError) errors.push(err.message); else throw err; }
        }
        for (const a of x.args) walk(a, bound);
        return;
      case 'unary': return walk(x.e, bound);
      case 'bin': walk(x.l, bound); return walk(x.r, bound);
      case 'cond': walk(x.c, bound); walk(x.t, bound); return walk(x.f, bound);
      case 'tuple': for (const i of x.items) walk(i, bound); return;
      case 'object': for (const i of x.items) { walk(i.key, bound); walk(i.value, bound); } return;
      case 'for': {
        walk(x.coll, bound);
        const inner = new Set([...bound, x.valVar, ...(x.keyVar !== undefined ? [x.keyVar] : [])]);
        if (x.keyExpr) walk(x.keyExpr, inner);
        walk(x.valExpr, inner);
        if (x.cond) walk(x.cond, inner);
      }
    }
  };
  const walkParts = (parts: TplPart[], bound: ReadonlySet<string>): void => {
    for (const p of parts) {
      if (typeof p === 'string') continue;
      if (p.k === 'interp') walk(p.e, bound);
      else if (p.k === 'if') { walk(p.cond, bound); walkParts(p.then, bound); walkParts(p.else, bound); }
      else {
        walk(p.coll, bound);
        walkParts(p.body, new Set([...bound, p.valVar, ...(p.keyVar !== undefined ? [p.keyVar] : [])]));
      }
    }
  };
  walk(e, new Set());
  return { refs, errors };
}

// Configurations repeat the same strings (fleets of alike resources), and plans and drift checks
// evaluate every resource: each distinct string is parsed once.
const cache = new Map<string, Template | null | string>();
const CACHE_LIMIT = 20_000;

/** Parses a string; returns null when it holds no interpolation or directive, or an error message. */
export function parseTemplate(s: string): Template | null | string {
  if (!s.includes('${') && !s.includes('%{')) return null;
  const hit = cache.get(s);
  if (hit !== undefined) return hit;
  let result: Template | string;
  try {
    const expr = parseJsonTemplate(s)!;
    const { refs, errors } = analyse(expr);
    if (errors.length > 0) result = `${errors[0]}, in '${s}'`;
    else {
      const only = expr.k === 'tpl' && expr.parts.length === 1 && typeof expr.parts[0] !== 'string' && expr.parts[0]!.k === 'interp' ? expr.parts[0]!.e : undefined;
      const st = only ? staticTraversal(only) : undefined;
      const ref = st ? referenceOf(st.root, st.segs) : undefined;
      result = { expr, refs, whole: typeof ref === 'object', ...(typeof ref === 'object' ? { ref } : {}) };
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    result = `invalid expression '${s}': ${err.message}`;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(s, result);
  return result;
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
      else if (t) for (const ref of t.refs) refs.push({ ref, at: [...p] });
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

/** Marks an error that names its reference already (a lookup's), so no expression text is added. */
class ReferenceError extends EvalError {}

/** Evaluates one parsed string; errors name the expression. */
export function evaluateTemplate(t: Template, source: string, lookup: Lookup): { value: Value } | { error: string } {
  const env: Env = {
    vars: new Map(),
    resolve: (root, segs) => {
      const ref = referenceOf(root, segs);
      if (typeof ref === 'string') throw new ReferenceError(ref);
      const r = lookup(ref);
      if ('error' in r) throw new ReferenceError(`${ref.text}: ${r.error}`);
      return r.value;
    },
  };
  try {
    return { value: evalExpr(t.expr, env) };
  } catch (err) {
    if (err instanceof ReferenceError) return { error: err.message };
    if (err instanceof EvalError) return { error: `${err.message}, in '${source}'` };
    throw err;
  }
}

/**
 * Evaluates every expression in a config value. A whole-string reference takes the referenced
 * value's type; a template of text and interpolations is a string. Unknown values propagate as in
 * Terraform (an unknown operand or condition makes the result unknown).
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
      if (t.ref) {
        // The common case, without the evaluator: one reference, its value as it is.
        const r = lookup(t.ref);
        if ('error' in r) return fail(`${t.ref.text}: ${r.error}`);
        return r.value;
      }
      const r = evaluateTemplate(t, v, lookup);
      if ('error' in r) return fail(r.error);
      return r.value;
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

/**
 * A Lookup that also resolves `local.NAME`: the local's expression evaluated with this same lookup
 * (locals may refer to resources, variables and other locals; cycles are refused by the graph).
 */
export function withLocals(locals: Readonly<Record<string, Value>>, base: Lookup): Lookup {
  const resolving = new Set<string>();
  const lookup: Lookup = (ref) => {
    if (ref.kind !== 'local') return base(ref);
    const name = ref.target.slice(6);
    if (!Object.prototype.hasOwnProperty.call(locals, name)) return { error: `Reference to undeclared local value "${name}"` };
    // The graph reports cycles among locals; anything evaluated before it stops here.
    if (resolving.has(name)) return { error: `local.${name} refers to itself (a cycle among locals)` };
    resolving.add(name);
    let ev: ReturnType<typeof evaluate>;
    try {
      ev = evaluate(locals[name]!, lookup);
    } finally {
      resolving.delete(name);
    }
    if (ev.errors.length > 0) return { error: `local.${name}: ${ev.errors[0]!.message}` };
    return getPath(ev.value, ref.path);
  };
  return lookup;
}

/** The sensitive paths of a reference's value (engine/hcl/marks.ts), narrowed to its path. */
export type MarkLookup = (ref: Reference) => Marks;

/**
 * The sensitive paths of a config value once evaluated (`[]`: all of it), as Terraform's marks would
 * place them: each expression's marks under the path where it appears. `lookup` gives the values a
 * conditional, a key or a `for` needs.
 */
export function evaluateMarks(value: Value, lookup: Lookup, marks: MarkLookup, at: Path = []): Marks {
  const out: Marks = [];
  const p: (string | number)[] = [...at];
  const walk = (v: Value): void => {
    if (typeof v === 'string') {
      const t = parseTemplate(v);
      if (t === null || typeof t === 'string') return;
      const m = t.ref ? marks(t.ref) : templateMarks(t, lookup, marks);
      for (const x of m) out.push([...p, ...x]);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) { p.push(i); walk(v[i]!); p.pop(); }
    } else if (isObject(v)) {
      for (const k in v) { p.push(k); walk(v[k]!); p.pop(); }
    }
  };
  walk(value);
  return normalise(out);
}

function templateMarks(t: Template, lookup: Lookup, marks: MarkLookup): Marks {
  const env: Env = {
    vars: new Map(),
    resolve: (root, segs) => {
      const ref = referenceOf(root, segs);
      if (typeof ref === 'string') throw new EvalError(ref);
      const r = lookup(ref);
      if ('error' in r) throw new EvalError(r.error);
      return r.value;
    },
  };
  return exprMarks(t.expr, {
    env,
    vars: new Map(),
    resolve: (root, segs) => {
      const ref = referenceOf(root, segs);
      return typeof ref === 'string' ? [] : marks(ref);
    },
  });
}

/** A MarkLookup that also resolves `local.NAME`, as withLocals resolves its value. */
export function marksWithLocals(locals: Readonly<Record<string, Value>>, lookup: Lookup, base: MarkLookup): MarkLookup {
  const resolving = new Set<string>();
  const marks: MarkLookup = (ref) => {
    if (ref.kind !== 'local') return base(ref);
    const name = ref.target.slice(6);
    if (!Object.prototype.hasOwnProperty.call(locals, name) || resolving.has(name)) return [];
    resolving.add(name);
    try {
      return narrow(evaluateMarks(locals[name]!, lookup, marks), ref.path);
    } finally {
      resolving.delete(name);
    }
  };
  return marks;
}
