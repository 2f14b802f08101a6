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
 * succeeds or fails alike; the failures are both the provider's "AWS account ID not allowed". This
 * is where eksidp's behaviour with skip_requesting_account_id comes from.
 */

const CI = { accessKeyId: 'AKIACI00000000000001', secretAccessKey: 'ci-secret-key' };
const ACCOUNTS = {
  accounts: {
    '111111111111': { users: { ci: CI }, roles: { hop: { trust: { principals: ['arn:aws:iam::111111111111:user/ci'] } } } },
    '333333333333': { roles: { deployer: { trust: { principals: ['arn:aws:iam::111111111111:role/hop'], externalId: 'ext-123' } } } },
  },
};

type Case = { name: string; provider: Record<string, unknown>; ok: boolean };

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
  { name: 'a role whose external_id is wrong', provider: { ...keys, assume_role: [chain[0], { ...chain[1], external_id: 'nope' }] }, ok: false },
];

terraformTest(test, 'account guards, skips and assumed roles: eksidp succeeds or fails where terraform + hashicorp/aws 5.100 does', async (t) => {
  t.timeout(10 * 60_000);
  const em = await startEmulator({ port: 0, accounts: ACCOUNTS });
  t.teardown(() => em.close());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-guard-tf-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  // Nothing may fall back to the instance metadata address or a shared profile of this machine.
  const env = { AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(root, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(root, 'none') };
  const results = await mapBounded(CASES, 3, async (c, ) => {
    const dir = fs.mkdtempSync(path.join(root, 'case-'));
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
      terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
      provider: { aws: [{ region: 'us-east-1', skip_metadata_api_check: true, endpoints: [{ eks: em.url, sts: em.url, iam: em.url }], ...c.provider }] },
      resource: { aws_eks_cluster: { a: { name: 'guarded', role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-a'] }] } } },
    }));
    const init = await terraform(dir, ['init', '-input=false', '-no-color'], env);
    if (init.code !== 0) throw new Error(`terraform init: ${init.stderr}`);
    const tf = await terraform(dir, ['plan', '-input=false', '-no-color'], env);
    const io = captureIo(dir, env);
    const code = await runCommand(['plan', '--dir', dir], io);
    return { c, tf, ek: { code, stderr: io.err() } };
  });
  for (const { c, tf, ek } of results) {
    t.is(tf.code === 0, c.ok, `terraform, ${c.name}:\n${tf.stderr}`);
    t.is(ek.code === 0, c.ok, `eksidp, ${c.name}:\n${ek.stderr}`);
    if (!c.ok && /allowed|forbidden/.test(JSON.stringify(c.provider))) {
      t.regex(tf.stderr, /AWS account ID not allowed/, c.name);
      t.regex(ek.stderr, /AWS account ID not allowed/, c.name);
    }
  }
});
