/**
 * JSON as Go's encoding/json reads it, for the identity preview: kube-apiserver (go-oidc v2, then
 * oidc.go) decodes a token's payload with Go's rules, which JavaScript's JSON.parse does not keep:
 * - every occurrence of a key counts, in order (a struct field decoded twice keeps the last value, and
 *   a type error in an earlier occurrence still fails the whole decode);
 * - struct fields match keys case-insensitively (`"EXP"` sets `exp`; `ſ` U+017F folds to `s` and the
 *   Kelvin sign U+212A to `k`), while map keys (kube-apiserver's `claims` map) match exactly;
 * - numbers keep their text (json.Number), so `1e3`, `"17e8"` and integers past 2^53 decode as Go does.
 * The parser keeps members in order with their raw kind; the decoders below follow Go's rules for the
 * Go types those claims are decoded into.
 */

export type GoJson =
  | { kind: 'object'; members: Array<[string, GoJson]> }
  | { kind: 'array'; items: GoJson[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

export class GoJsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoJsonSyntaxError';
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const LITERALS = [['true', { kind: 'bool', value: true }], ['false', { kind: 'bool', value: false }], ['null', { kind: 'null' }]] as const;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NUMBER_WHOLE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Parses JSON text (RFC 8259, as Go accepts it) into an ordered tree; throws GoJsonSyntaxError. */
export function parseGoJson(text: string): GoJson {
  let i = 0;
  const fail = (what: string): never => {
    throw new GoJsonSyntaxError(`${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        let j = i + 1;
        while (j < text.length) {
          const d = text.charCodeAt(j);
          if (d === 0x22 || d === 0x5c || d < 0x20) break;
          j++;
        }
        out += text.slice(i, j);
        i = j;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      if (e !== undefined && e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        continue;
      }
      if (e !== 'u') fail('invalid escape');
      const hex = (at: number) => (/^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4)) ? parseInt(text.slice(at, at + 4), 16) : fail('invalid \\u escape'));
      const u = hex(i);
      i += 4;
      if (u >= 0xd800 && u < 0xdc00 && text[i] === '\\' && text[i + 1] === 'u') {
        const lo = hex(i + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
          out += String.fromCharCode(u, lo);
          i += 6;
          continue;
        }
      }
      // Go replaces a lone surrogate with U+FFFD.
      out += u >= 0xd800 && u < 0xe000 ? '\ufffd' : String.fromCharCode(u);
    }
  };
  const value = (): GoJson => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members: Array<[string, GoJson]> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', members };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        members.push([key, value()]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', members };
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: GoJson[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', items };
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return { kind: 'string', value: str() };
    for (const [word, v] of LITERALS) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    i += m[0].length;
    return { kind: 'number', text: m[0] };
  };
  const v = value();
  ws();
  if (i !== text.length) fail('unexpected data after the value');
  return v;
}

/**
 * A JS value as the JSON text JSON.stringify would write, parsed back: for claims that arrive as
 * objects (sample identities, which plans map for every config). Walked directly: no text in between.
 */
export function goJsonFromValue(v: unknown): GoJson {
  if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return { kind: 'null' };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  if (typeof v === 'number') return Number.isFinite(v) ? { kind: 'number', text: JSON.stringify(v) } : { kind: 'null' };
  if (typeof v === 'bigint') throw new TypeError('a bigint is not JSON');
  if (Array.isArray(v)) return { kind: 'array', items: v.map(goJsonFromValue) };
  const obj = v as Record<string, unknown> & { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return parseGoJson(JSON.stringify(obj));
  const members: Array<[string, GoJson]> = [];
  for (const [k, e] of Object.entries(obj)) {
    if (e === undefined || typeof e === 'function' || typeof e === 'symbol') continue;
    members.push([k, goJsonFromValue(e)]);
  }
  return { kind: 'object', members };
}

/** Words for a value's JSON type, for reasons like `sub is a number, not a string`. */
export function describeGoJson(v: GoJson): string {
  switch (v.kind) {
    case 'null': return 'null';
    case 'array': return 'a list';
    case 'string': return `the string ${JSON.stringify(v.value)}`;
    case 'number': return 'a number';
    case 'bool': return 'a boolean';
    default: return 'an object';
  }
}

/** Go's case folding of one character of a struct field name (encoding/json): ASCII letters, `ſ` as `s`, the Kelvin sign as `k`. */
function foldChar(c: number): number {
  if (c >= 0x61 && c <= 0x7a) return c - 0x20;
  if (c === 0x17f) return 0x53;
  if (c === 0x212a) return 0x4b;
  return c;
}

/** Does JSON key `key` set the Go struct field tagged `name`? (Hot in previews: no allocation.) */
export function goFieldMatches(key: string, name: string): boolean {
  if (key === name) return true;
  // ſ and K are one UTF-16 unit each, like the letters they fold to.
  if (key.length !== name.length) return false;
  for (let i = 0; i < key.length; i++) {
    if (foldChar(key.charCodeAt(i)) !== foldChar(name.charCodeAt(i))) return false;
  }
  return true;
}

/** The members a Go struct field tagged `name` decodes, in order (every one counts; the last wins). */
export function goFieldMembers(obj: GoJson & { kind: 'object' }, name: string): GoJson[] {
  return obj.members.filter(([k]) => goFieldMatches(k, name)).map(([, v]) => v);
}

/** A map lookup with an exact key, as a Go map decoded from the object holds it (the last one wins). */
export function goMapGet(obj: GoJson & { kind: 'object' }, key: string): GoJson | undefined {
  let found: GoJson | undefined;
  for (const [k, v] of obj.members) if (k === key) found = v;
  return found;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
const err = <T>(error: string): Decoded<T> => ({ ok: false, error });

/** Into a Go string: a JSON string, or null, which leaves the previous value (zero: ""). */
export function goString(v: GoJson, previous = ''): Decoded<string> {
  if (v.kind === 'null') return ok(previous);
  return v.kind === 'string' ? ok(v.value) : err(`is ${describeGoJson(v)}, not a string`);
}

/** Into a Go bool: true or false, null leaves false. */
export function goBool(v: GoJson): Decoded<boolean> {
  if (v.kind === 'null') return ok(false);
  return v.kind === 'bool' ? ok(v.value) : err(`is ${describeGoJson(v)}, not a boolean`);
}

/** Into a Go []string: null is nil (undefined here), a list of strings (null items are ""). */
export function goStringSlice(v: GoJson): Decoded<string[] | undefined> {
  if (v.kind === 'null') return ok(undefined);
  if (v.kind !== 'array') return err(`is ${describeGoJson(v)}, not a list of strings`);
  const out: string[] = [];
  for (const item of v.items) {
    const s = goString(item);
    if (!s.ok) return err(`is a list with an item that ${s.error}`);
    out.push(s.value);
  }
  return ok(out);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * go-oidc v2's jsonTime (oidc.go `jsonTime.UnmarshalJSON`): decoded through json.Number, so a number or
 * a string holding a JSON number; then strconv's Int64, else Float64 truncated to int64 (out of range
 * gives math.MinInt64, as amd64 converts). Null is an empty json.Number, which parses as neither: an
 * error. Unix seconds as a bigint.
 */
export function goJsonTime(v: GoJson): Decoded<bigint> {
  let text: string;
  if (v.kind === 'number') text = v.text;
  else if (v.kind === 'string') {
    if (!NUMBER_WHOLE.test(v.value)) return err(`is ${describeGoJson(v)}, not a number (a quoted value must be a JSON number)`);
    text = v.value;
  } else if (v.kind === 'null') text = '';
  else return err(`is ${describeGoJson(v)}, not a number`);
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    if (n >= INT64_MIN && n <= INT64_MAX) return ok(n);
  }
  if (text === '') return err('is null, not a number');
  const f = Number(text);
  if (!Number.isFinite(f)) return err(`is ${text}, out of range for a time`);
  if (f >= 2 ** 63 || f < -(2 ** 63)) return ok(INT64_MIN);
  return ok(BigInt(Math.trunc(f)));
}
