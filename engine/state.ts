import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../lib/files';
import { acquireLock, forceUnlock, readLock, type LockInfo } from './lock';
import type { LockHandle, StateStorage } from './statemgr';
import type { ObjectValue, Value } from './protocol';
import { byteCompare } from './types';
import { compareKeys, instanceAddress, parseInstanceAddress, type InstanceKey } from './instances';
import { EngineError, EXACT, pidAlive, valuesEqual } from './util';

/**
 * Terraform state format v4, exactly as Terraform 1.11 writes it, so Terraform reads eksidp's state
 * and eksidp reads Terraform's. Writes are atomic (temp file in the same folder, fsync, rename),
 * keep the previous file as `<path>.backup`, and are owner-only (0600).
 */

export const TERRAFORM_VERSION = '1.11.4';

export type StateInstance = {
  /** The instance key (count: a number, for_each: a string); absent for a resource without either. */
  index_key?: InstanceKey;
  schema_version: number;
  attributes: ObjectValue;
  sensitive_attributes: unknown[];
  /** Set when a create failed part-way: the next plan replaces the object. */
  status?: 'tainted';
  private?: string;
  dependencies?: string[];
  create_before_destroy?: boolean;
  /**
   * Set on an object a create_before_destroy replacement left behind (its new object was created, the
   * old one not yet destroyed): Terraform's deposed key, 8 hex digits. Not the resource's current object.
   */
  deposed?: string;
  [extra: string]: unknown;
};

export type StateResource = {
  mode: 'managed' | 'data';
  type: string;
  name: string;
  provider: string;
  instances: StateInstance[];
  [extra: string]: unknown;
};

export type StateV4 = {
  version: 4;
  terraform_version: string;
  serial: number;
  lineage: string;
  outputs: Record<string, unknown>;
  resources: StateResource[];
  check_results: unknown;
  [extra: string]: unknown;
};

/**
 * An instance with its private data replaced (none: '' or undefined), the key where Terraform's
 * writer puts it (after sensitive_attributes, before dependencies).
 */
export function withPrivate(inst: StateInstance, priv: string | undefined): StateInstance {
  if ((inst.private ?? '') === (priv ?? '')) return inst;
  const out = {} as StateInstance;
  for (const [k, v] of Object.entries(inst)) {
    if (k === 'private') continue;
    if ((k === 'dependencies' || k === 'create_before_destroy') && priv && out.private === undefined) out.private = priv;
    out[k] = v;
  }
  if (priv && out.private === undefined) out.private = priv;
  return out;
}

export function emptyState(): StateV4 {
  return { version: 4, terraform_version: TERRAFORM_VERSION, serial: 0, lineage: crypto.randomUUID(), outputs: {}, resources: [], check_results: null };
}

export function resourceAddress(r: { mode: string; type: string; name: string }): string {
  return r.mode === 'data' ? `data.${r.type}.${r.name}` : `${r.type}.${r.name}`;
}

/** A state instance's key (Terraform writes none for a resource without count or for_each). */
export function instanceKey(i: { index_key?: unknown }): InstanceKey | undefined {
  return typeof i.index_key === 'number' || typeof i.index_key === 'string' ? i.index_key : undefined;
}

/** Every current (not deposed) instance in state, with its instance address: `aws_x.y`, `aws_x.y[0]`, `aws_x.y["a"]`. */
export function stateInstances(state: { resources: readonly StateResource[] }): { address: string; resource: StateResource; instance: StateInstance; key?: InstanceKey }[] {
  const out: { address: string; resource: StateResource; instance: StateInstance; key?: InstanceKey }[] = [];
  for (const r of state.resources) {
    const base = resourceAddress(r);
    for (const i of r.instances) {
      if (i.deposed !== undefined) continue;
      const key = instanceKey(i);
      out.push({ address: instanceAddress(base, key), resource: r, instance: i, ...(key !== undefined ? { key } : {}) });
    }
  }
  return out;
}

/** The current object (never a deposed one) of the instance with key `key` (none: a resource without count or for_each). */
export function currentInstance(r: { instances: readonly StateInstance[] }, key?: InstanceKey): StateInstance | undefined {
  return r.instances.find((i) => i.deposed === undefined && instanceKey(i) === key);
}

/** A resource's deposed objects (create_before_destroy leftovers) of every instance key, in state order. */
export function deposedInstances(r: { instances: readonly StateInstance[] }): (StateInstance & { deposed: string })[] {
  return r.instances.filter((i): i is StateInstance & { deposed: string } => typeof i.deposed === 'string');
}

/** A new deposed key: 8 random hex digits, as Terraform's states.NewDeposedKey. */
export function newDeposedKey(): string {
  return crypto.randomBytes(4).toString('hex');
}

/** Reads state; null when the file does not exist. Corrupt or unsupported files are errors. */
export function readState(file: string): StateV4 | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new EngineError(`cannot read state ${file}: ${(e as Error).message}`);
  }
  return parseState(text, `state file ${file}`, `Restore it from ${file}.backup or fix it by hand.`);
}

/**
 * Parses a state's text (`what` names it in errors: "state file X", "state s3://b/k"); null when empty,
 * as Terraform treats an empty state as none. Corrupt or unsupported states are errors.
 */
export function parseState(text: string, what: string, restore = ''): StateV4 | null {
  if (text.trim() === '') return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new EngineError(`${what} is corrupt (${(e as Error).message}); nothing was changed.${restore ? ` ${restore}` : ''}`);
  }
  const s = json as Partial<StateV4>;
  if (typeof s !== 'object' || s === null || typeof s.version !== 'number') throw new EngineError(`${what} is not a Terraform state (no "version"); nothing was changed`);
  if (s.version > 4) throw new EngineError(`${what} has format version ${s.version}, newer than this eksidp supports (4); nothing was changed`);
  if (s.version < 4) throw new EngineError(`${what} has format version ${s.version}: upgrade it with Terraform first (eksidp reads version 4)`);
  if (typeof s.lineage !== 'string' || typeof s.serial !== 'number' || !Array.isArray(s.resources)) {
    throw new EngineError(`${what} is corrupt: missing lineage, serial or resources; nothing was changed`);
  }
  for (const r of s.resources) {
    if (!r || typeof r.type !== 'string' || typeof r.name !== 'string' || !Array.isArray(r.instances)) throw new EngineError(`${what} is corrupt: a resource entry lacks type, name or instances`);
    for (const i of r.instances as unknown[]) {
      const k = typeof i === 'object' && i !== null ? (i as { index_key?: unknown }).index_key : undefined;
      if (k !== undefined && k !== null && typeof k !== 'string' && !(typeof k === 'number' && Number.isInteger(k) && k >= 0)) {
        throw new EngineError(`${what} is corrupt: ${resourceAddress(r)} has an instance with the invalid instance key ${JSON.stringify(k)}`);
      }
    }
  }
  return { ...s, outputs: s.outputs ?? {}, check_results: s.check_results ?? null } as StateV4;
}

/**
 * Terraform's writer sorts resources by mode string ("data" < "managed"), then type, then name, by
 * bytes (Go's string order, not localeCompare); the sort is stable, so the instances keep theirs.
 */
export function compareResources(a: StateResource, b: StateResource): number {
  return byteCompare(a.mode, b.mode) || byteCompare(a.type, b.type) || byteCompare(a.name, b.name);
}

/**
 * The bytes eksidp writes for a state (Terraform's layout: two-space indent, final newline; resources
 * in Terraform's order, whichever way they were gathered: refresh, data sources read, a state push).
 */
export function stateText(state: StateV4): string {
  return JSON.stringify({ ...state, resources: [...state.resources].sort(compareResources) }, null, 2) + '\n';
}

/**
 * A process killed between writing its temp file and the rename leaves `.<state>.<pid>.<rand>.tmp`
 * behind. Called with the lock held: temp files whose writer is gone are removed (never read).
 */
export function removeDeadWritersTempFiles(file: string): void {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    // `.<state>.<pid>.<hex>.tmp`, and `.<state>.backup.<pid>.<hex>.tmp` for the backup (lib/files.ts).
    const m = name.startsWith(prefix) ? /^(?:backup\.)?(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * What a state file held when this process last wrote it: its bytes, to be the next write's backup
 * without reading the file back (megabytes for a fleet, at every checkpoint), and the file's identity
 * then, to know it is still that file (another writer's rename makes a new inode; a write in place
 * changes size or times).
 */
export type WrittenState = { bytes: Buffer; ino: number; size: number; mtimeMs: number; ctimeMs: number };

async function stillWritten(file: string, w: WrittenState): Promise<boolean> {
  try {
    const st = await fsp.lstat(file);
    return st.isFile() && st.ino === w.ino && st.size === w.size && st.mtimeMs === w.mtimeMs && st.ctimeMs === w.ctimeMs;
  } catch {
    return false;
  }
}

/**
 * Writes atomically through lib/files.ts (exclusive temp file, fsync, rename; 0600), keeping the
 * previous file as `.backup`, written the same way: a symlink planted at either name is replaced,
 * never written through. `last` (what this returned for the previous write) spares reading the
 * previous file when it is unchanged since.
 */
export async function writeStateFile(file: string, state: StateV4, last?: WrittenState): Promise<WrittenState> {
  const dir = path.dirname(file);
  // The text is taken now: later changes go into the next write. Asynchronous I/O: while one write
  // (and its fsync) is in flight, apply goes on, and the changes made meanwhile coalesce into the next.
  // Encoded once: these bytes are written now and are the next write's backup.
  const bytes = Buffer.from(stateText(state), 'utf8');
  await fsp.mkdir(dir, { recursive: true });
  let previous: Uint8Array | undefined;
  if (last && (await stillWritten(file, last))) previous = last.bytes;
  else {
    try {
      previous = await fsp.readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  // The backup is the previous state, as Terraform keeps it; the live file is never missing meanwhile.
  if (previous !== undefined) await writeFileAtomic(`${file}.backup`, previous);
  await writeFileAtomic(file, bytes, { syncDir: true });
  const st = await fsp.lstat(file);
  return { bytes, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** checkpoint()'s longest pause between writes. */
const MAX_CHECKPOINT_GAP_MS = 5000;
/**
 * checkpoint()'s pause between writes, in durations of the last write: storing takes at most a tenth
 * of the time, and of the process's CPU time.
 */
const CHECKPOINT_GAP_FACTOR = 9;
/** The process's CPU time so far (every thread: the event loop and libuv's, which do the file I/O), ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
const CORES = Math.max(1, os.availableParallelism());

/** A write as checkpoint() paces the next: when it ended, its duration, the process's CPU time at its end and during it (ms). */
export type WriteCost = { endedAt: number; ms: number; cpuAt: number; cpuMs: number };

/**
 * How long checkpoint() waits before writing (0: now): until 9x the last write's duration has passed
 * and the process has spent 9x the write's CPU time since (at the soonest with every core busy), and
 * never beyond 5 s after that write.
 */
export function checkpointWait(last: WriteCost, now: number, cpuNow: number, cores = CORES): number {
  const capLeft = last.endedAt + MAX_CHECKPOINT_GAP_MS - now;
  const wallLeft = last.endedAt + CHECKPOINT_GAP_FACTOR * last.ms - now;
  const cpuShort = CHECKPOINT_GAP_FACTOR * last.cpuMs - (cpuNow - last.cpuAt);
  const cpuLeft = cpuShort > 0 ? Math.ceil(cpuShort / cores) : 0;
  return Math.max(0, Math.min(capLeft, Math.max(wallLeft, cpuLeft)));
}

/** Where `entry` goes in resources sorted as Terraform's writer sorts them (binary search). */
function sortedPosition(resources: StateResource[], entry: StateResource): number {
  const cmp = compareResources;
  let lo = 0;
  let hi = resources.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(resources[mid]!, entry) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Terraform's local backend file and `.lock.info` lock (lock.ts), as eksidp always kept them. */
export class LocalStorage implements StateStorage {
  readonly local = true;
  constructor(readonly location: string) {}

  /** Temp files left by a writer that died are removed first (never read). */
  async refresh(): Promise<StateV4 | null> {
    removeDeadWritersTempFiles(this.location);
    return readState(this.location);
  }

  /** This storage's last write, while the file is known to hold it (any failure forgets it). */
  private written: WrittenState | undefined;

  async persist(state: StateV4): Promise<void> {
    const last = this.written;
    this.written = undefined;
    this.written = await writeStateFile(this.location, state, last);
  }

  async lock(operation: string): Promise<LockHandle> {
    const l = acquireLock(this.location, operation);
    return { info: l.info, unlock: async () => l.release() };
  }

  async lockInfo(): Promise<LockInfo | null> {
    return readLock(this.location);
  }

  async forceUnlock(id: string): Promise<LockInfo> {
    return forceUnlock(this.location, id);
  }
}


/**
 * The state of one run: resources change one at a time (possibly from parallel applies), and each
 * change is persisted at once through its storage (local file or S3, statemgr.ts), bumping the serial
 * when the content changed.
 */
export class StateManager {
  private current: StateV4;
  /**
   * Whether the resources changed since the last write. Tracked per change (set/replaceResources)
   * rather than by re-serialising the whole state on every persist: with hundreds of resources that
   * made apply quadratic. Queued persists after one write find nothing dirty: writes coalesce.
   */
  private dirty = false;
  private written = false;
  private chain: Promise<void> = Promise.resolve();
  /** Each resource by address (set() and find() look up thousands of times in a fleet apply). */
  private index: Map<string, StateResource> | undefined;
  /** Whether resources are in Terraform's order (a state written elsewhere may not be: sorted at the first set). */
  private sorted = false;
  /** checkpoint()'s pacing: a write scheduled, one in flight, another asked for meanwhile. */
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointRunning = false;
  private checkpointAgain = false;
  private lastWrite: WriteCost = { endedAt: 0, ms: 0, cpuAt: 0, cpuMs: 0 };
  private checkpointError: unknown;

  readonly storage: StateStorage;

  /**
   * A path means the local backend's file there. `initial` is copied, unless `owned` says the caller
   * hands it over (a state just parsed, which nothing else holds: load and open).
   */
  constructor(where: string | StateStorage, initial: StateV4 | null, private readonly existsOnDisk: boolean, owned = false) {
    this.storage = typeof where === 'string' ? new LocalStorage(where) : where;
    this.current = initial ? (owned ? initial : structuredClone(initial)) : emptyState();
  }

  /** Where the state lives (a path, or s3://bucket/key), for messages. */
  get file(): string {
    return this.storage.location;
  }

  /** The state as it stands; changed only through this class (set, replaceResources, adoptLineage, persist). */
  get state(): Readonly<StateV4> {
    return this.current;
  }

  /**
   * Whether there is a state to protect: one with a serial or resources (read from the file, or
   * written by this run). A missing or empty file, or a fresh one nothing was recorded in, is none.
   */
  exists(): boolean {
    return this.written || this.current.serial > 0 || this.current.resources.length > 0;
  }

  /**
   * Takes over a lineage made elsewhere (a saved plan made with no state fixed the lineage its
   * idempotency tokens hash). Only while there is no state: an existing lineage never changes.
   */
  adoptLineage(lineage: string): void {
    if (this.exists()) throw new EngineError(`state ${this.file} exists with lineage ${this.current.lineage}: its lineage cannot change to ${lineage}`);
    this.current.lineage = lineage;
  }

  static load(file: string): StateManager {
    removeDeadWritersTempFiles(file);
    const s = readState(file);
    return new StateManager(file, s, s !== null, true);
  }

  /** Reads the storage's current state (with the lock held, for a run that writes). */
  static async open(storage: StateStorage): Promise<StateManager> {
    const s = await storage.refresh();
    return new StateManager(storage, s, s !== null, true);
  }

  /** The resource entry of a resource or instance address. */
  find(address: string): StateResource | undefined {
    const resource = parseInstanceAddress(address)?.resource ?? address;
    return this.byAddress().get(resource);
  }

  private byAddress(): Map<string, StateResource> {
    return (this.index ??= new Map(this.current.resources.map((r) => [resourceAddress(r), r])));
  }

  /** The current object at an instance address (`aws_x.y`, `aws_x.y[0]`, `aws_x.y["a"]`). */
  instance(address: string): StateInstance | undefined {
    const parsed = parseInstanceAddress(address);
    if (!parsed) return undefined;
    const r = this.find(parsed.resource);
    return r && currentInstance(r, parsed.key);
  }

  /** Replaces every resource (e.g. with what a refresh found); dirty only if something differs. */
  replaceResources(resources: StateResource[]): void {
    if (valuesEqual(resources as unknown as Value, this.current.resources as unknown as Value, EXACT)) return;
    this.current.resources = resources;
    this.index = undefined;
    this.sorted = false;
    this.dirty = true;
  }

  /**
   * Sets (or with null, removes) one instance's current object: the one with `r.index` as its key
   * (none for a resource without count or for_each); with `deposed`, that instance's deposed object
   * with this key instead. Other objects stay, in Terraform's order (by instance key, then the current
   * object before the deposed ones by deposed key); a resource left with none leaves the state, as
   * Terraform prunes it.
   */
  set(r: { mode: 'managed' | 'data'; type: string; name: string; provider: string; index?: InstanceKey }, instance: StateInstance | null, deposed?: string): void {
    const address = resourceAddress(r);
    const index = this.byAddress();
    const resources = this.current.resources;
    const existing = index.get(address);
    const others = (existing?.instances ?? []).filter((i) => i.deposed !== deposed || instanceKey(i) !== r.index);
    if (instance === null) {
      if (!existing || others.length === existing.instances.length) return;
      this.dirty = true;
      if (others.length === 0) {
        resources.splice(resources.indexOf(existing), 1);
        index.delete(address);
      } else existing.instances = others;
      return;
    }
    // Key order as Terraform's writer: index_key, status, deposed, schema_version...
    const { index_key: _ignored, deposed: _old, ...rest } = instance;
    const keyed: StateInstance = {
      ...(r.index !== undefined ? { index_key: r.index } : {}),
      ...(deposed !== undefined && rest.status !== undefined ? { status: rest.status } : {}),
      ...(deposed !== undefined ? { deposed } : {}),
      ...rest,
    };
    const instances = [...others, keyed].sort((a, b) => compareKeys(instanceKey(a), instanceKey(b)) || byteCompare(String(a.deposed ?? ''), String(b.deposed ?? '')));
    // Fields eksidp does not know (a newer Terraform's) stay as they were.
    const entry: StateResource = { ...(existing ?? {}), mode: r.mode, type: r.type, name: r.name, provider: r.provider, instances };
    if (existing && valuesEqual(existing as unknown as Value, entry as unknown as Value, EXACT)) return;
    this.dirty = true;
    index.set(address, entry);
    // The entry keeps its place (same mode, type and name); a new one goes where Terraform's writer
    // sorts it: by mode string ("data" < "managed"), then type, then name, by bytes (Go's string order).
    if (existing) resources[resources.indexOf(existing)] = entry;
    else resources.splice(sortedPosition(resources, entry), 0, entry);
    if (!this.sorted) {
      resources.sort(compareResources);
      this.sorted = true;
    }
  }

  /** Replaces the root outputs (outputs.ts builds them in state v4's form); dirty only if something differs. */
  setOutputs(outputs: Record<string, unknown>): void {
    if (valuesEqual(outputs as Value, this.current.outputs as Value, EXACT) && Object.keys(outputs).join() === Object.keys(this.current.outputs).join()) return;
    this.current.outputs = outputs;
    this.dirty = true;
  }

  /** Whether there are changes the storage does not have (a persist failed, or none was asked for yet). */
  unsaved(): boolean {
    return this.dirty;
  }

  /**
   * Asks for the changes so far to be stored soon, without waiting (apply calls it after each step;
   * its final persist() stores the rest). With thousands of steps, writing the whole state after each
   * one made a fleet apply spend its time serialising: writes here start when none is in flight, at
   * least 9x the last write's duration apart and after 9x its CPU time was spent on other work (at
   * most 5 s), so storing takes at most a tenth of the time and of the CPU (a process mostly waiting
   * on the API has CPU to spare, not to spend on the same megabytes again and again: on a shared
   * machine it delays the calls) and a small state is still written at once. Terraform 1.5+ persists its state snapshots
   * during apply on an interval the same way (hook_state.go, every 20 s). A crash in between loses
   * only changes the provider finds again on the next run (an object it made is found and adopted,
   * not made twice: engine/README.md). A failed write is kept in `writeError` and retried by the next.
   */
  checkpoint(): void {
    if (!this.dirty || this.checkpointTimer) return;
    if (this.checkpointRunning) {
      this.checkpointAgain = true;
      return;
    }
    const fire = () => {
      // The CPU rule may still hold it back: again when it could be met.
      const wait = checkpointWait(this.lastWrite, Date.now(), cpuMs());
      if (wait > 0) {
        this.checkpointTimer = setTimeout(fire, wait);
        return;
      }
      this.checkpointTimer = undefined;
      this.checkpointRunning = true;
      this.persist().then(
        () => { this.checkpointError = undefined; },
        (e: unknown) => { this.checkpointError = e; },
      ).finally(() => {
        this.checkpointRunning = false;
        if (this.checkpointAgain) {
          this.checkpointAgain = false;
          this.checkpoint();
        }
      });
    };
    this.checkpointTimer = setTimeout(fire, checkpointWait(this.lastWrite, Date.now(), cpuMs()));
  }

  /** The error of the last checkpoint write when it failed (cleared by one that succeeds). */
  get writeError(): unknown {
    return this.checkpointError;
  }

  /** Persists if anything changed since the last write; serialised so parallel callers never interleave. */
  persist(): Promise<void> {
    // Now, not at the checkpoint's time: this write takes what a scheduled one would have.
    if (this.checkpointTimer) {
      clearTimeout(this.checkpointTimer);
      this.checkpointTimer = undefined;
    }
    const run = async () => {
      if (!this.dirty) return;
      const started = Date.now();
      const cpuStarted = cpuMs();
      this.dirty = false;
      // No state file yet and nothing to record: do not create an empty one.
      if (!this.existsOnDisk && !this.written && this.current.resources.length === 0 && Object.keys(this.current.outputs).length === 0) return;
      if (this.written || this.existsOnDisk) this.current.serial += 1;
      else this.current.serial = Math.max(this.current.serial, 1);
      this.current.terraform_version = TERRAFORM_VERSION;
      try {
        await this.storage.persist(this.current);
      } catch (e) {
        // Not stored: the next persist tries again (and the caller may keep it elsewhere: unsaved()).
        this.dirty = true;
        throw e;
      }
      this.written = true;
      // The CPU of the whole process meanwhile (what else ran too: the pause errs long, within 5 s).
      const cpuAt = cpuMs();
      this.lastWrite = { endedAt: Date.now(), ms: Date.now() - started, cpuAt, cpuMs: cpuAt - cpuStarted };
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }
}
