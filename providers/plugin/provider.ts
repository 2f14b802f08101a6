import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type {
  ApplyResourceChangeRequest, ApplyResourceChangeResponse, BlockSchema, ConfigureRequest, CtyType, ConfigureResponse, Diagnostic, ImportResourceStateRequest,
  ImportResourceStateResponse, ObjectValue, Path, PlanResourceChangeRequest, PlanResourceChangeResponse, Provider, ProviderSchema, ReadDataSourceRequest,
  ReadDataSourceResponse, ReadResourceRequest, ReadResourceResponse, ResourceSchema, UpgradeResourceStateRequest, UpgradeResourceStateResponse, ValidateConfigurationResponse,
  ValidateResourceConfigRequest, ValidateResourceConfigResponse, Value,
} from '../../engine/protocol';
import { formatPath, isUnknown, schemaEntries } from '../../engine/protocol';
import { containsUnknown, EXACT, isObject, valuesEqual, type Equality } from '../../engine/util';
import { writeOnlyPaths } from '../../engine/schema';
import { writeFileAtomicSync } from '../../lib/files';
import { PluginError, PluginProcess } from './bridge';
import { fromMsgpack, toMsgpack } from './cty';
import { cacheDir, type FoundPlugin } from './find';
import type { PluginAttribute, PluginSchema, ProtoDiagnostic, ProtoStep } from './schema';
import { binaryKey, lazyFromSchema, readSchemaCache, schemaCacheFile, writeSchemaCache, type LazySchema } from './schema-cache';
import { mark } from './timing';

/**
 * A provider served by a Terraform provider plugin over tfplugin5, with the rules Terraform core
 * applies around each call (internal/terraform/node_resource_*, internal/plans/objchange):
 * - values are msgpack, complete objects by the schema (cty.ts);
 * - write-only attributes: the configured value goes to the provider in `config` (validate, plan,
 *   apply) and in plan's proposed state; anything the provider returns must hold them null, or the
 *   step fails (Terraform's ephemeral.ValidateWriteOnlyAttributes), so they never reach a plan or state;
 * - ValidateProviderConfig before Configure, its answer cached by binary and configuration (the AWS
 *   provider takes seconds over an `endpoints` block);
 * - UpgradeResourceState on every state load (the engine asks, with the stored schema version);
 *   ImportResourceState then ReadResource;
 * - PlanResourceChange for destroys too when the plugin asks for it (plan_destroy);
 * - `requires_replace` only on updates, and only paths whose value changes (write-only ones: always, no values to compare);
 * - plan validity (configured values kept) and apply consistency (known planned values kept, no
 *   unknowns left) are checked except for legacy-SDK resources, which Terraform also lets through;
 * - private data goes read → state, plan → apply → state, as state's base64 `private` (the engine carries it).
 * Failures of the plugin process itself are errors naming the provider and the binary.
 */

export type PluginProviderOptions = {
  /** How messages name it: `registry.terraform.io/hashicorp/aws`. */
  source: string;
  /** Finds the binary (throws PluginNotFound with install instructions). */
  find: () => FoundPlugin;
  env: NodeJS.ProcessEnv;
  /** Warnings found while locating the plugin (no lock file), shown once. */
  warn?: (message: string) => void;
};

const TERRAFORM_VERSION = '1.11.0';
const CLIENT_CAPABILITIES = { deferral_allowed: false, write_only_attributes_allowed: true };
const START_TIMEOUT_MS = 60_000;
const EMPTY = new Uint8Array(0);
/** Private data as state keeps it (base64) and as the wire carries it (bytes); none is ''/undefined and empty bytes. */
const privateBytes = (p: string | undefined): Uint8Array => (p ? Buffer.from(p, 'base64') : EMPTY);
const privateText = (b: Uint8Array | undefined): string | undefined => (b && b.length ? Buffer.from(b).toString('base64') : undefined);

type ProtoDV = { msgpack: Uint8Array; json: Uint8Array } | null;
type WithDiags = { diagnostics: ProtoDiagnostic[] };

function toPath(steps: ProtoStep[] | undefined): Path {
  return (steps ?? []).map((s) => (s.selector === 'element_key_int' || (s.selector === undefined && s.element_key_int !== undefined && !s.attribute_name && !s.element_key_string) ? Number(s.element_key_int) : (s.attribute_name || s.element_key_string || '')));
}

function valueAt(v: Value | undefined, p: Path): Value | undefined {
  let cur = v;
  for (const seg of p) {
    if (cur === null || cur === undefined || isUnknown(cur)) return cur;
    cur = typeof seg === 'number' ? (Array.isArray(cur) ? cur[seg] : undefined) : isObject(cur) ? cur[seg] : undefined;
  }
  return cur;
}

const SET: Equality = Object.freeze({ zeroValues: false, set: true });
/** Terraform's equality: exact, except that a set's elements have no order. */
const ruleFor = (t: CtyType): Equality => (Array.isArray(t) && t[0] === 'set' ? SET : EXACT);

/** Data sources: Terraform sets no rule (a data source has no write-only attributes); nulled so nothing could keep one. */
function stripWriteOnly(b: BlockSchema, v: ObjectValue | null): ObjectValue | null {
  if (!v || isUnknown(v)) return v;
  for (const [name, a] of schemaEntries(b.attributes)) if ((a as PluginAttribute).write_only) v[name] = null;
  for (const [name, bt] of schemaEntries(b.block_types)) {
    const x = v[name];
    if (Array.isArray(x)) x.forEach((y) => isObject(y) && stripWriteOnly(bt.block, y));
    else if (isObject(x) && !isUnknown(x)) {
      if (bt.nesting_mode === 'map') Object.values(x).forEach((y) => isObject(y) && stripWriteOnly(bt.block, y));
      else stripWriteOnly(bt.block, x);
    }
  }
  return v;
}

/** Those holding a non-null value: what a provider must never return. */
const writeOnlyValues = (b: BlockSchema, v: Value | undefined): Path[] => writeOnlyPaths(b, v).filter((p) => (valueAt(v, p) ?? null) !== null);

const isEmptyCollection = (v: Value | undefined): boolean => (Array.isArray(v) && v.length === 0) || (isObject(v) && !isUnknown(v) && Object.keys(v).length === 0);

/**
 * Legacy-SDK resources read an unset collection back as empty ([] or {}) where apply recorded null, or
 * the other way round; to the SDK the two are the same value. Keeping the stored form avoids a false
 * "changed outside" on every run (Terraform hides it unless it feeds a change; `terraform plan
 * -refresh-only` shows it). Only for types whose plan or apply said legacy_type_system.
 */
function keepStoredEmpties(b: BlockSchema, prior: ObjectValue, read: ObjectValue): ObjectValue {
  const out: ObjectValue = { ...read };
  for (const [name] of schemaEntries(b.attributes)) {
    const p = prior[name] ?? null;
    const r = read[name] ?? null;
    if ((p === null && isEmptyCollection(r)) || (r === null && isEmptyCollection(p))) out[name] = p;
  }
  for (const [name, bt] of schemaEntries(b.block_types)) {
    const p = prior[name];
    const r = read[name];
    if (Array.isArray(p) && Array.isArray(r) && p.length === r.length) {
      out[name] = r.map((x, i) => (isObject(x) && isObject(p[i]) ? keepStoredEmpties(bt.block, p[i] as ObjectValue, x) : x));
    } else if (bt.nesting_mode === 'single' && isObject(p) && isObject(r) && !isUnknown(r)) out[name] = keepStoredEmpties(bt.block, p, r);
  }
  return out;
}

/**
 * objchange.AssertPlanValid, for top-level attributes: a configured value must be planned as
 * configured (a provider may only fill in what the configuration leaves null and computed).
 */
function planProblems(b: BlockSchema, config: ObjectValue, planned: ObjectValue): Path[] {
  const out: Path[] = [];
  for (const [name, a] of schemaEntries(b.attributes)) {
    const c = config[name] ?? null;
    if (c === null && a.computed) continue;
    if (isUnknown(c) || containsUnknown(c)) continue;
    if (!valuesEqual(c, planned[name] ?? null, ruleFor(a.type)) && !(a as PluginAttribute).write_only) out.push([name]);
  }
  return out;
}

/** objchange.AssertObjectCompatible, for top-level attributes: known planned values must be kept by apply. */
function applyProblems(b: BlockSchema, planned: ObjectValue, actual: ObjectValue): Path[] {
  const out: Path[] = [];
  for (const [name, a] of schemaEntries(b.attributes)) {
    const p = planned[name] ?? null;
    if (containsUnknown(p)) continue;
    if (!valuesEqual(p, actual[name] ?? null, ruleFor(a.type))) out.push([name]);
  }
  return out;
}

export class PluginProvider implements Provider {
  private proc: PluginProcess | undefined;
  private startFailure: PluginError | undefined;
  private found: FoundPlugin | undefined;
  private lazy: LazySchema | undefined;
  private env: NodeJS.ProcessEnv;
  private configured = false;
  /** Types whose plan or apply reported legacy_type_system (remembered beside the schema cache). */
  private legacy: Set<string> | undefined;

  constructor(private readonly opts: PluginProviderOptions) {
    this.env = opts.env;
  }

  private label(): string {
    return `provider ${this.opts.source}${this.found ? ` (plugin ${this.found.binary})` : ''}`;
  }

  private plugin(): FoundPlugin {
    if (!this.found) {
      mark('find plugin');
      this.found = this.opts.find();
      mark(`found ${this.found.binary}${this.found.lockChecked ? ' (lock file hash checked)' : ''}`);
      for (const w of this.found.warnings) this.opts.warn?.(w);
    }
    return this.found;
  }

  /**
   * Spawns the plugin now, so that its own start (~0.35 s for hashicorp/aws) overlaps what the run
   * does before it needs the plugin. Not finding it is reported where it is needed, with the types
   * that need it.
   */
  prestart(): void {
    if (this.proc || this.startFailure) return;
    try {
      this.spawn();
    } catch { /* reported at first use */ }
  }

  private spawn(): PluginProcess {
    this.proc ??= new PluginProcess(this.opts.source, { binary: this.plugin().binary, env: this.env, timeoutMs: START_TIMEOUT_MS });
    return this.proc;
  }

  private startFailed(e: unknown): PluginError {
    if (!this.startFailure) {
      void this.proc?.shutdown();
      this.startFailure = new PluginError(`${this.label()} failed to start: ${(e as Error).message}. Reinstall it with \`terraform init\` in the stack's folder`);
    }
    return this.startFailure;
  }

  private running(proc: PluginProcess): PluginProcess {
    if (proc.exit) throw new PluginError(`${this.label()}: the plugin process exited (${proc.exit.signal ?? `code ${proc.exit.code}`})`);
    return proc;
  }

  /** The started plugin, waiting for its handshake by blocking (for the engine's synchronous verbs). */
  private process(): PluginProcess {
    if (this.startFailure) throw this.startFailure;
    const proc = this.spawn();
    try {
      proc.startedSync();
    } catch (e) {
      throw this.startFailed(e);
    }
    return this.running(proc);
  }

  private async processAsync(): Promise<PluginProcess> {
    if (this.startFailure) throw this.startFailure;
    const proc = this.spawn();
    try {
      await proc.started();
    } catch (e) {
      throw this.startFailed(e);
    }
    return this.running(proc);
  }

  /** The schema, from the on-disk cache when it holds this binary's, else from the plugin (then cached). */
  schema(): LazySchema {
    if (this.lazy) return this.lazy;
    const found = this.plugin();
    const file = schemaCacheFile(this.env, binaryKey(found.binary));
    mark('schema cache read');
    const cached = readSchemaCache(file);
    mark(cached ? 'schema cache hit' : 'schema cache miss');
    if (cached) return (this.lazy = cached);
    const s = JSON.parse(this.process().callSync<string>({ op: 'schema' })) as PluginSchema;
    if (s.errors.length) throw new PluginError(`${this.label()}: GetSchema failed: ${s.errors.join('; ')}`);
    if (s.capabilities.schemaOptional) writeSchemaCache(file, s);
    return (this.lazy = lazyFromSchema(s));
  }

  private legacyFile(): string {
    return schemaCacheFile(this.env, binaryKey(this.plugin().binary)).replace(/\.json$/, '.legacy.json');
  }

  private legacyTypes(): Set<string> {
    if (!this.legacy) {
      try {
        this.legacy = new Set(JSON.parse(fs.readFileSync(this.legacyFile(), 'utf8')) as string[]);
      } catch {
        this.legacy = new Set();
      }
    }
    return this.legacy;
  }

  private noteLegacy(type: string, legacy: boolean): void {
    const set = this.legacyTypes();
    if (!legacy || set.has(type)) return;
    set.add(type);
    try {
      fs.mkdirSync(path.dirname(this.legacyFile()), { recursive: true });
      writeFileAtomicSync(this.legacyFile(), JSON.stringify([...set].sort()), { mode: 0o644 });
    } catch { /* a cache: the next run learns it again */ }
  }

  resourceSchema(type: string): ResourceSchema | undefined {
    return this.schema().resource(type);
  }

  dataSourceSchema(type: string): ResourceSchema | undefined {
    return this.schema().dataSource(type);
  }

  /** The whole schema (every type parsed: for tools, not for runs). */
  getSchema(): ProviderSchema {
    const s = this.schema();
    return {
      provider: s.provider,
      resources: Object.fromEntries(s.resourceTypes.map((t) => [t, s.resource(t)!])),
      dataSources: Object.fromEntries(s.dataSourceTypes.map((t) => [t, s.dataSource(t)!])),
    };
  }

  private diags(list: ProtoDiagnostic[] | undefined, address?: string): Diagnostic[] {
    return (list ?? []).map((d) => ({
      severity: d.severity === 'WARNING' ? 'warning' : 'error',
      summary: d.summary,
      ...(d.detail ? { detail: d.detail } : {}),
      ...(address ? { address } : {}),
      ...(d.attribute?.steps?.length ? { attribute: toPath(d.attribute.steps) } : {}),
    }));
  }

  private failure(e: unknown, address?: string): Diagnostic {
    const msg = (e as Error).message;
    return { severity: 'error', summary: msg.startsWith('provider ') ? msg : `${this.label()}: ${msg}`, ...(address ? { address } : {}) };
  }

  /**
   * Terraform 1.11 refuses a provider's answer that holds a write-only attribute non-null, at every
   * step that returns an object (planning, apply, refresh, upgrade, import), with these summaries and
   * this detail: a write-only value must never be stored in a plan or state. The value is not quoted.
   */
  private writeOnlyProblems(b: BlockSchema, v: Value | undefined, summary: string, when: string, address: string | undefined, label = address): Diagnostic[] {
    return writeOnlyValues(b, v).map((p) => ({
      severity: 'error' as const,
      summary,
      detail: `Provider "${this.opts.source}" returned a value for the write-only attribute "${label}.${formatPath(p)}" ${when}. Write-only attributes cannot be read back from the provider. This is a bug in the provider, which should be reported in the provider's own issue tracker`,
      ...(address ? { address } : {}),
      attribute: p,
    }));
  }

  private callSync<T extends WithDiags>(method: string, request: unknown): T {
    return this.process().callSync<T>({ op: 'call', method, request });
  }

  private async call<T extends WithDiags>(method: string, request: unknown): Promise<T> {
    return (await this.processAsync()).call<T>({ op: 'call', method, request });
  }

  private dv(block: BlockSchema, v: ObjectValue | null): ProtoDV {
    return { msgpack: toMsgpack(block, v), json: EMPTY };
  }

  private managed(type: string, address: string): ResourceSchema {
    const s = this.resourceSchema(type);
    if (!s) throw new PluginError(`${this.label()} has no resource type "${type}" (${address})`);
    return s;
  }

  async configure(req: ConfigureRequest): Promise<ConfigureResponse> {
    this.env = req.env;
    try {
      const block = this.schema().provider.block;
      const unknownArgs = Object.keys(req.config).filter((k) => req.config[k] !== null && !(k in (block.attributes ?? {})) && !(k in (block.block_types ?? {})));
      if (unknownArgs.length) return { diagnostics: unknownArgs.map((k) => ({ severity: 'error' as const, summary: `${this.label()} has no argument "${k}"`, attribute: [k] })) };
      const config = this.dv(block, req.config);
      const diagnostics: Diagnostic[] = [];
      // Terraform always validates the provider configuration; the answer only depends on the binary and the configuration.
      const key = crypto.createHash('sha256').update(binaryKey(this.plugin().binary)).update(config!.msgpack).digest('hex').slice(0, 32);
      const cacheFile = path.join(cacheDir(this.env), 'provider-config', `${key}.json`);
      let validated: Diagnostic[] | undefined;
      try {
        validated = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Diagnostic[];
      } catch { /* not validated yet */ }
      mark(validated ? 'provider validation cached' : 'provider validation not cached');
      if (!validated) {
        const res = await this.call<WithDiags>('PrepareProviderConfig', { config });
        validated = this.diags(res.diagnostics);
        if (!validated.some((d) => d.severity === 'error')) {
          fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
          writeFileAtomicSync(cacheFile, JSON.stringify(validated));
        }
      }
      diagnostics.push(...validated);
      if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
      const res = await this.call<WithDiags>('Configure', { terraform_version: TERRAFORM_VERSION, config, client_capabilities: CLIENT_CAPABILITIES });
      mark('configured');
      diagnostics.push(...this.diags(res.diagnostics));
      this.configured = !diagnostics.some((d) => d.severity === 'error');
      return { diagnostics };
    } catch (e) {
      return { diagnostics: [this.failure(e)] };
    }
  }

  validateResourceConfig(req: ValidateResourceConfigRequest): ValidateResourceConfigResponse {
    try {
      const data = req.address.startsWith('data.');
      const s = data ? this.dataSourceSchema(req.typeName) : this.resourceSchema(req.typeName);
      if (!s) return { diagnostics: [{ severity: 'error', summary: `${this.label()} has no ${data ? 'data source' : 'resource type'} "${req.typeName}"`, address: req.address }] };
      const config = this.dv(s.block, req.config);
      const res = data
        ? this.callSync<WithDiags>('ValidateDataSourceConfig', { type_name: req.typeName, config })
        : this.callSync<WithDiags>('ValidateResourceTypeConfig', { type_name: req.typeName, config, client_capabilities: CLIENT_CAPABILITIES });
      return { diagnostics: this.diags(res.diagnostics, req.address) };
    } catch (e) {
      return { diagnostics: [this.failure(e, req.address)] };
    }
  }

  validateConfiguration(): ValidateConfigurationResponse {
    return { diagnostics: [] };
  }

  /**
   * UpgradeResourceState: the stored object as JSON (state's own text, as Terraform sends it) at the
   * schema version state recorded, to the current schema. The plugin decides what changes (SDKv2
   * runs its StateUpgraders from that version, and drops attributes the schema no longer has).
   */
  async upgradeResourceState(req: UpgradeResourceStateRequest): Promise<UpgradeResourceStateResponse> {
    try {
      const schema = this.managed(req.typeName, req.address);
      const res = await this.call<WithDiags & { upgraded_state: ProtoDV }>('UpgradeResourceState', {
        type_name: req.typeName,
        version: req.version,
        raw_state: { json: Buffer.from(JSON.stringify(req.rawState)), flatmap: {} },
      });
      const diagnostics = this.diags(res.diagnostics, req.address);
      if (diagnostics.some((d) => d.severity === 'error')) return { upgradedState: null, diagnostics };
      const upgraded = fromMsgpack(schema.block, res.upgraded_state?.msgpack);
      const wo = this.writeOnlyProblems(schema.block, upgraded, 'Invalid resource state upgrade', 'while upgrading its state', req.address);
      if (wo.length) return { upgradedState: null, diagnostics: [...diagnostics, ...wo] };
      return { upgradedState: upgraded, diagnostics };
    } catch (e) {
      return { upgradedState: null, diagnostics: [this.failure(e, req.address)] };
    }
  }

  async readResource(req: ReadResourceRequest): Promise<ReadResourceResponse> {
    try {
      const schema = this.managed(req.typeName, req.address);
      const res = await this.call<WithDiags & { new_state: ProtoDV; private: Uint8Array }>('ReadResource', {
        type_name: req.typeName,
        current_state: this.dv(schema.block, req.priorState),
        private: privateBytes(req.private),
        client_capabilities: CLIENT_CAPABILITIES,
      });
      const diagnostics = this.diags(res.diagnostics, req.address);
      if (diagnostics.some((d) => d.severity === 'error')) return { newState: req.priorState, diagnostics };
      let newState = fromMsgpack(schema.block, res.new_state?.msgpack);
      const wo = this.writeOnlyProblems(schema.block, newState, 'Provider produced invalid object', 'during refresh', req.address);
      if (wo.length) return { newState: req.priorState, diagnostics: [...diagnostics, ...wo] };
      if (newState && containsUnknown(newState)) return { newState: req.priorState, diagnostics: [...diagnostics, { severity: 'error', summary: `${this.label()} produced an unknown value while reading ${req.address}`, address: req.address }] };
      if (newState && this.legacyTypes().has(req.typeName)) newState = keepStoredEmpties(schema.block, req.priorState, newState);
      return { newState, diagnostics, private: privateText(res.private) };
    } catch (e) {
      return { newState: req.priorState, diagnostics: [this.failure(e, req.address)] };
    }
  }

  async readDataSource(req: ReadDataSourceRequest): Promise<ReadDataSourceResponse> {
    try {
      const schema = this.dataSourceSchema(req.typeName);
      if (!schema) return { state: null, diagnostics: [{ severity: 'error', summary: `${this.label()} has no data source "${req.typeName}"`, address: req.address }] };
      const res = await this.call<WithDiags & { state: ProtoDV }>('ReadDataSource', { type_name: req.typeName, config: this.dv(schema.block, req.config), client_capabilities: CLIENT_CAPABILITIES });
      const diagnostics = this.diags(res.diagnostics, req.address);
      if (diagnostics.some((d) => d.severity === 'error')) return { state: null, diagnostics };
      const state = stripWriteOnly(schema.block, fromMsgpack(schema.block, res.state?.msgpack));
      if (state && containsUnknown(state)) return { state: null, diagnostics: [...diagnostics, { severity: 'error', summary: `${this.label()} produced an unknown value for ${req.address}`, address: req.address }] };
      return { state, diagnostics };
    } catch (e) {
      return { state: null, diagnostics: [this.failure(e, req.address)] };
    }
  }

  planResourceChange(req: PlanResourceChangeRequest): PlanResourceChangeResponse {
    try {
      const schema = this.managed(req.typeName, req.address);
      const b = schema.block;
      const destroy = req.proposedNewState === null;
      if (destroy && !this.schema().capabilities.planDestroy) return { plannedState: null, requiresReplace: [], diagnostics: [] };
      const res = this.callSync<WithDiags & { planned_state: ProtoDV; requires_replace: { steps: ProtoStep[] }[]; planned_private: Uint8Array; legacy_type_system: boolean }>('PlanResourceChange', {
        type_name: req.typeName,
        prior_state: this.dv(b, req.priorState),
        proposed_new_state: this.dv(b, req.proposedNewState),
        config: this.dv(b, req.config),
        prior_private: privateBytes(req.priorPrivate),
        client_capabilities: CLIENT_CAPABILITIES,
      });
      const diagnostics = this.diags(res.diagnostics, req.address);
      this.noteLegacy(req.typeName, res.legacy_type_system);
      if (destroy || diagnostics.some((d) => d.severity === 'error')) return { plannedState: null, requiresReplace: [], diagnostics };
      const planned = fromMsgpack(b, res.planned_state?.msgpack);
      // Checked first, as Terraform does: a planned write-only value would reach the plan, its file and its renderings.
      const wo = this.writeOnlyProblems(b, planned, 'Provider produced invalid plan', 'during planning', req.address);
      if (wo.length) return { plannedState: null, requiresReplace: [], diagnostics: [...diagnostics, ...wo] };
      if (!planned) return { plannedState: null, requiresReplace: [], diagnostics: [...diagnostics, { severity: 'error', summary: `${this.label()} planned no object for ${req.address}`, address: req.address }] };
      if (!res.legacy_type_system && req.config) {
        for (const p of planProblems(b, req.config, planned)) {
          diagnostics.push({ severity: 'error', summary: `Provider produced invalid plan: ${this.label()} planned a value for ${req.address} that does not match the configuration`, address: req.address, attribute: p });
        }
      }
      // Replacement only concerns updates, and only paths whose value actually changes; a write-only
      // attribute has no values to compare (both null), so the provider's word is kept (getRequiredReplaces).
      const writeOnly = writeOnlyPaths(b, planned);
      const requiresReplace = req.priorState === null ? [] : (res.requires_replace ?? []).map((r) => toPath(r.steps)).filter((p) => {
        if (writeOnly.some((w) => w.length === p.length && w.every((x, i) => x === p[i]))) return true;
        const after = valueAt(planned, p);
        return isUnknown(after) || !valuesEqual(valueAt(req.priorState!, p) ?? null, after ?? null, EXACT);
      });
      return { plannedState: planned, requiresReplace, diagnostics, plannedPrivate: privateText(res.planned_private) };
    } catch (e) {
      return { plannedState: null, requiresReplace: [], diagnostics: [this.failure(e, req.address)] };
    }
  }

  async applyResourceChange(req: ApplyResourceChangeRequest): Promise<ApplyResourceChangeResponse> {
    let schema: ResourceSchema;
    try {
      schema = this.managed(req.typeName, req.address);
    } catch (e) {
      return { newState: req.priorState, diagnostics: [this.failure(e, req.address)] };
    }
    const b = schema.block;
    // Ctrl-C: Terraform asks the provider to stop (Stop), which cancels its in-flight operations.
    const onAbort = () => void this.call('Stop', {}).catch(() => undefined);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.call<WithDiags & { new_state: ProtoDV; private: Uint8Array; legacy_type_system: boolean }>('ApplyResourceChange', {
        type_name: req.typeName,
        prior_state: this.dv(b, req.priorState),
        planned_state: this.dv(b, req.plannedState),
        config: this.dv(b, req.config),
        planned_private: privateBytes(req.plannedPrivate),
      });
      const diagnostics = this.diags(res.diagnostics, req.address);
      this.noteLegacy(req.typeName, res.legacy_type_system);
      const newState = fromMsgpack(b, res.new_state?.msgpack);
      const priv = privateText(res.private);
      // Terraform then stores no object (a create leaves none; it drops an updated one from state): eksidp
      // keeps the prior object, so an update's object stays managed; either way the value is not stored.
      const wo = this.writeOnlyProblems(b, newState, 'Provider produced invalid object', 'after apply', req.address);
      if (wo.length) return { newState: req.priorState, diagnostics: [...diagnostics, ...wo] };
      if (diagnostics.some((d) => d.severity === 'error')) return { newState, diagnostics, private: priv }; // partial state, as Terraform keeps it
      if (newState && containsUnknown(newState)) {
        return { newState: req.priorState, diagnostics: [...diagnostics, { severity: 'error', summary: `Provider returned invalid result object after apply: ${this.label()} left unknown values in ${req.address}`, address: req.address }] };
      }
      if (newState && req.plannedState && !res.legacy_type_system) {
        for (const p of applyProblems(b, req.plannedState, newState)) {
          diagnostics.push({ severity: 'error', summary: `Provider produced inconsistent result after apply: ${this.label()} changed a planned value of ${req.address}`, address: req.address, attribute: p });
        }
      }
      return { newState, diagnostics, private: priv };
    } catch (e) {
      // The plugin is gone or the call failed: nothing is known about the object beyond the prior state.
      return { newState: req.priorState, diagnostics: [this.failure(e, req.address)] };
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
  }

  async importResourceState(req: ImportResourceStateRequest): Promise<ImportResourceStateResponse> {
    try {
      const schema = this.managed(req.typeName, req.typeName);
      const res = await this.call<WithDiags & { imported_resources: { type_name: string; state: ProtoDV; private: Uint8Array }[] }>('ImportResourceState', { type_name: req.typeName, id: req.id, client_capabilities: CLIENT_CAPABILITIES });
      const diagnostics = this.diags(res.diagnostics);
      if (diagnostics.some((d) => d.severity === 'error')) return { state: null, diagnostics };
      const imported = res.imported_resources.find((r) => r.type_name === req.typeName);
      if (!imported) return { state: null, diagnostics: [...diagnostics, { severity: 'error', summary: `${this.label()} imported no ${req.typeName} for id "${req.id}"` }] };
      const state = fromMsgpack(schema.block, imported.state?.msgpack);
      const woImport = this.writeOnlyProblems(schema.block, state, 'Import returned a non-null value for a write-only attribute', `during import of "${req.id}"`, undefined, req.typeName);
      if (woImport.length) return { state: null, diagnostics: [...diagnostics, ...woImport] };
      // Terraform reads the imported object at once; gone means there is nothing to import.
      const read = await this.call<WithDiags & { new_state: ProtoDV; private: Uint8Array }>('ReadResource', {
        type_name: req.typeName, current_state: this.dv(schema.block, state), private: imported.private ?? EMPTY, client_capabilities: CLIENT_CAPABILITIES,
      });
      diagnostics.push(...this.diags(read.diagnostics));
      const newState = fromMsgpack(schema.block, read.new_state?.msgpack);
      const woRead = this.writeOnlyProblems(schema.block, newState, 'Provider produced invalid object', `while reading the import of "${req.id}"`, undefined, req.typeName);
      if (woRead.length) return { state: null, diagnostics: [...diagnostics, ...woRead] };
      if (!newState && !diagnostics.some((d) => d.severity === 'error')) diagnostics.push({ severity: 'error', summary: `Cannot import non-existent remote object: ${req.typeName} "${req.id}"` });
      return { state: newState, diagnostics, private: privateText(read.private) };
    } catch (e) {
      return { state: null, diagnostics: [this.failure(e)] };
    }
  }

  /** Whether configure succeeded (tests). */
  get isConfigured(): boolean {
    return this.configured;
  }

  /** The plugin process's id while it runs (tests check it is gone after close or a crash). */
  get pid(): number | undefined {
    return this.proc && !this.proc.exit ? this.proc.pid : undefined;
  }

  async close(): Promise<void> {
    this.lazy?.close();
    const p = this.proc;
    this.proc = undefined;
    await p?.shutdown();
  }
}
