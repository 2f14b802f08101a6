import type { OidcIdentityProviderConfig } from '@aws-sdk/client-eks';
import { previewChange, type MappingResult, type OidcConfig } from '../identity';
import {
  CLUSTER_TYPE, CONFIG_TYPE, FORMAT_VERSION, STATUSES,
  type Desired, type DesiredCluster, type DesiredConfig, type Difference, type DriftReport, type IdentityPreview, type LiveCluster, type ResourceDrift, type Summary,
} from './model';

/**
 * Pure comparison: desired model + live reads → report model. No I/O, works on copies.
 *
 * Normalisation follows what EKS and hashicorp/aws treat as equal: an absent value, null, "" and an
 * empty map are the same; maps compare by key, not order. Hence zero false drift on an unchanged fleet.
 */

type OidcStringKey = 'clientId' | 'groupsClaim' | 'groupsPrefix' | 'issuerUrl' | 'usernameClaim' | 'usernamePrefix';
const OIDC_FIELDS: [OidcStringKey, string][] = [
  ['clientId', 'client_id'],
  ['groupsClaim', 'groups_claim'],
  ['groupsPrefix', 'groups_prefix'],
  ['issuerUrl', 'issuer_url'],
  ['usernameClaim', 'username_claim'],
  ['usernamePrefix', 'username_prefix'],
];

export const LOGIN_OUTAGE = 'OIDC logins through this config fail while it is re-associated: 20–40 min on EKS';

/** "" and undefined are "not set", as the provider treats them. */
function norm(v: string | null | undefined): string | null {
  return v === undefined || v === null || v === '' ? null : v;
}

function mapDiffs(prefix: string, expected: Record<string, string> | undefined, actual: Record<string, string> | undefined, replace: boolean): Difference[] {
  const e = expected ?? {};
  const a = actual ?? {};
  const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])].sort();
  const out: Difference[] = [];
  for (const k of keys) {
    const x = norm(e[k]);
    const y = norm(a[k]);
    if (x !== y) out.push({ path: `${prefix}.${k}`, expected: x, actual: y, requires_replacement: replace });
  }
  return out;
}

/** The API's config in the identity library's shape (unset fields left out). */
export function oidcFromApi(c: OidcIdentityProviderConfig): OidcConfig {
  const out: OidcConfig = { issuerUrl: c.issuerUrl ?? '', clientId: c.clientId ?? '' };
  for (const [key] of OIDC_FIELDS) {
    if (key === 'issuerUrl' || key === 'clientId') continue;
    const v = norm(c[key]);
    if (v !== null) out[key] = v;
  }
  if (c.requiredClaims && Object.keys(c.requiredClaims).length > 0) out.requiredClaims = { ...c.requiredClaims };
  return out;
}

function sorted(o: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!o || Object.keys(o).length === 0) return undefined;
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A config as one canonical document (Terraform's attribute names, empties dropped), for diffs. */
export function configDocument(cluster: string, name: string, oidc: OidcConfig, tags: Record<string, string> | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const fields: [string, string | undefined][] = [
    ['client_id', oidc.clientId],
    ['groups_claim', oidc.groupsClaim],
    ['groups_prefix', oidc.groupsPrefix],
    ['identity_provider_config_name', name],
    ['issuer_url', oidc.issuerUrl],
  ];
  for (const [k, v] of fields) if (norm(v) !== null) o[k] = v;
  const rc = sorted(oidc.requiredClaims);
  if (rc) o.required_claims = rc;
  for (const [k, v] of [['username_claim', oidc.usernameClaim], ['username_prefix', oidc.usernamePrefix]] as const) if (norm(v) !== null) o[k] = v;
  const doc: Record<string, unknown> = { cluster_name: cluster, oidc: o };
  const t = sorted(tags);
  if (t) doc.tags = t;
  return doc;
}

export function diffConfig(desired: DesiredConfig, live: OidcConfig, liveTags: Record<string, string> | undefined): Difference[] {
  const out: Difference[] = [];
  for (const [key, attr] of OIDC_FIELDS) {
    const e = norm(desired.oidc[key]);
    const a = norm(live[key]);
    if (e !== a) out.push({ path: `oidc.${attr}`, expected: e, actual: a, requires_replacement: true });
  }
  out.push(...mapDiffs('oidc.required_claims', desired.oidc.requiredClaims, live.requiredClaims, true));
  out.push(...mapDiffs('tags', desired.tags, liveTags, false));
  return out;
}

function mappingText(r: MappingResult | null): string {
  if (r === null) return '(no config)';
  if (!r.accepted) return `rejected (${r.reason})`;
  return `${r.username}; groups ${r.groups.length ? r.groups.join(', ') : '(none)'}`;
}

export function identityPreviews(desired: DesiredConfig, live: OidcConfig | null): IdentityPreview[] | undefined {
  if (desired.sampleIdentities.length === 0) return undefined;
  return previewChange(live, desired.oidc, desired.sampleIdentities).map((c) => ({
    name: c.name,
    live: mappingText(c.before),
    planned: mappingText(c.after),
    changed: c.changed,
  }));
}

export function configFix(status: ResourceDrift['status'], diffs: Difference[], d: { address: string | null; cluster: string; name: string }, clusterMissing = false): string | null {
  switch (status) {
    case 'changed': {
      const live = diffs.filter((x) => !x.ignored);
      if (live.some((x) => x.requires_replacement)) {
        return `replace: eksidp apply disassociates the config and associates it again with the declared values (${LOGIN_OUTAGE})`;
      }
      return 'update in place: eksidp apply sets the declared tags (TagResource/UntagResource); no login impact';
    }
    case 'missing':
      if (clusterMissing) return `none possible yet: cluster ${d.cluster} does not exist; once it does, eksidp apply associates the config (20–40 min on EKS)`;
      return 're-create: eksidp apply associates the config again (20–40 min on EKS; logins through it fail until it is ACTIVE)';
    case 'unmanaged':
      return `none: eksidp does not delete what it does not manage. To adopt it, declare it in the stack and run: eksidp import ${CONFIG_TYPE}.NAME ${d.cluster}:${d.name}`;
    default:
      return null;
  }
}

function clusterFix(status: ResourceDrift['status'], diffs: Difference[], c: DesiredCluster): string | null {
  if (status === 'missing') return `create: eksidp apply creates cluster ${c.name} (and then its identity provider configs)`;
  if (status !== 'changed') return null;
  const parts: string[] = [];
  const v = diffs.find((x) => x.path === 'version' && !x.ignored);
  if (v) {
    const older = v.expected !== null && v.actual !== null && compareVersions(v.expected, v.actual) < 0;
    parts.push(older ? `EKS cannot downgrade ${v.actual} to ${v.expected}: set version = "${v.actual}" in the stack` : `update in place: eksidp apply upgrades Kubernetes to ${v.expected}`);
  }
  if (diffs.some((x) => x.path.startsWith('tags.') && !x.ignored)) parts.push('update in place: eksidp apply sets the declared tags');
  return parts.join('; ') || null;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function clusterDocument(name: string, version: string | null | undefined, tags: Record<string, string> | undefined): Record<string, unknown> {
  const doc: Record<string, unknown> = { name };
  const t = sorted(tags);
  if (t) doc.tags = t;
  if (version) doc.version = version;
  return doc;
}

export function summarize(resources: readonly ResourceDrift[]): Summary {
  const s = Object.fromEntries(STATUSES.map((k) => [k, 0])) as Summary;
  for (const r of resources) s[r.status]++;
  return s;
}

/** Resources in a stable order: by cluster, clusters before their configs, then by name. */
function order(a: ResourceDrift, b: ResourceDrift): number {
  const key = (r: ResourceDrift) => [r.cluster, r.type === CLUSTER_TYPE ? '0' : '1', r.name, r.address ?? ''];
  const x = key(a);
  const y = key(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

export function compare(desired: Desired, live: readonly LiveCluster[], opts: { shard?: string | null } = {}): DriftReport {
  const liveBy = new Map(live.map((l) => [l.name, l]));
  const resources: ResourceDrift[] = [];

  for (const e of desired.errors) {
    resources.push({ address: e.address, type: e.type, cluster: e.cluster ?? '', name: e.name, status: 'unknown', differences: [], fix: null, error: `cannot work out the declared values: ${e.error}` });
  }

  for (const c of desired.clusters) {
    const l = liveBy.get(c.name);
    if (!l) continue; // not in this shard
    if (!c.managed) continue; // data sources and literal names: read only, configs carry the verdict
    const base = { address: c.address, type: CLUSTER_TYPE, cluster: c.name, name: c.name } as const;
    if (l.kind === 'error') {
      resources.push({ ...base, status: 'unknown', differences: [], fix: null, error: l.error });
      continue;
    }
    if (l.kind === 'not_found') {
      resources.push({ ...base, status: 'missing', differences: [], fix: clusterFix('missing', [], c), error: null, live: null, planned: clusterDocument(c.name, c.version, c.tags) });
      continue;
    }
    const diffs: Difference[] = [];
    if (c.version !== undefined && norm(l.version) !== c.version) diffs.push({ path: 'version', expected: c.version, actual: norm(l.version), requires_replacement: false });
    if (c.tags !== undefined) diffs.push(...mapDiffs('tags', c.tags, l.tags, false));
    const status = diffs.length ? 'changed' : 'in_sync';
    resources.push({
      ...base, status, differences: diffs, fix: clusterFix(status, diffs, c), error: null,
      live: clusterDocument(l.name, c.version === undefined ? undefined : l.version, c.tags === undefined ? undefined : l.tags),
      planned: clusterDocument(c.name, c.version, c.tags),
    });
  }

  const declaredOn = new Map<string, Set<string>>();
  for (const d of desired.configs) {
    if (!declaredOn.has(d.cluster)) declaredOn.set(d.cluster, new Set());
    declaredOn.get(d.cluster)!.add(d.name);
    const l = liveBy.get(d.cluster);
    if (!l) continue;
    const base = { address: d.address, type: CONFIG_TYPE, cluster: d.cluster, name: d.name } as const;
    const planned = configDocument(d.cluster, d.name, d.oidc, d.tags);
    if (l.kind === 'error') { resources.push({ ...base, status: 'unknown', differences: [], fix: null, error: l.error }); continue; }
    if (l.kind === 'not_found') {
      resources.push({ ...base, status: 'missing', differences: [], fix: configFix('missing', [], d, true), error: null, live: null, planned });
      continue;
    }
    if (!Array.isArray(l.configs)) { resources.push({ ...base, status: 'unknown', differences: [], fix: null, error: l.configs.error }); continue; }
    const read = l.configs.find((x) => x.name === d.name);
    if (!read || 'gone' in read) {
      resources.push({ ...base, status: 'missing', differences: [], fix: configFix('missing', [], d), error: null, live: null, planned, identities: identityPreviews(d, null) });
      continue;
    }
    if ('error' in read) { resources.push({ ...base, status: 'unknown', differences: [], fix: null, error: read.error }); continue; }
    const liveOidc = oidcFromApi(read.config);
    const diffs = diffConfig(d, liveOidc, read.config.tags);
    const status = diffs.length ? 'changed' : 'in_sync';
    const r: ResourceDrift = {
      ...base, status, differences: diffs, fix: configFix(status, diffs, d), error: null,
      live: configDocument(d.cluster, d.name, liveOidc, read.config.tags), planned,
    };
    if (diffs.some((x) => x.path.startsWith('oidc.'))) r.identities = identityPreviews(d, liveOidc);
    resources.push(r);
  }

  // Unmanaged: live configs on a cluster the stack manages (declares or reads) that no resource declares.
  for (const c of desired.clusters) {
    const l = liveBy.get(c.name);
    if (!l || l.kind !== 'found' || !Array.isArray(l.configs)) continue;
    const declared = declaredOn.get(c.name) ?? new Set<string>();
    for (const read of l.configs) {
      if (declared.has(read.name) || 'gone' in read) continue;
      const base = { address: null, type: CONFIG_TYPE, cluster: c.name, name: read.name } as const;
      if ('error' in read) { resources.push({ ...base, status: 'unknown', differences: [], fix: null, error: read.error }); continue; }
      const liveOidc = oidcFromApi(read.config);
      resources.push({
        ...base, status: 'unmanaged', differences: [], fix: configFix('unmanaged', [], base), error: null,
        live: configDocument(c.name, read.name, liveOidc, read.config.tags), planned: null,
      });
    }
  }

  resources.sort(order);
  return { format_version: FORMAT_VERSION, stack: desired.stack, shard: opts.shard ?? null, summary: summarize(resources), resources };
}

/** 0 in sync (ignored included), 2 drift, 1 anything unknown: an unread resource is never a verdict. */
export function exitCode(report: DriftReport): 0 | 1 | 2 {
  if (report.summary.unknown > 0) return 1;
  return report.summary.changed + report.summary.missing + report.summary.unmanaged > 0 ? 2 : 0;
}
