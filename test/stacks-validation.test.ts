import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { synth, StackValidationError } from '../main';
import type { ClusterSpec, EnvironmentSpec, IdentityProviderSpec } from '../stacks/types';
import { runCli } from './helpers/cli';
import { tempDir } from './helpers/project';

const idp = (over: Partial<IdentityProviderSpec> = {}): IdentityProviderSpec => ({
  name: 'okta', issuerUrl: 'https://example.okta.com', clientId: 'eks', usernameClaim: 'email', groupsClaim: 'groups', ...over,
});
const cluster = (over: Partial<ClusterSpec> = {}): ClusterSpec => ({
  name: 'dev', version: '1.32', roleArn: 'arn:aws:iam::000000000000:role/eks', subnetIds: ['subnet-1'], identityProviders: [idp()], ...over,
});
const env = (clusters: ClusterSpec[]): EnvironmentSpec[] => [{ name: 'test', region: 'us-east-1', endpoint: 'http://127.0.0.1:4599', clusters }];
const many = (n: number, f: (i: number) => Partial<IdentityProviderSpec> = () => ({})) =>
  Array.from({ length: n }, (_, i) => idp({ name: `idp${i}`, issuerUrl: `https://issuer${i}.example.com`, ...f(i) }));
const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

// One case per synth-time rule: the message names the construct path and the field.
const cases: { title: string; clusters: ClusterSpec[]; message: RegExp }[] = [
  { title: 'issuer must use https', clusters: [cluster({ identityProviders: [idp({ issuerUrl: 'http://example.okta.com' })] })], message: /\[test\/dev\/okta\] oidc\[0\]\.issuer_url: .*must use https/ },
  { title: 'issuer must have no query', clusters: [cluster({ identityProviders: [idp({ issuerUrl: 'https://example.okta.com/?a=b' })] })], message: /\[test\/dev\/okta\] oidc\[0\]\.issuer_url: .*query/ },
  { title: 'issuer must have no fragment', clusters: [cluster({ identityProviders: [idp({ issuerUrl: 'https://example.okta.com/#x' })] })], message: /oidc\[0\]\.issuer_url: .*fragment/ },
  { title: 'issuer must have no userinfo', clusters: [cluster({ identityProviders: [idp({ issuerUrl: 'https://user:pw@example.okta.com' })] })], message: /oidc\[0\]\.issuer_url: .*user information/ },
  { title: 'issuer must be a URL', clusters: [cluster({ identityProviders: [idp({ issuerUrl: 'https://example.okta.com:port' })] })], message: /oidc\[0\]\.issuer_url: .*not a valid URL/ },
  { title: 'client id must not be empty', clusters: [cluster({ identityProviders: [idp({ clientId: '' })] })], message: /oidc\[0\]\.client_id: client_id must not be empty/ },
  { title: 'config name must not be empty', clusters: [cluster({ identityProviders: [idp({ name: '' })] })], message: /oidc\[0\]\.identity_provider_config_name: .*must not be empty/ },
  { title: 'config name must not contain a colon', clusters: [cluster({ identityProviders: [idp({ name: 'a:b' })] })], message: /identity_provider_config_name: .*must not contain ":"/ },
  { title: 'required claim key at most 63 characters', clusters: [cluster({ identityProviders: [idp({ requiredClaims: { ['k'.repeat(64)]: 'v' } })] })], message: /oidc\[0\]\.required_claims\.k{64}: required_claims key must be 1-63/ },
  { title: 'required claim value at most 253 characters', clusters: [cluster({ identityProviders: [idp({ requiredClaims: { hd: 'v'.repeat(254) } })] })], message: /required_claims\.hd: required_claims value for "hd" must be 1-253/ },
  { title: 'required claim value not empty', clusters: [cluster({ identityProviders: [idp({ requiredClaims: { hd: '' } })] })], message: /required_claims value for "hd" must be 1-253 characters \(got 0\)/ },
  { title: 'username prefix without system:', clusters: [cluster({ identityProviders: [idp({ usernamePrefix: 'system:okta:' })] })], message: /oidc\[0\]\.username_prefix: .*must not contain "system:"/ },
  { title: 'groups prefix without system:', clusters: [cluster({ identityProviders: [idp({ groupsPrefix: 'system:' })] })], message: /oidc\[0\]\.groups_prefix: .*must not contain "system:"/ },
  { title: 'config names unique per cluster', clusters: [cluster({ identityProviders: [idp(), idp({ issuerUrl: 'https://other.example.com' })] })], message: /\[test\/dev\] aws_eks_identity_provider_config\.dev_okta: oidc\[0\]\.identity_provider_config_name: identity provider config name "okta" is already used/ },
  { title: 'issuer URLs unique per cluster', clusters: [cluster({ identityProviders: [idp(), idp({ name: 'okta2' })] })], message: /\[test\/dev\] aws_eks_identity_provider_config\.dev_okta2: oidc\[0\]\.issuer_url: issuer URL .* already used/ },
  { title: 'one OIDC config below Kubernetes 1.32', clusters: [cluster({ version: '1.31', identityProviders: many(2) })], message: /cluster "dev" runs Kubernetes 1\.31: EKS allows 1 OIDC identity provider before 1\.32/ },
  { title: 'at most ten OIDC configs from 1.32', clusters: [cluster({ identityProviders: many(11) })], message: /has 11 OIDC identity providers: EKS allows at most 10/ },
  { title: 'combined size under 12 KB', clusters: [cluster({ identityProviders: many(5, () => ({ requiredClaims: Object.fromEntries(Array.from({ length: 12 }, (_, j) => [`c${j}`, 'x'.repeat(250)])) })) })], message: /combined size to be under 12 KB/ },
  { title: 'at most 50 tags', clusters: [cluster({ tags: tags(51) })], message: /\[test\/dev\] tags: at most 50 tags are allowed \(got 51\)/ },
  { title: 'tag key at most 128 characters', clusters: [cluster({ identityProviders: [idp({ tags: { ['t'.repeat(129)]: 'v' } })] })], message: /\[test\/dev\/okta\] tags\.t{129}: tag key must be 1-128/ },
  { title: 'tag value at most 256 characters', clusters: [cluster({ tags: { team: 'x'.repeat(257) } })], message: /tags\.team: tag value for "team" must be at most 256/ },
  { title: 'tag key without aws: prefix', clusters: [cluster({ tags: { 'aws:owner': 'me' } })], message: /tags\.aws:owner: tag key "aws:owner" must not start with "aws:"/ },
  { title: 'cluster name within the EKS pattern', clusters: [cluster({ name: '-dev' })], message: /name: cluster name "-dev" must start with a letter or digit/ },
  { title: 'cluster name at most 100 characters', clusters: [cluster({ name: 'c'.repeat(101) })], message: /cluster name "c{101}" is longer than 100 characters/ },
  { title: 'created cluster needs a role', clusters: [cluster({ roleArn: undefined })], message: /\[test\/dev\] roleArn: required/ },
  { title: 'cluster names unique in an environment', clusters: [cluster(), cluster()], message: /\[test\] clusters: "dev" and "dev" are declared twice/ },
];

for (const c of cases) {
  test(`synth rejects: ${c.title}, and writes nothing`, (t) => {
    const outdir = path.join(tempDir(t), 'cdktf.out');
    const err = t.throws(() => synth({ outdir, envs: env(c.clusters) }), { instanceOf: StackValidationError });
    t.regex(err!.message, c.message);
    t.false(fs.existsSync(outdir), 'a stack that fails validation writes no output');
  });
}

test('a valid environment synthesizes, including a cluster on 1.32 with ten configs', (t) => {
  const outdir = path.join(tempDir(t), 'cdktf.out');
  synth({ outdir, envs: env([cluster({ identityProviders: many(10) }), cluster({ name: 'old', version: '1.31' })]) });
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks/test/cdk.tf.json'), 'utf8'));
  t.is(Object.keys(json.resource.aws_eks_identity_provider_config).length, 11);
});

test('the synth CLI reports validation errors with exit 1 and writes nothing', async (t) => {
  // Through the real CLI on a project whose environment is invalid.
  const dir = tempDir(t);
  const root = path.join(__dirname, '..');
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ app: 'npx tsx app.ts' }));
  fs.writeFileSync(path.join(dir, 'app.ts'), `import { synth } from ${JSON.stringify(path.join(root, 'main'))};\nexport function synth2() {}\nsynth({ envs: [{ name: 'bad', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', clusters: [{ name: 'dev', version: '1.32', roleArn: 'r', subnetIds: ['s'], identityProviders: [{ name: 'okta', issuerUrl: 'http://insecure.example.com', clientId: 'c' }] }] }] });\n`);
  const r = await runCli(['synth'], { cwd: dir });
  t.is(r.code, 1);
  t.regex(r.stderr, /\[bad\/dev\/okta\] oidc\[0\]\.issuer_url: issuer_url "http:\/\/insecure\.example\.com" must use https:\/\//);
  t.false(fs.existsSync(path.join(dir, 'cdktf.out')));
});

// Unknown keys at every level of the environment data: synth never type-checks the app.
const typo = <T>(v: T, extra: Record<string, unknown>): T => ({ ...v, ...extra }) as T;
const unknownKeyCases: { title: string; envs: EnvironmentSpec[]; message: RegExp }[] = [
  { title: 'an identity provider field (groupPrefix)', envs: env([cluster({ identityProviders: [idp(), typo(idp({ name: 'dex', issuerUrl: 'https://dex.example.com' }), { groupPrefix: 'dex:' })] })]),
    message: /\[test\] clusters\[0\]\.identityProviders\[1\]\.groupPrefix \(cluster "dev", identity provider "dex"\): unknown key "groupPrefix": did you mean groupsPrefix\?/ },
  { title: 'a cluster field (subnetId)', envs: env([typo(cluster(), { subnetId: ['s'] })]), message: /\[test\] clusters\[0\]\.subnetId \(cluster "dev"\): unknown key "subnetId": did you mean subnetIds\?/ },
  { title: 'an environment field (acountId)', envs: [typo(env([cluster()])[0]!, { acountId: '1' })], message: /\[test\] acountId: unknown key "acountId": did you mean accountId\?/ },
  { title: 'an RBAC binding field (group)', envs: env([cluster({ rbacBindings: [typo({ role: 'edit' }, { group: ['eng'] })] })]), message: /clusters\[0\]\.rbacBindings\[0\]\.group \(cluster "dev"\): unknown key "group": did you mean groups\?/ },
  { title: 'a sample identity field (claim)', envs: env([cluster({ identityProviders: [idp({ sampleIdentities: [typo({ name: 'ann', claims: {} }, { claim: {} })] })] })]), message: /identityProviders\[0\]\.sampleIdentities\[0\]\.claim \(cluster "dev", identity provider "okta", sample identity "ann"\): unknown key "claim": did you mean claims\?/ },
  { title: 'a key that is also an Object.prototype name (constructor)', envs: env([typo(cluster(), { constructor: 'x' })]), message: /clusters\[0\]\.constructor \(cluster "dev"\): unknown key "constructor"/ },
  { title: 'a key with no near name', envs: env([typo(cluster(), { colour: 'blue' })]), message: /clusters\[0\]\.colour \(cluster "dev"\): unknown key "colour"; known keys here: name, version, existing/ },
];

for (const c of unknownKeyCases) {
  test(`synth rejects an unknown key: ${c.title}, naming it, where it is and the nearest known name`, (t) => {
    const outdir = path.join(tempDir(t), 'cdktf.out');
    const err = t.throws(() => synth({ outdir, envs: c.envs }), { instanceOf: StackValidationError });
    t.regex(err!.message, c.message);
    t.false(fs.existsSync(outdir));
  });
}

test('free-form maps (tags, requiredClaims, claims) take any key', (t) => {
  const outdir = path.join(tempDir(t), 'cdktf.out');
  synth({ outdir, envs: env([cluster({ tags: { anyKey: 'v' }, identityProviders: [idp({ requiredClaims: { hd: 'example.com' }, tags: { groupPrefix: 'x' }, sampleIdentities: [{ name: 'a', claims: { groupPrefix: 'x', email: 'a@example.com' } }] })] })]) });
  t.true(fs.existsSync(path.join(outdir, 'stacks/test/cdk.tf.json')));
});

test('eksidp synth: a groupPrefix typo in an environment exits 1 naming the key and suggesting groupsPrefix', async (t) => {
  const dir = tempDir(t);
  const root = path.join(__dirname, '..');
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ app: 'npx tsx app.ts' }));
  const envs = [{ name: 'bad', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', clusters: [{ name: 'dev', version: '1.32', roleArn: 'r', subnetIds: ['s'], identityProviders: [{ name: 'dex', issuerUrl: 'https://dex.example.com', clientId: 'c', groupsClaim: 'groups', groupPrefix: 'dex:' }] }] }];
  fs.writeFileSync(path.join(dir, 'app.ts'), `import { synth as s } from ${JSON.stringify(path.join(root, 'main'))};\nexport function synth(o: { outdir?: string }) { s({ ...o, envs: ${JSON.stringify(envs)} as never }); }\n`);
  const r = await runCli(['synth'], { cwd: dir });
  t.is(r.code, 1);
  t.regex(r.stderr, /\[bad\] clusters\[0\]\.identityProviders\[0\]\.groupPrefix \(cluster "dev", identity provider "dex"\): unknown key "groupPrefix": did you mean groupsPrefix\?/);
  t.false(fs.existsSync(path.join(dir, 'cdktf.out', 'stacks')));
});
