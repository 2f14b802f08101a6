import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { eksidpInProcess } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * State interop with the real Terraform (hashicorp/aws 5.100, offline) on the embedded emulator, both
 * ways: state written by eksidp is read by `terraform plan` with no changes (also after eksidp replaced
 * a config and retagged another), and state written by `terraform apply` is read by `eksidp plan` with
 * no changes. Terraform runs cost ~15 s each, so there are five in all, in two tests that run at once.
 */

// A stack like the `local` environment: a 1.32 cluster with two configs, a 1.31 cluster with one.
function stack(endpoint: string, edit: { tier?: string; partnerPrefix?: string } = {}): string {
  const provider = {
    region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator',
    skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true,
    endpoints: [{ eks: endpoint }],
  };
  const cluster = (name: string, version: string) => ({
    name, version, role_arn: 'arn:aws:iam::000000000000:role/eks-cluster',
    vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }], tags: { env: 'local', team: 'platform' },
  });
  const oidc = (name: string, issuer: string, prefix: string, claims: Record<string, string>) => ({
    client_id: 'kubernetes', identity_provider_config_name: name, issuer_url: issuer,
    username_claim: 'email', username_prefix: prefix, groups_claim: 'groups', groups_prefix: prefix, required_claims: claims,
  });
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: [provider] },
    resource: {
      aws_eks_cluster: { main: cluster('interop-main', '1.32'), legacy: cluster('interop-legacy', '1.31') },
      aws_eks_identity_provider_config: {
        corp: {
          cluster_name: '${aws_eks_cluster.main.name}',
          oidc: [oidc('corp-sso', 'https://sso.example.com/oauth2', 'corp:', { aud: 'kubernetes', hd: 'example.com' })],
          tags: { owner: 'identity' },
        },
        partners: {
          cluster_name: '${aws_eks_cluster.main.name}',
          // Terraform's provider does not retry 409 ResourceInUse: its two associations on one cluster must not overlap.
          depends_on: ['aws_eks_identity_provider_config.corp'],
          oidc: [oidc('partners', 'https://partners.example.net', edit.partnerPrefix ?? 'partner:', { tenant: 'acme' })],
          tags: { owner: 'partners', tier: edit.tier ?? 'external' },
        },
        legacy: {
          cluster_name: '${aws_eks_cluster.legacy.name}',
          oidc: [oidc('legacy-sso', 'https://sso.example.com/oauth2', 'legacy:', { aud: 'kubernetes' })],
          tags: { owner: 'identity', cluster: 'legacy' },
        },
      },
    },
  }, null, 2);
}

/** `eksidp ARGV` in this process, through the real dispatcher. */
const eksidp = (argv: string[], cwd: string) => eksidpInProcess(argv, cwd);

const tf = (dir: string, args: string[]): Promise<TfResult> => terraform(dir, [...args, '-input=false', '-no-color']);
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-interop-'));
  // EKSIDP_KEEP_TF_DIR=1 keeps the folder (state, stack) for a look after a failure.
  if (process.env.EKSIDP_KEEP_TF_DIR !== '1') t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Snapshot = { clusters: { name: string; configs: { name: string; status: string; usernamePrefix?: string; tags: Record<string, string> }[] }[] };

terraformTest(test, 'state written by eksidp, also after it replaces one config and retags another, plans no changes in Terraform', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack(em.url));
  // Terraform reads every *.tf.json in the folder, so both tools read this very file.

  const [applied, init] = await Promise.all([eksidp(['apply', '--dir', dir, '--auto-approve'], dir), tf(dir, ['init'])]);
  t.is(applied.code, 0, out(applied));
  t.regex(applied.stdout, /Resources: 5 added, 0 changed, 0 destroyed\./);
  t.is(init.code, 0, init.stderr);
  const plan = await tf(dir, ['plan', '-detailed-exitcode']);
  t.is(plan.code, 0, `Terraform sees changes in the state eksidp wrote:\n${out(plan)}`);

  // A tag change (in place) and a prefix change (replacement) by eksidp, then Terraform again.
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack(em.url, { tier: 'trusted', partnerPrefix: 'ext:' }));
  const changed = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir);
  t.is(changed.code, 0, out(changed));
  t.regex(changed.stdout, /Resources: 1 added, 0 changed, 1 destroyed\./);
  const partners = (em.snapshot() as Snapshot).clusters.find((c) => c.name === 'interop-main')!.configs.find((c) => c.name === 'partners')!;
  t.like(partners, { status: 'ACTIVE', tags: { owner: 'partners', tier: 'trusted' } });
  const again = await tf(dir, ['plan', '-detailed-exitcode']);
  t.is(again.code, 0, `Terraform sees changes in the state eksidp rewrote:\n${out(again)}`);
});

terraformTest(test, 'state written by terraform apply plans no changes in eksidp', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack(em.url));

  const init = await tf(dir, ['init']);
  t.is(init.code, 0, init.stderr);
  const applied = await tf(dir, ['apply', '-auto-approve', '-parallelism=1']);
  t.is(applied.code, 0, out(applied));
  t.is((em.snapshot() as Snapshot).clusters.flatMap((c) => c.configs).filter((c) => c.status === 'ACTIVE').length, 3);

  const plan = await eksidp(['plan', '--dir', dir, '--detailed-exitcode'], dir);
  t.is(plan.code, 0, `eksidp sees changes in the state Terraform wrote:\n${out(plan)}`);
  const json = await eksidp(['plan', '--dir', dir, '--json'], dir);
  t.is(json.code, 0, out(json));
  const changes = (JSON.parse(json.stdout) as { resource_changes: { address: string; change: { actions: string[] } }[] }).resource_changes;
  t.deepEqual(changes.map((c) => [c.address, c.change.actions.join()]).sort(), [
    ['aws_eks_cluster.legacy', 'no-op'], ['aws_eks_cluster.main', 'no-op'],
    ['aws_eks_identity_provider_config.corp', 'no-op'], ['aws_eks_identity_provider_config.legacy', 'no-op'], ['aws_eks_identity_provider_config.partners', 'no-op'],
  ]);
});
