import fs from 'node:fs';
import path from 'node:path';
import type { CtyType, Diagnostic, Value } from './protocol';
import { convertTo, DYNAMIC, parseTypeConstraint, friendlyName } from './types';
import { error, isObject } from './util';

/**
 * Input variables as Terraform 1.11 sets them: declared with an optional `type` and `default`, given
 * values (lowest precedence first) by the default, `TF_VAR_name`, `terraform.tfvars`,
 * `terraform.tfvars.json`, `*.auto.tfvars[.json]` in the stack's folder (lexical order), then
 * `--var NAME=VALUE` and `--var-file FILE` in command-line order. Values are converted to the
 * declared type; a variable left without a value is an error naming it (there is no prompt).
 */

export type VariableDecl = { name: string; type?: CtyType; default?: Value; description?: string; sensitive?: boolean };

/** What the command line gives, in order: `--var NAME=VALUE` and `--var-file FILE`. */
export type VariableArg = { kind: 'var'; text: string } | { kind: 'file'; file: string };

export type VariableInputs = {
  args: VariableArg[];
  /** The environment (TF_VAR_name). */
  env: NodeJS.ProcessEnv;
  /** Where `--var-file` paths are relative to. */
  cwd: string;
  /** The stack's folder, where terraform.tfvars and *.auto.tfvars are loaded from. */
  dir: string;
  /** Commands that never evaluate the stack (state, force-unlock, show) leave unset variables unset. */
  tolerateMissing?: boolean;
  /**
   * The values a saved plan was made with (planfile.ts): used as given, and nothing else is read (no
   * TF_VAR_, no tfvars files), as Terraform applies a saved plan with the values it holds.
   */
  saved?: Record<string, Value>;
  /** false: terraform.tfvars and *.auto.tfvars are not loaded (a saved plan's apply compares only what the user gave). */
  autoFiles?: false;
};

const DECL_KEYS = new Set(['type', 'default', 'description', 'nullable', 'sensitive']);
export const RESERVED_VARIABLE_NAMES = ['source', 'version', 'providers', 'count', 'for_each', 'lifecycle', 'depends_on', 'locals'];

/** The `variable` blocks of a stripped Terraform JSON document. */
export function parseVariableDecls(raw: Value | undefined, diags: Diagnostic[]): VariableDecl[] {
  const out: VariableDecl[] = [];
  for (const [name, v] of Object.entries(isObject(raw) ? raw : {})) {
    const address = `var.${name}`;
    // Terraform reserves these names for module arguments and meta-arguments.
    if (RESERVED_VARIABLE_NAMES.includes(name)) { diags.push(error(`Invalid variable name: the name "${name}" is reserved`, address)); continue; }
    const block = Array.isArray(v) ? v[0] : v;
    if (block !== undefined && block !== null && !isObject(block)) { diags.push(error('the variable body must be an object', address)); continue; }
    const body = isObject(block) ? block : {};
    let ok = true;
    for (const k of Object.keys(body)) {
      if (!DECL_KEYS.has(k)) {
        diags.push(error(`"${k}" in a variable block is not supported`, address, [k]));
        ok = false;
      }
    }
    if (body.nullable !== undefined && body.nullable !== true) { diags.push(error('nullable = false is not supported', address, ['nullable'])); ok = false; }
    if (body.sensitive !== undefined && typeof body.sensitive !== 'boolean') { diags.push(error('sensitive must be true or false', address, ['sensitive'])); ok = false; }
    let type: CtyType | undefined;
    if (body.type !== undefined && body.type !== null) {
      try {
        if (typeof body.type !== 'string') throw new Error('type must be a type constraint string such as "list(string)"');
        type = parseTypeConstraint(body.type);
      } catch (e) {
        diags.push(error((e as Error).message, address, ['type']));
        ok = false;
      }
    }
    if (!ok) continue;
    out.push({ name, ...(type !== undefined ? { type } : {}), ...('default' in body ? { default: body.default ?? null } : {}), ...(typeof body.description === 'string' ? { description: body.description } : {}), ...(body.sensitive === true ? { sensitive: true } : {}) });
  }
  return out;
}

/** A parse error's text for a sensitive variable's value says nothing of the value (its excerpt would show it). */
function hideIfSensitive(d: VariableDecl, message: string): string {
  return d.sensitive ? 'the value cannot be parsed (details hidden: the variable is sensitive)' : message;
}

/** A value given as text (TF_VAR_, --var): taken literally for a primitive type, parsed as an expression otherwise. */
function fromText(text: string, type: CtyType | undefined, where: string): Value {
  if (type === 'string' || type === 'number' || type === 'bool') return text;
  if (type === undefined) {
    // Without a type constraint, Terraform takes the text as a string.
    return text;
  }
  return parseHclValue(text, where);
}

/** Terraform's value for each variable, with its exact type; problems go to `diags`. */
export function resolveVariables(decls: readonly VariableDecl[], inputs: VariableInputs | undefined, diags: Diagnostic[]): { values: Record<string, Value>; types: Record<string, CtyType>; sources: Record<string, string>; sensitive: string[] } {
  const declared = new Map(decls.map((d) => [d.name, d]));
  const given = new Map<string, { value: Value; from: string }>();
  const set = (name: string, value: Value, from: string, strict: boolean) => {
    if (!declared.has(name)) {
      if (strict) diags.push(error(`Value for undeclared variable: a variable named "${name}" was assigned on the command line, but the stack does not declare it`, `var.${name}`));
      else diags.push({ severity: 'warning', summary: `Value for undeclared variable: ${from} sets "${name}", which the stack does not declare` });
      return;
    }
    given.set(name, { value, from });
  };
  // Terraform warns (never fails) about values in files for variables the stack does not declare.
  const loadFile = (file: string) => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      diags.push(error(`Failed to read variables file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`));
      return;
    }
    let values: Record<string, Value>;
    try {
      if (file.endsWith('.json')) {
        const json = JSON.parse(text) as unknown;
        if (!isObject(json)) throw new Error('the root must be an object of variable values');
        values = json as Record<string, Value>;
      } else values = parseTfvars(text);
    } catch (e) {
      diags.push(error(`Invalid variables file ${file}: ${(e as Error).message}`));
      return;
    }
    for (const [k, v] of Object.entries(values)) set(k, v, file, false);
  };
  if (inputs?.saved) {
    for (const [k, v] of Object.entries(inputs.saved)) set(k, v, 'the saved plan', true);
  } else if (inputs) {
    for (const [k, v] of Object.entries(inputs.env)) {
      if (k.startsWith('TF_VAR_') && v !== undefined && declared.has(k.slice(7))) {
        const name = k.slice(7);
        try {
          given.set(name, { value: fromText(v, declared.get(name)!.type, k), from: k });
        } catch (e) {
          diags.push(error(`Invalid value for input variable from ${k}: ${hideIfSensitive(declared.get(name)!, (e as Error).message)}`, `var.${name}`));
        }
      }
    }
    for (const f of inputs.autoFiles === false ? [] : ['terraform.tfvars', 'terraform.tfvars.json']) {
      const file = path.join(inputs.dir, f);
      if (fs.existsSync(file)) loadFile(file);
    }
    let auto: string[] = [];
    try {
      if (inputs.autoFiles !== false) auto = fs.readdirSync(inputs.dir).filter((f) => f.endsWith('.auto.tfvars') || f.endsWith('.auto.tfvars.json')).sort();
    } catch {
      // no folder: nothing to load
    }
    for (const f of auto) loadFile(path.join(inputs.dir, f));
    for (const a of inputs.args) {
      if (a.kind === 'file') { loadFile(path.resolve(inputs.cwd, a.file)); continue; }
      const eq = a.text.indexOf('=');
      if (eq <= 0) { diags.push(error(`Invalid --var option "${a.text}": the given value is not in the form NAME=VALUE`)); continue; }
      const name = a.text.slice(0, eq).trim();
      const decl = declared.get(name);
      if (!decl) { set(name, null, '--var', true); continue; }
      try {
        given.set(name, { value: fromText(a.text.slice(eq + 1), decl.type, '--var'), from: '--var' });
      } catch (e) {
        diags.push(error(`Invalid value for input variable from --var: ${hideIfSensitive(decl, (e as Error).message)}`, `var.${name}`));
      }
    }
  }
  const values: Record<string, Value> = {};
  const types: Record<string, CtyType> = {};
  const sources: Record<string, string> = {};
  for (const [name, g] of given) sources[name] = g.from;
  for (const d of decls) {
    const g = given.get(d.name);
    if (g === undefined && !('default' in d)) {
      if (!inputs?.tolerateMissing) diags.push(error(`No value for required variable: set it with --var ${d.name}=VALUE, a --var-file, TF_VAR_${d.name} or a terraform.tfvars file (eksidp never prompts)`, `var.${d.name}`));
      continue;
    }
    const raw = g ? g.value : d.default!;
    const converted = convertTo(d.type ?? DYNAMIC, raw);
    if ('error' in converted) {
      // A sensitive variable's value never reaches a message (cty's conversion errors quote it).
      const why = d.sensitive ? `the value is not valid for type ${friendlyName(d.type ?? DYNAMIC)} (details hidden: the variable is sensitive)` : converted.error;
      diags.push(error(g ? `Invalid value for input variable (from ${g.from}): ${why}` : `Invalid default value for variable: ${why}`, `var.${d.name}`, g ? undefined : ['default']));
      continue;
    }
    values[d.name] = converted.value;
    types[d.name] = d.type !== undefined && raw === null ? d.type : converted.type;
  }
  return { values, types, sources, sensitive: decls.filter((d) => d.sensitive).map((d) => d.name).sort() };
}

/**
 * The literal subset of HCL that .tfvars files and complex `--var` values hold: strings (with HCL's
 * escapes; an interpolation is refused), numbers, bools, null, `[...]` and `{ key = value }`, with
 * `#`, `//` and `/* *\/` comments.
 */
class HclReader {
  i = 0;
  constructor(readonly s: string, readonly where: string) {}
  fail(msg: string): never {
    const line = this.s.slice(0, this.i).split('\n').length;
    throw new Error(`${msg} (line ${line})`);
  }
  space(newlines = true): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) { this.i++; continue; }
      if (c === '#' || (c === '/' && this.s[this.i + 1] === '/')) { while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++; continue; }
      if (c === '/' && this.s[this.i + 1] === '*') {
        const end = this.s.indexOf('*/', this.i + 2);
        if (end < 0) this.fail('unterminated comment');
        this.i = end + 2;
        continue;
      }
      return;
    }
  }
  ident(): string | undefined {
    const m = /^[A-Za-z_][\w-]*/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
  string(): string {
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '"') { this.i++; return out; }
      if (c === '\n') this.fail('unterminated string');
      if ((c === '$' || c === '%') && this.s[this.i + 1] === '{') {
        if (this.s[this.i + 2] === undefined) this.fail('unterminated template');
        this.fail('interpolations and template directives are not supported in variable values');
      }
      if (c === '\\') {
        const n = this.s[this.i + 1];
        const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
        if (n !== undefined && n in map) { out += map[n]; this.i += 2; continue; }
        if (n === 'u' || n === 'U') {
          const len = n === 'u' ? 4 : 8;
          const hex = this.s.slice(this.i + 2, this.i + 2 + len);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) this.fail('invalid unicode escape');
          out += String.fromCodePoint(parseInt(hex, 16));
          this.i += 2 + len;
          continue;
        }
        this.fail(`invalid escape \\${n ?? ''}`);
      }
      out += c;
      this.i++;
    }
    return this.fail('unterminated string');
  }
  value(): Value {
    this.space();
    const c = this.s[this.i];
    if (c === '"') return this.string();
    if (c === '[') {
      this.i++;
      const items: Value[] = [];
      for (;;) {
        this.space();
        if (this.s[this.i] === ']') { this.i++; return items; }
        items.push(this.value());
        this.space();
        if (this.s[this.i] === ',') { this.i++; continue; }
        if (this.s[this.i] !== ']') this.fail('expected , or ] in a list');
      }
    }
    if (c === '{') {
      this.i++;
      const obj: Record<string, Value> = {};
      for (;;) {
        this.space();
        if (this.s[this.i] === '}') { this.i++; return obj; }
        const key = this.s[this.i] === '"' ? this.string() : this.ident();
        if (key === undefined) return this.fail('expected an attribute name');
        this.space(false);
        if (this.s[this.i] !== '=' && this.s[this.i] !== ':') this.fail(`expected = after ${key}`);
        this.i++;
        obj[key] = this.value();
        this.space(false);
        if (this.s[this.i] === ',') this.i++;
        this.space();
      }
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i));
    if (num) { this.i += num[0].length; return Number(num[0]); }
    const word = this.ident();
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    return this.fail(word ? `unsupported expression "${word}": only literal values are supported` : 'expected a value');
  }
}

export function parseHclValue(text: string, where: string): Value {
  const r = new HclReader(text, where);
  const v = r.value();
  r.space();
  if (r.i !== text.length) r.fail('unexpected text after the value');
  return v;
}

/** A .tfvars file: `name = value` lines. */
export function parseTfvars(text: string): Record<string, Value> {
  const r = new HclReader(text, 'tfvars');
  const out: Record<string, Value> = {};
  for (;;) {
    r.space();
    if (r.i >= text.length) return out;
    const name = r.ident();
    if (!name) return r.fail('expected a variable name');
    r.space(false);
    if (text[r.i] !== '=') r.fail(`expected = after ${name}`);
    r.i++;
    if (name in out) r.fail(`duplicate value for "${name}"`);
    out[name] = r.value();
    r.space(false);
    if (r.i < text.length && text[r.i] !== '\n' && text[r.i] !== '#' && text[r.i] !== '/') r.fail('expected a new line after the value');
  }
}
