import { createHash } from 'node:crypto';
import type { EKSClient, Update } from '@aws-sdk/client-eks';
import type { Diagnostic, Path, Progress } from '../../engine/protocol';
import { sdk, type Tuning } from './client';
import type { EksReads } from './reads';
import type { TagConfig } from './settings';
import { UpdateFailedError, connectionFailure, errorMessage, errorName, isInUse } from './errors';
import { AbortedError, Backoff, WaitTimeoutError, waitFor, type WaitContext } from './wait';

/** What the resource code uses: the SDK client for writes and waits, `reads` for the read calls (reads.ts). */
export type Ctx = { readonly client: EKSClient; readonly reads: EksReads; readonly tuning: Tuning; readonly tags: TagConfig };

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
  const out = await ctx.client.send(new (sdk().DescribeUpdateCommand)({ name: cluster, updateId }), { abortSignal: signal });
  return out.update;
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
