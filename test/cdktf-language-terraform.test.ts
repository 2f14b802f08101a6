import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { App, Fn, LocalBackend, TerraformCount, Token, TerraformIterator, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { EksCluster } from '@cdktf/provider-aws/lib/eks-cluster';
import { EksIdentityProviderConfig } from '@cdktf/provider-aws/lib/eks-identity-provider-config';
import { startEmulator } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Issue 14's "done when": a stack written with cdktf's own constructs — TerraformIterator over a map
 * variable and over another resource's instances, TerraformCount, Fn functions, variables (one
 * sensitive) and outputs (pluckProperty, a for expression, a sensitive one) — synthesized by cdktf and
 * then planned and applied by eksidp and by terraform 1.11 + hashicorp/aws 5.100 on one emulator:
 * the same plan actions from no state and after a change given as variables, each tool's state read
 * by the other with no changes, and `output -json` equal.
 */

class LanguageStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // cdktf's default local backend names a file in the process's folder: keep the state in the stack's.
    new LocalBackend(this, { path: 'terraform.tfstate' });
    // The endpoint comes from AWS_ENDPOINT_URL_EKS (an endpoints block costs Terraform seconds of CPU).
    new AwsProvider(this, 'aws', { region: 'us-east-1', accessKey: 'emulator', secretKey: 'emulator', skipCredentialsValidation: true, skipRequestingAccountId: true, skipMetadataApiCheck: 'true', skipRegionValidation: true });
    const versions = new TerraformVariable(this, 'versions', { type: 'map(string)', default: { a: '1.32', b: '1.31' } });
    const spares = new TerraformVariable(this, 'spares', { type: 'number', default: 1 });
    const client = new TerraformVariable(this, 'client', { type: 'string', default: 'Kubernetes', sensitive: true });
    const base = { roleArn: 'arn:aws:iam::000000000000:role/eks-cluster', vpcConfig: { subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'] } };

    const teams = TerraformIterator.fromMap(versions.value as Record<string, string>);
    const clusters = new EksCluster(this, 'team', { forEach: teams, name: `cdk-${teams.key}`, version: teams.value, tags: Fn.merge([{ env: 'cdk' }, { team: teams.key }]), ...base });
    const count = TerraformCount.of(spares.numberValue);
    new EksCluster(this, 'spare', { count, name: `cdk-spare-${Token.asString(count.index)}`, tags: { spare: Fn.tostring(count.index) }, ...base });

    const each = TerraformIterator.fromResources(clusters);
    const configs = new EksIdentityProviderConfig(this, 'sso', {
      forEach: each,
      clusterName: each.getString('name'),
      oidc: {
        identityProviderConfigName: `sso-${each.key}`,
        clientId: Fn.lower(client.stringValue),
        issuerUrl: Fn.format('https://sso.example.com/%s', [each.key]),
        usernameClaim: 'email',
        usernamePrefix: Fn.join('', [each.key, ':']),
        groupsClaim: 'groups',
        requiredClaims: { tenant: Fn.upper(each.key) },
      },
      tags: { cluster: each.getString('name'), version: each.getString('version') },
    });

    new TerraformOutput(this, 'cluster_names', { value: each.pluckProperty('name') });
    new TerraformOutput(this, 'config_ids', { value: TerraformIterator.fromResources(configs).forExpressionForMap('key', 'val.id') });
    new TerraformOutput(this, 'team_count', { value: Fn.lengthOf(teams.keys()) });
    new TerraformOutput(this, 'client_id', { value: Fn.lower(client.stringValue), sensitive: true });
  }
}

type Change = { address: string; change: { actions: string[] } };
const actions = (plan: { resource_changes?: Change[] }) => (plan.resource_changes ?? []).map((c) => `${c.address} ${c.change.actions.join()}`).sort();

terraformTest(test, 'a cdktf stack with iterators, count, functions, variables and outputs: the same plans as Terraform, state read both ways with no changes, the same outputs', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 50, clusterDeleteMs: 30, updateMs: 50 });
  t.teardown(() => em.close());
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-cdktf-lang-'));
  if (process.env.EKSIDP_KEEP_TF_DIR !== '1') t.teardown(() => fs.rmSync(outdir, { recursive: true, force: true }));
  const app = new App({ outdir, skipValidation: false });
  new LanguageStack(app, 'lang');
  app.synth();
  const dir = path.join(outdir, 'stacks', 'lang');
  t.true(fs.existsSync(path.join(dir, 'cdk.tf.json')));

  const env = { AWS_ENDPOINT_URL_EKS: em.url };
  const eksidp = async (argv: string[]) => {
    const io = captureIo(dir, { ...env, EKSIDP_POLL_INITIAL_MS: '20', EKSIDP_POLL_MAX_MS: '100' });
    const code = await runCommand([...argv, '--dir', dir], io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  const tf = (args: string[]): Promise<TfResult> => terraform(dir, [args[0]!, '-input=false', '-no-color', ...args.slice(1)], env);
  const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-5000)}\n${r.stderr.slice(-3000)}`;
  const tfPlanJson = async (vars: string[]) => {
    const p = await tf(['plan', '-out=tfplan', ...vars]);
    t.is(p.code, 0, out(p));
    const shown = await terraform(dir, ['show', '-no-color', '-json', 'tfplan'], env);
    t.is(shown.code, 0, out(shown));
    return JSON.parse(shown.stdout) as { resource_changes?: Change[] };
  };
  const outputsAgree = async (label: string) => {
    const [a, b] = await Promise.all([terraform(dir, ['output', '-no-color', '-json'], env), eksidp(['output', '--json'])]);
    t.is(a.code, 0, out(a));
    t.is(b.code, 0, out(b));
    t.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout), label);
    return JSON.parse(a.stdout) as Record<string, { value: unknown; sensitive: boolean }>;
  };

  // 1. From no state: the same actions.
  const [ours0, init] = await Promise.all([eksidp(['plan', '--json']), tf(['init'])]);
  t.is(init.code, 0, out(init));
  t.is(ours0.code, 0, out(ours0));
  const theirs0 = actions(await tfPlanJson([]));
  t.deepEqual(actions(JSON.parse(ours0.stdout) as { resource_changes: Change[] }), theirs0);
  t.deepEqual(theirs0, ['aws_eks_cluster.spare[0] create', 'aws_eks_cluster.team["a"] create', 'aws_eks_cluster.team["b"] create', 'aws_eks_identity_provider_config.sso["a"] create', 'aws_eks_identity_provider_config.sso["b"] create']);

  // 2. eksidp applies; Terraform plans nothing on its state; outputs agree (the sensitive one too).
  const applied = await eksidp(['apply', '--auto-approve']);
  t.is(applied.code, 0, out(applied));
  t.notRegex(applied.stdout + applied.stderr, /\bkubernetes\b(?!_)/, 'the sensitive client id is never printed');
  const clean = await tf(['plan', '-detailed-exitcode']);
  t.is(clean.code, 0, `Terraform plans changes on the state eksidp wrote:\n${out(clean)}`);
  const outputs = await outputsAgree('after eksidp apply');
  t.deepEqual(outputs.cluster_names!.value, ['cdk-a', 'cdk-b']);
  t.deepEqual(outputs.config_ids!.value, { a: 'cdk-a:sso-a', b: 'cdk-b:sso-b' });
  t.deepEqual([outputs.client_id!.value, outputs.client_id!.sensitive], ['kubernetes', true]);

  const ourVars = (v: Record<string, string>) => Object.entries(v).flatMap(([k, x]) => ['--var', `${k}=${x}`]);
  const tfVars = (v: Record<string, string>) => Object.entries(v).map(([k, x]) => `-var=${k}=${x}`);

  // 3. A change as variables (HCL values on the command line): a upgraded in place, c added, a second
  // spare. Terraform applies its saved plan; eksidp plans no changes on that state; outputs agree.
  const grow = { versions: '{a="1.33",b="1.31",c="1.31"}', spares: '2' };
  const [ours1, theirs1] = await Promise.all([eksidp(['plan', '--json', ...ourVars(grow)]), tfPlanJson(tfVars(grow))]);
  t.is(ours1.code, 0, out(ours1));
  t.deepEqual(actions(JSON.parse(ours1.stdout) as { resource_changes: Change[] }), actions(theirs1));
  t.deepEqual(actions(theirs1).filter((l) => !l.endsWith(' no-op')), ['aws_eks_cluster.spare[1] create', 'aws_eks_cluster.team["a"] update', 'aws_eks_cluster.team["c"] create', 'aws_eks_identity_provider_config.sso["a"] update', 'aws_eks_identity_provider_config.sso["c"] create']);
  const tfApplied = await tf(['apply', 'tfplan']);
  t.is(tfApplied.code, 0, out(tfApplied));
  const again = await eksidp(['plan', '--detailed-exitcode', ...ourVars(grow)]);
  t.is(again.code, 0, `eksidp plans changes on the state Terraform wrote:\n${out(again)}`);
  t.deepEqual((await outputsAgree('after terraform apply')).cluster_names!.value, ['cdk-a', 'cdk-b', 'cdk-c']);

  // 4. Shrinking: b and the spares dropped. The same plan; eksidp applies it (hashicorp/aws would wait
  // a minute per deleted cluster) and Terraform plans no changes on its state.
  const shrink = { versions: '{a="1.33",c="1.31"}', spares: '0' };
  const [ours2, theirs2] = await Promise.all([eksidp(['plan', '--json', ...ourVars(shrink)]), tfPlanJson(tfVars(shrink))]);
  t.is(ours2.code, 0, out(ours2));
  t.deepEqual(actions(JSON.parse(ours2.stdout) as { resource_changes: Change[] }), actions(theirs2));
  t.deepEqual(actions(theirs2).filter((l) => !l.endsWith(' no-op')), ['aws_eks_cluster.spare[0] delete', 'aws_eks_cluster.spare[1] delete', 'aws_eks_cluster.team["b"] delete', 'aws_eks_identity_provider_config.sso["b"] delete']);
  const shrunk = await eksidp(['apply', '--auto-approve', ...ourVars(shrink)]);
  t.is(shrunk.code, 0, out(shrunk));
  const last = await tf(['plan', '-detailed-exitcode', ...tfVars(shrink)]);
  t.is(last.code, 0, `Terraform plans changes on the state eksidp wrote:\n${out(last)}`);
  t.deepEqual((await outputsAgree('after eksidp shrinks')).cluster_names!.value, ['cdk-a', 'cdk-c']);
});
