import { getPath, withLocals, type Lookup } from './expressions';
import { localDependencies, transitiveDeps } from './graph';
import type { Diagnostic, ObjectValue, Path, ReadDataSourceResponse, Value } from './protocol';
import { hasErrors, isUnknown, UNKNOWN } from './protocol';
import { proposedNew } from './schema';
import { resourceAddress, withPrivate, type StateInstance, type StateResource, type StateV4 } from './state';
import { mapBounded } from '../lib/concurrency';
import { clone, containsUnknown, EngineError, error, EXACT, isObject, valuesEqual } from './util';
import { providerNameFor, resolveConfig, resourceSchema, typeScope, type Workspace } from './workspace';
import type { ResourceConfig } from './config';
import { providerConfigAddress } from './config';
import { evaluateOutput, outputChanged, outputReferences, planOutputs, type OutputChange } from './outputs';

/** API requests in flight at once when --parallelism is not given: refresh reads, and apply's requests (apply.ts). */
export const DEFAULT_READ_PARALLELISM = 32;

/**
 * Planning: refresh the state, then compare configuration with state resource by resource through
 * the provider's planResourceChange. The result is an immutable Plan; apply executes exactly it.
 */

export type Action = 'no-op' | 'create' | 'read' | 'update' | 'delete';

export type ResourceChange = {
  address: string;
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
  /** Terraform's action_reason, when it gives one. */
  reason?: 'replace_because_cannot_update' | 'replace_because_tainted' | 'delete_because_no_resource_config';
  /** Transitive dependencies (recorded in state). */
  dependencies: string[];
  /** Dependencies recorded in the prior state (for delete ordering). */
  priorDependencies: string[];
  schemaVersion: number;
  /** The provider's private data for this change (plan → apply), opaque to the engine. */
  plannedPrivate?: string;
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
  return plan.changes.some((c) => !(c.actions.length === 1 && c.actions[0] === 'no-op')) || plan.outputChanges.some(outputChanged);
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
export function planInstance(ws: Workspace, r: ResourceConfig, config: ObjectValue, inst: StateInstance | undefined, diags: Diagnostic[]): PlannedInstance | undefined {
  const address = r.address;
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

export function makeLookup(ws: Workspace, values: Map<string, Value>): Lookup {
  return withLocals(ws.config.locals, (ref) => {
    if (ref.kind === 'var') return { value: ws.config.variables[ref.target.slice(4)] ?? null };
    const v = values.get(ref.target);
    if (v === undefined) return { value: UNKNOWN };
    if (v === null) return { error: `${ref.target} has no value (it is planned for deletion or was not created)` };
    return getPath(v, ref.path);
  });
}

/**
 * Refresh: every managed resource read in parallel (bounded); gone objects leave the state. Read
 * failures become diagnostics (the object keeps its last known values meanwhile).
 */
async function refreshPhase(ws: Workspace, state: StateV4, parallelism: number, opts: PlanOptions, diags: Diagnostic[]): Promise<void> {
  const managed = state.resources.filter((r) => r.mode === 'managed' && r.instances.length > 0);
  let done = 0;
  opts.onRefresh?.(0, managed.length);
  const results = await mapBounded(managed, parallelism, async (r) => {
    const inst = r.instances[0]!;
    const kept = { r, newState: inst.attributes as ObjectValue | null, private: inst.private };
    if (opts.signal?.aborted) return kept;
    const address = resourceAddress(r);
    // A resource in the configuration is read through its configuration's provider (it may have moved to an alias).
    const provider = ws.providers.get(ws.byAddress.get(address)?.provider ?? providerNameFor(ws, r.provider))!;
    try {
      const res = await provider.readResource({ typeName: r.type, address, priorState: inst.attributes, ...(inst.private ? { private: inst.private } : {}), signal: opts.signal });
      diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? address })));
      return { r, newState: res.newState, private: 'private' in res ? res.private : inst.private };
    } catch (e) {
      diags.push(error(`refresh failed: ${(e as Error).message}`, address));
      return kept;
    } finally {
      opts.onRefresh?.(++done, managed.length);
    }
  });
  if (opts.signal?.aborted) diags.push(error('plan interrupted'));
  const gone = new Set<StateResource>();
  for (const { r, newState, private: priv } of results) {
    if (newState === null) gone.add(r);
    else r.instances[0] = withPrivate({ ...r.instances[0]!, attributes: newState }, priv);
  }
  if (gone.size > 0) state.resources = state.resources.filter((r) => !gone.has(r));
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
  const independent = ws.graph.order.filter((a) => ws.byAddress.get(a)!.mode === 'data' && (ws.graph.deps.get(a)?.size ?? 0) === 0);
  await mapBounded(independent, parallelism, async (address) => {
    const r = ws.byAddress.get(address)!;
    const scratch: Diagnostic[] = [];
    const config = resolveConfig(ws, r, lookup, scratch);
    if (scratch.length > 0 || containsUnknown(config)) return;
    prefetched.set(address, await ws.providers.get(r.provider)!.readDataSource({ typeName: r.type, address, config, signal }));
  });
  return prefetched;
}

/** What the walk reads and fills: the refreshed state and every resource's value by address, as references see them. */
type WalkContext = {
  ws: Workspace;
  state: StateV4;
  values: Map<string, Value>;
  lookup: Lookup;
  prefetched: Map<string, ReadDataSourceResponse>;
  signal: AbortSignal | undefined;
  diags: Diagnostic[];
};

/**
 * The walk: every configured resource in dependency order, each against its refreshed state. A
 * managed resource goes through planInstance; a data source is read now (its state entry replaced
 * or added), or deferred to apply when its configuration holds unknowns or a dependency changes.
 */
async function walkPhase(cx: WalkContext): Promise<ResourceChange[]> {
  const { ws, state, values, lookup, diags } = cx;
  // Maps, not searches per resource: plans read every resource and fleets have hundreds.
  const entries = new Map(state.resources.map((x) => [resourceAddress(x), x]));
  const indexOf = new Map(state.resources.map((x, i) => [resourceAddress(x), i]));
  const changing = new Set<string>();
  const changes: ResourceChange[] = [];
  const add = (c: ResourceChange) => {
    changes.push(c);
    if (c.actions[0] !== 'no-op') changing.add(c.address);
  };
  for (const address of ws.graph.order) {
    const r = ws.byAddress.get(address)!;
    const provider = ws.providers.get(r.provider)!;
    const schema = resourceSchema(ws, r)!;
    const pAddr = providerConfigAddress(ws.config.providers.get(r.provider)!);
    const before = diags.length;
    const config = resolveConfig(ws, r, lookup, diags);
    if (diags.length > before) continue;
    const base = { address, mode: r.mode, type: r.type, name: r.name, provider: r.provider, providerAddress: pAddr, dependencies: [...transitiveDeps(ws.graph.deps, address)].sort(), schemaVersion: schema.version };
    if (r.mode === 'data') {
      const pending = [...ws.graph.deps.get(address) ?? []].some((d) => changing.has(d));
      if (containsUnknown(config) || pending) {
        const after = unknownComputed(ws, r, config);
        values.set(address, after);
        add({ ...base, actions: ['read'], before: null, after, replacePaths: [], priorDependencies: [] });
        continue;
      }
      const res = cx.prefetched.get(address) ?? await provider.readDataSource({ typeName: r.type, address, config, signal: cx.signal });
      diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? address })));
      // A read that failed has said why already (e.g. no credentials): "no object" would only mislead.
      if (res.state === null) { if (!hasErrors(res.diagnostics)) diags.push(error('data source returned no object', address)); continue; }
      values.set(address, res.state);
      const entry = { mode: 'data' as const, type: r.type, name: r.name, provider: pAddr, instances: [{ schema_version: schema.version, attributes: res.state, sensitive_attributes: [] }] };
      const idx = indexOf.get(address);
      if (idx !== undefined) state.resources[idx] = entry;
      else state.resources.push(entry);
      continue;
    }
    const entry = entries.get(address);
    // As Terraform, state records the provider configuration the configuration names now.
    if (entry && entry.provider !== pAddr) entry.provider = pAddr;
    const inst = entry?.instances[0];
    const planned = planInstance(ws, r, config, inst, diags);
    if (!planned) continue;
    values.set(address, planned.after);
    add({ ...base, ...planned, priorDependencies: inst?.dependencies ?? [] });
  }
  return changes;
}

/**
 * Orphans: managed objects in state but not configured (everything, for destroy) are deleted; data
 * sources that are not configured just leave the state.
 */
function orphansPhase(ws: Workspace, state: StateV4, configured: ReadonlySet<string>, destroy: boolean, diags: Diagnostic[]): ResourceChange[] {
  const changes: ResourceChange[] = [];
  const dropped = new Set<StateResource>();
  for (const r of state.resources) {
    const address = resourceAddress(r);
    if (configured.has(address)) continue;
    if (r.mode === 'data') { dropped.add(r); continue; }
    const inst = r.instances[0];
    if (!inst) continue;
    const conf = ws.byAddress.get(address);
    if (destroy && conf?.lifecycle.preventDestroy) diags.push(error('Instance cannot be destroyed: lifecycle.prevent_destroy is set', address));
    const provider = providerNameFor(ws, r.provider);
    const schema = ws.schemas.get(provider)?.resources[r.type];
    if (!schema) { diags.push(error(`provider "${provider}" has no resource type "${r.type}" (found in state)`, address)); continue; }
    changes.push({
      address, mode: 'managed', type: r.type, name: r.name, provider, providerAddress: r.provider, actions: ['delete'], before: inst.attributes as ObjectValue, after: null,
      replacePaths: [], ...(destroy && conf ? {} : { reason: 'delete_because_no_resource_config' as const }), dependencies: [], priorDependencies: inst.dependencies ?? [], schemaVersion: schema.version,
    });
  }
  if (dropped.size > 0) state.resources = state.resources.filter((r) => !dropped.has(r));
  return changes;
}

/**
 * Targeting (-target): the targets and what they need (their dependencies), or for destroy the
 * targets and what depends on them. An address neither configured nor in state is an error.
 */
function targetPhase(ws: Workspace, state: StateV4, changes: ResourceChange[], targets: readonly string[], destroy: boolean): ResourceChange[] {
  if (targets.length === 0) return changes;
  const known = new Set([...ws.byAddress.keys(), ...state.resources.map(resourceAddress)]);
  const unknown = targets.filter((t) => !known.has(t));
  // The diagnostic's address is the target: the summary does not repeat it.
  if (unknown.length > 0) throw new EngineError(unknown.map((t) => error('no such resource in the configuration or state (given as --target)', t)));
  const targeted = new Set(targets);
  const selected = new Set<string>(targets);
  if (destroy) {
    // Destroying a target also destroys what depends on it.
    for (const c of changes) if (c.priorDependencies.some((d) => targeted.has(d))) selected.add(c.address);
  } else {
    for (const t of targets) for (const d of transitiveDeps(ws.graph.deps, t)) selected.add(d);
  }
  return changes.filter((c) => selected.has(c.address));
}

/**
 * Plans in phases: refresh, prefetch (independent data sources), walk (the configuration in
 * dependency order), orphans (deletions), targeting. Diagnostics gather across phases; errors stop
 * the plan after refresh and after the orphans.
 */
export async function plan(ws: Workspace, stateIn: StateV4, prior: { lineage: string; serial: number }, opts: PlanOptions = {}): Promise<Plan> {
  const diags: Diagnostic[] = [];
  const state = structuredClone(stateIn);
  // Reads are cheap calls that mostly wait on the network: by default more run at once than changes
  // (Terraform reads 10 at a time, which makes refresh latency-bound at fleet scale). An explicit
  // --parallelism caps reads too.
  const parallelism = opts.parallelism ?? DEFAULT_READ_PARALLELISM;
  const destroy = opts.destroy === true;

  await upgradePhase(ws, state, parallelism, diags);
  if (hasErrors(diags)) throw new EngineError(diags);
  // The state as the last run left it, upgraded to the current schemas (Terraform's PrevRunState).
  const prevRunState = structuredClone(state);
  if (opts.refresh !== false) await refreshPhase(ws, state, parallelism, opts, diags);
  if (hasErrors(diags)) throw new EngineError(diags);

  const values = new Map<string, Value>();
  for (const r of state.resources) if (r.instances[0]) values.set(resourceAddress(r), r.instances[0].attributes);
  const lookup = makeLookup(ws, values);
  const changes: ResourceChange[] = [];
  if (!destroy) {
    const prefetched = await prefetchPhase(ws, lookup, parallelism, opts.signal);
    changes.push(...await walkPhase({ ws, state, values, lookup, prefetched, signal: opts.signal, diags }));
  }
  const configured = new Set<string>(destroy ? [] : ws.graph.order);
  changes.push(...orphansPhase(ws, state, configured, destroy, diags));
  if (hasErrors(diags)) throw new EngineError(diags);

  const targets = opts.targets ?? [];
  const kept = targetPhase(ws, state, changes, targets, destroy);
  // Outputs: with targets, only those whose every reference is in the selection (Terraform's targeting);
  // a targeted destroy leaves the outputs alone.
  const selectedAddresses = new Set(kept.map((c) => c.address));
  const scope = typeScope(ws);
  let locals: Map<string, Set<string>> | undefined;
  const localTargets = () => (locals ??= localDependencies(ws.config.locals, new Set(ws.byAddress.keys()), ws.config.variables, []));
  const outputChanges = destroy && targets.length > 0 ? [] : planOutputs(ws.config.outputs, state.outputs, (o) => evaluateOutput(o, lookup, scope), {
    destroy,
    ...(targets.length > 0 ? { only: (o) => outputReferences(o).every((r) => r.kind === 'var' || (r.kind === 'local' ? [...(localTargets().get(r.target.slice(6)) ?? [])].every((t) => selectedAddresses.has(t)) : selectedAddresses.has(r.target))) } : {}),
  }, diags);
  if (hasErrors(diags)) throw new EngineError(diags);
  return {
    stackName: ws.config.stack.name,
    configHash: ws.config.hash,
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
};

/**
 * What changed outside of eksidp: prevRunState against priorState, for the managed objects that
 * matter to this plan. As Terraform, an object that was deleted is always reported; one that changed
 * only when the plan acts on it (a change the plan leaves alone, such as a computed attribute moving,
 * would only be noise). Pure: works on the plan model only.
 */
export function outsideChanges(plan: Plan): OutsideChange[] {
  const after = new Map(plan.priorState.resources.filter((r) => r.mode === 'managed').map((r) => [resourceAddress(r), r]));
  const acted = new Set(plan.changes.filter((c) => !(c.actions.length === 1 && c.actions[0] === 'no-op')).map((c) => c.address));
  const out: OutsideChange[] = [];
  for (const r of plan.prevRunState.resources) {
    if (r.mode !== 'managed' || !r.instances[0]) continue;
    const address = resourceAddress(r);
    const before = r.instances[0].attributes as ObjectValue;
    const now = after.get(address)?.instances[0]?.attributes as ObjectValue | undefined;
    if (!now) out.push({ address, type: r.type, name: r.name, kind: 'deleted', before, after: null });
    else if (acted.has(address) && !valuesEqual(before, now, EXACT)) out.push({ address, type: r.type, name: r.name, kind: 'changed', before, after: now });
  }
  return out;
}
