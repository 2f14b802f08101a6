import type { STSClient, STSClientConfig } from '@aws-sdk/client-sts';
import type { RetrySettings } from './transport-settings';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { errorText } from './errors';
import type { AssumeRoleSpec, CredentialSpec, WebIdentitySpec } from './settings';

/**
 * Credentials as hashicorp/aws 5.100 resolves them, with the AWS SDK's own providers: static keys
 * win; else assume_role_with_web_identity; else the SDK's default chain (environment, profile and
 * shared files, SSO, credential_process, web identity from AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE,
 * container and instance metadata). Then each assume_role block in turn, with the previous
 * credentials. Every STS call (AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity) goes to the
 * provider configuration's STS endpoint and region.
 *
 * Every provider returned here is memoized by the SDK's own rule: credentials that expire are fetched
 * again once they are within 5 minutes of expiry, on the next call that asks for them. Both request
 * paths (the SDK client and the lean reads) ask on every request, so a 40-minute wait never signs with
 * expired keys.
 */

/** Where and how STS is called: the provider configuration's sts_region, endpoints.sts and SDK client options. */
export type StsTarget = {
  region: string;
  endpoint?: string;
  useFipsEndpoint?: boolean;
  useDualstackEndpoint?: boolean;
  /** max_retries / retry_mode, as for EKS. */
  retry?: RetrySettings;
  /** The HTTP handler of each STS client: the configuration's transport (proxies, CA bundle, limits). */
  requestHandler?: () => STSClientConfig['requestHandler'];
};

function stsModule(): typeof import('@aws-sdk/client-sts') {
  return require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
}

export function stsClientConfig(sts: StsTarget): STSClientConfig {
  return {
    region: sts.region,
    ...(sts.endpoint ? { endpoint: sts.endpoint } : {}),
    ...(sts.useFipsEndpoint ? { useFipsEndpoint: true } : {}),
    ...(sts.useDualstackEndpoint ? { useDualstackEndpoint: true } : {}),
    ...(sts.retry ? { maxAttempts: sts.retry.maxAttempts, retryMode: sts.retry.mode } : {}),
    ...(sts.requestHandler ? { requestHandler: sts.requestHandler() } : {}),
  };
}

function memoize(provider: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  const core = require('@smithy/core') as typeof import('@smithy/core');
  return core.memoizeIdentityProvider(provider, core.isIdentityExpired, core.doesIdentityRequireRefresh)!;
}

const sessionName = (given: string | undefined) => given ?? `eksidp-${Date.now()}`;

function webIdentityProvider(spec: WebIdentitySpec, sts: StsTarget): AwsCredentialIdentityProvider {
  const { fromTokenFile, fromWebToken } = require('@aws-sdk/credential-provider-web-identity') as typeof import('@aws-sdk/credential-provider-web-identity');
  const roleAssumerWithWebIdentity = stsModule().getDefaultRoleAssumerWithWebIdentity(stsClientConfig(sts));
  const common = {
    roleArn: spec.roleArn,
    roleSessionName: sessionName(spec.sessionName),
    roleAssumerWithWebIdentity,
    ...(spec.durationSeconds ? { durationSeconds: spec.durationSeconds } : {}),
    ...(spec.policy ? { policy: spec.policy } : {}),
    ...(spec.policyArns ? { policyArns: spec.policyArns.map((arn) => ({ arn })) } : {}),
  };
  // The token file is read again at every refresh: CI systems rotate it.
  return memoize(spec.token ? fromWebToken({ ...common, webIdentityToken: spec.token }) : fromTokenFile({ ...common, webIdentityTokenFile: spec.tokenFile }));
}

function defaultChain(spec: CredentialSpec, sts: StsTarget): AwsCredentialIdentityProvider {
  const { defaultProvider } = require('@aws-sdk/credential-provider-node') as typeof import('@aws-sdk/credential-provider-node');
  const { getDefaultRoleAssumer, getDefaultRoleAssumerWithWebIdentity } = stsModule();
  // Roles named in a profile (role_arn + source_profile, web_identity_token_file) and AWS_ROLE_ARN are
  // assumed through these, so they reach the configuration's STS endpoint like every other STS call.
  const chain = defaultProvider({
    ...(spec.profile ? { profile: spec.profile } : {}),
    ...(spec.credentialsFile ? { filepath: spec.credentialsFile } : {}),
    ...(spec.configFile ? { configFilepath: spec.configFile } : {}),
    roleAssumer: getDefaultRoleAssumer(stsClientConfig(sts)),
    roleAssumerWithWebIdentity: getDefaultRoleAssumerWithWebIdentity(stsClientConfig(sts)),
  });
  // The chain skips a profile it cannot find and goes on to the next source; the provider checks the
  // profile (the block's, or AWS_PROFILE) exists first, with its message.
  const profile = spec.profile ?? process.env.AWS_PROFILE;
  if (!profile) return chain;
  let checked: Promise<void> | undefined;
  const check = () =>
    (checked ??= (async () => {
      const { parseKnownFiles } = require('@smithy/core/config') as typeof import('@smithy/core/config');
      const profiles = await parseKnownFiles({ profile, ...(spec.credentialsFile ? { filepath: spec.credentialsFile } : {}), ...(spec.configFile ? { configFilepath: spec.configFile } : {}) });
      if (!(profile in profiles)) throw new Error(`failed to get shared config profile, ${profile}`);
    })());
  return async (props) => {
    await check();
    return chain(props);
  };
}

function assumeRoleProvider(role: AssumeRoleSpec, source: AwsCredentialIdentityProvider, sts: StsTarget): AwsCredentialIdentityProvider {
  const assume = stsModule().getDefaultRoleAssumer(stsClientConfig(sts));
  const params = {
    RoleArn: role.roleArn,
    RoleSessionName: sessionName(role.sessionName),
    ...(role.externalId ? { ExternalId: role.externalId } : {}),
    ...(role.durationSeconds ? { DurationSeconds: role.durationSeconds } : {}),
    ...(role.policy ? { Policy: role.policy } : {}),
    ...(role.policyArns ? { PolicyArns: role.policyArns.map((arn) => ({ arn })) } : {}),
    ...(role.tags ? { Tags: Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    ...(role.transitiveTagKeys ? { TransitiveTagKeys: role.transitiveTagKeys } : {}),
    ...(role.sourceIdentity ? { SourceIdentity: role.sourceIdentity } : {}),
  };
  return memoize(async () => {
    try {
      return await assume(await source(), params);
    } catch (e) {
      throw new AssumeRoleError(role.roleArn, e);
    }
  });
}

/** A failure to assume a role, naming it (the provider's "Cannot assume IAM Role"). */
export class AssumeRoleError extends Error {
  constructor(readonly roleArn: string, cause: unknown) {
    // The default name: messages show the AWS error's code inside, not this wrapper's class.
    super(`cannot assume IAM role ${roleArn}: ${errorText(cause)}`);
  }
}

/**
 * The credentials for a provider configuration, or undefined when they are static keys and nothing
 * else (the caller signs with them directly, without loading the SDK's providers).
 */
export function credentialProvider(spec: CredentialSpec, sts: StsTarget): AwsCredentialIdentityProvider | undefined {
  if (spec.static && spec.assumeRoles.length === 0) return undefined;
  const fixed = spec.static;
  let provider: AwsCredentialIdentityProvider = fixed
    ? async () => ({ ...fixed })
    : spec.webIdentity
      ? webIdentityProvider(spec.webIdentity, sts)
      : defaultChain(spec, sts);
  for (const role of spec.assumeRoles) provider = assumeRoleProvider(role, provider, sts);
  return provider;
}

/** STS GetCallerIdentity with these credentials: the account they belong to. */
export async function callerAccount(credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity, sts: StsTarget, signal?: AbortSignal): Promise<string> {
  const { STSClient: Client, GetCallerIdentityCommand } = stsModule();
  const client: STSClient = new Client({ ...stsClientConfig(sts), credentials });
  try {
    const out = await client.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
    if (!out.Account) throw new Error('STS GetCallerIdentity returned no Account');
    return out.Account;
  } finally {
    client.destroy();
  }
}
