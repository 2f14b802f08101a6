import crypto from 'node:crypto';
import type { ObjectValue, Value } from '../protocol';
import { isUnknown, UNKNOWN } from '../protocol';
import { byteCompare, sortSet } from '../types';
import { containsUnknown, isObject } from '../util';
import { numberToString, parseNumber } from './numbers';
import { convertPrimitive, EvalError, toNumber, toStringValue, typeName, unifiedPrimitive, unifyList, valueEquals } from './values';

/**
 * Terraform's built-in functions that eksidp implements, with cty's type rules (conversions between
 * primitives, tuples unified into lists, sets deduplicated and ordered, map keys in byte order).
 * `try` and `can` take unevaluated arguments and live in evaluate.ts. Anything else is refused by
 * name before any API call (expressions.ts checks calls when the configuration is parsed).
 */

type Fn = {
  /** Parameter names, in order; a final `...name` takes any number. */
  params: string[];
  /** Parameters that may be null (others are an error when null, as cty's AllowNull is off). */
  nullable?: string[];
  /**
   * Works on a collection's shape without looking into its elements, so unknown elements stay
   * unknown in the result; other functions give an unknown result for any unknown inside.
   */
  structural?: boolean;
  call(args: Value[]): Value;
};

function list(v: Value, fn: string, param: string): Value[] {
  if (!Array.isArray(v)) throw new EvalError(`Invalid value for "${param}" parameter of ${fn}: list, tuple or set required, but have ${typeName(v)}`);
  return v;
}

function map(v: Value, fn: string, param: string): ObjectValue {
  if (!isObject(v)) throw new EvalError(`Invalid value for "${param}" parameter of ${fn}: map or object required, but have ${typeName(v)}`);
  return v;
}

function str(v: Value, fn: string, param: string): string {
  return toStringValue(v, `Invalid value for "${param}" parameter of ${fn}`);
}

function num(v: Value, fn: string, param: string): number {
  return toNumber(v, `Invalid value for "${param}" parameter of ${fn}`);
}

function int(v: Value, fn: string, param: string): number {
  const n = num(v, fn, param);
  if (!Number.isInteger(n)) throw new EvalError(`Invalid value for "${param}" parameter of ${fn}: a whole number is required`);
  return n;
}

function setKey(o: ObjectValue, k: string, v: Value): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function sortedObject(o: ObjectValue): ObjectValue {
  const out: ObjectValue = {};
  for (const k of Object.keys(o).sort(byteCompare)) setKey(out, k, o[k]!);
  return out;
}

function dedupe(items: Value[]): Value[] {
  const out: Value[] = [];
  for (const x of items) if (!out.some((y) => valueEquals(x, y))) out.push(x);
  return out;
}

// Made on first use: building a Segmenter loads ICU's break rules (tens of ms at every start otherwise).
let segmenter: Intl.Segmenter | undefined;
/** Grapheme clusters, as cty counts characters (Unicode text segmentation). */
export function graphemes(s: string): string[] {
  segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  return Array.from(segmenter.segment(s.normalize('NFC')), (x) => x.segment);
}

/** Go's unicode.IsSpace, which strings.TrimSpace trims (JavaScript's trim differs on U+0085 and U+FEFF). */
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]';
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'gu');

/** Simple (one code point to one) case mapping, as Go's strings.ToUpper/ToLower. */
function mapCase(s: string, upper: boolean): string {
  let out = '';
  for (const c of s) {
    const m = upper ? c.toUpperCase() : c.toLowerCase();
    out += [...m].length === 1 ? m : c;
  }
  return out;
}

/** JSON as Go's encoding/json writes it (cty's jsonencode): keys sorted, <, >, & and U+2028/9 escaped, numbers in full. */
export function jsonEncode(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(jsonEncode).join(',')}]`;
  const o = v as ObjectValue;
  return `{${Object.keys(o).sort(byteCompare).map((k) => `${jsonEncode(k)}:${jsonEncode(o[k]!)}`).join(',')}}`;
}

function jsonDecode(s: string): Value {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (e) {
    throw new EvalError(`Invalid value for "str" parameter of jsondecode: ${(e as Error).message}`);
  }
  // JSON.parse rounds numbers: each number token must be one a double holds exactly.
  for (const m of s.matchAll(/"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g)) {
    if (m[1] === undefined) continue;
    const n = parseNumber(m[1]);
    if (typeof n !== 'number') throw new EvalError(`jsondecode: ${n.error}`);
  }
  const fix = (x: unknown): Value => {
    if (Array.isArray(x)) return x.map(fix);
    if (typeof x === 'object' && x !== null) {
      const out: ObjectValue = {};
      for (const k of Object.keys(x).sort(byteCompare)) setKey(out, k, fix((x as Record<string, unknown>)[k]));
      return out;
    }
    return x as Value;
  };
  return fix(parsed);
}

/**
 * A Go RE2 pattern as a JavaScript RegExp, where both mean the same; constructs that differ (or
 * that RE2 lacks) are refused rather than run with JavaScript's meaning.
 */
export function translateRegex(pattern: string): RegExp {
  let out = '';
  let inClass = false;
  const refuse = (what: string): never => { throw new EvalError(`the regular expression /${pattern}/ uses ${what}, which eksidp does not support (Go's RE2 and JavaScript differ there)`); };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) refuse('a trailing backslash');
      i++;
      if ('dDwWbB'.includes(n!) || '.+*?()|[]{}^$\\/-'.includes(n!) || 'ntrfv'.includes(n!)) { out += `\\${n}`; continue; }
      if (n === 's') { out += inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]'; continue; }
      if (n === 'S' && !inClass) { out += '[^\\t\\n\\f\\r ]'; continue; }
      if (n === 'x' && /^[0-9A-Fa-f]{2}/.test(pattern.slice(i + 1))) { out += `\\x${pattern.slice(i + 1, i + 3)}`; i += 2; continue; }
      refuse(`\\${n}`);
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') refuse('POSIX character classes ([:name:])');
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A ] right after [ or [^ is a literal in RE2.
      if (pattern[i + 1] === '^') { out += '^'; i++; }
      if (pattern[i + 1] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      if (pattern.startsWith('(?:', i)) { out += '(?:'; i += 2; continue; }
      const named = /^\(\?P?<([A-Za-z_]\w*)>/.exec(pattern.slice(i));
      if (named) { out += `(?<${named[1]}>`; i += named[0].length - 1; continue; }
      refuse('flags or lookaround ((?...))');
    }
    // RE2's . matches any character but \n; JavaScript's also stops at \r, U+2028 and U+2029.
    if (c === '.') { out += '[^\\n]'; continue; }
    out += c;
  }
  try {
    return new RegExp(out, 'gu');
  } catch (e) {
    throw new EvalError(`invalid regular expression /${pattern}/: ${(e as Error).message}`);
  }
}

/** Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$; a malformed $ is literal. */
function expand(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') { out += c; continue; }
    if (template[i + 1] === '$') { out += '$'; i++; continue; }
    let name: string | undefined;
    let len = 0;
    const braced = /^\{(\w+)\}/.exec(template.slice(i + 1));
    const bare = /^\w+/.exec(template.slice(i + 1));
    if (braced) { name = braced[1]; len = braced[0].length; } else if (bare) { name = bare[0]; len = bare[0].length; }
    if (name === undefined) { out += '$'; continue; }
    i += len;
    if (/^\d+$/.test(name)) out += m[Number(name)] ?? '';
    else out += m.groups?.[name] ?? '';
  }
  return out;
}

function replace(s: string, sub: string, rep: string): string {
  if (sub.length > 1 && sub.startsWith('/') && sub.endsWith('/')) {
    const re = translateRegex(sub.slice(1, -1));
    return s.replace(re, (...a) => {
      const groups = typeof a[a.length - 1] === 'object' ? (a[a.length - 1] as Record<string, string>) : undefined;
      const m = a.slice(0, typeof a[a.length - 1] === 'object' ? -3 : -2) as unknown as RegExpExecArray;
      if (groups) m.groups = groups;
      return expand(rep, m);
    });
  }
  // Go's strings.Replace with an empty substring inserts at every character boundary.
  if (sub === '') return s === '' ? rep : rep + [...s].join(rep) + rep;
  return s.split(sub).join(rep);
}

/** A double's exact decimal value (every double is a finite decimal): m × 10^e. */
function exactDecimal(x: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = exp === 0 ? frac : frac | (1n << 52n);
  const e2 = (exp === 0 ? 1 : exp) - 1075;
  return e2 >= 0 ? { m: mant << BigInt(e2), e: 0 } : { m: mant * 5n ** BigInt(-e2), e: e2 };
}

/** %f of a non-negative double as Go writes it: the exact binary value rounded half to even. */
function fixed(x: number, prec: number): string {
  const { m, e } = exactDecimal(x);
  let q: bigint;
  if (e >= -prec) q = m * 10n ** BigInt(e + prec);
  else {
    const div = 10n ** BigInt(-e - prec);
    q = m / div;
    const r = m % div;
    if (r * 2n > div || (r * 2n === div && q % 2n === 1n)) q += 1n;
  }
  const digits = q.toString().padStart(prec + 1, '0');
  return prec === 0 ? digits : `${digits.slice(0, digits.length - prec)}.${digits.slice(digits.length - prec)}`;
}

function formatGo(fmt: string, args: Value[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') { out += c; continue; }
    const m = /^%([-+# 0]*)(?:\[(\d+)\])?(\d+)?(?:\.(\d*))?([a-zA-Z%])/.exec(fmt.slice(i));
    if (!m) throw new EvalError(`Error in function call: format: invalid format verb at ${i} in ${JSON.stringify(fmt)}`);
    i += m[0].length - 1;
    const [, flags = '', argIdx, widthText, precText, verb] = m;
    if (verb === '%') { out += '%'; continue; }
    if (argIdx !== undefined) next = Number(argIdx) - 1;
    if (next >= args.length) throw new EvalError(`Error in function call: format: not enough arguments for %${verb} at ${i}`);
    const arg = args[next++]!;
    const prec = precText === undefined ? undefined : Number(precText || '0');
    let body: string;
    const numeric = 'dbeEfgGoxX'.includes(verb!);
    if (arg === null && verb !== 'v') throw new EvalError(`Error in function call: format: unsupported value for "%${verb}" at ${i}: null value cannot be formatted`);
    switch (verb) {
      case 'v':
        if (flags.includes('#')) body = jsonEncode(arg);
        else if (arg === null) body = 'null';
        else if (Array.isArray(arg) || isObject(arg)) body = jsonEncode(arg);
        else body = toStringValue(arg, 'format');
        break;
      case 's':
        body = toStringValue(arg, `format: unsupported value for "%s" at ${i}`);
        if (prec !== undefined) body = [...body].slice(0, prec).join('');
        break;
      case 'q':
        body = JSON.stringify(toStringValue(arg, `format: unsupported value for "%q" at ${i}`));
        break;
      case 't':
        if (typeof arg !== 'boolean' && arg !== 'true' && arg !== 'false') throw new EvalError(`Error in function call: format: unsupported value for "%t" at ${i}: bool required`);
        // cty writes %t without padding.
        out += String(arg === true || arg === 'true');
        continue;
      default: {
        if (!numeric) throw new EvalError(`Error in function call: format: unsupported format verb %${verb}`);
        const n = toNumber(arg, `format: unsupported value for "%${verb}" at ${i}`);
        if ('dbox X'.includes(verb!) && !Number.isInteger(n)) throw new EvalError(`Error in function call: format: unsupported value for "%${verb}" at ${i}: an integer is required`);
        const neg = n < 0;
        const a = Math.abs(n);
        let digits: string;
        if (verb === 'd') digits = numberToString(a);
        else if (verb === 'b') digits = BigInt(a).toString(2);
        else if (verb === 'o') digits = BigInt(a).toString(8);
        else if (verb === 'x') digits = BigInt(a).toString(16);
        else if (verb === 'X') digits = BigInt(a).toString(16).toUpperCase();
        else if (verb === 'f') digits = fixed(a, prec ?? 6);
        else if (verb === 'e' || verb === 'E') {
          digits = a.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
          if (verb === 'E') digits = digits.toUpperCase();
        } else throw new EvalError(`Error in function call: format: %${verb} is not supported by eksidp`);
        const sign = neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
        const width = widthText === undefined ? 0 : Number(widthText);
        if (flags.includes('0') && !flags.includes('-') && width > 0) digits = digits.padStart(width - sign.length, '0');
        body = sign + digits;
      }
    }
    const width = widthText === undefined ? 0 : Number(widthText);
    const len = [...body].length;
    if (len < width) body = flags.includes('-') ? body + ' '.repeat(width - len) : ' '.repeat(width - len) + body;
    out += body;
  }
  return out;
}

function toList(v: Value, fn: string): Value {
  if (v === null) return null;
  return unifyList(list(v, fn, 'v'), `Invalid value for "v" parameter of ${fn}: cannot convert to a list of any single type`);
}

function toSet(v: Value): Value {
  if (v === null) return null;
  const items = unifyList(list(v, 'toset', 'v'), 'Invalid value for "v" parameter of toset: cannot convert to a set of any single type');
  return sortSet(dedupe(items));
}

export const FUNCTIONS = new Map<string, Fn>(Object.entries({
  lookup: {
    params: ['inputMap', 'key', 'default'], structural: true, nullable: ['default'],
    call: ([m, k, d]) => {
      const o = map(m!, 'lookup', 'inputMap');
      const key = str(k!, 'lookup', 'key');
      if (Object.prototype.hasOwnProperty.call(o, key)) {
        return o[key]!;
      }
      if (d === undefined) throw new EvalError(`Error in function call: lookup failed to find key "${key}"`);
      return d;
    },
  },
  merge: {
    params: ['...maps'], nullable: ['maps'], structural: true,
    call: (args) => {
      const out: ObjectValue = {};
      for (const [i, a] of args.entries()) {
        if (a === null) continue;
        const o = map(a, 'merge', `maps[${i}]`);
        for (const k of Object.keys(o)) setKey(out, k, o[k]!);
      }
      return sortedObject(out);
    },
  },
  concat: {
    params: ['...seqs'], structural: true,
    call: (args) => {
      if (args.length === 0) throw new EvalError('Error in function call: concat: at least one argument is required');
      return args.flatMap((a, i) => list(a, 'concat', `seqs[${i}]`));
    },
  },
  flatten: {
    params: ['list'],
    call: ([l]) => {
      const walk = (xs: Value[]): Value[] => xs.flatMap((x) => (Array.isArray(x) ? walk(x) : [x]));
      return walk(list(l!, 'flatten', 'list'));
    },
  },
  distinct: { params: ['list'], call: ([l]) => dedupe(unifyList(list(l!, 'distinct', 'list'), 'distinct: the list elements must have one type')) },
  compact: {
    params: ['list'],
    call: ([l]) => list(l!, 'compact', 'list').filter((x) => x !== null).map((x) => str(x, 'compact', 'list')).filter((x) => x !== ''),
  },
  coalesce: {
    params: ['...vals'], nullable: ['vals'],
    call: (args) => {
      const t = unifiedPrimitive(args, 'Error in function call: coalesce: all arguments must have the same type');
      for (const a of args) if (a !== null && a !== '') return convertPrimitive(a, t, 'coalesce');
      throw new EvalError('Error in function call: no non-null, non-empty-string arguments');
    },
  },
  // Terraform's format of a null argument is unknown (not an error): eksidp refuses it.
  format: { params: ['format', '...args'], call: ([f, ...rest]) => formatGo(str(f!, 'format', 'format'), rest) },
  join: {
    params: ['separator', '...lists'],
    call: ([sep, ...lists]) => {
      if (lists.length === 0) throw new EvalError('Error in function call: join: at least one list is required');
      const s = str(sep!, 'join', 'separator');
      const items: string[] = [];
      for (const [i, l] of lists.entries()) {
        for (const [j, x] of list(l, 'join', `lists[${i}]`).entries()) {
          if (x === null) throw new EvalError(`Invalid function argument: element ${j} of list ${i} is null; cannot concatenate null values`);
          items.push(str(x, 'join', `lists[${i}]`));
        }
      }
      return items.join(s);
    },
  },
  split: {
    params: ['separator', 'str'],
    call: ([sep, s]) => {
      const sp = str(sep!, 'split', 'separator');
      const text = str(s!, 'split', 'str');
      return sp === '' ? [...text] : text.split(sp);
    },
  },
  lower: { params: ['str'], call: ([s]) => mapCase(str(s!, 'lower', 'str'), false) },
  upper: { params: ['str'], call: ([s]) => mapCase(str(s!, 'upper', 'str'), true) },
  replace: { params: ['str', 'substr', 'replace'], call: ([s, sub, r]) => replace(str(s!, 'replace', 'str'), str(sub!, 'replace', 'substr'), str(r!, 'replace', 'replace')) },
  trimspace: { params: ['str'], call: ([s]) => str(s!, 'trimspace', 'str').replace(TRIM, '') },
  substr: {
    params: ['str', 'offset', 'length'],
    call: ([s, o, l]) => {
      const g = graphemes(str(s!, 'substr', 'str'));
      let off = int(o!, 'substr', 'offset');
      let len = int(l!, 'substr', 'length');
      if (off < 0) off = Math.max(0, g.length + off);
      if (off > g.length) return '';
      if (len < 0 || off + len > g.length) len = g.length - off;
      return g.slice(off, off + len).join('');
    },
  },
  startswith: { params: ['str', 'prefix'], call: ([s, p]) => str(s!, 'startswith', 'str').startsWith(str(p!, 'startswith', 'prefix')) },
  endswith: { params: ['str', 'suffix'], call: ([s, p]) => str(s!, 'endswith', 'str').endsWith(str(p!, 'endswith', 'suffix')) },
  contains: {
    params: ['list', 'value'],
    call: ([l, v]) => {
      const items = list(l!, 'contains', 'list');
      if (containsUnknown(items)) return UNKNOWN;
      return items.some((x) => valueEquals(x, v!));
    },
  },
  keys: {
    params: ['inputMap'], structural: true,
    call: ([m]) => Object.keys(map(m!, 'keys', 'inputMap')).sort(byteCompare),
  },
  values: {
    params: ['mapping'], structural: true,
    call: ([m]) => {
      const o = map(m!, 'values', 'mapping');
      return Object.keys(o).sort(byteCompare).map((k) => o[k]!);
    },
  },
  length: {
    params: ['value'], structural: true,
    call: ([v]) => {
      if (typeof v === 'string') return graphemes(v).length;
      if (Array.isArray(v)) return v.length;
      if (isObject(v)) return Object.keys(v).length;
      throw new EvalError(`Invalid value for "value" parameter of length: collection or structural type required, but have ${typeName(v!)}`);
    },
  },
  element: {
    params: ['list', 'index'], structural: true,
    call: ([l, i]) => {
      const items = list(l!, 'element', 'list');
      const n = int(i!, 'element', 'index');
      if (items.length === 0) throw new EvalError('Error in function call: cannot use element function with an empty list');
      // Terraform's element wraps around in both directions.
      return items[((n % items.length) + items.length) % items.length]!;
    },
  },
  tolist: { params: ['v'], nullable: ['v'], call: ([v]) => toList(v!, 'tolist') },
  toset: { params: ['v'], nullable: ['v'], call: ([v]) => toSet(v!) },
  tomap: {
    params: ['v'], nullable: ['v'],
    call: ([v]) => {
      if (v === null) return null;
      const o = map(v!, 'tomap', 'v');
      const t = unifiedPrimitive(Object.values(o), 'Invalid value for "v" parameter of tomap: cannot convert to a map of any single type');
      const out: ObjectValue = {};
      for (const k of Object.keys(o).sort(byteCompare)) setKey(out, k, convertPrimitive(o[k]!, t, 'tomap'));
      return out;
    },
  },
  tostring: {
    params: ['v'], nullable: ['v'],
    call: ([v]) => {
      if (v === null) return null;
      if (Array.isArray(v) || isObject(v)) throw new EvalError(`Invalid value for "v" parameter of tostring: cannot convert ${typeName(v!)} to string`);
      return toStringValue(v!, 'tostring');
    },
  },
  tonumber: {
    params: ['v'], nullable: ['v'],
    call: ([v]) => {
      if (v === null) return null;
      if (typeof v !== 'number' && typeof v !== 'string') throw new EvalError(`Invalid value for "v" parameter of tonumber: cannot convert ${typeName(v!)} to number`);
      return toNumber(v, 'Invalid value for "v" parameter of tonumber');
    },
  },
  tobool: {
    params: ['v'], nullable: ['v'],
    call: ([v]) => {
      if (v === null) return null;
      if (v === true || v === false) return v;
      if (v === 'true' || v === 'false') return v === 'true';
      throw new EvalError(`Invalid value for "v" parameter of tobool: cannot convert ${typeName(v!)} to bool`);
    },
  },
  jsonencode: { params: ['val'], nullable: ['val'], call: ([v]) => jsonEncode(v!) },
  jsondecode: { params: ['str'], call: ([s]) => jsonDecode(str(s!, 'jsondecode', 'str')) },
  base64encode: { params: ['str'], call: ([s]) => Buffer.from(str(s!, 'base64encode', 'str'), 'utf8').toString('base64') },
  base64decode: {
    params: ['str'],
    call: ([s]) => {
      const text = str(s!, 'base64decode', 'str');
      if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new EvalError('Error in function call: base64decode: failed to decode base64 data');
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
      } catch {
        throw new EvalError('Error in function call: base64decode: the result of decoding the provided string is not valid UTF-8');
      }
    },
  },
  // The value is unchanged; its sensitivity is engine/hcl/marks.ts's (callMarks).
  sensitive: { params: ['value'], nullable: ['value'], structural: true, call: ([v]) => v! },
  nonsensitive: { params: ['value'], nullable: ['value'], structural: true, call: ([v]) => v! },
  sha256: { params: ['str'], call: ([s]) => crypto.createHash('sha256').update(str(s!, 'sha256', 'str'), 'utf8').digest('hex') },
}));

/** Checks arity, nulls and unknowns, then calls the function. */
export function callFunction(name: string, fn: Fn, args: Value[]): Value {
  const variadic = fn.params[fn.params.length - 1]?.startsWith('...') ?? false;
  const fixed = variadic ? fn.params.length - 1 : fn.params.length;
  // Optional trailing parameters: only lookup's default.
  const min = name === 'lookup' ? 2 : fixed;
  if (args.length < min || (!variadic && args.length > fixed)) {
    throw new EvalError(`Invalid number of arguments: function "${name}" expects ${variadic ? `at least ${fixed}` : min === fixed ? fixed : `${min} or ${fixed}`} argument(s), got ${args.length}`);
  }
  for (const [i, a] of args.entries()) {
    const p = (fn.params[Math.min(i, fn.params.length - 1)] ?? '').replace(/^\.\.\./, '');
    if (a === null && !fn.nullable?.includes(p)) throw new EvalError(`Invalid value for "${p}" parameter of ${name}: argument must not be null`);
  }
  if (args.some((a) => isUnknown(a))) return UNKNOWN;
  if (!fn.structural && args.some(containsUnknown)) return UNKNOWN;
  return fn.call(args);
}
