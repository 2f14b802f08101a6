import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DEFAULT_ACCOUNT, Directory, parseAccounts } from './accounts';
import { adminRoute, type AdminContext } from './admin';
import { type AuthFailure, authenticate, type Authenticated, type AuthSettings } from './auth';
import { type CallRecord, Calls } from './calls';
import { bodyTypeProblem, isLoopbackAddress, refuseAtDoor, type Doors } from './doors';
import { EksError, type ErrorType, notFound } from './errors';
import { Eks, type OpInput } from './operations';
import { seededRandom } from './rng';
import { IAM_ROLE_ACTIONS, IamRoles } from './iam';
import { type S3Handle, startS3 } from './s3';
import { Store, type UpdateRecord } from './store';
import { errorXml, IAM_ACTIONS, IAM_NS, IAM_VERSION, recordedParams, runIam, runSts, STS_ACTIONS, STS_NS, StsError } from './sts';
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

/** How an authentication failure reads in each protocol (AWS's codes). */
const EKS_AUTH_ERRORS: Record<AuthFailure['kind'], ErrorType> = {
  incomplete: 'IncompleteSignatureException',
  signature: 'InvalidSignatureException',
  token: 'UnrecognizedClientException',
  expired: 'ExpiredTokenException',
  region: 'UnrecognizedClientException',
};
const STS_AUTH_ERRORS: Record<AuthFailure['kind'], [code: string, status: number]> = {
  incomplete: ['IncompleteSignature', 400],
  signature: ['SignatureDoesNotMatch', 403],
  token: ['InvalidClientTokenId', 403],
  expired: ['ExpiredToken', 403],
  region: ['RegionDisabledException', 403],
};

export const DEFAULT_MAX_CONNECTIONS = 256;

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
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // One token bucket per account (rateLimit > 0): refilled continuously, rateBurst deep.
  const buckets = new Map<string, { tokens: number; at: number }>();
  const takeToken = (accountId: string): boolean => {
    if (faults.rateLimit <= 0) return true;
    const depth = faults.rateBurst > 0 ? faults.rateBurst : faults.rateLimit;
    const now = Date.now();
    let b = buckets.get(accountId);
    if (!b) buckets.set(accountId, (b = { tokens: depth, at: now }));
    b.tokens = Math.min(depth, b.tokens + ((now - b.at) / 1000) * faults.rateLimit);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  // Two streams: call faults and update failures stay reproducible independently of each other.
  let callDice = seededRandom(faults.seed);
  let updateDice = seededRandom(faults.seed ^ 0x9e3779b9);
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const debug = Boolean(process.env.EKSIDP_EMULATOR_DEBUG);
  const store = new Store(opts.dataDir);
  const dir = new Directory(opts.accounts === undefined ? undefined : parseAccounts(opts.accounts, 'accounts option'), store.sessions);
  const defaults = { accountId: opts.accountId ?? DEFAULT_ACCOUNT, region: opts.region ?? 'us-east-1' };
  const auth: AuthSettings = { dir, verify: opts.verifySignatures ?? true, defaultAccount: defaults.accountId, defaultRegion: defaults.region };
  const eks = new Eks(store, {
    durations: () => ({ create: faults.clusterCreateMs, delete: faults.clusterDeleteMs, update: faults.updateMs }),
    rollUpdateFailure: () => updateDice() < faults.failUpdateRate,
  });
  const calls = new Calls();
  const iamRoles = new IamRoles();
  // Injected latency: the timers are cleared on close, so a held request never holds the process
  // (its connection is destroyed; the handler's promise just never settles).
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();
  const delay = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => { timers.delete(timer); resolve(); }, ms);
    timers.add(timer);
  });

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
  const adminCtx: AdminContext = { store, eks, dir, calls, defaults, faults, setFaults, advance };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...headers });
    res.end(text);
  };
  const sendError = (res: http.ServerResponse, e: EksError) => send(res, e.status, e.body(), { 'x-amzn-errortype': e.type });
  const sendXml = (res: http.ServerResponse, status: number, xml: string, requestId: string) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
    res.end(xml);
  };
  const sendStsError = (res: http.ServerResponse, e: StsError, requestId = randomUUID(), ns = STS_NS) => sendXml(res, e.status, errorXml(e, requestId, ns), requestId);

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

  const hasBody = (req: http.IncomingMessage) => Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

  /** Logs a call, and its answer once sent. */
  const record = (res: http.ServerResponse, r: CallRecord) => {
    calls.add(r);
    res.once('finish', () => {
      r.status = res.statusCode;
      const type = res.getHeader('x-amzn-errortype');
      if (type !== undefined) r.error = String(type);
    });
  };
  const recordOf = (service: CallRecord['service'], operation: string, a: Authenticated): CallRecord => ({
    at: Date.now(), service, operation, status: 0, accessKeyId: a.caller?.accessKeyId, verified: a.caller?.verified ?? false,
    accountId: a.accountId, region: a.region, principal: a.caller?.arn,
  });

  const admin = async (req: http.IncomingMessage, res: http.ServerResponse, p: string) => {
    let body: unknown;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const problem = bodyTypeProblem(req.method ?? 'POST', req.headers['content-type'], hasBody(req), 'json');
      if (problem) {
        req.resume();
        return sendError(res, new EksError('UnsupportedMediaTypeException', problem));
      }
      const buf = await readBody(req, res);
      if (!buf) return undefined;
      try {
        body = buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
      } catch {
        return sendError(res, new EksError('SerializationException', `${p}: body is not valid JSON`));
      }
    }
    const r = adminRoute(adminCtx, req.method ?? 'GET', p, body);
    return send(res, r.status, r.body);
  };

  /** `POST /`: STS, or IAM (GetUser) when the form names IAM's version. */
  const queryProtocol = async (req: http.IncomingMessage, res: http.ServerResponse, url: string) => {
    const problem = bodyTypeProblem('POST', req.headers['content-type'], true, 'form');
    if (problem) {
      req.resume();
      return sendStsError(res, new StsError('UnsupportedMediaType', problem, 415));
    }
    const buf = await readBody(req, res);
    if (!buf) return undefined;
    const form = new URLSearchParams(buf.toString('utf8'));
    const action = form.get('Action') ?? '';
    const service = form.get('Version') === IAM_VERSION ? 'iam' : 'sts';
    const ns = service === 'iam' ? IAM_NS : STS_NS;
    calls[service][action] = (calls[service][action] ?? 0) + 1;
    const roleAction = service === 'iam' && (IAM_ROLE_ACTIONS as readonly string[]).includes(action);
    if (debug && !roleAction && !(service === 'iam' ? IAM_ACTIONS : STS_ACTIONS as readonly string[]).includes(action)) {
      process.stderr.write(`eks-emulator: unknown ${service.toUpperCase()} action ${JSON.stringify(action.slice(0, 100))} (${[...form.keys()].join(', ')})\n`);
    }
    const requestId = randomUUID();
    const a = authenticate({ method: 'POST', url, rawHeaders: req.rawHeaders, body: buf }, service, auth, Date.now());
    if ('kind' in a) {
      const [code, status] = STS_AUTH_ERRORS[a.kind];
      calls.add({ at: Date.now(), service, operation: action, status, error: code, accessKeyId: a.accessKeyId, verified: false, accountId: '', region: '', params: recordedParams(form) });
      return sendStsError(res, new StsError(code, a.message, status), requestId, ns);
    }
    const r = { ...recordOf(service, action, a), params: recordedParams(form) };
    record(res, r);
    try {
      const ctx = { dir, caller: a.caller, now: Date.now() };
      const xml = roleAction ? iamRoles.run(action, form, ctx, requestId) : service === 'iam' ? runIam(action, form, ctx, requestId) : runSts(action, form, ctx, requestId);
      if (action.startsWith('AssumeRole')) store.persist();
      return sendXml(res, 200, xml, requestId);
    } catch (e) {
      if (!(e instanceof StsError)) throw e;
      r.error = e.code;
      return sendStsError(res, e, requestId, ns);
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const isSts = req.method === 'POST' && rawPath === '/';
    const refusal = refuseAtDoor(req.headers, doors);
    if (refusal) {
      req.resume();
      return isSts ? sendStsError(res, new StsError('AccessDenied', refusal, 403)) : sendError(res, new EksError('AccessDeniedException', refusal));
    }
    if (rawPath.startsWith('/_emulator/')) return admin(req, res, rawPath);
    if (isSts) return queryProtocol(req, res, url);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));

    const matched = route(req.method ?? 'GET', rawPath);
    if (matched === 'no-route') {
      if (debug) process.stderr.write(`eks-emulator: no route for ${req.method} ${url}\n`);
      req.resume();
      return sendError(res, new EksError('UnknownOperationException', `The EKS emulator does not implement ${req.method} ${rawPath}`));
    }
    const problem = bodyTypeProblem(req.method ?? 'GET', req.headers['content-type'], hasBody(req), 'json');
    if (problem) {
      req.resume();
      return sendError(res, new EksError('UnsupportedMediaTypeException', problem));
    }
    const { op, params } = matched;
    calls.eks[op] = (calls.eks[op] ?? 0) + 1;
    const buf = await readBody(req, res);
    if (!buf) return undefined;
    const a = authenticate({ method: req.method ?? 'GET', url, rawHeaders: req.rawHeaders, body: buf }, 'eks', auth, Date.now());
    if ('kind' in a) {
      const e = new EksError(EKS_AUTH_ERRORS[a.kind], a.message);
      calls.add({ at: Date.now(), service: 'eks', operation: op, status: e.status, error: e.type, accessKeyId: a.accessKeyId, verified: false, accountId: '', region: '' });
      return sendError(res, e);
    }
    record(res, recordOf('eks', op, a));

    // Always four draws per call, so a seed gives the same fault sequence whatever the rates.
    const [reset, throttle, error, which] = [callDice(), callDice(), callDice(), callDice()];
    const withinRate = takeToken(a.accountId);
    if (faults.latencyMs > 0) await delay(faults.latencyMs);
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
    const input: OpInput = { params, query, body, scope: { accountId: a.accountId, region: a.region } };
    const result = eks.operations[op]!(input);
    if (!READ_ONLY.has(op)) store.persist();
    return send(res, result.status, result.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // Stopping: the connection is gone and the answer does not matter.
      if (res.headersSent || stopping) return;
      if (e instanceof EksError) return sendError(res, e);
      process.stderr.write(`eks-emulator: internal error on ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}\n`);
      sendError(res, new EksError('ServerException', `Internal emulator error: ${(e as Error).message}`));
    });
  });
  server.keepAliveTimeout = 10_000;
  // Beyond the cap, node closes new connections at once: a flood cannot exhaust memory or sockets.
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;

  const host = opts.host ?? '127.0.0.1';
  const doors: Doors = { allowHosts: opts.allowHosts ?? [], loopbackOnly: isLoopbackAddress(host) };
  if (!doors.loopbackOnly) {
    log(`eks-emulator: WARNING: binding ${host}, which is not a loopback address: anyone who can reach it can read and change its state (admin API included)${doors.allowHosts.length ? '' : ', and any Host name is accepted'}.`);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 4599, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let s3: S3Handle | undefined;
  if (opts.s3Port !== undefined) {
    try {
      s3 = await startS3({ host, port: opts.s3Port, auth, doors, maxBodyBytes: Math.max(maxBody, 64 * 1024 * 1024), log });
      for (const b of opts.s3Buckets ?? []) s3.createBucket(b);
    } catch (e) {
      server.close();
      throw e;
    }
  }

  return {
    url: `http://${urlHost}:${port}`,
    port,
    ...(s3 ? { s3 } : {}),
    close: async () => { await Promise.all([s3?.close(), new Promise<void>((resolve, reject) => {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.close((e) => (e ? reject(e) : resolve()));
      // Idle keep-alive and in-flight connections alike: close() alone waits for them.
      server.closeAllConnections();
    })]); },
    setFaults,
    setAccounts: (config: unknown) => dir.setConfig(parseAccounts(config, 'accounts')),
    snapshot: () => { advance(); return store.snapshot(); },
    updates: (): UpdateRecord[] => { advance(); return [...store.updates.values()].map((u) => ({ ...u })); },
    calls: () => ({ ...calls.eks }),
    stsCalls: () => ({ ...calls.sts }),
    iamCalls: () => ({ ...calls.iam }),
    iamRoles: (account = defaults.accountId) => iamRoles.names(account),
    callLog: () => calls.log(),
    resetCalls: () => calls.reset(),
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
