import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { eksidpInProcess } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Outputs against the oracle: after `eksidp apply`, Terraform (hashicorp/aws 5.100, offline, on the
 * emulator) plans no changes (outputs included: same values, same types), and `terraform output`
 * prints exactly what `eksidp output` prints, in every mode; a changed configuration plans the same
 * output changes in both. One emulator, one `terraform init`, three Terraform plans and one show.
 *
 * Outputs that take a whole resource or a block holding attributes the provider turns from null into
 * `[]`/`{}` on read (vpc_config's security_group_ids, a config's tags) are left out: Terraform plans an
 * output change for those right after its own apply too (measured here with Terraform 1.11).
 */

function stack(endpoint: string, edit = false): string {
  const provider = {
    region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator',
    skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true,
    endpoints: [{ eks: endpoint }],
  };
  const outputs: Record<string, unknown> = {
    name: { value: '${aws_eks_cluster.main.name}' },
    arn: { value: '${aws_eks_cluster.main.arn}', sensitive: true, description: 'cluster ARN' },
    tags: { value: '${aws_eks_cluster.main.tags}' },
    tags_all: { value: '${aws_eks_cluster.main.tags_all}' },
    subnets: { value: '${aws_eks_cluster.main.vpc_config[0].subnet_ids}' },
    ca: { value: '${aws_eks_cluster.main.certificate_authority}' },
    config_id: { value: '${aws_eks_identity_provider_config.corp.id}' },
    claims: { value: '${aws_eks_identity_provider_config.corp.oidc[0].required_claims}' },
    literal_list: { value: ['a', 1, true, null] },
    literal_map: { value: { a: 'x', 'b c': 2, nested: { deep: [1, 2] } } },
    number: { value: 1.5 },
    flag: { value: false },
    summary: { value: 'cluster ${aws_eks_cluster.main.name} (${aws_eks_cluster.main.version})' },
    mixed: { value: ['${aws_eks_cluster.main.name}', { tags: '${aws_eks_cluster.main.tags}', zones: '${var.zones}' }] },
    multiline: { value: 'line one\nline "two"\n<html> & \t tab' },
    zones: { value: '${var.zones}' },
    zone_set: { value: '${var.zone_set}' },
    untyped: { value: '${var.untyped}' },
    replicas: { value: '${var.replicas}' },
    labels: { value: '${var.labels}' },
    empty_list: { value: [] },
    empty_map: { value: {} },
    nothing: { value: null },
    secret_list: { value: ['${aws_eks_cluster.main.name}'], sensitive: true },
  };
  if (edit) {
    // Changed, added, removed; and the cluster's tags change in place.
    outputs.summary = { value: 'renamed ${aws_eks_cluster.main.name}' };
    outputs.added = { value: { at: '${aws_eks_cluster.main.arn}' } };
    delete outputs.flag;
    outputs.number = { value: 2 };
  }
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: [provider] },
    variable: {
      zones: { type: 'list(string)', default: ['b', 'a'] },
      zone_set: { type: 'set(string)', default: ['b', 'a', 'b'] },
      untyped: { default: ['x', 2] },
      replicas: { type: 'number', default: '3' },
      labels: { type: 'map(string)', default: { team: 'platform', tier: 1 } },
    },
    resource: {
      aws_eks_cluster: {
        main: {
          name: 'outputs-main', version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster',
          vpc_config: [{ subnet_ids: ['subnet-0bbb2222', 'subnet-0aaa1111'] }], tags: { env: 'local', team: edit ? 'identity' : 'platform' },
        },
      },
      aws_eks_identity_provider_config: {
        corp: {
          cluster_name: '${aws_eks_cluster.main.name}',
          oidc: [{ client_id: 'kubernetes', identity_provider_config_name: 'corp', issuer_url: 'https://sso.example.com', required_claims: { aud: 'kubernetes', hd: 'example.com' } }],
        },
      },
    },
    output: outputs,
  }, null, 2);
}

const eksidp = (argv: string[], cwd: string) => eksidpInProcess(argv, cwd);

const tf = (dir: string, args: string[]): Promise<TfResult> => terraform(dir, [...args, '-no-color']);
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;

/** The "Changes to Outputs:" section of a rendered plan, up to the next blank line. */
function outputSection(text: string): string {
  const start = text.indexOf('Changes to Outputs:');
  if (start < 0) return '';
  const end = text.indexOf('\n\n', start);
  return text.slice(start, end < 0 ? undefined : end);
}

terraformTest(test, 'outputs written by eksidp plan no changes in Terraform and print the same in every terraform output mode; a changed stack plans the same output changes', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-outputs-'));
  if (process.env.EKSIDP_KEEP_TF_DIR !== '1') t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack(em.url));

  const [applied, init] = await Promise.all([eksidp(['apply', '--dir', dir, '--auto-approve'], dir), tf(dir, ['init', '-input=false'])]);
  t.is(applied.code, 0, out(applied));
  t.is(init.code, 0, init.stderr);
  const plan = await tf(dir, ['plan', '-detailed-exitcode', '-input=false']);
  t.is(plan.code, 0, `Terraform sees changes in the state eksidp wrote:\n${out(plan)}`);

  // Every output mode, Terraform's against eksidp's (Terraform only reads the state here: all at once).
  const modes = [['-json'], [], ['multiline'], ['literal_map'], ['zone_set'], ['-json', 'literal_map'], ['-raw', 'name'], ['-raw', 'number'], ['-raw', 'multiline']];
  const results = await Promise.all(modes.map((args) => Promise.all([
    tf(dir, ['output', ...args]),
    eksidp(['output', '--dir', dir, ...args.map((x) => x.replace(/^-(json|raw)$/, '--$1'))], dir),
  ])));
  for (const [i, [theirs, ours]] of results.entries()) {
    t.is(theirs.code, 0, theirs.stderr);
    t.is(ours.code, 0, ours.stderr);
    t.is(ours.stdout, theirs.stdout, `terraform output ${modes[i]!.join(' ')}: byte for byte (Go's HTML escaping in JSON included)`);
  }
  const all = JSON.parse(results[0]![1].stdout) as Record<string, unknown>;
  t.deepEqual(all, JSON.parse(results[0]![0].stdout));
  t.false('nothing' in all, 'a null output is not in state');
  t.deepEqual(all.arn, { sensitive: true, type: 'string', value: 'arn:aws:eks:us-east-1:000000000000:cluster/outputs-main' });

  // A changed stack: the same output changes in both tools' JSON plans and the same rendered section.
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack(em.url, true));
  // eksidp's two plans one after the other (each takes the state lock), meanwhile Terraform's.
  const [saved, [ours, ourText2]] = await Promise.all([
    tf(dir, ['plan', '-out=tfplan', '-input=false']),
    eksidp(['plan', '--dir', dir, '--json'], dir).then(async (j) => [j, await eksidp(['plan', '--dir', dir], dir)] as const),
  ]);
  t.is(saved.code, 0, out(saved));
  t.is(ours.code, 0, out(ours));
  t.is(ourText2.code, 0, out(ourText2));
  const shown = await tf(dir, ['show', '-json', 'tfplan']);
  t.is(shown.code, 0, shown.stderr);
  const theirs = JSON.parse(shown.stdout) as Record<string, any>;
  const mine = JSON.parse(ours.stdout) as Record<string, any>;
  t.deepEqual(mine.output_changes, theirs.output_changes);
  t.deepEqual(mine.planned_values.outputs, theirs.planned_values.outputs);
  t.deepEqual(mine.prior_state.values.outputs, theirs.prior_state.values.outputs);
  t.deepEqual(Object.fromEntries(Object.entries(mine.output_changes as Record<string, { actions: string[] }>).filter(([, c]) => c.actions[0] !== 'no-op').map(([k, c]) => [k, c.actions[0]])), { added: 'create', flag: 'delete', mixed: 'update', number: 'update', summary: 'update', tags: 'update', tags_all: 'update' });
  t.is(outputSection(ourText2.stdout), outputSection(saved.stdout));

  // Applied by eksidp: Terraform agrees again.
  const reapplied = await eksidp(['apply', '--dir', dir, '--auto-approve'], dir);
  t.is(reapplied.code, 0, out(reapplied));
  const again = await tf(dir, ['plan', '-detailed-exitcode', '-input=false']);
  t.is(again.code, 0, `Terraform sees changes after eksidp applied the changed outputs:\n${out(again)}`);
});
