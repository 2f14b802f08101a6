import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import test from 'ava';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startEmulator, type CallRecord } from '../emulator';
import { mapBounded } from '../lib/concurrency';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * Terraform as the oracle for the shared files, the region's precedence (the provider block, then
 * AWS_REGION, then AWS_DEFAULT_REGION, then the selected profile's `region`) and `insecure`: the same
 * provider settings, files and environment, planned by terraform 1.11 + hashicorp/aws 5.100 and by
 * eksidp against one emulator, read a cluster that exists in 111111111111/eu-west-2 and
 * 222222222222/eu-west-1 only. Both succeed or fail alike, and the emulator sees each tool's
 * DescribeCluster in the same region and account with the same status (it verifies the signatures of
 * the keys and sessions it issues).
 *
 * Cost: cases that share an environment are one terraform run, one provider alias per case (a
 * terraform run costs ~3.5 s of CPU, an alias ~1 s more), and the endpoints come from
 * AWS_ENDPOINT_URL_EKS/_STS (an `endpoints` block costs the provider ~9 s of CPU to validate, per
 * configuration). Each case signs with a key (and assumes a role) of its own, so its calls are told
 * apart in the shared emulator's log; eksidp plans each case alone, in the same environment.
 */

const N_KEYS = 16;
const keyOf = (i: number) => ({ accessKeyId: `AKIACI${String(i).padStart(14, '0')}`, secretAccessKey: `ci-secret-${i}` });
const SEED = keyOf(N_KEYS);
const ACCOUNTS = {
  accounts: {
    '111111111111': { users: Object.fromEntries(Array.from({ length: N_KEYS + 1 }, (_, i) => [`ci${i}`, keyOf(i)])) },
    // deployer<i> trusts only ci<i>: a case's assumed-role calls are told apart by the role's name.
    '222222222222': { roles: Object.fromEntries(Array.from({ length: N_KEYS + 1 }, (_, i) => [`deployer${i}`, { trust: { principals: [`arn:aws:iam::111111111111:user/ci${i}`], externalId: 'ext-123' } }])) },
  },
};
const TLS_DIR = path.join(__dirname, 'fixtures', 'tls');

/** A case's own key index, its group's HOME, and the ini lines of its key. */
type Ctx = { i: number; home: string; key: { accessKeyId: string; secretAccessKey: string }; keys: (secret?: string) => string };
type Case = {
  name: string;
  /** Files under the group's HOME (paths relative to it; the same path in two cases of a group is concatenated). */
  files: (x: Ctx) => Record<string, string>;
  provider: (x: Ctx) => Record<string, unknown>;
  /** The environment, shared by the cases of a group (one terraform run). */
  env: Env;
  ok: boolean;
  /** The reads both tools make: "region account status", once each. */
  reads: string[];
};
type Env = { name: string; vars: (urls: { plain: string; tls: string }, x: Ctx) => NodeJS.ProcessEnv };

const HERE = 'eu-west-2 111111111111 200';
const NOT_THERE = 'us-east-1 111111111111 404';
const plain = (extra: NodeJS.ProcessEnv = {}): Env['vars'] => (u) => ({ AWS_ENDPOINT_URL_EKS: u.plain, AWS_ENDPOINT_URL_STS: u.plain, ...extra });
const NONE: Env = { name: 'nothing', vars: plain() };
const AWS_PROFILE_CI: Env = { name: 'AWS_PROFILE=ci', vars: plain({ AWS_PROFILE: 'ci' }) };
const BOTH_REGIONS: Env = { name: 'AWS_REGION=eu-west-2, AWS_DEFAULT_REGION=us-east-1', vars: plain({ AWS_REGION: 'eu-west-2', AWS_DEFAULT_REGION: 'us-east-1' }) };
const DEFAULT_REGION: Env = { name: 'AWS_DEFAULT_REGION=eu-west-2', vars: plain({ AWS_DEFAULT_REGION: 'eu-west-2' }) };
const MISSING_PROFILE: Env = { name: 'AWS_PROFILE=nope and keys', vars: (u, x) => ({ ...plain()(u, x), AWS_PROFILE: 'nope', AWS_ACCESS_KEY_ID: x.key.accessKeyId, AWS_SECRET_ACCESS_KEY: x.key.secretAccessKey }) };
const OVER_TLS: Env = { name: 'EKS over https', vars: (u) => ({ AWS_ENDPOINT_URL_EKS: u.tls }) };

/** Profile `ci` with `region` and the case's key, in files of the case's own, named in the block. */
const own = (region: string) => ({
  files: (x: Ctx) => ({ [`c${x.i}/config`]: `[profile ci]\nregion = ${region}\n`, [`c${x.i}/credentials`]: `[ci]\n${x.keys()}` }),
  shared: (x: Ctx) => ({ profile: 'ci', shared_config_files: [`${x.home}/c${x.i}/config`], shared_credentials_files: [`${x.home}/c${x.i}/credentials`] }),
});
// max_retries = 1 (for both tools): the provider retries the failed handshake with an untrusted certificate (max_retries is 25
// by default), and without it terraform's plan had not finished after 4 minutes here.
const keysIn = (x: Ctx) => ({ region: 'eu-west-2', access_key: x.key.accessKeyId, secret_key: x.key.secretAccessKey, max_retries: 1 });

const CASES: Case[] = [
  { name: 'region and keys of the profile the block names, in the default files', env: NONE, files: (x) => ({ '.aws/config': '[profile ci]\nregion = eu-west-2\n', '.aws/credentials': `[ci]\n${x.keys()}` }), provider: () => ({ profile: 'ci' }), ok: true, reads: [HERE] },
  { name: 'the default profile', env: NONE, files: (x) => ({ '.aws/config': '[default]\nregion = eu-west-2\n', '.aws/credentials': `[default]\n${x.keys()}` }), provider: () => ({}), ok: true, reads: [HERE] },
  { name: 'AWS_PROFILE selects the profile', env: AWS_PROFILE_CI, files: (x) => ({ '.aws/config': '[profile ci]\nregion = eu-west-2\n', '.aws/credentials': `[ci]\n${x.keys()}` }), provider: () => ({}), ok: true, reads: [HERE] },
  // The region: the block's, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile's.
  { name: 'region in the block wins over the profile\'s', env: NONE, files: own('us-east-1').files, provider: (x) => ({ ...own('us-east-1').shared(x), region: 'eu-west-2' }), ok: true, reads: [HERE] },
  { name: 'region in the block wins over AWS_REGION (the cluster is not there)', env: BOTH_REGIONS, files: own('eu-west-2').files, provider: (x) => ({ ...own('eu-west-2').shared(x), region: 'us-east-1' }), ok: false, reads: [NOT_THERE] },
  { name: 'AWS_REGION wins over AWS_DEFAULT_REGION and the profile\'s', env: BOTH_REGIONS, files: own('us-east-1').files, provider: own('us-east-1').shared, ok: true, reads: [HERE] },
  { name: 'region in the block wins over AWS_DEFAULT_REGION (the cluster is not there)', env: DEFAULT_REGION, files: own('eu-west-2').files, provider: (x) => ({ ...own('eu-west-2').shared(x), region: 'us-east-1' }), ok: false, reads: [NOT_THERE] },
  { name: 'AWS_DEFAULT_REGION wins over the profile\'s', env: DEFAULT_REGION, files: own('us-east-1').files, provider: own('us-east-1').shared, ok: true, reads: [HERE] },
  {
    name: 'several files: the later config file\'s region, the later credentials file\'s secret',
    env: NONE,
    files: (x) => ({ [`c${x.i}/1`]: '[profile ci]\nregion = us-east-1\n', [`c${x.i}/2`]: '[profile ci]\nregion = eu-west-2\n', [`k${x.i}/1`]: `[ci]\n${x.keys('stale')}`, [`k${x.i}/2`]: `[ci]\n${x.keys()}` }),
    provider: (x) => ({ profile: 'ci', shared_config_files: [`${x.home}/c${x.i}/1`, `~/c${x.i}/2`], shared_credentials_files: [`$HOME/k${x.i}/1`, `${x.home}/k${x.i}/2`] }),
    ok: true,
    reads: [HERE],
  },
  {
    name: 'several files in the other order: the stale secret is refused',
    env: NONE,
    files: (x) => ({ [`c${x.i}/1`]: '[profile ci]\nregion = us-east-1\n', [`c${x.i}/2`]: '[profile ci]\nregion = eu-west-2\n', [`k${x.i}/1`]: `[ci]\n${x.keys('stale')}`, [`k${x.i}/2`]: `[ci]\n${x.keys()}` }),
    provider: (x) => ({ profile: 'ci', shared_config_files: [`${x.home}/c${x.i}/1`, `${x.home}/c${x.i}/2`], shared_credentials_files: [`${x.home}/k${x.i}/2`, `${x.home}/k${x.i}/1`] }),
    ok: false,
    // A wrong signature: the emulator answers 403 before it knows the caller's account or region.
    reads: ['? ? 403 unverified'],
  },
  {
    name: 'a role from a profile, its external_id and region from the second config file',
    env: NONE,
    files: (x) => ({
      [`c${x.i}/1`]: `[profile deploy]\nrole_arn = arn:aws:iam::222222222222:role/deployer${x.i}\nsource_profile = ci\nexternal_id = wrong\nregion = us-east-1\n`,
      [`c${x.i}/2`]: '[profile deploy]\nexternal_id = ext-123\nregion = eu-west-1\n',
      [`k${x.i}`]: `[ci]\n${x.keys()}`,
    }),
    provider: (x) => ({ profile: 'deploy', shared_config_files: [`${x.home}/c${x.i}/1`, `${x.home}/c${x.i}/2`], shared_credentials_files: [`${x.home}/k${x.i}`] }),
    ok: true,
    reads: ['eu-west-1 222222222222 200'],
  },
  { name: 'no region anywhere, a custom EKS endpoint', env: NONE, files: () => ({}), provider: (x) => ({ access_key: x.key.accessKeyId, secret_key: x.key.secretAccessKey, shared_config_files: [`${x.home}/none`] }), ok: false, reads: [] },
  { name: 'AWS_PROFILE names a missing profile, keys and region in the environment', env: MISSING_PROFILE, files: () => ({}), provider: () => ({ region: 'eu-west-2' }), ok: false, reads: [] },
  { name: 'insecure = true over https with an untrusted certificate', env: OVER_TLS, files: () => ({}), provider: (x) => ({ ...keysIn(x), insecure: true }), ok: true, reads: [HERE] },
  { name: 'the same without insecure', env: OVER_TLS, files: () => ({}), provider: keysIn, ok: false, reads: [] },
];

/** One emulator with `target` in 111111111111/eu-west-2 and in 222222222222/eu-west-1, and a TLS front with the test-only certificate. */
async function world() {
  const em = await startEmulator({ port: 0, clusterCreateMs: 0, accounts: ACCOUNTS });
  const create = async (client: EKSClient) => {
    await client.send(new CreateClusterCommand({ name: 'target', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
    client.destroy();
  };
  await create(new EKSClient({ endpoint: em.url, region: 'eu-west-2', credentials: SEED }));
  const sts = new STSClient({ endpoint: em.url, region: 'us-east-1', credentials: SEED });
  const role = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::222222222222:role/deployer${N_KEYS}`, RoleSessionName: 'seed', ExternalId: 'ext-123' }))).Credentials!;
  sts.destroy();
  await create(new EKSClient({ endpoint: em.url, region: 'eu-west-1', credentials: { accessKeyId: role.AccessKeyId!, secretAccessKey: role.SecretAccessKey!, sessionToken: role.SessionToken! } }));
  const port = Number(new URL(em.url).port);
  const front = tls.createServer({ cert: fs.readFileSync(path.join(TLS_DIR, 'cert.pem')), key: fs.readFileSync(path.join(TLS_DIR, 'key.pem')) }, (s) => {
    const up = net.connect(port, '127.0.0.1');
    s.pipe(up).pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  front.on('tlsClientError', () => {});
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const urls = { plain: em.url, tls: `https://127.0.0.1:${(front.address() as net.AddressInfo).port}` };
  return { em, urls, close: () => Promise.all([em.close(), new Promise<void>((r) => front.close(() => r()))]) };
}

/** Case i's EKS calls: signed with its key, or with a session of the role only it may assume. */
const callsOf = (log: CallRecord[], i: number) =>
  log.filter((c) => c.service === 'eks' && (c.accessKeyId === keyOf(i).accessKeyId || (c.principal ?? '').includes(`:assumed-role/deployer${i}/`)));
const reads = (calls: CallRecord[]) => [...new Set(calls.map((c) => `${c.region || '?'} ${c.accountId || '?'} ${c.status}${c.verified ? '' : ' unverified'}`))];

/** Terraform's diagnostics, each with its severity and text (`-no-color`: "Error: summary" then the detail and the address). */
const diagnostics = (out: string) => out.split(/^(?=(?:Error|Warning): )/m).filter((d) => /^(Error|Warning): /.test(d));

const PROVIDER_REQ = { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } };
const COMMON = { skip_metadata_api_check: true, skip_credentials_validation: true, skip_requesting_account_id: true };
// Nothing of this machine's AWS settings (empty is unset for both tools).
const CLEAN: NodeJS.ProcessEnv = {
  AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_PROFILE: '', AWS_DEFAULT_PROFILE: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '', AWS_CONFIG_FILE: '', AWS_SHARED_CREDENTIALS_FILE: '', AWS_CA_BUNDLE: '', AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_EKS: '', AWS_ENDPOINT_URL_STS: '',
};

terraformTest(test, 'profiles, several shared files, the region\'s precedence, and insecure: eksidp reads where terraform + hashicorp/aws 5.100 does, and fails where it fails', async (t) => {
  t.timeout(5 * 60_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-profiles-tf-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const w = await world();
  t.teardown(() => w.close());
  const groups = [...new Set(CASES.map((c) => c.env))].map((env) => ({ env, cases: CASES.map((c, i) => ({ c, i })).filter(({ c }) => c.env === env) }));

  // One init; every group's folder links its .terraform and copies the lock file.
  const initDir = path.join(root, 'init');
  fs.mkdirSync(initDir);
  fs.writeFileSync(path.join(initDir, 'main.tf.json'), JSON.stringify({ terraform: PROVIDER_REQ }));
  const init = await terraform(initDir, ['init', '-input=false', '-no-color'], CLEAN);
  if (init.code !== 0) throw new Error(`terraform init: ${init.stderr}`);

  const results = (await mapBounded(groups, 3, async ({ env, cases }) => {
    const dir = path.join(root, `group-${groups.findIndex((g) => g.env === env)}`);
    const home = path.join(dir, 'home');
    fs.mkdirSync(home, { recursive: true });
    fs.symlinkSync(path.join(initDir, '.terraform'), path.join(dir, '.terraform'));
    fs.copyFileSync(path.join(initDir, '.terraform.lock.hcl'), path.join(dir, '.terraform.lock.hcl'));
    const ctx = (i: number): Ctx => {
      const key = keyOf(i);
      return { i, home, key, keys: (secret = key.secretAccessKey) => `aws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${secret}\n` };
    };
    const files = new Map<string, string>();
    for (const { c, i } of cases) for (const [name, text] of Object.entries(c.files(ctx(i)))) files.set(name, (files.has(name) ? `${files.get(name)}\n` : '') + text);
    for (const [name, text] of files) {
      fs.mkdirSync(path.dirname(path.join(home, name)), { recursive: true });
      fs.writeFileSync(path.join(home, name), text);
    }
    // The environment is the group's; MISSING_PROFILE's keys are its one case's.
    const envOf = (i: number): NodeJS.ProcessEnv => ({ ...CLEAN, HOME: home, ...env.vars(w.urls, ctx(i)) });
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({
      terraform: PROVIDER_REQ,
      provider: { aws: cases.map(({ c, i }) => ({ alias: `c${i}`, ...COMMON, ...c.provider(ctx(i)) })) },
      data: { aws_eks_cluster: Object.fromEntries(cases.map(({ i }) => [`c${i}`, { provider: `aws.c${i}`, name: 'target' }])) },
    }));
    const tf = await terraform(dir, ['plan', '-input=false', '-no-color'], envOf(cases[0]!.i));
    const tfOut = tf.stderr + tf.stdout;
    const errors = diagnostics(tfOut).filter((d) => d.startsWith('Error: '));
    // The diagnostic's subject: "with data.aws_eks_cluster.cN," or "with provider["…/aws"].cN,".
    const mine = (i: number) => (d: string) => new RegExp(`^\\s*with (data\\.aws_eks_cluster|provider\\["registry\\.terraform\\.io/hashicorp/aws"\\])\\.c${i},?$`, 'm').test(d);
    // Every error is one case's: nothing failed for the run as a whole.
    for (const e of errors) t.is(cases.filter(({ i }) => mine(i)(e)).length, 1, `terraform, ${env.name}: an error that is no one case's:\n${e}`);
    if (tf.code === 0) t.is(errors.length, 0);
    else t.true(errors.length > 0, `terraform, ${env.name}: exit ${tf.code} without an error:\n${tfOut}`);
    const out: { c: Case; tf: { ok: boolean; reads: string[]; out: string }; ek: { ok: boolean; reads: string[]; out: string } }[] = [];
    for (const { c, i } of cases) {
      const tfCalls = callsOf(w.em.callLog(), i);
      const caseDir = path.join(dir, `eksidp-c${i}`);
      fs.mkdirSync(caseDir);
      fs.writeFileSync(path.join(caseDir, 'main.tf.json'), JSON.stringify({
        terraform: PROVIDER_REQ,
        provider: { aws: [{ ...COMMON, ...c.provider(ctx(i)) }] },
        data: { aws_eks_cluster: { t: { name: 'target' } } },
      }));
      const io = captureIo(caseDir, envOf(i));
      const code = await runCommand(['plan', '--dir', caseDir], io);
      out.push({
        c,
        tf: { ok: !errors.some(mine(i)), reads: reads(tfCalls), out: errors.filter(mine(i)).join('') },
        ek: { ok: code === 0, reads: reads(callsOf(w.em.callLog(), i).slice(tfCalls.length)), out: io.err() },
      });
    }
    return out;
  })).flat();
  t.is(results.length, CASES.length);
  for (const { c, tf, ek } of results) {
    t.is(tf.ok, c.ok, `terraform, ${c.name}:\n${tf.out}`);
    t.is(ek.ok, c.ok, `eksidp, ${c.name}:\n${ek.out}`);
    t.deepEqual(tf.reads, c.reads, `terraform, ${c.name}`);
    t.deepEqual(ek.reads, tf.reads, `eksidp, ${c.name}: the same reads as terraform, in the same region and account`);
  }
});
