import { spawn, type ChildProcess } from 'node:child_process';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type * as Grpc from '@grpc/grpc-js';
import type { BridgeRequest, BridgeResponse, StartRequest, WorkerInit } from './bridge-types';
import { convertSchema, type ProtoGetSchemaResponse } from './schema';
import { mark as markAt } from './timing';

/**
 * The worker thread that owns one plugin process and its gRPC connection (see bridge.ts for why a
 * thread): it starts the binary with go-plugin's handshake, forwards calls, drains the plugin's
 * output, and reports the process's exit. Bytes only cross the thread boundary: values are encoded
 * and decoded on the main thread, where the engine's UNKNOWN marker lives.
 *
 * The binary is spawned first thing, before gRPC and the protocol definitions are loaded (~0.1-0.2 s
 * of module loading that then overlaps the plugin's own start, ~0.35 s for hashicorp/aws).
 */

const MAGIC_COOKIE_KEY = 'TF_PLUGIN_MAGIC_COOKIE';
const MAGIC_COOKIE = 'd602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2';
/** What the plugin's stderr keeps for error messages (it logs JSON lines whatever TF_LOG says). */
const TAIL_BYTES = 8192;

const init = workerData as WorkerInit;
const syncState = new Int32Array(init.syncBuffer);
const syncPort: MessagePort = init.syncPort;
const eventPort: MessagePort = init.eventPort;
const mark = (what: string) => markAt(`worker: ${what}`, init.origin);
mark('up');

type GrpcClient = Grpc.Client & Record<string, (req: unknown, opts: Grpc.CallOptions, cb: (err: Grpc.ServiceError | null, res: unknown) => void) => void>;
let child: ChildProcess | undefined;
let provider: GrpcClient | undefined;
let controller: GrpcClient | undefined;
let stderrTail = '';
let exited: { code: number | null; signal: string | null } | undefined;

function tail(s: string): void {
  stderrTail = (stderrTail + s).slice(-TAIL_BYTES);
}

async function start(req: StartRequest): Promise<{ pid: number; protocol: number; address: string }> {
  const env = { ...req.env, [MAGIC_COOKIE_KEY]: MAGIC_COOKIE, PLUGIN_PROTOCOL_VERSIONS: '5' };
  mark('spawn');
  const proc = spawn(req.binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  // The main thread kills it at exit even before it has heard of the start (bridge.ts).
  if (proc.pid !== undefined) Atomics.store(syncState, 1, proc.pid);
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', tail);
  const handshake = new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the plugin printed no handshake within ${req.timeoutMs / 1000} s`)), req.timeoutMs);
    const fail = (e: Error) => { clearTimeout(timer); proc.kill('SIGKILL'); reject(e); };
    proc.once('error', (e) => fail(e));
    proc.once('exit', (code, signal) => fail(new Error(`the plugin exited (${signal ?? `code ${code}`}) before its handshake${stderrTail ? `: ${stderrTail.trim().split('\n').slice(-3).join(' ')}` : ''}`)));
    proc.stdout!.setEncoding('utf8');
    const onData = (s: string) => {
      out += s;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      proc.removeAllListeners('exit');
      proc.removeAllListeners('error');
      // After the handshake, stdout is drained (a plugin may print anything), never read.
      proc.stdout!.on('data', () => undefined);
      mark('handshake line');
      resolve(out.slice(0, nl).trim());
    };
    proc.stdout!.on('data', onData);
  });
  // While the plugin starts: gRPC and the protocol's client classes.
  const grpc = require('@grpc/grpc-js') as typeof Grpc;
  const { loadProtocol } = require('./proto') as typeof import('./proto');
  const pkg = grpc.loadPackageDefinition(loadProtocol()) as unknown as {
    tfplugin5: { Provider: new (target: string, creds: Grpc.ChannelCredentials, opts: Grpc.ChannelOptions) => GrpcClient };
    plugin: { GRPCController: new (target: string, creds: Grpc.ChannelCredentials, opts: Grpc.ChannelOptions) => GrpcClient };
  };
  mark('gRPC loaded');
  const line = await handshake;
  proc.on('exit', (code, signal) => {
    exited = { code, signal };
    eventPort.postMessage({ event: 'exit', code, signal, stderrTail });
  });
  // CORE-PROTOCOL-VERSION|APP-PROTOCOL-VERSION|NETWORK-TYPE|NETWORK-ADDR|PROTOCOL
  const [core, app, network, address, wire] = line.split('|');
  const protocol = Number(app);
  if (core !== '1' || !network || !address) {
    proc.kill('SIGKILL');
    throw new Error(`the plugin's handshake line is not go-plugin's: ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (protocol !== 5) {
    proc.kill('SIGKILL');
    throw new Error(`the plugin speaks plugin protocol ${app}; eksidp speaks protocol 5 only (hashicorp/aws and providers on terraform-plugin-sdk v2 offer it)`);
  }
  if (wire !== 'grpc') {
    proc.kill('SIGKILL');
    throw new Error(`the plugin offers "${wire}", not grpc`);
  }
  const target = network === 'unix' ? `unix://${address}` : address;
  // The AWS provider's schema is about 5 MB: above grpc-js's 4 MB default.
  const opts: Grpc.ChannelOptions = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  provider = new pkg.tfplugin5.Provider(target, grpc.credentials.createInsecure(), opts);
  controller = new pkg.plugin.GRPCController(target, grpc.credentials.createInsecure(), opts);
  // Connect now: the first call (Configure) need not wait for the HTTP/2 handshake.
  provider.getChannel().getConnectivityState(true);
  mark('gRPC clients created');
  return { pid: proc.pid!, protocol, address };
}

function call(method: string, request: unknown, client: GrpcClient | undefined = provider): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!client) return reject(new Error('the plugin is not started'));
    if (exited) return reject(new Error(`the plugin process exited (${exited.signal ?? `code ${exited.code}`})`));
    client[method]!(request, {}, (err, res) => {
      if (!err) return resolve(res);
      // A dropped connection usually means the process died: wait a moment for its exit, to say so.
      void exitedSoon().then(() => reject(new Error(exited ? `the plugin process exited (${exited.signal ?? `code ${exited.code}`})${stderrTail && exited.code ? `: ${stderrTail.trim().split('\n').slice(-3).join(' ')}` : ''}` : err.details || err.message)));
    });
  });
}

function exitedSoon(): Promise<void> {
  if (exited || !child) return Promise.resolve();
  const proc = child;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    proc.once('exit', () => { clearTimeout(timer); setImmediate(resolve); });
  });
}

async function shutdown(): Promise<void> {
  if (!child || exited) return;
  const proc = child;
  // Not started (the run ended before it needed the plugin, or the handshake was refused): nothing to shut down gracefully.
  if (!provider) {
    proc.kill('SIGKILL');
    return;
  }
  const gone = new Promise<void>((r) => (exited ? r() : proc.once('exit', () => r())));
  await call('Shutdown', {}, controller).catch(() => undefined);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
  await gone;
  clearTimeout(timer);
  provider?.close();
  controller?.close();
}

async function handle(msg: BridgeRequest): Promise<BridgeResponse> {
  try {
    if (msg.op === 'start') return { id: msg.id, ok: true, value: await startup };
    if (msg.op === 'schema') return { id: msg.id, ok: true, value: JSON.stringify(convertSchema((await call('GetSchema', {})) as ProtoGetSchemaResponse)) };
    if (msg.op === 'shutdown') return { id: msg.id, ok: true, value: await shutdown() };
    return { id: msg.id, ok: true, value: await call(msg.method!, msg.request) };
  } catch (e) {
    return { id: msg.id, ok: false, error: (e as Error).message, stderrTail };
  }
}

// The plugin starts as soon as the thread is up; the main thread asks for the result when it needs it.
const startup = start(init.start);
startup.catch(() => undefined);

parentPort!.on('message', (msg: BridgeRequest) => {
  void handle(msg).then((res) => {
    if (msg.sync) {
      syncPort.postMessage(res);
      Atomics.store(syncState, 0, 1);
      Atomics.notify(syncState, 0);
    } else eventPort.postMessage(res);
  });
});
