import crypto from 'node:crypto';
import type { Diagnostic, ObjectValue, Path, Value } from './protocol';
import { formatPath, isUnknown } from './protocol';

/** Problems found by the engine travel as diagnostics; this carries them to the CLI edge. */
export class EngineError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | string) {
    const diags: Diagnostic[] = typeof diagnostics === 'string' ? [{ severity: 'error', summary: diagnostics }] : diagnostics;
    super(diags.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n') || 'error');
    this.name = 'EngineError';
    this.diagnostics = diags;
  }
}

export function error(summary: string, address?: string, attribute?: Path, detail?: string): Diagnostic {
  return { severity: 'error', summary, ...(address ? { address } : {}), ...(attribute ? { attribute } : {}), ...(detail ? { detail } : {}) };
}

/** One line per diagnostic: `aws_x.y: oidc[0].issuer_url: summary (detail)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.address, d.attribute && d.attribute.length ? formatPath(d.attribute) : undefined].filter(Boolean).join(': ');
  return `${where ? `${where}: ` : ''}${d.summary}${d.detail ? ` (${d.detail})` : ''}`;
}

export function isObject(v: unknown): v is ObjectValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isUnknown(v);
}

/** A string that is set: non-empty (Terraform's SDK reads "" as unset); anything else undefined. */
export function stringValue(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * A nested block's items: cdktf writes a block as a list of objects, hand-written Terraform JSON may
 * give the object itself. null, an unknown value or a scalar holds none.
 */
export function blocks(v: unknown): ObjectValue[] {
  if (Array.isArray(v)) return v.filter(isObject);
  return isObject(v) ? [v] : [];
}

/** The first item of a nested block (of a single block: the block), as `blocks` reads them. */
export function firstBlock(v: unknown): ObjectValue | undefined {
  if (!Array.isArray(v)) return isObject(v) ? v : undefined;
  for (const x of v) if (isObject(x)) return x;
  return undefined;
}

/** JSON with sorted keys, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  // Appended to one string (apply hashes every planned object with it: the idempotency tokens).
  return appendCanonical('', v);
}

function appendCanonical(out: string, v: unknown): string {
  if (Array.isArray(v)) {
    out += '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      // A hole stays empty, as map and join leave it.
      if (i in v) out = appendCanonical(out, v[i]);
    }
    return out + ']';
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    out += '{';
    let first = true;
    for (const k of Object.keys(o).sort()) {
      if (o[k] === undefined) continue;
      out += first ? `${JSON.stringify(k)}:` : `,${JSON.stringify(k)}:`;
      first = false;
      out = appendCanonical(out, o[k]);
    }
    return out + '}';
  }
  return out + (JSON.stringify(v) ?? 'null');
}

export function sha256(text: string): string {
  // One-shot (Node 20.12+): no Hash object per call.
  return crypto.hash('sha256', text, 'hex');
}

/**
 * How valuesEqual compares; every caller says which rule it wants (EXACT, ZERO_VALUES, ZERO_VALUES_SET).
 * Under every rule an unknown value equals nothing, not even another unknown: it may still change.
 */
export type Equality = {
  /**
   * Terraform SDKv2's zero values, which hashicorp/aws diffs by: unset, null, "", false, [] and {} are
   * alike, at any depth (its plan shows no change from null to false). Off: the same JSON value, key
   * order aside, and only that.
   */
  readonly zeroValues: boolean;
  /** The two values are sets: lists compare regardless of order (at this level). */
  readonly set?: boolean;
};
/** The same JSON value: what the engine compares (plans against state, state against state). */
export const EXACT: Equality = Object.freeze({ zeroValues: false });
/** As hashicorp/aws compares planned against prior values (providers, and drift's differences). */
export const ZERO_VALUES: Equality = Object.freeze({ zeroValues: true });
/** ZERO_VALUES for an attribute of set type. */
export const ZERO_VALUES_SET: Equality = Object.freeze({ zeroValues: true, set: true });

export function valuesEqual(a: Value | undefined, b: Value | undefined, rule: Equality): boolean {
  if (rule.zeroValues) return zeroValuesEqual(a, b, rule.set === true);
  if (isUnknown(a) || isUnknown(b)) return false;
  return rule.set && Array.isArray(a) && Array.isArray(b) ? jsonEqual(sortedSet(a), sortedSet(b)) : jsonEqual(a ?? null, b ?? null);
}

/** unset, null, "", false, [] or {}: Terraform SDKv2's zero values. */
export function isZeroValue(v: Value | undefined): boolean {
  if (v === undefined || v === null || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.keys(v).length === 0;
}

/** A set's items in one order: strings lexically (as cty orders them), other values by their canonical JSON. */
function sortedSet(v: Value[]): Value[] {
  if (v.every((x) => typeof x === 'string')) return [...(v as string[])].sort();
  return v.map((x) => [canonicalJson(x), x] as const).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)).map(([, x]) => x);
}

/**
 * Equality of two JSON-like values as canonicalJson would compare them (key order ignored, object keys
 * holding undefined absent), without building strings: plans compare every attribute of every
 * resource, and string building dominated plan time at fleet scale.
 */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== 'object' || a === null || !isUnknown(a);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(b) || isUnknown(a) || isUnknown(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    count++;
    if (bo[k] === undefined || !jsonEqual(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (bo[k] !== undefined) count--;
  return count === 0;
}

function zeroValuesEqual(a: Value | undefined, b: Value | undefined, set: boolean): boolean {
  if (isUnknown(a) || isUnknown(b)) return false;
  if (isZeroValue(a) && isZeroValue(b)) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const [x, y] = set ? [sortedSet(a), sortedSet(b)] : [a, b];
    for (let i = 0; i < x.length; i++) if (!zeroValuesEqual(x[i], y[i], false)) return false;
    return true;
  }
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k in a) if (!zeroValuesEqual(a[k], b[k], false)) return false;
    for (const k in b) if (!(k in a) && !isZeroValue(b[k])) return false;
    return true;
  }
  return a === b;
}

export function containsUnknown(v: Value | undefined): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isObject(v)) return Object.values(v).some(containsUnknown);
  return false;
}

export function clone<T extends Value | undefined>(v: T): T {
  if (isUnknown(v)) return v;
  if (Array.isArray(v)) return v.map((x) => clone(x)) as T;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}

/** Whether a process of this host is running (EPERM: it is, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
