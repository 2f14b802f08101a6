import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator';
import { eksidpInProcess } from './helpers/in-process';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';

/**
 * Sensitive values against the oracle (Terraform 1.11 + hashicorp/aws 5.100, offline, on the
 * emulator). One stack with sensitive variables flowing through templates, functions, a conditional
 * and a merge into a cluster's tags and a config's client_id and required_claims, and
 * `data.aws_eks_cluster_auth` (its `token` is schema-sensitive; the plugin serves it, no API call).
 * Terraform plans and applies it in one folder, eksidp in another (other cluster names):
 * - the JSON plans mark the same paths (before/after_sensitive, planned sensitive_values, prior_state);
 * - the plan texts show `(sensitive value)` for the same attributes and elements;
 * - the states record the same `sensitive_attributes` (as sets: Terraform's order is not stable);
 * - Terraform reads eksidp's state and plans no changes;
 * - an output of a sensitive value not declared sensitive fails in both with "Output refers to sensitive values".
 */

function stack(endpoint: string, name: string, leak = false): string {
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: [{ region: 'us-east-1', access_key: 'e', secret_key: 'e', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true, endpoints: [{ eks: endpoint }] }] },
    variable: {
      secret: { type: 'string', default: 'hunter2', sensitive: true },
      smap: { type: 'map(string)', default: { a: 'x' }, sensitive: true },
      plain: { type: 'string', default: 'p' },
    },
    resource: {
      aws_eks_cluster: {
        main: {
          name, version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks-cluster', vpc_config: [{ subnet_ids: ['subnet-1', 'subnet-2'] }],
          tags: { env: 'local', secret: '${var.secret}', upper: '${upper(var.secret)}', joined: 'a-${var.secret}', cond: '${var.plain == "p" ? "yes" : var.secret}', len: '${length(var.smap)}', open: '${nonsensitive(var.secret)}' },
        },
      },
      aws_eks_identity_provider_config: {
        corp: {
          cluster_name: '${aws_eks_cluster.main.name}',
          oidc: [{ client_id: '${var.secret}', identity_provider_config_name: 'corp', issuer_url: 'https://sso.example.com', required_claims: '${merge(var.smap, {b = "y"})}' }],
        },
      },
    },
    data: { aws_eks_cluster_auth: { auth: { name } } },
    output: {
      tags: { value: '${aws_eks_cluster.main.tags}', sensitive: true },
      name: { value: '${aws_eks_cluster.main.name}' },
      has_token: { value: '${nonsensitive(length(data.aws_eks_cluster_auth.auth.token) > 0)}' },
      ...(leak ? { leak: { value: '${aws_eks_identity_provider_config.corp.oidc[0].client_id}' } } : {}),
    },
  }, null, 2);
}

const eksidp = (argv: string[], cwd: string) => eksidpInProcess(argv, cwd);

const tf = (dir: string, args: string[]): Promise<TfResult> => terraform(dir, [...args, '-no-color']);
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`;

/** The paths a sensitiveAsBool document marks true (shapes of unknown values aside). */
function truePaths(v: unknown, at = ''): string[] {
  if (v === true) return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => truePaths(x, `${at}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => truePaths(x, `${at}.${k}`));
  return [];
}

type Plan = { resource_changes: { address: string; change: { before_sensitive: unknown; after_sensitive: unknown } }[]; planned_values: { root_module: { resources: { address: string; sensitive_values: unknown }[] } }; prior_state?: { values: { root_module: { resources: { address: string; sensitive_values: unknown }[] } } }; variables?: unknown };

function marks(p: Plan) {
  return {
    changes: Object.fromEntries(p.resource_changes.map((c) => [c.address, [truePaths(c.change.before_sensitive).sort(), truePaths(c.change.after_sensitive).sort()]])),
    planned: Object.fromEntries(p.planned_values.root_module.resources.map((r) => [r.address, truePaths(r.sensitive_values).sort()])),
    prior: Object.fromEntries((p.prior_state?.values.root_module.resources ?? []).map((r) => [r.address, truePaths(r.sensitive_values).sort()])),
  };
}

/** The attribute names and map keys a plan text shows as `(sensitive value)`. */
function maskedNames(text: string): string[] {
  return [...new Set([...text.matchAll(/"?([\w]+)"?\s*=\s*\(sensitive value\)/g)].map((m) => m[1]!))].sort();
}

function sensitiveAttributes(dir: string): Record<string, string[]> {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')) as { resources: { mode: string; type: string; name: string; instances: { sensitive_attributes: unknown[] }[] }[] };
  return Object.fromEntries(state.resources.map((r) => [`${r.mode === 'data' ? 'data.' : ''}${r.type}.${r.name}`, r.instances[0]!.sensitive_attributes.map((p) => JSON.stringify(p)).sort()]));
}

terraformTest(test, 'sensitive values: the same marks as Terraform in JSON plans, plan text and state sensitive_attributes; Terraform reads eksidp\'s state with no changes; an undeclared sensitive output fails in both', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-sensitive-'));
  if (process.env.EKSIDP_KEEP_TF_DIR !== '1') t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const theirsDir = path.join(root, 'terraform');
  const oursDir = path.join(root, 'eksidp');
  for (const [d, n] of [[theirsDir, 'sens-tf'], [oursDir, 'sens-ek']] as const) { fs.mkdirSync(d); fs.writeFileSync(path.join(d, 'cdk.tf.json'), stack(em.url, n)); }
  // eksidp's plugin-served data source needs the provider installed in its folder too.
  const inits = await Promise.all([tf(theirsDir, ['init', '-input=false']), tf(oursDir, ['init', '-input=false'])]);
  for (const i of inits) t.is(i.code, 0, i.stderr);

  // eksidp's two plans one after the other (each takes the state lock), meanwhile Terraform's.
  const [saved, [ours, ourText]] = await Promise.all([
    tf(theirsDir, ['plan', '-out=tfplan', '-input=false']),
    eksidp(['plan', '--dir', oursDir, '--json'], oursDir).then(async (j) => [j, await eksidp(['plan', '--dir', oursDir, '--no-color'], oursDir)] as const),
  ]);
  t.is(saved.code, 0, out(saved));
  t.is(ours.code, 0, out(ours));
  t.is(ourText.code, 0, out(ourText));
  const shown = await tf(theirsDir, ['show', '-json', 'tfplan']);
  t.is(shown.code, 0, shown.stderr);
  const theirs = JSON.parse(shown.stdout) as Plan;
  const mine = JSON.parse(ours.stdout) as Plan;
  t.deepEqual(marks(mine), marks(theirs));
  t.deepEqual(mine.variables, theirs.variables, 'the JSON plan lists the variables, sensitive ones in clear, as Terraform does');
  t.true(marks(mine).changes['aws_eks_cluster.main']![1]!.includes('.tags.secret'));
  t.false(marks(mine).changes['aws_eks_cluster.main']![1]!.includes('.tags.open'), 'nonsensitive() removes the mark');
  t.deepEqual(maskedNames(ourText.stdout), maskedNames(saved.stdout));
  t.deepEqual(maskedNames(saved.stdout), ['client_id', 'cond', 'joined', 'len', 'required_claims', 'secret', 'tags', 'upper']);

  const [applied, ourApply] = await Promise.all([tf(theirsDir, ['apply', '-input=false', 'tfplan']), eksidp(['apply', '--dir', oursDir, '--auto-approve'], oursDir)]);
  t.is(applied.code, 0, out(applied));
  t.is(ourApply.code, 0, out(ourApply));
  t.deepEqual(sensitiveAttributes(oursDir), sensitiveAttributes(theirsDir));
  t.deepEqual(sensitiveAttributes(oursDir)['data.aws_eks_cluster_auth.auth'], ['[{"type":"get_attr","value":"token"}]']);

  const [readBack, ourShow] = await Promise.all([tf(oursDir, ['plan', '-detailed-exitcode', '-input=false']), eksidp(['show', '--dir', oursDir, '--no-color'], oursDir)]);
  t.is(readBack.code, 0, `Terraform sees changes in the state eksidp wrote:\n${out(readBack)}`);
  // And eksidp reads both states with no changes (Terraform's sensitive_attributes in its own order).
  for (const d of [oursDir, theirsDir]) {
    const again = await eksidp(['plan', '--dir', d, '--detailed-exitcode'], d);
    t.is(again.code, 0, `eksidp sees changes in ${path.basename(d)}'s state:\n${out(again)}`);
  }
  t.regex(ourShow.stdout, /token = \(sensitive value\)/);
  t.regex(ourShow.stdout, /client_id\s+= \(sensitive value\)/);

  for (const d of [theirsDir, oursDir]) fs.writeFileSync(path.join(d, 'cdk.tf.json'), stack(em.url, d === theirsDir ? 'sens-tf' : 'sens-ek', true));
  const [tfLeak, ourLeak] = await Promise.all([tf(theirsDir, ['plan', '-input=false']), eksidp(['plan', '--dir', oursDir], oursDir)]);
  t.is(tfLeak.code, 1);
  t.regex(tfLeak.stderr, /Output refers to sensitive values/);
  t.is(ourLeak.code, 1);
  t.regex(ourLeak.stderr, /output\.leak: value: Output refers to sensitive values/);
  t.false(ourLeak.stderr.includes('hunter2'));
});
