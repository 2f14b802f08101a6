import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { mapBounded } from '../lib/concurrency';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * Terraform as the oracle for the account guard and assumed roles: the same provider block planned
 * by terraform 1.11 + hashicorp/aws 5.100 and by eksidp, against the emulator's STS and EKS,
 * succeeds or fails alike; the failures are both the provider's "AWS account ID not allowed" (or
 * "invalid AWS Region"). This is where eksidp's behaviour with skip_requesting_account_id and its
 * list of Region names come from.
 */

const CI = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret-key' };
const ACCOUNTS = {
  accounts: {
    '111111111111': { users: { ci: CI }, roles: { hop: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] } } } },
    '333333333333': { roles: { deployer: { trust: { principals: ['arn:aws:iam::111111111111:role/hop'], externalId: 'ext-123' } } } },
  },
};

/** `alone`: planned by terraform in a run of its own (its error names no provider alias: "operation error STS: AssumeRole ..."). */
type Case = { name: string; provider: Record<string, unknown>; ok: boolean; alone?: boolean };

const keys = { access_key: CI.accessKeyId, secret_key: CI.secretAccessKey };
const skipBoth = { skip_credentials_validation: true, skip_requesting_account_id: true };
const chain = [{ role_arn: 'arn:aws:iam::111111111111:role/hop', session_name: 'one' }, { role_arn: 'arn:aws:iam::333333333333:role/deployer', session_name: 'two', external_id: 'ext-123' }];

const CASES: Case[] = [
  { name: 'allowed, the credentials\' account', provider: { ...keys, allowed_account_ids: ['111111111111'] }, ok: true },
  { name: 'allowed, another account', provider: { ...keys, allowed_account_ids: ['999999999999'] }, ok: false },
  { name: 'forbidden, the credentials\' account', provider: { ...keys, forbidden_account_ids: ['111111111111'] }, ok: false },
  { name: 'forbidden, another account', provider: { ...keys, forbidden_account_ids: ['999999999999'] }, ok: true },
  { name: 'both skips with allowed (the account is unknown)', provider: { ...keys, ...skipBoth, allowed_account_ids: ['111111111111'] }, ok: false },
  { name: 'both skips with forbidden', provider: { ...keys, ...skipBoth, forbidden_account_ids: ['111111111111'] }, ok: true },
  { name: 'skip_requesting_account_id alone (credentials validation finds the account)', provider: { ...keys, skip_requesting_account_id: true, allowed_account_ids: ['111111111111'] }, ok: true },
  { name: 'skip_credentials_validation alone (the account is still requested)', provider: { ...keys, skip_credentials_validation: true, allowed_account_ids: ['111111111111'] }, ok: true },
  { name: 'a chain of two roles, allowed the last one\'s account', provider: { ...keys, assume_role: chain, allowed_account_ids: ['333333333333'] }, ok: true },
  { name: 'a chain of two roles, allowed the base account', provider: { ...keys, assume_role: chain, allowed_account_ids: ['111111111111'] }, ok: false },
  // Region names: the provider's list (providers/eks/regions.ts) unless skip_region_validation.
  { name: 'a Region the provider knows (ap-east-2, its newest)', provider: { ...keys, region: 'ap-east-2' }, ok: true },
  { name: 'a Region of the EUSC partition (eusc-de-east-1)', provider: { ...keys, region: 'eusc-de-east-1' }, ok: true },
  { name: 'a Region newer than the provider (ap-southeast-6)', provider: { ...keys, region: 'ap-southeast-6' }, ok: false },
  { name: 'a misspelt Region', provider: { ...keys, region: 'us-esat-1' }, ok: false },
  { name: 'a misspelt Region with skip_region_validation', provider: { ...keys, region: 'us-esat-1', skip_region_validation: true }, ok: true },
  { name: 'a role whose external_id is wrong', provider: { ...keys, assume_role: [chain[0], { ...chain[1], external_id: 'nope' }] }, ok: false, alone: true },
];

// Nothing of this machine's AWS settings (empty is unset for both tools); the endpoints come from the
// environment: an `endpoints` block costs the provider ~9 s of CPU to validate, per configuration, and
// no case here is about that block (the other interop tests use it).
const CLEAN: NodeJS.ProcessEnv = {
  AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_PROFILE: '', AWS_DEFAULT_PROFILE: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '', AWS_CA_BUNDLE: '', AWS_ENDPOINT_URL: '',
};

/** Terraform's diagnostics, each with its severity and text (`-no-color`: "Error: summary" then the detail and the address). */
const diagnostics = (out: string) => out.split(/^(?=(?:Error|Warning): )/m).filter((d) => /^(Error|Warning): /.test(d));
const PROVIDER_REQ = { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } };

terraformTest(test, 'account guards, skips, assumed roles and Region names: eksidp succeeds or fails where terraform + hashicorp/aws 5.100 does', async (t) => {
  t.timeout(10 * 60_000);
  const em = await startEmulator({ port: 0, accounts: ACCOUNTS });
  t.teardown(() => em.close());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-guard-tf-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  // Nothing may fall back to the instance metadata address or a shared profile of this machine.
  const env = {
    ...CLEAN, AWS_CONFIG_FILE: path.join(root, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(root, 'none'),
    AWS_ENDPOINT_URL_EKS: em.url, AWS_ENDPOINT_URL_STS: em.url, AWS_ENDPOINT_URL_IAM: em.url,
  };
  // Cost: one init; one plan for all cases, one provider alias (and one cluster) per case, and one plan
  // for each case whose error names no alias; the plans share the init's .terraform and run at once.
  const cases = CASES.map((c, i) => ({ c, i }));
  const groups = [cases.filter(({ c }) => !c.alone), ...cases.filter(({ c }) => c.alone).map((x) => [x])];
  const initDir = path.join(root, 'init');
  fs.mkdirSync(initDir);
  fs.writeFileSync(path.join(initDir, 'cdk.tf.json'), JSON.stringify({ terraform: PROVIDER_REQ }));
  const init = await terraform(initDir, ['init', '-input=false', '-no-color'], env);
  t.is(init.code, 0, `terraform init: ${init.stderr}`);
  // The diagnostic's subject: "with provider["…/aws"].cN," (a provider that fails to configure) or "with aws_eks_cluster.cN,".
  const subject = (i: number) => (d: string) => new RegExp(`^\\s*with (aws_eks_cluster|provider\\["registry\\.terraform\\.io/hashicorp/aws"\\])\\.c${i},?$`, 'm').test(d);
  const tfErrors = new Map<number, string>();
  await mapBounded(groups, 2, async (group) => {
    const dir = path.join(root, `terraform-${group[0]!.i}`);
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(initDir, '.terraform'), path.join(dir, '.terraform'));
    fs.copyFileSync(path.join(initDir, '.terraform.lock.hcl'), path.join(dir, '.terraform.lock.hcl'));
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
      terraform: PROVIDER_REQ,
      provider: { aws: group.map(({ c, i }) => ({ alias: `c${i}`, region: 'us-east-1', skip_metadata_api_check: true, ...c.provider })) },
      resource: { aws_eks_cluster: Object.fromEntries(group.map(({ i }) => [`c${i}`, { provider: `aws.c${i}`, name: `guarded${i}`, role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-a'] }] }])) },
    }));
    const tf = await terraform(dir, ['plan', '-input=false', '-no-color'], env);
    const tfOut = tf.stderr + tf.stdout;
    const errors = diagnostics(tfOut).filter((d) => d.startsWith('Error: '));
    // A run of one case: its errors are the case's. Otherwise every error is one case's: nothing failed for the run as a whole.
    const mine = (i: number) => (group.length === 1 ? () => true : subject(i));
    for (const e of errors) t.is(group.filter(({ i }) => mine(i)(e)).length, 1, `terraform: an error that is no one case's:\n${e}`);
    if (tf.code === 0) t.is(errors.length, 0);
    else t.true(errors.length > 0, `terraform: exit ${tf.code} without an error:\n${tfOut}`);
    t.is(tf.code === 0, group.every(({ c }) => c.ok), `terraform's exit code:\n${tfOut}`);
    for (const { i } of group) tfErrors.set(i, errors.filter(mine(i)).join(''));
  });

  // eksidp plans each case alone, in the same environment.
  const results = await mapBounded(cases, 3, async ({ c, i }) => {
    const dir = fs.mkdtempSync(path.join(root, 'case-'));
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
      terraform: PROVIDER_REQ,
      provider: { aws: [{ region: 'us-east-1', skip_metadata_api_check: true, ...c.provider }] },
      resource: { aws_eks_cluster: { a: { name: 'guarded', role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-a'] }] } } },
    }));
    const io = captureIo(dir, env);
    const code = await runCommand(['plan', '--dir', dir], io);
    const tfError = tfErrors.get(i) ?? '';
    return { c, tf: { ok: tfError === '', stderr: tfError }, ek: { code, stderr: io.err() } };
  });
  for (const { c, tf: tfc, ek } of results) {
    t.is(tfc.ok, c.ok, `terraform, ${c.name}:\n${tfc.stderr}`);
    t.is(ek.code === 0, c.ok, `eksidp, ${c.name}:\n${ek.stderr}`);
    if (!c.ok && 'region' in c.provider) {
      t.regex(tfc.stderr, /invalid AWS Region: /, c.name);
      t.regex(ek.stderr, /invalid AWS Region: /, c.name);
    }
    if (!c.ok && /allowed|forbidden/.test(JSON.stringify(c.provider))) {
      t.regex(tfc.stderr, /AWS account ID not allowed/, c.name);
      t.regex(ek.stderr, /AWS account ID not allowed/, c.name);
    }
  }
});
