import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * count and for_each against the real Terraform (hashicorp/aws 5.100, offline) on the emulator, in one
 * folder and one `terraform init`, three Terraform runs: eksidp applies a stack with count (from a
 * variable), for_each over a map of objects (each.value.attr) and for_each over that resource's
 * instances. A plain resource then gains count = 1: eksidp and Terraform both plan only its implied move
 * to [0] on eksidp's state, Terraform applies it (no other change) and eksidp plans no changes on the
 * state Terraform wrote. Then count goes 2 → 1 and the for_each map changes: both tools plan the same
 * instance addresses, actions and keys (Terraform's saved plan through `terraform show -json`).
 */

function stack(v: { n: number; keys: string[]; singleCount: boolean }): string {
  // The endpoint comes from AWS_ENDPOINT_URL_EKS: an endpoints block costs Terraform ~9 s of CPU per run.
  const provider = { region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true };
  const cluster = { role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }], tags: { env: 'iter' } };
  const versions: Record<string, string> = { a: '1.32', b: '1.31', c: '1.30' };
  const oidc = (name: string, issuer: string) => [{ client_id: 'kubernetes', identity_provider_config_name: name, issuer_url: issuer, username_claim: 'email', groups_claim: 'groups' }];
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: { aws: [provider] },
    variable: { n: { type: 'number', default: v.n } },
    resource: {
      aws_eks_cluster: {
        fleet: { count: '${var.n}', name: 'iter-fleet-${count.index}', ...cluster },
        single: { ...(v.singleCount ? { count: 1 } : {}), name: 'iter-single', ...cluster },
        named: { for_each: Object.fromEntries(v.keys.map((k) => [k, { version: versions[k] }])), name: 'iter-${each.key}', version: '${each.value.version}', ...cluster },
      },
      aws_eks_identity_provider_config: {
        // for_each over another resource's instances, as cdktf's TerraformIterator.fromResources writes it.
        sso: { for_each: '${aws_eks_cluster.named}', cluster_name: '${each.value.name}', oidc: oidc('sso-${each.key}', 'https://sso.example.com/${each.key}') },
        first: { count: 1, cluster_name: '${aws_eks_cluster.fleet[0].name}', oidc: oidc('first', 'https://first.example.com') },
      },
    },
  }, null, 2);
}

type Change = { address: string; previous_address?: string; index?: unknown; change: { actions: string[] } };
const summary = (changes: Change[]) => changes.map((c) => [c.address, c.change.actions.join(), c.previous_address ?? '', JSON.stringify(c.index ?? null)].join(' ')).sort();

terraformTest(test, 'count and for_each: eksidp and Terraform read each other\'s state with no changes and plan the same instance actions and moves', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 50, clusterDeleteMs: 30, updateMs: 50 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-iter-'));
  if (process.env.EKSIDP_KEEP_TF_DIR !== '1') t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { AWS_ENDPOINT_URL_EKS: em.url };
  const eksidp = async (argv: string[]) => {
    const io = captureIo(dir, { ...env, EKSIDP_POLL_INITIAL_MS: '20', EKSIDP_POLL_MAX_MS: '100' });
    const code = await runCommand(argv, io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  // Options before the positional plan file (terraform show/apply take at most one).
  const tf = (args: string[]): Promise<TfResult> => terraform(dir, [args[0]!, '-input=false', '-no-color', ...args.slice(1)], env);
  const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`;
  const write = (v: Parameters<typeof stack>[0]) => fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack(v));

  write({ n: 2, keys: ['a', 'b'], singleCount: false });
  const stamp = (label: string) => t.log(`${label}: ${Date.now() - started} ms`);
  const started = Date.now();
  const [applied, init] = await Promise.all([eksidp(['apply', '--dir', dir, '--auto-approve']), tf(['init'])]);
  t.is(applied.code, 0, out(applied));
  t.regex(applied.stdout, /Resources: 8 added, 0 changed, 0 destroyed\./);
  t.is(init.code, 0, init.stderr);
  const listed = await eksidp(['state', 'list', '--dir', dir]);
  t.deepEqual(listed.stdout.trim().split('\n'), [
    'aws_eks_cluster.fleet[0]', 'aws_eks_cluster.fleet[1]', 'aws_eks_cluster.named["a"]', 'aws_eks_cluster.named["b"]', 'aws_eks_cluster.single',
    'aws_eks_identity_provider_config.first[0]', 'aws_eks_identity_provider_config.sso["a"]', 'aws_eks_identity_provider_config.sso["b"]',
  ]);
  stamp('apply + init');
  // Terraform on eksidp's state: the plain resource gaining count = 1 is moved to [0] (Terraform's implied
  // move) and nothing else changes; its apply writes a state with index keys and the moved object.
  write({ n: 2, keys: ['a', 'b'], singleCount: true });
  const movePlan = await eksidp(['plan', '--dir', dir, '--json']);
  t.is(movePlan.code, 0, out(movePlan));
  t.deepEqual(summary((JSON.parse(movePlan.stdout) as { resource_changes: Change[] }).resource_changes).filter((l) => !/ no-op  /.test(l)), ['aws_eks_cluster.single[0] no-op aws_eks_cluster.single 0']);
  const tfApplied = await tf(['apply', '-auto-approve']);
  t.is(tfApplied.code, 0, out(tfApplied));
  t.regex(tfApplied.stdout, /# aws_eks_cluster\.single has moved to aws_eks_cluster\.single\[0\]/);
  t.notRegex(tfApplied.stdout, /will be (created|destroyed|updated|replaced)|must be replaced/, 'Terraform plans no change but the move on eksidp\'s state');
  t.regex(tfApplied.stdout, /Apply complete! Resources: 0 added, 0 changed, 0 destroyed\./);
  stamp('terraform apply');
  const again = await eksidp(['plan', '--dir', dir, '--detailed-exitcode']);
  t.is(again.code, 0, `eksidp sees changes in the state Terraform wrote:\n${out(again)}`);

  // Fewer counted instances, a for_each key dropped and one added: the same plan in both tools.
  write({ n: 1, keys: ['a', 'c'], singleCount: true });
  const [ours, saved] = await Promise.all([eksidp(['plan', '--dir', dir, '--json']), tf(['plan', '-out=tfplan'])]);
  t.is(ours.code, 0, out(ours));
  t.is(saved.code, 0, out(saved));
  stamp('both plans');
  const shown = await terraform(dir, ['show', '-no-color', '-json', 'tfplan'], env);
  t.is(shown.code, 0, out(shown));
  stamp('terraform show');
  const theirs = summary((JSON.parse(shown.stdout) as { resource_changes: Change[] }).resource_changes);
  t.deepEqual(summary((JSON.parse(ours.stdout) as { resource_changes: Change[] }).resource_changes), theirs);
  t.true(theirs.includes('aws_eks_cluster.fleet[1] delete  1'), theirs.join('\n'));
  t.true(theirs.includes('aws_eks_identity_provider_config.sso["c"] create  "c"'), theirs.join('\n'));
});
