import { createHash } from 'node:crypto';
import type { Diagnostic, ObjectValue, Value } from '../../engine/protocol';
import { DEFAULT_TUNING } from '../../providers/eks/client';
import { resolveProviderSettings, type CredentialSpec } from '../../providers/eks/settings';
import type { TransportSettings } from '../../providers/eks/transport';
import { firstBlock, stringValue } from '../../engine/util';
import { resolveTransportSettings, type RetrySettings } from '../../providers/eks/transport-settings';

/**
 * The `backend "s3"` block, read as Terraform 1.11's S3 backend reads it
 * (internal/backend/remote-state/s3/backend.go). Every argument of its schema is in this table with
 * what eksidp does; an argument marked refused (or one the table does not know) is an error before
 * any call, naming it. Credentials, proxies and the CA bundle go through the AWS provider's own code
 * (providers/eks/settings.ts, credentials.ts, transport-settings.ts), as Terraform shares
 * aws-sdk-go-base between the two.
 */

type Status = 'implemented' | 'refused';
type Rule = { status: Status; note: string };

export const S3_BACKEND_ARGUMENTS: Record<string, Rule> = {
  bucket: { status: 'implemented', note: 'Required.' },
  key: { status: 'implemented', note: 'Required: the default workspace\'s state object.' },
  region: { status: 'implemented', note: 'Or AWS_REGION / AWS_DEFAULT_REGION (required, as in Terraform).' },
  workspace_key_prefix: { status: 'implemented', note: 'Other workspaces are at `<prefix>/<workspace>/<key>` (default `env:`).' },
  use_lockfile: { status: 'implemented', note: 'Lock with a `<key>.tflock` object written with `If-None-Match: *`.' },
  dynamodb_table: { status: 'implemented', note: 'Lock with a DynamoDB item (`LockID` = `<bucket>/<key>`), and keep the state\'s MD5 digest item (`<bucket>/<key>-md5`), checked on every read.' },
  endpoints: { status: 'implemented', note: '`s3`, `dynamodb` and `sts` (also AWS_ENDPOINT_URL_S3 / _DYNAMODB / _STS, then AWS_ENDPOINT_URL).' },
  endpoint: { status: 'implemented', note: 'Deprecated spelling of `endpoints.s3`.' },
  dynamodb_endpoint: { status: 'implemented', note: 'Deprecated spelling of `endpoints.dynamodb`.' },
  sts_endpoint: { status: 'implemented', note: 'Deprecated spelling of `endpoints.sts`.' },
  use_path_style: { status: 'implemented', note: '`https://host/bucket/key` instead of `https://bucket.host/key`.' },
  force_path_style: { status: 'implemented', note: 'Deprecated spelling of `use_path_style`.' },
  encrypt: { status: 'implemented', note: 'Server-side encryption of the state and lock objects (AES256, or aws:kms with `kms_key_id`).' },
  kms_key_id: { status: 'implemented', note: 'The KMS key for `encrypt` (sent as SSE-KMS).' },
  acl: { status: 'implemented', note: 'Canned ACL of the objects written (`x-amz-acl`).' },
  skip_s3_checksum: { status: 'implemented', note: 'eksidp sends checksums only where S3 requires them (never, for these calls): the flag changes nothing.' },
  skip_credentials_validation: { status: 'implemented', note: 'eksidp never calls STS to validate backend credentials: accepted, no call either way.' },
  skip_requesting_account_id: { status: 'implemented', note: 'eksidp never asks for the account ID for the backend: accepted, no call either way.' },
  skip_region_validation: { status: 'implemented', note: 'Unless true, the region must be a known one (the provider\'s list, `providers/eks/regions.ts`), as the backend checks it through aws-sdk-go-base.' },
  skip_metadata_api_check: { status: 'implemented', note: 'As in the provider: true keeps the SDK from asking the instance metadata service.' },
  access_key: { status: 'implemented', note: 'As the provider\'s.' },
  secret_key: { status: 'implemented', note: 'As the provider\'s.' },
  token: { status: 'implemented', note: 'As the provider\'s.' },
  profile: { status: 'implemented', note: 'As the provider\'s.' },
  shared_config_files: { status: 'implemented', note: 'As the provider\'s (one file).' },
  shared_credentials_files: { status: 'implemented', note: 'As the provider\'s (one file).' },
  shared_credentials_file: { status: 'implemented', note: 'Deprecated spelling of `shared_credentials_files`.' },
  sts_region: { status: 'implemented', note: 'As the provider\'s.' },
  assume_role: { status: 'implemented', note: 'As the provider\'s `assume_role` block (one role).' },
  assume_role_with_web_identity: { status: 'implemented', note: 'As the provider\'s.' },
  max_retries: { status: 'implemented', note: 'Attempts per call (default 5, as Terraform\'s backend).' },
  retry_mode: { status: 'implemented', note: 'Accepted as in the provider; eksidp\'s backend client backs off the same way in both modes.' },
  custom_ca_bundle: { status: 'implemented', note: 'As the provider\'s.' },
  http_proxy: { status: 'implemented', note: 'As the provider\'s.' },
  https_proxy: { status: 'implemented', note: 'As the provider\'s.' },
  no_proxy: { status: 'implemented', note: 'As the provider\'s.' },
  sse_customer_key: { status: 'implemented', note: 'SSE-C with `encrypt = true` (or `AWS_SSE_CUSTOMER_KEY`): the base64 key (44 characters) and its MD5 go with every state and lock object read and written, as Terraform sends them; without `encrypt` Terraform would not use it, so eksidp refuses it.' },
  allowed_account_ids: { status: 'refused', note: 'not implemented for the backend by eksidp.' },
  forbidden_account_ids: { status: 'refused', note: 'not implemented for the backend by eksidp.' },
  iam_endpoint: { status: 'refused', note: 'eksidp\'s backend makes no IAM call; remove it.' },
  ec2_metadata_service_endpoint: { status: 'refused', note: 'not implemented by eksidp.' },
  ec2_metadata_service_endpoint_mode: { status: 'refused', note: 'not implemented by eksidp.' },
  insecure: { status: 'refused', note: 'eksidp never skips TLS verification; use `custom_ca_bundle`.' },
  use_fips_endpoint: { status: 'refused', note: 'not implemented for the backend by eksidp; give the FIPS endpoints in `endpoints`.' },
  use_dualstack_endpoint: { status: 'refused', note: 'not implemented for the backend by eksidp; give the endpoints in `endpoints`.' },
};

const ENDPOINT_KEYS: Record<string, Status> = { s3: 'implemented', dynamodb: 'implemented', sts: 'implemented', iam: 'refused', sso: 'refused' };

export type S3Settings = {
  bucket: string;
  key: string;
  region: string;
  workspaceKeyPrefix: string;
  useLockfile: boolean;
  dynamodbTable?: string;
  /** Origins (scheme://host[:port]). */
  s3Endpoint: string;
  dynamodbEndpoint: string;
  usePathStyle: boolean;
  /** Headers for every object written: SSE and ACL. */
  writeHeaders: Record<string, string>;
  /** Headers for every object read: SSE-C's key, when one is set. */
  readHeaders: Record<string, string>;
  credentials: CredentialSpec;
  sts: { region: string; endpoint?: string };
  ssoEndpoint?: string;
  transport: TransportSettings;
  retry: RetrySettings;
  metadataApiDisabled?: boolean;
};

const bool = (v: Value | undefined): boolean => v === true || v === 'true';
const isSet = (v: Value | undefined) => v !== undefined && v !== null;

/** A key or prefix as Terraform's validateStringS3Path allows it: no leading or trailing slash. */
function s3PathProblem(v: string): string | undefined {
  if (v.startsWith('/')) return 'must not start with "/"';
  if (v.endsWith('/')) return 'must not end with "/"';
  return undefined;
}

function originOf(url: string, what: string, diags: Diagnostic[]): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    diags.push({ severity: 'error', summary: `backend "s3": ${what} ${JSON.stringify(url)} is not an http(s) URL`, attribute: ['terraform', 'backend', 's3'] });
    return '';
  }
}

/** Reads the block and the environment; refused arguments and bad values are diagnostics, and no call happens. */
export function resolveS3Settings(body: ObjectValue, env: NodeJS.ProcessEnv): { settings?: S3Settings; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  const err = (summary: string, at: string[] = []) => diags.push({ severity: 'error', summary: `backend "s3": ${summary}`, attribute: ['terraform', 'backend', 's3', ...at] });
  for (const [k, v] of Object.entries(body)) {
    if (!isSet(v)) continue;
    const rule = S3_BACKEND_ARGUMENTS[k];
    if (!rule) err(`"${k}" is not an argument of Terraform's S3 backend`, [k]);
    else if (rule.status === 'refused') err(`"${k}" is not supported by eksidp: ${rule.note}`, [k]);
  }
  const endpoints = firstBlock(body.endpoints) ?? {};
  for (const [k, v] of Object.entries(endpoints)) {
    if (!isSet(v)) continue;
    const status = ENDPOINT_KEYS[k];
    if (!status) err(`"endpoints.${k}" is not an argument of Terraform's S3 backend`, ['endpoints', k]);
    else if (status === 'refused') err(`"endpoints.${k}" is not supported by eksidp: the backend makes no ${k.toUpperCase()} call`, ['endpoints', k]);
  }
  for (const [old, now] of [['endpoint', 's3'], ['dynamodb_endpoint', 'dynamodb'], ['sts_endpoint', 'sts']] as const) {
    if (isSet(body[old]) && isSet(endpoints[now])) err(`the parameters "${old}" and "endpoints.${now}" cannot be configured together`, [old]);
  }
  if (isSet(body.shared_credentials_file) && isSet(body.shared_credentials_files)) err('the parameters "shared_credentials_file" and "shared_credentials_files" cannot be configured together', ['shared_credentials_file']);

  const bucket = stringValue(body.bucket);
  const key = stringValue(body.key);
  if (!bucket) err('"bucket" is required (a non-empty string)', ['bucket']);
  if (!key) err('"key" is required (a non-empty string)', ['key']);
  else {
    const p = s3PathProblem(key) ?? (key.includes('//') ? 'must not contain "//"' : undefined);
    if (p) err(`"key" ${p}`, ['key']);
  }
  let workspaceKeyPrefix = 'env:';
  if (typeof body.workspace_key_prefix === 'string') {
    workspaceKeyPrefix = body.workspace_key_prefix;
    const p = s3PathProblem(workspaceKeyPrefix);
    if (p) err(`"workspace_key_prefix" ${p}`, ['workspace_key_prefix']);
  }
  const region = stringValue(body.region) ?? stringValue(env.AWS_REGION) ?? stringValue(env.AWS_DEFAULT_REGION);
  if (!region) err('Missing region value: the "region" attribute or the "AWS_REGION" or "AWS_DEFAULT_REGION" environment variables must be set', ['region']);
  if (isSet(body.kms_key_id) && !bool(body.encrypt)) {
    // Terraform sends the KMS key only with encrypt = true; a key without it would silently do nothing.
    err('"kms_key_id" has no effect without "encrypt = true": set both', ['kms_key_id']);
  }
  // SSE-C (backend.go): the attribute, else AWS_SSE_CUSTOMER_KEY; 44 characters of standard base64.
  const envKey = stringValue(env.AWS_SSE_CUSTOMER_KEY);
  if (isSet(body.kms_key_id) && isSet(body.sse_customer_key)) err('Only one of "kms_key_id" and "sse_customer_key" can be set', ['sse_customer_key']);
  else if (isSet(body.kms_key_id) && envKey) err('Invalid encryption configuration: only one of "kms_key_id" and the environment variable "AWS_SSE_CUSTOMER_KEY" can be set (kms_key_id is for SSE-KMS, AWS_SSE_CUSTOMER_KEY for SSE-C)', ['kms_key_id']);
  const attrKey = stringValue(body.sse_customer_key);
  const customerKey = attrKey ?? envKey;
  const keyFrom = attrKey !== undefined ? '"sse_customer_key"' : 'the environment variable "AWS_SSE_CUSTOMER_KEY"';
  let sseC: Record<string, string> | undefined;
  if (customerKey !== undefined) {
    if (customerKey.length !== 44) err(`Invalid ${attrKey !== undefined ? 'sse_customer_key' : 'AWS_SSE_CUSTOMER_KEY'} value: ${keyFrom} must be 44 characters in length`, attrKey !== undefined ? ['sse_customer_key'] : undefined);
    else if (!/^[A-Za-z0-9+/]*={0,2}$/.test(customerKey)) err(`Invalid ${attrKey !== undefined ? 'sse_customer_key' : 'AWS_SSE_CUSTOMER_KEY'} value: ${keyFrom} must be base64 encoded`, attrKey !== undefined ? ['sse_customer_key'] : undefined);
    // Terraform sends the key only with encrypt = true: set without it, it would silently do nothing.
    else if (!bool(body.encrypt)) err(`${keyFrom} has no effect without "encrypt = true": set encrypt = true to use SSE-C, or remove the key`, attrKey !== undefined ? ['sse_customer_key'] : ['encrypt']);
    else {
      const raw = Buffer.from(customerKey, 'base64');
      sseC = {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': raw.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(raw).digest('base64'),
      };
    }
  }
  const writeHeaders: Record<string, string> = {};
  if (bool(body.encrypt)) {
    const kms = stringValue(body.kms_key_id);
    if (sseC) Object.assign(writeHeaders, sseC);
    else writeHeaders['x-amz-server-side-encryption'] = kms ? 'aws:kms' : 'AES256';
    if (kms) writeHeaders['x-amz-server-side-encryption-aws-kms-key-id'] = kms;
  }
  const acl = stringValue(body.acl);
  if (acl) writeHeaders['x-amz-acl'] = acl;

  // Credentials and transport: the provider's readers, given the block's arguments under the provider's names.
  const credentialArgs: ObjectValue = {};
  for (const k of ['access_key', 'secret_key', 'token', 'profile', 'shared_config_files', 'shared_credentials_files', 'sts_region', 'assume_role', 'assume_role_with_web_identity', 'skip_metadata_api_check', 'skip_region_validation']) {
    if (isSet(body[k])) credentialArgs[k] = body[k]!;
  }
  if (isSet(body.shared_credentials_file)) credentialArgs.shared_credentials_files = [body.shared_credentials_file!];
  const stsEndpoint = stringValue(endpoints.sts) ?? stringValue(body.sts_endpoint);
  if (stsEndpoint) credentialArgs.endpoints = [{ sts: stsEndpoint }];
  credentialArgs.region = region ?? 'us-east-1';
  // The backend never checks the account: the provider's account lookup is off here.
  credentialArgs.skip_credentials_validation = true;
  credentialArgs.skip_requesting_account_id = true;
  const provider = resolveProviderSettings(credentialArgs, env);
  for (const d of provider.diagnostics) diags.push({ ...d, summary: `backend "s3": ${d.summary.replace(/[Tt]he aws provider block/g, 'the backend block')}`, attribute: ['terraform', 'backend', 's3', ...(d.attribute ?? [])] });
  const transportArgs: ObjectValue = {};
  for (const k of ['http_proxy', 'https_proxy', 'no_proxy', 'custom_ca_bundle', 'max_retries', 'retry_mode']) if (isSet(body[k])) transportArgs[k] = body[k]!;
  const transport = resolveTransportSettings(transportArgs, env, { ...DEFAULT_TUNING, maxAttempts: 5 });
  for (const d of transport.diagnostics) diags.push({ ...d, summary: `backend "s3": ${d.summary.replace(/[Tt]he aws provider block/g, 'the backend block')}` });

  const s3Url = stringValue(endpoints.s3) ?? stringValue(body.endpoint) ?? stringValue(env.AWS_ENDPOINT_URL_S3) ?? stringValue(env.AWS_S3_ENDPOINT) ?? stringValue(env.AWS_ENDPOINT_URL);
  const ddbUrl = stringValue(endpoints.dynamodb) ?? stringValue(body.dynamodb_endpoint) ?? stringValue(env.AWS_ENDPOINT_URL_DYNAMODB) ?? stringValue(env.AWS_DYNAMODB_ENDPOINT) ?? stringValue(env.AWS_ENDPOINT_URL);
  const s3Endpoint = s3Url ? originOf(s3Url, 'the S3 endpoint', diags) : `https://s3.${region}.amazonaws.com`;
  const dynamodbEndpoint = ddbUrl ? originOf(ddbUrl, 'the DynamoDB endpoint', diags) : `https://dynamodb.${region}.amazonaws.com`;

  if (diags.some((d) => d.severity === 'error') || !bucket || !key || !region || !provider.settings || !transport.transport || !transport.retry) return { diagnostics: diags };
  const dynamodbTable = stringValue(body.dynamodb_table);
  return {
    diagnostics: diags,
    settings: {
      bucket, key, region, workspaceKeyPrefix,
      useLockfile: bool(body.use_lockfile),
      ...(dynamodbTable ? { dynamodbTable } : {}),
      s3Endpoint, dynamodbEndpoint,
      usePathStyle: bool(body.use_path_style) || bool(body.force_path_style),
      writeHeaders,
      readHeaders: sseC ?? {},
      credentials: provider.settings.credentials,
      sts: provider.settings.sts,
      ...(provider.settings.ssoEndpoint ? { ssoEndpoint: provider.settings.ssoEndpoint } : {}),
      transport: transport.transport,
      retry: transport.retry,
      ...(provider.settings.metadataApiDisabled !== undefined ? { metadataApiDisabled: provider.settings.metadataApiDisabled } : {}),
    },
  };
}
