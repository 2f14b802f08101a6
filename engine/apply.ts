import type { Diagnostic, ObjectValue, Value } from './protocol';
import { hasErrors } from './protocol';
import { makeLookup, type Plan, type ResourceChange } from './plan';
import { proposedNew } from './schema';
import type { StateManager } from './state';
import { canonicalJson, containsUnknown, error, sha256 } from './util';
import { resolveConfig, resourceSchema, timeoutsOf, type Workspace } from './workspace';

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
  /** For create-before-destroy: the old object is deleted after the new one exists, state untouched. */
  deposed: boolean;
  waits: Set<string>;
  status: 'pending' | 'running' | 'ok' | 'failed' | 'skipped';
  key?: string;
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

function buildSteps(plan: Plan): Step[] {
  const steps: Step[] = [];
  const add = (change: ResourceChange, kind: StepKind, deposed = false) => {
    const s: Step = { id: `${change.address}#${kind}${deposed ? '-deposed' : ''}`, change, kind, deposed, waits: new Set(), status: 'pending' };
    steps.push(s);
    return s;
  };
  for (const c of plan.changes) {
    const a = c.actions;
    if (a[0] === 'no-op') continue;
    if (a.length === 2 && a[0] === 'delete') { const d = add(c, 'delete'); add(c, 'create').waits.add(d.id); }
    else if (a.length === 2) { const cr = add(c, 'create'); add(c, 'delete', true).waits.add(cr.id); }
    else add(c, a[0] as StepKind);
  }
  const forward = (k: StepKind) => k !== 'delete';
  for (const s of steps) {
    if (forward(s.kind)) {
      // Creates, updates and reads wait for every changing dependency.
      const deps = new Set(s.change.dependencies);
      for (const o of steps) if (o !== s && forward(o.kind) && deps.has(o.change.address)) s.waits.add(o.id);
    } else {
      // Deleting X waits until whatever depended on X (per prior state) is deleted.
      for (const o of steps) if (o !== s && o.kind === 'delete' && !o.deposed && o.change.priorDependencies.includes(s.change.address)) s.waits.add(o.id);
    }
  }
  return steps;
}

export async function apply(ws: Workspace, plan: Plan, state: StateManager, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const diagnostics: Diagnostic[] = [];
  const result: ApplyResult = { diagnostics, added: 0, changed: 0, destroyed: 0, skipped: [], notStarted: [], interrupted: false };
  const lineage = state.state.lineage;
  // Start from the refreshed state the plan was made from (refresh results and data sources).
  state.replaceResources(structuredClone(plan.priorState.resources));
  await state.persist();

  const values = new Map<string, Value>();
  for (const r of state.state.resources) if (r.instances[0]) values.set(r.mode === 'data' ? `data.${r.type}.${r.name}` : `${r.type}.${r.name}`, r.instances[0].attributes);
  for (const c of plan.changes) if (c.after) values.set(c.address, c.after);
  const lookup = makeLookup(ws, values);

  const steps = buildSteps(plan);
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const s of steps) {
    const provider = ws.providers.get(s.change.provider);
    // Keys are per provider configuration: two aliases (regions, accounts) never share a cluster.
    const key = provider?.concurrencyKey?.(s.change.type, s.change.after ?? s.change.before);
    s.key = key === undefined ? undefined : `${s.change.provider}\u0000${key}`;
  }
  const limit = Math.max(1, opts.parallelism ?? 10);
  const busyKeys = new Set<string>();
  let running = 0;

  const runStep = async (s: Step): Promise<boolean> => {
    const c = s.change;
    const provider = ws.providers.get(c.provider)!;
    const stepDiags: Diagnostic[] = [];
    const emit = opts.onEvent ?? (() => undefined);
    const priorId = s.kind === 'create' ? undefined : c.before?.id;
    emit({ type: 'pre', address: c.address, action: s.kind, ...(typeof priorId === 'string' ? { id: priorId } : {}) });
    const progress = (message: string) => emit({ type: 'progress', address: c.address, action: s.kind, message });
    try {
      const conf = ws.byAddress.get(c.address);
      if (s.kind === 'read') {
        const config = resolveConfig(ws, conf!, lookup, stepDiags);
        if (!hasErrors(stepDiags)) {
          const res = await provider.readDataSource({ typeName: c.type, address: c.address, config, signal: opts.signal });
          stepDiags.push(...res.diagnostics);
          if (res.state) {
            values.set(c.address, res.state);
            state.set({ mode: 'data', type: c.type, name: c.name, provider: c.providerAddress }, { schema_version: c.schemaVersion, attributes: res.state, sensitive_attributes: [] });
            await state.persist();
          }
        }
      } else if (s.kind === 'delete') {
        const config = null;
        const res = await provider.applyResourceChange({
          typeName: c.type, address: c.address, priorState: c.before, plannedState: null, config,
          timeouts: timeoutsOf(c.before, c.address), idempotencyToken: idempotencyToken(lineage, plan.prior.serial, c.address, 'delete', c.before), progress, signal: opts.signal,
        });
        stepDiags.push(...res.diagnostics);
        if (!s.deposed) {
          const inst = state.instance(c.address);
          if (!hasErrors(res.diagnostics)) state.set(c, null);
          else if (res.newState && inst) state.set({ ...c, mode: 'managed', provider: c.providerAddress }, { ...inst, attributes: res.newState });
          await state.persist();
        }
        if (!hasErrors(res.diagnostics)) { result.destroyed++; values.set(c.address, null); }
      } else {
        const prior = s.kind === 'create' ? null : c.before;
        let planned = c.after!;
        let config: ObjectValue | null = null;
        if (conf) {
          config = resolveConfig(ws, conf, lookup, stepDiags);
          // Values unknown at plan time are now known: ask the provider for its final plan.
          if (!hasErrors(stepDiags) && containsUnknown(c.after)) {
            const schema = resourceSchema(ws, conf)!;
            const res = provider.planResourceChange({ typeName: c.type, address: c.address, priorState: prior, proposedNewState: proposedNew(schema.block, prior, config), config });
            stepDiags.push(...res.diagnostics);
            if (!hasErrors(res.diagnostics)) {
              if (!res.plannedState || (s.kind === 'update' && res.requiresReplace.length > 0)) {
                stepDiags.push(error('Provider produced an inconsistent final plan: the change now requires replacement; run plan again', c.address, res.requiresReplace[0]));
              } else planned = res.plannedState;
            }
          }
        }
        if (!hasErrors(stepDiags)) {
          const res = await provider.applyResourceChange({
            typeName: c.type, address: c.address, priorState: prior, plannedState: planned, config,
            timeouts: timeoutsOf(config, c.address), idempotencyToken: idempotencyToken(lineage, plan.prior.serial, c.address, s.kind, planned), progress, signal: opts.signal,
          });
          stepDiags.push(...res.diagnostics);
          const failed = hasErrors(res.diagnostics);
          if (res.newState) {
            values.set(c.address, res.newState);
            state.set({ mode: 'managed', type: c.type, name: c.name, provider: c.providerAddress }, {
              // A create that failed part-way leaves an object to replace on the next run, as Terraform taints it.
              // Key order follows Terraform's writer (status before schema_version).
              ...(failed && s.kind === 'create' ? { status: 'tainted' as const } : {}),
              schema_version: c.schemaVersion,
              attributes: res.newState,
              sensitive_attributes: [],
              ...(c.dependencies.length ? { dependencies: c.dependencies } : {}),
              ...(c.actions.join() === 'create,delete' ? { create_before_destroy: true } : {}),
            });
          } else if (s.kind === 'create' && !failed) {
            stepDiags.push(error('provider returned no object after create', c.address));
          }
          await state.persist();
          if (!failed && res.newState) {
            if (s.kind === 'create') result.added++; else result.changed++;
          }
        }
      }
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

  await new Promise<void>((resolve) => {
    const tick = () => {
      // Propagate failures: a step waiting on a failed or skipped one is skipped.
      let changed = true;
      while (changed) {
        changed = false;
        for (const s of steps) {
          if (s.status !== 'pending') continue;
          if ([...s.waits].some((w) => ['failed', 'skipped'].includes(byId.get(w)!.status))) { s.status = 'skipped'; changed = true; }
        }
      }
      if (!opts.signal?.aborted) {
        for (const s of steps) {
          if (running >= limit) break;
          if (s.status !== 'pending') continue;
          if (![...s.waits].every((w) => byId.get(w)!.status === 'ok')) continue;
          if (s.key !== undefined && busyKeys.has(s.key)) continue;
          s.status = 'running';
          running++;
          if (s.key !== undefined) busyKeys.add(s.key);
          void runStep(s).then((ok) => {
            s.status = ok ? 'ok' : 'failed';
            running--;
            if (s.key !== undefined) busyKeys.delete(s.key);
            tick();
          });
        }
      }
      if (running === 0) resolve();
    };
    tick();
  });

  result.interrupted = opts.signal?.aborted === true;
  for (const s of steps) {
    if (s.status === 'skipped') result.skipped.push(s.change.address);
    if (s.status === 'pending') result.notStarted.push(s.change.address);
  }
  // Something left pending without an interrupt means a dependency cycle among steps.
  if (!result.interrupted && result.notStarted.length > 0) diagnostics.push(error(`could not order these changes (cycle between steps): ${result.notStarted.join(', ')}`));
  if (result.interrupted) diagnostics.push(error(`Apply interrupted: ${result.notStarted.length} change(s) not started${result.notStarted.length ? ` (${result.notStarted.join(', ')})` : ''}`));
  await state.persist();
  return result;
}
