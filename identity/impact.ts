import type { Plan, ResourceChange } from '../engine/plan';
import type { ObjectValue, Value } from '../engine/protocol';
import { isUnknown } from '../engine/protocol';
import { resourceAddress, stateInstances } from '../engine/state';
import { parseInstanceAddress } from '../engine/instances';
import { firstBlock } from '../engine/util';
import { addTo } from '../lib/collections';
import { mapIdentity } from './mapping';
import { previewChange } from './preview';
import { bindingLabel, canProduce, checkBindings, rolesFor } from './rbac';
import { CLUSTER_TYPE, CONFIG_TYPE, IdentityDataError, identityMetadata, oidcFromTerraform, parseSampleIdentities } from './terraform';
import type { Finding, IdentityChange, OidcConfig, RbacBinding, SampleIdentity } from './types';

/**
 * The identity impact of a plan: for each identity provider config the plan creates, replaces or
 * removes, who can log in before and after (each sample identity's username and groups, lost
 * groups), the cluster's RBAC bindings it affects, and whether logins stop meanwhile. A typed model
 * derived from the finished plan, the way AWS CDK's cloudformation-diff derives IamChanges from a
 * TemplateDiff: the plan holds only data (planned values, each resource's `//` metadata, the
 * caller's --identities), nothing is stored, and the views (plan text, `show`, the JSON plan's
 * `eksidp` key, apply's pre-approval plan) and drift's report render it. Pure.
 *
 * Inputs beyond the change: `//.eksidp.sample_identities` on a config, `//.eksidp.rbac_bindings`
 * on its cluster (resource or data source), and `sample_identities` in the plan's analysis options
 * (`eksidp plan --identities`), which wins over every config's own.
 */

/** The plan's option key that `eksidp plan --identities` fills. */
export const SAMPLE_IDENTITIES_OPTION = 'sample_identities';

/** Logins through a config stop: while EKS re-associates it (a replacement), or for good (removal). */
export type LoginOutage = { kind: 'reassociation' | 'removal'; cluster: string; config: string };

export type ConfigImpact = {
  address: string;
  actions: readonly string[];
  outage: LoginOutage | null;
  /** Why who can log in cannot be told (a side known only after apply, bad sample identities); identities and bindings are then empty. */
  unavailable: string[];
  /** Each sample identity under the config before and after the change. */
  identities: IdentityChange[];
  /** The cluster whose RBAC bindings were checked, when it is known. */
  cluster: string | null;
  /** What the change does to the cluster's RBAC bindings (every severity, info included). */
  bindings: Finding[];
};

/** One planned change, as the impact needs it (a plan's ResourceChange, or drift's planned instance). */
export type PlannedChange = { address: string; type: string; actions: readonly string[]; before: ObjectValue | null; after: ObjectValue | null; metadata?: Value };

/** Another resource of the plan with its planned values (null when the plan deletes it). */
export type PlannedResource = { address: string; type: string; mode: 'managed' | 'data'; values: ObjectValue | null; metadata?: Value };

export type ImpactContext = {
  /** The plan's resources (the change itself is skipped): the cluster's other configs and the cluster's bindings come from here. */
  related?: readonly PlannedResource[];
  /** `eksidp plan --identities`, unparsed: used instead of every config's sample identities. */
  sampleIdentities?: Value;
};

type Side = { config: OidcConfig | null; problem?: string };

/** The OIDC config of one side of the change: null when that side has no object. */
function sideOf(values: ObjectValue | null): Side {
  if (values === null) return { config: null };
  const block = firstBlock(values.oidc);
  if (!block) return { config: null, problem: 'no oidc block' };
  const unknown = Object.entries(block).find(([, v]) => isUnknown(v));
  if (unknown) return { config: null, problem: `oidc.${unknown[0]} is known only after apply` };
  try {
    return { config: oidcFromTerraform(block) };
  } catch (e) {
    if (e instanceof IdentityDataError) return { config: null, problem: e.message };
    throw e;
  }
}

function metaOf(metadata: Value | undefined) {
  return identityMetadata({ '//': metadata });
}

function configName(values: ObjectValue | null | undefined): string | undefined {
  const name = firstBlock(values?.oidc)?.identity_provider_config_name;
  return typeof name === 'string' ? name : undefined;
}

type Sibling = { address: string; name: string; config: OidcConfig };

/**
 * The plan's resources by cluster name: its configs (managed, in plan order) and the first cluster
 * with metadata. Built once per list: a fleet's impact looked each of thousands of configs' cluster
 * up by scanning every resource.
 */
type RelatedIndex = { configs: Map<string, PlannedResource[]>; clusters: Map<string, PlannedResource> };
const indexes = new WeakMap<readonly PlannedResource[], RelatedIndex>();

function indexOf(related: readonly PlannedResource[]): RelatedIndex {
  let index = indexes.get(related);
  if (index) return index;
  index = { configs: new Map(), clusters: new Map() };
  for (const r of related) {
    if (r.type === CONFIG_TYPE && r.mode === 'managed' && typeof r.values?.cluster_name === 'string') {
      addTo(index.configs, r.values.cluster_name, r);
    }
    if (r.type === CLUSTER_TYPE && typeof r.values?.name === 'string' && r.metadata !== undefined && !index.clusters.has(r.values.name)) index.clusters.set(r.values.name, r);
  }
  indexes.set(related, index);
  return index;
}

/** The cluster's other configs as planned (configs the plan deletes have no planned values). */
function siblingsOf(related: readonly PlannedResource[], cluster: string, self: string): Sibling[] {
  const out: Sibling[] = [];
  for (const r of indexOf(related).configs.get(cluster) ?? []) {
    if (r.address === self) continue;
    const side = sideOf(r.values);
    if (side.config) out.push({ address: r.address, name: configName(r.values) ?? r.address, config: side.config });
  }
  return out;
}

function clusterBindings(related: readonly PlannedResource[], cluster: string): RbacBinding[] {
  const hit = indexOf(related).clusters.get(cluster);
  return hit ? metaOf(hit.metadata).rbacBindings : [];
}

/**
 * When a config goes away: the subjects only it produced now match nobody, and identities that had
 * roles through it lose them unless another config of the cluster still maps them to that role.
 */
function removalFindings(before: OidcConfig, siblings: Sibling[], bindings: RbacBinding[], identities: SampleIdentity[]): Finding[] {
  const findings: Finding[] = [];
  for (const b of bindings) {
    const label = bindingLabel(b);
    for (const [kind, subjects] of [['user', b.users ?? []], ['group', b.groups ?? []]] as const) {
      for (const s of subjects) {
        if (s.startsWith('system:') || !canProduce(before, kind, s) || siblings.some((x) => canProduce(x.config, kind, s))) continue;
        findings.push({
          severity: 'warning', code: kind === 'user' ? 'old-user-prefix' : 'old-group-prefix', binding: label, subject: s,
          message: `${label}: ${kind} ${s} comes only from this config, so it matches nobody once the config is removed`,
        });
      }
    }
  }
  for (const id of identities) {
    const b = mapIdentity(before, id.claims);
    if (!b.accepted) continue;
    const still = siblings.flatMap((s) => {
      const m = mapIdentity(s.config, id.claims);
      return m.accepted ? rolesFor(m, bindings) : [];
    });
    for (const r of rolesFor(b, bindings)) {
      if (still.some((x) => x.binding === r.binding)) continue;
      findings.push({ severity: 'warning', code: 'identity-loses-role', identity: id.name, binding: r.label, message: `${id.name} loses ${r.label} (had it via ${r.via}; the config is removed)` });
    }
  }
  return findings;
}

function outageOf(change: PlannedChange): LoginOutage | null {
  const replacing = change.actions.includes('delete') && change.actions.includes('create');
  const removing = change.actions.length === 1 && change.actions[0] === 'delete';
  if (!replacing && !removing) return null;
  const src = change.before ?? change.after ?? {};
  return { kind: replacing ? 'reassociation' : 'removal', cluster: typeof src.cluster_name === 'string' ? src.cluster_name : '?', config: configName(src) ?? '?' };
}

/**
 * What one planned change of an identity provider config does to who can log in; undefined for
 * other resource types and for changes that touch no login (an in-place update only changes tags:
 * every oidc field forces replacement).
 */
export function configImpact(change: PlannedChange, context: ImpactContext = {}): ConfigImpact | undefined {
  if (change.type !== CONFIG_TYPE) return undefined;
  const creates = change.actions.includes('create');
  const deletes = change.actions.includes('delete');
  if (!creates && !deletes) return undefined;
  const impact: ConfigImpact = { address: change.address, actions: change.actions, outage: outageOf(change), unavailable: [], identities: [], cluster: null, bindings: [] };

  const before = sideOf(deletes ? change.before : null);
  const after = sideOf(creates ? change.after : null);
  const problems = [before.problem && `before: ${before.problem}`, after.problem && `after: ${after.problem}`].filter((p): p is string => !!p);
  let identities: SampleIdentity[] = [];
  try {
    identities = context.sampleIdentities !== undefined
      ? parseSampleIdentities(context.sampleIdentities, '--identities')
      : metaOf(change.metadata).sampleIdentities;
  } catch (e) {
    if (!(e instanceof IdentityDataError)) throw e;
    problems.push(`sample identities: ${e.message}`);
  }
  if (problems.length > 0) return { ...impact, unavailable: problems };

  impact.identities = identities.length > 0 ? previewChange(before.config, after.config, identities) : [];
  const src = change.after ?? change.before;
  const cluster = typeof src?.cluster_name === 'string' ? src.cluster_name : undefined;
  if (cluster !== undefined) {
    impact.cluster = cluster;
    const related = context.related ?? [];
    const bindings = clusterBindings(related, cluster);
    const siblings = siblingsOf(related, cluster, change.address);
    if (bindings.length > 0) {
      impact.bindings = after.config
        ? checkBindings(after.config, bindings, identities, before.config ?? undefined, siblings.map((s) => s.config))
        : before.config ? removalFindings(before.config, siblings, bindings, identities) : [];
    }
  }
  return impact;
}

/**
 * What the plan leaves of every resource, for analyses that span resources (a config's cluster and
 * siblings): planned values of the plan's changes; the refreshed state for what the plan does not
 * touch (resources outside --target); data sources a destroy plan no longer reads, as last read.
 */
export function plannedResources(plan: Plan): PlannedResource[] {
  const out = new Map<string, PlannedResource>();
  const add = (address: string, type: string, mode: 'managed' | 'data', values: ObjectValue | null) => {
    if (out.has(address)) return;
    // Metadata is per resource (its `//` value), shared by all its count / for_each instances.
    const metadata = plan.metadata[parseInstanceAddress(address)?.resource ?? address];
    out.set(address, { address, type, mode, values, ...(metadata !== undefined ? { metadata } : {}) });
  };
  for (const c of plan.changes) add(c.address, c.type, c.mode, c.after);
  for (const x of stateInstances(plan.priorState)) add(x.address, x.resource.type, x.resource.mode, x.instance.attributes);
  for (const x of stateInstances(plan.prevRunState)) if (x.resource.mode === 'data') add(x.address, x.resource.type, x.resource.mode, x.instance.attributes);
  return [...out.values()];
}

/** The identity impact of every change the plan makes, in plan order. */
export function identityImpact(plan: Plan): ConfigImpact[] {
  const acting = plan.changes.filter((c) => c.actions[0] !== 'no-op' && c.type === CONFIG_TYPE);
  if (acting.length === 0) return [];
  const world = plannedResources(plan);
  const sampleIdentities = plan.analysisOptions[SAMPLE_IDENTITIES_OPTION];
  const out: ConfigImpact[] = [];
  for (const c of acting) {
    const impact = configImpact(changeOf(plan, c), { related: world, ...(sampleIdentities !== undefined ? { sampleIdentities } : {}) });
    if (impact) out.push(impact);
  }
  return out;
}

function changeOf(plan: Plan, c: ResourceChange): PlannedChange {
  const metadata = plan.metadata[resourceAddress(c)];
  return { address: c.address, type: c.type, actions: c.actions, before: c.before, after: c.after, ...(metadata !== undefined ? { metadata } : {}) };
}

/** The outage as a sentence (the plan's `# Note:` line, drift's fix). */
export function outageText(o: LoginOutage): string {
  return o.kind === 'reassociation'
    ? `OIDC logins to cluster ${o.cluster} fail while config ${o.config} is re-associated (EKS takes 20–40 min).`
    : `OIDC logins to cluster ${o.cluster} through config ${o.config} stop working once it is disassociated.`;
}

/** Whether the impact has a who-can-log-in part worth reporting (the JSON plan's `identity_changes` entry). */
export function hasPreview(i: ConfigImpact): boolean {
  return i.unavailable.length === 0 && (i.identities.length > 0 || i.bindings.length > 0);
}
