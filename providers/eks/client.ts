import type { EKSClient, EKSClientConfig } from '@aws-sdk/client-eks';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Diagnostic, ObjectValue, Value } from '../../engine/protocol';
import { createTransport, type Transport, type TransportSettings } from './transport';
import { resolveTransportSettings, type RetrySettings } from './transport-settings';

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
  return str(firstBlock(config.endpoints)?.eks) ?? str(env.AWS_ENDPOINT_URL_EKS) ?? str(env.AWS_ENDPOINT_URL);
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

function str(v: Value | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** cdktf writes blocks as a list of one object; hand-written JSON often uses the object itself. */
export function firstBlock(v: Value | undefined): ObjectValue | undefined {
  if (Array.isArray(v)) return v.length > 0 && v[0] !== null && typeof v[0] === 'object' && !Array.isArray(v[0]) ? (v[0] as ObjectValue) : undefined;
  if (v !== null && typeof v === 'object') return v as ObjectValue;
  return undefined;
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
  /** Static keys from the provider block; otherwise the SDK's default chain (with `profile`). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
  /**
   * Credentials that refresh themselves (an assumed role...): the lean reads call it before every
   * request and the SDK client gets it as its credentials, so both see a refreshed identity.
   */
  credentialProvider?: AwsCredentialIdentityProvider;
  /** How requests travel on both paths (proxies, CA bundle, limits, timeouts): transport-settings.ts. */
  transport: TransportSettings;
  /** Attempts per call and the retry mode (max_retries, retry_mode, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE). */
  retry: RetrySettings;
  tuning: Tuning;
};

/**
 * Reads the `aws` provider block as hashicorp/aws does: region, static keys, profile, `endpoints.eks`;
 * then AWS_ENDPOINT_URL_EKS; otherwise the SDK's default chains. The skip_* flags are accepted and
 * ignored (we never call STS or IMDS ourselves).
 */
export function resolveSettings(config: ObjectValue, env: NodeJS.ProcessEnv, tuning: Tuning): { settings?: ClientSettings; diagnostics: Diagnostic[] } {
  const endpoint = endpointOf(config, env);
  const region = str(config.region) ?? str(env.AWS_REGION) ?? str(env.AWS_DEFAULT_REGION) ?? (endpoint ? 'us-east-1' : undefined);
  if (!region) return { diagnostics: [{ severity: 'error', summary: 'No AWS region: set region in the aws provider block, or AWS_REGION' }] };
  const accessKey = str(config.access_key);
  const secretKey = str(config.secret_key);
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    return { diagnostics: [{ severity: 'error', summary: 'The aws provider block sets only one of access_key and secret_key: set both or neither' }] };
  }
  const wire = resolveTransportSettings(config, env, tuning);
  if (!wire.transport || !wire.retry) return { diagnostics: wire.diagnostics };
  const settings: ClientSettings = { region, tuning, transport: wire.transport, retry: wire.retry };
  if (endpoint) settings.endpoint = endpoint;
  if (accessKey && secretKey) settings.credentials = { accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken: str(config.token) };
  else if (str(config.profile)) settings.profile = str(config.profile);
  return { settings, diagnostics: wire.diagnostics };
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
export function newClient(settings: ClientSettings, transport?: Transport): EKSClient {
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
  if (settings.endpoint) clientConfig.endpoint = settings.endpoint;
  if (settings.credentialProvider) clientConfig.credentials = settings.credentialProvider;
  else if (settings.credentials) clientConfig.credentials = { ...settings.credentials };
  else if (settings.profile) clientConfig.profile = settings.profile;
  return new Client(clientConfig);
}
