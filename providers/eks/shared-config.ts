import fs from 'node:fs';

/**
 * The shared config and credentials files as hashicorp/aws 5.100 reads them, through aws-sdk-go-v2's
 * config package (v1.29): its line-based ini parser, several files of each kind merged in order,
 * then the credentials files merged over the config files, then the profile's section read with its
 * `source_profile` chain and `sso-session`. The AWS SDK for JavaScript reads one file of each kind and
 * merges differently, so eksidp reads the files itself, here, and hands the SDK's credential providers
 * what this decides (credentials.ts). Pure apart from `loadSharedConfig`, which reads the files.
 *
 * Merging, as `mergeSections` does it: a section seen for the first time is taken whole; a section
 * already seen takes from the later file only the access key pair (with its session token) and the
 * keys in MERGED_KEYS, each replacing the earlier value; the later file's other keys are dropped. In
 * the config files, `[profile x]` becomes `x` (and wins over a plain `[default]`), `[sso-session x]`
 * and `[services x]` stay, other sections are dropped; in the credentials files `[profile x]` sections
 * are dropped. Files that cannot be read are skipped, as in the Go SDK.
 */

export type IniSection = { values: Record<string, string>; errors: string[] };
export type IniSections = Map<string, IniSection>;

/** Keys a later file's section merges into an earlier one (aws-sdk-go-v2 config/shared_config.go). */
const MERGED_KEYS = [
  'role_arn', 'source_profile', 'credential_source', 'external_id', 'mfa_serial', 'role_session_name', 'region',
  'endpoint_discovery_enabled', 'credential_process', 'web_identity_token_file', 's3_use_arn_region',
  's3_disable_multiregion_access_points', 'ec2_metadata_service_endpoint_mode', 'ec2_metadata_service_endpoint',
  'ec2_metadata_v1_disabled', 'use_dualstack_endpoint', 'use_fips_endpoint', 'defaults_mode', 'retry_mode', 'ca_bundle',
  'duration_seconds', 'max_attempts', 'sso_session', 'sso_account_id', 'sso_region', 'sso_role_name', 'sso_start_url',
] as const;

const KEY_ID = 'aws_access_key_id';
const SECRET = 'aws_secret_access_key';
const TOKEN = 'aws_session_token';

export class SharedConfigError extends Error {}
export class ProfileNotFoundError extends SharedConfigError {
  constructor(readonly profile: string) {
    super(`failed to get shared config profile, ${profile}`);
  }
}

/** Go's internal/ini, line by line: comments, `[type name]`, `key = value` (or `key: value`), indented sub-keys and continuations. */
export function parseIni(text: string, file: string): IniSections {
  const sections: IniSections = new Map();
  let current: IniSection | undefined;
  let currentKey = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const trimmedLeft = line.replace(/^[ \t]+/, '');
    if (line.trim() === '' || trimmedLeft.startsWith('#') || trimmedLeft.startsWith(';')) continue;
    const uncommented = trimComment(line).replace(/[ \t]+$/, '');
    if (uncommented.startsWith('[') && uncommented.endsWith(']')) {
      const inner = uncommented.slice(1, -1).trim();
      const m = /^(\S+)[ \t]+(\S.*)$/.exec(inner);
      const name = m ? `${m[1]} ${m[2]}` : inner;
      current = sections.get(name) ?? { values: {}, errors: [] };
      sections.set(name, current);
      currentKey = '';
      continue;
    }
    const indented = line[0] === ' ' || line[0] === '\t';
    if (!indented) {
      const kv = splitProperty(uncommented);
      if (!kv) throw new SharedConfigError(`failed to load shared config file, ${file}, unrecognized token '${line}'`);
      // Properties before the first section are ignored, as in the Go SDK.
      if (!current) continue;
      currentKey = kv[0].toLowerCase();
      current.values[currentKey] = legacyValue(kv[1]);
      continue;
    }
    // Indented: a sub-property (services sections; eksidp reads none) or a continuation of the value above.
    if (!current || currentKey === '' || splitProperty(trimmedLeft)) continue;
    const value = current.values[currentKey];
    if (value !== undefined && value !== '') current.values[currentKey] = `${value}\n${trimmedLeft}`;
  }
  return sections;
}

function trimComment(s: string): string {
  const hash = s.indexOf('#');
  const cut = hash < 0 ? s : s.slice(0, hash);
  const semi = cut.indexOf(';');
  return semi < 0 ? cut : cut.slice(0, semi);
}

function splitProperty(s: string): [string, string] | undefined {
  const eq = s.indexOf('=');
  const colon = s.indexOf(':');
  const at = eq === -1 || (colon !== -1 && colon < eq) ? colon : eq;
  if (at < 0) return undefined;
  return [s.slice(0, at).trim(), s.slice(at + 1).trim()];
}

/** Surrounding quotes removed, `\"`, `\'` and `\n` expanded (the Go parser's legacy conversions). */
function legacyValue(s: string): string {
  const quoted = s.length > 2 && ((s[0] === '"' && s.endsWith('"')) || (s[0] === '\'' && s.endsWith('\'')));
  return (quoted ? s.slice(1, -1) : s).replaceAll('\\"', '"').replaceAll('\\\'', '\'').replaceAll('\\n', '\n');
}

/** Merges `src` into `dst` as the Go SDK's mergeSections does. */
export function mergeSections(dst: IniSections, src: IniSections): void {
  for (const [name, s] of src) {
    const errors = new Set(s.errors);
    if ((KEY_ID in s.values) !== (SECRET in s.values)) errors.add(`partial credentials found for profile ${name}`);
    const d = dst.get(name);
    if (!d) {
      dst.set(name, { values: { ...s.values }, errors: [...errors] });
      continue;
    }
    d.errors = [...errors];
    if (KEY_ID in s.values && SECRET in s.values) {
      d.values[KEY_ID] = s.values[KEY_ID]!;
      d.values[SECRET] = s.values[SECRET]!;
      if (TOKEN in s.values) d.values[TOKEN] = s.values[TOKEN]!;
    }
    for (const k of MERGED_KEYS) if (k in s.values) d.values[k] = s.values[k]!;
  }
}

const sorted = (m: IniSections) => [...m.keys()].sort();

function processConfigSections(sections: IniSections): void {
  const skip = new Set<string>();
  for (const name of sorted(sections)) {
    if (skip.has(name)) continue;
    if (name.startsWith('profile ')) {
      const section = sections.get(name)!;
      sections.delete(name);
      const renamed = name.slice('profile '.length);
      sections.set(renamed, section);
      skip.add(renamed);
    } else if (!name.startsWith('sso-session ') && !name.startsWith('services') && name.toLowerCase() !== 'default') {
      sections.delete(name);
    }
  }
}

function processCredentialsSections(sections: IniSections): void {
  for (const name of sorted(sections)) if (name.startsWith('profile ')) sections.delete(name);
}

export type SharedFiles = { config: string[]; credentials: string[] };

/** Reads and merges the files (an unreadable file is skipped); throws SharedConfigError on a malformed one. */
export function loadSharedConfig(files: SharedFiles, read: (file: string) => string | undefined = readIfPresent): IniSections {
  const load = (paths: string[]) => {
    const merged: IniSections = new Map();
    for (const p of paths) {
      const text = read(p);
      if (text !== undefined) mergeSections(merged, parseIni(text, p));
    }
    return merged;
  };
  const config = load(files.config);
  processConfigSections(config);
  const credentials = load(files.credentials);
  processCredentialsSections(credentials);
  mergeSections(config, credentials);
  return config;
}

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A profile as the Go SDK's SharedConfig holds it once read: what eksidp needs for credentials and the region. */
export type SharedProfile = {
  name: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  credentialSource?: string;
  credentialProcess?: string;
  webIdentityTokenFile?: string;
  ssoSessionName?: string;
  ssoSession?: { name: string; region?: string; startUrl?: string };
  ssoRegion?: string;
  ssoStartUrl?: string;
  ssoAccountId?: string;
  ssoRoleName?: string;
  roleArn?: string;
  externalId?: string;
  mfaSerial?: string;
  roleSessionName?: string;
  durationSeconds?: number;
  sourceProfile?: string;
  /** The profile `source_profile` names, read the same way: it supplies the credentials the role is assumed with. */
  source?: SharedProfile;
};

function fromSection(name: string, section: IniSection): SharedProfile {
  if (section.errors.length) throw new SharedConfigError(`error fetching config from profile, ${name}: ${section.errors.join('; ')}`);
  const v = section.values;
  const p: SharedProfile = { name };
  const set = <K extends keyof SharedProfile>(k: K, key: string) => {
    if (key in v) (p as Record<string, unknown>)[k] = v[key];
  };
  set('roleArn', 'role_arn');
  set('externalId', 'external_id');
  set('mfaSerial', 'mfa_serial');
  set('roleSessionName', 'role_session_name');
  set('sourceProfile', 'source_profile');
  set('credentialSource', 'credential_source');
  set('region', 'region');
  set('ssoSessionName', 'sso_session');
  set('ssoRegion', 'sso_region');
  set('ssoStartUrl', 'sso_start_url');
  set('ssoAccountId', 'sso_account_id');
  set('ssoRoleName', 'sso_role_name');
  set('credentialProcess', 'credential_process');
  set('webIdentityTokenFile', 'web_identity_token_file');
  // A value that is not a whole number reads as 0, as in the Go SDK (which then keeps its default duration).
  if ('duration_seconds' in v) p.durationSeconds = /^\d+$/.test(v.duration_seconds!) ? Number(v.duration_seconds) : 0;
  if (v[KEY_ID] && v[SECRET]) p.credentials = { accessKeyId: v[KEY_ID], secretAccessKey: v[SECRET], ...(v[TOKEN] ? { sessionToken: v[TOKEN] } : {}) };
  return p;
}

const has = (s: string | undefined) => s !== undefined && s !== '';
export const hasSso = (p: SharedProfile) => has(p.ssoSessionName) || has(p.ssoRegion) || has(p.ssoAccountId) || has(p.ssoStartUrl) || has(p.ssoRoleName);
const hasCredentials = (p: SharedProfile) =>
  has(p.sourceProfile) || has(p.credentialSource) || has(p.credentialProcess) || has(p.webIdentityTokenFile) || hasSso(p) || p.credentials !== undefined;

/** The profile `name`, with its source_profile chain, as the Go SDK's setFromIniSections reads it. */
export function readProfile(sections: IniSections, name: string, visited = new Set<string>()): SharedProfile {
  const section = sections.get(name);
  if (!section) throw new ProfileNotFoundError(name);
  const p = fromSection(name, section);
  if (visited.has(name)) {
    // A profile met again in its own chain only supplies credentials.
    for (const k of ['roleArn', 'externalId', 'mfaSerial', 'roleSessionName', 'sourceProfile'] as const) delete p[k];
  } else {
    const type = has(p.sourceProfile) ? 'source_profile' : has(p.credentialSource) ? 'credential_source' : has(p.webIdentityTokenFile) ? 'web_identity_token_file' : undefined;
    if (type && !has(p.roleArn)) throw new SharedConfigError(`credential type ${type} requires role_arn, profile ${name}`);
  }
  if (visited.size > 0 && p.credentials) return p;
  visited.add(name);
  if ([p.sourceProfile, p.credentialSource, p.credentialProcess, p.webIdentityTokenFile].filter(has).length > 1) {
    throw new SharedConfigError(`only one credential type may be specified per profile: source profile, credential source, credential process, web identity token (profile ${name})`);
  }
  if (has(p.sourceProfile)) {
    // The source profile supplies the credentials: this profile's own are ignored.
    for (const k of ['credentialSource', 'credentialProcess', 'webIdentityTokenFile', 'credentials', 'ssoAccountId', 'ssoRegion', 'ssoRoleName', 'ssoStartUrl'] as const) delete p[k];
    let source: SharedProfile;
    try {
      source = readProfile(sections, p.sourceProfile!, visited);
    } catch (e) {
      if (e instanceof ProfileNotFoundError) throw new SharedConfigError(`failed to load assume role ${p.roleArn}, of profile ${p.sourceProfile}, ${e.message}`);
      throw e;
    }
    if (!hasCredentials(source)) throw new SharedConfigError(`failed to load assume role ${p.roleArn}, of profile ${p.sourceProfile}: it has no credentials`);
    p.source = source;
  }
  if (has(p.ssoSessionName)) {
    const s = sections.get(`sso-session ${p.ssoSessionName!.trim()}`);
    if (!s) throw new SharedConfigError(`failed to find SSO session section, ${p.ssoSessionName}`);
    p.ssoSession = { name: p.ssoSessionName!, ...(s.values.sso_region ? { region: s.values.sso_region } : {}), ...(s.values.sso_start_url ? { startUrl: s.values.sso_start_url } : {}) };
  }
  return p;
}

/** What resolving credentials from this profile would refuse (the Go SDK's checks when it builds the chain), or undefined. */
export function profileProblem(p: SharedProfile): string | undefined {
  if (p.source) {
    const inner = profileProblem(p.source);
    if (inner) return inner;
  } else if (!p.credentials && has(p.credentialSource)) {
    if (!['Ec2InstanceMetadata', 'Environment', 'EcsContainer'].includes(p.credentialSource!)) return 'credential_source values must be EcsContainer, Ec2InstanceMetadata, or Environment';
  } else if (!p.credentials && !has(p.webIdentityTokenFile) && hasSso(p)) {
    const missing: string[] = [];
    if (has(p.ssoSessionName)) {
      if (!p.ssoSession?.region) missing.push('sso_region');
      if (!p.ssoSession?.startUrl) missing.push('sso_start_url');
      if (missing.length) return `profile "${p.name}" is configured to use SSO but is missing required configuration: ${missing.join(', ')}`;
      if (has(p.ssoRegion) && p.ssoRegion !== p.ssoSession!.region) return `sso_region in profile "${p.name}" must match sso_region in sso-session`;
      if (has(p.ssoStartUrl) && p.ssoStartUrl !== p.ssoSession!.startUrl) return `sso_start_url in profile "${p.name}" must match sso_start_url in sso-session`;
    } else {
      for (const [k, v] of [['sso_region', p.ssoRegion], ['sso_start_url', p.ssoStartUrl], ['sso_account_id', p.ssoAccountId], ['sso_role_name', p.ssoRoleName]] as const) if (!has(v)) missing.push(k);
      if (missing.length) return `profile "${p.name}" is configured to use SSO but is missing required configuration: ${missing.join(', ')}`;
    }
  }
  if (has(p.roleArn) && !has(p.webIdentityTokenFile) && has(p.mfaSerial)) return `profile ${p.name}: assume role with MFA enabled, but eksidp (like the provider) has no way to ask for a token code`;
  return undefined;
}

/** The ini text of a few sections, for the SDK's in-memory files (credentials.ts): `[name]` and `key = value` lines. */
export function renderIni(sections: [string, Record<string, string | undefined>][]): string {
  let out = '';
  for (const [name, values] of sections) {
    out += `[${name}]\n`;
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      if (/[\r\n]/.test(v)) throw new SharedConfigError(`${k} in section [${name}] spans several lines, which the AWS SDK for JavaScript cannot read`);
      out += `${k} = ${v}\n`;
    }
  }
  return out;
}
