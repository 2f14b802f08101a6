import type { Lookup } from './expressions';
import type { Diagnostic, ObjectValue, RequestSlots, Value } from './protocol';
import { hasErrors } from './protocol';
import { appliedOutputs, evaluateOutput } from './outputs';
import { instanceValues, lookupForInstance, makeLookup, type Plan, type ResourceChange } from './plan';
import type { InstanceValues } from './instances';
import { proposedNew } from './schema';
import { normalise } from './hcl/marks';
import { schemaSensitivePaths, toStatePaths } from './sensitive';
import { setMaxListeners } from 'node:events';
import { Limiter } from '../lib/concurrency';
import { instanceKey, newDeposedKey, resourceAddress, stateInstances, withPrivate, type StateManager } from './state';
import { canonicalJson, containsUnknown, error, sha256 } from './util';
import { addTo } from '../lib/collections';
import { resolveConfig, resourceSchema, timeoutsOf, typeScope, type Workspace } from './workspace';

/**
 * API requests in flight during apply when --parallelism is not given: twice the refresh's 32. A
 * fleet's waits end in waves (every cluster's update ends at about the same time, and each then
 * sends its next request), and at 20 ms a call 32 in flight cap a wave at 1,600 calls/s, which made
 * a 1,000-cluster rotation wait for slots (bench/README.md). The API's adaptive rate (rate.ts), not
 * this bound, is what keeps a real account from being flooded.
 */
export const DEFAULT_APPLY_REQUESTS = 64;

/**
 * Apply executes a finished plan, never planning anew: values that were unknown at plan time are
 * filled in as dependencies complete, and the provider's final plan must agree with the saved one.
 *
 * Resume after a crash: every change carries a deterministic idempotency token (hash of lineage,
 * the plan's prior serial, address, step and the final planned values). A re-run after a crash
 * before any state write plans the same create with the same values, so the provider sends the
 * same token (EKS clientRequestToken) and gets the object already being made instead of a second
 * one; otherwise the EKS provider finds the object still CREATING on its own and waits for it.
 * So no extra "read planned resource" hook is needed.
 */

export type StepKind = 'create' | 'update' | 'delete' | 'read';

/**
 * What apply reports as it goes, as Terraform's hooks do (PreApply, PostApply, the provider's
 * progress): data only. A view turns them into lines, and owns the clock and the "Still creating..."
 * ticker (cli/views/apply.ts); the engine never prints.
 */
export type ApplyEvent =
  /**
   * Before the first step: every step of the plan, with its group, the provider's concurrency key
   * (steps of one group run one at a time: one EKS cluster's updates), so a view can count per group.
   */
  | { type: 'begin'; steps: { address: string; action: StepKind; group?: string }[] }
  /** A step starts; `id` is the object's id when it exists already (update, delete, read). */
  | { type: 'pre'; address: string; action: StepKind; id?: string }
  /** A provider's message while it waits (an association still CREATING...). */
  | { type: 'progress'; address: string; action: StepKind; message: string }
  /** A step ended: failed when its diagnostics hold an error; `id` of the object it left, when it succeeded. */
  | { type: 'post'; address: string; action: StepKind; failed: boolean; id?: string; diagnostics: Diagnostic[] };

export type ApplyOptions = {
  parallelism?: number;
  signal?: AbortSignal;
  onEvent?: (event: ApplyEvent) => void;
};

export type ApplyResult = {
  diagnostics: Diagnostic[];
  added: number;
  changed: number;
  destroyed: number;
  skipped: string[];
  notStarted: string[];
  interrupted: boolean;
};

type Step = {
  id: string;
  change: ResourceChange;
  kind: StepKind;
  /**
   * The deposed key of the object this step deletes: a deposed object in state, or for
   * create_before_destroy the old object, which the create step deposes under this key once the new
   * one exists (a failed delete leaves it deposed, as Terraform does).
   */
  deposed?: string;
  waits: Set<string>;
  status: 'pending' | 'running' | 'ok' | 'failed' | 'skipped';
  key?: string;
  /** The provider's concurrency key, as events report it. */
  group?: string;
};

/**
 * The plan's prior serial is part of the token: a later plan (after the change completed, or after
 * a destroy) must not replay an old request, which EKS would answer with the old, possibly deleted,
 * object. A re-plan after a crash that wrote nothing has the same serial and so the same tokens;
 * after a crash that wrote state, the provider finds the object being made on its own (EKS answers
 * "already exists" / "in use") and waits for it instead of making it twice.
 */
export function idempotencyToken(lineage: string, serial: number, address: string, kind: StepKind, planned: Value): string {
  return sha256(`${lineage}\n${serial}\n${address}\n${kind}\n${canonicalJson(planned)}`).slice(0, 32);
}

/**
 * The plan's changes as steps (a replacement is two: delete then create, or create then the deposed
 * delete), each with the steps it waits for. Creates, updates and reads wait for every changing
 * dependency; deleting X waits until whatever depended on X (per prior state) is deleted. Indexes by
 * address, not a scan of every step per step: fleets have hundreds.
 */
function buildSteps(plan: Plan): Step[] {
  const steps: Step[] = [];
  const add = (change: ResourceChange, kind: StepKind, deposed?: string) => {
    const s: Step = { id: `${change.address}#${kind}${deposed !== undefined ? `-deposed-${deposed}` : ''}`, change, kind, ...(deposed !== undefined ? { deposed } : {}), waits: new Set(), status: 'pending' };
    steps.push(s);
    return s;
  };
  for (const c of plan.changes) {
    const a = c.actions;
    if (a[0] === 'no-op') continue;
    if (c.deposed !== undefined) add(c, 'delete', c.deposed);
    else if (a.length === 2 && a[0] === 'delete') { const d = add(c, 'delete'); add(c, 'create').waits.add(d.id); }
    else if (a.length === 2) { const key = newDeposedKey(); const cr = add(c, 'create', key); add(c, 'delete', key).waits.add(cr.id); }
    else add(c, a[0] as StepKind);
  }
  const forward = (k: StepKind) => k !== 'delete';
  // Forward steps by their address; the deletes of the objects that depended on an address.
  // Dependencies are resource addresses: a step waits for every instance of the resources it depends on.
  const forwardAt = new Map<string, Step[]>();
  const deletesOfDependents = new Map<string, Step[]>();
  for (const s of steps) {
    if (forward(s.kind)) addTo(forwardAt, resourceAddress(s.change), s);
    else if (s.deposed === undefined) for (const d of new Set(s.change.priorDependencies)) addTo(deletesOfDependents, d, s);
  }
  for (const s of steps) {
    const waitsFor = forward(s.kind)
      ? s.change.dependencies.flatMap((d) => forwardAt.get(d) ?? [])
      : deletesOfDependents.get(resourceAddress(s.change)) ?? [];
    for (const o of waitsFor) if (o !== s) s.waits.add(o.id);
  }
  return steps;
}

/** What every step executor shares: the workspace and plan, the state it writes, the values references resolve against. */
type Run = {
  ws: Workspace;
  plan: Plan;
  state: StateManager;
  lineage: string;
  values: InstanceValues;
  lookup: Lookup;
  result: ApplyResult;
  signal: AbortSignal | undefined;
  /** The request slots a step's provider sends through, when it declares requestSlots. */
  requests: (s: Step) => { requests?: RequestSlots };
};

/** Executes one step, adding its diagnostics to `diags` (an error means it failed). `progress` forwards the provider's messages. */
type Executor = (run: Run, s: Step, progress: (message: string) => void, diags: Diagnostic[]) => Promise<void>;

/** The object's sensitive paths in state's format: the plan's, and its schema's over the values apply ended with. */
function appliedMarks(run: Run, c: ResourceChange, value: ObjectValue): unknown[] {
  const block = resourceSchema(run.ws, { provider: c.provider, type: c.type, mode: c.mode })?.block;
  if (!block) return [];
  return toStatePaths(block, normalise([...(c.afterSensitive ?? []), ...schemaSensitivePaths(block, value)]));
}

/** A data source read deferred to apply (its configuration held unknowns or a dependency changed). */
const readStep: Executor = async (run, s, _progress, diags) => {
  const c = s.change;
  const conf = run.ws.byAddress.get(resourceAddress(c))!;
  const lookup = lookupForInstance(run.ws, conf, run.lookup, c.index, diags);
  if (!lookup || hasErrors(diags)) return;
  const config = resolveConfig(run.ws, conf, lookup, diags, c.address);
  if (hasErrors(diags)) return;
  const res = await run.ws.providers.get(c.provider)!.readDataSource({ typeName: c.type, address: c.address, config, signal: run.signal });
  diags.push(...res.diagnostics);
  if (res.state) {
    run.values.set(resourceAddress(c), c.index, res.state);
    run.state.set({ mode: 'data', type: c.type, name: c.name, provider: c.providerAddress, ...(c.index !== undefined ? { index: c.index } : {}) }, { schema_version: c.schemaVersion, attributes: res.state, sensitive_attributes: appliedMarks(run, c, res.state) });
    run.state.checkpoint();
  }
};

/**
 * A delete. A deposed object (left in state, or the old object of a create_before_destroy) leaves
 * the state once deleted and stays deposed when the delete fails; the current object is untouched.
 */
const deleteStep: Executor = async (run, s, progress, diags) => {
  const c = s.change;
  // The object's own private data (a deposed object's is kept with it under its key).
  const priv = s.deposed !== undefined ? run.state.find(c.address)?.instances.find((i) => i.deposed === s.deposed && instanceKey(i) === c.index)?.private : run.state.instance(c.address)?.private;
  const res = await run.ws.providers.get(c.provider)!.applyResourceChange({
    typeName: c.type, address: c.address, priorState: c.before, plannedState: null, config: null,
    timeouts: timeoutsOf(c.before, c.address), idempotencyToken: idempotencyToken(run.lineage, run.plan.prior.serial, c.address, 'delete', c.before), progress, signal: run.signal,
    ...run.requests(s), ...(priv ? { plannedPrivate: priv } : {}),
  });
  diags.push(...res.diagnostics);
  const failed = hasErrors(res.diagnostics);
  const entry = { mode: 'managed' as const, type: c.type, name: c.name, provider: c.providerAddress, ...(c.index !== undefined ? { index: c.index } : {}) };
  if (s.deposed === undefined) {
    const inst = run.state.instance(c.address);
    if (!failed) run.state.set(entry, null);
    else if (res.newState && inst) run.state.set(entry, withPrivate({ ...inst, attributes: res.newState }, 'private' in res ? res.private : inst.private));
  } else if (!failed) {
    // Keeps the resource's provider as state has it (the current object's configuration may have moved).
    const r = run.state.find(c.address);
    run.state.set(r ? { ...entry, provider: r.provider } : entry, null, s.deposed);
  }
  run.state.checkpoint();
  if (!failed) {
    run.result.destroyed++;
    // A deposed object's delete leaves the instance's value alone: its current object holds it.
    if (s.deposed === undefined) run.values.set(resourceAddress(c), c.index, null);
  }
};

/**
 * A create or an update: values unknown at plan time are now known, so the provider gives its final
 * plan (which must not turn an update into a replacement), then applies it; the object it returns
 * goes to state, tainted when a create failed part-way.
 */
const changeStep: Executor = async (run, s, progress, diags) => {
  const c = s.change;
  const provider = run.ws.providers.get(c.provider)!;
  const conf = run.ws.byAddress.get(resourceAddress(c));
  const prior = s.kind === 'create' ? null : c.before;
  let planned = c.after!;
  let plannedPrivate = c.plannedPrivate;
  let config: ObjectValue | null = null;
  const lookup = conf ? lookupForInstance(run.ws, conf, run.lookup, c.index, diags) : undefined;
  if (conf && lookup && !hasErrors(diags)) {
    config = resolveConfig(run.ws, conf, lookup, diags, c.address);
    if (!hasErrors(diags) && containsUnknown(c.after)) {
      const schema = resourceSchema(run.ws, conf)!;
      const priorPrivate = prior ? run.state.instance(c.address)?.private : undefined;
      const res = provider.planResourceChange({ typeName: c.type, address: c.address, priorState: prior, proposedNewState: proposedNew(schema.block, prior, config), config, ...(priorPrivate ? { priorPrivate } : {}) });
      diags.push(...res.diagnostics);
      if (!hasErrors(res.diagnostics)) {
        if (!res.plannedState || (s.kind === 'update' && res.requiresReplace.length > 0)) {
          diags.push(error('Provider produced an inconsistent final plan: the change now requires replacement; run plan again', c.address, res.requiresReplace[0]));
        } else { planned = res.plannedState; plannedPrivate = res.plannedPrivate; }
      }
    }
  }
  if (hasErrors(diags)) return;
  // create_before_destroy: the object being replaced, deposed once the new one exists.
  const old = s.deposed !== undefined ? run.state.instance(c.address) : undefined;
  const res = await provider.applyResourceChange({
    typeName: c.type, address: c.address, priorState: prior, plannedState: planned, config,
    timeouts: timeoutsOf(config, c.address), idempotencyToken: idempotencyToken(run.lineage, run.plan.prior.serial, c.address, s.kind, planned), progress, signal: run.signal,
    ...run.requests(s), ...(plannedPrivate ? { plannedPrivate } : {}),
  });
  diags.push(...res.diagnostics);
  const failed = hasErrors(res.diagnostics);
  // A provider that answers no private data (a failed call) leaves an update's object with its own.
  const priv = 'private' in res ? res.private : s.kind === 'create' ? undefined : run.state.instance(c.address)?.private;
  if (res.newState) {
    run.values.set(resourceAddress(c), c.index, res.newState);
    const entry = { mode: 'managed' as const, type: c.type, name: c.name, provider: c.providerAddress, ...(c.index !== undefined ? { index: c.index } : {}) };
    if (old && s.deposed !== undefined) run.state.set(entry, old, s.deposed);
    run.state.set(entry, {
      // A create that failed part-way leaves an object to replace on the next run, as Terraform taints it.
      // Key order follows Terraform's writer (status before schema_version).
      ...(failed && s.kind === 'create' ? { status: 'tainted' as const } : {}),
      schema_version: c.schemaVersion,
      attributes: res.newState,
      sensitive_attributes: appliedMarks(run, c, res.newState),
      ...(priv ? { private: priv } : {}),
      ...(c.dependencies.length ? { dependencies: c.dependencies } : {}),
      ...(c.actions.join() === 'create,delete' ? { create_before_destroy: true } : {}),
    });
  } else if (s.kind === 'create' && !failed) {
    diags.push(error('provider returned no object after create', c.address));
  }
  run.state.checkpoint();
  if (!failed && res.newState) {
    if (s.kind === 'create') run.result.added++; else run.result.changed++;
  }
};

const EXECUTORS: Record<StepKind, Executor> = { read: readStep, delete: deleteStep, create: changeStep, update: changeStep };

export async function apply(ws: Workspace, plan: Plan, state: StateManager, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const diagnostics: Diagnostic[] = [];
  const result: ApplyResult = { diagnostics, added: 0, changed: 0, destroyed: 0, skipped: [], notStarted: [], interrupted: false };
  // Start from the refreshed state the plan was made from (refresh results and data sources).
  state.replaceResources(structuredClone(plan.priorState.resources));
  await state.persist();

  const values = instanceValues(ws);
  for (const x of stateInstances(state.state)) values.set(resourceAddress(x.resource), x.key, x.instance.attributes);
  // What the plan decided: planned values, and instances planned for deletion gone (count 2 → 1 makes
  // a one-element tuple); a deposed object's delete leaves its instance's current object.
  for (const c of plan.changes) {
    if (c.after) values.set(resourceAddress(c), c.index, c.after);
    else if (c.actions.length === 1 && c.actions[0] === 'delete' && c.deposed === undefined) values.set(resourceAddress(c), c.index, null);
  }
  // --parallelism bounds API requests in flight (by default DEFAULT_APPLY_REQUESTS). A
  // provider with requestSlots takes a slot per request and waits outside them, so its steps start as
  // soon as their dependencies and their key allow (a fleet's clusters all progress at once); any
  // other step holds a slot throughout, as Terraform's parallelism does.
  const slots = new Limiter(Math.max(1, opts.parallelism ?? DEFAULT_APPLY_REQUESTS));
  const slotted = (s: Step) => s.kind !== 'read' && ws.providers.get(s.change.provider)?.getSchema().capabilities?.requestSlots === true;
  // A fleet apply waits on thousands of requests and sleeps at once, each listening for the abort.
  if (opts.signal) setMaxListeners(0, opts.signal);
  const run: Run = {
    ws, plan, state, lineage: state.state.lineage, values, lookup: makeLookup(ws, values), result, signal: opts.signal,
    requests: (s) => (slotted(s) ? { requests: slots } : {}),
  };
  const emit = opts.onEvent ?? (() => undefined);

  const steps = buildSteps(plan);
  const byId = new Map(steps.map((s) => [s.id, s]));
  // Who waits for each step, so a failure skips its dependents without a scan of every step.
  const waitedBy = new Map<string, Step[]>();
  for (const s of steps) {
    for (const w of s.waits) addTo(waitedBy, w, s);
    const provider = ws.providers.get(s.change.provider);
    // Keys are per provider configuration: two aliases (regions, accounts) never share a cluster.
    const key = provider?.concurrencyKey?.(s.change.type, s.change.after ?? s.change.before);
    s.key = key === undefined ? undefined : `${s.change.provider}\u0000${key}`;
    s.group = key;
  }
  emit({ type: 'begin', steps: steps.map((s) => ({ address: s.change.address, action: s.kind, ...(s.group !== undefined ? { group: s.group } : {}) })) });
  const busyKeys = new Set<string>();
  // Pending steps per key, so a step's end looks at the steps it may free, not at every step.
  const byKey = new Map<string, Step[]>();
  for (const s of steps) if (s.key !== undefined) addTo(byKey, s.key, s);
  let running = 0;

  const runStep = async (s: Step): Promise<boolean> => {
    const c = s.change;
    const priorId = s.kind === 'create' ? undefined : c.before?.id;
    emit({ type: 'pre', address: c.address, action: s.kind, ...(typeof priorId === 'string' ? { id: priorId } : {}) });
    const progress = (message: string) => emit({ type: 'progress', address: c.address, action: s.kind, message });
    const stepDiags: Diagnostic[] = [];
    try {
      await EXECUTORS[s.kind](run, s, progress, stepDiags);
    } catch (e) {
      stepDiags.push(error(`${s.kind} failed: ${(e as Error).message}`, c.address));
    }
    const withAddress = stepDiags.map((d) => ({ ...d, address: d.address ?? c.address }));
    diagnostics.push(...withAddress);
    const failed = hasErrors(withAddress);
    const id = failed || s.kind === 'delete' ? undefined : state.instance(c.address)?.attributes.id;
    emit({ type: 'post', address: c.address, action: s.kind, failed, ...(typeof id === 'string' ? { id } : {}), diagnostics: withAddress });
    return !failed;
  };

  // A step waiting on a failed or skipped one is skipped, and so on down.
  const skipDependents = (s: Step) => {
    for (const d of waitedBy.get(s.id) ?? []) {
      if (d.status !== 'pending') continue;
      d.status = 'skipped';
      skipDependents(d);
    }
  };

  // Interrupted, or a state that cannot be stored (what runs finishes), as Terraform halts on a failed persist.
  const mayStart = () => !opts.signal?.aborted && state.writeError === undefined;
  await new Promise<void>((resolve) => {
    // Starts those of `candidates` that may run now; a step's end offers its dependents and its key's steps.
    const tick = (candidates: Iterable<Step>) => {
      if (mayStart()) {
        for (const s of candidates) {
          if (s.status !== 'pending') continue;
          if (![...s.waits].every((w) => byId.get(w)!.status === 'ok')) continue;
          if (s.key !== undefined && busyKeys.has(s.key)) continue;
          s.status = 'running';
          running++;
          if (s.key !== undefined) busyKeys.add(s.key);
          // A step queued for a slot starts only if nothing has stopped the apply meanwhile.
          const queued = () => (mayStart() ? runStep(s) : Promise.resolve(undefined));
          void (slotted(s) ? runStep(s) : slots.run(queued)).then((ok) => {
            s.status = ok === undefined ? 'pending' : ok ? 'ok' : 'failed';
            if (ok === false) skipDependents(s);
            running--;
            if (s.key !== undefined) busyKeys.delete(s.key);
            tick([...(waitedBy.get(s.id) ?? []), ...(s.key !== undefined ? byKey.get(s.key)! : [])]);
          });
        }
      }
      if (running === 0) resolve();
    };
    tick(steps);
  });

  result.interrupted = opts.signal?.aborted === true;
  for (const s of steps) {
    if (s.status === 'skipped') result.skipped.push(s.change.address);
    if (s.status === 'pending') result.notStarted.push(s.change.address);
  }
  // Something left pending without an interrupt or a failed state write means a dependency cycle among steps.
  if (!result.interrupted && state.writeError === undefined && result.notStarted.length > 0) diagnostics.push(error(`could not order these changes (cycle between steps): ${result.notStarted.join(', ')}`));
  // Outputs from the values apply ended with (an output whose resources failed keeps its prior value).
  if (!result.interrupted) {
    const scope = typeScope(ws);
    state.setOutputs(appliedOutputs(plan.outputChanges, state.state.outputs, ws.config.outputs, (o) => evaluateOutput(o, run.lookup, scope)));
  }
  if (result.interrupted) diagnostics.push(error(`Apply interrupted: ${result.notStarted.length} change(s) not started${result.notStarted.length ? ` (${result.notStarted.join(', ')})` : ''}`));
  else if (state.writeError !== undefined) {
    diagnostics.push(error(`Failed to save state to ${state.file}: ${(state.writeError as Error).message ?? String(state.writeError)}; ${result.notStarted.length} change(s) not started${result.notStarted.length ? ` (${result.notStarted.join(', ')})` : ''}`));
  }
  await state.persist();
  return result;
}
