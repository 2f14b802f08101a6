import { escapeControls as e } from '../lib/escape';
import { boolMirror, known } from './json-plan';
import type { OutputChange } from './outputs';
import type { Value } from './protocol';
import { isUnknown } from './protocol';
import type { Colors } from '../lib/color';
import { byteCompare, goQuote, plainNumber } from './types';
import { EXACT, isObject, valuesEqual } from './util';

/**
 * Terraform's "Changes to Outputs:" section (internal/command/jsonformat: differ/output.go with the
 * JSON renderers), re-implemented on the output change model: values are diffed as JSON (objects by
 * key, arrays by longest common subsequence), each element marked +, -, ~ or blank, unchanged object
 * attributes hidden with a count except `id`, `name` and `tags`, list changes shown with the element
 * before and after them as context. Output values come from state and the API: every string and key
 * goes through escapeControls where it enters a line.
 */

type Act = 'create' | 'delete' | 'update' | 'no-op';
type Opts = { overrideNullSuffix: boolean; showUnchangedChildren: boolean };
type Diff = { action: Act; render(indent: number, opts: Opts): string };

const IMPORTANT = new Set(['id', 'name', 'tags']);

function indentOf(n: number): string {
  return '    '.repeat(n);
}

function symbol(a: Act, c: Colors): string {
  switch (a) {
    case 'create': return `  ${c.green('+')} `;
    case 'delete': return `  ${c.red('-')} `;
    case 'update': return `  ${c.yellow('~')} `;
    default: return '    ';
  }
}

function attributeName(k: string): string {
  return /^[A-Za-z_][\w-]*$/.test(k) ? k : e(goQuote(k));
}

type JType = 'null' | 'bool' | 'number' | 'string' | 'object' | 'array';
function jtype(v: Value | undefined): JType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v as JType;
}

function combine(current: Act, next: Act): Act {
  if (next === 'no-op') return current;
  return current !== next ? 'update' : current;
}

/** One side of a change: the value, and whether it is really there (a key present, an index in range). */
type Side = { v: Value; explicit: boolean };

function nullSuffix(a: Act, o: Opts, c: Colors): string {
  return !o.overrideNullSuffix && a === 'delete' ? ` ${c.yellow('->')} null` : '';
}

function transform(b: Side, a: Side, unknown: Value, c: Colors): Diff {
  if (unknown === true) {
    if (b.v === null && !b.explicit) return { action: 'create', render: () => '(known after apply)' };
    const before = transform(b, { v: null, explicit: false }, false, c);
    return { action: 'update', render: (i, o) => `${before.render(i, { ...o, overrideNullSuffix: true })} ${c.yellow('->')} (known after apply)` };
  }
  const bt = jtype(b.v);
  const at = jtype(a.v);
  const deleted = at === 'null' && !a.explicit;
  const created = bt === 'null' && !b.explicit;
  if (bt === at || created || deleted) return update(b, a, unknown, bt === 'null' ? at : bt, c);
  const before = update(b, { v: null, explicit: false }, false, bt, c);
  const after = update({ v: null, explicit: false }, a, unknown, at, c);
  return { action: 'update', render: (i, o) => `${before.render(i, { ...o, overrideNullSuffix: true })} ${c.yellow('->')} ${after.render(i, { ...o, overrideNullSuffix: true })}` };
}

function update(b: Side, a: Side, unknown: Value, t: JType, c: Colors): Diff {
  if (t === 'object') return object(b, a, unknown, c);
  if (t === 'array') return array(b, a, unknown, c);
  const beforeMissing = b.v === null && !b.explicit;
  const afterMissing = a.v === null && !a.explicit;
  const action: Act = beforeMissing && !afterMissing ? 'create' : !beforeMissing && afterMissing ? 'delete' : valuesEqual(b.v, a.v, EXACT) ? 'no-op' : 'update';
  return { action, render: (i, o) => primitive(b.v, a.v, t === 'string' || (t === 'null' && typeof (b.v ?? a.v) === 'string'), action, i, o, c) };
}

function simple(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return e(goQuote(v));
  if (typeof v === 'number') return plainNumber(v);
  return String(v);
}

function primitive(b: Value, a: Value, isString: boolean, action: Act, indent: number, o: Opts, c: Colors): string {
  const multi = (v: Value) => typeof v === 'string' && v.includes('\n');
  const arrow = c.yellow('->');
  if (!isString || (!multi(b) && !multi(a))) {
    if (action === 'create') return simple(a);
    if (action === 'delete') return `${simple(b)}${b === null ? '' : nullSuffix(action, o, c)}`;
    if (action === 'no-op') return simple(b);
    return `${simple(b)} ${arrow} ${simple(a)}`;
  }
  // Multi-line strings: heredocs, trimmed as Terraform trims them, line by line for an update.
  const pad = indentOf(indent + 1);
  let lines: string[];
  if (action === 'create' || action === 'no-op' || action === 'delete') {
    const s = (action === 'delete' ? b : a) as string;
    if (!multi(s)) return action === 'delete' ? `${simple(s)}${nullSuffix(action, o, c)}` : simple(s);
    lines = s.trim().split('\n').map((l) => `${pad}${symbol('no-op', c)}${e(l)}`);
  } else {
    if (!multi(b) || !multi(a)) return `${simple(b)} ${arrow} ${simple(a)}`;
    const bl = (b as string).trim().split('\n');
    const al = (a as string).trim().split('\n');
    lines = [];
    processSlice(bl, al, (bi, ai) => {
      if (bi >= bl.length) lines.push(`${pad}${symbol('create', c)}${e(al[ai]!)}`);
      else if (ai >= al.length) lines.push(`${pad}${symbol('delete', c)}${e(bl[bi]!)}`);
      else if (bl[bi] !== al[ai]) lines.push(`${pad}${symbol('delete', c)}${e(bl[bi]!)}`, `${pad}${symbol('create', c)}${e(al[ai]!)}`);
      else lines.push(`${pad}${symbol('no-op', c)}${e(bl[bi]!)}`);
    }, () => false);
  }
  return `<<-EOT\n${lines.join('\n')}\n${indentOf(indent)}${symbol('no-op', c)}EOT${nullSuffix(action, o, c)}`;
}

function child(v: Value, key: string | number): Side {
  if (typeof key === 'number') return Array.isArray(v) && key < v.length ? { v: v[key]!, explicit: true } : { v: null, explicit: false };
  return isObject(v) && key in v ? { v: v[key]!, explicit: true } : { v: null, explicit: false };
}

function childUnknown(u: Value, key: string | number): Value {
  if (typeof key === 'number') return Array.isArray(u) ? (u[key] ?? false) : false;
  return isObject(u) ? (u[key] ?? false) : false;
}

function object(b: Side, a: Side, unknown: Value, c: Colors): Diff {
  const bo = isObject(b.v) ? b.v : null;
  const ao = isObject(a.v) ? a.v : null;
  let action: Act = bo && !ao ? 'delete' : !bo && ao ? 'create' : 'no-op';
  const keys = [...new Set([...Object.keys(bo ?? {}), ...Object.keys(ao ?? {})])].sort(byteCompare);
  const attrs = new Map<string, Diff>();
  for (const k of keys) {
    const d = transform(child(b.v, k), child(a.v, k), childUnknown(unknown, k), c);
    attrs.set(k, d);
    action = combine(action, d.action);
  }
  return {
    action,
    render(indent, o) {
      if (attrs.size === 0) return `{}${nullSuffix(action, o, c)}`;
      const w = Math.max(...keys.map((k) => attributeName(k).length));
      const inner: Opts = { ...o, overrideNullSuffix: true };
      const lines: string[] = [];
      let hidden = 0;
      for (const k of keys) {
        const d = attrs.get(k)!;
        const important = IMPORTANT.has(k);
        if (!important && d.action === 'no-op' && !o.showUnchangedChildren) { hidden++; continue; }
        const opts = important ? { ...inner, showUnchangedChildren: true } : inner;
        lines.push(`${indentOf(indent + 1)}${symbol(d.action, c)}${attributeName(k).padEnd(w)} = ${d.render(indent + 1, opts)}`);
      }
      if (hidden > 0) lines.push(`${indentOf(indent + 1)}${symbol('no-op', c)}# (${hidden} unchanged attribute${hidden === 1 ? '' : 's'} hidden)`);
      return `{\n${lines.join('\n')}\n${indentOf(indent)}${symbol('no-op', c)}}${nullSuffix(action, o, c)}`;
    },
  };
}

/** Terraform's collections.ProcessSlice: index by index when only values changed, else along the longest common subsequence. */
function processSlice<T>(before: T[], after: T[], process: (bi: number, ai: number) => void, isObj: (x: T) => boolean): void {
  const eq = (x: T, y: T) => valuesEqual(x as Value, y as Value, EXACT);
  const reorder = before.length === after.length && before.every((x) => after.some((y) => eq(x, y)));
  if (before.length === after.length && !reorder) {
    for (let i = 0; i < before.length; i++) process(i, i);
    return;
  }
  const lcs = longestCommonSubsequence(before, after, eq);
  let bi = 0, ai = 0, li = 0;
  while (bi < before.length || ai < after.length || li < lcs.length) {
    while (bi < before.length && (li >= lcs.length || !eq(before[bi]!, lcs[li]!))) {
      if (isObj(before[bi]!) && ai < after.length && isObj(after[ai]!) && (li >= lcs.length || !eq(after[ai]!, lcs[li]!))) {
        process(bi++, ai++);
        continue;
      }
      process(bi++, after.length);
    }
    while (ai < after.length && (li >= lcs.length || !eq(after[ai]!, lcs[li]!))) process(before.length, ai++);
    if (li < lcs.length) {
      process(bi++, ai++);
      li++;
    }
  }
}

/** objchange.LongestCommonSubsequence: the classic table, walked back from the end. */
function longestCommonSubsequence<T>(xs: T[], ys: T[], eq: (x: T, y: T) => boolean): T[] {
  if (xs.length === 0 || ys.length === 0) return [];
  const table = Array.from({ length: xs.length + 1 }, () => new Array<number>(ys.length + 1).fill(0));
  for (let y = 0; y < ys.length; y++) {
    for (let x = 0; x < xs.length; x++) {
      table[x + 1]![y + 1] = eq(xs[x]!, ys[y]!) ? table[x]![y]! + 1 : Math.max(table[x]![y + 1]!, table[x + 1]![y]!);
    }
  }
  const out: T[] = [];
  for (let x = xs.length, y = ys.length; x > 0 && y > 0;) {
    if (eq(xs[x - 1]!, ys[y - 1]!)) { out.unshift(xs[x - 1]!); x--; y--; }
    else if (table[x - 1]![y]! > table[x]![y - 1]!) x--;
    else y--;
  }
  return out;
}

function array(b: Side, a: Side, unknown: Value, c: Colors): Diff {
  const bl = Array.isArray(b.v) ? b.v : null;
  const al = Array.isArray(a.v) ? a.v : null;
  let action: Act = bl && !al ? 'delete' : !bl && al ? 'create' : 'no-op';
  const elements: Diff[] = [];
  processSlice(bl ?? [], al ?? [], (bi, ai) => {
    const d = transform(child(b.v, bi), child(a.v, ai), childUnknown(unknown, ai), c);
    elements.push(d);
    action = combine(action, d.action);
  }, isObject);
  return {
    action,
    render(indent, o) {
      if (elements.length === 0) return `[]${nullSuffix(action, o, c)}`;
      const elementOpts: Opts = { ...o, overrideNullSuffix: true };
      const unchangedOpts: Opts = { ...o, showUnchangedChildren: true };
      const pad = indentOf(indent + 1);
      const lines: string[] = [];
      let unchanged: Diff[] = [];
      let renderNext = false;
      for (const d of elements) {
        if (d.action === 'no-op' && !renderNext && !o.showUnchangedChildren) { unchanged.push(d); continue; }
        renderNext = false;
        let opts = elementOpts;
        // Context: the unchanged element just before a change, and the one just after it.
        if (unchanged.length > 1) lines.push(`${pad}${symbol('no-op', c)}# (${unchanged.length - 1} unchanged element${unchanged.length - 1 === 1 ? '' : 's'} hidden)`);
        if (unchanged.length > 0) {
          const last = unchanged[unchanged.length - 1]!;
          lines.push(`${pad}${symbol(last.action, c)}${last.render(indent + 1, unchangedOpts)},`);
        }
        unchanged = [];
        if (d.action === 'no-op') opts = unchangedOpts;
        else renderNext = true;
        lines.push(`${pad}${symbol(d.action, c)}${d.render(indent + 1, opts)},`);
      }
      if (unchanged.length > 0) lines.push(`${pad}${symbol('no-op', c)}# (${unchanged.length} unchanged element${unchanged.length === 1 ? '' : 's'} hidden)`);
      return `[\n${lines.join('\n')}\n${indentOf(indent)}${symbol('no-op', c)}]${nullSuffix(action, o, c)}`;
    },
  };
}

/** The section's lines (empty when no output changes). Names align over every output, changed or not. */
export function renderOutputChanges(changes: readonly OutputChange[], c: Colors): string[] {
  const changed = changes.filter((x) => x.actions[0] !== 'no-op');
  if (changed.length === 0) return [];
  const w = Math.max(...changes.map((x) => attributeName(x.name).length));
  const out = ['Changes to Outputs:'];
  const top: Opts = { overrideNullSuffix: false, showUnchangedChildren: false };
  for (const ch of changed) {
    const action = ch.actions[0] as Act;
    const sym = action === 'create' ? c.green('+') : action === 'delete' ? c.red('-') : c.yellow('~');
    let text: string;
    if (ch.sensitive) text = `(sensitive value)${nullSuffix(action, top, c)}`;
    else {
      const d = transform({ v: ch.before, explicit: false }, { v: action === 'delete' ? null : known(ch.after, true), explicit: false }, action === 'delete' ? false : boolMirror(ch.after, isUnknown), c);
      text = d.render(0, top);
    }
    out.push(`  ${sym} ${attributeName(ch.name).padEnd(w)} = ${text}`);
  }
  return out;
}
