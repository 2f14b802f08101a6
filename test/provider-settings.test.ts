import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator/index';
import type { BlockSchema, CtyType, ObjectValue, Value } from '../engine/protocol';
import { parseDuration } from '../lib/duration';
import { PROVIDER_ARGUMENTS, argumentsTable, resolveProviderSettings, ruleFor, schemaArguments } from '../providers/eks/settings';
import schemaJson from '../providers/eks/schema.json';
import { providerBlock } from './fixtures/drift/fleet';
import { writeStack } from './helpers/stacks';
import { captureIo, runCommand } from './helpers/in-process';

/**
 * The provider block's argument table (providers/eks/settings.ts) against hashicorp/aws 5.100's
 * schema and the README, its resolution, and the refused arguments through the CLI.
 */

const schema = (schemaJson as unknown as { provider_schema: { block: BlockSchema } }).provider_schema.block;
const README = path.join(__dirname, '..', 'providers', 'eks', 'README.md');

test('every argument of the provider schema has exactly one rule, and every rule names an argument of the schema', (t) => {
  const args = schemaArguments(schema);
  t.true(args.length > 60, 'the schema was read');
  const missing = args.filter((a) => !ruleFor(a));
  t.deepEqual(missing, []);
  const known = new Set(args);
  const stale = Object.keys(PROVIDER_ARGUMENTS).filter((k) => !(k.endsWith('.*') ? args.some((a) => a.startsWith(k.slice(0, -1))) : known.has(k)));
  t.deepEqual(stale, []);
});

test('the README\'s table is the one generated from the definition', (t) => {
  const text = fs.readFileSync(README, 'utf8');
  const m = /<!-- provider-arguments:start -->\n([\s\S]*?)<!-- provider-arguments:end -->/.exec(text);
  t.truthy(m, 'the README has the generated table between its markers');
  const expected = argumentsTable(schema);
  t.is(m?.[1], expected, `regenerate the table in providers/eks/README.md:\n${expected}`);
});

// HOME points nowhere unless a test gives one: no shared file of this machine is read.
const resolve = (config: ObjectValue, env: NodeJS.ProcessEnv = {}) => resolveProviderSettings(config, { HOME: '/nonexistent/home', ...env });

test('region, endpoints and STS: the block, then the environment, as the provider reads them', (t) => {
  const a = resolve({ region: 'eu-west-1', sts_region: 'us-east-1', endpoints: [{ eks: 'http://e', sts: 'http://s' }] }).settings!;
  t.like(a, { region: 'eu-west-1', endpoint: 'http://e', sts: { region: 'us-east-1', endpoint: 'http://s' } });
  const b = resolve({}, { AWS_DEFAULT_REGION: 'ap-south-1', AWS_ENDPOINT_URL_STS: 'http://sts', AWS_ENDPOINT_URL: 'http://all' }).settings!;
  t.like(b, { region: 'ap-south-1', endpoint: 'http://all', sts: { region: 'ap-south-1', endpoint: 'http://sts' } });
  t.is(resolve({}, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'x' }).settings?.region, 'us-west-2');
  t.regex(resolve({}).diagnostics[0]?.summary ?? '', /No AWS region/);
  // A custom endpoint gives no region either: the provider says "invalid AWS Region: " (test/provider-profiles-terraform.test.ts).
  const custom = resolve({ endpoints: [{ eks: 'http://e' }] });
  t.is(custom.settings, undefined);
  t.regex(custom.diagnostics[0]?.summary ?? '', /No AWS region/);
  t.regex(resolve({}, { AWS_ENDPOINT_URL_EKS: 'http://e' }).diagnostics[0]?.summary ?? '', /No AWS region/);
});

test('credentials: static keys win, with every assume_role field read; web identity from the block and the variables GitHub Actions sets', (t) => {
  // No shared files here: HOME points nowhere. The metadata switch is pinned, not taken from the test runner's environment.
  const env = { HOME: '/nonexistent/home', AWS_EC2_METADATA_DISABLED: 'true' };
  const s = resolve({
    region: 'us-east-1', access_key: 'AK', secret_key: 'SK', token: 'T', profile: 'p',
    assume_role: [
      { role_arn: 'arn:aws:iam::111111111111:role/a', session_name: 's1', external_id: 'ext', duration: '1h30m', policy: '{"Version":"2012-10-17"}', policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'], tags: { team: 'x' }, transitive_tag_keys: ['team'], source_identity: 'me' },
      { role_arn: 'arn:aws:iam::222222222222:role/b' },
    ],
  }, env);
  t.regex(s.diagnostics.map((d) => d.summary).join('\n'), /failed to get shared config profile, p/, 'a profile named in the block must exist, even beside static keys');
  const ok = resolve({
    region: 'us-east-1', access_key: 'AK', secret_key: 'SK', token: 'T',
    assume_role: [
      { role_arn: 'arn:aws:iam::111111111111:role/a', session_name: 's1', external_id: 'ext', duration: '1h30m', policy: '{"Version":"2012-10-17"}', policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'], tags: { team: 'x' }, transitive_tag_keys: ['team'], source_identity: 'me' },
      { role_arn: 'arn:aws:iam::222222222222:role/b' },
    ],
  }, { ...env, AWS_ACCESS_KEY_ID: 'env', AWS_SECRET_ACCESS_KEY: 'env' }).settings!;
  t.deepEqual(ok.credentials, {
    base: { kind: 'static', from: 'provider block', accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'T' },
    metadataDisabled: true,
    assumeRoles: [
      { roleArn: 'arn:aws:iam::111111111111:role/a', sessionName: 's1', externalId: 'ext', durationSeconds: 5400, policy: '{"Version":"2012-10-17"}', policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'], tags: { team: 'x' }, transitiveTagKeys: ['team'], sourceIdentity: 'me' },
      { roleArn: 'arn:aws:iam::222222222222:role/b' },
    ],
  });
  // The environment's keys (AWS_ACCESS_KEY / AWS_SECRET_KEY too, as the Go SDK reads them) come next.
  t.like(resolve({ region: 'us-east-1' }, { ...env, AWS_ACCESS_KEY: 'AK2', AWS_SECRET_KEY: 'SK2', AWS_SESSION_TOKEN: 'T2' }).settings?.credentials.base,
    { kind: 'static', from: 'environment', accessKeyId: 'AK2', secretAccessKey: 'SK2', sessionToken: 'T2' });
  // The web identity block's fields fall back to the variables GitHub Actions' OIDC sets.
  const w = resolve({ region: 'us-east-1', assume_role_with_web_identity: [{ duration: '15m' }] }, { ...env, AWS_ROLE_ARN: 'arn:aws:iam::333333333333:role/ci', AWS_WEB_IDENTITY_TOKEN_FILE: '/tok', AWS_ROLE_SESSION_NAME: 'gha' }).settings!;
  t.deepEqual(w.credentials.base, { kind: 'webIdentity', spec: { roleArn: 'arn:aws:iam::333333333333:role/ci', tokenFile: '/tok', sessionName: 'gha', durationSeconds: 900 } });
  const tok = resolve({ region: 'us-east-1', assume_role_with_web_identity: [{ role_arn: 'arn:aws:iam::333333333333:role/ci', web_identity_token: 'eyJ' }] }, env).settings!;
  t.deepEqual(tok.credentials.base, { kind: 'webIdentity', spec: { roleArn: 'arn:aws:iam::333333333333:role/ci', token: 'eyJ' } });
  // Without the block, the variables alone (no keys in the environment): the SDK's chain order.
  t.deepEqual(resolve({ region: 'us-east-1' }, { ...env, AWS_ROLE_ARN: 'arn:aws:iam::333333333333:role/ci', AWS_WEB_IDENTITY_TOKEN_FILE: '/tok' }).settings?.credentials.base,
    { kind: 'webIdentity', spec: { roleArn: 'arn:aws:iam::333333333333:role/ci', tokenFile: '/tok' } });
  t.regex(resolve({ region: 'us-east-1' }, { ...env, AWS_WEB_IDENTITY_TOKEN_FILE: '/tok' }).diagnostics[0]?.summary ?? '', /AWS_ROLE_ARN is not: role ARN is not set/);
  // Nothing at all: container credentials or the instance metadata service (here disabled).
  t.deepEqual(resolve({ region: 'us-east-1', skip_metadata_api_check: true }, env).settings?.credentials.base, { kind: 'remote' });
  t.true(resolve({ region: 'us-east-1' }, { ...env, AWS_EC2_METADATA_DISABLED: 'TRUE' }).settings!.credentials.metadataDisabled);
  t.false(resolve({ region: 'us-east-1' }, { ...env, AWS_EC2_METADATA_DISABLED: 'false' }).settings!.credentials.metadataDisabled);
  t.false(resolve({ region: 'us-east-1', skip_metadata_api_check: 'false' }, env).settings!.credentials.metadataDisabled, 'the block wins over the variable');
  // One empty assume_role block is allowed, as in the provider.
  t.deepEqual(resolve({ region: 'us-east-1', assume_role: [{ role_arn: '' }] }, env).settings?.credentials.assumeRoles, []);
});

test('invalid role settings are errors naming the field', (t) => {
  const errors = (config: ObjectValue, env: NodeJS.ProcessEnv = {}) => resolve({ region: 'us-east-1', ...config }, env).diagnostics.map((d) => d.summary).join(' | ');
  t.regex(errors({ assume_role: [{ role_arn: 'arn:aws:iam::1:role/a' }, { session_name: 'x' }] }), /"assume_role\.role_arn" is required in every assume_role block/);
  t.regex(errors({ assume_role: [{ role_arn: 'not-an-arn' }] }), /"assume_role\.role_arn" is not a valid ARN/);
  t.regex(errors({ assume_role: [{ role_arn: 'arn:aws:iam::1:role/a', duration: '10m' }] }), /"assume_role\.duration": duration must be between 15 minutes and 12 hours/);
  t.regex(errors({ assume_role: [{ role_arn: 'arn:aws:iam::1:role/a', duration: 'soon' }] }), /"assume_role\.duration"/);
  t.regex(errors({ assume_role: [{ role_arn: 'arn:aws:iam::1:role/a', policy: '{not json' }] }), /"assume_role\.policy" must be a JSON policy document/);
  t.regex(errors({ assume_role_with_web_identity: [{ role_arn: 'arn:aws:iam::1:role/a' }] }), /set one of "web_identity_token" and "web_identity_token_file"/);
  t.regex(errors({ assume_role_with_web_identity: [{ role_arn: 'arn:aws:iam::1:role/a', web_identity_token: 'abcd', web_identity_token_file: '/f' }] }), /set only one of/);
  t.regex(errors({ assume_role_with_web_identity: [{ web_identity_token: 'abcd' }] }), /"assume_role_with_web_identity\.role_arn" is not set \(nor AWS_ROLE_ARN\)/);
  t.regex(errors({ allowed_account_ids: ['1'], forbidden_account_ids: ['2'] }), /conflict/);
  t.regex(errors({ access_key: 'a' }), /only one of access_key and secret_key/);
});

test('Go durations as Terraform parses them', (t) => {
  t.is(parseDuration('1h'), 3_600_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('900s'), 900_000);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('900000ms'), 900_000);
  t.is(parseDuration('900000000us'), 900_000);
  t.is(parseDuration('900000000000ns'), 900_000);
  t.is(parseDuration('15 m'), undefined);
  t.is(parseDuration(''), undefined);
});

test('the account guard asks STS unless both skips are set', (t) => {
  const g = (config: ObjectValue) => resolve({ region: 'us-east-1', ...config }).settings!.guard;
  t.deepEqual(g({ allowed_account_ids: ['111111111111'] }), { allowed: ['111111111111'], forbidden: [], lookup: true });
  t.true(g({ skip_credentials_validation: true }).lookup, 'the provider still looks the account up (IAM, then STS)');
  t.true(g({ skip_requesting_account_id: true }).lookup, 'credentials are still validated with STS');
  t.false(g({ skip_credentials_validation: true, skip_requesting_account_id: true }).lookup);
  t.false(g({ skip_credentials_validation: 'true', skip_requesting_account_id: 'true' }).lookup);
});

test('default_tags and ignore_tags merge with their environment variables as the provider merges them', (t) => {
  const env = { TF_AWS_DEFAULT_TAGS_env: 'from-env', TF_AWS_DEFAULT_TAGS_owner: 'env-owner', TF_AWS_IGNORE_TAGS_KEYS: ' a , b,', TF_AWS_IGNORE_TAGS_KEY_PREFIXES: 'kubernetes.io/' };
  const tags = resolve({ region: 'us-east-1', default_tags: [{ tags: { env: 'prod' } }], ignore_tags: [{ keys: ['c'], key_prefixes: ['aws-cdk:'] }] }, env).settings!.tags;
  t.deepEqual(tags, { defaults: { env: 'prod', owner: 'env-owner' }, ignoreKeys: ['c', 'a', 'b'], ignorePrefixes: ['aws-cdk:', 'kubernetes.io/'] });
  t.deepEqual(resolve({ region: 'us-east-1' }).settings!.tags, { defaults: null, ignoreKeys: [], ignorePrefixes: [] });
});

/** A value that sets an argument (not its zero value), from its schema type. */
function sampleValue(type: CtyType, name: string): Value {
  if (name.startsWith('endpoints.')) return 'http://127.0.0.1:9';
  if (type === 'string') return name.endsWith('_proxy') ? 'http://127.0.0.1:9' : 'x';
  if (type === 'bool') return true;
  if (type === 'number') return 3;
  return ['a'];
}

/** The provider block with one argument set (a block attribute goes in a block of its own). */
function withArgument(base: ObjectValue, name: string, value: Value): ObjectValue {
  const [top, attr] = name.split('.');
  if (!attr) return { ...base, [top!]: value };
  const existing = Array.isArray(base[top!]) ? (base[top!] as ObjectValue[])[0] : {};
  return { ...base, [top!]: [{ ...existing, [attr]: value }] };
}

const typeOf = (name: string): CtyType => {
  const [top, attr] = name.split('.');
  return attr ? schema.block_types![top!]!.block.attributes![attr]!.type : schema.attributes![top!]!.type;
};

// One case per refused argument, and per refused value of an implemented one.
const REFUSED: [string, Value][] = [
  ...Object.entries(PROVIDER_ARGUMENTS).filter(([, r]) => r.status === 'refused').map(([name]) => [name, sampleValue(typeOf(name), name)] as [string, Value]),
  ['endpoints', [{ eks: 'http://127.0.0.1:9' }, { sts: 'http://127.0.0.1:9' }]],
];

test('every refused argument: plan and drift exit 1 with one message naming it, and make no API call', async (t) => {
  t.deepEqual(REFUSED.map(([n]) => n), ['ec2_metadata_service_endpoint', 'ec2_metadata_service_endpoint_mode', 'token_bucket_rate_limiter_capacity', 'endpoints']);
  const em = await startEmulator({ port: 0 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-refused-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cluster = { name: 'c1', role_arn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', vpc_config: [{ subnet_ids: ['subnet-a'] }] };
  for (const [name, value] of REFUSED) {
    const provider = withArgument(providerBlock(em.url) as ObjectValue, name, value);
    writeStack(dir, { provider: { aws: [provider] }, resource: { aws_eks_cluster: { c1: cluster } } });
    em.resetCalls();
    for (const command of ['plan', 'drift']) {
      const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true' });
      const code = await runCommand([command, '--dir', dir], io);
      t.is(code, 1, `${command} with ${name}: ${io.err()}`);
      const lines = io.err().split('\n').filter((l) => l.includes(`"${name}"`));
      t.is(lines.length, 1, `${command} with ${name}: one message naming it:\n${io.err()}`);
      t.regex(lines[0] ?? '', /not supported by eksidp/);
    }
    t.deepEqual(em.calls(), {}, `${name}: no API call`);
  }
});

test('arguments with no effect on eksidp\'s calls are accepted', async (t) => {
  const em = await startEmulator({ port: 0 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-noeffect-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const noEffect = Object.entries(PROVIDER_ARGUMENTS).filter(([, r]) => r.status === 'no effect').map(([n]) => (n === 'endpoints.*' ? 'endpoints.s3' : n));
  let provider = providerBlock(em.url) as ObjectValue;
  for (const name of noEffect) provider = withArgument(provider, name, name === 's3_us_east_1_regional_endpoint' ? 'regional' : sampleValue(typeOf(name), name));
  writeStack(dir, { provider: { aws: [provider] }, data: { aws_eks_cluster: { c: { name: 'absent' } } } });
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true' });
  const code = await runCommand(['plan', '--dir', dir], io);
  t.is(code, 1, 'the data source is not found: the call was made');
  t.regex(io.err(), /EKS cluster "absent" not found/);
  t.is(em.calls().DescribeCluster, 1);
});
