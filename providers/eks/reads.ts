import type { DescribeClusterResponse, DescribeIdentityProviderConfigResponse, EKSClient, ListIdentityProviderConfigsResponse } from '@aws-sdk/client-eks';
import type { ServiceException } from '@smithy/core/client';
import { AdaptiveRetryStrategy, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { AwsCredentialIdentity, RetryErrorInfo, RetryErrorType, RetryStrategy, RetryStrategyV2, RetryToken } from '@smithy/types';
import type { Diagnostic, ObjectValue } from '../../engine/protocol';
import { newClient, resolveSettings, sdk, type ClientSettings, type Tuning } from './client';
import type { Ctx } from './common';
import { abortReason, Http1Pool, type Http1Response } from './http1';
import { sleep } from './wait';
import { SigV4Signer } from './sigv4';

/**
 * The three read calls that a refresh and a drift check make thousands of times: DescribeCluster,
 * ListIdentityProviderConfigs and DescribeIdentityProviderConfig.
 *
 * Why not `client.send`: the SDK's per-call pipeline (middleware stack, endpoint rules, schema serde)
 * costs ~1.5-2 ms of CPU per call, which made a 1,000-cluster drift check CPU-bound. `leanReads`
 * takes everything that matters from the SDK client (region, resolved endpoint, credential chain,
 * the client's own adaptive retry strategy and clock offset) and does only the signing (sigv4.ts)
 * and the HTTP exchange (http1.ts) itself. With an explicit endpoint and static keys (the embedded
 * emulator) it needs no SDK client at all: the same AdaptiveRetryStrategy class, no SDK start-up.
 * Results and errors have the SDK's shapes (the same output types; ServiceException with name,
 * $fault and $metadata), so callers cannot tell them apart; test/eks-reads.test.ts holds the two to
 * that. EKSIDP_SDK_READS=1 switches back to `client.send`.
 */
export interface EksReads {
  describeCluster(name: string, signal?: AbortSignal): Promise<DescribeClusterResponse>;
  listIdentityProviderConfigs(clusterName: string, nextToken: string | undefined, signal?: AbortSignal): Promise<ListIdentityProviderConfigsResponse>;
  describeIdentityProviderConfig(clusterName: string, name: string, signal?: AbortSignal): Promise<DescribeIdentityProviderConfigResponse>;
  /** Closes pooled connections (the SDK client itself is the caller's to destroy). */
  close(): void;
}

export function sdkReads(client: EKSClient): EksReads {
  const eks = sdk();
  return {
    describeCluster: (name, signal) => client.send(new eks.DescribeClusterCommand({ name }), { abortSignal: signal }),
    listIdentityProviderConfigs: (clusterName, nextToken, signal) =>
      client.send(new eks.ListIdentityProviderConfigsCommand({ clusterName, nextToken }), { abortSignal: signal }),
    describeIdentityProviderConfig: (clusterName, name, signal) =>
      client.send(new eks.DescribeIdentityProviderConfigCommand({ clusterName, identityProviderConfig: { type: 'oidc', name } }), { abortSignal: signal }),
    close: () => {},
  };
}

/**
 * What the EKS provider and the drift checker hold: the SDK client, created on first use (writes,
 * waits, the credential chain), and the reads.
 */
export type Connection = Ctx & { close(): void };

/** Lean reads unless EKSIDP_SDK_READS=1. */
export function openConnection(config: ObjectValue, env: NodeJS.ProcessEnv, tuning: Tuning): { connection?: Connection; diagnostics: Diagnostic[] } {
  const { settings, diagnostics } = resolveSettings(config, env, tuning);
  if (!settings) return { diagnostics };
  let client: EKSClient | undefined;
  const lazy = () => (client ??= newClient(settings));
  const reads = env.EKSIDP_SDK_READS === '1' ? sdkReads(lazy()) : leanReads(settings, lazy);
  return {
    diagnostics,
    connection: {
      get client() {
        return lazy();
      },
      reads,
      tuning,
      close() {
        reads.close();
        client?.destroy();
      },
    },
  };
}

type Context = {
  url: URL;
  /** Path prefix of a custom endpoint (`http://host/prefix/`), without the trailing slash. */
  basePath: string;
  region: string;
  signer: SigV4Signer;
  credentials: () => Promise<AwsCredentialIdentity>;
  /** Correction for a skewed local clock, in ms: the SDK client's own when there is one. */
  clock: { offset: number };
  retry: RetryStrategyV2;
  pool: Http1Pool;
};

type Exchange = { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: string };

// Members of the three outputs that are timestamps on the wire (epoch seconds), per the service model:
// reviveTimestamps converts exactly these; test/eks-reads.test.ts checks the list against the model.
export const TIMESTAMP_PATHS = ['cluster.createdAt', 'cluster.connectorConfig.activationExpiry'] as const;

export function leanReads(settings: ClientSettings, client: () => EKSClient): EksReads {
  let ctx: Promise<Context> | undefined;
  const context = () => (ctx ??= resolveContext(settings, client));
  const exchange = async <T extends object>(x: Exchange, signal: AbortSignal | undefined): Promise<T> => {
    const out = await send<T>(await context(), x, signal);
    reviveTimestamps(out);
    return out;
  };
  const seg = encodeURIComponent;
  return {
    describeCluster: async (name, signal) => {
      const out = await exchange<DescribeClusterResponse>({ method: 'GET', path: `/clusters/${seg(name)}` }, signal);
      return out.cluster === undefined ? {} : { cluster: out.cluster };
    },
    listIdentityProviderConfigs: async (clusterName, nextToken, signal) => {
      const out = await exchange<ListIdentityProviderConfigsResponse>(
        { method: 'GET', path: `/clusters/${seg(clusterName)}/identity-provider-configs`, query: nextToken === undefined ? undefined : { nextToken } },
        signal,
      );
      // Members the response lacks are absent, not undefined, as in the SDK's output.
      const res: ListIdentityProviderConfigsResponse = {};
      if (out.identityProviderConfigs !== undefined) res.identityProviderConfigs = out.identityProviderConfigs;
      if (out.nextToken !== undefined) res.nextToken = out.nextToken;
      return res;
    },
    describeIdentityProviderConfig: async (clusterName, name, signal) => {
      const out = await exchange<DescribeIdentityProviderConfigResponse>(
        {
          method: 'POST',
          path: `/clusters/${seg(clusterName)}/identity-provider-configs/describe`,
          body: JSON.stringify({ identityProviderConfig: { type: 'oidc', name } }),
        },
        signal,
      );
      return out.identityProviderConfig === undefined ? {} : { identityProviderConfig: out.identityProviderConfig };
    },
    close: () => {
      void ctx?.then((c) => c.pool.close(), () => {});
    },
  };
}

async function resolveContext(settings: ClientSettings, sdkClient: () => EKSClient): Promise<Context> {
  const { tuning } = settings;
  let where: Pick<Context, 'url' | 'region' | 'credentials' | 'clock' | 'retry'>;
  if (settings.endpoint && settings.credentials) {
    // Nothing to resolve: the endpoint is used as is and the keys are static.
    const credentials = { ...settings.credentials };
    where = {
      url: new URL(settings.endpoint), region: settings.region, credentials: async () => credentials, clock: { offset: 0 },
      retry: new AdaptiveRetryStrategy(async () => tuning.maxAttempts),
    };
  } else {
    const c = sdkClient().config;
    where = {
      ...(await resolveEndpoint(sdkClient())),
      credentials: () => c.credentials(),
      clock: {
        get offset() {
          return c.systemClockOffset ?? 0;
        },
        set offset(ms: number) {
          c.systemClockOffset = ms;
        },
      },
      retry: v2(await c.retryStrategy(), c.maxAttempts),
    };
  }
  return {
    ...where,
    basePath: where.url.pathname.replace(/\/+$/, ''),
    signer: new SigV4Signer(),
    pool: new Http1Pool(where.url, { maxSockets: tuning.maxSockets ?? 50, timeoutMs: tuning.requestTimeoutMs }),
  };
}

/** Where the SDK client would send EKS calls: its endpoint rules (partition, FIPS, dual-stack) or its custom endpoint. */
export async function resolveEndpoint(client: EKSClient): Promise<{ url: URL; region: string }> {
  const c = client.config;
  const region = await c.region();
  const custom = c.isCustomEndpoint && c.endpoint ? await c.endpoint() : undefined;
  const params = {
    Region: region,
    UseFIPS: await c.useFipsEndpoint(),
    UseDualStack: await c.useDualstackEndpoint(),
    Endpoint: custom ? `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ''}${custom.path}` : undefined,
  };
  return { url: c.endpointProvider(params, {}).url, region };
}

/** newClient always configures the adaptive (v2) strategy; a legacy one is replaced by its v2 equivalent. */
function v2(s: RetryStrategy | RetryStrategyV2, maxAttempts: () => Promise<number>): RetryStrategyV2 {
  return 'acquireInitialRetryToken' in s ? s : new AdaptiveRetryStrategy(maxAttempts);
}

async function send<T>(ctx: Context, x: Exchange, signal: AbortSignal | undefined): Promise<T> {
  let token: RetryToken = await ctx.retry.acquireInitialRetryToken('');
  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      const out = await attempt<T>(ctx, x, token.getRetryCount() + 1, signal);
      ctx.retry.recordSuccess(token);
      return out;
    } catch (e) {
      if (signal?.aborted) throw e;
      const info: RetryErrorInfo = { error: e as RetryErrorInfo['error'], errorType: retryErrorType(e) };
      try {
        token = await ctx.retry.refreshRetryTokenForRetry(token, info);
      } catch {
        throw e;
      }
      // wait.ts's sleep rejects with its own AbortedError; callers see the signal's reason, as for a call in flight.
      await sleep(token.getRetryDelay(), signal).catch(() => {
        throw abortReason(signal!);
      });
    }
  }
}

function retryErrorType(e: unknown): RetryErrorType {
  const err = e as Parameters<typeof isThrottlingError>[0];
  if (isThrottlingError(err)) return 'THROTTLING';
  if (isTransientError(err)) return 'TRANSIENT';
  if (isServerError(err)) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
}

async function attempt<T>(ctx: Context, x: Exchange, attempts: number, signal: AbortSignal | undefined): Promise<T> {
  const { url } = ctx;
  const path = ctx.basePath + x.path;
  const headers = ctx.signer.sign({
    method: x.method,
    host: url.host,
    path,
    query: x.query,
    headers: x.body === undefined ? undefined : { 'content-type': 'application/json' },
    body: x.body,
    region: ctx.region,
    service: 'eks',
    credentials: await ctx.credentials(),
    date: new Date(Date.now() + ctx.clock.offset),
  });
  const sentAt = Date.now();
  const offsetBefore = ctx.clock.offset;
  headers['user-agent'] = USER_AGENT;
  const qs = x.query ? `?${new URLSearchParams(x.query).toString()}` : '';
  const res: Http1Response = await ctx.pool.request({ method: x.method, path: path + qs, headers, body: x.body }, signal);
  const requestId = res.headers['x-amzn-requestid'];
  const offset = serverClockOffset(res.headers, ctx.clock.offset, sentAt);
  ctx.clock.offset = offset;
  if (res.status < 200 || res.status >= 300) {
    const err = errorFromResponse(res.status, res.headers, res.body, requestId, attempts);
    // As the SDK's signer: a correction this large makes the error retryable (signed again with it).
    if (Math.abs(offset) >= 240_000 && offset !== offsetBefore) (err.$metadata as { clockSkewCorrected?: boolean }).clockSkewCorrected = true;
    throw err;
  }
  try {
    return dropNulls(res.body === '' ? {} : JSON.parse(res.body)) as T;
  } catch {
    throw serviceError('SerializationException', `Unparseable response from EKS (HTTP ${res.status})`, res.status, requestId, attempts);
  }
}

const USER_AGENT = 'eksidp aws-sdk-js/client-eks';

let lastDate = { text: '', ms: Number.NaN };

/**
 * The clock offset a response's Date header implies, as the SDK's signer computes it (not through a
 * cache, which adds Age, and not from a response that took over 15 minutes).
 */
function serverClockOffset(headers: Record<string, string>, current: number, sentAt: number): number {
  if (headers.date === undefined || headers.age !== undefined) return current;
  // Date has one-second resolution: thousands of responses share a handful of values, parsed once each.
  if (headers.date !== lastDate.text) lastDate = { text: headers.date, ms: Date.parse(headers.date) };
  const server = lastDate.ms;
  const now = Date.now();
  if (Number.isNaN(server) || now - sentAt > 900_000) return current;
  return server - now;
}

/** rest-json errors: the type from X-Amzn-ErrorType, else the body's __type/code, without namespace or suffix. */
function errorFromResponse(status: number, headers: Record<string, string>, text: string, requestId: string | undefined, attempts: number): ServiceException {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone names the error.
  }
  const raw = headers['x-amzn-errortype'] ?? (typeof body.__type === 'string' ? body.__type : undefined) ?? (typeof body.code === 'string' ? body.code : undefined);
  const name = raw ? raw.split(':')[0]!.split('#').pop()! : status >= 500 ? 'UnknownError' : `HTTP${status}`;
  const message = typeof body.message === 'string' ? body.message : typeof body.Message === 'string' ? body.Message : `HTTP ${status}`;
  const err = serviceError(name, message, status, requestId, attempts);
  // Members such as clusterName/nodegroupName travel in the body; keep them as the SDK does.
  for (const [k, v] of Object.entries(body)) if (k !== '__type' && k !== 'message' && k !== 'Message' && !(k in err)) (err as unknown as Record<string, unknown>)[k] = v;
  return err;
}

function serviceError(name: string, message: string, status: number, requestId: string | undefined, attempts: number): ServiceException {
  // Required here, not at the top: a run without errors skips its ~15 ms of module loading.
  const { ServiceException: SdkError } = require('@smithy/core/client') as typeof import('@smithy/core/client');
  return new SdkError({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId, attempts },
  });
}

/** The SDK drops nulls from nested structures, lists and maps; do the same so results compare equal. */
function dropNulls(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.filter((x) => x !== null && x !== undefined).map(dropNulls);
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (x === null || x === undefined) delete o[k];
    else if (typeof x === 'object') o[k] = dropNulls(x);
  }
  return o;
}

const TIMESTAMP_KEYS = TIMESTAMP_PATHS.map((p) => {
  const keys = p.split('.');
  return { parents: keys.slice(0, -1), last: keys[keys.length - 1]! };
});

/** Epoch seconds on the wire become Dates, as the SDK's deserializer makes them. */
function reviveTimestamps(out: object): void {
  for (const { parents, last } of TIMESTAMP_KEYS) {
    let o = out as Record<string, unknown> | undefined;
    for (const k of parents) o = o?.[k] !== null && typeof o?.[k] === 'object' ? (o[k] as Record<string, unknown>) : undefined;
    if (o && typeof o[last] === 'number') o[last] = new Date(Math.round((o[last] as number) * 1000));
  }
}
