import type { Io } from '../command';
import type { ApplyEvent, StepKind } from '../../engine/apply';
import type { Plan, ResourceChange } from '../../engine/plan';
import type { Diagnostic, ObjectValue } from '../../engine/protocol';
import { stateOutputs } from '../../engine/outputs';
import { formatDuration } from '../../lib/duration';
import { goJson } from '../../lib/go-json';
import { VERSION } from '../version';
import { EXIT } from '../command';
import { EngineError } from '../../engine/util';
import type { ApplyView, Clock } from './apply';
import { STILL_EVERY_MS } from './apply';
import { GroupTracker, groupName } from './groups';
import { coalescedWriter, type CoalescedWriter } from '../coalesce';

/**
 * `eksidp apply --json` / `destroy --json`: Terraform's machine-readable UI (`terraform apply -json`,
 * internal/command/views/json_view.go and hook_json.go, UI version 1.2) on stdout, one JSON object a
 * line: `@level`, `@message`, `@module: "terraform.ui"`, `@timestamp`, `type` and the type's payload.
 * Built from the plan and the engine's apply events only. Beyond Terraform, the last line is of type
 * `eksidp_cluster_summary`: each group's (EKS cluster's) chain of updates with its duration, longest
 * first, so a platform team sees which cluster was slow.
 */

export const JSON_UI_VERSION = '1.2';

type Level = 'info' | 'warn' | 'error';

/** One line as hclog writes it: a Go map (keys sorted) through encoding/json; payload structs keep their field order. */
function goLine(o: Record<string, unknown>): string {
  return goJson(Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]))) + '\n';
}

/** hclog's JSON time: local time with microseconds and the zone offset (2006-01-02T15:04:05.000000Z07:00). */
function timestamp(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000${zone}`;
}

/** Terraform's ResourceAddr (views/json/resource_addr.go); eksidp has only the root module. */
function resourceAddr(c: { address: string; mode: 'managed' | 'data'; type: string; name: string; index?: string | number }) {
  const resource = c.address;
  return {
    addr: c.address,
    module: '',
    resource,
    implied_provider: c.type.split('_')[0]!,
    resource_type: c.type,
    resource_name: c.name,
    resource_key: c.index ?? null,
  };
}

/** A step's address parsed back into its parts (events carry only the address). */
function addrOf(address: string) {
  const m = /^(data\.)?([^.[]+)\.([^.[]+)(?:\[(.*)\])?$/.exec(address);
  if (!m) return resourceAddr({ address, mode: 'managed', type: address, name: '' });
  const key = m[4];
  const index = key === undefined ? undefined : key.startsWith('"') ? (JSON.parse(key) as string) : Number(key);
  return resourceAddr({ address, mode: m[1] ? 'data' : 'managed', type: m[2]!, name: m[3]!, ...(index !== undefined ? { index } : {}) });
}

/**
 * Terraform's format.ObjectValueID: the object's `id` when it is a string, else its `name` (an
 * object with neither, or a null one, has no id: the message then names none).
 */
function objectValueId(o: ObjectValue | null): [string, string] | [] {
  if (!o) return [];
  if ('id' in o) return typeof o.id === 'string' ? ['id', o.id] : [];
  if (typeof o.name === 'string') return ['name', o.name];
  return [];
}

/** A plan's actions as the UI's one action (views/json/change.go changeAction). */
function changeAction(actions: readonly string[]): string {
  if (actions.length === 2) return 'replace';
  const a = actions[0] ?? 'no-op';
  return a === 'no-op' ? 'noop' : a;
}

/** The JSON plan's action_reason as the UI's reason (views/json/change.go changeReason). */
const REASONS: Record<NonNullable<ResourceChange['reason']>, string> = {
  replace_because_cannot_update: 'cannot_update',
  replace_because_tainted: 'tainted',
  delete_because_no_resource_config: 'delete_because_no_resource_config',
  delete_because_wrong_repetition: 'delete_because_wrong_repetition',
  delete_because_count_index: 'delete_because_count_index',
  delete_because_each_key: 'delete_because_each_key',
};

const START_VERB: Record<StepKind, string> = { create: 'Creating', update: 'Modifying', delete: 'Destroying', read: 'Refreshing' };
const PROGRESS_VERB: Record<StepKind, string> = { create: 'creating', update: 'modifying', delete: 'destroying', read: 'refreshing' };
const NOUN: Record<StepKind, string> = { create: 'Creation', update: 'Modifications', delete: 'Destruction', read: 'Refresh' };

/** Go's time.Duration.String() for whole seconds (the hook rounds times to seconds): 0s, 10s, 1m10s. */
function goSeconds(s: number): string {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
}

export type Counts = { added: number; changed: number; destroyed: number };

const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  },
};

export class JsonUi {
  private readonly groups = new GroupTracker();
  /**
   * Lines go out once per event-loop turn, as the human view's do (coalesce.ts): a fleet apply makes
   * thousands (refreshes, then two per step) in bursts, and each write is a syscall.
   */
  private readonly out: CoalescedWriter;

  constructor(io: Io, private readonly clock: Clock = systemClock) {
    this.out = coalescedWriter(io.stdout);
  }

  /** Writes the lines held for this turn: before the command returns, and before anything that must follow them. */
  flush(): void {
    this.out.flush();
  }

  private emit(level: Level, message: string, type: string, payload: Record<string, unknown>): void {
    this.out.write(goLine({ '@level': level, '@message': message, '@module': 'terraform.ui', '@timestamp': timestamp(this.clock.now()), type, ...payload }));
  }

  /** The first line; eksidp's version where Terraform gives its own (`terraform`). */
  version(): void {
    this.emit('info', `eksidp ${VERSION}`, 'version', { eksidp: VERSION, ui: JSON_UI_VERSION });
  }

  diagnostics(diags: readonly Diagnostic[]): void {
    for (const d of diags) {
      const warning = d.severity === 'warning';
      this.emit(warning ? 'warn' : 'error', `${warning ? 'Warning' : 'Error'}: ${d.summary}`, 'diagnostic', {
        diagnostic: { severity: d.severity, summary: d.summary, detail: d.detail ?? '', ...(d.address ? { address: d.address } : {}) },
      });
    }
  }

  /** The plan's lines (views/operation.go OperationJSON.Plan): each change, the summary, the output changes. */
  plan(p: Plan): void {
    this.diagnostics(p.warnings);
    let add = 0, change = 0, remove = 0;
    for (const c of p.changes) {
      const action = changeAction(c.actions);
      if (c.mode === 'data' && action === 'delete') continue;
      if (action === 'create') add++;
      else if (action === 'delete') remove++;
      else if (action === 'update') change++;
      else if (action === 'replace') { add++; remove++; }
      const moved = c.previousAddress !== undefined && c.previousAddress !== c.address;
      if (action === 'noop' && !moved) continue;
      const reason = c.reason ? REASONS[c.reason] : undefined;
      const ui = {
        resource: resourceAddr({ address: c.address, mode: c.mode, type: c.type, name: c.name, ...(c.index !== undefined ? { index: c.index } : {}) }),
        ...(moved ? { previous_resource: addrOf(c.previousAddress!) } : {}),
        action: action === 'noop' && moved ? 'move' : action,
        ...(reason ? { reason } : {}),
      };
      this.emit('info', `${c.address}: Plan to ${ui.action}`, 'planned_change', { change: ui });
    }
    this.changeSummary('plan', { added: add, changed: change, destroyed: remove });
    if (p.outputChanges.length > 0) {
      const outputs = Object.fromEntries(p.outputChanges.map((o) => [o.name, { sensitive: o.sensitive, action: changeAction(o.actions) }]));
      this.emit('info', `Outputs: ${p.outputChanges.length}`, 'outputs', { outputs });
    }
  }

  changeSummary(operation: 'plan' | 'apply' | 'destroy', n: Counts): void {
    const message = operation === 'plan' ? `Plan: ${n.added} to add, ${n.changed} to change, ${n.destroyed} to destroy.`
      : operation === 'destroy' ? `Destroy complete! Resources: ${n.destroyed} destroyed.`
      : `Apply complete! Resources: ${n.added} added, ${n.changed} changed, ${n.destroyed} destroyed.`;
    this.emit('info', message, 'change_summary', { changes: { add: n.added, change: n.changed, import: 0, remove: n.destroyed, operation } });
  }

  /** The root outputs in state after an apply (views/json/output.go OutputsFromMap): a sensitive value is left out. */
  outputs(raw: Record<string, unknown> | undefined): void {
    const outs = stateOutputs(raw);
    const names = Object.keys(outs).sort();
    this.emit('info', `Outputs: ${names.length}`, 'outputs', {
      outputs: Object.fromEntries(names.map((n) => [n, { sensitive: outs[n]!.sensitive === true, type: outs[n]!.type, ...(outs[n]!.sensitive ? {} : { value: outs[n]!.value }) }])),
    });
  }

  /**
   * A refresh read's line (hook_json.go PreRefresh / PostRefresh): `Refreshing state... [id=…]`, then
   * `Refresh complete [id=…]`, the id as format.ObjectValueID takes it from the object.
   */
  refresh(phase: 'start' | 'complete', address: string, object: ObjectValue | null): void {
    const [idKey, idValue] = objectValueId(object);
    const id = idKey ? ` [${idKey}=${idValue}]` : '';
    const hook = { resource: addrOf(address), ...(idKey ? { id_key: idKey, id_value: idValue } : {}) };
    if (phase === 'start') this.emit('info', `${address}: Refreshing state...${id}`, 'refresh_start', { hook });
    else this.emit('info', `${address}: Refresh complete${id}`, 'refresh_complete', { hook });
  }

  /** Apply's hook lines (hook_json.go): start, every 10 s progress, complete or errored; elapsed in whole seconds. */
  applyView(): ApplyView {
    const running = new Map<string, { start: number; stop: () => void }>();
    const secs = (ms: number) => Math.round(ms / 1000);
    return {
      onEvent: (ev: ApplyEvent) => {
        this.groups.onEvent(ev, this.clock.now());
        if (ev.type === 'begin' || ev.type === 'progress') return;
        const key = `${ev.address}\u0000${ev.action}`;
        const resource = addrOf(ev.address);
        const id = ev.id ? { id_key: 'id', id_value: ev.id } : {};
        if (ev.type === 'pre') {
          const start = secs(this.clock.now());
          this.emit('info', `${ev.address}: ${START_VERB[ev.action]}...${ev.id ? ` [id=${ev.id}]` : ''}`, 'apply_start', { hook: { resource, action: ev.action, ...id } });
          const stop = this.clock.every(STILL_EVERY_MS, () => {
            const elapsed = secs(this.clock.now()) - start;
            this.emit('info', `${ev.address}: Still ${PROGRESS_VERB[ev.action]}... [${goSeconds(elapsed)} elapsed]`, 'apply_progress', { hook: { resource, action: ev.action, elapsed_seconds: elapsed } });
          });
          running.set(key, { start, stop });
          return;
        }
        const step = running.get(key);
        running.delete(key);
        step?.stop();
        const elapsed = secs(this.clock.now()) - (step?.start ?? secs(this.clock.now()));
        if (ev.failed) {
          this.emit('info', `${ev.address}: ${NOUN[ev.action]} errored after ${goSeconds(elapsed)}`, 'apply_errored', { hook: { resource, action: ev.action, elapsed_seconds: elapsed } });
        } else {
          this.emit('info', `${ev.address}: ${NOUN[ev.action]} complete after ${goSeconds(elapsed)}${ev.id ? ` [id=${ev.id}]` : ''}`, 'apply_complete', { hook: { resource, action: ev.action, ...id, elapsed_seconds: elapsed } });
        }
      },
      close: () => {
        for (const s of running.values()) s.stop();
        running.clear();
      },
    };
  }

  /** eksidp's own last line: each group's chain (first step's start to last step's end), longest first. */
  clusterSummary(): void {
    const chains = this.groups.chains(this.clock.now());
    const slowest = chains[0];
    const clusters = chains.map((c) => ({ cluster: groupName(c.group), group: c.group, duration_seconds: c.ms / 1000, steps: c.steps, failed: c.failed, done: c.done }));
    this.emit('info', `Clusters: ${chains.length}${slowest ? `; slowest: ${groupName(slowest.group)} (${formatDuration(slowest.ms)})` : ''}`, 'eksidp_cluster_summary', { clusters });
  }
}

/** Terraform's refusal (command/arguments/apply.go): JSON cannot ask for approval. */
export const JSON_NEEDS_APPROVAL: Diagnostic = {
  severity: 'error',
  summary: 'Plan file or auto-approve required',
  detail: 'eksidp cannot ask for interactive approval when --json is set. You can either apply a saved plan file, or enable the --auto-approve option.',
};

/**
 * Runs a `--json` command: the version line first, then the body; an engine error (bad input, a
 * stale plan, a lock held) becomes diagnostic lines on stdout, as Terraform's JSON view reports it.
 */
export async function jsonGuarded(ui: JsonUi, body: () => Promise<number>): Promise<number> {
  ui.version();
  try {
    return await body();
  } catch (e) {
    if (e instanceof EngineError) {
      ui.diagnostics(e.diagnostics);
      return EXIT.ERROR;
    }
    throw e;
  } finally {
    // Every line out before the command's exit code, or another error's message on stderr.
    ui.flush();
  }
}
