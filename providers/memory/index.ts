import fs from 'node:fs';
import path from 'node:path';
import type {
  ApplyResourceChangeRequest, ApplyResourceChangeResponse, ConfigureRequest, ConfigureResponse, Diagnostic, ImportResourceStateRequest,
  ImportResourceStateResponse, ObjectValue, PlanResourceChangeRequest, PlanResourceChangeResponse, Provider, ProviderSchema, ReadDataSourceRequest,
  ReadDataSourceResponse, ReadResourceRequest, ReadResourceResponse, ValidateConfigurationRequest, ValidateConfigurationResponse,
  ValidateResourceConfigRequest, ValidateResourceConfigResponse, Value,
} from '../../engine/protocol';
import { isUnknown, UNKNOWN } from '../../engine/protocol';
import { writeFileAtomicSync } from '../../lib/files';

/**
 * An in-memory provider that proves the protocol seam: the engine plans and applies `memory_item`
 * resources with it exactly as with the EKS provider. Its "cloud" persists to the JSON file named
 * by `provider.memory.path` (so spawned CLI tests can look at it), with an event log of every apply
 * (start/end times, concurrency key, idempotency token) and fault hooks set in the provider block:
 * `fail_on` (names whose apply fails), `fail_partial` (a failing create still leaves an object),
 * `apply_delay_ms` (slow applies), `apply_gate` (each apply waits until that file exists: a test holds
 * an apply in flight for as long as it needs, whatever the machine's load), `read_delay_ms` (slow data
 * source reads).
 */

export const MEMORY_SCHEMA: ProviderSchema = {
  provider: {
    version: 0,
    block: {
      attributes: {
        path: { type: 'string', optional: true, description: 'JSON file holding the cloud; in memory only when unset' },
        fail_on: { type: ['list', 'string'], optional: true, description: 'names whose apply fails' },
        fail_partial: { type: 'bool', optional: true, description: 'a failing create leaves a partial object' },
        apply_delay_ms: { type: 'number', optional: true, description: 'delay of each apply' },
        apply_gate: { type: 'string', optional: true, description: 'each apply waits until this file exists' },
        read_delay_ms: { type: 'number', optional: true, description: 'delay of each data source read' },
      },
    },
  },
  resources: {
    memory_item: {
      version: 0,
      block: {
        attributes: {
          id: { type: 'string', computed: true, optional: true },
          name: { type: 'string', required: true },
          value: { type: 'string', optional: true },
          size: { type: 'number', optional: true },
          enabled: { type: 'bool', optional: true },
          tags: { type: ['map', 'string'], optional: true },
          group: { type: 'string', optional: true, description: 'concurrency key: one apply at a time per group; changing it replaces' },
          arn: { type: 'string', computed: true },
          status: { type: 'string', computed: true },
        },
        block_types: {
          spec: { nesting_mode: 'list', max_items: 1, block: { attributes: { label: { type: 'string', required: true }, labels: { type: ['list', 'string'], optional: true } } } },
          timeouts: { nesting_mode: 'single', block: { attributes: { create: { type: 'string', optional: true }, update: { type: 'string', optional: true }, delete: { type: 'string', optional: true } } } },
        },
      },
    },
  },
  dataSources: {
    memory_item: {
      version: 0,
      block: {
        attributes: {
          name: { type: 'string', required: true },
          id: { type: 'string', computed: true },
          value: { type: 'string', computed: true },
          arn: { type: 'string', computed: true },
        },
      },
    },
  },
};

export type MemoryEvent = { op: 'create' | 'update' | 'delete'; name: string; key: string | null; token: string; start: number; end: number };
export type MemoryCloud = { objects: Record<string, ObjectValue & { token?: string }>; events: MemoryEvent[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const err = (summary: string, address?: string, attribute?: (string | number)[]): Diagnostic => ({ severity: 'error', summary, ...(address ? { address } : {}), ...(attribute ? { attribute } : {}) });

export class MemoryProvider implements Provider {
  private file: string | undefined;
  private inMemory: MemoryCloud = { objects: {}, events: [] };
  private failOn = new Set<string>();
  private failPartial = false;
  private delay = 0;
  private gate: string | undefined;
  private readDelay = 0;
  private readsInFlight = 0;
  /** The most data source reads that were in flight at once. */
  maxConcurrentDataReads = 0;
  /** Every request, for tests that check what the engine sent. */
  readonly requests: { verb: string; address?: string; token?: string }[] = [];

  getSchema(): ProviderSchema {
    return MEMORY_SCHEMA;
  }

  async configure(req: ConfigureRequest): Promise<ConfigureResponse> {
    const c = req.config;
    if (typeof c.path === 'string') this.file = path.resolve(c.path);
    if (Array.isArray(c.fail_on)) for (const n of c.fail_on) if (typeof n === 'string') this.failOn.add(n);
    this.failPartial = c.fail_partial === true;
    this.delay = typeof c.apply_delay_ms === 'number' ? c.apply_delay_ms : 0;
    this.readDelay = typeof c.read_delay_ms === 'number' ? c.read_delay_ms : 0;
    this.gate = typeof c.apply_gate === 'string' ? path.resolve(c.apply_gate) : undefined;
    return { diagnostics: [] };
  }

  load(): MemoryCloud {
    if (!this.file) return this.inMemory;
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as MemoryCloud;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { objects: {}, events: [] };
      throw e;
    }
  }

  private save(cloud: MemoryCloud): void {
    if (!this.file) { this.inMemory = cloud; return; }
    // No fsync: a test double's cloud, rewritten on every call (timing tests measure its applies).
    writeFileAtomicSync(this.file, JSON.stringify(cloud, null, 2), { fsync: false });
  }

  validateResourceConfig(req: ValidateResourceConfigRequest): ValidateResourceConfigResponse {
    const name = req.config.name;
    if (typeof name === 'string' && !/^[a-z0-9-]+$/.test(name)) {
      return { diagnostics: [err(`invalid name "${name}": use lower-case letters, digits and dashes`, req.address, ['name'])] };
    }
    return { diagnostics: [] };
  }

  validateConfiguration(req: ValidateConfigurationRequest): ValidateConfigurationResponse {
    const seen = new Map<string, string>();
    const diagnostics: Diagnostic[] = [];
    for (const r of req.resources) {
      const n = r.config.name;
      if (typeof n !== 'string') continue;
      const other = seen.get(n);
      if (other) diagnostics.push(err(`name "${n}" is also used by ${other}`, r.address, ['name']));
      seen.set(n, r.address);
    }
    return { diagnostics };
  }

  async readResource(req: ReadResourceRequest): Promise<ReadResourceResponse> {
    this.requests.push({ verb: 'read', address: req.address });
    const obj = this.load().objects[String(req.priorState.id)];
    if (!obj) return { newState: null, diagnostics: [] };
    const { token: _token, ...state } = obj;
    return { newState: { ...req.priorState, ...state }, diagnostics: [] };
  }

  async readDataSource(req: ReadDataSourceRequest): Promise<ReadDataSourceResponse> {
    this.requests.push({ verb: 'read-data', address: req.address });
    if (this.readDelay > 0) {
      this.maxConcurrentDataReads = Math.max(this.maxConcurrentDataReads, ++this.readsInFlight);
      await sleep(this.readDelay);
      this.readsInFlight--;
    }
    const obj = Object.values(this.load().objects).find((o) => o.name === req.config.name);
    if (!obj) return { state: null, diagnostics: [err(`no memory_item named "${String(req.config.name)}"`, req.address, ['name'])] };
    return { state: { name: obj.name!, id: obj.id!, value: obj.value ?? null, arn: obj.arn! }, diagnostics: [] };
  }

  planResourceChange(req: PlanResourceChangeRequest): PlanResourceChangeResponse {
    this.requests.push({ verb: 'plan', address: req.address });
    if (!req.proposedNewState) return { plannedState: null, requiresReplace: [], diagnostics: [] };
    const planned: ObjectValue = { ...req.proposedNewState };
    if (!req.priorState) {
      for (const k of ['id', 'arn', 'status']) if (planned[k] === null) planned[k] = UNKNOWN;
      return { plannedState: planned, requiresReplace: [], diagnostics: [] };
    }
    const requiresReplace: (string | number)[][] = [];
    for (const k of ['name', 'group']) {
      const a = req.priorState[k] ?? null, b = planned[k] ?? null;
      if (isUnknown(b) || JSON.stringify(a) !== JSON.stringify(b)) requiresReplace.push([k]);
    }
    if (requiresReplace.length > 0) for (const k of ['id', 'arn', 'status']) planned[k] = UNKNOWN;
    return { plannedState: planned, requiresReplace, diagnostics: [] };
  }

  async applyResourceChange(req: ApplyResourceChangeRequest): Promise<ApplyResourceChangeResponse> {
    this.requests.push({ verb: 'apply', address: req.address, token: req.idempotencyToken });
    const start = Date.now();
    const source = req.plannedState ?? req.priorState!;
    const name = String(source.name);
    const op: MemoryEvent['op'] = !req.plannedState ? 'delete' : !req.priorState ? 'create' : 'update';
    if (this.delay > 0) await sleep(this.delay);
    while (this.gate !== undefined && !fs.existsSync(this.gate)) await sleep(10);
    const cloud = this.load();
    const key = this.concurrencyKey('memory_item', source) ?? null;
    cloud.events.push({ op, name, key, token: req.idempotencyToken, start, end: Date.now() });
    const fail = this.failOn.has(name);
    if (op === 'delete') {
      if (fail) { this.save(cloud); return { newState: req.priorState, diagnostics: [err(`injected failure deleting "${name}"`, req.address)] }; }
      delete cloud.objects[String(req.priorState!.id)];
      this.save(cloud);
      return { newState: null, diagnostics: [] };
    }
    const planned = req.plannedState!;
    if (op === 'create') {
      const existing = Object.values(cloud.objects).find((o) => o.name === name);
      if (existing && existing.token === req.idempotencyToken) {
        // The same intended create again (a resumed apply): hand back what the first one made.
        this.save(cloud);
        const { token: _t, ...state } = existing;
        return { newState: state, diagnostics: [] };
      }
      if (existing) { this.save(cloud); return { newState: null, diagnostics: [err(`a memory_item named "${name}" already exists`, req.address, ['name'])] }; }
    }
    const state: ObjectValue = {};
    for (const [k, v] of Object.entries(planned)) state[k] = isUnknown(v) ? null : (v as Value);
    state.id = `mem-${name}`;
    state.arn = `arn:memory:::item/${name}`;
    state.status = fail ? 'failed' : 'ready';
    if (fail && !(op === 'create' && this.failPartial)) {
      this.save(cloud);
      return { newState: op === 'update' ? req.priorState : null, diagnostics: [err(`injected failure on "${name}"`, req.address)] };
    }
    cloud.objects[state.id] = { ...state, token: req.idempotencyToken };
    this.save(cloud);
    return { newState: state, diagnostics: fail ? [err(`injected failure on "${name}" after the object was created`, req.address)] : [] };
  }

  async importResourceState(req: ImportResourceStateRequest): Promise<ImportResourceStateResponse> {
    const obj = this.load().objects[req.id];
    if (!obj) return { state: null, diagnostics: [err(`cannot import: no memory_item with id "${req.id}"`)] };
    const full: ObjectValue = {};
    for (const k of Object.keys(MEMORY_SCHEMA.resources.memory_item!.block.attributes!)) full[k] = null;
    full.spec = [];
    full.timeouts = null;
    const { token: _t, ...state } = obj;
    return { state: { ...full, ...state }, diagnostics: [] };
  }

  concurrencyKey(_typeName: string, state: ObjectValue | null): string | undefined {
    const g = state?.group;
    return typeof g === 'string' ? g : undefined;
  }
}

export function createMemoryProvider(): Provider {
  return new MemoryProvider();
}
