import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Diagnostic } from '../../engine/protocol';
import type { ClientSettings } from './client';
import { callerAccount, type StsTarget } from './credentials';
import { errorText } from './errors';
import type { AccountGuard } from './settings';

/**
 * allowed_account_ids / forbidden_account_ids, as hashicorp/aws 5.100 checks them when it is
 * configured (aws-sdk-go-base's VerifyAccountIDAllowed): the account comes from one STS
 * GetCallerIdentity per provider configuration, made before any EKS call, unless
 * skip_credentials_validation and skip_requesting_account_id are both true. Then the account is
 * unknown (""), so an allow list fails and a deny list passes, as in the provider.
 */

/** The verdict on an account ("" when unknown); undefined when it is allowed. */
export function accountProblem(guard: AccountGuard, account: string): string | undefined {
  const shown = account === '' ? 'unknown (skip_credentials_validation and skip_requesting_account_id are both true, so no STS call was made)' : account;
  if (guard.forbidden.includes(account)) return `AWS account ID not allowed: ${shown} is in forbidden_account_ids`;
  if (guard.allowed.length > 0 && !guard.allowed.includes(account)) {
    return `AWS account ID not allowed: the credentials are for account ${shown}; allowed_account_ids: ${guard.allowed.join(', ')}`;
  }
  return undefined;
}

/** The credentials a connection signs with: its provider, or its static keys. */
export function credentialsOf(settings: ClientSettings): AwsCredentialIdentityProvider | AwsCredentialIdentity {
  return settings.credentialProvider ?? settings.credentials ?? (() => Promise.reject(new Error('no credentials configured')));
}

export type AccountCheck = { account?: string; diagnostics: Diagnostic[] };

/** Looks the account up (when the settings ask for it) and checks it against the guard. */
export async function checkAccount(
  guard: AccountGuard,
  credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity,
  sts: StsTarget,
  signal?: AbortSignal,
): Promise<AccountCheck> {
  let account = '';
  if (guard.lookup) {
    try {
      account = await callerAccount(credentials, sts, signal);
    } catch (e) {
      return { diagnostics: [{ severity: 'error', summary: `validating provider credentials: ${errorText(e)}` }] };
    }
  }
  const problem = accountProblem(guard, account);
  return { ...(account ? { account } : {}), diagnostics: problem ? [{ severity: 'error', summary: problem }] : [] };
}
