import path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { BridgeRequest, BridgeResponse, ExitEvent, StartRequest, WorkerInit } from './bridge-types';
import { mark } from './timing';

/**
 * One plugin process behind a worker thread. The engine's protocol has synchronous verbs (schema,
 * validation, PlanResourceChange: the engine plans without I/O of its own, and drift plans offline),
 * so a plugin call must be able to block: the main thread posts the call and sleeps on a shared
 * word (Atomics.wait) until the worker, which owns the gRPC connection, answers. Asynchronous verbs
 * (reads, apply) go through the same worker without blocking.
 *
 * The plugin starts when a PluginProcess is made (the worker spawns it first thing), and the
 * engine asks for the handshake only when it needs the plugin, so the plugin's own start overlaps
 * whatever eksidp does meanwhile. The plugin process is killed when this process exits for any
 * reason (Ctrl-C ends in process.exit; an uncaught error too), so no plugin outlives eksidp: the
 * worker writes its pid into shared memory at spawn, before the main thread hears of it.
 */

export class PluginError extends Error {}

/** Every plugin process not yet shut down, killed on exit. */
const live = new Set<PluginProcess>();
/** Every plugin process this process started (tests check that none outlives its command). */
export const startedPids: number[] = [];
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const p of live) {
      const pid = p.spawnedPid();
      if (pid === undefined || p.exit) continue;
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
}

export class PluginProcess {
  private readonly worker: Worker;
  private readonly syncState = new Int32Array(new SharedArrayBuffer(8));
  private readonly syncPort;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Set once the handshake is done. */
  pid: number | undefined;
  /** Set when the process has exited. */
  exit: ExitEvent | undefined;
  private startError: Error | undefined;
  private starting: Promise<void> | undefined;

  /** Spawns the plugin (in the worker, at once); `startedSync` or `started` wait for its handshake. */
  constructor(readonly name: string, start: StartRequest) {
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
      workerData: { syncBuffer: this.syncState.buffer, syncPort: sync.port2, eventPort: events.port2, origin: performance.timeOrigin, start } satisfies WorkerInit,
      transferList: [sync.port2, events.port2],
    });
    mark('worker created');
    hookExit();
    live.add(this);
    this.timeoutMs = start.timeoutMs;
    this.worker.unref();
    events.port1.unref();
    events.port1.on('message', (msg: BridgeResponse | ExitEvent) => {
      if ('event' in msg) {
        this.exit = msg;
        live.delete(this);
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
    // A call still waiting when the worker ends gets no answer: say so rather than wait forever.
    this.worker.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new PluginError(`${this.name}: the plugin's worker ended`));
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

  private readonly timeoutMs: number;

  /** The pid from the spawn on (the handshake may not have come yet). */
  spawnedPid(): number | undefined {
    return Atomics.load(this.syncState, 1) || undefined;
  }

  private startedWith(res: { pid: number }): void {
    if (this.pid !== undefined) return;
    mark('started (handshake done, clients created)');
    this.pid = res.pid;
    startedPids.push(res.pid);
  }

  /** Waits for the handshake, blocking (the engine's synchronous verbs may be the first to need the plugin). */
  startedSync(): void {
    if (this.pid !== undefined) return;
    if (this.startError) throw this.startError;
    mark('waiting for the handshake');
    try {
      this.startedWith(this.callSync<{ pid: number }>({ op: 'start' }, this.timeoutMs + 5000));
    } catch (e) {
      throw (this.startError = e as Error);
    }
  }

  /** Waits for the handshake without blocking. */
  started(): Promise<void> {
    if (this.pid !== undefined) return Promise.resolve();
    if (this.startError) return Promise.reject(this.startError);
    mark('waiting for the handshake');
    return (this.starting ??= this.call<{ pid: number }>({ op: 'start' }).then((res) => this.startedWith(res), (e: Error) => {
      throw (this.startError = e);
    }));
  }

  private closing: Promise<void> | undefined;

  /** GRPCController.Shutdown (a plugin still starting is killed), then the worker ends; once, whoever asks. */
  shutdown(): Promise<void> {
    return (this.closing ??= this.close());
  }

  private async close(): Promise<void> {
    mark('shutdown');
    try {
      // The exit event may overtake Shutdown's answer: either way the process is gone.
      if (!this.exit) await this.call({ op: 'shutdown' }).catch((e: Error) => { if (!this.exit) throw e; });
    } finally {
      live.delete(this);
      // A timer holds the event loop while the worker ends: terminate()'s promise alone does not (the
      // worker is unref'd, and ref() on one already ending does not hold it), so a caller awaiting
      // close() with nothing else pending (the plugin already gone) was never resumed.
      const hold = setInterval(() => {}, 1000);
      try {
        await this.worker.terminate();
      } finally {
        clearInterval(hold);
      }
      mark('shut down (worker ended)');
    }
  }
}
