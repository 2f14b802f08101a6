import type { ErrorDetail, Update } from '@aws-sdk/client-eks';

export function errorName(e: unknown): string {
  return e instanceof Error ? e.name : '';
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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
