import fs from 'node:fs';
import path from 'node:path';
import { CreateClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { eksidp } from '../fixtures/drift/stacks';
import { terraform, type TfResult } from '../helpers/terraform';
import { instances, mergeStacks, needsSerial, ownerOf, stackJson, teamArgs, type Item, type StackGen } from './stacks';

/**
 * Differential scenarios (test/fuzz-terraform.test.ts, bench/fuzz.ts): the same stack, state and
 * out-of-band changes through eksidp and through terraform 1.11 + hashicorp/aws 5.100 on one emulator.
 * `runBatch` runs one or more scenarios in one configuration (each under its own namespace, see
 * `mergeStacks`), so each check is one tool run for the whole batch; every finding is attributed back
 * to its scenario by address or output name, and a finding no scenario owns (a tool that exits with an
 * error, a change at an address of no scenario) is `shared`: bench/fuzz.ts then re-runs every scenario
 * of the batch alone. `runScenario` is a batch of one, with no namespace.
 *
 * The folder is shared by all batches (one `terraform init`, one provider mirror): each batch rewrites
 * the configuration and starts from no state.
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
export type BatchResult = { perItem: string[][]; shared: string[]; ms: number; terraformRuns: number };

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

/** Applies one scenario's out-of-band changes through the emulator's admin API; a refused one (EKS limits) is skipped alike for both tools. */
async function outOfBand(env: Env, s: StackGen, prefix: string): Promise<string[]> {
  const done: string[] = [];
  const all = instances(s, prefix);
  // Instances an output picks by key (`aws_eks_cluster.c0["a"].name`): Terraform's refresh-only plan
  // fails (Invalid index, in the output) once such an instance is gone, and eksidp's drift judges
  // resources, not outputs. Not deleted out of band (engine/README.md, "Differential fuzzing").
  const indexed = new Set(s.outputs.map((o) => all[o.of % all.length]!).filter((x) => x.key !== undefined));
  for (const o of s.oob) {
    const inst = all[o.cluster % all.length]!;
    if ((o.kind === 'disassociate' || o.kind === 'delete-cluster') && indexed.has(inst)) continue;
    const c = inst.cluster;
    const cluster = inst.name;
    let route: string, body: Json;
    switch (o.kind) {
      case 'tag-cluster':
        if (c.adopted) continue;
        route = 'tags'; body = { cluster, set: o.set, ...(o.remove && c.tags && Object.keys(c.tags).length ? { remove: [Object.keys(c.tags)[0]] } : {}) };
        break;
      case 'tag-config': {
        if (!c.configs.length) continue;
        const j = o.config % c.configs.length;
        const x = c.configs[j]!;
        route = 'tags'; body = { cluster, config: inst.configNames[j], set: o.set, ...(o.remove && x.tags && Object.keys(x.tags).length ? { remove: [Object.keys(x.tags)[0]] } : {}) };
        break;
      }
      case 'disassociate':
        if (!c.configs.length) continue;
        route = 'disassociate'; body = { cluster, config: inst.configNames[o.config % c.configs.length] };
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
  await Promise.all(instances(s, prefix).map(async (x) => {
    if (!x.cluster.adopted) return;
    const c = x.cluster;
    await env.client.send(new CreateClusterCommand({ name: x.name, roleArn: 'arn:aws:iam::000000000000:role/eks', version: x.version, resourcesVpcConfig: { subnetIds: [`subnet-${x.i}`] }, ...(c.tags && Object.keys(c.tags).length ? { tags: c.tags } : {}) }));
  }));
  // The emulator runs with clusterCreateMs 0: ACTIVE at the next request.
}

/** One scenario alone, names without a namespace. */
export async function runScenario(env: Env, s: StackGen, prefix: string, log: (line: string) => void = () => {}): Promise<ScenarioResult> {
  const r = await runBatch(env, [{ s, prefix, ns: '' }], log);
  return { disagreements: [...r.shared, ...r.perItem[0]!], ms: r.ms, terraformRuns: r.terraformRuns };
}

export async function runBatch(env: Env, items: Item[], log: (line: string) => void = () => {}): Promise<BatchResult> {
  const t0 = Date.now();
  const perItem: string[][] = items.map(() => []);
  const shared: string[] = [];
  const done = () => ({ perItem, shared, ms: Date.now() - t0, terraformRuns: runs });
  /** A finding at an address or output name goes to its scenario; one no scenario owns is shared. */
  const at = (key: string, line: string) => { const k = ownerOf(items, key); (k >= 0 ? perItem[k]! : shared).push(line); };
  let runs = 0;
  const { dir } = env;
  const args = items.map((x) => teamArgs(x.s, x.ns));
  const vars = { eksidp: args.flatMap((a) => a.eksidp), terraform: args.flatMap((a) => a.terraform), env: Object.assign({}, ...args.map((a) => a.env)) as NodeJS.ProcessEnv };
  const serial = items.some((x) => needsSerial(x.s)) ? ['-parallelism=1'] : [];
  const tf = async (a: string[]): Promise<TfResult> => {
    runs++;
    const t1 = Date.now();
    const r = await terraform(dir, [...a, '-no-color'], tfEnv(env, vars.env));
    log(`terraform ${a[0]} ${Date.now() - t1} ms`);
    return r;
  };
  const ours = async (a: string[]) => {
    const t1 = Date.now();
    const r = await eksidp([...a, '--dir', dir], dir, { ...tfEnv(env, vars.env), EKSIDP_POLL_INITIAL_MS: '5', EKSIDP_POLL_MAX_MS: '20' });
    log(`eksidp ${a[0]} ${Date.now() - t1} ms`);
    return r;
  };
  const fail = (what: string, r: { code: number; stdout: string; stderr: string }) => `${what} exited ${r.code}: ${r.stderr.slice(-1500)} ${r.stdout.slice(-1500)}`;
  const tfPlan = async (name: string, extra: string[] = []): Promise<TfPlan | undefined> => {
    const p = await tf(['plan', '-input=false', '-lock=false', ...serial, ...vars.terraform, ...extra, `-out=${name}`]);
    if (p.code !== 0) { shared.push(fail(`terraform plan ${extra.join(' ')}`, p)); return undefined; }
    const shown = await tf(['show', '-json', name]);
    return JSON.parse(shown.stdout) as TfPlan;
  };
  const ourPlan = async (what: string): Promise<TfPlan | undefined> => {
    const r = await ours(['plan', '--json', ...vars.eksidp]);
    if (r.code !== 0) { shared.push(fail(`eksidp plan (${what})`, r)); return undefined; }
    return JSON.parse(r.stdout) as TfPlan;
  };
  const comparePlans = (what: string, a: TfPlan | undefined, b: TfPlan | undefined) => {
    if (!a || !b) return;
    const [x, y] = [actionsOf(a.resource_changes), actionsOf(b.resource_changes)];
    // Addresses no scenario owns, then each scenario's own addresses.
    const part = (o: Record<string, string>, k: number) => sorted(Object.fromEntries(Object.entries(o).filter(([addr]) => ownerOf(items, addr) === k)));
    for (let k = -1; k < items.length; k++) {
      const [px, py] = [part(x, k), part(y, k)];
      if (JSON.stringify(px) !== JSON.stringify(py)) (k >= 0 ? perItem[k]! : shared).push(`${what}: plan actions differ\n  eksidp:    ${JSON.stringify(py)}\n  terraform: ${JSON.stringify(px)}`);
    }
  };
  const compareOutputs = async (what: string) => {
    const [a, b] = await Promise.all([tf(['output', '-json']), ours(['output', '--json'])]);
    if (a.code !== 0 || b.code !== 0) { shared.push(`${what}: output exited terraform ${a.code} eksidp ${b.code}: ${a.stderr} ${b.stderr}`); return; }
    const [x, y] = [JSON.parse(a.stdout) as Json, JSON.parse(b.stdout) as Json];
    for (const name of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (JSON.stringify(x[name]) !== JSON.stringify(y[name])) at(name, `${what}: output ${name} differs\n  eksidp:    ${JSON.stringify(y[name] ?? null)}\n  terraform: ${JSON.stringify(x[name] ?? null)}`);
    }
  };

  for (const f of ['terraform.tfstate', 'terraform.tfstate.backup']) fs.rmSync(path.join(dir, f), { force: true });
  const config = items.length === 1 && items[0]!.ns === '' ? stackJson(items[0]!.s, items[0]!.prefix) : mergeStacks(items);
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config, null, 1));
  for (const x of items) await seedAdopted(env, x.s, x.prefix);

  // 1. From no state: the same plan.
  comparePlans('from no state', await tfPlan('p0.tfplan'), await ourPlan('from no state'));
  // 2. eksidp applies; Terraform reads its state and plans nothing (outputs included); outputs agree.
  const applied = await ours(['apply', '--auto-approve', ...vars.eksidp]);
  if (applied.code !== 0) { shared.push(fail('eksidp apply', applied)); return done(); }
  const after = await tf(['plan', '-input=false', '-lock=false', '-detailed-exitcode', ...serial, ...vars.terraform, '-out=p1.tfplan']);
  if (after.code === 2) {
    // Which scenarios' resources or outputs Terraform would change.
    const shown = JSON.parse((await tf(['show', '-json', 'p1.tfplan'])).stdout) as TfPlan & { output_changes?: Record<string, { actions: string[]; before: unknown; after: unknown }> };
    for (const c of shown.resource_changes ?? []) if (c.mode === 'managed' && c.change.actions.join() !== 'no-op') at(c.address, `terraform plans ${c.change.actions.join(',')} at ${c.address} on the state eksidp wrote`);
    let excepted = 0;
    for (const [name, c] of Object.entries(shown.output_changes ?? {})) {
      if (c.actions.join() === 'no-op') continue;
      // null → {}: hashicorp/aws leaves a managed cluster's unset tags null at apply and reads {} at
      // refresh, so Terraform plans this output on the state its own apply wrote too (engine/README.md, seed 20002031).
      if (c.before === null && c.after !== null && typeof c.after === 'object' && Object.keys(c.after).length === 0) { excepted++; continue; }
      at(name, `terraform plans ${c.actions.join(',')} of output ${name} on the state eksidp wrote`);
    }
    if (!excepted && ![...perItem, shared].some((l) => l.length)) shared.push(`terraform plan exited 2 on the state eksidp wrote, with no change found in its JSON plan:\n${after.stdout.slice(-3000)}`);
  } else if (after.code !== 0) shared.push(fail('terraform plan on the state eksidp wrote', after));
  await compareOutputs('after eksidp apply');
  // 3. Out-of-band changes; drift verdicts against Terraform's refresh-only plan.
  for (const x of items) {
    const changes = await outOfBand(env, x.s, x.prefix);
    log(`out of band ${x.ns || 'scenario'}: ${changes.length ? changes.join('; ') : 'none'}`);
  }
  const refresh = await tfPlan('r.tfplan', ['-refresh-only']);
  const drift = await ours(['drift', '--format', 'json', ...vars.eksidp]);
  if (drift.code !== 0 && drift.code !== 2) shared.push(fail('eksidp drift', drift));
  else if (refresh) {
    const tfDrift = new Map((refresh.resource_drift ?? []).filter((d) => d.mode === 'managed').map((d) => [d.address, d]));
    const seen = new Set<string>();
    for (const r of (JSON.parse(drift.stdout) as Drift).resources) {
      if (r.address === null || r.status === 'unmanaged') continue; // Terraform cannot see configs it does not manage.
      seen.add(r.address);
      const theirs = terraformVerdict(tfDrift.get(r.address));
      if (theirs !== r.status) at(r.address, `drift of ${r.address}: eksidp ${r.status} ${JSON.stringify(r.differences.map((d) => d.path))}, terraform ${theirs} ${JSON.stringify(tfDrift.get(r.address)?.change ?? null)}`);
    }
    // Terraform's drift at an address eksidp's report does not have at all.
    for (const [addr, d] of tfDrift) if (!seen.has(addr) && terraformVerdict(d) !== 'in_sync') at(addr, `drift of ${addr}: not in eksidp's report, terraform ${terraformVerdict(d)} ${JSON.stringify(d.change)}`);
  }
  // 4. After the changes: the same plan; Terraform applies its saved plan; eksidp reads that state and plans nothing.
  const tfAfter = await tfPlan('p2.tfplan');
  comparePlans('after out-of-band changes', tfAfter, await ourPlan('after out-of-band changes'));
  if (tfAfter) {
    const a = await tf(['apply', '-input=false', '-lock=false', ...serial, 'p2.tfplan']);
    if (a.code !== 0) shared.push(fail('terraform apply', a));
    else {
      const again = await ourPlan('on the state Terraform wrote');
      for (const [addr, act] of Object.entries(actionsOf(again?.resource_changes))) if (act !== 'no-op') at(addr, `eksidp plans ${act} at ${addr} on the state Terraform wrote`);
      await compareOutputs('after terraform apply');
    }
  }
  return done();
}

const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
