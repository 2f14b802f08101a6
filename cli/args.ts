import { parseArgs } from 'node:util';

/** A CLI usage problem: the CLI edge prints it and exits 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec = {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** One line for --help. */
  description: string;
  /** Shown in --help as the value's name, e.g. FILE. */
  valueName?: string;
  default?: string | boolean;
  /** Flags sharing a group are alternatives: the usage line shows `[--stack NAME | --dir DIR]`. */
  group?: string;
  /** Flags sharing a label show as one `[label]` in the usage line (each is still listed in --help). */
  collapse?: string;
  /** Boolean flag whose negation means something (`--no-color`): the usage line shows `--[no-]color`. */
  negatable?: boolean;
  /** Shown without brackets in the usage line (the command checks it). */
  required?: boolean;
};

/** `--stack NAME | --dir DIR`: how every command that reads a stack names it. */
export const STACK_FLAGS: Record<string, FlagSpec> = {
  stack: { type: 'string', valueName: 'NAME', group: 'stack', description: 'Stack from cdktf.out/manifest.json (default: the only stack).' },
  dir: { type: 'string', valueName: 'DIR', group: 'stack', description: 'Folder holding a cdk.tf.json, instead of --stack.' },
};

export type CommandSpec = {
  name: string;
  summary: string;
  /** Positional arguments as the usage line shows them (`[PLANFILE]`, `ADDR ID`); the flags part is derived from `flags`. */
  args?: string;
  flags: Record<string, FlagSpec>;
  /** Whether positional arguments are accepted (and how many at most). */
  maxPositionals?: number;
};

export type Parsed = {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  /** Every option with its value in command-line order (where order matters: --var and --var-file). */
  options?: { name: string; value?: string }[];
};

/**
 * Parses argv strictly against a command's flags: unknown flags and extra positionals are usage
 * errors, so a typo never silently changes what a command does. `--help` is added to every command.
 */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): Parsed & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, allowNegative: true, tokens: true } as Parameters<typeof parseArgs>[0]);
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`eksidp ${spec.name}: ${msg}. See 'eksidp ${spec.name} --help'.`);
  }
  const values = parsed.values as Parsed['values'];
  const help = values.help === true;
  delete values.help;
  for (const [name, f] of Object.entries(spec.flags)) {
    if (values[name] === undefined && f.default !== undefined) values[name] = f.default;
  }
  const max = spec.maxPositionals ?? 0;
  if (!help && parsed.positionals.length > max) {
    throw new UsageError(`eksidp ${spec.name}: unexpected argument '${parsed.positionals[max]}'. See 'eksidp ${spec.name} --help'.`);
  }
  const ordered = (parsed.tokens ?? []).flatMap((t) => (t.kind === 'option' ? [{ name: t.name, ...(t.value !== undefined ? { value: t.value } : {}) }] : []));
  return { values, positionals: parsed.positionals, options: ordered, help };
}

function flagSyntax(name: string, f: FlagSpec): string {
  if (f.type === 'boolean') return f.negatable ? `--[no-]${name}` : `--${name}`;
  return `--${name} ${f.valueName ?? 'VALUE'}`;
}

/**
 * The usage line, built from the flag specs (so it cannot leave a flag out or show one that does not
 * exist): `eksidp plan [--stack NAME | --dir DIR] [--out FILE] ... [--target ADDR]...`.
 */
export function usageLine(spec: CommandSpec): string {
  const parts = [`eksidp ${spec.name}`, ...(spec.args ? [spec.args] : [])];
  const done = new Set<string>();
  for (const [name, f] of Object.entries(spec.flags)) {
    if (done.has(name)) continue;
    if (f.collapse) {
      for (const [n, g] of Object.entries(spec.flags)) if (g.collapse === f.collapse) done.add(n);
      parts.push(`[${f.collapse}]`);
      continue;
    }
    const members = f.group ? Object.entries(spec.flags).filter(([, g]) => g.group === f.group) : [[name, f] as const];
    for (const [n] of members) done.add(n);
    const text = members.map(([n, g]) => flagSyntax(n, g)).join(' | ');
    parts.push(`${f.required ? text : `[${text}]`}${f.multiple ? '...' : ''}`);
  }
  return parts.join(' ');
}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${usageLine(spec)}`, '', spec.summary, '', 'Flags:'];
  const entries = Object.entries(spec.flags).map(([name, f]) => {
    const left = `  ${f.short ? `-${f.short}, ` : ''}${flagSyntax(name, f)}`;
    return [left, f.description + (f.default !== undefined && f.type === 'string' ? ` (default ${f.default})` : '')] as const;
  });
  entries.push(['  -h, --help', 'Show this help and exit.']);
  const width = Math.max(...entries.map(([l]) => l.length)) + 2;
  for (const [l, d] of entries) lines.push(l.padEnd(width) + d);
  return lines.join('\n') + '\n';
}

/** Reads a string flag as a number within bounds, or throws a usage error naming the flag. */
export function numberFlag(spec: CommandSpec, values: Parsed['values'], name: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const bad = typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
  if (bad) {
    const range = opts.min !== undefined && opts.max !== undefined ? ` between ${opts.min} and ${opts.max}` : opts.min !== undefined ? ` of at least ${opts.min}` : '';
    throw new UsageError(`eksidp ${spec.name}: --${name} must be ${opts.integer ? 'an integer' : 'a number'}${range}, got '${String(raw)}'.`);
  }
  return n;
}

export function stringFlag(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
