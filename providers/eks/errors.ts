import type { ErrorDetail, Update } from '@aws-sdk/client-eks';

export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : '';
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `Name: message` for AWS errors (`AccessDenied: Not authorized...`), the message alone otherwise. */
export function errorText(e: unknown): string {
  const name = errorName(e);
  const message = errorMessage(e);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** ResourceNotFound, or EKS's older form `ClientException: No cluster found for name: x`. */
export function isNotFound(e: unknown): boolean {
  const n = errorName(e);
  return n === 'ResourceNotFoundException' || n === 'NotFoundException' || (n === 'ClientException' && /no cluster found/i.test(errorMessage(e)));
}

/** 409: another update is in progress on the cluster (or the resource is busy). */
export function isInUse(e: unknown): boolean {
  return errorName(e) === 'ResourceInUseException';
}

/** A cluster update ended Failed or Cancelled. */
export class UpdateFailedError extends Error {
  constructor(readonly update: Update, what: string) {
    super(`${what}: EKS update ${update.id ?? '?'} ${update.status ?? ''}: ${formatUpdateErrors(update.errors)}`);
  }
}

export function formatUpdateErrors(errors: ErrorDetail[] | undefined): string {
  if (!errors || errors.length === 0) return 'no error details';
  return errors.map((e) => `${e.errorCode ?? 'Error'}: ${e.errorMessage ?? ''}${e.resourceIds?.length ? ` (${e.resourceIds.join(', ')})` : ''}`).join('; ');
}

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'name not found', EAI_AGAIN: 'name lookup failed', ETIMEDOUT: 'connection timed out',
};

/**
 * The endpoint did not answer at all (nothing listens, unknown host, no route), as opposed to an
 * API error: `{ target: "127.0.0.1:4599", reason: "connection refused", loopback }`, else undefined.
 * Looks through `cause` and AggregateError (Node's happy-eyeballs connect) wrappers.
 */
export function connectionFailure(e: unknown): { target: string; reason: string; loopback: boolean } | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const err = cur as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string; errors?: unknown[] };
    const code = typeof err.code === 'string' ? err.code : undefined;
    if (code && CONNECTION_CODES[code]) {
      const host = err.address ?? err.hostname ?? /(?:connect|getaddrinfo) \w+ ([^\s:]+|\[[^\]]+\])/.exec(errorMessage(err))?.[1] ?? 'unknown';
      const target = err.port !== undefined ? `${host}:${err.port}` : host;
      return { target, reason: CONNECTION_CODES[code]!, loopback: host === 'localhost' || host === '::1' || /^127\./.test(host) };
    }
    cur = Array.isArray(err.errors) && err.errors.length ? err.errors[0] : err.cause;
  }
  return undefined;
}
