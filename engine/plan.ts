import { evaluateMarks, getPath, marksWithLocals, parseTemplate, withLocals, type Lookup, type MarkLookup } from './expressions';
import { narrow, normalise, prefix, type Marks } from './hcl/marks';
import { fromStatePaths, instanceMarks, mayMark, schemaSensitivePaths, toStatePaths } from './sensitive';
import { localDependencies, transitiveDeps } from './graph';
import type { BlockSchema, CtyType, Diagnostic, ObjectValue, Path, ReadDataSourceResponse, Value } from './protocol';
import { hasErrors, isUnknown, schemaEntries, UNKNOWN } from './protocol';
import { proposedNew, writeOnlyPaths } from './schema';
import { currentInstance, deposedInstances, instanceKey, resourceAddress, stateInstances, withPrivate, type StateInstance, type StateResource, type StateV4 } from './state';
import { compareKeys, eachModeOf, expand, instanceAddress, instanceLookup, InstanceValues, parseInstanceAddress, type Expansion, type InstanceKey } from './instances';
import { DYNAMIC, literalType } from './types';
import { mapBounded } from '../lib/concurrency';
import { clone, containsUnknown, EngineError, error, EXACT, isObject, valuesEqual } from './util';
import { providerNameFor, resolveConfig, resourceSchema, typeScope, type Workspace } from './workspace';
import type { ResourceConfig } from './config';
import { providerConfigAddress } from './config';
import { evaluateOutput, expressionType, outputChanged, outputReferences, planOutputs, type OutputChange } from './outputs';

/** API requests in flight at once when --parallelism is not given: refresh reads, and apply's requests (apply.ts). */
export const DEFAULT_READ_PARALLELISM = 32;

/**
 * Planning: refresh the state, then compare configuration with state resource by resource through
 * the provider's planResourceChange. The result is an immutable Plan; apply executes exactly it.
 */

export type Action = 'no-op' | 'create' | 'read' | 'update' | 'delete';

export type ResourceChange = {
  /** The instance address: `aws_x.y`, `aws_x.y[0]` or `aws_x.y["key"]`. */
  address: string;
  /** The instance key (count: a number, for_each: a string); absent without count or for_each. */
  index?: InstanceKey;
  /** Where the object was before an implied move (no key to `[0]` when count is added, and back), as Terraform moves it. */
  previousAddress?: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  /** Provider configuration key (`aws`, `aws.west`). */
  provider: string;
  /** `provider["registry.terraform.io/hashicorp/aws"]`, with `.west` for an alias. */
  providerAddress: string;
  /** As in Terraform JSON plans: ["create"], ["delete","create"] (replace), ["create","delete"] (create before destroy)... */
  actions: Action[];
  before: ObjectValue | null;
  /** Planned values; values unknown until apply are UNKNOWN markers. */
  after: ObjectValue | null;
  replacePaths: Path[];
  /**
   * Set when the change is to a deposed object (a create_before_destroy leftover) at this address,
   * not its current object: Terraform's deposed key. Such a change is always a delete.
   */
  deposed?: string;
  /** Terraform's action_reason, when it gives one. */
  reason?: 'replace_because_cannot_update' | 'replace_because_tainted' | 'delete_because_no_resource_config' | 'delete_because_wrong_repetition' | 'delete_because_count_index' | 'delete_because_each_key';
  /** Transitive dependencies: resource addresses (recorded in state). */
  dependencies: string[];
  /** Dependencies recorded in the prior state (for delete ordering). */
  priorDependencies: string[];
  schemaVersion: number;
  /** The provider's private data for this change (plan → apply), opaque to the engine. */
  plannedPrivate?: string;
  /** Sensitive paths of `before` and `after` (engine/sensitive.ts; `[]` the whole value); absent: none. */
  beforeSensitive?: Path[];
  afterSensitive?: Path[];
  /** Paths of the schema's write-only attributes (always null here): the text shows `(write-only attribute)` there. */
  writeOnly?: Path[];
};

export type Plan = {
  stackName: string;
  configHash: string;
  statePath: string;
  /** The state the plan was made from (before refresh): apply refuses the plan if it moved on. */
  prior: { lineage: string; serial: number };
  /**
   * The state as the last run left it, before refresh (Terraform's PrevRunState). Kept for display
   * only, so that "Objects have changed outside of eksidp" can be computed against priorState; apply
   * never reads it.
   */
  prevRunState: StateV4;
  /** Refreshed state (data sources read): apply starts from it (Terraform's PriorState). */
  priorState: StateV4;
  changes: ResourceChange[];
  /** Root output changes (outputs.ts), sorted by name; no-ops included, as in Terraform's plan. */
  outputChanges: OutputChange[];
  destroy: boolean;
  targets: string[];
  createdAt: string;
  warnings: Diagnostic[];
  /**
   * Beyond Terraform: each configured resource's `//` value by address (Terraform ignores `//`;
   * stacks put sample identities and RBAC bindings there), kept so analyses of the plan (the
   * identity impact, identity/impact.ts) work from the plan alone, a saved one too.
   */
  metadata: Record<string, Value>;
  /** The caller's inputs to those analyses, opaque to the engine (`eksidp plan --identities` → `sample_identities`). */
  analysisOptions: Record<string, Value>;
};

export type PlanOptions = {
  destroy?: boolean;
  refresh?: boolean;
  targets?: string[];
  /** At most this many resource operations at once (default: 32 reads during refresh). */
  parallelism?: number;
  /** Called after each refresh read (the CLI shows progress from it at a terminal; the engine never prints). */
  onRefresh?: (done: number, total: number) => void;
  /**
   * Called before each managed object's refresh read ('start', with the state before it) and after a
   * read without errors ('complete', with the object read, null when gone): Terraform's PreRefresh
   * and PostRefresh hooks, which `apply --json` prints as refresh_start / refresh_complete.
   */
  onRefreshResource?: (phase: 'start' | 'complete', address: string, object: ObjectValue | null) => void;
  signal?: AbortSignal;
  /** Kept in the plan as its analysisOptions, never interpreted by the engine. */
  analysisOptions?: Record<string, Value>;
};

export function isReplace(c: { actions: Action[] }): boolean {
  return c.actions.length === 2;
}

/** Summary counts as Terraform prints them. */
export function planCounts(changes: readonly ResourceChange[]): { add: number; change: number; destroy: number } {
  let add = 0, change = 0, destroy = 0;
  for (const c of changes) {
    if (c.actions.includes('create')) add++;
    if (c.actions.includes('update')) change++;
    if (c.actions.includes('delete')) destroy++;
  }
  return { add, change, destroy };
}

export function hasChanges(plan: Plan): boolean {
  // A moved object is a change even when nothing else changes (its address in state does), as in Terraform.
  return plan.changes.some((c) => !(c.actions.length === 1 && c.actions[0] === 'no-op') || c.previousAddress !== undefined) || plan.outputChanges.some(outputChanged);
}

function setPath(obj: ObjectValue, path: Path, value: Value): void {
  let cur: Value = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i]!;
    const next: Value | undefined = Array.isArray(cur) ? cur[seg as number] : isObject(cur) ? cur[seg as string] : undefined;
    if (next === undefined || next === null || isUnknown(next)) return;
    cur = next;
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(cur) && typeof last === 'number' && last < cur.length) cur[last] = value;
  else if (isObject(cur) && typeof last === 'string') cur[last] = value;
}

/** lifecycle.ignore_changes: ignored paths keep their prior values. */
function applyIgnoreChanges(r: ResourceConfig, config: ObjectValue, prior: ObjectValue | null): ObjectValue {
  // Nothing to ignore (the usual case): no copy, plans and drift checks go through here per resource.
  if (!prior || (Array.isArray(r.lifecycle.ignoreChanges) && r.lifecycle.ignoreChanges.length === 0)) return config;
  const out = clone(config);
  if (r.lifecycle.ignoreChanges === 'all') {
    for (const k of Object.keys(out)) if (k in prior && k !== 'timeouts') out[k] = clone(prior[k]!);
    return out;
  }
  for (const p of r.lifecycle.ignoreChanges) {
    const v = getPath(prior, p);
    if ('value' in v) setPath(out, p, clone(v.value));
  }
  return out;
}

/** Marks computed attributes that are null as UNKNOWN (a data source read deferred to apply). */
function unknownComputed(ws: Workspace, r: ResourceConfig, config: ObjectValue): ObjectValue {
  const schema = resourceSchema(ws, r)!;
  const out = clone(config);
  for (const [k, a] of Object.entries(schema.block.attributes ?? {})) if (a.computed && (out[k] === null || out[k] === undefined)) out[k] = UNKNOWN;
  return out;
}

/** One managed resource's planned change, before the engine adds addresses and dependencies. */
export type PlannedInstance = Pick<ResourceChange, 'actions' | 'before' | 'after' | 'replacePaths' | 'reason' | 'plannedPrivate'> & { after: ObjectValue };

/**
 * One managed resource against its refreshed state instance: lifecycle.ignore_changes, the
 * provider's planResourceChange, and the action. Pure (no I/O): plan() walks every configured
 * resource through it, and drift checks use it offline on what they read. Problems go to `diags`;
 * undefined when the provider planned nothing.
 */
export function planInstance(ws: Workspace, r: ResourceConfig, config: ObjectValue, inst: StateInstance | undefined, diags: Diagnostic[], address = r.address): PlannedInstance | undefined {
  const provider = ws.providers.get(r.provider)!;
  const schema = resourceSchema(ws, r)!;
  const tainted = inst?.status === 'tainted';
  const priorAttrs = inst ? (inst.attributes as ObjectValue) : null;
  const planPrior = tainted ? null : priorAttrs;
  const effective = applyIgnoreChanges(r, config, planPrior);
  const proposed = proposedNew(schema.block, planPrior, effective);
  const res = provider.planResourceChange({ typeName: r.type, address, priorState: planPrior, proposedNewState: proposed, config: effective, ...(inst?.private && !tainted ? { priorPrivate: inst.private } : {}) });
  diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? address })));
  if (hasErrors(res.diagnostics) || res.plannedState === null) {
    if (!hasErrors(res.diagnostics)) diags.push(error('provider planned no object for a configured resource', address));
    return undefined;
  }
  const planned = res.plannedState;
  let actions: Action[];
  let reason: ResourceChange['reason'];
  const replacePaths = tainted ? [] : res.requiresReplace;
  if (!priorAttrs) actions = ['create'];
  else if (tainted) { actions = r.lifecycle.createBeforeDestroy ? ['create', 'delete'] : ['delete', 'create']; reason = 'replace_because_tainted'; }
  else if (replacePaths.length > 0) { actions = r.lifecycle.createBeforeDestroy ? ['create', 'delete'] : ['delete', 'create']; reason = 'replace_because_cannot_update'; }
  else if (valuesEqual(priorAttrs, planned, EXACT)) actions = ['no-op'];
  else actions = ['update'];
  if (actions.includes('delete') && r.lifecycle.preventDestroy) {
    diags.push(error('Instance cannot be destroyed: lifecycle.prevent_destroy is set, but the plan replaces this resource', address, replacePaths[0]));
  }
  return { actions, before: priorAttrs, after: planned, replacePaths, ...(reason ? { reason } : {}), ...(res.plannedPrivate ? { plannedPrivate: res.plannedPrivate } : {}) };
}

/** The values references see: a configured resource's repetition from its configuration, others' from their keys. */
export function instanceValues(ws: Workspace): InstanceValues {
  return new InstanceValues((resource) => {
    const r = ws.byAddress.get(resource);
    return r ? eachModeOf(r) : undefined;
  });
}

export function makeLookup(ws: Workspace, values: InstanceValues): Lookup {
  return withLocals(ws.config.locals, (ref) => {
    if (ref.kind === 'var') return { value: ws.config.variables[ref.target.slice(4)] ?? null };
    if (ref.kind === 'count' || ref.kind === 'each') return { error: `${ref.target} is not available here` };
    const v = values.resource(ref.target);
    if (v === undefined) return { value: UNKNOWN };
    if (v === null) return { error: `${ref.target} has no value (it is planned for deletion or was not created)` };
    return getPath(v, ref.path);
  });
}

/**
 * Every instance's sensitive paths (from state, then as planned), and the MarkLookup references use:
 * a sensitive variable is sensitive as a whole; a resource's instance carries its own paths.
 */
export class InstanceMarkStore {
  private readonly byInstance = new Map<string, Marks>();
  set(address: string, marks: Marks): void { if (marks.length > 0) this.byInstance.set(address, marks); else this.byInstance.delete(address); }
  empty(): boolean { return this.byInstance.size === 0; }
  get(address: string): Marks { return this.byInstance.get(address) ?? []; }
  lookup(ws: Workspace, lookup: Lookup): MarkLookup {
    return marksWithLocals(ws.config.locals, lookup, (ref) => {
      if (ref.kind === 'var') return ws.config.sensitiveVariables.has(ref.target.slice(4)) ? [[]] : [];
      if (ref.kind !== 'resource' && ref.kind !== 'data') return [];
      const conf = ws.byAddress.get(ref.target);
      const mode = conf ? eachModeOf(conf) : 'single';
      if (mode === 'single') return narrow(this.get(ref.target), ref.path);
      if (ref.path.length > 0) return narrow(this.get(instanceAddress(ref.target, ref.path[0] as InstanceKey)), ref.path.slice(1));
      const out: Marks = [];
      for (const [addr, m] of this.byInstance) {
        const p = parseInstanceAddress(addr);
        if (p?.resource === ref.target && p.key !== undefined) out.push(...prefix(m, p.key));
      }
      return out;
    });
  }
}

/** An instance's marks as state records them, with its schema's (Terraform marks both on read). */
export function stateMarks(block: BlockSchema | undefined, inst: StateInstance): Marks {
  return normalise([...fromStatePaths(inst.sensitive_attributes), ...(block ? schemaSensitivePaths(block, inst.attributes) : [])]);
}

/**
 * Refresh: every managed resource read in parallel (bounded); gone objects leave the state. Read
 * failures become diagnostics (the object keeps its last known values meanwhile).
 */
async function refreshPhase(ws: Workspace, state: StateV4, parallelism: number, opts: PlanOptions, diags: Diagnostic[]): Promise<void> {
  // Every current instance of every managed resource (deposed objects are not read).
  const managed = stateInstances(state).filter((x) => x.resource.mode === 'managed');
  let done = 0;
  opts.onRefresh?.(0, managed.length);
  const results = await mapBounded(managed, parallelism, async (x) => {
    const inst = x.instance;
    const kept = { x, newState: inst.attributes as ObjectValue | null, private: inst.private };
    if (opts.signal?.aborted) return kept;
    const { address, resource: r } = x;
    // A resource in the configuration is read through its configuration's provider (it may have moved to an alias).
    const provider = ws.providers.get(ws.byAddress.get(resourceAddress(r))?.provider ?? providerNameFor(ws, r.provider))!;
    try {
      opts.onRefreshResource?.('start', address, inst.attributes as ObjectValue);
      const res = await provider.readResource({ typeName: r.type, address, priorState: inst.attributes, ...(inst.private ? { private: inst.private } : {}), signal: opts.signal });
      diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? address })));
      // As Terraform: a read that failed has no PostRefresh.
      if (!res.diagnostics.some((d) => d.severity === 'error')) opts.onRefreshResource?.('complete', address, res.newState);
      return { x, newState: res.newState, private: 'private' in res ? res.private : inst.private };
    } catch (e) {
      diags.push(error(`refresh failed: ${(e as Error).message}`, address));
      return kept;
    } finally {
      opts.onRefresh?.(++done, managed.length);
    }
  });
  if (opts.signal?.aborted) diags.push(error('plan interrupted'));
  const gone = new Set<StateInstance>();
  for (const { x, newState, private: priv } of results) {
    if (newState === null) gone.add(x.instance);
    else {
      const idx = x.resource.instances.indexOf(x.instance);
      x.resource.instances[idx] = withPrivate({ ...x.instance, attributes: newState }, priv);
    }
  }
  if (gone.size > 0) {
    for (const r of state.resources) r.instances = r.instances.filter((i) => !gone.has(i));
    state.resources = state.resources.filter((r) => r.instances.length > 0);
  }
}

/**
 * Terraform's implied moves (refactoring.ImpliedMoveStatements): a resource that now has `count` takes
 * its no-key object as `[0]`; one with neither count nor for_each takes its `[0]` object as its only
 * instance; never over an object already at the new address. Returns new address → previous address.
 */
function impliedMoves(ws: Workspace, state: StateV4): Map<string, string> {
  const moved = new Map<string, string>();
  for (const r of state.resources) {
    const address = resourceAddress(r);
    const conf = ws.byAddress.get(address);
    if (!conf || r.mode !== 'managed') continue;
    const mode = eachModeOf(conf);
    const [from, to]: [InstanceKey | undefined, InstanceKey | undefined] = mode === 'count' ? [undefined, 0] : mode === 'single' ? [0, undefined] : [undefined, undefined];
    if (from === to) continue;
    const current = r.instances.filter((i) => i.deposed === undefined);
    const src = current.find((i) => instanceKey(i) === from);
    if (!src || current.some((i) => instanceKey(i) === to)) continue;
    const { index_key: _old, ...rest } = src;
    const next: StateInstance = to === undefined ? rest : { index_key: to, ...rest };
    r.instances = r.instances.map((i) => (i === src ? next : i)).sort((a, b) => compareKeys(instanceKey(a), instanceKey(b)));
    moved.set(instanceAddress(address, to), instanceAddress(address, from));
  }
  return moved;
}

/**
 * State load: every managed object whose provider upgrades state goes through upgradeResourceState
 * with the schema version state recorded and the stored attributes, refresh or not, as Terraform
 * does; the result is at the provider's current schema version. Providers without the verb (the
 * native ones) read state as stored, at no cost.
 */
async function upgradePhase(ws: Workspace, state: StateV4, parallelism: number, diags: Diagnostic[]): Promise<void> {
  const providerOf = (r: StateResource) => ws.byAddress.get(resourceAddress(r))?.provider ?? providerNameFor(ws, r.provider);
  const todo = state.resources.filter((r) => r.mode === 'managed' && r.instances.length > 0 && ws.providers.get(providerOf(r))?.upgradeResourceState);
  await mapBounded(todo, parallelism, async (r) => {
    const address = resourceAddress(r);
    const name = providerOf(r);
    const schema = ws.schemas.get(name)?.resources[r.type];
    if (!schema) return; // a type the provider does not have: the orphans phase says so
    r.instances = await Promise.all(r.instances.map(async (inst) => {
      try {
        const res = await ws.providers.get(name)!.upgradeResourceState!({ typeName: r.type, address, version: inst.schema_version, rawState: inst.attributes });
        diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? address })));
        if (hasErrors(res.diagnostics) || res.upgradedState === null) return inst;
        return { ...inst, schema_version: schema.version, attributes: res.upgradedState };
      } catch (e) {
        diags.push(error(`upgrading the stored object failed: ${(e as Error).message}`, address));
        return inst;
      }
    }));
  });
}

/**
 * Data sources that depend on nothing, read up front in parallel: the walk goes one resource at a
 * time, and a fleet of adopted clusters would pay one round trip per data source. Anything unusual
 * (a configuration error, an unknown value) is left to the walk, which reports it once.
 */
async function prefetchPhase(ws: Workspace, lookup: Lookup, parallelism: number, signal: AbortSignal | undefined): Promise<Map<string, ReadDataSourceResponse>> {
  const prefetched = new Map<string, ReadDataSourceResponse>();
  // One instance only: a repeated data source is expanded (and read) by the walk.
  const independent = ws.graph.order.filter((a) => { const r = ws.byAddress.get(a)!; return r.mode === 'data' && eachModeOf(r) === 'single' && (ws.graph.deps.get(a)?.size ?? 0) === 0; });
  await mapBounded(independent, parallelism, async (address) => {
    const r = ws.byAddress.get(address)!;
    const scratch: Diagnostic[] = [];
    const config = resolveConfig(ws, r, lookup, scratch);
    if (scratch.length > 0 || containsUnknown(config)) return;
    prefetched.set(address, await ws.providers.get(r.provider)!.readDataSource({ typeName: r.type, address, config, signal }));
  });
  return prefetched;
}

/** What the walk reads and fills: the refreshed state and every instance's value, as references see them. */
type WalkContext = {
  ws: Workspace;
  state: StateV4;
  values: InstanceValues;
  lookup: Lookup;
  prefetched: Map<string, ReadDataSourceResponse>;
  /** New instance address → previous address, for the objects an implied move re-addressed. */
  moved: ReadonlyMap<string, string>;
  signal: AbortSignal | undefined;
  diags: Diagnostic[];
  /** Each instance's sensitive paths, filled as the walk plans them. */
  marks: InstanceMarkStore;
  /** False when the configuration has no sensitive variable and no `sensitive()`: marks can then come only from other instances. */
  mayMark: boolean;
};

/** The type of a for_each expression, as Terraform types it before the value is known; dynamic parts settled from the value. */
function forEachType(ws: Workspace, expr: Value, value: Value): CtyType {
  const t = expressionType(expr, typeScope(ws));
  if (t !== DYNAMIC) return t;
  // Evaluated values carry no set/list distinction: a set-valued function call (cdktf writes
  // `${toset(var.names)}` for TerraformIterator.fromList) is typed by its name, as Terraform types it.
  const parsed = typeof expr === 'string' ? parseTemplate(expr) : null;
  if (parsed && typeof parsed !== 'string' && parsed.expr.k === 'tpl' && parsed.expr.parts.length === 1) {
    const part = parsed.expr.parts[0]!;
    let e = typeof part !== 'string' && part.k === 'interp' ? part.e : undefined;
    while (e?.k === 'paren') e = e.e;
    if (e?.k === 'call' && SET_FUNCTIONS.has(e.name)) return ['set', DYNAMIC] as unknown as CtyType;
  }
  return !isUnknown(value) && value !== null ? literalType(value) : t;
}

/** The functions whose result is a set. */
const SET_FUNCTIONS = new Set(['toset', 'setunion', 'setintersection', 'setsubtract', 'setproduct']);

/** A resource's instances against current values (its count or for_each evaluated, with Terraform's errors). */
export function expandResource(ws: Workspace, r: ResourceConfig, lookup: Lookup, diags: Diagnostic[]): Expansion | undefined {
  return expand(r, lookup, (expr, v) => forEachType(ws, expr, v), diags);
}

/**
 * The lookup one instance's configuration is evaluated with (count.index, each.key, each.value), its
 * for_each evaluated again against current values: each.value may hold what apply has made known since
 * the plan. Undefined (with diagnostics) when the instance is no longer among the resource's.
 */
export function lookupForInstance(ws: Workspace, r: ResourceConfig, lookup: Lookup, key: InstanceKey | undefined, diags: Diagnostic[]): Lookup | undefined {
  if (eachModeOf(r) === 'single') return lookup;
  if (typeof key === 'number') return instanceLookup(lookup, { key });
  const expansion = expandResource(ws, r, lookup, diags);
  const inst = expansion?.instances.find((i) => i.key === key);
  if (!inst) { if (expansion) diags.push(error('the instance is no longer declared by for_each: run plan again', instanceAddress(r.address, key))); return undefined; }
  return instanceLookup(lookup, inst);
}

/**
 * The walk: every configured resource in dependency order, expanded by its count or for_each into
 * instances, each against its refreshed state. A managed instance goes through planInstance; a data
 * source instance is read now (its state entry replaced or added), or deferred to apply when its
 * configuration holds unknowns or a dependency changes. Returns the changes and the configured
 * instance addresses.
 */
async function walkPhase(cx: WalkContext): Promise<{ changes: ResourceChange[]; configured: Set<string> }> {
  const { ws, state, values, lookup, diags } = cx;
  // Maps, not searches per resource: plans read every resource and fleets have hundreds.
  const entries = new Map(state.resources.map((x) => [resourceAddress(x), x]));
  const changing = new Set<string>();
  const configured = new Set<string>();
  const changes: ResourceChange[] = [];
  /** Each data source's state entry as this plan read it (null: none left), applied after the walk. */
  const dataEntries = new Map<string, StateResource | null>();
  const add = (c: ResourceChange) => {
    changes.push(c);
    // Dependencies are resource addresses: one changing instance makes its resource changing.
    if (c.actions[0] !== 'no-op') changing.add(resourceAddress(c));
  };
  for (const address of ws.graph.order) {
    const r = ws.byAddress.get(address)!;
    const provider = ws.providers.get(r.provider)!;
    const schema = resourceSchema(ws, r)!;
    const pAddr = providerConfigAddress(ws.config.providers.get(r.provider)!);
    const expansion = expandResource(ws, r, lookup, diags);
    if (!expansion) continue;
    values.retain(address, expansion.instances.map((i) => i.key));
    const base = { mode: r.mode, type: r.type, name: r.name, provider: r.provider, providerAddress: pAddr, dependencies: [...transitiveDeps(ws.graph.deps, address)].sort(), schemaVersion: schema.version };
    const entry = entries.get(address);
    // As Terraform, state records the provider configuration the configuration names now.
    if (entry && entry.provider !== pAddr) entry.provider = pAddr;
    const dataInstances: StateInstance[] = [];
    for (const inst of expansion.instances) {
      const iAddr = instanceAddress(address, inst.key);
      configured.add(iAddr);
      const keyed = { address: iAddr, ...(inst.key !== undefined ? { index: inst.key } : {}), ...base };
      const before = diags.length;
      const instLookup = expansion.mode === 'single' ? lookup : instanceLookup(lookup, inst);
      const config = resolveConfig(ws, r, instLookup, diags, iAddr);
      if (diags.length > before) continue;
      // Fleets with nothing sensitive skip the marks walk (the plan evaluates every instance).
      const configMarks = cx.marks.empty() && !cx.mayMark ? [] : evaluateMarks(r.body, instLookup, cx.marks.lookup(ws, instLookup));
      const sens = (after: Value) => { const m = instanceMarks(schema.block, configMarks, after); cx.marks.set(iAddr, m); return m.length > 0 ? { afterSensitive: m } : {}; };
      if (r.mode === 'data') {
        const pending = [...ws.graph.deps.get(address) ?? []].some((d) => changing.has(d));
        if (containsUnknown(config) || pending) {
          const after = unknownComputed(ws, r, config);
          values.set(address, inst.key, after);
          // The read happens at apply: until then the state keeps what was read last.
          const old = (entry && currentInstance(entry, inst.key));
          if (old) dataInstances.push(old);
          add({ ...keyed, actions: ['read'], before: null, after, replacePaths: [], priorDependencies: [], ...sens(after) });
          continue;
        }
        const res = (expansion.mode === 'single' ? cx.prefetched.get(address) : undefined) ?? await provider.readDataSource({ typeName: r.type, address: iAddr, config, signal: cx.signal });
        diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? iAddr })));
        // A read that failed has said why already (e.g. no credentials): "no object" would only mislead.
        if (res.state === null) { if (!hasErrors(res.diagnostics)) diags.push(error('data source returned no object', iAddr)); continue; }
        values.set(address, inst.key, res.state);
        dataInstances.push({ ...(inst.key !== undefined ? { index_key: inst.key } : {}), schema_version: schema.version, attributes: res.state, sensitive_attributes: toStatePaths(schema.block, sens(res.state).afterSensitive ?? []) });
        continue;
      }
      const prior = (entry && currentInstance(entry, inst.key));
      const planned = planInstance(ws, r, config, prior, diags, iAddr);
      if (!planned) continue;
      values.set(address, inst.key, planned.after);
      const previousAddress = cx.moved.get(iAddr);
      const beforeMarks = prior ? stateMarks(schema.block, prior) : [];
      const afterMarks = sens(planned.after);
      // As Terraform: a change of sensitivity alone is an update (state must record the new marks).
      const actions: Action[] = planned.actions.join() === 'no-op' && JSON.stringify(beforeMarks) !== JSON.stringify(afterMarks.afterSensitive ?? []) ? ['update'] : planned.actions;
      add({ ...keyed, ...planned, actions, ...(previousAddress !== undefined ? { previousAddress } : {}), priorDependencies: prior?.dependencies ?? [], ...afterMarks, ...(beforeMarks.length > 0 ? { beforeSensitive: beforeMarks } : {}) });
    }
    if (r.mode === 'data') {
      // A data source's state is what this plan read: instances no longer configured leave it.
      dataEntries.set(address, dataInstances.length === 0 ? null : { mode: 'data', type: r.type, name: r.name, provider: pAddr, instances: dataInstances });
    }
  }
  // Data entries replace theirs in place, empty ones leave, new ones follow in walk order: in one
  // pass (a search of the state per data source was quadratic: 0.2 s at 1,000 adopted clusters).
  if (dataEntries.size > 0) {
    const next: StateResource[] = [];
    for (const x of state.resources) {
      const a = x.mode === 'data' ? resourceAddress(x) : undefined;
      if (a === undefined || !dataEntries.has(a)) {
        next.push(x);
        continue;
      }
      const e = dataEntries.get(a);
      dataEntries.delete(a);
      if (e) next.push(e);
    }
    for (const e of dataEntries.values()) if (e) next.push(e);
    state.resources = next;
  }
  return { changes, configured };
}

/** Why an instance in state that the configuration does not declare is deleted (Terraform's action_reason). */
function orphanReason(conf: ResourceConfig | undefined, key: InstanceKey | undefined): ResourceChange['reason'] {
  if (!conf) return 'delete_because_no_resource_config';
  const mode = eachModeOf(conf);
  if (key === undefined) return 'delete_because_wrong_repetition';
  if (typeof key === 'number') return mode === 'count' ? 'delete_because_count_index' : 'delete_because_wrong_repetition';
  return mode === 'for_each' ? 'delete_because_each_key' : 'delete_because_wrong_repetition';
}

/**
 * Orphans: managed instances in state but not configured (everything, for destroy) are deleted; data
 * source instances that are not configured just leave the state.
 */
function orphansPhase(ws: Workspace, state: StateV4, configured: ReadonlySet<string>, destroy: boolean, diags: Diagnostic[]): ResourceChange[] {
  const changes: ResourceChange[] = [];
  const dropped = new Set<StateInstance>();
  for (const { address, resource: r, instance: inst, key } of stateInstances(state)) {
    if (configured.has(address)) continue;
    if (r.mode === 'data') { dropped.add(inst); continue; }
    const conf = ws.byAddress.get(resourceAddress(r));
    if (destroy && conf?.lifecycle.preventDestroy) diags.push(error('Instance cannot be destroyed: lifecycle.prevent_destroy is set', address));
    const provider = providerNameFor(ws, r.provider);
    const schema = ws.schemas.get(provider)?.resources[r.type];
    if (!schema) { diags.push(error(`provider "${provider}" has no resource type "${r.type}" (found in state)`, address)); continue; }
    const reason = destroy && conf ? undefined : orphanReason(destroy ? undefined : conf, key);
    const beforeMarks = stateMarks(schema.block, inst);
    changes.push({
      address, ...(key !== undefined ? { index: key } : {}), mode: 'managed', type: r.type, name: r.name, provider, providerAddress: r.provider, actions: ['delete'], before: inst.attributes as ObjectValue, after: null,
      replacePaths: [], ...(reason ? { reason } : {}), dependencies: [], priorDependencies: inst.dependencies ?? [], schemaVersion: schema.version, ...(beforeMarks.length > 0 ? { beforeSensitive: beforeMarks } : {}),
    });
  }
  if (dropped.size > 0) {
    for (const r of state.resources) r.instances = r.instances.filter((i) => !dropped.has(i));
    state.resources = state.resources.filter((r) => r.instances.length > 0);
  }
  return changes;
}

/**
 * Deposed objects (left by a create_before_destroy replacement that did not finish) are destroyed,
 * configured or not, as Terraform plans them: one delete per object, with its deposed key.
 */
function deposedPhase(ws: Workspace, state: StateV4, diags: Diagnostic[]): ResourceChange[] {
  const changes: ResourceChange[] = [];
  for (const r of state.resources) {
    if (r.mode !== 'managed') continue;
    const base = resourceAddress(r);
    for (const inst of deposedInstances(r)) {
      const key = instanceKey(inst);
      const address = instanceAddress(base, key);
      const provider = ws.byAddress.get(base)?.provider ?? providerNameFor(ws, r.provider);
      const schema = ws.schemas.get(provider)?.resources[r.type];
      if (!schema) { diags.push(error(`provider "${provider}" has no resource type "${r.type}" (found in state)`, address)); continue; }
      changes.push({
        address, ...(key !== undefined ? { index: key } : {}), mode: 'managed', type: r.type, name: r.name, provider, providerAddress: r.provider, deposed: inst.deposed, actions: ['delete'],
        before: inst.attributes, after: null, replacePaths: [], dependencies: [], priorDependencies: inst.dependencies ?? [], schemaVersion: schema.version,
        ...(stateMarks(schema.block, inst).length > 0 ? { beforeSensitive: stateMarks(schema.block, inst) } : {}),
      });
    }
  }
  return changes;
}

/**
 * Targeting (-target): the targets and what they need (their dependencies), or for destroy the
 * targets and what depends on them. An address neither configured nor in state is an error.
 */
function targetPhase(ws: Workspace, state: StateV4, changes: ResourceChange[], targets: readonly string[], destroy: boolean): ResourceChange[] {
  if (targets.length === 0) return changes;
  const known = new Set([...ws.byAddress.keys(), ...state.resources.map(resourceAddress)]);
  // A resource address targets all its instances, an instance address that one (an instance the
  // resource does not have selects nothing, as in Terraform); the resource must exist.
  const parsed = targets.map((t) => ({ t, p: parseInstanceAddress(t) }));
  const unknown = parsed.filter(({ p }) => !p || !known.has(p.resource)).map(({ t }) => t);
  // The diagnostic's address is the target: the summary does not repeat it.
  if (unknown.length > 0) throw new EngineError(unknown.map((t) => error('no such resource in the configuration or state (given as --target)', t)));
  const wholeResources = new Set(parsed.filter(({ t, p }) => p!.resource === t).map(({ t }) => t));
  const instances = new Set(parsed.filter(({ t, p }) => p!.resource !== t).map(({ t }) => t));
  const isTarget = (c: ResourceChange) => wholeResources.has(resourceAddress(c)) || instances.has(c.address);
  const targetedResources = new Set(parsed.map(({ p }) => p!.resource));
  const selectedResources = new Set<string>();
  if (!destroy) for (const t of targetedResources) for (const d of transitiveDeps(ws.graph.deps, t)) selectedResources.add(d);
  return changes.filter((c) => isTarget(c) || selectedResources.has(resourceAddress(c))
    // Destroying a target also destroys what depends on it.
    || (destroy && c.priorDependencies.some((d) => targetedResources.has(d))));
}

/**
 * Plans in phases: refresh, prefetch (independent data sources), walk (the configuration in
 * dependency order), orphans (deletions), targeting. Diagnostics gather across phases; errors stop
 * the plan after refresh and after the orphans.
 */
export async function plan(ws: Workspace, stateIn: StateV4, prior: { lineage: string; serial: number }, opts: PlanOptions = {}): Promise<Plan> {
  const diags: Diagnostic[] = [];
  // The caller's state stays as it was: the phases below replace entries, instance lists and
  // instances, and never change an instance object, so copies of the lists do (a structuredClone of
  // a fleet's state was 30 ms of a 200-cluster plan).
  const state: StateV4 = { ...stateIn, resources: stateIn.resources.map((r) => ({ ...r, instances: [...r.instances] })) };
  // Reads are cheap calls that mostly wait on the network: by default more run at once than changes
  // (Terraform reads 10 at a time, which makes refresh latency-bound at fleet scale). An explicit
  // --parallelism caps reads too.
  const parallelism = opts.parallelism ?? DEFAULT_READ_PARALLELISM;
  const destroy = opts.destroy === true;
  // Moves come first, as in Terraform: refresh and the walk see the objects at their new addresses.
  const moved = destroy ? new Map<string, string>() : impliedMoves(ws, state);

  await upgradePhase(ws, state, parallelism, diags);
  if (hasErrors(diags)) throw new EngineError(diags);
  // The state as the last run left it, upgraded to the current schemas (Terraform's PrevRunState).
  // Its own entries and instance lists, sharing the instance objects: the phases below replace
  // instances, lists and entries of `state`, never change an instance object (a deep copy of a fleet's
  // state was a tenth of the plan's own CPU).
  const prevRunState: StateV4 = { ...state, resources: state.resources.map((r) => ({ ...r, instances: [...r.instances] })) };
  if (opts.refresh !== false) await refreshPhase(ws, state, parallelism, opts, diags);
  if (hasErrors(diags)) throw new EngineError(diags);

  const values = instanceValues(ws);
  for (const x of stateInstances(state)) values.set(resourceAddress(x.resource), x.key, x.instance.attributes);
  const lookup = makeLookup(ws, values);
  const marks = new InstanceMarkStore();
  for (const x of stateInstances(state).filter((i) => i.instance.deposed === undefined)) {
    const name = ws.byAddress.get(resourceAddress(x.resource))?.provider ?? providerNameFor(ws, x.resource.provider);
    const sch = ws.schemas.get(name);
    marks.set(x.address, stateMarks((x.resource.mode === 'data' ? sch?.dataSources : sch?.resources)?.[x.resource.type]?.block, x.instance));
  }
  const changes: ResourceChange[] = [];
  let configured = new Set<string>();
  if (!destroy) {
    const prefetched = await prefetchPhase(ws, lookup, parallelism, opts.signal);
    const walked = await walkPhase({ ws, state, values, lookup, prefetched, moved, signal: opts.signal, diags, marks, mayMark: mayMark(ws.config) });
    changes.push(...walked.changes);
    configured = walked.configured;
  }
  changes.push(...orphansPhase(ws, state, configured, destroy, diags));
  changes.push(...deposedPhase(ws, state, diags));
  if (hasErrors(diags)) throw new EngineError(diags);

  const targets = opts.targets ?? [];
  const kept = targetPhase(ws, state, changes, targets, destroy);
  // Outputs: with targets, only those whose every reference is in the selection (Terraform's targeting);
  // a targeted destroy leaves the outputs alone.
  const selectedAddresses = new Set(kept.map((c) => resourceAddress(c)));
  const scope = typeScope(ws);
  let locals: Map<string, Set<string>> | undefined;
  const localTargets = () => (locals ??= localDependencies(ws.config.locals, new Set(ws.byAddress.keys()), ws.config.variables, []));
  const outputChanges = destroy && targets.length > 0 ? [] : planOutputs(ws.config.outputs, state.outputs, (o) => evaluateOutput(o, lookup, scope), {
    destroy,
    ...(targets.length > 0 ? { only: (o) => outputReferences(o).every((r) => r.kind === 'var' || (r.kind === 'local' ? [...(localTargets().get(r.target.slice(6)) ?? [])].every((t) => selectedAddresses.has(t)) : selectedAddresses.has(r.target))) } : {}),
  }, diags);
  if (hasErrors(diags)) throw new EngineError(diags);
  for (const c of kept) {
    const wo = c.mode === 'managed' ? writeOnlyPaths(ws.schemas.get(c.provider)?.resources[c.type]?.block, c.after ?? c.before) : [];
    if (wo.length > 0) c.writeOnly = wo;
  }
  return {
    stackName: ws.config.stack.name,
    // Read when asked (a saved plan): hashing the configuration costs per resource, and a plan
    // shown or printed as JSON never needs it.
    get configHash() { return ws.config.hash; },
    statePath: ws.config.statePath,
    prior,
    prevRunState,
    priorState: state,
    changes: kept,
    outputChanges,
    destroy,
    targets,
    createdAt: new Date().toISOString(),
    warnings: [...ws.config.warnings, ...diags.filter((d) => d.severity === 'warning')],
    metadata: Object.fromEntries(ws.config.resources.filter((r) => r.metadata !== undefined).map((r) => [r.address, r.metadata!])),
    analysisOptions: opts.analysisOptions ?? {},
  };
}

/** A managed object that refresh found changed or gone since the last run (Terraform's resource drift). */
export type OutsideChange = {
  address: string;
  type: string;
  name: string;
  kind: 'deleted' | 'changed';
  /** As the last run left it. */
  before: ObjectValue;
  /** As refresh read it; null when deleted. */
  after: ObjectValue | null;
  /** Sensitive paths, as the last run recorded them. */
  sensitive?: Path[];
};

/**
 * What changed outside of eksidp: prevRunState against priorState, for the managed objects that
 * matter to this plan. As Terraform, an object that was deleted is always reported; one that changed
 * only when the plan acts on it (a change the plan leaves alone, such as a computed attribute moving,
 * would only be noise). Pure: works on the plan model only.
 */
export function outsideChanges(plan: Plan): OutsideChange[] {
  const after = new Map(stateInstances(plan.priorState).filter((x) => x.resource.mode === 'managed').map((x) => [x.address, x.instance]));
  const acted = new Set(plan.changes.filter((c) => !(c.actions.length === 1 && c.actions[0] === 'no-op')).map((c) => c.address));
  const out: OutsideChange[] = [];
  for (const { address, resource: r, instance } of stateInstances(plan.prevRunState)) {
    if (r.mode !== 'managed') continue;
    const before = instance.attributes as ObjectValue;
    const now = after.get(address)?.attributes as ObjectValue | undefined;
    const sensitive = fromStatePaths(instance.sensitive_attributes);
    const sens = sensitive.length > 0 ? { sensitive } : {};
    if (!now) out.push({ address, type: r.type, name: r.name, kind: 'deleted', before, after: null, ...sens });
    else if (acted.has(address) && !valuesEqual(before, now, EXACT)) out.push({ address, type: r.type, name: r.name, kind: 'changed', before, after: now, ...sens });
  }
  return out;
}
