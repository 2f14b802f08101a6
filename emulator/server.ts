import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EksError, notFound } from './errors';
import { Eks, type OpInput } from './operations';
import { seededRandom } from './rng';
import { Store, type UpdateRecord } from './store';
import { isObj, NAME_MAX, NAME_PATTERN, type Obj } from './validate';
import type { EmulatorHandle, EmulatorOptions, FaultSettings } from './index';

/** The EKS routes this emulator serves, from the model's `http.requestUri`. */
const ROUTES: [method: string, path: string, op: string][] = [
  ['POST', '/clusters', 'CreateCluster'],
  ['GET', '/clusters', 'ListClusters'],
  ['GET', '/clusters/{name}', 'DescribeCluster'],
  ['DELETE', '/clusters/{name}', 'DeleteCluster'],
  ['POST', '/clusters/{name}/updates', 'UpdateClusterVersion'],
  ['GET', '/clusters/{name}/updates', 'ListUpdates'],
  ['GET', '/clusters/{name}/updates/{updateId}', 'DescribeUpdate'],
  ['POST', '/clusters/{name}/update-config', 'UpdateClusterConfig'],
  ['POST', '/clusters/{name}/identity-provider-configs/associate', 'AssociateIdentityProviderConfig'],
  ['POST', '/clusters/{name}/identity-provider-configs/describe', 'DescribeIdentityProviderConfig'],
  ['POST', '/clusters/{name}/identity-provider-configs/disassociate', 'DisassociateIdentityProviderConfig'],
  ['GET', '/clusters/{name}/identity-provider-configs', 'ListIdentityProviderConfigs'],
  ['GET', '/clusters/{name}/access-entries', 'ListAccessEntries'],
  ['GET', '/clusters/{name}/addons', 'ListAddons'],
  ['POST', '/tags/{resourceArn}', 'TagResource'],
  ['DELETE', '/tags/{resourceArn}', 'UntagResource'],
  ['GET', '/tags/{resourceArn}', 'ListTagsForResource'],
];

/** Operations that never change state: no write to the data dir after them. */
const READ_ONLY = new Set(['DescribeCluster', 'ListClusters', 'ListUpdates', 'DescribeUpdate', 'DescribeIdentityProviderConfig', 'ListIdentityProviderConfigs', 'ListAccessEntries', 'ListAddons', 'ListTagsForResource']);

const COMPILED = ROUTES.map(([method, p, op]) => ({ method, parts: p.split('/').slice(1), op }));
const RATE_KEYS = ['throttleRate', 'errorRate', 'resetRate', 'failUpdateRate'] as const;
const MS_KEYS = ['latencyMs', 'clusterCreateMs', 'clusterDeleteMs', 'updateMs'] as const;
const PER_SECOND_KEYS = ['rateLimit', 'rateBurst'] as const;

type Matched = { op: string; params: Record<string, string> };

/** Matches a raw path; path parameters are percent-decoded data, never interpreted further. */
function route(method: string, rawPath: string): Matched | 'no-route' {
  const segs = rawPath.split('/').slice(1);
  for (const r of COMPILED) {
    if (r.method !== method || r.parts.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let okay = true;
    for (let i = 0; i < segs.length && okay; i++) {
      const want = r.parts[i]!;
      if (want.startsWith('{')) {
        let v: string;
        try {
          v = decodeURIComponent(segs[i]!);
        } catch {
          throw new EksError('InvalidParameterException', `Malformed percent-encoding in path segment '${segs[i]!.slice(0, 100)}'`);
        }
        params[want.slice(1, -1)] = v;
      } else okay = want === segs[i];
    }
    if (okay) return { op: r.op, params };
  }
  return 'no-route';
}

export async function serve(opts: EmulatorOptions): Promise<EmulatorHandle> {
  const faults: Required<FaultSettings> = {
    latencyMs: opts.latencyMs ?? 0,
    throttleRate: opts.throttleRate ?? 0,
    errorRate: opts.errorRate ?? 0,
    resetRate: opts.resetRate ?? 0,
    failUpdateRate: opts.failUpdateRate ?? 0,
    clusterCreateMs: opts.clusterCreateMs ?? 1000,
    clusterDeleteMs: opts.clusterDeleteMs ?? 500,
    updateMs: opts.updateMs ?? 500,
    seed: opts.seed ?? Math.floor(Math.random() * 2 ** 32),
    rateLimit: opts.rateLimit ?? 0,
    rateBurst: opts.rateBurst ?? 0,
  };
  checkFaults(faults);
  // The account's token bucket (rateLimit > 0): refilled continuously, rateBurst deep.
  const bucket = { tokens: -1, at: 0 };
  const takeToken = (): boolean => {
    if (faults.rateLimit <= 0) return true;
    const depth = faults.rateBurst > 0 ? faults.rateBurst : faults.rateLimit;
    const now = Date.now();
    bucket.tokens = bucket.tokens < 0 ? depth : Math.min(depth, bucket.tokens + ((now - bucket.at) / 1000) * faults.rateLimit);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
  // Two streams: call faults and update failures stay reproducible independently of each other.
  let callDice = seededRandom(faults.seed);
  let updateDice = seededRandom(faults.seed ^ 0x9e3779b9);
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const debug = Boolean(process.env.EKSIDP_EMULATOR_DEBUG);
  const store = new Store(opts.dataDir);
  const eks = new Eks(store, {
    region: opts.region ?? 'us-east-1',
    accountId: opts.accountId ?? '000000000000',
    durations: () => ({ create: faults.clusterCreateMs, delete: faults.clusterDeleteMs, update: faults.updateMs }),
    rollUpdateFailure: () => updateDice() < faults.failUpdateRate,
  });
  let calls: Record<string, number> = {};

  const advance = () => {
    if (store.advance(Date.now())) store.persist();
  };
  advance();

  const setFaults = (f: Partial<FaultSettings>) => {
    const next = { ...faults };
    for (const [k, v] of Object.entries(f)) if (v !== undefined && k in next) (next as Record<string, number>)[k] = v;
    checkFaults(next);
    Object.assign(faults, next);
    if (f.seed !== undefined) {
      callDice = seededRandom(faults.seed);
      updateDice = seededRandom(faults.seed ^ 0x9e3779b9);
    }
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(text);
  };
  const sendError = (res: http.ServerResponse, e: EksError) => send(res, e.status, e.body(), { 'x-amzn-errortype': e.type });

  /** Reads the body up to maxBody; over it, answers 413 without reading further and drops the connection. */
  const readBody = (req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer | undefined> => {
    const tooLarge = () => {
      const e = new EksError('RequestEntityTooLargeException', `Request body exceeds the limit of ${maxBody} bytes`);
      res.writeHead(e.status, { 'content-type': 'application/json', 'x-amzn-errortype': e.type, connection: 'close' });
      res.end(JSON.stringify(e.body()), () => req.socket.destroy());
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      tooLarge();
      return Promise.resolve(undefined);
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > maxBody) {
          over = true;
          req.pause();
          tooLarge();
          resolve(undefined);
        } else chunks.push(c);
      });
      req.on('end', () => { if (!over) resolve(Buffer.concat(chunks)); });
      req.on('error', reject);
    });
  };

  const admin = async (req: http.IncomingMessage, res: http.ServerResponse, p: string) => {
    advance();
    const m = req.method;
    if (m === 'GET' && p === '/_emulator/health') return send(res, 200, { ok: true, clusters: store.clusters.size });
    if (m === 'GET' && p === '/_emulator/state') return send(res, 200, store.snapshot());
    if (m === 'GET' && p === '/_emulator/updates') return send(res, 200, { updates: [...store.updates.values()] });
    if (m === 'GET' && p === '/_emulator/calls') return send(res, 200, calls);
    if (m === 'POST' && p === '/_emulator/calls/reset') { calls = {}; return send(res, 200, {}); }
    if (p === '/_emulator/faults' && (m === 'GET' || m === 'POST')) {
      if (m === 'POST') {
        const buf = await readBody(req, res);
        if (!buf) return undefined;
        let f: unknown;
        try {
          f = buf.length ? JSON.parse(buf.toString('utf8')) : {};
        } catch {
          return sendError(res, new EksError('SerializationException', 'faults: body is not valid JSON'));
        }
        if (!isObj(f)) return sendError(res, new EksError('InvalidParameterException', 'faults: body must be a JSON object'));
        try {
          const unknown = Object.keys(f).filter((k) => !(k in faults));
          if (unknown.length) throw new Error(`unknown fault setting(s): ${unknown.join(', ')}`);
          setFaults(f as Partial<FaultSettings>);
        } catch (e) {
          return sendError(res, new EksError('InvalidParameterException', `faults: ${(e as Error).message}`));
        }
      }
      return send(res, 200, faults);
    }
    return sendError(res, new EksError('UnknownOperationException', `No emulator admin endpoint ${m} ${p}`));
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    if (rawPath.startsWith('/_emulator/')) return admin(req, res, rawPath);

    const matched = route(req.method ?? 'GET', rawPath);
    if (matched === 'no-route') {
      if (debug) process.stderr.write(`eks-emulator: no route for ${req.method} ${url}\n`);
      req.resume();
      return sendError(res, new EksError('UnknownOperationException', `The EKS emulator does not implement ${req.method} ${rawPath}`));
    }
    const { op, params } = matched;
    calls[op] = (calls[op] ?? 0) + 1;
    const buf = await readBody(req, res);
    if (!buf) return undefined;

    // Always four draws per call, so a seed gives the same fault sequence whatever the rates.
    const [reset, throttle, error, which] = [callDice(), callDice(), callDice(), callDice()];
    const withinRate = takeToken();
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (!withinRate) return sendError(res, new EksError('ThrottlingException', 'Rate exceeded', params.name ? { clusterName: params.name } : {}));
    if (reset < faults.resetRate) {
      req.socket.destroy();
      return undefined;
    }
    if (throttle < faults.throttleRate) return sendError(res, new EksError('ThrottlingException', 'Rate exceeded', params.name ? { clusterName: params.name } : {}));
    if (error < faults.errorRate) {
      return sendError(res, which < 0.5
        ? new EksError('ServerException', 'An internal error occurred (injected by the emulator)')
        : new EksError('ServiceUnavailableException', 'The service is unavailable (injected by the emulator)'));
    }

    let body: Obj = {};
    if (buf.length > 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.toString('utf8'));
      } catch {
        return sendError(res, new EksError('SerializationException', `${op}: request body is not valid JSON`));
      }
      if (!isObj(parsed)) return sendError(res, new EksError('SerializationException', `${op}: request body must be a JSON object`));
      body = parsed;
    }
    // Names are data: anything outside the model's pattern simply does not exist.
    if (params.name !== undefined && (params.name.length > NAME_MAX || !NAME_PATTERN.test(params.name))) {
      return sendError(res, notFound(`No cluster found for name: ${params.name.slice(0, 200)}.`));
    }
    advance();
    const input: OpInput = { params, query, body };
    const result = eks.operations[op]!(input);
    if (!READ_ONLY.has(op)) store.persist();
    return send(res, result.status, result.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return;
      if (e instanceof EksError) return sendError(res, e);
      process.stderr.write(`eks-emulator: internal error on ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}\n`);
      sendError(res, new EksError('ServerException', `Internal emulator error: ${(e as Error).message}`));
    });
  });
  server.keepAliveTimeout = 10_000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 4599, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections();
    }),
    setFaults,
    snapshot: () => { advance(); return store.snapshot(); },
    updates: (): UpdateRecord[] => { advance(); return [...store.updates.values()].map((u) => ({ ...u })); },
    calls: () => ({ ...calls }),
    resetCalls: () => { calls = {}; },
  };
}

function checkFaults(f: Required<FaultSettings>): void {
  for (const k of RATE_KEYS) {
    if (typeof f[k] !== 'number' || !(f[k] >= 0 && f[k] <= 1)) throw new RangeError(`${k} must be a number between 0 and 1, got ${String(f[k])}`);
  }
  for (const k of MS_KEYS) {
    if (typeof f[k] !== 'number' || !Number.isFinite(f[k]) || f[k] < 0) throw new RangeError(`${k} must be a number of milliseconds >= 0, got ${String(f[k])}`);
  }
  for (const k of PER_SECOND_KEYS) {
    if (typeof f[k] !== 'number' || !Number.isFinite(f[k]) || f[k] < 0) throw new RangeError(`${k} must be a number of calls per second >= 0, got ${String(f[k])}`);
  }
  if (typeof f.seed !== 'number' || !Number.isInteger(f.seed)) throw new RangeError(`seed must be an integer, got ${String(f.seed)}`);
}
