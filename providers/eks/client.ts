import type { EKSClient, EKSClientConfig } from '@aws-sdk/client-eks';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Diagnostic, ObjectValue } from '../../engine/protocol';
import { credentialProvider, type StsTarget } from './credentials';
import { eksEndpointOf, resolveProviderSettings, type AccountGuard, type TagConfig } from './settings';
import { createTransport, type Transport, type TransportSettings } from './transport';
import { resolveTransportSettings, type RetrySettings } from './transport-settings';
import { retryStrategy, type AdaptiveRate } from './rate';

/** Settings that tune the provider's own behaviour (not the AWS provider block's). */
export type Tuning = {
  /** First poll delay while waiting for EKS; doubles up to pollMaxMs, with jitter. */
  pollInitialMs: number;
  pollMaxMs: number;
  /** SDK attempts per call (throttling and 5xx are retried by the SDK's adaptive mode). */
  maxAttempts: number;
  requestTimeoutMs: number;
  /** Sockets per host in the keep-alive pool (default 50); callers running more calls at once raise it. */
  maxSockets?: number;
};

export const DEFAULT_TUNING: Tuning = { pollInitialMs: 2_000, pollMaxMs: 30_000, maxAttempts: 8, requestTimeoutMs: 60_000 };
/** Against a loopback endpoint (the embedded emulator) updates take seconds, not minutes: poll faster. */
export const LOOPBACK_TUNING: Pick<Tuning, 'pollInitialMs' | 'pollMaxMs'> = { pollInitialMs: 200, pollMaxMs: 2_000 };

/** The EKS endpoint the client will use: `endpoints.eks`, then AWS_ENDPOINT_URL_EKS / AWS_ENDPOINT_URL. */
export function endpointOf(config: ObjectValue, env: NodeJS.ProcessEnv): string | undefined {
  return eksEndpointOf(config, env);
}

export function isLoopback(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Poll delays from the environment (EKSIDP_POLL_INITIAL_MS / EKSIDP_POLL_MAX_MS), so tests run fast. */
export function tuningFromEnv(env: NodeJS.ProcessEnv, base: Tuning): Tuning {
  return {
    pollInitialMs: envNumber(env, 'EKSIDP_POLL_INITIAL_MS') ?? base.pollInitialMs,
    pollMaxMs: envNumber(env, 'EKSIDP_POLL_MAX_MS') ?? base.pollMaxMs,
    maxAttempts: envNumber(env, 'EKSIDP_MAX_ATTEMPTS') ?? base.maxAttempts,
    requestTimeoutMs: envNumber(env, 'EKSIDP_REQUEST_TIMEOUT_MS') ?? base.requestTimeoutMs,
  };
}

/** How to reach EKS, as the `aws` provider block (and the environment) say. */
export type ClientSettings = {
  region: string;
  /** Custom endpoint (`endpoints.eks`, AWS_ENDPOINT_URL_EKS): used as is. */
  endpoint?: string;
  /** Static keys and nothing else: signed with directly, no SDK credential provider is loaded. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Otherwise the provider configuration's credentials (credentials.ts): asked on every request by
   * both paths, memoized and refreshed before they expire. Neither field (settings built by hand, in
   * tests): the SDK client's own default chain.
   */
  credentialProvider?: AwsCredentialIdentityProvider;
  /** Where STS calls go (the account check, assumed roles). */
  sts?: StsTarget;
  useFipsEndpoint?: boolean;
  useDualstackEndpoint?: boolean;
  /** How requests travel on both paths (proxies, CA bundle, limits, timeouts): transport-settings.ts. */
  transport: TransportSettings;
  /** Attempts per call and the retry mode (max_retries, retry_mode, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE). */
  retry: RetrySettings;
  tuning: Tuning;
};

/** Everything a provider configuration resolves to: the client, the account guard and the tag settings. */
export type ProviderSettings = {
  client: ClientSettings;
  guard: AccountGuard;
  tags: TagConfig;
  metadataApiDisabled?: boolean;
  /** The configuration's one transport (made on first use): the connection's, and its STS clients'. */
  transport(): Transport;
};

/**
 * Reads the `aws` provider block (conformed to the schema) and the environment as hashicorp/aws 5.100
 * does (settings.ts has the argument table: what is implemented, what has no effect, what is refused).
 * No API call is made here.
 */
export function resolveSettings(config: ObjectValue, env: NodeJS.ProcessEnv, tuning: Tuning): { settings?: ProviderSettings; diagnostics: Diagnostic[] } {
  const { settings: r, diagnostics } = resolveProviderSettings(config, env);
  const wire = resolveTransportSettings(config, env, tuning);
  const all = [...diagnostics, ...wire.diagnostics];
  if (!r || !wire.transport || !wire.retry) return { diagnostics: all };
  // One transport per provider configuration, made on first use: EKS (both paths) and STS share it.
  const settingsTransport = wire.transport;
  let transport: Transport | undefined;
  const shared = () => (transport ??= createTransport(settingsTransport));
  const sts: StsTarget = {
    ...r.sts, useFipsEndpoint: r.useFipsEndpoint, useDualstackEndpoint: r.useDualstackEndpoint, retry: wire.retry,
    requestHandler: () => shared().sdkHandler(),
  };
  const client: ClientSettings = { region: r.region, tuning, sts, transport: wire.transport, retry: wire.retry };
  if (r.endpoint) client.endpoint = r.endpoint;
  if (r.useFipsEndpoint) client.useFipsEndpoint = true;
  if (r.useDualstackEndpoint) client.useDualstackEndpoint = true;
  const provider = credentialProvider(r.credentials, { sts, ...(r.ssoEndpoint ? { ssoEndpoint: r.ssoEndpoint } : {}) });
  const base = r.credentials.base;
  if (provider) client.credentialProvider = provider;
  else if (base.kind === 'static') client.credentials = { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey, ...(base.sessionToken ? { sessionToken: base.sessionToken } : {}) };
  return {
    diagnostics: all,
    settings: { client, guard: r.guard, tags: r.tags, transport: shared, ...(r.metadataApiDisabled !== undefined ? { metadataApiDisabled: r.metadataApiDisabled } : {}) },
  };
}

let loaded: typeof import('@aws-sdk/client-eks') | undefined;

/** The SDK module, loaded on first use (~0.1 s of start-up): a run that only reads never pays for it. */
export function sdk(): typeof import('@aws-sdk/client-eks') {
  return (loaded ??= require('@aws-sdk/client-eks') as typeof import('@aws-sdk/client-eks'));
}

/**
 * The SDK client for these settings. The SDK is loaded here, on first use, not at import: it costs
 * ~0.1 s of start-up, and a run that only reads through an explicit endpoint with static keys (the
 * embedded emulator) never needs it (see reads.ts). Its requests go through `transport` (the
 * connection's, shared with the lean reads), or through one of its own that `destroy()` closes.
 */
export function newClient(settings: ClientSettings, transport?: Transport, rate?: AdaptiveRate): EKSClient {
  const Client = sdk().EKSClient;
  const own = transport ? undefined : createTransport(settings.transport);
  const handler = (transport ?? own!).sdkHandler();
  if (own) handler.destroy = () => void own.close();
  const clientConfig: EKSClientConfig = {
    region: settings.region,
    retryMode: settings.retry.mode,
    maxAttempts: settings.retry.maxAttempts,
    requestHandler: handler,
  };
  // The connection's shared adaptive rate (rate.ts), so writes and reads back off together.
  if (rate) clientConfig.retryStrategy = retryStrategy(settings.retry, rate);
  if (settings.endpoint) clientConfig.endpoint = settings.endpoint;
  if (settings.useFipsEndpoint) clientConfig.useFipsEndpoint = true;
  if (settings.useDualstackEndpoint) clientConfig.useDualstackEndpoint = true;
  if (settings.credentialProvider) clientConfig.credentials = settings.credentialProvider;
  else if (settings.credentials) clientConfig.credentials = { ...settings.credentials };
  return new Client(clientConfig);
}
