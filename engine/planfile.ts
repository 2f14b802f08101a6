import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../lib/files';
import { parseConfig, type StackConfig } from './config';
import type { Plan } from './plan';
import { isUnknown, UNKNOWN, type Diagnostic, type ObjectValue, type Value } from './protocol';
import type { StackLocation } from './stack-files';
import { EngineError, EXACT, isObject, valuesEqual } from './util';
import { parseVariableDecls, resolveVariables, type VariableInputs } from './variables';

/**
 * Saved plans: eksidp's own JSON format, documented in engine/PLANFILE.md. A plan file holds state
 * values and dictates changes (credential-equivalent): written 0600 through lib/files.ts, so a
 * symlink planted at its path is replaced, never written through or chmod-ed.
 */

export const PLANFILE_FORMAT = 'eksidp-plan';
/**
 * 3: the plan carries its configuration (the stack's JSON as read, and the input variables' values),
 * so apply needs no stack file and a re-synth after planning does not invalidate it, as Terraform's
 * plan files carry theirs. 2: changes hold no display text (version 1 saved each change's rendered
 * notes and identity-preview lines); the plan keeps the data views derive them from (`metadata`,
 * `analysisOptions`).
 */
export const PLANFILE_VERSION = 3;

export type PlanFile = {
  format: typeof PLANFILE_FORMAT;
  format_version: number;
  eksidp_version: string;
  stack: { name: string; file: string };
  config_hash: string;
  /**
   * What apply evaluates instead of the stack file: the configuration as read (`//` keys kept) and
   * every input variable's value. Provider blocks are in it, with any credentials written there.
   */
  configuration: { json: Record<string, unknown>; variables: Record<string, Value> };
  state: { path: string; lineage: string; serial: number };
  plan: Plan;
};

export function writePlanFile(file: string, plan: Plan, config: StackConfig, version: string): void {
  const body: PlanFile = {
    format: PLANFILE_FORMAT,
    format_version: PLANFILE_VERSION,
    eksidp_version: version,
    stack: { name: config.stack.name, file: config.stack.file },
    config_hash: plan.configHash,
    configuration: { json: config.source, variables: config.variables },
    state: { path: plan.statePath, lineage: plan.prior.lineage, serial: plan.prior.serial },
    plan,
  };
  // The in-memory unknown marker becomes its wire form here, and nowhere else.
  const text = JSON.stringify(body, (_key, v: unknown) => (isUnknown(v) ? { [UNKNOWN_KEY]: true } : v), 2);
  writeFileAtomicSync(path.resolve(file), text + '\n', { mode: 0o600 });
}

/** In a plan file, a value unknown until apply is `{"__unknown__": true}`. */
const UNKNOWN_KEY = '__unknown__';

function isUnknownWire(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === UNKNOWN_KEY && (v as Record<string, unknown>)[UNKNOWN_KEY] === true;
}

/** Planned values as read from a file: each wire-form unknown becomes the engine's one marker. */
function reviveUnknowns(v: Value): Value {
  if (isUnknownWire(v)) return UNKNOWN;
  if (Array.isArray(v)) return v.map(reviveUnknowns);
  if (typeof v === 'object' && v !== null) {
    const out: ObjectValue = {};
    for (const [k, x] of Object.entries(v)) out[k] = reviveUnknowns(x);
    return out;
  }
  return v;
}

export function readPlanFile(file: string): PlanFile {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EngineError(`cannot read plan file ${file}: ${(e as Error).message}`);
  }
  const p = json as Partial<PlanFile>;
  if (p?.format !== PLANFILE_FORMAT) throw new EngineError(`${file} is not an eksidp plan file`);
  if (typeof p.format_version === 'number' && p.format_version < PLANFILE_VERSION) {
    throw new EngineError(`${file} was saved by an older eksidp (plan format version ${p.format_version}; this eksidp reads version ${PLANFILE_VERSION}): run eksidp plan again to make a new plan file`);
  }
  if (p.format_version !== PLANFILE_VERSION) throw new EngineError(`${file} has plan format version ${String(p.format_version)}; this eksidp reads version ${PLANFILE_VERSION}`);
  const plan = p.plan;
  if (!plan || !Array.isArray(plan.changes) || !Array.isArray(plan.outputChanges) || !plan.priorState || !plan.prevRunState || !isObject(plan.metadata) || !isObject(plan.analysisOptions) || !p.state || !p.stack
    || !isObject(p.configuration) || !isObject(p.configuration.json) || !isObject(p.configuration.variables)) {
    throw new EngineError(`${file} is an incomplete plan file`);
  }
  // Only planned values hold unknowns (states never do).
  for (const c of plan.changes) if (c.after) c.after = reviveUnknowns(c.after) as ObjectValue;
  for (const c of plan.outputChanges) c.after = reviveUnknowns(c.after);
  return p as PlanFile;
}

/**
 * The configuration a saved plan was made from, as apply evaluates it: the stack's JSON and variable
 * values it carries (the stack file may have been synthesized again since). Its hash must be the
 * plan's: anything else is a damaged or edited file.
 */
export function savedPlanConfig(pf: PlanFile, file: string): StackConfig {
  const loc: StackLocation = { name: pf.stack.name, dir: path.dirname(pf.stack.file), file: pf.stack.file };
  const config = parseConfig(pf.configuration.json, loc, { args: [], env: {}, cwd: loc.dir, dir: loc.dir, saved: pf.configuration.variables });
  if (config.hash !== pf.config_hash || config.hash !== pf.plan.configHash) throw new EngineError(`${file} is damaged: the configuration it carries does not match the configuration it was planned from; run eksidp plan again`);
  return config;
}

/** Refuses a saved plan made for another stack or state, or whose state moved on since it was made. */
export function checkPlanFile(pf: PlanFile, current: { stackName: string; statePath: string; lineage: string; serial: number; stateExists: boolean }): void {
  if (pf.stack.name !== current.stackName) throw new EngineError(`the saved plan is for stack '${pf.stack.name}', not '${current.stackName}'`);
  if (path.resolve(pf.state.path) !== path.resolve(current.statePath)) throw new EngineError(`the saved plan is for state ${pf.state.path}, not ${current.statePath}`);
  if (current.stateExists && (pf.state.lineage !== current.lineage || pf.state.serial !== current.serial)) {
    throw new EngineError(`Saved plan is stale: the state changed since the plan was made (plan: lineage ${pf.state.lineage} serial ${pf.state.serial}; now: lineage ${current.lineage} serial ${current.serial}). Run plan again.`);
  }
  if (!current.stateExists && pf.state.serial !== 0) throw new EngineError('Saved plan is stale: the state it was made from no longer exists. Run plan again.');
}

/**
 * Terraform 1.11 (backend/local backend_apply.go) on variables given when applying a saved plan: a
 * --var or --var-file value that differs from the plan's is an error, a TF_VAR_ one a warning (the
 * plan's value is used), tfvars files the stack's folder loads are not read; equal values are fine.
 */
export function savedVariableConflicts(pf: PlanFile, inputs: VariableInputs): Diagnostic[] {
  const diags: Diagnostic[] = [];
  const decls = parseVariableDecls(pf.configuration.json.variable as Value | undefined, diags);
  const given = resolveVariables(decls, { ...inputs, autoFiles: false, tolerateMissing: true }, diags);
  const saved = pf.configuration.variables;
  for (const [name, from] of Object.entries(given.sources)) {
    if (!(name in saved) || !(name in given.values) || valuesEqual(given.values[name]!, saved[name]!, EXACT)) continue;
    const detail = `the saved plan specifies ${JSON.stringify(saved[name])} as the value whereas during apply the value ${JSON.stringify(given.values[name])} was set by ${from}`;
    if (from.startsWith('TF_VAR_')) diags.push({ severity: 'warning', summary: `Ignoring variable when applying a saved plan: the variable ${name} cannot be overridden when applying a saved plan file, because a saved plan includes the variable values that were set when it was created; ${detail}` });
    else diags.push({ severity: 'error', summary: `Can't change variable when applying a saved plan: the variable ${name} cannot be set using --var and --var-file when applying a saved plan file, because a saved plan includes the variable values that were set when it was created; ${detail}`, address: `var.${name}` });
  }
  return diags;
}
