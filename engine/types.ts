import type { BlockSchema, CtyType, Value } from './protocol';
import { isUnknown } from './protocol';
import { isObject } from './util';

/**
 * Terraform's value types (cty) in their JSON form (`"string"`, `["list","string"]`,
 * `["object",{...}]`, `["tuple",[...]]`), as state outputs record them: the type of a literal, of a
 * block, of a path into a type, a variable's type constraint, and the conversions and the
 * `terraform output` / `terraform console` formatting that follow from a type.
 */

export const DYNAMIC: CtyType = 'dynamic';

/** The type of a literal in Terraform JSON: a list is a tuple, a map an object, null is dynamic. */
export function literalType(v: Value): CtyType {
  if (v === null || isUnknown(v)) return DYNAMIC;
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return ['tuple', v.map(literalType)] as unknown as CtyType;
  return ['object', Object.fromEntries(Object.keys(v).map((k) => [k, literalType(v[k]!)]))];
}

/** A block's implied object type: attributes, and nested blocks by nesting mode. */
export function blockType(block: BlockSchema): CtyType {
  const attrs: Record<string, CtyType> = {};
  for (const [k, a] of Object.entries(block.attributes ?? {})) attrs[k] = a.type;
  for (const [k, b] of Object.entries(block.block_types ?? {})) {
    const inner = blockType(b.block);
    attrs[k] = b.nesting_mode === 'list' ? ['list', inner] : b.nesting_mode === 'set' ? ['set', inner] : b.nesting_mode === 'map' ? ['map', inner] : inner;
  }
  return ['object', attrs];
}

/** The type at one step of a reference path; undefined when the step does not exist in the type. */
export function stepType(t: CtyType, seg: string | number): CtyType | undefined {
  if (t === DYNAMIC) return DYNAMIC;
  if (!Array.isArray(t)) return undefined;
  const [kind, inner] = t;
  if (kind === 'object') return typeof seg === 'string' ? (inner as Record<string, CtyType>)[seg] : undefined;
  if (kind === 'tuple') return typeof seg === 'number' ? (inner as unknown as CtyType[])[seg] : undefined;
  if (kind === 'list') return typeof seg === 'number' ? (inner as CtyType) : undefined;
  if (kind === 'map') return typeof seg === 'string' ? (inner as CtyType) : undefined;
  return undefined; // sets cannot be indexed
}

export function pathType(t: CtyType, path: readonly (string | number)[]): CtyType | undefined {
  let cur: CtyType | undefined = t;
  for (const seg of path) {
    if (cur === undefined) return undefined;
    cur = stepType(cur, seg);
  }
  return cur;
}

/**
 * A variable's `type` constraint (`string`, `list(string)`, `map(number)`, `object({a=string})`,
 * `tuple([string, number])`, `any`), as cdktf writes it; undefined for `any`. Throws a message on
 * anything else.
 */
export function parseTypeConstraint(text: string): CtyType | undefined {
  const s = text.trim().replace(/^\$\{([\s\S]*)\}$/, '$1');
  let i = 0;
  const ws = () => { while (i < s.length && /\s/.test(s[i]!)) i++; };
  const expect = (c: string) => {
    ws();
    if (s[i] !== c) throw new Error(`invalid type constraint "${text}": expected '${c}' at offset ${i}`);
    i++;
  };
  // After an item of a tuple or an attribute of an object: an optional comma, and the text must go on.
  const separator = () => {
    ws();
    if (s[i] === ',') i++;
    ws();
    if (i >= s.length) throw new Error(`invalid type constraint "${text}"`);
  };
  const ident = (): string => {
    ws();
    const m = /^[A-Za-z_][\w-]*/.exec(s.slice(i));
    if (!m) throw new Error(`invalid type constraint "${text}" at offset ${i}`);
    i += m[0].length;
    return m[0];
  };
  const parse = (): CtyType => {
    const name = ident();
    if (name === 'string' || name === 'number' || name === 'bool') return name;
    if (name === 'any') return DYNAMIC;
    if (name === 'list' || name === 'set' || name === 'map') {
      ws();
      // A bare `list` / `map` is the legacy spelling of list(any) / map(any).
      if (s[i] !== '(') return [name, DYNAMIC];
      expect('(');
      const inner = parse();
      expect(')');
      return [name, inner];
    }
    if (name === 'tuple') {
      expect('(');
      expect('[');
      const items: CtyType[] = [];
      ws();
      while (s[i] !== ']') {
        items.push(parse());
        separator();
      }
      i++;
      expect(')');
      return ['tuple', items] as unknown as CtyType;
    }
    if (name === 'object') {
      expect('(');
      expect('{');
      const attrs: Record<string, CtyType> = {};
      ws();
      while (s[i] !== '}') {
        const k = ident();
        ws();
        if (s[i] !== '=' && s[i] !== ':') throw new Error(`invalid type constraint "${text}": expected '=' after ${k}`);
        i++;
        if (/^\s*optional\s*\(/.test(s.slice(i))) throw new Error(`type constraint "${text}": optional() attributes are not supported`);
        attrs[k] = parse();
        separator();
      }
      i++;
      expect(')');
      return ['object', attrs];
    }
    throw new Error(`invalid type constraint "${text}": unknown type "${name}"`);
  };
  const t = parse();
  ws();
  if (i !== s.length) throw new Error(`invalid type constraint "${text}": unexpected "${s.slice(i)}"`);
  return t === DYNAMIC ? undefined : t;
}

/** Whether a type still has `any` in it (its final type then comes from the value). */
export function hasDynamic(t: CtyType): boolean {
  if (t === DYNAMIC) return true;
  if (!Array.isArray(t)) return false;
  const inner = t[1];
  if (t[0] === 'object') return Object.values(inner as Record<string, CtyType>).some(hasDynamic);
  if (t[0] === 'tuple') return (inner as unknown as CtyType[]).some(hasDynamic);
  return hasDynamic(inner as CtyType);
}

/**
 * Converts a value to a type as Terraform's type conversion does for the cases Terraform JSON produces
 * (primitives to string and back, tuples to lists and sets, objects to maps and objects). `any`
 * parts take the value's own type. Returns the converted value and its exact type, or an error.
 */
export function convertTo(t: CtyType, v: Value): { value: Value; type: CtyType } | { error: string } {
  const got = () => (v === null ? 'null' : Array.isArray(v) ? 'tuple' : typeof v === 'object' ? 'object' : typeof v);
  if (t === DYNAMIC) return { value: v, type: literalType(v) };
  if (v === null) return { value: null, type: t };
  if (isUnknown(v)) return { value: v, type: t };
  const bad = (): { error: string } => ({ error: `${friendlyName(t)} required, got ${got()}` });
  if (t === 'string') {
    if (typeof v === 'string') return { value: v, type: t };
    if (typeof v === 'number' || typeof v === 'boolean') return { value: String(v), type: t };
    return bad();
  }
  if (t === 'number') {
    if (typeof v === 'number') return { value: v, type: t };
    if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.trim())) return { value: Number(v), type: t };
    return { error: `a number is required, got ${typeof v === 'string' ? JSON.stringify(v) : got()}` };
  }
  if (t === 'bool') {
    if (typeof v === 'boolean') return { value: v, type: t };
    if (v === 'true' || v === 'false') return { value: v === 'true', type: t };
    return { error: `a bool is required, got ${typeof v === 'string' ? JSON.stringify(v) : got()}` };
  }
  if (!Array.isArray(t)) return bad();
  const [kind, inner] = t;
  if (kind === 'list' || kind === 'set') {
    if (!Array.isArray(v)) return bad();
    const items: Value[] = [];
    const types: CtyType[] = [];
    for (const [i, x] of v.entries()) {
      const r = convertTo(inner as CtyType, x);
      if ('error' in r) return { error: `element ${i}: ${r.error}` };
      items.push(r.value);
      types.push(r.type);
    }
    const elem = inner === DYNAMIC ? unify(types) : (inner as CtyType);
    if (elem === undefined) return { error: `all elements of a ${kind} must have the same type` };
    return { value: kind === 'set' ? sortSet(dedupe(items)) : items, type: [kind, elem] };
  }
  if (kind === 'tuple') {
    const types = inner as unknown as CtyType[];
    if (!Array.isArray(v) || v.length !== types.length) return bad();
    const items: Value[] = [];
    const out: CtyType[] = [];
    for (const [i, x] of v.entries()) {
      const r = convertTo(types[i]!, x);
      if ('error' in r) return { error: `element ${i}: ${r.error}` };
      items.push(r.value);
      out.push(r.type);
    }
    return { value: items, type: ['tuple', out] as unknown as CtyType };
  }
  if (kind === 'map') {
    if (!isObject(v)) return bad();
    const out: Record<string, Value> = {};
    const types: CtyType[] = [];
    for (const [k, x] of Object.entries(v)) {
      const r = convertTo(inner as CtyType, x);
      if ('error' in r) return { error: `element "${k}": ${r.error}` };
      out[k] = r.value;
      types.push(r.type);
    }
    const elem = inner === DYNAMIC ? unify(types) : (inner as CtyType);
    if (elem === undefined) return { error: 'all elements of a map must have the same type' };
    return { value: out, type: ['map', elem] };
  }
  if (kind === 'object') {
    if (!isObject(v)) return bad();
    const attrs = inner as Record<string, CtyType>;
    for (const k of Object.keys(v)) if (!(k in attrs)) return { error: `unexpected attribute "${k}"` };
    const out: Record<string, Value> = {};
    const types: Record<string, CtyType> = {};
    for (const [k, at] of Object.entries(attrs)) {
      if (!(k in v)) return { error: `attribute "${k}" is required` };
      const r = convertTo(at, v[k]!);
      if ('error' in r) return { error: `attribute "${k}": ${r.error}` };
      out[k] = r.value;
      types[k] = r.type;
    }
    return { value: out, type: ['object', types] };
  }
  return bad();
}

/** The one type all elements share (Terraform unifies `any` elements; here only identical types unify). */
function unify(types: CtyType[]): CtyType | undefined {
  if (types.length === 0) return DYNAMIC;
  const first = JSON.stringify(types[0]);
  if (types.every((x) => JSON.stringify(x) === first)) return types[0]!;
  // Mixed primitives unify to string, as Terraform's unification does for list(any) of strings and numbers.
  if (types.every((x) => x === 'string' || x === 'number' || x === 'bool')) return 'string';
  return undefined;
}

function dedupe(items: Value[]): Value[] {
  const seen = new Set<string>();
  return items.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** cty's order for sets of primitives: strings by bytes, numbers by value, false before true. */
export function sortSet(items: Value[]): Value[] {
  if (items.every((x) => typeof x === 'string')) return [...items].sort((a, b) => byteCompare(a as string, b as string));
  if (items.every((x) => typeof x === 'number')) return [...items].sort((a, b) => (a as number) - (b as number));
  if (items.every((x) => typeof x === 'boolean')) return [...items].sort((a, b) => Number(a) - Number(b));
  return items;
}

/** Byte-order comparison of UTF-8 strings (Go's string comparison), not localeCompare. */
export function byteCompare(a: string, b: string): number {
  // Without encoding (sorts of thousands of resources called this with two Buffers per compare):
  // UTF-8 keeps code point order, so strings that differ first at two non-surrogate code units (or
  // where one ends) compare as those units do: the common prefix encodes alike, a high surrogate
  // before them being lone in both (Buffer.from makes it U+FFFD). A surrogate there takes the encoded way.
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const ca = i < a.length ? a.charCodeAt(i) : -1;
  const cb = i < b.length ? b.charCodeAt(i) : -1;
  if ((ca < 0xd800 || ca > 0xdfff) && (cb < 0xd800 || cb > 0xdfff)) return ca < cb ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A set-typed value in a known type, with its primitive sets in cty's order (state and outputs store them so). */
export function normaliseSets(t: CtyType, v: Value): Value {
  if (v === null || isUnknown(v) || !Array.isArray(t)) return v;
  const [kind, inner] = t;
  if ((kind === 'list' || kind === 'set') && Array.isArray(v)) {
    const items = v.map((x) => normaliseSets(inner as CtyType, x));
    return kind === 'set' ? sortSet(items) : items;
  }
  if (kind === 'tuple' && Array.isArray(v)) return v.map((x, i) => normaliseSets((inner as unknown as CtyType[])[i] ?? DYNAMIC, x));
  if (kind === 'map' && isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normaliseSets(inner as CtyType, x)]));
  if (kind === 'object' && isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normaliseSets((inner as Record<string, CtyType>)[k] ?? DYNAMIC, x)]));
  return v;
}

/** Go's strconv.Quote: Go escapes for controls and invalid text, printable Unicode kept as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp < 0xe000) || cp === 0xfeff || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0xad || (cp >= 0x200b && cp <= 0x200f)) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + '"';
}

/** A number as Go's big.Float Text('f', -1): plain decimal digits, never an exponent. */
export function plainNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const [mant, expPart] = s.toLowerCase().split('e') as [string, string];
  const exp = Number(expPart);
  const neg = mant.startsWith('-');
  const [int, frac = ''] = mant.replace('-', '').split('.') as [string, string?];
  const digits = int + frac;
  const point = int.length + exp;
  let body: string;
  if (point <= 0) body = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) body = digits + '0'.repeat(point - digits.length);
  else body = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? '-' : '') + body;
}

/**
 * Terraform's repl.FormatValue (what `terraform output` and `terraform console` print): Terraform
 * syntax with the conversion functions that say the exact type (`tolist([...])`, `tomap({...})`,
 * `tostring(null)`), multi-line strings as heredocs.
 */
export function formatValue(v: Value, t: CtyType, indent = 0): string {
  if (isUnknown(v)) return '(known after apply)';
  if (v === null) {
    if (t === DYNAMIC) return 'null';
    if (t === 'string') return 'tostring(null)';
    if (t === 'number') return 'tonumber(null)';
    if (t === 'bool') return 'tobool(null)';
    if (Array.isArray(t) && (t[0] === 'list' || t[0] === 'set' || t[0] === 'map')) return `to${t[0]}(null) /* of ${friendlyName(t[1] as CtyType)} */`;
    return `null /* ${friendlyName(t)} */`;
  }
  if (typeof v === 'string') {
    const lines = v.split('\n');
    if (lines.length < 2) return goQuote(v);
    const op = indent > 0 ? '<<-' : '<<';
    let delim = 'EOT';
    while (lines.some((l) => l.trim() === delim)) delim += '_';
    return `${op}${delim}${lines.map((l) => `\n${' '.repeat(indent)}${l}`).join('')}\n${' '.repeat(indent)}${delim}`;
  }
  if (typeof v === 'number') return plainNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const kind = Array.isArray(t) ? t[0] : 'dynamic';
  const inner = Array.isArray(t) ? t[1] : DYNAMIC;
  const pad = ' '.repeat(indent + 2);
  if (Array.isArray(v)) {
    const elemType = (i: number): CtyType => (kind === 'tuple' ? ((inner as unknown as CtyType[])[i] ?? DYNAMIC) : kind === 'list' || kind === 'set' ? (inner as CtyType) : literalType(v[i]!));
    const body = v.length === 0 ? '[]' : `[${v.map((x, i) => `\n${pad}${formatValue(x, elemType(i), indent + 2)},`).join('')}\n${' '.repeat(indent)}]`;
    return kind === 'list' || kind === 'set' ? `to${kind}(${body})` : body;
  }
  // Objects and maps list their keys in cty's order: sorted by bytes.
  const keys = Object.keys(v).sort(byteCompare);
  const attrType = (k: string): CtyType => (kind === 'object' ? ((inner as Record<string, CtyType>)[k] ?? DYNAMIC) : kind === 'map' ? (inner as CtyType) : literalType(v[k]!));
  const body = keys.length === 0 ? '{}' : `{${keys.map((k) => `\n${pad}${goQuote(k)} = ${formatValue(v[k]!, attrType(k), indent + 2)}`).join('')}\n${' '.repeat(indent)}}`;
  return kind === 'map' ? `tomap(${body})` : body;
}

/** cty's FriendlyName, as `tolist(null) /* of string *\/` and error messages print it. */
export function friendlyName(t: CtyType): string {
  if (t === DYNAMIC) return 'dynamic';
  if (typeof t === 'string') return t;
  if (t[0] === 'object') return 'object';
  if (t[0] === 'tuple') return 'tuple';
  return `${t[0]} of ${friendlyName(t[1] as CtyType)}`;
}
