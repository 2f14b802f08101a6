import path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { BridgeRequest, BridgeResponse, ExitEvent, StartRequest } from './bridge-types';

/**
 * One plugin process behind a worker thread. The engine's protocol has synchronous verbs (schema,
 * validation, PlanResourceChange: the engine plans without I/O of its own, and drift plans offline),
 * so a plugin call must be able to block: the main thread posts the call and sleeps on a shared
 * word (Atomics.wait) until the worker, which owns the gRPC connection, answers. Asynchronous verbs
 * (reads, apply) go through the same worker without blocking.
 *
 * The plugin process is killed when this process exits for any reason (Ctrl-C ends in
 * process.exit; an uncaught error too), so no plugin outlives eksidp.
 */

export class PluginError extends Error {}

/** Every live plugin process, killed on exit. */
const live = new Set<number>();
/** Every plugin process this process started (tests check that none outlives its command). */
export const startedPids: number[] = [];
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const pid of live) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
}

export class PluginProcess {
  private readonly worker: Worker;
  private readonly syncState = new Int32Array(new SharedArrayBuffer(4));
  private readonly syncPort;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  pid: number | undefined;
  /** Set when the process has exited. */
  exit: ExitEvent | undefined;

  constructor(readonly name: string) {
    const sync = new MessageChannel();
    const events = new MessageChannel();
    this.syncPort = sync.port1;
    // The worker is compiled next to this file (dist/); from source (tests, under tsx) it registers
    // tsx itself, since a worker thread does not inherit tsx's loader.
    const ext = path.extname(__filename);
    const file = path.join(__dirname, `worker${ext}`);
    const source = ext === '.ts' ? `require('tsx/cjs'); require(${JSON.stringify(file)});` : file;
    this.worker = new Worker(source, {
      eval: ext === '.ts',
      workerData: { syncBuffer: this.syncState.buffer, syncPort: sync.port2, eventPort: events.port2 },
      transferList: [sync.port2, events.port2],
    });
    this.worker.unref();
    events.port1.unref();
    events.port1.on('message', (msg: BridgeResponse | ExitEvent) => {
      if ('event' in msg) {
        this.exit = msg;
        if (this.pid !== undefined) live.delete(this.pid);
        for (const p of this.pending.values()) p.reject(new PluginError(`${this.name}: the plugin process exited (${msg.signal ?? `code ${msg.code}`})`));
        this.pending.clear();
        this.settle();
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.settle();
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new PluginError(msg.error));
    });
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(new PluginError(`${this.name}: ${e.message}`));
      this.pending.clear();
    });
  }

  /** The worker keeps the process alive only while a call is in flight. */
  private settle(): void {
    if (this.pending.size === 0) this.worker.unref();
  }

  private post(msg: Omit<BridgeRequest, 'id' | 'sync'>, sync: boolean): number {
    const id = this.nextId++;
    this.worker.postMessage({ ...msg, id, sync });
    return id;
  }

  /** Blocks until the worker answers. */
  callSync<T>(msg: Omit<BridgeRequest, 'id' | 'sync'>, timeoutMs = 120_000): T {
    Atomics.store(this.syncState, 0, 0);
    this.post(msg, true);
    const r = Atomics.wait(this.syncState, 0, 0, timeoutMs);
    if (r === 'timed-out') throw new PluginError(`${this.name}: no answer from the plugin within ${timeoutMs / 1000} s`);
    const got = receiveMessageOnPort(this.syncPort);
    if (!got) throw new PluginError(`${this.name}: the plugin's worker answered nothing`);
    const res = got.message as BridgeResponse;
    if (!res.ok) throw new PluginError(res.error);
    return res.value as T;
  }

  call<T>(msg: Omit<BridgeRequest, 'id' | 'sync'>): Promise<T> {
    if (this.exit) return Promise.reject(new PluginError(`${this.name}: the plugin process exited (${this.exit.signal ?? `code ${this.exit.code}`})`));
    return new Promise<T>((resolve, reject) => {
      this.worker.ref();
      const id = this.post(msg, false);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Starts the plugin and waits for its handshake (synchronously: the engine may need its schema at once). */
  startSync(req: StartRequest): void {
    const res = this.callSync<{ pid: number }>({ op: 'start', start: req }, req.timeoutMs + 5000);
    this.pid = res.pid;
    startedPids.push(res.pid);
    hookExit();
    live.add(res.pid);
  }

  /** GRPCController.Shutdown, then the worker ends. */
  async shutdown(): Promise<void> {
    try {
      // The exit event may overtake Shutdown's answer: either way the process is gone.
      if (this.pid !== undefined && !this.exit) await this.call({ op: 'shutdown' }).catch((e: Error) => { if (!this.exit) throw e; });
    } finally {
      if (this.pid !== undefined) live.delete(this.pid);
      await this.worker.terminate();
    }
  }
}
