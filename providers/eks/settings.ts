import { PROVIDER_REGIONS } from './regions';
import os from 'node:os';
import path from 'node:path';
import type { BlockSchema, Diagnostic, ObjectValue, Value } from '../../engine/protocol';
import { isUnknown } from '../../engine/protocol';
import { parseDuration } from '../../lib/duration';
import { blocks, firstBlock, stringValue } from '../../engine/util';
import { loadSharedConfig, profileProblem, ProfileNotFoundError, readProfile, SharedConfigError, type IniSections, type SharedProfile } from './shared-config';
import { tagsOf } from './tags';

/**
 * Every argument of hashicorp/aws 5.100's provider block, with what eksidp does with it. This table is
 * the one definition: the resolver below reads only arguments marked implemented (`arg` is typed on
 * them), refuses the refused ones before any API call, and the table in providers/eks/README.md is
 * generated from it (test/provider-settings.test.ts checks both against the schema).
 */

export type ArgumentStatus = 'implemented' | 'no effect' | 'refused';

type Rule = {
  readonly status: ArgumentStatus;
  /** What eksidp does with the argument, for the README. */
  readonly note: string;
  /** Implemented in part: the values refused (`when`, for the README) and the test for them. */
  readonly refuse?: { readonly when: string; readonly why: string; readonly test: (v: Value) => boolean };
};

const moreThanOne = (what: string, why: string) => ({ when: `more than one ${what}`, why, test: (v: Value) => Array.isArray(v) && v.length > 1 });

export const PROVIDER_ARGUMENTS = {
  access_key: { status: 'implemented', note: 'Static credentials, with `secret_key` (both or neither). They win over every other source, as in the provider.' },
  secret_key: { status: 'implemented', note: 'See `access_key`.' },
  token: { status: 'implemented', note: 'Session token sent with the static keys.' },
  profile: {
    status: 'implemented',
    note: 'Named profile of the shared files (else `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, `default`), read as the provider reads it (shared-config.ts): static keys, `role_arn` with `source_profile` chains or `credential_source`, `web_identity_token_file`, SSO (`sso_session` or the legacy keys), `credential_process`; the credential providers are the AWS SDK\'s. The block\'s profile wins over `AWS_ACCESS_KEY_ID` (with the provider\'s warning); `AWS_PROFILE` does not, but must exist.',
  },
  shared_config_files: {
    status: 'implemented',
    note: 'Config files, all read and merged as the provider does: a later file\'s value wins for the same key of the same profile, sections are merged key by key; `~` and `$VAR` expanded. Else `AWS_CONFIG_FILE`, else `~/.aws/config`.',
  },
  shared_credentials_files: {
    status: 'implemented',
    note: 'Credentials files, merged the same way and then over the config files (a credentials file wins). Else `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. Nothing is written to disk: `credential_process` and `sso_session` reach the SDK\'s providers as in-memory files.',
  },
  region: { status: 'implemented', note: 'Then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the selected profile\'s `region` in the shared files, as the provider reads them (test/provider-profiles-terraform.test.ts). No region anywhere is an error before any call, a custom endpoint notwithstanding, as in the provider.' },
  sts_region: { status: 'implemented', note: 'Region of the STS calls (account check, assumed roles); defaults to `region`.' },
  assume_role: { status: 'implemented', note: 'Assumed on top of the base credentials; several blocks are a chain, each role assumed with the previous one\'s credentials. Credentials are refreshed before they expire.' },
  'assume_role.role_arn': { status: 'implemented', note: 'Required in every block.' },
  'assume_role.session_name': { status: 'implemented', note: 'Default `eksidp-<time>`.' },
  'assume_role.external_id': { status: 'implemented', note: 'Sent as `ExternalId`.' },
  'assume_role.duration': { status: 'implemented', note: 'Go duration (`1h`, `15m`), 15 minutes to 12 hours; sent as `DurationSeconds`.' },
  'assume_role.policy': { status: 'implemented', note: 'Session policy (JSON).' },
  'assume_role.policy_arns': { status: 'implemented', note: 'Managed session policies.' },
  'assume_role.tags': { status: 'implemented', note: 'Session tags.' },
  'assume_role.transitive_tag_keys': { status: 'implemented', note: 'Transitive session tag keys.' },
  'assume_role.source_identity': { status: 'implemented', note: 'Sent as `SourceIdentity`.' },
  assume_role_with_web_identity: {
    status: 'implemented',
    note: 'AssumeRoleWithWebIdentity instead of the base credentials (then `assume_role` on top). Without the block, `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (+ `AWS_ROLE_SESSION_NAME`) work through the default chain, as GitHub Actions\' OIDC sets them.',
    refuse: moreThanOne('block', 'the provider reads the first block and silently ignores the others'),
  },
  'assume_role_with_web_identity.role_arn': { status: 'implemented', note: 'Or `AWS_ROLE_ARN`.' },
  'assume_role_with_web_identity.session_name': { status: 'implemented', note: 'Or `AWS_ROLE_SESSION_NAME`; default `eksidp-<time>`.' },
  'assume_role_with_web_identity.web_identity_token': { status: 'implemented', note: 'The token itself (exactly one of the token and the file).' },
  'assume_role_with_web_identity.web_identity_token_file': { status: 'implemented', note: 'Or `AWS_WEB_IDENTITY_TOKEN_FILE`; read again at every refresh.' },
  'assume_role_with_web_identity.duration': { status: 'implemented', note: 'As `assume_role.duration`.' },
  'assume_role_with_web_identity.policy': { status: 'implemented', note: 'Session policy (JSON).' },
  'assume_role_with_web_identity.policy_arns': { status: 'implemented', note: 'Managed session policies.' },
  allowed_account_ids: {
    status: 'implemented',
    note: 'STS GetCallerIdentity once per provider configuration, before any EKS call (plan, apply, destroy, import, drift); another account is an error naming it and the allowed ones.',
  },
  forbidden_account_ids: { status: 'implemented', note: 'As `allowed_account_ids`: a listed account is an error.' },
  skip_credentials_validation: {
    status: 'implemented',
    note: 'Unless both this and `skip_requesting_account_id` are true, the credentials are checked with GetCallerIdentity before any EKS call (the provider asks IAM first when only this one is true; eksidp asks STS).',
  },
  skip_requesting_account_id: {
    status: 'implemented',
    note: 'With `skip_credentials_validation` too, no STS call: the account is unknown, so `allowed_account_ids` then fails, as in the provider.',
  },
  skip_metadata_api_check: {
    status: 'implemented',
    note: '`true` keeps the default chain away from the instance metadata service (`AWS_EC2_METADATA_DISABLED=true` for the process, as the provider sets it); `false` sets it to `false`.',
  },
  skip_region_validation: { status: 'implemented', note: 'Unless true, the region must be one hashicorp/aws 5.100 knows (`providers/eks/regions.ts`, measured against the provider): `invalid AWS Region: X` before any call, as in the provider. With no region at all eksidp refuses whatever this says (the provider, with it true, calls with an empty region).' },
  use_fips_endpoint: { status: 'implemented', note: 'FIPS endpoints for EKS and STS (ignored where a custom endpoint is given, as in the SDK).' },
  use_dualstack_endpoint: { status: 'implemented', note: 'Dual-stack endpoints for EKS and STS (ignored where a custom endpoint is given).' },
  default_tags: { status: 'implemented', note: '`tags_all` as the provider computes it, in plan, apply, state and drift; also `TF_AWS_DEFAULT_TAGS_<key>` (the block wins).' },
  'default_tags.tags': { status: 'implemented', note: 'See `default_tags`.' },
  ignore_tags: { status: 'implemented', note: 'Keys removed from `tags` and `tags_all` on read and from plans; also `TF_AWS_IGNORE_TAGS_KEYS` / `TF_AWS_IGNORE_TAGS_KEY_PREFIXES` (added to the block\'s).' },
  'ignore_tags.keys': { status: 'implemented', note: 'See `ignore_tags`.' },
  'ignore_tags.key_prefixes': { status: 'implemented', note: 'See `ignore_tags`.' },
  endpoints: { status: 'implemented', note: 'Custom endpoints of the services eksidp calls; the others have no effect.', refuse: moreThanOne('block', 'the provider takes each service\'s first non-empty value in the order of its set of blocks (a hash of their contents, with a warning that more than one block will be an error); give every endpoint in one block') },
  'endpoints.eks': { status: 'implemented', note: 'Then `AWS_ENDPOINT_URL_EKS`, `AWS_ENDPOINT_URL`.' },
  'endpoints.sts': { status: 'implemented', note: 'Then `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`: the account check and every assumed role.' },
  'endpoints.sso': { status: 'implemented', note: 'Then `AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL`: the SSO portal call (GetRoleCredentials) of an SSO profile. The SSO OIDC token refresh keeps its default endpoint, as in the provider.' },
  'endpoints.*': { status: 'no effect', note: 'Every other service\'s endpoint: eksidp calls EKS and STS only (`endpoints.iam` included: eksidp asks STS, never IAM, for the account).' },
  http_proxy: {
    status: 'implemented',
    note: 'Proxy for `http://` requests, and for `https://` ones when `https_proxy` is not set (with the provider\'s warning); wins over `HTTP_PROXY`/`http_proxy`. Every request: EKS on both paths and STS (transport.ts, proxy.ts). Loopback is never proxied, as in the provider.',
  },
  https_proxy: { status: 'implemented', note: 'Proxy for `https://` requests; wins over `HTTPS_PROXY`/`https_proxy`; `""` goes direct.' },
  no_proxy: { status: 'implemented', note: 'Hosts reached directly: names (and subdomains), `.name`/`*.name`, IPs, CIDR ranges, `:port`; wins over `NO_PROXY`/`no_proxy`.' },
  custom_ca_bundle: { status: 'implemented', note: 'PEM file whose certificates replace the default roots, as the Go SDK does; else `AWS_CA_BUNDLE`.' },
  max_retries: { status: 'implemented', note: 'Attempts per call on both paths and for STS; else `AWS_MAX_ATTEMPTS`; unset, eksidp keeps 8.' },
  retry_mode: { status: 'implemented', note: '`standard` or `adaptive`; else `AWS_RETRY_MODE`; unset, eksidp keeps `adaptive`.' },
  insecure: { status: 'implemented', note: '`true` turns TLS certificate verification off on every request: EKS on both paths, STS, SSO (as the provider\'s `InsecureSkipVerify`, over `custom_ca_bundle` too).' },
  ec2_metadata_service_endpoint: {
    status: 'refused',
    note: 'The AWS SDK for JavaScript\'s instance metadata provider reads its endpoint only from the process environment and the default config file (`getInstanceMetadataEndpoint` in @smithy/credential-provider-imds takes no argument), so it cannot be set per provider configuration; eksidp does not implement instance metadata calls of its own. Set `AWS_EC2_METADATA_SERVICE_ENDPOINT` in the environment instead.',
  },
  ec2_metadata_service_endpoint_mode: {
    status: 'refused',
    note: 'As `ec2_metadata_service_endpoint`: set `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` in the environment instead.',
  },
  token_bucket_rate_limiter_capacity: {
    status: 'refused',
    note: 'The retry strategies eksidp uses on both request paths (@smithy/core/retry\'s `StandardRetryStrategy` and `AdaptiveRetryStrategy`) keep a fixed 500-token retry quota (`INITIAL_RETRY_TOKENS`, also the cap its refunds stop at) and take no capacity; only the deprecated v1 strategy takes a quota, and the lean read path cannot use it.',
  },
  s3_use_path_style: { status: 'no effect', note: 'S3 only.' },
  s3_us_east_1_regional_endpoint: { status: 'no effect', note: 'S3 only.' },
} as const satisfies Record<string, Rule>;

export type ArgumentName = keyof typeof PROVIDER_ARGUMENTS;
type Implemented = { [K in ArgumentName]: (typeof PROVIDER_ARGUMENTS)[K]['status'] extends 'implemented' ? K : never }[ArgumentName];

/** The rule for an argument path (`region`, `assume_role.role_arn`, `endpoints.s3` → `endpoints.*`). */
export function ruleFor(name: string): Rule | undefined {
  const rules: Record<string, Rule> = PROVIDER_ARGUMENTS;
  if (name in rules) return rules[name];
  const dot = name.indexOf('.');
  return dot > 0 ? rules[`${name.slice(0, dot)}.*`] : undefined;
}

/** The README's table, generated from the definition above. */
export function argumentsTable(schema: BlockSchema): string {
  const rows: string[] = ['| argument | status | what eksidp does |', '| --- | --- | --- |'];
  const seen = new Set<string>();
  const add = (name: string) => {
    const key = ruleFor(name) === PROVIDER_ARGUMENTS['endpoints.*'] && !(name in PROVIDER_ARGUMENTS) ? 'endpoints.*' : name;
    if (seen.has(key)) return;
    seen.add(key);
    const rule = ruleFor(name);
    const label = key === 'endpoints.*' ? `\`endpoints.*\` (the other ${otherEndpoints(schema)})` : `\`${key}\``;
    const status = rule ? `${rule.status}${rule.refuse ? `; refused with ${rule.refuse.when}` : ''}` : 'MISSING';
    const why = rule?.refuse ? ` Refused with ${rule.refuse.when}: ${rule.refuse.why}.` : '';
    rows.push(`| ${label} | ${status} | ${rule?.note ?? ''}${why} |`);
  };
  for (const name of schemaArguments(schema)) add(name);
  return rows.join('\n') + '\n';
}

function otherEndpoints(schema: BlockSchema): number {
  const all = Object.keys(schema.block_types?.endpoints?.block.attributes ?? {});
  return all.filter((a) => !(`endpoints.${a}` in PROVIDER_ARGUMENTS)).length;
}

/** Every argument path of the provider schema: attributes, blocks, and blocks' attributes, sorted. */
export function schemaArguments(schema: BlockSchema): string[] {
  const out: string[] = Object.keys(schema.attributes ?? {});
  for (const [name, bt] of Object.entries(schema.block_types ?? {})) {
    out.push(name);
    for (const a of Object.keys(bt.block.attributes ?? {})) out.push(`${name}.${a}`);
  }
  return out.sort();
}

/** Terraform's SDK treats zero values as unset (`GetOk`). */
function isSet(v: Value | undefined): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !isUnknown(v)) return Object.keys(v).length > 0;
  return true;
}

/** The blocks: the names the table gives attributes of (`assume_role.role_arn` → `assume_role`). */
const BLOCKS = new Set(Object.keys(PROVIDER_ARGUMENTS).filter((k) => k.includes('.')).map((k) => k.slice(0, k.indexOf('.'))));

/** Refused arguments (and refused values of implemented ones) that this configuration sets. */
export function refusals(config: ObjectValue): Diagnostic[] {
  const diags: Diagnostic[] = [];
  const check = (name: string, v: Value | undefined, attribute: (string | number)[]) => {
    if (!isSet(v)) return;
    const rule = ruleFor(name);
    if (!rule) {
      diags.push({ severity: 'error', summary: `"${name}" is not an argument eksidp knows`, attribute });
      return;
    }
    if (rule.status === 'refused') diags.push({ severity: 'error', summary: `"${name}" is not supported by eksidp: ${rule.note}`, attribute });
    else if (rule.refuse?.test(v ?? null)) diags.push({ severity: 'error', summary: `"${name}" with ${rule.refuse.when} is not supported by eksidp: ${rule.refuse.why}`, attribute });
  };
  for (const [k, v] of Object.entries(config)) {
    check(k, v, [k]);
    if (!BLOCKS.has(k)) continue;
    blocks(v).forEach((b, i) => {
      for (const [a, x] of Object.entries(b)) check(`${k}.${a}`, x, [k, i, a]);
    });
  }
  return diags;
}

// ---------------------------------------------------------------------------------------------
// Resolution: the provider block (conformed to the schema) and the environment → typed settings.

/** Reads an implemented argument: the type keeps no-effect and refused arguments out of the resolver. */
function arg(config: ObjectValue, name: Implemented & keyof ObjectValue): Value | undefined {
  return config[name];
}
function blockArg(block: ObjectValue, name: string): Value | undefined {
  return block[name];
}

function strs(v: Value | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}
function bool(v: Value | undefined): boolean {
  return v === true || v === 'true';
}

/**
 * A path as Terraform expands it (aws-sdk-go-base's expand.FilePath): `$VAR` and `${VAR}` from the
 * environment (os.ExpandEnv), then `~` and `~/x` (go-homedir).
 */
export function expandPath(p: string, env: NodeJS.ProcessEnv): string {
  const e = p.replace(/\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (_m, braced: string | undefined, bare: string | undefined) => env[braced ?? bare ?? ''] ?? '');
  const home = () => env.HOME || os.homedir();
  if (e === '~') return home();
  if (e.startsWith('~/')) return path.join(home(), e.slice(2));
  return e;
}

export type AssumeRoleSpec = {
  roleArn: string;
  sessionName?: string;
  externalId?: string;
  durationSeconds?: number;
  policy?: string;
  policyArns?: string[];
  tags?: Record<string, string>;
  transitiveTagKeys?: string[];
  sourceIdentity?: string;
};

export type WebIdentitySpec = {
  roleArn: string;
  sessionName?: string;
  /** Exactly one of the token and the file (read again at every refresh). */
  token?: string;
  tokenFile?: string;
  durationSeconds?: number;
  policy?: string;
  policyArns?: string[];
};

/**
 * The base credentials, in the provider's order (aws-sdk-go-base, then aws-sdk-go-v2's chain): the
 * block's static keys; assume_role_with_web_identity; the block's `profile`; the environment's keys;
 * AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN; the profile `AWS_PROFILE`, `AWS_DEFAULT_PROFILE` or
 * `default` names, when it exists; else container credentials or the instance metadata service.
 */
export type BaseCredentials =
  | { kind: 'static'; from: 'provider block' | 'environment'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: 'webIdentity'; spec: WebIdentitySpec }
  | { kind: 'profile'; profile: SharedProfile; sections: IniSections }
  | { kind: 'remote' };

export type CredentialSpec = {
  base: BaseCredentials;
  /** Then each role in turn. */
  assumeRoles: AssumeRoleSpec[];
  /** Whether the chain may ask the instance metadata service (skip_metadata_api_check, else AWS_EC2_METADATA_DISABLED). */
  metadataDisabled: boolean;
};

export type AccountGuard = {
  allowed: string[];
  forbidden: string[];
  /** GetCallerIdentity is called unless skip_credentials_validation and skip_requesting_account_id are both true. */
  lookup: boolean;
};

export type TagConfig = {
  /** default_tags (block over TF_AWS_DEFAULT_TAGS_*); null when there are none. */
  defaults: Record<string, string> | null;
  ignoreKeys: string[];
  ignorePrefixes: string[];
};

export const NO_TAG_CONFIG: TagConfig = Object.freeze({ defaults: null, ignoreKeys: [], ignorePrefixes: [] }) as TagConfig;

export type ResolvedSettings = {
  region: string;
  /** EKS custom endpoint (`endpoints.eks`, AWS_ENDPOINT_URL_EKS, AWS_ENDPOINT_URL). */
  endpoint?: string;
  sts: { region: string; endpoint?: string };
  /** The SSO portal's custom endpoint (`endpoints.sso`, AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL), for SSO profiles. */
  ssoEndpoint?: string;
  useFipsEndpoint: boolean;
  useDualstackEndpoint: boolean;
  credentials: CredentialSpec;
  guard: AccountGuard;
  tags: TagConfig;
  /** skip_metadata_api_check: true disables IMDS, false enables it, undefined leaves the environment alone. */
  metadataApiDisabled?: boolean;
};

/** The EKS endpoint: `endpoints.eks`, then AWS_ENDPOINT_URL_EKS / AWS_ENDPOINT_URL. */
export function eksEndpointOf(config: ObjectValue, env: NodeJS.ProcessEnv): string | undefined {
  return stringValue(firstBlock(arg(config, 'endpoints'))?.eks) ?? stringValue(env.AWS_ENDPOINT_URL_EKS) ?? stringValue(env.AWS_ENDPOINT_URL);
}

const ARN = /^arn:[\w-]+:[\w-]*:[\w-]*:[\w-]*:.+$/;

function durationSeconds(v: Value | undefined, at: (string | number)[], diags: Diagnostic[]): number | undefined {
  const text = stringValue(v);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 15 * 60_000 || ms > 12 * 3_600_000) {
    diags.push({ severity: 'error', summary: `"${at.filter((x) => typeof x === 'string').join('.')}": duration must be between 15 minutes and 12 hours, with units ns, us, ms, s, m, h (got "${text}")`, attribute: at });
    return undefined;
  }
  return Math.floor(ms / 1000);
}

function policyOf(v: Value | undefined, at: (string | number)[], diags: Diagnostic[]): string | undefined {
  const text = stringValue(v);
  if (text === undefined) return undefined;
  try {
    JSON.parse(text);
  } catch {
    diags.push({ severity: 'error', summary: `"${at.filter((x) => typeof x === 'string').join('.')}" must be a JSON policy document`, attribute: at });
  }
  return text;
}

function arnOf(v: Value | undefined, name: string, at: (string | number)[], diags: Diagnostic[]): string | undefined {
  const text = stringValue(v);
  if (text !== undefined && !ARN.test(text)) diags.push({ severity: 'error', summary: `"${name}" is not a valid ARN: "${text}"`, attribute: at });
  return text;
}

/**
 * Reads the `aws` provider block (conformed to the schema: every attribute present, blocks as lists)
 * and the environment as hashicorp/aws 5.100 does. Refused arguments and invalid values are
 * diagnostics. The shared config and credentials files are read here (shared-config.ts), as the
 * provider reads them when it is configured; no API call is made.
 */
export function resolveProviderSettings(config: ObjectValue, env: NodeJS.ProcessEnv): { settings?: ResolvedSettings; diagnostics: Diagnostic[] } {
  const diags = refusals(config);
  const endpoint = eksEndpointOf(config, env);

  // The shared files are read whatever the credentials, as the provider reads them: the selected
  // profile may give the region, and a broken profile fails the configuration (shared-config.ts).
  const blockProfile = stringValue(arg(config, 'profile'));
  const profileName = blockProfile ?? stringValue(env.AWS_PROFILE) ?? stringValue(env.AWS_DEFAULT_PROFILE) ?? 'default';
  const home = env.HOME || os.homedir();
  const listed = (name: 'shared_config_files' | 'shared_credentials_files') => strs(arg(config, name)).map((f) => expandPath(f, env));
  const files = {
    config: listed('shared_config_files').length ? listed('shared_config_files') : [stringValue(env.AWS_CONFIG_FILE) ?? path.join(home, '.aws', 'config')],
    credentials: listed('shared_credentials_files').length ? listed('shared_credentials_files') : [stringValue(env.AWS_SHARED_CREDENTIALS_FILE) ?? path.join(home, '.aws', 'credentials')],
  };
  let sections: IniSections | undefined;
  let profile: SharedProfile | undefined;
  try {
    sections = loadSharedConfig(files);
    profile = readProfile(sections, profileName);
  } catch (e) {
    if (!(e instanceof SharedConfigError)) throw e;
    // A profile named by the block or AWS_PROFILE must exist; `default` and AWS_DEFAULT_PROFILE need not.
    const required = blockProfile !== undefined || stringValue(env.AWS_PROFILE) !== undefined;
    if (!(e instanceof ProfileNotFoundError) || required) diags.push({ severity: 'error', summary: e.message, ...(blockProfile ? { attribute: ['profile'] } : {}) });
  }

  // No default, a custom endpoint notwithstanding: the provider refuses an empty region ("invalid AWS
  // Region: ") before any call (test/provider-profiles-terraform.test.ts).
  const region = stringValue(arg(config, 'region')) ?? stringValue(env.AWS_REGION) ?? stringValue(env.AWS_DEFAULT_REGION) ?? profile?.region;
  if (!region) diags.push({ severity: 'error', summary: `No AWS region: set region in the aws provider block, AWS_REGION or AWS_DEFAULT_REGION, or region in the profile ${profileName} of the shared config files` });
  // The provider's check (aws-sdk-go-base ValidateRegion), on the region from wherever it came.
  else if (arg(config, 'skip_region_validation') !== true && !PROVIDER_REGIONS.has(region)) {
    const from = stringValue(arg(config, 'region')) !== undefined ? '' : ` (from ${stringValue(env.AWS_REGION) !== undefined ? 'AWS_REGION' : stringValue(env.AWS_DEFAULT_REGION) !== undefined ? 'AWS_DEFAULT_REGION' : `the profile ${profileName}`})`;
    diags.push({
      severity: 'error',
      summary: `invalid AWS Region: ${region}${from}; it is not a Region hashicorp/aws 5.100 knows (set skip_region_validation = true for a Region newer than the provider)`,
      ...(from === '' ? { attribute: ['region'] } : {}),
    });
  }

  const accessKey = stringValue(arg(config, 'access_key'));
  const secretKey = stringValue(arg(config, 'secret_key'));
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    diags.push({ severity: 'error', summary: 'The aws provider block sets only one of access_key and secret_key: set both or neither' });
  }
  const envKey = stringValue(env.AWS_ACCESS_KEY_ID) ?? stringValue(env.AWS_ACCESS_KEY);
  const envSecret = stringValue(env.AWS_SECRET_ACCESS_KEY) ?? stringValue(env.AWS_SECRET_KEY);
  if (blockProfile && envKey && envSecret) {
    diags.push({
      severity: 'warning',
      summary: 'Configuration conflict detected: a profile was specified along with the environment variables "AWS_ACCESS_KEY_ID" and "AWS_SECRET_ACCESS_KEY". The profile is used instead of the environment variable credentials.',
      attribute: ['profile'],
    });
  }
  const rawMetadata = arg(config, 'skip_metadata_api_check');
  const metadata = typeof rawMetadata === 'boolean' ? String(rawMetadata) : stringValue(rawMetadata);
  const credentials: CredentialSpec = {
    base: { kind: 'remote' },
    assumeRoles: [],
    // The process environment too: skip_metadata_api_check of another configuration sets it there, as the provider does.
    metadataDisabled: metadata !== undefined ? metadata === 'true' : (env.AWS_EC2_METADATA_DISABLED ?? process.env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true',
  };

  const roles = blocks(arg(config, 'assume_role'));
  roles.forEach((b, i) => {
    const at = ['assume_role', i];
    const roleArn = arnOf(blockArg(b, 'role_arn'), 'assume_role.role_arn', [...at, 'role_arn'], diags);
    if (!roleArn) {
      // One empty block is allowed, as in the provider ("for historical reasons"); in a chain every block needs a role.
      if (roles.length > 1 || Object.values(b).some(isSet)) diags.push({ severity: 'error', summary: '"assume_role.role_arn" is required in every assume_role block', attribute: [...at, 'role_arn'] });
      return;
    }
    const spec: AssumeRoleSpec = { roleArn };
    const sessionName = stringValue(blockArg(b, 'session_name'));
    if (sessionName) spec.sessionName = sessionName;
    const externalId = stringValue(blockArg(b, 'external_id'));
    if (externalId) spec.externalId = externalId;
    const seconds = durationSeconds(blockArg(b, 'duration'), [...at, 'duration'], diags);
    if (seconds !== undefined) spec.durationSeconds = seconds;
    const policy = policyOf(blockArg(b, 'policy'), [...at, 'policy'], diags);
    if (policy) spec.policy = policy;
    const policyArns = strs(blockArg(b, 'policy_arns'));
    if (policyArns.length) spec.policyArns = policyArns;
    const tags = tagsOf(blockArg(b, 'tags'));
    if (Object.keys(tags).length) spec.tags = tags;
    const transitive = strs(blockArg(b, 'transitive_tag_keys'));
    if (transitive.length) spec.transitiveTagKeys = transitive;
    const sourceIdentity = stringValue(blockArg(b, 'source_identity'));
    if (sourceIdentity) spec.sourceIdentity = sourceIdentity;
    credentials.assumeRoles.push(spec);
  });

  const web = firstBlock(arg(config, 'assume_role_with_web_identity'));
  let webSpec: WebIdentitySpec | undefined;
  if (web) {
    const at = ['assume_role_with_web_identity', 0];
    const roleArn = arnOf(blockArg(web, 'role_arn'), 'assume_role_with_web_identity.role_arn', [...at, 'role_arn'], diags) ?? stringValue(env.AWS_ROLE_ARN);
    const token = stringValue(blockArg(web, 'web_identity_token'));
    const tokenFileRaw = stringValue(blockArg(web, 'web_identity_token_file'));
    const tokenFile = tokenFileRaw ? expandPath(tokenFileRaw, env) : token ? undefined : stringValue(env.AWS_WEB_IDENTITY_TOKEN_FILE);
    if (!roleArn) diags.push({ severity: 'error', summary: '"assume_role_with_web_identity.role_arn" is not set (nor AWS_ROLE_ARN)', attribute: [...at, 'role_arn'] });
    if (token && tokenFileRaw) diags.push({ severity: 'error', summary: 'assume_role_with_web_identity: set only one of "web_identity_token" and "web_identity_token_file"', attribute: at });
    if (!token && !tokenFile) diags.push({ severity: 'error', summary: 'assume_role_with_web_identity: set one of "web_identity_token" and "web_identity_token_file" (or AWS_WEB_IDENTITY_TOKEN_FILE)', attribute: at });
    if (roleArn) {
      const spec: WebIdentitySpec = { roleArn, ...(token ? { token } : { tokenFile }) };
      const sessionName = stringValue(blockArg(web, 'session_name')) ?? stringValue(env.AWS_ROLE_SESSION_NAME);
      if (sessionName) spec.sessionName = sessionName;
      const seconds = durationSeconds(blockArg(web, 'duration'), [...at, 'duration'], diags);
      if (seconds !== undefined) spec.durationSeconds = seconds;
      const policy = policyOf(blockArg(web, 'policy'), [...at, 'policy'], diags);
      if (policy) spec.policy = policy;
      const policyArns = strs(blockArg(web, 'policy_arns'));
      if (policyArns.length) spec.policyArns = policyArns;
      webSpec = spec;
    }
  }

  const fromProfile = (p: SharedProfile | undefined): BaseCredentials => {
    if (!p || !sections) return { kind: 'remote' };
    const problem = profileProblem(p);
    if (problem) diags.push({ severity: 'error', summary: problem, ...(blockProfile ? { attribute: ['profile'] } : {}) });
    return { kind: 'profile', profile: p, sections };
  };
  if (accessKey && secretKey) {
    const token = stringValue(arg(config, 'token'));
    credentials.base = { kind: 'static', from: 'provider block', accessKeyId: accessKey, secretAccessKey: secretKey, ...(token ? { sessionToken: token } : {}) };
  } else if (web) {
    if (webSpec) credentials.base = { kind: 'webIdentity', spec: webSpec };
  } else if (blockProfile) {
    credentials.base = fromProfile(profile);
  } else if (envKey && envSecret) {
    credentials.base = { kind: 'static', from: 'environment', accessKeyId: envKey, secretAccessKey: envSecret, ...(stringValue(env.AWS_SESSION_TOKEN) ? { sessionToken: stringValue(env.AWS_SESSION_TOKEN) } : {}) };
  } else if (stringValue(env.AWS_WEB_IDENTITY_TOKEN_FILE)) {
    const roleArn = stringValue(env.AWS_ROLE_ARN);
    if (!roleArn) diags.push({ severity: 'error', summary: 'AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: role ARN is not set' });
    else {
      const sessionName = stringValue(env.AWS_ROLE_SESSION_NAME);
      credentials.base = { kind: 'webIdentity', spec: { roleArn, tokenFile: stringValue(env.AWS_WEB_IDENTITY_TOKEN_FILE)!, ...(sessionName ? { sessionName } : {}) } };
    }
  } else {
    credentials.base = fromProfile(profile);
  }

  const endpoints = firstBlock(arg(config, 'endpoints'));
  const stsEndpoint = stringValue(endpoints?.sts) ?? stringValue(env.AWS_ENDPOINT_URL_STS) ?? stringValue(env.AWS_ENDPOINT_URL);
  const ssoEndpoint = stringValue(endpoints?.sso) ?? stringValue(env.AWS_ENDPOINT_URL_SSO) ?? stringValue(env.AWS_ENDPOINT_URL);
  const guard: AccountGuard = {
    allowed: strs(arg(config, 'allowed_account_ids')),
    forbidden: strs(arg(config, 'forbidden_account_ids')),
    lookup: !(bool(arg(config, 'skip_credentials_validation')) && bool(arg(config, 'skip_requesting_account_id'))),
  };
  if (guard.allowed.length && guard.forbidden.length) {
    diags.push({ severity: 'error', summary: '"allowed_account_ids" and "forbidden_account_ids" conflict: set only one', attribute: ['allowed_account_ids'] });
  }
  if (metadata !== undefined && metadata !== 'true' && metadata !== 'false') {
    diags.push({ severity: 'error', summary: `"skip_metadata_api_check" must be "true" or "false", got "${metadata}"`, attribute: ['skip_metadata_api_check'] });
  }
  if (diags.some((d) => d.severity === 'error') || !region) return { diagnostics: diags };
  return {
    diagnostics: diags,
    settings: {
      region,
      ...(endpoint ? { endpoint } : {}),
      sts: { region: stringValue(arg(config, 'sts_region')) ?? region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) },
      ...(ssoEndpoint ? { ssoEndpoint } : {}),
      useFipsEndpoint: bool(arg(config, 'use_fips_endpoint')),
      useDualstackEndpoint: bool(arg(config, 'use_dualstack_endpoint')),
      credentials,
      guard,
      tags: tagConfig(config, env),
      ...(metadata !== undefined ? { metadataApiDisabled: metadata === 'true' } : {}),
    },
  };
}

const DEFAULT_TAGS_ENV = 'TF_AWS_DEFAULT_TAGS_';

/** default_tags and ignore_tags with their environment variables, as the provider merges them. */
export function tagConfig(config: ObjectValue, env: NodeJS.ProcessEnv): TagConfig {
  const fromEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith(DEFAULT_TAGS_ENV) && k.length > DEFAULT_TAGS_ENV.length && v !== undefined) fromEnv[k.slice(DEFAULT_TAGS_ENV.length)] = v;
  const block = firstBlock(arg(config, 'default_tags'));
  const defaults = { ...fromEnv, ...tagsOf(block ? blockArg(block, 'tags') : undefined) };
  const ignore = firstBlock(arg(config, 'ignore_tags'));
  const list = (name: string) => (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const ignoreKeys = [...new Set([...strs(ignore ? blockArg(ignore, 'keys') : undefined), ...list('TF_AWS_IGNORE_TAGS_KEYS')])];
  const ignorePrefixes = [...new Set([...strs(ignore ? blockArg(ignore, 'key_prefixes') : undefined), ...list('TF_AWS_IGNORE_TAGS_KEY_PREFIXES')])];
  return { defaults: Object.keys(defaults).length ? defaults : null, ignoreKeys, ignorePrefixes };
}
