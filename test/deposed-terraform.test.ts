import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Deposed objects against real Terraform (hashicorp/aws 5.100, offline) on the emulator: a state with
 * a deposed identity provider config (what a create_before_destroy replacement whose destroy failed
 * leaves), for a resource without a key and for a for_each instance (the deposed object shares its
 * index_key), plans the same in both tools (addresses, actions, deposed keys), and the state either tool
 * leaves after applying that plan is clean for the other. One `terraform init`; the EKS endpoint from
 * the environment (no endpoints block: it costs the provider ~9 s of CPU per run).
 */

function stack(configName: string): string {
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } } },
    provider: { aws: [{ region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true }] },
    resource: {
      aws_eks_cluster: {
        main: { name: 'deposed-main', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }] },
        side: { name: 'deposed-side', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }] },
      },
      aws_eks_identity_provider_config: {
        corp: {
          cluster_name: '${aws_eks_cluster.main.name}',
          oidc: [{ client_id: 'kubernetes', identity_provider_config_name: configName, issuer_url: `https://${configName}.example.com` }],
          lifecycle: { create_before_destroy: true },
        },
        // A for_each instance: its deposed object shares its index_key.
        keyed: {
          for_each: { k: 'side' },
          cluster_name: '${aws_eks_cluster.side.name}',
          oidc: [{ client_id: 'kubernetes', identity_provider_config_name: `\${each.key}-${configName}`, issuer_url: `https://${configName}.example.com` }],
          lifecycle: { create_before_destroy: true },
        },
      },
    },
  }, null, 2);
}

type Change = { address: string; deposed?: string; change: { actions: string[] } };
const acting = (changes: Change[]) => changes.filter((c) => c.change.actions.join() !== 'no-op').map((c) => [c.address, c.change.actions.join(), c.deposed ?? '']).sort();

/** Makes each config's current object deposed under its key, as Terraform writes it (index_key, status, deposed, schema_version...). */
function depose(file: string, keys: Record<string, string>): void {
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as { serial: number; resources: { type: string; name: string; instances: Record<string, unknown>[] }[] };
  for (const r of s.resources.filter((x) => x.type === 'aws_eks_identity_provider_config')) {
    r.instances = r.instances.map((i) => ({ ...('index_key' in i ? { index_key: i.index_key } : {}), ...(i.status ? { status: i.status } : {}), deposed: keys[r.name]!, ...i }));
  }
  s.serial += 1;
  fs.writeFileSync(file, JSON.stringify(s, null, 2) + '\n');
}

terraformTest(test, 'a deposed identity provider config, with and without an instance key: eksidp plans what Terraform plans (deposed key included), and each tool\'s apply leaves a state the other plans clean', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-deposed-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_EKS: em.url, AWS_ENDPOINT_URL: '' };
  const tf = (args: string[]): Promise<TfResult> => terraform(dir, [...args, '-input=false', '-no-color'], env);
  const eksidp = async (argv: string[]) => {
    const io = captureIo(dir, { ...env, EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200' });
    const code = await runCommand(argv, io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`;
  const stateFile = path.join(dir, 'terraform.tfstate');
  const configs = () => (em.snapshot() as { clusters: { configs: { name: string }[] }[] }).clusters.flatMap((c) => c.configs.map((x) => x.name)).sort();

  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack('old-sso'));
  const [applied, init] = await Promise.all([eksidp(['apply', '--dir', dir, '--auto-approve']), tf(['init'])]);
  t.is(applied.code, 0, out(applied));
  t.is(init.code, 0, init.stderr);
  // The replacement made new-sso, and failed to destroy old-sso: old-sso stays, deposed.
  depose(stateFile, { corp: '0a1b2c3d', keyed: '4e5f6a7b' });
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack('new-sso'));
  const [ours, theirs] = await Promise.all([eksidp(['plan', '--dir', dir, '--json']), tf(['plan', '-out', 'p.tfplan'])]);
  t.is(ours.code, 0, out(ours));
  t.is(theirs.code, 0, out(theirs));
  t.regex(theirs.stdout, /# aws_eks_identity_provider_config\.corp \(deposed object 0a1b2c3d\) will be destroyed/);
  const shown = await terraform(dir, ['show', '-json', '-no-color', 'p.tfplan'], env);
  t.is(shown.code, 0, shown.stderr);
  const tfChanges = acting((JSON.parse(shown.stdout) as { resource_changes: Change[] }).resource_changes);
  t.regex(theirs.stdout, /# aws_eks_identity_provider_config\.keyed\["k"\] \(deposed object 4e5f6a7b\) will be destroyed/);
  t.deepEqual(tfChanges, [
    ['aws_eks_identity_provider_config.corp', 'create', ''], ['aws_eks_identity_provider_config.corp', 'delete', '0a1b2c3d'],
    ['aws_eks_identity_provider_config.keyed["k"]', 'create', ''], ['aws_eks_identity_provider_config.keyed["k"]', 'delete', '4e5f6a7b'],
  ]);
  t.deepEqual(acting((JSON.parse(ours.stdout) as { resource_changes: Change[] }).resource_changes), tfChanges);
  const text = await eksidp(['plan', '--dir', dir, '--no-color']);
  t.regex(text.stdout, /# aws_eks_identity_provider_config\.corp \(deposed object 0a1b2c3d\) will be destroyed\n {2}# \(left over from a partially-failed replacement of this instance\)/);
  t.regex(text.stdout, /# aws_eks_identity_provider_config\.keyed\["k"\] \(deposed object 4e5f6a7b\) will be destroyed\n {2}# \(left over from a partially-failed replacement of this instance\)/);

  // eksidp applies it; Terraform then plans no changes.
  const ourApply = await eksidp(['apply', '--dir', dir, '--auto-approve']);
  t.is(ourApply.code, 0, out(ourApply));
  t.deepEqual(configs(), ['k-new-sso', 'new-sso']);
  const clean = await tf(['plan', '-detailed-exitcode']);
  t.is(clean.code, 0, `Terraform sees changes after eksidp applied:\n${out(clean)}`);

  // And the other way: Terraform applies the same situation; eksidp then plans no changes.
  depose(stateFile, { corp: 'deadbeef', keyed: '01234567' });
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack('third-sso'));
  const theirApply = await tf(['apply', '-auto-approve', '-parallelism=1']);
  t.is(theirApply.code, 0, out(theirApply));
  t.deepEqual(configs(), ['k-third-sso', 'third-sso']);
  const ourClean = await eksidp(['plan', '--dir', dir, '--detailed-exitcode']);
  t.is(ourClean.code, 0, `eksidp sees changes after Terraform applied:\n${out(ourClean)}`);
});
