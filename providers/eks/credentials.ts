import type { STSClient, STSClientConfig } from '@aws-sdk/client-sts';
import type { RetrySettings } from './transport-settings';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { errorText } from './errors';
import type { AssumeRoleSpec, BaseCredentials, CredentialSpec, WebIdentitySpec } from './settings';
import { hasSso, renderIni, type IniSections, type SharedProfile } from './shared-config';

/**
 * Credentials as hashicorp/aws 5.100 resolves them, with the AWS SDK's own providers: the base
 * credentials settings.ts chose in the provider's order (static keys, assume_role_with_web_identity,
 * a profile of the shared files read as the Go SDK reads it, the environment, web identity from
 * AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, container and instance metadata), then each assume_role
 * block in turn, with the previous credentials. Every STS call (AssumeRole, AssumeRoleWithWebIdentity,
 * GetCallerIdentity, a profile's role_arn) goes to the provider configuration's STS endpoint and
 * region, through its transport.
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

/** Where profile credentials reach besides STS: the SSO portal (`endpoints.sso`). */
export type CredentialTargets = { sts: StsTarget; ssoEndpoint?: string };

/**
 * The provider for a profile read by shared-config.ts, in the order the Go SDK resolves one
 * (resolveCredsFromProfile): the source profile's credentials, static keys, credential_source,
 * web_identity_token_file (which assumes its role itself), SSO, credential_process, else container
 * credentials or the instance metadata service; then the profile's role_arn on top. Every leaf is
 * one of the AWS SDK's providers, given explicit values.
 */
function profileProvider(p: SharedProfile, spec: Extract<BaseCredentials, { kind: 'profile' }>, metadataDisabled: boolean, to: CredentialTargets): AwsCredentialIdentityProvider {
  let base: AwsCredentialIdentityProvider;
  if (p.source) base = profileProvider(p.source, spec, metadataDisabled, to);
  else if (p.credentials) {
    const keys = { ...p.credentials };
    base = async () => keys;
  } else if (p.credentialSource) base = credentialSource(p.credentialSource, metadataDisabled);
  else if (p.webIdentityTokenFile) {
    return webIdentityProvider({ roleArn: p.roleArn!, tokenFile: p.webIdentityTokenFile, ...(p.roleSessionName ? { sessionName: p.roleSessionName } : {}) }, to.sts);
  } else if (hasSso(p)) base = ssoProvider(p, spec.sections, to);
  else if (p.credentialProcess) base = processProvider(p, spec.sections);
  else base = remoteProvider(metadataDisabled);
  if (!p.roleArn) return base;
  return assumeRoleProvider(
    { roleArn: p.roleArn, ...(p.roleSessionName ? { sessionName: p.roleSessionName } : {}), ...(p.externalId ? { externalId: p.externalId } : {}), ...(p.durationSeconds && p.durationSeconds > 15 * 60 ? { durationSeconds: p.durationSeconds } : {}) },
    base,
    to.sts,
  );
}

function credentialSource(source: string, metadataDisabled: boolean): AwsCredentialIdentityProvider {
  if (source === 'Environment') {
    // The environment's keys as the Go SDK reads them (AWS_ACCESS_KEY as well as AWS_ACCESS_KEY_ID), when asked.
    return async () => {
      const e = process.env;
      const accessKeyId = e.AWS_ACCESS_KEY_ID || e.AWS_ACCESS_KEY;
      const secretAccessKey = e.AWS_SECRET_ACCESS_KEY || e.AWS_SECRET_KEY;
      if (!accessKeyId || !secretAccessKey) throw new Error('credential_source = Environment: static credentials are empty (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set)');
      return { accessKeyId, secretAccessKey, ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}) };
    };
  }
  if (source === 'EcsContainer') {
    return async (props) => {
      if (!process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) throw new Error('EcsContainer was specified as the credential_source, but \'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI\' was not set');
      return remoteProvider(metadataDisabled)(props);
    };
  }
  return imdsProvider(metadataDisabled);
}

function imdsProvider(disabled: boolean): AwsCredentialIdentityProvider {
  if (disabled) return () => Promise.reject(new Error('no valid credential sources found: the EC2 instance metadata service is disabled (skip_metadata_api_check / AWS_EC2_METADATA_DISABLED)'));
  const { fromInstanceMetadata } = require('@smithy/credential-provider-imds') as typeof import('@smithy/credential-provider-imds');
  return memoize(fromInstanceMetadata());
}

/** Container credentials (ECS, EKS Pod Identity) when their variables are set, else the instance metadata service. */
function remoteProvider(metadataDisabled: boolean): AwsCredentialIdentityProvider {
  const e = process.env;
  if (!e.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI && !e.AWS_CONTAINER_CREDENTIALS_FULL_URI) return imdsProvider(metadataDisabled);
  const { fromHttp } = require('@aws-sdk/credential-provider-http') as typeof import('@aws-sdk/credential-provider-http');
  const { fromContainerMetadata } = require('@smithy/credential-provider-imds') as typeof import('@smithy/credential-provider-imds');
  const http = fromHttp({});
  const container = fromContainerMetadata();
  return memoize(async (props) => {
    try {
      return await http(props);
    } catch {
      return container();
    }
  });
}

/**
 * Files the SDK's providers read by profile name (credential_process, sso_session), served from
 * memory: @smithy/core's file reader answers these paths from `externalDataInterceptor` (where the
 * SDK's own tests put theirs), so merged settings reach the SDK without being written to disk. The
 * paths are unique per use and exist nowhere.
 */
let syntheticFiles = 0;
function inMemoryFiles(credentials: string, config: string): { filepath: string; configFilepath: string } {
  const { externalDataInterceptor } = require('@smithy/core/config') as typeof import('@smithy/core/config');
  const base = `/nonexistent/eksidp-shared-config/${process.pid}-${++syntheticFiles}`;
  const files = { filepath: `${base}/credentials`, configFilepath: `${base}/config` };
  externalDataInterceptor.interceptFile(files.filepath, credentials);
  externalDataInterceptor.interceptFile(files.configFilepath, config);
  return files;
}

/** A profile name the SDK's ini reader takes as is (it drops `[a b]` in a credentials file). */
const sdkProfileName = (name: string) => (/^[^\s[\]]+$/.test(name) && name !== '__proto__' ? name : 'eksidp-profile');

function processProvider(p: SharedProfile, sections: IniSections): AwsCredentialIdentityProvider {
  const { fromProcess } = require('@aws-sdk/credential-provider-process') as typeof import('@aws-sdk/credential-provider-process');
  const profile = sdkProfileName(p.name);
  const accountId = sections.get(p.name)?.values.aws_account_id;
  const files = inMemoryFiles(renderIni([[profile, { credential_process: p.credentialProcess, aws_account_id: accountId }]]), '');
  return memoize(fromProcess({ profile, ...files }));
}

/**
 * SSO as the Go SDK does it for this profile: GetRoleCredentials with the cached token of the
 * sso-session (refreshed through SSO OIDC when it nears expiry) or of the legacy start URL, sent to
 * `endpoints.sso` when set, through the configuration's transport (proxies, CA bundle, insecure).
 */
function ssoProvider(p: SharedProfile, sections: IniSections, to: CredentialTargets): AwsCredentialIdentityProvider {
  const { fromSSO } = require('@aws-sdk/credential-provider-sso') as typeof import('@aws-sdk/credential-provider-sso');
  const session = p.ssoSession;
  const region = session?.region ?? p.ssoRegion!;
  const requestHandler = to.sts.requestHandler?.();
  const { SSOClient } = require('@aws-sdk/nested-clients/sso') as typeof import('@aws-sdk/nested-clients/sso');
  const ssoClient = new SSOClient({
    region,
    ...(to.ssoEndpoint ? { endpoint: to.ssoEndpoint } : {}),
    ...(requestHandler ? { requestHandler } : {}),
    ...(to.sts.retry ? { maxAttempts: to.sts.retry.maxAttempts, retryMode: to.sts.retry.mode } : {}),
  });
  const init = {
    ssoStartUrl: session?.startUrl ?? p.ssoStartUrl!,
    ssoAccountId: p.ssoAccountId!,
    ssoRegion: region,
    ssoRoleName: p.ssoRoleName!,
    ssoClient,
    // The SSO OIDC client (token refresh) keeps its default endpoint but travels the same way.
    ...(requestHandler ? { clientConfig: { requestHandler } } : {}),
  };
  if (!session) return memoize(fromSSO(init));
  // With an sso-session the SDK's token provider reads the profile and the session by name: it gets them in memory.
  const profile = sdkProfileName(p.name);
  const files = inMemoryFiles(
    renderIni([[profile, { sso_session: session.name }]]),
    renderIni([[`sso-session ${session.name}`, { sso_region: session.region, sso_start_url: session.startUrl, ...sessionExtras(sections, session.name) }]]),
  );
  return memoize(fromSSO({ ...init, ssoSession: session.name, profile, ...files }));
}

/** The sso-session's other keys (sso_registration_scopes), which the token refresh reads. */
function sessionExtras(sections: IniSections, name: string): Record<string, string> {
  const values = sections.get(`sso-session ${name}`)?.values ?? {};
  const { sso_region: _r, sso_start_url: _u, ...rest } = values;
  return rest;
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
export function credentialProvider(spec: CredentialSpec, to: CredentialTargets): AwsCredentialIdentityProvider | undefined {
  const base = spec.base;
  if (base.kind === 'static' && spec.assumeRoles.length === 0) return undefined;
  let provider: AwsCredentialIdentityProvider;
  switch (base.kind) {
    case 'static': {
      const keys = { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey, ...(base.sessionToken ? { sessionToken: base.sessionToken } : {}) };
      provider = async () => keys;
      break;
    }
    case 'webIdentity':
      provider = webIdentityProvider(base.spec, to.sts);
      break;
    case 'profile':
      provider = profileProvider(base.profile, base, spec.metadataDisabled, to);
      break;
    case 'remote':
      provider = remoteProvider(spec.metadataDisabled);
      break;
  }
  for (const role of spec.assumeRoles) provider = assumeRoleProvider(role, provider, to.sts);
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
