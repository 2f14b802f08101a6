import { decode, encode, ExtensionCodec } from '@msgpack/msgpack';
import type { BlockSchema, CtyType, ObjectValue, Value } from '../../engine/protocol';
import { isUnknown, schemaEntries, UNKNOWN } from '../../engine/protocol';
import { isObject } from '../../engine/util';

/**
 * Values on the plugin wire: cty's msgpack encoding (Terraform's docs/plugin-protocol/
 * object-wire-format.md), driven by the schema, since msgpack alone cannot tell a set from a list,
 * an object from a map, or carry a dynamic value's type. Rules the provider relies on:
 * - an object (and a block) carries every attribute of its type, null when unset; a map only its keys;
 * - blocks by nesting mode: single → object or nil; list and set → array (empty when absent);
 *   map → map;
 * - unknown is msgpack extension 0; any extension decodes as unknown (refined unknowns are 12);
 * - a dynamic value is [type JSON as bytes, value];
 * - numbers: integers as msgpack ints, others as float64; a decimal string on the way back (numbers
 *   beyond a double) becomes the nearest double.
 */

const codec = new ExtensionCodec();
codec.register({
  type: 0,
  encode: (v: unknown) => (isUnknown(v) ? new Uint8Array([0]) : null),
  decode: () => UNKNOWN,
});
codec.register({ type: 12, encode: () => null, decode: () => UNKNOWN });

/** Marks a dynamic value for the encoder: [type, value]. */
function dynamicType(v: Value): CtyType {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return ['tuple', v.map(dynamicType)] as unknown as CtyType;
  if (isObject(v)) return ['object', Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dynamicType(x)]))];
  return 'dynamic';
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodeValue(t: CtyType, v: Value | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (isUnknown(v)) return UNKNOWN;
  if (t === 'dynamic') {
    const dt = dynamicType(v);
    return [textEncoder.encode(JSON.stringify(dt)), encodeValue(dt, v)];
  }
  if (t === 'number') {
    if (typeof v === 'number') return v;
    const n = Number(v);
    return Number.isFinite(n) ? n : v;
  }
  if (t === 'string' || t === 'bool') return v;
  if (!Array.isArray(t)) return v;
  const [kind, inner] = t;
  if (kind === 'list' || kind === 'set') return Array.isArray(v) ? v.map((x) => encodeValue(inner as CtyType, x)) : v;
  if (kind === 'tuple') {
    const types = inner as unknown as CtyType[];
    return Array.isArray(v) ? v.map((x, i) => encodeValue(types[i] ?? 'dynamic', x)) : v;
  }
  if (kind === 'map') return isObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeValue(inner as CtyType, x)])) : v;
  if (kind === 'object') {
    if (!isObject(v)) return v;
    const attrs = inner as Record<string, CtyType>;
    return Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, encodeValue(attrs[k]!, v[k] ?? null)]));
  }
  return v;
}

export function encodeBlockValue(b: BlockSchema, v: ObjectValue | null): unknown {
  if (v === null) return null;
  if (isUnknown(v)) return UNKNOWN;
  const out: Record<string, unknown> = {};
  for (const [name, a] of schemaEntries(b.attributes)) out[name] = encodeValue(a.type, v[name] ?? null);
  for (const [name, bt] of schemaEntries(b.block_types)) {
    const x = v[name] ?? null;
    if (isUnknown(x)) { out[name] = UNKNOWN; continue; }
    if (bt.nesting_mode === 'single') out[name] = isObject(x) ? encodeBlockValue(bt.block, x) : null;
    else if (bt.nesting_mode === 'map') out[name] = Object.fromEntries(Object.entries(isObject(x) ? x : {}).map(([k, y]) => [k, encodeBlockValue(bt.block, y as ObjectValue)]));
    else out[name] = (Array.isArray(x) ? x : isObject(x) ? [x] : []).map((y) => encodeBlockValue(bt.block, y as ObjectValue));
  }
  return out;
}

export function decodeValue(t: CtyType, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  if (isUnknown(raw) || (typeof raw === 'object' && raw !== null && 'type' in raw && 'data' in raw && !Array.isArray(raw) && (raw as { data?: unknown }).data instanceof Uint8Array)) return UNKNOWN;
  if (t === 'dynamic') {
    if (!Array.isArray(raw) || raw.length !== 2 || !(raw[0] instanceof Uint8Array)) return raw as Value;
    return decodeValue(JSON.parse(textDecoder.decode(raw[0])) as CtyType, raw[1]);
  }
  if (t === 'number') return typeof raw === 'number' ? raw : typeof raw === 'bigint' ? Number(raw) : Number(raw as string);
  if (t === 'string' || t === 'bool') return raw as Value;
  if (!Array.isArray(t)) return raw as Value;
  const [kind, inner] = t;
  if (kind === 'list' || kind === 'set') return Array.isArray(raw) ? raw.map((x) => decodeValue(inner as CtyType, x)) : (raw as Value);
  if (kind === 'tuple') {
    const types = inner as unknown as CtyType[];
    return Array.isArray(raw) ? raw.map((x, i) => decodeValue(types[i] ?? 'dynamic', x)) : (raw as Value);
  }
  if (kind === 'map' || kind === 'object') {
    if (typeof raw !== 'object' || Array.isArray(raw)) return raw as Value;
    const attrs = kind === 'object' ? (inner as Record<string, CtyType>) : undefined;
    const src = raw as Record<string, unknown>;
    const out: ObjectValue = {};
    if (attrs) for (const k of Object.keys(attrs)) out[k] = decodeValue(attrs[k]!, src[k]);
    else for (const k of Object.keys(src)) out[k] = decodeValue(inner as CtyType, src[k]);
    return out;
  }
  return raw as Value;
}

export function decodeBlockValue(b: BlockSchema, raw: unknown): ObjectValue | null {
  if (raw === null || raw === undefined) return null;
  if (isUnknown(raw)) return UNKNOWN as ObjectValue;
  const src = raw as Record<string, unknown>;
  const out: ObjectValue = {};
  for (const [name, a] of schemaEntries(b.attributes)) out[name] = decodeValue(a.type, src[name]);
  for (const [name, bt] of schemaEntries(b.block_types)) {
    const x = src[name];
    if (isUnknown(x)) { out[name] = UNKNOWN; continue; }
    if (bt.nesting_mode === 'single') out[name] = x === null || x === undefined ? null : decodeBlockValue(bt.block, x);
    else if (bt.nesting_mode === 'map') out[name] = Object.fromEntries(Object.entries((x ?? {}) as Record<string, unknown>).map(([k, y]) => [k, decodeBlockValue(bt.block, y)]));
    else out[name] = Array.isArray(x) ? x.map((y) => decodeBlockValue(bt.block, y)) : [];
  }
  return out;
}

export function toMsgpack(b: BlockSchema, v: ObjectValue | null): Uint8Array {
  return encode(encodeBlockValue(b, v), { extensionCodec: codec, ignoreUndefined: false });
}

export function fromMsgpack(b: BlockSchema, bytes: Uint8Array | null | undefined): ObjectValue | null {
  if (!bytes || bytes.length === 0) return null;
  return decodeBlockValue(b, decode(bytes, { extensionCodec: codec, useBigInt64: false }));
}
