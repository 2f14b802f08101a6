import { createHash } from 'node:crypto';
import type { EKSClient, Update } from '@aws-sdk/client-eks';
import type { Diagnostic, Path, Progress, RequestSlots } from '../../engine/protocol';
import type { Tuning } from './client';
import type { EksReads, EksWrites } from './reads';
import type { TagConfig } from './settings';
import { UpdateFailedError, connectionFailure, errorMessage, errorName, isInUse } from './errors';
import { AbortedError, Backoff, WaitTimeoutError, waitFor, type WaitContext } from './wait';
import type { Poller } from './poll';
import type { AdaptiveRate } from './rate';

/**
 * What the resource code uses: `reads` for the read calls and `writes` for the identity provider
 * config associations (the lean path, reads.ts), the SDK client for the other writes.
 */
export type Ctx = {
  readonly client: EKSClient;
  readonly reads: EksReads;
  readonly writes: EksWrites;
  readonly tuning: Tuning;
  readonly tags: TagConfig;
  /** Status polls of every wait on this connection: learned intervals, one budget (poll.ts). */
  readonly poller: Poller;
  /** The adaptive API rate both request paths share (rate.ts); absent in standard retry mode. */
  readonly rate?: AdaptiveRate;
};

export const MINUTE = 60_000;

export function waitContext(ctx: Ctx, timeoutMs: number, signal: AbortSignal | undefined, progress: Progress | undefined): WaitContext {
  return { deadline: Date.now() + timeoutMs, initialMs: ctx.tuning.pollInitialMs, maxMs: ctx.tuning.pollMaxMs, signal, progress };
}

/**
 * EKS's clientRequestToken: a token the engine derives per intended change, made safe for EKS
 * (letters, digits, - and _, at most 64) and distinct per API call of one change (`step`), so a
 * retried apply repeats exactly the same requests and EKS acts once.
 */
export function requestToken(base: string, step = ''): string {
  const raw = step ? `${base}:${step}` : base;
  if (/^[A-Za-z0-9_-]{1,64}$/.test(raw)) return raw;
  return createHash('sha256').update(raw).digest('hex').slice(0, 64);
}

/**
 * Retries a mutating call while EKS answers 409 ResourceInUse because another update runs on the
 * cluster (hashicorp/aws fails there; an apply of several configs for one cluster should not).
 */
export async function retryInUse<T>(what: string, wctx: WaitContext, fn: () => Promise<T>): Promise<T> {
  const backoff = new Backoff(wctx);
  const started = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isInUse(e)) throw e;
      wctx.progress?.(`${what}: cluster busy (${errorMessage(e)}), retrying`);
      if (!(await backoff.next(what))) throw new WaitTimeoutError(what, `ResourceInUseException: ${errorMessage(e)}`, Date.now() - started);
    }
  }
}

export async function describeUpdate(ctx: Ctx, cluster: string, updateId: string, signal?: AbortSignal): Promise<Update | undefined> {
  return (await ctx.reads.describeUpdate(cluster, updateId, signal)).update;
}

/**
 * The connection as one change sees it when the engine bounds requests in flight (RequestSlots):
 * every request, on either path, takes a slot for as long as it is in flight and no longer, so the
 * change's waits hold none. Reads (existence checks, status polls) yield to writes when slots are short.
 */
export function withSlots(ctx: Ctx, slots: RequestSlots | undefined): Ctx {
  if (!slots) return ctx;
  // The SDK client is made (and the SDK loaded, ~0.1 s) only when a change sends through it: an
  // association or disassociation never does (reads.ts).
  let client: EKSClient | undefined;
  const send = ((command: { constructor: { name: string } }, options?: unknown) =>
    slots.run(() => (client!.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options), /^(Describe|List)/.test(command.constructor.name) ? 'low' : 'normal')) as EKSClient['send'];
  const r = ctx.reads;
  const reads: EksReads = {
    describeCluster: (name, signal) => slots.run(() => r.describeCluster(name, signal), 'low'),
    listIdentityProviderConfigs: (cluster, next, signal) => slots.run(() => r.listIdentityProviderConfigs(cluster, next, signal), 'low'),
    describeIdentityProviderConfig: (cluster, name, signal) => slots.run(() => r.describeIdentityProviderConfig(cluster, name, signal), 'low'),
    describeUpdate: (cluster, id, signal) => slots.run(() => r.describeUpdate(cluster, id, signal), 'low'),
    // The connection's to close, not one change's.
    close: () => {},
  };
  const w = ctx.writes;
  const writes: EksWrites = {
    associateIdentityProviderConfig: (input, signal) => slots.run(() => w.associateIdentityProviderConfig(input, signal), 'normal'),
    disassociateIdentityProviderConfig: (input, signal) => slots.run(() => w.disassociateIdentityProviderConfig(input, signal), 'normal'),
    ...(w.createdSinceOpened ? { createdSinceOpened: (createdAt: Date) => w.createdSinceOpened!(createdAt) } : {}),
  };
  let proxy: EKSClient | undefined;
  return {
    get client() {
      client ??= ctx.client;
      return (proxy ??= new Proxy(client, { get: (target, key, receiver) => (key === 'send' ? send : Reflect.get(target, key, receiver)) }));
    },
    reads,
    writes,
    tuning: ctx.tuning,
    tags: ctx.tags,
    poller: ctx.poller,
    ...(ctx.rate ? { rate: ctx.rate } : {}),
  };
}

/** Waits until a cluster update is Successful; Failed/Cancelled throws with the update's errors. */
export async function waitUpdate(ctx: Ctx, cluster: string, updateId: string, what: string, wctx: WaitContext): Promise<Update> {
  return waitFor(what, wctx, async () => {
    const u = await describeUpdate(ctx, cluster, updateId, wctx.signal);
    if (!u) return { done: false, status: 'update not visible yet' };
    if (u.status === 'Successful') return { done: true, value: u };
    if (u.status === 'Failed' || u.status === 'Cancelled') throw new UpdateFailedError(u, what);
    return { done: false, status: `update ${u.status ?? 'unknown'}` };
  });
}

export function errorDiag(address: string, summary: string, e?: unknown, attribute?: Path): Diagnostic {
  const d: Diagnostic = { severity: 'error', summary, address };
  if (e !== undefined) d.detail = errorMessage(e);
  if (attribute) d.attribute = attribute;
  return d;
}

/** A diagnostic for a failed wait or call, worded after its cause (its address is printed before it: not repeated here). */
export function failureDiag(address: string, doing: string, e: unknown): Diagnostic {
  if (e instanceof AbortedError || errorName(e) === 'AbortError') return errorDiag(address, `${doing} interrupted; state records what exists so far`, e);
  if (e instanceof WaitTimeoutError) return errorDiag(address, e.message);
  if (e instanceof UpdateFailedError) return errorDiag(address, `${doing} failed`, e);
  // Nobody answers: the same words for every resource, so the CLI can say it once (and how to start
  // the embedded emulator when the endpoint is on this machine).
  const down = endpointDown(e);
  if (down) {
    const d = errorDiag(address, down.summary);
    if (down.hint) d.detail = down.hint;
    return d;
  }
  return errorDiag(address, `${doing} failed: ${errorMessage(e)}`);
}

/**
 * The words for an endpoint that does not answer at all (plan, apply and drift say the same), with how
 * to start the embedded emulator when the endpoint is on this machine; undefined for any other error.
 */
export function endpointDown(e: unknown): { summary: string; hint?: string } | undefined {
  const down = connectionFailure(e);
  if (!down) return undefined;
  const summary = `the EKS endpoint ${down.target} does not answer (${down.reason})`;
  if (!down.loopback) return { summary };
  const port = /:(\d+)$/.exec(down.target)?.[1];
  const portFlag = port && port !== '4599' ? ` --port ${port}` : '';
  return { summary, hint: `is the EKS emulator running? Start it with \`npm start\`, or \`node_modules/.bin/eksidp emulator --data .eksidp/emulator${portFlag}\`` };
}
