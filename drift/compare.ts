import type { ResourceConfig } from '../engine/config';
import { instanceValues, lookupForInstance, makeLookup, planInstance, type PlannedInstance } from '../engine/plan';
import type { Diagnostic, LiveObject, LiveResourceRequest, LiveSnapshot, ObjectValue, Value } from '../engine/protocol';
import { configImpact, hasPreview, outageText, type ConfigImpact } from '../identity/impact';
import { formatDiagnostic } from '../engine/util';
import { addTo } from '../lib/collections';
import { resolveConfig, resourceSchema, staticConfigMarks, type Workspace } from '../engine/workspace';
import { normalise } from '../engine/hcl/marks';
import { fromStatePaths, redact, schemaSensitivePaths } from '../engine/sensitive';

const SENSITIVE = '(sensitive value)';
import { declaredLookup, unchangedReferences, type Declared } from './declared';
import { argumentsDocument, differences } from './differences';
import { FORMAT_VERSION, STATUSES, type Difference, type DriftReport, type IdentityPreview, type ResourceDrift, type Summary } from './model';
import { inShard, type Shard } from './shard';

/**
 * The judgement, pure (no I/O): for every declared managed resource, what the plan (with refresh)
 * would do, worked out by the engine's planInstance and the provider's planResourceChange on the
 * state the provider's snapshot converted from the live reads. in_sync exactly when that plan is a
 * no-op; missing when it creates (or when the object still reads but is being removed or unusable:
 * LiveObject.defunct); changed otherwise, with a difference for every argument the plan changes.
 * Data sources are read for what refers to them, not reported.
 */

/** A provider's snapshot, or why there is none (its resources are unknown). */
export type Snapshots = Map<string, LiveSnapshot | { error: string }>;

export type CompareInput = {
  ws: Workspace;
  stack: string;
  declared: Map<string, Declared>;
  snapshots: Snapshots;
  shard?: Shard;
  /** Addresses of state entries the configuration no longer has, by `TYPE:ID` (the plan deletes them). */
  stateOnly?: Map<string, string>;
};

type Mapping = { accepted: true; username: string; groups: string[] } | { accepted: false; undetermined?: true; reason: string } | null;

function mappingText(m: Mapping): string {
  if (m === null) return '(no config)';
  if (!m.accepted) return `${m.undetermined ? 'undetermined' : 'rejected'} (${m.reason})`;
  return `${m.username}; groups ${m.groups.length ? m.groups.join(', ') : '(none)'}`;
}

/** Sample identities under the live and the planned object: the plan's identity impact (identity/impact.ts). */
function identityPreviews(impact: ConfigImpact | undefined): IdentityPreview[] | undefined {
  if (!impact || !hasPreview(impact)) return undefined;
  const out = impact.identities.map((c) => ({ name: c.name, live: mappingText(c.before), planned: mappingText(c.after), changed: c.changed }));
  return out.length ? out : undefined;
}

function isReplace(p: PlannedInstance): boolean {
  return p.actions.includes('create') && p.actions.includes('delete');
}

function fixFor(status: ResourceDrift['status'], plan: PlannedInstance, obj: LiveObject, diffs: Difference[], notes: string[]): string | null {
  const more = notes.length ? ` ${notes.join(' ')}` : '';
  if (status === 'missing') return obj.note ?? `re-create: eksidp apply creates it again.${more}`;
  if (status !== 'changed') return null;
  if (isReplace(plan)) {
    const why = plan.reason === 'replace_because_tainted' ? ' (it is tainted in state)' : '';
    return `replace: eksidp apply destroys it and creates it again with the declared values${why}.${more}`;
  }
  const paths = diffs.filter((d) => !d.ignored).map((d) => d.path);
  return `update in place: eksidp apply sets ${paths.length ? paths.join(', ') : 'what the plan shows'}; no replacement.${more}`;
}

export function summarize(resources: readonly ResourceDrift[]): Summary {
  const s = Object.fromEntries(STATUSES.map((k) => [k, 0])) as Summary;
  for (const r of resources) s[r.status]++;
  return s;
}

/** Resources in a stable order: by cluster (group), then type (clusters before their configs), name, address. */
function order(a: ResourceDrift, b: ResourceDrift): number {
  const key = (r: ResourceDrift) => [r.cluster, r.type, r.name, r.address ?? ''];
  const x = key(a);
  const y = key(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

function unknownEntry(r: ResourceConfig, address: string, cluster: string, name: string, error: string): ResourceDrift {
  return { address, type: r.type, cluster, name, status: 'unknown', differences: [], fix: null, error, live_status: null };
}

/**
 * The judgement, resource by resource in dependency order (as plan() walks: what a resource refers
 * to has its planned values first). It can run while reads are in flight: `groupRead` judges what
 * the newly read group (cluster) allows; `finish` judges the rest and returns the report. The
 * result is the same either way, so `compare` does it all at the end.
 */
export class Judgement {
  private readonly values;
  private readonly lookup;
  private readonly resources: ResourceDrift[] = [];
  /** Each resource's latest read request (evaluated as far as known), for unmanaged objects. */
  private readonly requests = new Map<string, LiveResourceRequest>();
  private readonly done = new Set<string>();
  /** Addresses waiting for a group to be read, by provider and group. */
  private readonly waiting = new Map<string, Set<string>>();
  private readonly indexed = new Set<string>();
  private readonly groupsRead = new Set<string>();
  private readonly dependents = new Map<string, string[]>();
  private readonly position = new Map<string, number>();
  private readonly instancesOf = new Map<string, string[]>();

  constructor(private readonly input: Omit<CompareInput, 'snapshots'>) {
    this.values = instanceValues(input.ws);
    this.lookup = makeLookup(input.ws, this.values);
    // Declarations are instances (count / for_each), in dependency order; dependencies are resources.
    [...input.declared.keys()].forEach((a, i) => this.position.set(a, i));
    for (const [a, d] of input.declared) addTo(this.instancesOf, d.resource.address, a);
    for (const [a, deps] of input.ws.graph.deps) for (const d of deps) for (const i of this.instancesOf.get(a) ?? []) addTo(this.dependents, d, i);
  }

  private inScope(group: string | null): boolean {
    const { shard } = this.input;
    return !shard || (group === null ? shard.index === 1 : inShard(group, shard));
  }

  /** A provider has read one group: judge what waited for it, and what that unblocks. */
  groupRead(provider: string, group: string, snap: LiveSnapshot): void {
    this.groupsRead.add(`${provider}\0${group}`);
    if (!this.indexed.has(provider)) {
      this.indexed.add(provider);
      for (const [address, d] of this.input.declared) {
        if (d.resource.provider !== provider) continue;
        const g = snap.groupOf(d.request);
        if (g !== null) this.wait(provider, g, address);
      }
    }
    const key = `${provider}\0${group}`;
    const list = [...(this.waiting.get(key) ?? [])].sort((a, b) => this.position.get(a)! - this.position.get(b)!);
    this.waiting.delete(key);
    for (const address of list) this.attempt(address, snap);
  }

  private wait(provider: string, group: string, address: string): void {
    const key = `${provider}\0${group}`;
    if (!this.waiting.has(key)) this.waiting.set(key, new Set());
    this.waiting.get(key)!.add(address);
  }

  private attempt(address: string, snap: LiveSnapshot): void {
    if (this.done.has(address)) return;
    const resource = this.input.declared.get(address)!.resource.address;
    for (const dep of this.input.ws.graph.deps.get(resource) ?? []) if (!(this.instancesOf.get(dep) ?? []).every((i) => this.done.has(i))) return;
    if (!this.judge(address, snap, false)) return;
    for (const next of this.dependents.get(resource) ?? []) this.attempt(next, snap);
  }

  /** Judges what is left, then lists unmanaged objects; returns the report. */
  finish(snapshots: Snapshots): DriftReport {
    const { ws } = this.input;
    for (const [address, d] of this.input.declared) {
      if (this.done.has(address)) continue;
      const snap = snapshots.get(d.resource.provider);
      this.judge(address, snap, true);
    }
    for (const [name, snap] of snapshots) {
      if ('error' in snap) continue;
      const schemas = ws.schemas.get(name);
      const requests = [...this.input.declared.values()].filter((d) => d.resource.provider === name).map((d) => this.requests.get(d.request.address) ?? d.request);
      for (const u of snap.unmanaged(requests)) {
        if (!this.inScope(u.group)) continue;
        const base = { address: null, type: u.typeName, cluster: u.group, name: u.name, differences: [], live_status: u.liveStatus };
        if (u.error) { this.resources.push({ ...base, status: 'unknown', fix: null, error: u.error, live_status: null }); continue; }
        const inState = this.input.stateOnly?.get(`${u.typeName}:${u.importId}`);
        const fix = inState
          ? `delete: ${inState} is in state but no longer in the stack, so eksidp apply destroys it. Keep it by declaring it again.`
          : `none: eksidp does not delete what it does not manage. To adopt it, declare it in the stack and run: eksidp import ${u.typeName}.NAME ${u.importId}`;
        const block = schemas?.resources[u.typeName]?.block;
        this.resources.push({ ...base, status: 'unmanaged', fix, error: null, live: block ? argumentsDocument(block, u.state as ObjectValue | null) : null, planned: null });
      }
    }
    const resources = [...this.resources].sort(order);
    const { shard } = this.input;
    return { format_version: FORMAT_VERSION, stack: this.input.stack, shard: shard ? `${shard.index}/${shard.count}` : null, summary: summarize(resources), resources };
  }

  /**
   * One resource. Returns false (and waits) when, before the end, its group turns out not to be read
   * yet (its configuration named it only now).
   */
  private judge(address: string, snap: LiveSnapshot | { error: string } | undefined, final: boolean): boolean {
    const { ws } = this.input;
    const d = this.input.declared.get(address)!;
    const r = d.resource;
    const fallback = d.request.priorState ?? d.request.config;
    // Evaluated again now that what it refers to has planned values, unless those are what they were.
    // each.value too: a for_each over a data source's instances gave only their configuration when
    // declared (each.value.version null), the read values now (as apply evaluates each.value again).
    const lookup = typeof d.key === 'string' ? lookupForInstance(ws, r, this.lookup, d.key, []) ?? declaredLookup(d, this.lookup) : declaredLookup(d, this.lookup);
    const again = !unchangedReferences(d, lookup);
    const diags: Diagnostic[] = again ? [] : [...d.diagnostics];
    const config = again ? resolveConfig(ws, r, lookup, diags, address) : d.request.config;
    const resolved = diags.length === 0;
    const request: LiveResourceRequest = resolved && config !== d.request.config ? { ...d.request, config } : d.request;
    if (!snap || 'error' in snap) {
      this.settle(address, fallback);
      if (r.mode === 'managed' && this.inScope(null)) this.resources.push(unknownEntry(r, address, '', r.name, snap ? snap.error : `provider ${r.provider} cannot be drift-checked`));
      return true;
    }
    if (!final) {
      const g = snap.groupOf(request);
      if (g !== null && !this.groupsRead.has(`${r.provider}\0${g}`)) {
        this.wait(r.provider, g, address);
        return false;
      }
    }
    this.requests.set(address, request);
    const obj = snap.resource(request);
    if (r.mode === 'data') {
      // A data source that could not be read still names its object for what refers to it.
      this.settle(address, obj.state ?? config);
      return true;
    }
    if (!this.inScope(obj.group)) {
      this.settle(address, obj.state ?? fallback);
      return true;
    }
    const cluster = obj.group ?? '';
    if (!resolved) {
      this.settle(address, fallback);
      this.resources.push(unknownEntry(r, address, cluster, obj.name, `cannot work out the declared values: ${diags.map(formatDiagnostic).join('; ')}`));
      return true;
    }
    if (obj.error) {
      this.settle(address, fallback);
      this.resources.push(unknownEntry(r, address, cluster, obj.name, obj.error));
      return true;
    }
    const schema = resourceSchema(ws, r)!;
    const instance = obj.state ? { ...(d.instance ?? { schema_version: schema.version, sensitive_attributes: [] }), attributes: obj.state } : undefined;
    const plan = planInstance(ws, r, config, instance, diags, address);
    if (!plan) {
      this.settle(address, fallback);
      this.resources.push(unknownEntry(r, address, cluster, obj.name, `cannot plan it: ${diags.filter((x) => x.severity === 'error').map(formatDiagnostic).join('; ')}`));
      return true;
    }
    this.settle(address, plan.after);
    this.resources.push(verdict(ws, r, address, config, obj, plan, d.instance?.sensitive_attributes));
    return true;
  }

  private settle(address: string, value: Value): void {
    const d = this.input.declared.get(address)!;
    this.values.set(d.resource.address, d.key, value);
    this.done.add(address);
  }
}

/** The report entry for a planned resource. */
function verdict(ws: Workspace, r: ResourceConfig, address: string, config: ObjectValue, obj: LiveObject, plan: PlannedInstance, stateSensitive: unknown): ResourceDrift {
  const action = plan.actions.join(',');
  const status: ResourceDrift['status'] = obj.defunct || action === 'create' ? 'missing' : action === 'no-op' ? 'in_sync' : 'changed';
  const entry: ResourceDrift = {
    address, type: r.type, cluster: obj.group ?? '', name: obj.name, status, differences: [], fix: null, error: null, live_status: obj.liveStatus,
  };
  if (status === 'in_sync') return entry;
  const schema = resourceSchema(ws, r)!;
  // A defunct object is described as what it will take: creating it again once it is gone.
  const creates = status === 'missing';
  const impact = configImpact({
    address, type: r.type, actions: creates ? ['create'] : plan.actions, before: creates ? null : plan.before, after: plan.after,
    ...(r.metadata !== undefined ? { metadata: r.metadata } : {}),
  });
  // Sensitive values never reach the report: a difference at a sensitive path says only that it
  // differs; documents and identity previews are built from masked values (engine/sensitive.ts).
  const own = [...staticConfigMarks(ws, r), ...fromStatePaths(stateSensitive), ...schemaSensitivePaths(schema.block, plan.after), ...schemaSensitivePaths(schema.block, obj.state)];
  // tags_all repeats tags (Terraform leaves it unmarked and prints it): the report masks it alike.
  const marks = normalise([...own, ...own.filter((m) => m[0] === 'tags').map((m) => ['tags_all', ...m.slice(1)])]);
  const masked = (path: string) => marks.some((m) => { const t = m.filter((x) => typeof x === 'string').join('.'); return t === '' || path === t || path.startsWith(`${t}.`); });
  if (status === 'changed') entry.differences = differences(schema.block, plan.before, plan.after, config, plan.replacePaths).map((d) => (masked(d.path) ? { ...d, expected: d.expected === null ? null : SENSITIVE, actual: d.actual === null ? null : SENSITIVE } : d));
  entry.fix = fixFor(status, plan, obj, entry.differences, status === 'changed' && impact?.outage ? [outageText(impact.outage)] : []);
  const identities = (creates || isReplace(plan)) && marks.length === 0 ? identityPreviews(impact) : undefined;
  if (identities) entry.identities = identities;
  entry.live = argumentsDocument(schema.block, redact(obj.state, marks) as ObjectValue | null);
  entry.planned = argumentsDocument(schema.block, redact(plan.after, marks) as ObjectValue);
  return entry;
}

/** The whole judgement at once, from complete snapshots. */
export function compare(input: CompareInput): DriftReport {
  return new Judgement(input).finish(input.snapshots);
}

/** 0 in sync (ignored included), 2 drift, 1 anything unknown: an unread resource is never a verdict. */
export function exitCode(report: DriftReport): 0 | 1 | 2 {
  if (report.summary.unknown > 0) return 1;
  return report.summary.changed + report.summary.missing + report.summary.unmanaged > 0 ? 2 : 0;
}
