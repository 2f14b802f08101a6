import fs from 'node:fs';
import type { Diagnostic, ObjectValue, Path } from '../../engine/protocol';
import { stringValue } from '../../engine/util';
import type { Tuning } from './client';
import { legacyProxyWarning, parseProxyUrl, proxyConfig, redactProxy, type ProxyArguments } from './proxy';
import { expandPath } from './settings';
import { DEFAULT_LIMITS, type TransportSettings } from './transport';

/** Connections per endpoint: one per request in flight at apply's default bound (engine/apply.ts, 64). */
export const DEFAULT_MAX_SOCKETS = 64;

/**
 * The `aws` provider block's transport arguments, with the environment variables hashicorp/aws and
 * the AWS SDK read for them:
 *
 * | argument | environment | eksidp |
 * | --- | --- | --- |
 * | `http_proxy`, `https_proxy`, `no_proxy` | HTTP_PROXY, HTTPS_PROXY, NO_PROXY (or lower case) | proxy.ts (hashicorp/aws's precedence and matching) |
 * | `custom_ca_bundle` | AWS_CA_BUNDLE | the PEM file's certificates replace the default roots, as the Go SDK does |
 * | `insecure` | - | no certificate verification at all (Go's InsecureSkipVerify), the CA bundle notwithstanding |
 * | `max_retries` | AWS_MAX_ATTEMPTS | attempts per call (the Go provider hands it to the SDK as max attempts); 0 = unset |
 * | `retry_mode` | AWS_RETRY_MODE | `standard` or `adaptive` |
 *
 * The block wins over the environment. When neither sets them, eksidp keeps its own defaults:
 * adaptive retries, 8 attempts (EKSIDP_MAX_ATTEMPTS in tests), which ride out EKS throttling
 * better than the SDK's 3 standard attempts. Read by resolveSettings (client.ts).
 */

export type RetryMode = 'standard' | 'adaptive';
export type RetrySettings = { maxAttempts: number; mode: RetryMode };

export const DEFAULT_RETRY_MODE: RetryMode = 'adaptive';

export function resolveTransportSettings(
  config: ObjectValue,
  env: NodeJS.ProcessEnv,
  tuning: Tuning,
): { transport?: TransportSettings; retry?: RetrySettings; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (summary: string, attribute?: string) => {
    if (!diagnostics.some((d) => d.summary === summary)) diagnostics.push({ severity: 'error', summary, ...(attribute ? { attribute: [attribute] as Path } : {}) });
  };

  // Proxies.
  const args: ProxyArguments = {};
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy'] as const) {
    const v = config[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') error(`The aws provider block's ${name} must be a string`, name);
    else args[name] = v;
  }
  const proxy = proxyConfig(args, env);
  // Each proxy named by where it came from: the block's argument, else the environment variable
  // (an HTTPS proxy from neither is the block's http_proxy, in legacy mode).
  const envName = (...names: string[]) => names.find((n) => env[n]);
  const sources: [string, string | undefined][] = [
    [proxy.httpProxy, args.http_proxy !== undefined ? 'http_proxy' : envName('HTTP_PROXY', 'http_proxy')],
    [proxy.httpsProxy, args.https_proxy !== undefined ? 'https_proxy' : envName('HTTPS_PROXY', 'https_proxy') ?? 'http_proxy'],
  ];
  for (const [value, source] of sources) {
    const problem = value === '' ? undefined : proxyProblem(value);
    if (!problem) continue;
    const inBlock = source === 'http_proxy' || source === 'https_proxy';
    error(`${inBlock ? `The aws provider block's ${source}` : source}: ${problem}`, inBlock ? source : undefined);
  }
  const warning = legacyProxyWarning(args, env);
  if (warning) diagnostics.push({ severity: 'warning', summary: warning, attribute: ['http_proxy'] });

  // CA bundle.
  let ca: TransportSettings['ca'];
  const bundleArg = config.custom_ca_bundle;
  if (bundleArg !== undefined && bundleArg !== null && typeof bundleArg !== 'string') error('The aws provider block\'s custom_ca_bundle must be a string', 'custom_ca_bundle');
  const fromBlock = typeof bundleArg === 'string' && bundleArg !== '';
  const bundle = fromBlock ? (bundleArg as string) : env.AWS_CA_BUNDLE || undefined;
  if (bundle) {
    const source = fromBlock ? 'The aws provider block\'s custom_ca_bundle' : 'AWS_CA_BUNDLE';
    const file = fromBlock ? expandPath(bundle, env) : bundle;
    try {
      const pem = fs.readFileSync(file, 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) error(`${source}: ${file} holds no PEM certificate`, fromBlock ? 'custom_ca_bundle' : undefined);
      else ca = { source: file, pem };
    } catch (e) {
      error(`${source}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, fromBlock ? 'custom_ca_bundle' : undefined);
    }
  }

  // TLS verification off, as the provider's `InsecureSkipVerify` (it wins over a CA bundle there too).
  const insecureArg = config.insecure;
  if (insecureArg !== undefined && insecureArg !== null && typeof insecureArg !== 'boolean' && insecureArg !== 'true' && insecureArg !== 'false') {
    error(`The aws provider block's insecure must be true or false, got ${JSON.stringify(insecureArg)}`, 'insecure');
  }
  const insecure = insecureArg === true || insecureArg === 'true';

  // Retries.
  let maxAttempts = tuning.maxAttempts;
  const maxRetries = config.max_retries;
  if (maxRetries !== undefined && maxRetries !== null && maxRetries !== 0) {
    const n = typeof maxRetries === 'string' && /^\d+$/.test(maxRetries) ? Number(maxRetries) : maxRetries;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) error(`The aws provider block's max_retries must be a whole number, got ${JSON.stringify(maxRetries)}`, 'max_retries');
    else maxAttempts = n;
  } else if (env.AWS_MAX_ATTEMPTS) {
    // As the SDK reads it (parseInt), but a value that cannot be an attempt count is refused.
    const n = Number.parseInt(env.AWS_MAX_ATTEMPTS, 10);
    if (Number.isNaN(n) || n < 1) error(`AWS_MAX_ATTEMPTS must be a number of attempts (1 or more), got ${JSON.stringify(env.AWS_MAX_ATTEMPTS)}`);
    else maxAttempts = n;
  }
  let mode: RetryMode = DEFAULT_RETRY_MODE;
  const modeArg = stringValue(config.retry_mode);
  const modeRaw = modeArg ?? (env.AWS_RETRY_MODE || undefined);
  if (modeRaw !== undefined) {
    const m = modeRaw.toLowerCase();
    if (m === 'standard' || m === 'adaptive') mode = m;
    else error(`${modeArg !== undefined ? 'The aws provider block\'s retry_mode' : 'AWS_RETRY_MODE'} must be standard or adaptive, got ${JSON.stringify(modeRaw)}`, modeArg !== undefined ? 'retry_mode' : undefined);
  }

  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  return {
    diagnostics,
    transport: {
      proxy,
      ...(ca ? { ca } : {}),
      ...(insecure ? { insecure } : {}),
      maxSockets: tuning.maxSockets ?? DEFAULT_MAX_SOCKETS,
      requestTimeoutMs: tuning.requestTimeoutMs,
      connectTimeoutMs: DEFAULT_LIMITS.connectTimeoutMs,
      maxResponseBytes: DEFAULT_LIMITS.maxResponseBytes,
      maxHeaderBytes: DEFAULT_LIMITS.maxHeaderBytes,
    },
    retry: { maxAttempts, mode },
  };
}

/** Why a proxy URL cannot be used, or undefined. Credentials in it never appear in the message. */
function proxyProblem(value: string): string | undefined {
  let u: URL;
  try {
    u = parseProxyUrl(value);
  } catch {
    return `${JSON.stringify(redactProxy(value))} is not a proxy URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${u.protocol.replace(/:$/, '')} proxies are not supported by eksidp (${JSON.stringify(redactProxy(value))}): use an http:// or https:// proxy`;
  return undefined;
}

