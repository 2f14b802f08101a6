import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { resolveProviderSettings } from '../providers/eks/settings';
import { loadSharedConfig, parseIni, profileProblem, readProfile, renderIni, type IniSections } from '../providers/eks/shared-config';

/**
 * The shared config and credentials files as hashicorp/aws 5.100 reads them (aws-sdk-go-v2's config
 * package): its ini parser, several files merged, profiles with their source_profile chains, and the
 * region a profile gives. test/provider-profiles-terraform.test.ts holds the same cases to Terraform.
 */

const values = (s: IniSections, name: string) => s.get(name)?.values;

/** Files in memory, by name: loadSharedConfig's reader. */
function load(files: Record<string, string>, config: string[], credentials: string[]): IniSections {
  return loadSharedConfig({ config, credentials }, (f) => files[f]);
}

test('the ini parser reads lines as the Go SDK does: comments, quotes, `:` separators, lower-case keys, continuations', (t) => {
  const s = parseIni([
    'global = ignored before any section',
    '# a comment',
    '  ; another',
    '[profile   spaced]   # trailing comment',
    'Region = eu-west-2 ; inline comments are cut',
    'role_arn: arn:aws:iam::1:role/a',
    'external_id = "quoted"',
    'credential_process = run --flag',
    '  continued',
    's3 =',
    '  addressing_style = path',
    '[default]',
    'region=us-east-1',
    '[default]',
    'output = json',
  ].join('\r\n'), 'f');
  t.deepEqual([...s.keys()], ['profile spaced', 'default']);
  t.deepEqual(values(s, 'profile spaced'), { region: 'eu-west-2', role_arn: 'arn:aws:iam::1:role/a', external_id: 'quoted', credential_process: 'run --flag\ncontinued', s3: '' });
  t.deepEqual(values(s, 'default'), { region: 'us-east-1', output: 'json' }, 'a section repeated in a file is one section');
  t.throws(() => parseIni('[default]\nnot a property\n', '/x/config'), { message: "failed to load shared config file, /x/config, unrecognized token 'not a property'" });
});

test('several config files: a later file wins for the keys the Go SDK merges, the section itself is not replaced', (t) => {
  const files = {
    a: '[profile ci]\nregion = us-east-1\noutput = json\nrole_arn = arn:aws:iam::1:role/first\n[profile only-a]\nregion = ap-south-1\n[default]\nregion = eu-north-1\n',
    b: '[profile ci]\nregion = eu-west-2\nsome_other_key = dropped\n[profile default]\nregion = sa-east-1\n[orphan]\nregion = x\n[sso-session corp]\nsso_region = us-east-2\n',
  };
  const s = load(files, ['a', 'b'], []);
  t.deepEqual(values(s, 'ci'), { region: 'eu-west-2', output: 'json', role_arn: 'arn:aws:iam::1:role/first' }, 'b overrides region; its unlisted key is dropped; a keeps the rest');
  t.deepEqual(values(s, 'only-a'), { region: 'ap-south-1' });
  t.deepEqual(values(s, 'default'), { region: 'sa-east-1' }, '[profile default] wins over [default] whole');
  t.false(s.has('orphan'), 'a config section without the profile prefix is dropped');
  t.deepEqual(values(s, 'sso-session corp'), { sso_region: 'us-east-2' });
  // Order matters: the other way round, a's values win.
  t.is(values(load(files, ['b', 'a'], []), 'ci')?.region, 'us-east-1');
});

test('credentials files merge among themselves, then over the config files; keys go as a pair with their token', (t) => {
  const files = {
    config: '[profile ci]\nregion = us-west-2\naws_access_key_id = CONFIGKEY\naws_secret_access_key = configsecret\n',
    c1: '[ci]\naws_access_key_id = KEY1\naws_secret_access_key = secret1\naws_session_token = token1\n[profile ignored]\naws_access_key_id = X\naws_secret_access_key = Y\n',
    c2: '[ci]\naws_access_key_id = KEY2\naws_secret_access_key = secret2\nregion = eu-central-1\n[half]\naws_access_key_id = ONLYKEY\n',
  };
  const s = load(files, ['config'], ['c1', 'c2']);
  t.deepEqual(values(s, 'ci'), { region: 'eu-central-1', aws_access_key_id: 'KEY2', aws_secret_access_key: 'secret2', aws_session_token: 'token1' },
    'c2\'s pair replaces c1\'s, c1\'s token stays (c2 has none); a credentials file\'s region wins over the config file\'s');
  t.false(s.has('profile ignored'), 'a [profile x] section in a credentials file is dropped');
  t.throws(() => readProfile(s, 'half'), { message: /partial credentials found for profile half/ });
  const p = readProfile(s, 'ci');
  t.like(p, { region: 'eu-central-1', credentials: { accessKeyId: 'KEY2', secretAccessKey: 'secret2', sessionToken: 'token1' } });
  // An unreadable file is skipped, as in the Go SDK.
  t.is(values(load(files, ['missing', 'config'], ['c1']), 'ci')?.aws_access_key_id, 'KEY1');
});

test('profiles: source_profile chains across files, a source with keys ends the chain, and the Go SDK\'s configuration errors', (t) => {
  const s = load({
    config: [
      '[profile deploy]', 'role_arn = arn:aws:iam::2:role/deployer', 'source_profile = hop', 'external_id = ext', 'duration_seconds = 1800',
      '[profile hop]', 'role_arn = arn:aws:iam::1:role/hop', 'source_profile = base', 'role_session_name = hop-session',
      '[profile base]', 'role_arn = arn:aws:iam::9:role/ignored',
      '[profile self]', 'role_arn = arn:aws:iam::1:role/self', 'source_profile = self', 'aws_access_key_id = SELF', 'aws_secret_access_key = s',
      '[profile orphan]', 'role_arn = arn:aws:iam::1:role/o', 'source_profile = nowhere',
      '[profile norole]', 'source_profile = base',
      '[profile two]', 'role_arn = arn:aws:iam::1:role/t', 'credential_process = x', 'web_identity_token_file = /t',
      '[profile empty-source]', 'role_arn = arn:aws:iam::1:role/e', 'source_profile = bare',
      '[profile bare]', 'region = us-east-1',
      '[profile sso]', 'sso_session = corp', 'sso_account_id = 1', 'sso_role_name = r',
      '[profile sso-missing]', 'sso_session = nowhere',
    ].join('\n'),
  }, ['config'], []);
  // `base` gets its keys from a credentials file in real life; here from a second config file.
  const withKeys = load({ a: '[profile base]\nregion = x\n', b: '[profile base]\naws_access_key_id = BASE\naws_secret_access_key = b\n' }, ['a', 'b'], []);
  for (const [k, v] of withKeys) s.set(k, v);
  const deploy = readProfile(s, 'deploy');
  t.like(deploy, { roleArn: 'arn:aws:iam::2:role/deployer', externalId: 'ext', durationSeconds: 1800, source: { roleArn: 'arn:aws:iam::1:role/hop', roleSessionName: 'hop-session', source: { name: 'base', credentials: { accessKeyId: 'BASE' } } } });
  t.is(deploy.source?.source?.roleArn, undefined, 'a source with keys ends the chain: its own role_arn is not read');
  const self = readProfile(s, 'self');
  t.like(self, { roleArn: 'arn:aws:iam::1:role/self', source: { name: 'self', credentials: { accessKeyId: 'SELF' } } });
  t.is(self.credentials, undefined, 'a profile with a source_profile takes its keys from the source');
  t.throws(() => readProfile(s, 'orphan'), { message: 'failed to load assume role arn:aws:iam::1:role/o, of profile nowhere, failed to get shared config profile, nowhere' });
  t.throws(() => readProfile(s, 'norole'), { message: 'credential type source_profile requires role_arn, profile norole' });
  t.throws(() => readProfile(s, 'two'), { message: /only one credential type may be specified per profile/ });
  t.throws(() => readProfile(s, 'empty-source'), { message: /of profile bare: it has no credentials/ });
  t.throws(() => readProfile(s, 'sso-missing'), { message: 'failed to find SSO session section, nowhere' });
  t.throws(() => readProfile(s, 'absent'), { message: 'failed to get shared config profile, absent' });
  // SSO: the session must give the region and start URL.
  t.is(profileProblem(readProfile(load({ c: '[profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_region = us-east-1\n' }, ['c'], []), 'sso')),
    'profile "sso" is configured to use SSO but is missing required configuration: sso_start_url');
  t.is(profileProblem(readProfile(load({ c: '[profile legacy]\nsso_start_url = https://x\nsso_region = us-east-1\n' }, ['c'], []), 'legacy')),
    'profile "legacy" is configured to use SSO but is missing required configuration: sso_account_id, sso_role_name');
  t.regex(profileProblem(readProfile(load({ c: '[profile m]\nrole_arn = arn:aws:iam::1:role/m\ncredential_source = Environment\nmfa_serial = arn:aws:iam::1:mfa/me\n' }, ['c'], []), 'm')) ?? '', /MFA/);
  t.regex(profileProblem(readProfile(load({ c: '[profile cs]\nrole_arn = arn:aws:iam::1:role/m\ncredential_source = Laptop\n' }, ['c'], []), 'cs')) ?? '', /credential_source values must be/);
});

test('the region: the block, AWS_REGION, AWS_DEFAULT_REGION, then the selected profile\'s region (block profile, AWS_PROFILE, AWS_DEFAULT_PROFILE, default)', (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-region-'));
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  fs.mkdirSync(path.join(home, '.aws'));
  fs.writeFileSync(path.join(home, '.aws', 'config'), '[default]\nregion = eu-north-1\n[profile a]\nregion = eu-west-2\n[profile b]\nregion = ap-south-1\n');
  fs.writeFileSync(path.join(home, 'extra-config'), '[profile a]\nregion = ca-central-1\n');
  fs.writeFileSync(path.join(home, 'extra-creds'), '[b]\nregion = sa-east-1\naws_access_key_id = K\naws_secret_access_key = S\n');
  const region = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    const r = resolveProviderSettings({ access_key: 'AK', secret_key: 'SK', ...config } as never, { HOME: home, ...env });
    return r.settings?.region ?? r.diagnostics.map((d) => d.summary).join('; ');
  };
  t.is(region({}), 'eu-north-1', 'the default profile, with static keys in the block');
  t.is(region({ profile: 'a' }), 'eu-west-2');
  t.is(region({}, { AWS_PROFILE: 'b' }), 'ap-south-1');
  t.is(region({}, { AWS_DEFAULT_PROFILE: 'a' }), 'eu-west-2');
  t.is(region({ profile: 'a' }, { AWS_PROFILE: 'b' }), 'eu-west-2', 'the block\'s profile wins over AWS_PROFILE');
  t.is(region({ profile: 'a' }, { AWS_DEFAULT_REGION: 'us-west-1' }), 'us-west-1', 'the environment wins over the profile');
  t.is(region({ profile: 'a', region: 'us-east-2' }, { AWS_REGION: 'us-west-1' }), 'us-east-2');
  t.is(region({ profile: 'a', shared_config_files: ['~/.aws/config', '$HOME/extra-config'] }), 'ca-central-1', 'several config files: the later wins');
  t.is(region({ profile: 'b', shared_credentials_files: ['${HOME}/extra-creds'] }), 'sa-east-1', 'a region in a credentials file wins over the config file');
  t.is(region({}, { AWS_CONFIG_FILE: path.join(home, 'extra-config'), AWS_PROFILE: 'a' }), 'ca-central-1', 'AWS_CONFIG_FILE replaces ~/.aws/config');
  t.regex(region({}, { AWS_CONFIG_FILE: path.join(home, 'none') }), /No AWS region: set region in the aws provider block, AWS_REGION or AWS_DEFAULT_REGION, or region in the profile default/);
  t.regex(region({}, { AWS_PROFILE: 'missing' }), /failed to get shared config profile, missing/, 'AWS_PROFILE must name a profile');
  t.regex(region({}, { AWS_DEFAULT_PROFILE: 'missing' }), /No AWS region/, 'AWS_DEFAULT_PROFILE need not');
});

test('renderIni writes what the SDK\'s reader reads back, and refuses a value it could not carry', (t) => {
  t.is(renderIni([['ci', { credential_process: 'cmd --x=1', aws_account_id: undefined }], ['sso-session corp', { sso_region: 'us-east-1' }]]), '[ci]\ncredential_process = cmd --x=1\n[sso-session corp]\nsso_region = us-east-1\n');
  t.throws(() => renderIni([['ci', { credential_process: 'a\nb' }]]), { message: /spans several lines/ });
});
