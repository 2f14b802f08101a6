import { randomUUID } from 'node:crypto';
import type {
  AssociateIdentityProviderConfigRequest, AssociateIdentityProviderConfigResponse, DescribeClusterResponse, DescribeIdentityProviderConfigResponse,
  DescribeUpdateResponse, DisassociateIdentityProviderConfigRequest, DisassociateIdentityProviderConfigResponse, EKSClient, ListIdentityProviderConfigsResponse,
} from '@aws-sdk/client-eks';
import type { ServiceException } from '@smithy/core/client';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { AwsCredentialIdentity, RetryErrorInfo, RetryErrorType, RetryStrategy, RetryStrategyV2, RetryToken } from '@smithy/types';
import type { Diagnostic, ObjectValue } from '../../engine/protocol';
import type { AccountGuard } from './settings';
import { newClient, resolveSettings, sdk, type ClientSettings, type Tuning } from './client';
import type { Ctx } from './common';
import { Http1Pool, type Http1Request, type Http1Response } from './http1';
import { sleep } from './wait';
import { AdaptiveRate, retryStrategy } from './rate';
import { Poller } from './poll';
import { SigV4Signer } from './sigv4';
import { abortReason } from './abort';
import { createTransport, type Transport } from './transport';
import type { RetrySettings } from './transport-settings';

/**
 * The read calls that a refresh and a drift check make thousands of times: DescribeCluster,
 * ListIdentityProviderConfigs and DescribeIdentityProviderConfig; and DescribeUpdate, which a fleet
 * apply's waits poll as often.
 *
 * Why not `client.send`: the SDK's per-call pipeline (middleware stack, endpoint rules, schema serde)
 * costs ~1.5-2 ms of CPU per call, which made a 1,000-cluster drift check CPU-bound. `leanReads`
 * takes everything that matters from the SDK client (region, resolved endpoint, credential chain,
 * the client's own adaptive retry strategy and clock offset) and does only the signing (sigv4.ts)
 * itself. Direct connections go through http1.ts (a lean keep-alive client: undici costs ~0.2 ms
 * more CPU per call, bench/README.md); through a proxy, they take the connection's transport
 * (transport.ts: undici), the one the SDK client sends through. Both honour the same proxy rules,
 * CA bundle, limits and whole-request deadline. With an explicit endpoint and static keys (the embedded
 * emulator) it needs no SDK client at all: the same AdaptiveRetryStrategy class, no SDK start-up.
 * Results and errors have the SDK's shapes (the same output types; ServiceException with name,
 * $fault and $metadata), so callers cannot tell them apart; test/eks-reads.test.ts holds the two to
 * that. EKSIDP_SDK_READS=1 switches back to `client.send`.
 */
export interface EksReads {
  describeCluster(name: string, signal?: AbortSignal): Promise<DescribeClusterResponse>;
  listIdentityProviderConfigs(clusterName: string, nextToken: string | undefined, signal?: AbortSignal): Promise<ListIdentityProviderConfigsResponse>;
  describeIdentityProviderConfig(clusterName: string, name: string, signal?: AbortSignal): Promise<DescribeIdentityProviderConfigResponse>;
  /** The status poll of an apply's waits (a fleet apply makes thousands): DescribeUpdate. */
  describeUpdate(clusterName: string, updateId: string, signal?: AbortSignal): Promise<DescribeUpdateResponse>;
  /** Closes pooled connections (the SDK client itself is the caller's to destroy). */
  close(): void;
}

/**
 * The two writes a fleet rotation makes thousands of times, on the same lean path as the reads (same
 * signing, transport, retry strategy and shared rate, SDK-shaped results and errors, so a 409
 * ResourceInUse or a throttle looks to idp.ts exactly as through `client.send`): through the SDK's
 * pipeline they cost ~1.5-2 ms of CPU each and loaded the SDK (~0.1 s) into every apply.
 * A missing clientRequestToken gets a random one, as the SDK fills an idempotency token.
 */
export interface EksWrites {
  associateIdentityProviderConfig(input: AssociateIdentityProviderConfigRequest, signal?: AbortSignal): Promise<AssociateIdentityProviderConfigResponse>;
  disassociateIdentityProviderConfig(input: DisassociateIdentityProviderConfigRequest, signal?: AbortSignal): Promise<DisassociateIdentityProviderConfigResponse>;
  /**
   * Whether an update with this createdAt was certainly made after this connection opened, by the
   * server's clock (false when that is not certain: no Date header seen yet, within about a second of
   * the opening, or the SDK path). An
   * update that answers a request of an earlier run (a clientRequestToken replayed after a crash or
   * a failure) was made before: only those need their status asked right after the request.
   */
  createdSinceOpened?(createdAt: Date): boolean;
}

/** Both: what one connection's lean path (or, for comparison, the SDK client) serves. */
export type EksCalls = EksReads & EksWrites;

export function sdkReads(client: EKSClient): EksCalls {
  const eks = sdk();
  return {
    describeCluster: (name, signal) => client.send(new eks.DescribeClusterCommand({ name }), { abortSignal: signal }),
    listIdentityProviderConfigs: (clusterName, nextToken, signal) =>
      client.send(new eks.ListIdentityProviderConfigsCommand({ clusterName, nextToken }), { abortSignal: signal }),
    describeIdentityProviderConfig: (clusterName, name, signal) =>
      client.send(new eks.DescribeIdentityProviderConfigCommand({ clusterName, identityProviderConfig: { type: 'oidc', name } }), { abortSignal: signal }),
    describeUpdate: (name, updateId, signal) => client.send(new eks.DescribeUpdateCommand({ name, updateId }), { abortSignal: signal }),
    associateIdentityProviderConfig: (input, signal) => client.send(new eks.AssociateIdentityProviderConfigCommand(input), { abortSignal: signal }),
    disassociateIdentityProviderConfig: (input, signal) => client.send(new eks.DisassociateIdentityProviderConfigCommand(input), { abortSignal: signal }),
    close: () => {},
  };
}

/**
 * What the EKS provider and the drift checker hold: the SDK client, created on first use (writes,
 * waits, the credential chain), and the reads.
 */
export type Connection = Ctx & {
  /** allowed_account_ids / forbidden_account_ids (account.ts checks them before any EKS call). */
  readonly guard: AccountGuard;
  readonly settings: ClientSettings;
  close(): void;
};

/** Lean reads unless EKSIDP_SDK_READS=1. */
export function openConnection(config: ObjectValue, env: NodeJS.ProcessEnv, tuning: Tuning): { connection?: Connection; diagnostics: Diagnostic[] } {
  const { settings, diagnostics } = resolveSettings(config, env, tuning);
  if (!settings) return { diagnostics };
  // As hashicorp/aws does for skip_metadata_api_check: the SDK's chain reads this variable itself.
  if (settings.metadataApiDisabled !== undefined) process.env.AWS_EC2_METADATA_DISABLED = String(settings.metadataApiDisabled);
  const clientSettings = settings.client;
  // One transport for both paths and for STS (credentials.ts): the lean reads and the SDK clients share its connections.
  const transport = settings.transport();
  // One adaptive rate for every request of this connection, whichever path sends it (rate.ts).
  const rate = clientSettings.retry.mode === 'adaptive' ? new AdaptiveRate() : undefined;
  let client: EKSClient | undefined;
  const lazy = () => (client ??= newClient(clientSettings, transport, rate));
  const reads = env.EKSIDP_SDK_READS === '1' ? sdkReads(lazy()) : leanReads(clientSettings, transport, lazy, rate);
  // Once the API has throttled, polls take what the requests that make progress leave of the rate
  // (they wait for a spare token), spaced so that all of them together stay within it.
  const poller = new Poller(
    { initialMs: tuning.pollInitialMs, maxMs: tuning.pollMaxMs },
    () => (rate ? rate.snapshot().rate : Number.POSITIVE_INFINITY),
    rate ? (signal) => rate.whenSpare(signal) : undefined,
  );
  return {
    diagnostics,
    connection: {
      get client() {
        return lazy();
      },
      reads,
      writes: reads,
      poller,
      ...(rate ? { rate } : {}),
      tuning,
      tags: settings.tags,
      guard: settings.guard,
      settings: clientSettings,
      close() {
        reads.close();
        client?.destroy();
        void transport.close();
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
  /**
   * A bound the server's clock is certainly behind of, as an offset to the local one: a response's
   * Date is the server's time truncated to the second, taken after the request was sent, so the
   * offset is below Date + 1 s - the local time of sending. The least over responses; within about a
   * second of the true offset (createdSinceOpened relies on it never being below).
   */
  clockHigh: { value: number };
  retry: RetryStrategyV2;
  /** One HTTP exchange with the endpoint: http1.ts when direct, the transport through a proxy. */
  send: (req: Http1Request, signal: AbortSignal | undefined) => Promise<Http1Response>;
  close: () => void;
};

type Exchange = { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: string };

// Members of the four outputs that are timestamps on the wire (epoch seconds), per the service model:
// reviveTimestamps converts exactly these; test/eks-reads.test.ts checks the list against the model.
export const TIMESTAMP_PATHS = ['cluster.createdAt', 'cluster.connectorConfig.activationExpiry', 'update.createdAt'] as const;

export function leanReads(settings: ClientSettings, transport: Transport, client: () => EKSClient, rate?: AdaptiveRate): EksCalls {
  let ctx: Promise<Context> | undefined;
  const opened = Date.now();
  const clockHigh = { value: Number.POSITIVE_INFINITY };
  const context = () => (ctx ??= resolveContext(settings, transport, client, rate, clockHigh));
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
    describeUpdate: async (clusterName, updateId, signal) => {
      const out = await exchange<DescribeUpdateResponse>({ method: 'GET', path: `/clusters/${seg(clusterName)}/updates/${seg(updateId)}` }, signal);
      return out.update === undefined ? {} : { update: out.update };
    },
    associateIdentityProviderConfig: async ({ clusterName, oidc, tags, clientRequestToken }, signal) => {
      const out = await exchange<AssociateIdentityProviderConfigResponse>(
        {
          method: 'POST',
          path: `/clusters/${seg(clusterName ?? '')}/identity-provider-configs/associate`,
          // JSON.stringify leaves out undefined members, as the SDK's serializer does.
          body: JSON.stringify({ oidc, tags, clientRequestToken: clientRequestToken ?? randomUUID() }),
        },
        signal,
      );
      const res: AssociateIdentityProviderConfigResponse = {};
      if (out.update !== undefined) res.update = out.update;
      if (out.tags !== undefined) res.tags = out.tags;
      return res;
    },
    disassociateIdentityProviderConfig: async ({ clusterName, identityProviderConfig, clientRequestToken }, signal) => {
      const out = await exchange<DisassociateIdentityProviderConfigResponse>(
        {
          method: 'POST',
          path: `/clusters/${seg(clusterName ?? '')}/identity-provider-configs/disassociate`,
          body: JSON.stringify({ identityProviderConfig, clientRequestToken: clientRequestToken ?? randomUUID() }),
        },
        signal,
      );
      return out.update === undefined ? {} : { update: out.update };
    },
    createdSinceOpened: (createdAt) => createdAt.getTime() >= opened + clockHigh.value,
    // The transport belongs to the connection, which closes it; the direct pool is ours.
    close: () => {
      void ctx?.then((c) => c.close(), () => {});
    },
  };
}

async function resolveContext(settings: ClientSettings, transport: Transport, sdkClient: () => EKSClient, rate: AdaptiveRate | undefined, clockHigh: { value: number }): Promise<Context> {
  let where: Pick<Context, 'url' | 'region' | 'credentials' | 'clock' | 'retry'>;
  const own = settings.credentialProvider ?? (settings.credentials ? staticCredentials(settings.credentials) : undefined);
  if (settings.endpoint && own) {
    // Nothing to resolve: the endpoint is used as is; the credentials are static or refresh themselves.
    where = { url: new URL(settings.endpoint), region: settings.region, credentials: own, clock: { offset: 0 }, retry: retryStrategy(settings.retry, rate) };
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
      retry: v2(await c.retryStrategy(), settings.retry, rate),
    };
  }
  return {
    ...where,
    basePath: where.url.pathname.replace(/\/+$/, ''),
    clockHigh,
    signer: new SigV4Signer(),
    ...exchange(where.url, settings, transport),
  };
}

function exchange(url: URL, settings: ClientSettings, transport: Transport): Pick<Context, 'send' | 'close'> {
  const t = settings.transport;
  if (transport.proxyFor(url)) {
    return {
      send: async (req, signal) => {
        const res = await transport.send(url, req, signal);
        return { status: res.status, headers: res.headers, body: res.body.toString('utf8') };
      },
      close: () => {},
    };
  }
  const pool = new Http1Pool(url, { maxSockets: t.maxSockets, timeoutMs: t.requestTimeoutMs, maxHeaderBytes: t.maxHeaderBytes, maxResponseBytes: t.maxResponseBytes, ca: t.ca?.pem, insecure: t.insecure });
  return { send: (req, signal) => pool.request(req, signal), close: () => pool.close() };
}

function staticCredentials(keys: NonNullable<ClientSettings['credentials']>): () => Promise<AwsCredentialIdentity> {
  const credentials = { ...keys };
  return async () => credentials;
}

export { retryStrategy } from './rate';

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

/** newClient configures a v2 strategy (standard or adaptive); a legacy one would be replaced by the settings' own. */
function v2(s: RetryStrategy | RetryStrategyV2, retry: RetrySettings, rate: AdaptiveRate | undefined): RetryStrategyV2 {
  return 'acquireInitialRetryToken' in s ? s : retryStrategy(retry, rate);
}

async function send<T>(ctx: Context, x: Exchange, signal: AbortSignal | undefined): Promise<T> {
  let token: RetryToken = await ctx.retry.acquireInitialRetryToken('');
  // As the SDK's retry middleware: the final error's $metadata says how many attempts and how much waiting it took.
  let attempts = 0;
  let totalRetryDelay = 0;
  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      const out = await attempt<T>(ctx, x, signal);
      ctx.retry.recordSuccess(token);
      return out;
    } catch (e) {
      if (signal?.aborted) throw e;
      const info: RetryErrorInfo = { error: e as RetryErrorInfo['error'], errorType: retryErrorType(e) };
      try {
        token = await ctx.retry.refreshRetryTokenForRetry(token, info);
      } catch {
        const err = e as { $metadata?: Record<string, unknown> };
        if (err !== null && typeof err === 'object') {
          err.$metadata ??= {};
          err.$metadata.attempts = attempts + 1;
          err.$metadata.totalRetryDelay = totalRetryDelay;
        }
        throw e;
      }
      attempts = token.getRetryCount();
      const delay = token.getRetryDelay();
      totalRetryDelay += ((token as { $retryLog?: { acquisitionDelay?: number } }).$retryLog?.acquisitionDelay ?? 0) + delay;
      // wait.ts's sleep rejects with its own AbortedError; callers see the signal's reason, as for a call in flight.
      await sleep(delay, signal).catch(() => {
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

async function attempt<T>(ctx: Context, x: Exchange, signal: AbortSignal | undefined): Promise<T> {
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
  const res = await ctx.send({ method: x.method, path: path + qs, headers, body: x.body }, signal);
  const server = serverDate(res.headers, sentAt);
  const offset = server === undefined ? ctx.clock.offset : server - Date.now();
  ctx.clock.offset = offset;
  if (server !== undefined && server + 1000 - sentAt < ctx.clockHigh.value) ctx.clockHigh.value = server + 1000 - sentAt;
  if (res.status < 200 || res.status >= 300) {
    const err = errorFromResponse(res.status, res.headers, res.body);
    // As the SDK's signer: a correction this large makes the error retryable (signed again with it).
    if (Math.abs(offset) >= 240_000 && offset !== offsetBefore) (err.$metadata as { clockSkewCorrected?: boolean }).clockSkewCorrected = true;
    throw err;
  }
  try {
    return dropNulls(res.body === '' ? {} : JSON.parse(res.body)) as T;
  } catch {
    const err = new (serviceExceptionClass())({ name: 'SerializationException', message: `Unparseable response from EKS (HTTP ${res.status})`, $fault: 'client', $metadata: responseMetadata(res.status, res.headers) });
    throw err;
  }
}

const USER_AGENT = 'eksidp aws-sdk-js/client-eks';

let lastDate = { text: '', ms: Number.NaN };

/**
 * The server's time a response's Date header gives (ms), where the SDK's signer takes a clock offset
 * from it: not through a cache, which adds Age, and not from a response that took over 15 minutes;
 * undefined otherwise.
 */
function serverDate(headers: Record<string, string>, sentAt: number): number | undefined {
  if (headers.date === undefined || headers.age !== undefined) return undefined;
  // Date has one-second resolution: thousands of responses share a handful of values, parsed once each.
  if (headers.date !== lastDate.text) lastDate = { text: headers.date, ms: Date.parse(headers.date) };
  if (Number.isNaN(lastDate.ms) || Date.now() - sentAt > 900_000) return undefined;
  return lastDate.ms;
}

/**
 * EKS's modelled errors (every error shape of the service model: the SDK resolves an error by name
 * across all of them), with their fault and members besides `message`, in model order.
 * test/eks-reads.test.ts checks this table against the model, and lean errors against the SDK's.
 */
export const ERROR_SHAPES: Readonly<Record<string, { readonly fault: 'client' | 'server'; readonly members: readonly string[] }>> = {
  AccessDeniedException: { fault: 'client', members: [] },
  BadRequestException: { fault: 'client', members: [] },
  ClientException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'addonName', 'subscriptionId'] },
  InvalidParameterException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'fargateProfileName', 'addonName', 'subscriptionId'] },
  InvalidRequestException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'addonName', 'subscriptionId'] },
  InvalidStateException: { fault: 'client', members: ['clusterName'] },
  NotFoundException: { fault: 'client', members: [] },
  ResourceInUseException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'addonName'] },
  ResourceLimitExceededException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'subscriptionId'] },
  ResourceNotFoundException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'fargateProfileName', 'addonName', 'subscriptionId'] },
  ResourcePropagationDelayException: { fault: 'client', members: [] },
  ServerException: { fault: 'server', members: ['clusterName', 'nodegroupName', 'addonName', 'subscriptionId'] },
  ServiceUnavailableException: { fault: 'server', members: [] },
  ThrottlingException: { fault: 'client', members: ['clusterName'] },
  UnsupportedAvailabilityZoneException: { fault: 'client', members: ['clusterName', 'nodegroupName', 'validZones'] },
};

/** The SDK's ServiceException, required here and not at the top: a run without errors skips its ~15 ms of module loading. */
let serviceException: typeof ServiceException | undefined;
function serviceExceptionClass(): typeof ServiceException {
  // Kept: require() resolves a package subpath again on every call (~0.2 ms; a fleet's waits see
  // thousands of ResourceNotFound answers).
  return (serviceException ??= (require('@smithy/core/client') as typeof import('@smithy/core/client')).ServiceException);
}

/** $metadata as the SDK's rest-json protocol reads it from a response (attempts and delays are added by send). */
function responseMetadata(status: number, headers: Record<string, string>): ServiceException['$metadata'] {
  return {
    httpStatusCode: status,
    requestId: headers['x-amzn-requestid'] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'],
    extendedRequestId: headers['x-amz-id-2'],
    cfId: headers['x-amz-cf-id'],
  };
}

/** The error name as the SDK's loadRestJsonErrorCode finds it: X-Amzn-ErrorType, else the body's code, else __type; cleaned. */
function errorCode(headers: Record<string, string>, body: Record<string, unknown>): string | undefined {
  const codeKey = Object.keys(body).find((k) => k.toLowerCase() === 'code');
  const raw = headers['x-amzn-errortype'] ?? (codeKey !== undefined && body[codeKey] !== undefined ? body[codeKey] : body.__type);
  if (raw === undefined) return undefined;
  let v = String(raw);
  if (v.includes(',')) v = v.split(',')[0]!;
  if (v.includes(':')) v = v.split(':')[0]!;
  if (v.includes('#')) v = v.split('#')[1]!;
  return v;
}

/**
 * A rest-json error response as the SDK deserialises it (AwsRestJsonProtocol.handleError and
 * decorateServiceException): a modelled error gets its fault and every member of its shape (absent
 * ones undefined), then `message`; any other gets the fault from the status; then body fields not
 * yet set are copied. The class is ServiceException, not the modelled subclass (that would load the
 * SDK), but the SDK's `instanceof` checks accept it by name, and eksidp checks names.
 */
function errorFromResponse(status: number, headers: Record<string, string>, text: string): ServiceException {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status and headers alone describe the error.
  }
  const name = errorCode(headers, body) ?? 'Unknown';
  const $metadata = responseMetadata(status, headers);
  const SdkError = serviceExceptionClass();
  const shape = Object.hasOwn(ERROR_SHAPES, name) ? ERROR_SHAPES[name] : undefined;
  let err: ServiceException;
  const fields = () => err as unknown as Record<string, unknown>;
  if (shape) {
    err = new SdkError({ name, $fault: shape.fault, $metadata });
    for (const m of shape.members) fields()[m] = body[m];
    fields().message = body.message ?? body.Message ?? 'UnknownError';
  } else {
    body.message = body.message ?? body.Message ?? 'UnknownError';
    err = new SdkError({ name } as ConstructorParameters<typeof ServiceException>[0]);
    Object.assign(err, { $metadata, $fault: status < 500 ? 'client' : 'server' });
  }
  for (const [k, v] of Object.entries(body)) {
    const cur = fields()[k];
    if (v !== undefined && (cur === undefined || cur === null || cur === '')) fields()[k] = v;
  }
  fields().message = fields().message || fields().Message || 'UnknownError';
  delete fields().Message;
  // The raw response, hidden as the SDK's deserializer hides it (retry-after hints are read from it).
  Object.defineProperty(err, '$response', { value: { statusCode: status, headers, body: text }, enumerable: false, writable: false, configurable: false });
  return err;
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
