/**
 * Terminal colour: whether to use it, and the one palette every human renderer paints with (plans,
 * apply progress, drift reports, identity previews, whoami). Dependency-free. Escape untrusted text
 * first (lib/escape.ts), then colour it.
 */

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;

export type Color = keyof typeof CODES;
export type Colors = Record<Color, (s: string) => string>;

const PLAIN: Colors = Object.fromEntries(Object.keys(CODES).map((k) => [k, (s: string) => s])) as Colors;
const PAINTED: Colors = Object.fromEntries(Object.entries(CODES).map(([k, code]) => [k, (s: string) => `\x1b[${code}m${s}\x1b[0m`])) as Colors;

/** The palette, or one that leaves text as it is. */
export function colors(enabled: boolean): Colors {
  return enabled ? PAINTED : PLAIN;
}

/**
 * `--color` forces colour (also when piped, and over NO_COLOR: a flag on the command line wins over the
 * environment, as no-color.org asks), `--no-color` turns it off; otherwise colour on a TTY unless
 * NO_COLOR. `flag` is the parsed `--color` value as is (anything but a boolean: not given).
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag: unknown): boolean {
  if (typeof flag === 'boolean') return flag;
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}
