import fs from 'node:fs';
import path from 'node:path';
import { CreateClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { eksidp } from '../fixtures/drift/stacks';
import { terraform, type TfResult } from '../helpers/terraform';
import { clusterName, needsSerial, stackJson, teamArgs, type StackGen } from './stacks';

/**
 * One differential scenario (test/fuzz-terraform.test.ts, bench/fuzz.ts): the same stack, state and
 * out-of-band changes through eksidp and through terraform 1.11 + hashicorp/aws 5.100 on one emulator.
 * Returns the disagreements found (empty when the tools agree), each a line naming the check.
 *
 * The folder is shared by all scenarios (one `terraform init`, one provider mirror): each scenario
 * rewrites the configuration and starts from no state.
 */

type Json = Record<string, unknown>;
type TfPlan = {
  resource_changes?: { address: string; mode: string; change: { actions: string[] } }[];
  resource_drift?: { address: string; mode: string; change: { actions: string[]; before: unknown; after: unknown } }[];
};
type Drift = { resources: { address: string | null; status: string; differences: { path: string }[] }[] };

/**
 * Where Terraform's refresh-only plan and eksidp's drift verdict may differ, by attribute path, and
 * why. Terraform's path only; each applies when Terraform's drift there is the only one.
 */
export const DRIFT_EXCEPTIONS: { path: RegExp; why: string }[] = [
  { path: /^(tags|tags_all)$/, why: 'null versus {}: hashicorp/aws reads absent tags as {} (drift/README.md, documented false positive); eksidp compares tags by content' },
  { path: /^(certificate_authority|identity|kubernetes_network_config|access_config|upgrade_policy|zonal_shift_config|compute_config|storage_config|remote_network_config|encryption_config|outpost_config|vpc_config|platform_version|status|endpoint|created_at|cluster_id|enabled_cluster_log_types|bootstrap_self_managed_addons|version|role_arn|arn)(\.|$)/, why: 'cluster attributes drift does not compare (drift/README.md): EKS-computed or set outside identity' },
  { path: /^oidc\.0\.(required_claims|groups_claim|groups_prefix|username_claim|username_prefix)$/, why: 'null versus empty in a config\'s oidc block, as for tags' },
];

export type ScenarioResult = { disagreements: string[]; ms: number; terraformRuns: number };

export type Env = { dir: string; emulatorUrl: string; client: EKSClient };

/** The shared folder's `terraform init` (once for all scenarios). */
export async function initFolder(env: Env): Promise<void> {
  fs.writeFileSync(path.join(env.dir, 'main.tf.json'), JSON.stringify(stackJson({ clusters: [{ adopted: false, version: '1.32', configs: [] }], outputs: [], team: { via: 'var' }, oob: [] }, 'init-'), null, 1));
  const r = await terraform(env.dir, ['init', '-input=false', '-no-color'], tfEnv(env));
  if (r.code !== 0) throw new Error(`terraform init: ${r.stderr}`);
}

const tfEnv = (env: Env, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ AWS_ENDPOINT_URL_EKS: env.emulatorUrl, AWS_EC2_METADATA_DISABLED: 'true', ...extra });

const actionsOf = (changes: { address: string; mode: string; change: { actions: string[] } }[] | undefined) =>
  Object.fromEntries((changes ?? []).filter((c) => c.mode === 'managed').map((c) => [c.address, c.change.actions.join(',')]));

/** Leaf paths where two JSON values differ (`a.0.b`). */
export function diffPaths(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a as Json), ...Object.keys(b as Json)]);
    return [...keys].flatMap((k) => diffPaths((a as Json)[k], (b as Json)[k], at ? `${at}.${k}` : k));
  }
  return [at];
}

const emptyish = (v: unknown) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** Terraform's drift of one resource, less the listed exceptions: 'in_sync', 'changed' or 'missing'. */
export function terraformVerdict(d: { change: { actions: string[]; before: unknown; after: unknown } } | undefined): string {
  if (!d) return 'in_sync';
  if (d.change.actions.includes('delete')) return 'missing';
  const get = (v: unknown, p: string) => p.split('.').reduce<unknown>((x, k) => (x === null || typeof x !== 'object' ? undefined : (x as Json)[k]), v);
  const real = diffPaths(d.change.before, d.change.after).filter((p) => {
    const ex = DRIFT_EXCEPTIONS.find((e) => e.path.test(p) || e.path.test(p.split('.').slice(0, 1).join('.')) || e.path.test(p.split('.').slice(0, 3).join('.')));
    if (!ex) return true;
    // The tags and oidc exceptions cover null versus empty only; a real tag change is drift.
    if (/^(tags|tags_all|oidc)/.test(p)) {
      const top = p.startsWith('oidc') ? p.split('.').slice(0, 3).join('.') : p.split('.')[0]!;
      return !(emptyish(get(d.change.before, top)) && emptyish(get(d.change.after, top)));
    }
    return false;
  });
  return real.length ? 'changed' : 'in_sync';
}

/** Applies the out-of-band changes through the emulator's admin API; a refused one (EKS limits) is skipped alike for both tools. */
async function outOfBand(env: Env, s: StackGen, prefix: string): Promise<string[]> {
  const done: string[] = [];
  for (const o of s.oob) {
    const i = o.cluster % s.clusters.length;
    const c = s.clusters[i]!;
    const cluster = clusterName(prefix, i);
    let route: string, body: Json;
    switch (o.kind) {
      case 'tag-cluster':
        if (c.adopted) continue;
        route = 'tags'; body = { cluster, set: o.set, ...(o.remove && c.tags && Object.keys(c.tags).length ? { remove: [Object.keys(c.tags)[0]] } : {}) };
        break;
      case 'tag-config': {
        if (!c.configs.length) continue;
        const x = c.configs[o.config % c.configs.length]!;
        route = 'tags'; body = { cluster, config: x.name, set: o.set, ...(o.remove && x.tags && Object.keys(x.tags).length ? { remove: [Object.keys(x.tags)[0]] } : {}) };
        break;
      }
      case 'disassociate':
        if (!c.configs.length) continue;
        route = 'disassociate'; body = { cluster, config: c.configs[o.config % c.configs.length]!.name };
        break;
      case 'rogue':
        route = 'associate'; body = { cluster, oidc: { identityProviderConfigName: o.name, issuerUrl: `https://${o.name}.example.net`, clientId: 'rogue' } };
        break;
      case 'delete-cluster':
        // An adopted cluster deleted makes both tools fail reading the data source: not a plan to compare.
        if (c.adopted) continue;
        route = 'delete-cluster'; body = { cluster };
        break;
    }
    const res = await fetch(`${env.emulatorUrl}/_emulator/out-of-band/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await res.text();
    if (res.ok) done.push(`${route} ${JSON.stringify(body)}`);
  }
  return done;
}

/** Creates the adopted clusters (the data sources' objects) before the stack. */
async function seedAdopted(env: Env, s: StackGen, prefix: string): Promise<void> {
  await Promise.all(s.clusters.map(async (c, i) => {
    if (!c.adopted) return;
    await env.client.send(new CreateClusterCommand({ name: clusterName(prefix, i), roleArn: 'arn:aws:iam::000000000000:role/eks', version: c.version, resourcesVpcConfig: { subnetIds: [`subnet-${i}`] }, ...(c.tags && Object.keys(c.tags).length ? { tags: c.tags } : {}) }));
  }));
  // The emulator runs with clusterCreateMs 0: ACTIVE at the next request.
}

export async function runScenario(env: Env, s: StackGen, prefix: string, log: (line: string) => void = () => {}): Promise<ScenarioResult> {
  const t0 = Date.now();
  const out: string[] = [];
  let runs = 0;
  const { dir } = env;
  const vars = teamArgs(s);
  const serial = needsSerial(s) ? ['-parallelism=1'] : [];
  const tf = async (args: string[]): Promise<TfResult> => {
    runs++;
    const t1 = Date.now();
    const r = await terraform(dir, [...args, '-no-color'], tfEnv(env, vars.env));
    log(`terraform ${args[0]} ${Date.now() - t1} ms`);
    return r;
  };
  const ours = async (args: string[]) => {
    const t1 = Date.now();
    const r = await eksidp([...args, '--dir', dir], dir, { ...tfEnv(env, vars.env), EKSIDP_POLL_INITIAL_MS: '5', EKSIDP_POLL_MAX_MS: '20' });
    log(`eksidp ${args[0]} ${Date.now() - t1} ms`);
    return r;
  };
  const fail = (what: string, r: { code: number; stdout: string; stderr: string }) => `${what} exited ${r.code}: ${r.stderr.slice(-1500)} ${r.stdout.slice(-1500)}`;
  const tfPlan = async (name: string, extra: string[] = []): Promise<TfPlan | undefined> => {
    const p = await tf(['plan', '-input=false', '-lock=false', ...serial, ...vars.terraform, ...extra, `-out=${name}`]);
    if (p.code !== 0) { out.push(fail(`terraform plan ${extra.join(' ')}`, p)); return undefined; }
    const shown = await tf(['show', '-json', name]);
    return JSON.parse(shown.stdout) as TfPlan;
  };
  const ourPlan = async (what: string): Promise<TfPlan | undefined> => {
    const r = await ours(['plan', '--json', ...vars.eksidp]);
    if (r.code !== 0) { out.push(fail(`eksidp plan (${what})`, r)); return undefined; }
    return JSON.parse(r.stdout) as TfPlan;
  };
  const comparePlans = (what: string, a: TfPlan | undefined, b: TfPlan | undefined) => {
    if (!a || !b) return;
    const [x, y] = [actionsOf(a.resource_changes), actionsOf(b.resource_changes)];
    if (JSON.stringify(sorted(x)) !== JSON.stringify(sorted(y))) out.push(`${what}: plan actions differ\n  eksidp:    ${JSON.stringify(sorted(y))}\n  terraform: ${JSON.stringify(sorted(x))}`);
  };
  const compareOutputs = async (what: string) => {
    const [a, b] = await Promise.all([tf(['output', '-json']), ours(['output', '--json'])]);
    if (a.code !== 0 || b.code !== 0) { out.push(`${what}: output exited terraform ${a.code} eksidp ${b.code}: ${a.stderr} ${b.stderr}`); return; }
    if (JSON.stringify(JSON.parse(a.stdout)) !== JSON.stringify(JSON.parse(b.stdout))) out.push(`${what}: outputs differ\n  eksidp:    ${b.stdout.trim()}\n  terraform: ${a.stdout.trim()}`);
  };

  for (const f of ['terraform.tfstate', 'terraform.tfstate.backup']) fs.rmSync(path.join(dir, f), { force: true });
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(stackJson(s, prefix), null, 1));
  await seedAdopted(env, s, prefix);

  // 1. From no state: the same plan.
  comparePlans('from no state', await tfPlan('p0.tfplan'), await ourPlan('from no state'));
  // 2. eksidp applies; Terraform reads its state and plans nothing (outputs included); outputs agree.
  const applied = await ours(['apply', '--auto-approve', ...vars.eksidp]);
  if (applied.code !== 0) { out.push(fail('eksidp apply', applied)); return { disagreements: out, ms: Date.now() - t0, terraformRuns: runs }; }
  const after = await tf(['plan', '-input=false', '-lock=false', '-detailed-exitcode', ...serial, ...vars.terraform]);
  if (after.code !== 0) out.push(`terraform plans changes on the state eksidp wrote (exit ${after.code}):\n${after.stdout.slice(-3000)}${after.stderr.slice(-1000)}`);
  await compareOutputs('after eksidp apply');
  // 3. Out-of-band changes; drift verdicts against Terraform's refresh-only plan.
  const changes = await outOfBand(env, s, prefix);
  log(`out of band: ${changes.length ? changes.join('; ') : 'none'}`);
  const refresh = await tfPlan('r.tfplan', ['-refresh-only']);
  const drift = await ours(['drift', '--format', 'json', ...vars.eksidp]);
  if (drift.code !== 0 && drift.code !== 2) out.push(fail('eksidp drift', drift));
  else if (refresh) {
    const tfDrift = new Map((refresh.resource_drift ?? []).filter((d) => d.mode === 'managed').map((d) => [d.address, d]));
    for (const r of (JSON.parse(drift.stdout) as Drift).resources) {
      if (r.address === null || r.status === 'unmanaged') continue; // Terraform cannot see configs it does not manage.
      const theirs = terraformVerdict(tfDrift.get(r.address));
      if (theirs !== r.status) out.push(`drift of ${r.address}: eksidp ${r.status} ${JSON.stringify(r.differences.map((d) => d.path))}, terraform ${theirs} ${JSON.stringify(tfDrift.get(r.address)?.change ?? null)}`);
    }
  }
  // 4. After the changes: the same plan; Terraform applies its saved plan; eksidp reads that state and plans nothing.
  const tfAfter = await tfPlan('p2.tfplan');
  comparePlans('after out-of-band changes', tfAfter, await ourPlan('after out-of-band changes'));
  if (tfAfter) {
    const a = await tf(['apply', '-input=false', '-lock=false', ...serial, 'p2.tfplan']);
    if (a.code !== 0) out.push(fail('terraform apply', a));
    else {
      const again = await ourPlan('on the state Terraform wrote');
      const changed = Object.entries(actionsOf(again?.resource_changes)).filter(([, act]) => act !== 'no-op');
      if (again && changed.length) out.push(`eksidp plans changes on the state Terraform wrote: ${JSON.stringify(changed)}`);
      await compareOutputs('after terraform apply');
    }
  }
  return { disagreements: out, ms: Date.now() - t0, terraformRuns: runs };
}

const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
