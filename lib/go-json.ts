/** JSON as Go's encoding/json writes it: <, >, & and U+2028/9 escaped inside strings (JSON text has them nowhere else). */
export function goJson(v: unknown, indent?: number): string {
  return JSON.stringify(v, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * goJson with every object's keys in byte order, as Go's encoding/json writes maps (and cty objects).
 * Written by hand: a JS object enumerates integer-like keys first, in numeric order ("9" before "10"),
 * so sorting the keys of an object and stringifying it cannot give byte order.
 */
export function goJsonSorted(v: unknown, indent?: number): string {
  const pad = indent ? ' '.repeat(indent) : '';
  const write = (x: unknown, at: string): string => {
    if (x === null || typeof x !== 'object') return goJson(x === undefined ? null : x);
    const inner = at + pad;
    const [open, close, items] = Array.isArray(x)
      ? ['[', ']', x.map((e) => write(e, inner))]
      : ['{', '}', Object.keys(x).sort(byteOrder).map((k) => `${goJson(k)}:${pad ? ' ' : ''}${write((x as Record<string, unknown>)[k], inner)}`)];
    if (!items.length) return open + close;
    return pad ? `${open}\n${inner}${items.join(`,\n${inner}`)}\n${at}${close}` : `${open}${items.join(',')}${close}`;
  };
  return write(v, '');
}
