/** JSON as Go's encoding/json writes it: <, >, & and U+2028/9 escaped inside strings (JSON text has them nowhere else). */
export function goJson(v: unknown, indent?: number): string {
  return JSON.stringify(v, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
