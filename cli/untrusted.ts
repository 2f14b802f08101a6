import type { Diagnostic, ObjectValue, Value } from '../engine/protocol';
import type { StackConfig } from '../engine/config';
import { blocks, EngineError } from '../engine/util';

/**
 * `EKSIDP_UNTRUSTED_CONFIG=1`: the stack's JSON was written by someone who must not steer the
 * credentials in this process's environment (a pull request's synthesized JSON, planned by the base
 * branch's eksidp with the cloud role's token: `.github/workflows/drift-pr.yml`). The JSON may still
 * choose *what* is planned, but not *where* requests go, *which* credentials sign them or *how* TLS is
 * checked: those come from the job's environment (AWS_ENDPOINT_URL_*, AWS_* keys, AWS_CA_BUNDLE,
 * proxies), which the pull request does not control.
 *
 * An allow-list, so an argument added later is refused until someone decides it is safe. Checked on
 * the parsed configuration before the backend or any provider is opened (cli/support.ts loadConfig,
 * cli/commands/drift.ts): a refusal is exit 1 with no request made. README, "Security", has the why.
 */

export const UNTRUSTED_ENV = 'EKSIDP_UNTRUSTED_CONFIG';
/** Role ARNs the stack's `assume_role` blocks may name under the guard (comma or space separated), from the job. */
export const TRUSTED_ROLES_ENV = 'EKSIDP_TRUSTED_ROLE_ARNS';
/** When set, the S3 backend's `bucket` / `key` must be exactly these (the job's repository variables). */
export const STATE_BUCKET_ENV = 'EKSIDP_STATE_BUCKET';
export const STATE_KEY_ENV = 'EKSIDP_STATE_KEY';

type Allowed = { why: string; /** A problem with the value, when only some values are safe. */ check?: (v: Value, env: NodeJS.ProcessEnv) => string | undefined };

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
// S3's bucket naming rules: it becomes the first label of `<bucket>.s3.<region>.amazonaws.com`.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const literal = (v: Value): string | undefined => (typeof v === 'string' && !v.includes('${') ? v : undefined);
// A region is part of every default AWS host name (`eks.<region>.amazonaws.com`): `evil.example#` would be one.
const regionCheck = (v: Value) => {
  const s = literal(v);
  return s !== undefined && REGION.test(s) ? undefined : `must be a literal AWS region name such as us-east-1, got ${JSON.stringify(v)}`;
};

const NARROWS = 'it only narrows or labels what is read (the job\'s credentials and endpoints are unchanged)';
const NO_CALL = 'it turns off a call eksidp would make, or has no effect on where requests go';

const PROVIDER_ALLOWED: Record<string, Allowed> = {
  region: { why: 'the AWS region of the job\'s own endpoints', check: regionCheck },
  sts_region: { why: 'the region of the STS calls, at AWS\'s own STS host', check: regionCheck },
  default_tags: { why: NARROWS },
  ignore_tags: { why: NARROWS },
  allowed_account_ids: { why: NARROWS },
  forbidden_account_ids: { why: NARROWS },
  skip_credentials_validation: { why: NO_CALL },
  skip_requesting_account_id: { why: NO_CALL },
  skip_region_validation: { why: NO_CALL },
  use_fips_endpoint: { why: 'AWS\'s own FIPS host names' },
  use_dualstack_endpoint: { why: 'AWS\'s own dual-stack host names' },
  max_retries: { why: 'how often a call is retried' },
  retry_mode: { why: 'how calls are retried' },
  s3_use_path_style: { why: NO_CALL },
  s3_us_east_1_regional_endpoint: { why: NO_CALL },
  assume_role: { why: 'only roles the job lists in EKSIDP_TRUSTED_ROLE_ARNS', check: (v, env) => assumeRoleProblem(v, env) },
};

const BACKEND_ALLOWED: Record<string, Allowed> = {
  bucket: {
    why: 'which object is read: the role\'s IAM policy decides whether it may be (and EKSIDP_STATE_BUCKET pins it)',
    check: (v, env) => {
      const s = literal(v);
      if (s === undefined || !BUCKET.test(s) || s.includes('..')) return `must be a literal S3 bucket name (lower-case letters, digits, "." and "-", 3 to 63 characters), got ${JSON.stringify(v)}`;
      const pin = env[STATE_BUCKET_ENV];
      return pin && pin !== s ? `is ${JSON.stringify(s)} but the job expects ${JSON.stringify(pin)} (${STATE_BUCKET_ENV})` : undefined;
    },
  },
  key: {
    why: 'which object is read (EKSIDP_STATE_KEY pins it)',
    check: (v, env) => {
      const pin = env[STATE_KEY_ENV];
      return pin && pin !== v ? `is ${JSON.stringify(v)} but the job expects ${JSON.stringify(pin)} (${STATE_KEY_ENV})` : undefined;
    },
  },
  region: { why: 'the region of AWS\'s own S3 and DynamoDB hosts', check: regionCheck },
  sts_region: { why: 'the region of AWS\'s own STS host', check: regionCheck },
  workspace_key_prefix: { why: 'which object is read' },
  dynamodb_table: { why: 'which lock table item is read' },
  use_lockfile: { why: 'which lock is taken' },
  encrypt: { why: 'headers of objects written' },
  kms_key_id: { why: 'headers of objects written' },
  acl: { why: 'headers of objects written' },
  use_path_style: { why: 'the bucket goes in the path instead of the host name: the host stays the endpoint\'s' },
  force_path_style: { why: 'as use_path_style' },
  skip_s3_checksum: { why: NO_CALL },
  skip_credentials_validation: { why: NO_CALL },
  skip_requesting_account_id: { why: NO_CALL },
  skip_region_validation: { why: NO_CALL },
  max_retries: { why: 'how often a call is retried' },
  retry_mode: { why: 'how calls are retried' },
  assume_role: { why: 'only roles the job lists in EKSIDP_TRUSTED_ROLE_ARNS', check: (v, env) => assumeRoleProblem(v, env) },
};

/** Why an argument is refused (for the message); anything not allowed and not listed is refused as unknown. */
const REFUSED_WHY: Record<string, string> = {
  endpoints: 'it sends requests, signed with the job\'s credentials, to a host of its choosing; give endpoints in the job\'s environment (AWS_ENDPOINT_URL_*)',
  endpoint: 'it sends requests to a host of its choosing; use AWS_ENDPOINT_URL_S3 in the job\'s environment',
  dynamodb_endpoint: 'it sends requests to a host of its choosing; use AWS_ENDPOINT_URL_DYNAMODB in the job\'s environment',
  sts_endpoint: 'it sends requests to a host of its choosing; use AWS_ENDPOINT_URL_STS in the job\'s environment',
  http_proxy: 'a proxy of its choosing sees every request (and, with its own CA, could answer them)',
  https_proxy: 'a proxy of its choosing sees every request (and, with its own CA, could answer them)',
  no_proxy: 'it routes requests around the job\'s proxy',
  custom_ca_bundle: 'a CA of its choosing lets its own server pass as AWS',
  insecure: 'it turns TLS certificate checks off',
  access_key: 'it replaces the job\'s credentials (its own account could serve a fake plan)',
  secret_key: 'it replaces the job\'s credentials',
  token: 'it replaces the job\'s credentials',
  profile: 'it chooses credentials (a profile can run a credential_process or name other endpoints)',
  shared_config_files: 'it chooses files of credentials and settings (credential_process runs a program; endpoint_url redirects)',
  shared_credentials_files: 'it chooses files of credentials',
  shared_credentials_file: 'it chooses files of credentials',
  assume_role_with_web_identity: 'it chooses a role and the token file sent to STS',
  skip_metadata_api_check: 'it changes where credentials come from (the instance metadata service)',
  ec2_metadata_service_endpoint: 'it chooses where credentials come from',
  ec2_metadata_service_endpoint_mode: 'it chooses where credentials come from',
};

const set = (v: Value | undefined) => v !== undefined && v !== null;

function trustedRoles(env: NodeJS.ProcessEnv): string[] {
  return (env[TRUSTED_ROLES_ENV] ?? '').split(/[\s,]+/).filter(Boolean);
}

function assumeRoleProblem(v: Value, env: NodeJS.ProcessEnv): string | undefined {
  const trusted = trustedRoles(env);
  // Written out as blocks: an expression (`${var.roles}`) could evaluate to any role later.
  if (typeof v !== 'object' || v === null) return `must be written as blocks with a literal role_arn, got ${JSON.stringify(v)}`;
  for (const b of blocks(v)) {
    const arn = literal(b.role_arn as Value);
    if (arn === undefined) return `role_arn must be a literal role ARN, got ${JSON.stringify(b.role_arn)}`;
    if (!trusted.includes(arn)) {
      return `assumes ${arn}, which is not among the roles the job trusts (${TRUSTED_ROLES_ENV}: ${trusted.length ? trusted.join(', ') : 'none'}); the role a plan runs as is the job's choice`;
    }
  }
  return undefined;
}

function argumentProblems(body: ObjectValue, allowed: Record<string, Allowed>, where: string, env: NodeJS.ProcessEnv): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (!set(v)) continue;
    const rule = allowed[k];
    const problem = rule ? rule.check?.(v, env) : `is not allowed: ${REFUSED_WHY[k] ?? 'it is not on the list of arguments a configuration of unknown origin may set'}`;
    if (problem) out.push({ severity: 'error', summary: `${where}: "${k}" ${problem} (${UNTRUSTED_ENV}=1: the configuration comes from an untrusted source)` });
  }
  return out;
}

export function untrustedConfigOn(env: NodeJS.ProcessEnv): boolean {
  const v = env[UNTRUSTED_ENV];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** Everything an untrusted configuration sets that it may not: [] when it may run. */
export function untrustedConfigProblems(config: StackConfig, env: NodeJS.ProcessEnv): Diagnostic[] {
  const diags: Diagnostic[] = [];
  // Native types only: a provider plugin is a program (found beside the stack's JSON, which the source also controls).
  const { NATIVE_TYPES } = require('../providers/eks') as typeof import('../providers/eks');
  for (const r of config.resources) {
    const native = (NATIVE_TYPES[r.mode] as readonly string[]).includes(r.type) && r.provider.split('.')[0] === 'aws';
    if (!native) diags.push({ severity: 'error', summary: `${r.type} would need a provider plugin (a program), which eksidp does not start for a configuration of unknown origin (${UNTRUSTED_ENV}=1); only ${NATIVE_TYPES.managed.join(', ')} and data ${NATIVE_TYPES.data.join(', ')} of provider "aws"`, address: r.address });
  }
  for (const p of config.providers.values()) {
    if (p.name !== 'aws') {
      diags.push({ severity: 'error', summary: `provider "${p.name}" is served by a plugin (a program), which eksidp does not start for a configuration of unknown origin (${UNTRUSTED_ENV}=1)`, address: `provider.${p.key}` });
      continue;
    }
    diags.push(...argumentProblems(p.body, PROVIDER_ALLOWED, `provider "${p.key}"`, env));
  }
  if (config.backend.type === 's3') diags.push(...argumentProblems(config.backend.body, BACKEND_ALLOWED, 'backend "s3"', env));
  else if (env[STATE_BUCKET_ENV]) diags.push({ severity: 'error', summary: `the job expects state in S3 bucket ${JSON.stringify(env[STATE_BUCKET_ENV])} (${STATE_BUCKET_ENV}) but the stack's backend is "${config.backend.type}" (${UNTRUSTED_ENV}=1)` });
  return diags;
}

/** Throws (exit 1, every problem named) when the guard is on and the configuration may not run. */
export function checkUntrustedConfig(config: StackConfig, env: NodeJS.ProcessEnv): void {
  if (!untrustedConfigOn(env)) return;
  const diags = untrustedConfigProblems(config, env);
  if (diags.length) throw new EngineError(diags);
}

/** The lists, for the README and the tests. */
export const UNTRUSTED_ALLOWED = { provider: Object.keys(PROVIDER_ALLOWED), backend: Object.keys(BACKEND_ALLOWED) };
