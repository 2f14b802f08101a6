import type { BlockSchema, CtyType, ObjectValue, Path, Value } from '../engine/protocol';
import { isUnknown } from '../engine/protocol';
import { blocks, canonicalJson, EXACT, isObject, isZeroValue, valuesEqual, ZERO_VALUES, ZERO_VALUES_SET } from '../engine/util';
import type { Difference } from './model';

/**
 * What a planned change changes, as drift reports it: every argument path where the plan's prior
 * (the refreshed live object) and its planned state differ. Pure, schema-driven.
 *
 * Path syntax (drift/SCHEMA.md states the mapping to Terraform's): attribute names joined by `.`; a
 * block that holds at most one item adds no index (`oidc.issuer_url` is Terraform's
 * `oidc[0].issuer_url`), others add `[i]`; a map key follows its map after a `.` (`tags.team` is
 * `tags["team"]`). Lists and sets of strings are one value (`vpc_config.subnet_ids`).
 *
 * Rules:
 * - Zero values are alike (null, "", false, [] and {}), as Terraform's SDK v2 compares them, so a
 *   null-versus-empty representation never reads as a change.
 * - Attributes only the provider sets (arn, status, ...) are not arguments: never listed.
 * - A value the plan leaves to the provider (known only after apply) on an optional+computed
 *   argument the configuration does not set is not listed (EKS decides it anew).
 * - `tags_all.K` is listed only where it differs from the `tags.K` difference (a provider's
 *   default tags): the two mirror each other otherwise.
 */

type Walk = { out: Difference[]; replacePaths: Path[] };

const KNOWN_AFTER_APPLY = '(known after apply)';

function isSet(t: CtyType): boolean {
  return Array.isArray(t) && t[0] === 'set';
}

function isMap(t: CtyType): boolean {
  return Array.isArray(t) && t[0] === 'map';
}

/** A value as the report shows it: strings as they are, zero values as null (unset), anything else as JSON text. */
export function valueText(v: Value | undefined): string | null {
  if (isUnknown(v)) return KNOWN_AFTER_APPLY;
  if (typeof v === 'string') return v === '' ? null : v;
  if (isZeroValue(v) && v !== false) return null;
  return canonicalJson(v);
}

function covered(replacePaths: Path[], path: Path): boolean {
  return replacePaths.some((rp) => {
    const n = Math.min(rp.length, path.length);
    for (let i = 0; i < n; i++) if (rp[i] !== path[i]) return false;
    return true;
  });
}

function push(w: Walk, label: string, path: Path, expected: Value | undefined, actual: Value | undefined): void {
  w.out.push({ path: label, expected: valueText(expected), actual: valueText(actual), requires_replacement: covered(w.replacePaths, path) });
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

function walkBlock(block: BlockSchema, before: ObjectValue | null, after: ObjectValue | null, config: ObjectValue | null, prefix: string, path: Path, w: Walk): void {
  for (const [name, a] of Object.entries(block.attributes ?? {})) {
    if (a.computed && !a.optional && !a.required) continue;
    const x = before?.[name];
    const y = after?.[name];
    const label = join(prefix, name);
    const at = [...path, name];
    if (isUnknown(y)) {
      const configured = config?.[name];
      if (a.computed && (configured === null || configured === undefined)) continue;
      push(w, label, at, y, x);
      continue;
    }
    if (isMap(a.type) && (isObject(x ?? null) || isObject(y ?? null)) && !isUnknown(x)) {
      const xm = isObject(x ?? null) ? (x as ObjectValue) : {};
      const ym = isObject(y ?? null) ? (y as ObjectValue) : {};
      for (const k of [...new Set([...Object.keys(xm), ...Object.keys(ym)])].sort()) {
        if (!valuesEqual(xm[k], ym[k], ZERO_VALUES)) push(w, `${label}.${k}`, [...at, k], ym[k], xm[k]);
      }
      continue;
    }
    if (!valuesEqual(x, y, isSet(a.type) ? ZERO_VALUES_SET : ZERO_VALUES)) push(w, label, at, y, x);
  }
  for (const [name, bt] of Object.entries(block.block_types ?? {})) {
    const x = before?.[name] ?? null;
    const y = after?.[name] ?? null;
    const c = config?.[name] ?? null;
    const label = join(prefix, name);
    const at = [...path, name];
    if (isUnknown(y)) continue; // a computed block EKS fills anew
    if (bt.nesting_mode === 'single' || bt.nesting_mode === 'map') {
      if (bt.nesting_mode === 'single' && (isObject(x) || isObject(y))) {
        walkBlock(bt.block, isObject(x) ? x : null, isObject(y) ? y : null, isObject(c) ? c : null, label, at, w);
      } else if (!valuesEqual(x, y, ZERO_VALUES)) push(w, label, at, y, x);
      continue;
    }
    const xs = Array.isArray(x) ? x : [];
    const ys = Array.isArray(y) ? y : [];
    const cs = Array.isArray(c) ? c : [];
    if (xs.length !== ys.length) {
      if (!valuesEqual(xs, ys, ZERO_VALUES)) push(w, label, at, ys, xs);
      continue;
    }
    const one = bt.max_items === 1;
    xs.forEach((item, i) => {
      const xi = isObject(item) ? item : null;
      const yi = isObject(ys[i] ?? null) ? (ys[i] as ObjectValue) : null;
      const ci = isObject(cs[i] ?? null) ? (cs[i] as ObjectValue) : null;
      walkBlock(bt.block, xi, yi, ci, one ? label : `${label}[${i}]`, [...at, i], w);
    });
  }
}

/**
 * Differences between the plan's prior and planned states, sorted by path. `config` (the evaluated
 * configuration) tells an argument left to the provider from one set to a value not known yet.
 */
export function differences(block: BlockSchema, before: ObjectValue | null, after: ObjectValue | null, config: ObjectValue | null, replacePaths: Path[]): Difference[] {
  const w: Walk = { out: [], replacePaths };
  walkBlock(block, before, after, config, '', [], w);
  const tags = new Map(w.out.filter((d) => d.path.startsWith('tags.')).map((d) => [d.path.slice(5), d]));
  const folded = w.out.filter((d) => {
    if (!d.path.startsWith('tags_all.')) return true;
    const t = tags.get(d.path.slice(9));
    return !(t && t.expected === d.expected && t.actual === d.actual);
  });
  return folded.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * A resource's arguments as one document, for the live-versus-planned diffs of the human and
 * Markdown reports: attributes only the provider sets, timeouts and empty values left out, blocks
 * of at most one item as an object, `tags_all` only where it is not `tags`.
 */
export function argumentsDocument(block: BlockSchema, v: ObjectValue | null): Record<string, unknown> | null {
  if (!v) return null;
  const doc = (b: BlockSchema, o: ObjectValue): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, a] of Object.entries(b.attributes ?? {})) {
      if (a.computed && !a.optional && !a.required) continue;
      const x = o[name];
      if (isUnknown(x)) out[name] = KNOWN_AFTER_APPLY;
      else if (!isZeroValue(x) || x === false) out[name] = x;
    }
    for (const [name, bt] of Object.entries(b.block_types ?? {})) {
      if (name === 'timeouts') continue;
      const x = o[name];
      if (isUnknown(x)) continue;
      const docs = blocks(x).map((i) => doc(bt.block, i)).filter((d) => Object.keys(d).length > 0);
      if (docs.length === 0) continue;
      out[name] = bt.max_items === 1 || bt.nesting_mode === 'single' ? docs[0] : docs;
    }
    return out;
  };
  const d = doc(block, v);
  if ('tags_all' in d && valuesEqual(d.tags_all as Value, (d.tags ?? null) as Value, EXACT)) delete d.tags_all;
  return d;
}
