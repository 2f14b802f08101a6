/**
 * Terraform numbers are arbitrary-precision (cty's 512-bit big floats). eksidp keeps numbers as
 * JavaScript doubles and does arithmetic in exact decimals: a literal or a result is accepted only
 * when a double holds it exactly as written (its shortest form reads back as the same decimal), so
 * `0.1 + 0.2` is 0.3 as in Terraform, and `9007199254740993`, `1 / 3` or `1 / 0` are refused rather
 * than rounded.
 */

/** value = m × 10^e */
type Dec = { m: bigint; e: number };

function parseDec(text: string): Dec | undefined {
  const mt = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!mt) return undefined;
  const frac = mt[3] ?? '';
  const m = BigInt(`${mt[1]}${mt[2]}${frac}`);
  return norm({ m, e: Number(mt[4] ?? 0) - frac.length });
}

function norm(d: Dec): Dec {
  if (d.m === 0n) return { m: 0n, e: 0 };
  let { m, e } = d;
  while (m % 10n === 0n) { m /= 10n; e++; }
  return { m, e };
}

function toDec(x: number): Dec {
  return parseDec(String(x))!;
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.m * 10n ** BigInt(a.e - e), b.m * 10n ** BigInt(b.e - e), e];
}

const LIMIT = 'eksidp keeps numbers as doubles and refuses a value a double does not hold exactly';

/** A decimal as a double, or an error when the double would not be exactly that decimal. */
function fromDec(d: Dec, what: string): number | { error: string } {
  const n = norm(d);
  const x = Number(`${n.m}e${n.e}`);
  if (!Number.isFinite(x)) return { error: `${what} is beyond the range of numbers eksidp supports (${LIMIT})` };
  const back = toDec(x);
  if (back.m !== n.m || back.e !== n.e) return { error: `${what} cannot be represented exactly (${LIMIT}; Terraform's numbers have arbitrary precision)` };
  return x;
}

/** A number literal as HCL writes it. */
export function parseNumber(text: string): number | { error: string } {
  const d = parseDec(text);
  if (!d) return { error: `invalid number ${text}` };
  return fromDec(d, `the number ${text}`);
}

/** A string converted to a number as cty does (decimal notation, optional sign and exponent). */
export function stringToNumber(s: string): number | undefined {
  const t = s.startsWith('+') ? s.slice(1) : s;
  const d = parseDec(t);
  if (!d) return undefined;
  const r = fromDec(d, s);
  return typeof r === 'number' ? r : undefined;
}

export function arith(op: '+' | '-' | '*' | '/' | '%', a: number, b: number): number | { error: string } {
  const x = toDec(a);
  const y = toDec(b);
  const what = `the result of ${String(a)} ${op} ${String(b)}`;
  if (op === '+' || op === '-') {
    const [p, q, e] = align(x, y);
    return fromDec({ m: op === '+' ? p + q : p - q, e }, what);
  }
  if (op === '*') return fromDec({ m: x.m * y.m, e: x.e + y.e }, what);
  if (y.m === 0n) return { error: `${what}: division by zero (Terraform gives an infinity, which eksidp does not support)` };
  const [p, q, e0] = align(x, y);
  void e0;
  if (op === '%') {
    // cty: the remainder has the dividend's sign (Go's big.Int Rem for integers; fmod for decimals).
    const [pp, qq, e] = align(x, y);
    return fromDec({ m: pp % qq, e }, what);
  }
  // Exact quotient of p/q: scale p until it divides, within the digits a double can hold.
  for (let k = 0; k <= 40; k++) {
    const num = p * 10n ** BigInt(k);
    if (num % q === 0n) return fromDec({ m: num / q, e: -k }, what);
  }
  return { error: `${what} cannot be represented exactly (${LIMIT}; Terraform's numbers have arbitrary precision)` };
}

/** Numbers as Terraform prints them in strings: integers without exponent, decimals in full. */
export function numberToString(x: number): string {
  if (Object.is(x, -0)) return '-0';
  const d = toDec(x);
  if (d.e >= 0) return `${d.m}${'0'.repeat(d.e)}`;
  const neg = d.m < 0n;
  let digits = (neg ? -d.m : d.m).toString();
  const places = -d.e;
  if (digits.length <= places) digits = '0'.repeat(places - digits.length + 1) + digits;
  return `${neg ? '-' : ''}${digits.slice(0, digits.length - places)}.${digits.slice(digits.length - places)}`;
}
