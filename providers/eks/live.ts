import type { Cluster, OidcIdentityProviderConfig } from '@aws-sdk/client-eks';
import type { BlockSchema, LiveObject, LiveReadRequest, LiveResourceRequest, LiveSnapshot, UnmanagedObject } from '../../engine/protocol';
import { Limiter, mapBounded } from '../../lib/concurrency';
import { firstBlock, stringValue } from '../../engine/util';
import { CLUSTER_TYPE, clusterDataSourceState, clusterState, unusableClusterNote } from './cluster';
import { endpointDown, type Ctx } from './common';
import { errorMessage, errorName, isNotFound } from './errors';
import { IDP_TYPE, idpState, parseIdpId, removingConfigNote } from './idp';
import { NO_TAG_CONFIG, type TagConfig } from './settings';

/**
 * The drift read interface (Provider.readLive): per cluster, DescribeCluster,
 * ListIdentityProviderConfigs (every page) and one DescribeIdentityProviderConfig per config, exactly
 * these calls, through the lean reads (reads.ts). In-flight calls are capped by one FIFO limiter
 * shared by all clusters. The snapshot converts what was read with the same functions readResource
 * and readDataSource use (clusterState, idpState), so a drift check plans from the state a refresh
 * would have produced. Every failure becomes an error on what it concerns, never an absence.
 */

/** What was read for one cluster. */
export type ClusterRead =
  | { name: string; kind: 'found'; cluster: Cluster; configs: ConfigRead[] | { error: string } }
  | { name: string; kind: 'not_found' }
  | { name: string; kind: 'error'; error: string };

export type ConfigRead = { name: string; config: OidcIdentityProviderConfig } | { name: string; error: string } | { name: string; gone: true };

/** What a failed call says: the call and its error; when nobody answers, the same words for every object (drift's view says them once). */
function callError(call: string, e: unknown, signal: AbortSignal): string {
  const down = signal.aborted ? undefined : endpointDown(e);
  if (down) return down.hint ? `${down.summary}; ${down.hint}` : down.summary;
  return `${call}: ${describeError(e, signal)}`;
}

function describeError(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
    return `not read: ${reason}`;
  }
  const name = errorName(e);
  const msg = errorMessage(e);
  return name && name !== 'Error' && !msg.startsWith(name) ? `${name}: ${msg}` : msg;
}

async function readOne(ctx: Ctx, name: string, signal: AbortSignal, limiter: Limiter): Promise<ClusterRead> {
  const call = <T>(fn: () => Promise<T>) => {
    if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    return limiter.run(fn);
  };
  // DescribeCluster and the first page of the list are independent: issue them together.
  const described = call(() => ctx.reads.describeCluster(name, signal)).then(
    (out) => ({ ok: out.cluster } as const),
    (e: unknown) => ({ err: e } as const),
  );
  const listed = (async (): Promise<string[] | { err: unknown }> => {
    const names: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const out = await call(() => ctx.reads.listIdentityProviderConfigs(name, nextToken, signal));
        for (const c of out.identityProviderConfigs ?? []) if (c.name && (c.type ?? 'oidc') === 'oidc') names.push(c.name);
        nextToken = out.nextToken;
      } while (nextToken);
      return names;
    } catch (e) {
      return { err: e };
    }
  })();
  const d = await described;
  if ('err' in d) {
    await listed;
    if (isNotFound(d.err) && !signal.aborted) return { name, kind: 'not_found' };
    return { name, kind: 'error', error: callError(`DescribeCluster ${name}`, d.err, signal) };
  }
  // An empty answer is not "not found": treat it as a read failure rather than guess.
  if (!d.ok) {
    await listed;
    return { name, kind: 'error', error: `DescribeCluster ${name}: the answer holds no cluster` };
  }
  const cluster = d.ok;
  const l = await listed;
  if (!Array.isArray(l)) return { name, kind: 'found', cluster, configs: { error: callError(`ListIdentityProviderConfigs ${name}`, l.err, signal) } };
  const configs = await Promise.all(
    l.map(async (cfg): Promise<ConfigRead> => {
      try {
        const out = await call(() => ctx.reads.describeIdentityProviderConfig(name, cfg, signal));
        const oidc = out.identityProviderConfig?.oidc;
        return oidc ? { name: cfg, config: oidc } : { name: cfg, gone: true };
      } catch (e) {
        // Listed, then gone before we described it: disassociated meanwhile.
        if (isNotFound(e) && !signal.aborted) return { name: cfg, gone: true };
        return { name: cfg, error: callError(`DescribeIdentityProviderConfig ${name}:${cfg}`, e, signal) };
      }
    }),
  );
  return { name, kind: 'found', cluster, configs };
}

/**
 * Reads every named cluster, a cluster in flight per call slot (enough to keep the limiter
 * saturated), handing each result to `onRead` as it completes.
 */
export async function readClusters(ctx: Ctx, names: readonly string[], opts: { concurrency: number; signal: AbortSignal; onProgress?: (done: number, total: number) => void }, onRead: (read: ClusterRead) => void): Promise<void> {
  const limiter = new Limiter(Math.max(1, opts.concurrency));
  let done = 0;
  opts.onProgress?.(0, names.length);
  await mapBounded(names, opts.concurrency, async (name) => {
    onRead(await readOne(ctx, name, opts.signal, limiter));
    opts.onProgress?.(++done, names.length);
  });
}


/** Which cluster a resource concerns, and its name there: from the prior state's id (as readResource reads), else the configuration. */
function identity(r: LiveResourceRequest): { cluster?: string; name?: string } {
  const prior = r.mode === 'managed' ? r.priorState : null;
  if (r.typeName === CLUSTER_TYPE) {
    const name = stringValue(prior?.id) ?? stringValue(prior?.name) ?? stringValue(r.config.name);
    return { cluster: name, name };
  }
  if (r.typeName === IDP_TYPE) {
    const id = stringValue(prior?.id);
    const parsed = id ? parseIdpId(id) : undefined;
    if (parsed) return parsed;
    return { cluster: stringValue(r.config.cluster_name), name: stringValue(firstBlock(r.config.oidc)?.identity_provider_config_name) };
  }
  return {};
}

/** Clusters the stack names: every cluster resource and data source, and every config's cluster. */
export function clustersOf(resources: readonly LiveResourceRequest[]): string[] {
  const names = new Set<string>();
  for (const r of resources) {
    const c = identity(r).cluster;
    if (c) names.add(c);
  }
  return [...names];
}

/** Clusters EKS cannot serve configs from: their configs count as missing. */
function unusable(c: Cluster): boolean {
  return c.status === 'DELETING' || c.status === 'FAILED';
}

/**
 * The snapshot over what was read. `like` for the state conversions is the prior state, as
 * readResource has it; without one, the configuration, so that what EKS does not return
 * (bootstrap_self_managed_addons, the access_config bootstrap flag, timeouts) is taken as
 * configured, as Terraform's state would hold it after an apply, and never reads as drift.
 */
export function snapshot(byName: ReadonlyMap<string, ClusterRead>, dataSourceBlock: BlockSchema, declaredResources: readonly LiveResourceRequest[], tags: TagConfig = NO_TAG_CONFIG): LiveSnapshot {
  const managedClusters = new Set(declaredResources.filter((r) => r.typeName === CLUSTER_TYPE && r.mode === 'managed').map((r) => identity(r).cluster).filter((n): n is string => !!n));
  const notRead = (group: string, name: string): LiveObject => ({ group, name, state: null, liveStatus: null, error: `cluster ${group} was not read (its name was not known before reading)` });

  const clusterObject = (r: LiveResourceRequest, name: string): LiveObject => {
    const read = byName.get(name);
    if (!read) return notRead(name, name);
    if (read.kind === 'error') return { group: name, name, state: null, liveStatus: null, error: read.error };
    if (read.kind === 'not_found') return { group: name, name, state: null, liveStatus: null };
    const c = read.cluster;
    // tags and tags_all as a refresh makes them (default_tags, ignore_tags): the prior state's tags, or
    // without state the configured ones, keep a declared tag that equals a default.
    const state = r.mode === 'data' ? clusterDataSourceState(dataSourceBlock, c, r.config, tags) : clusterState(c, r.priorState ?? r.config, tags, 'refresh');
    const out: LiveObject = { group: name, name, state, liveStatus: c.status ?? null };
    if (unusable(c)) {
      out.defunct = true;
      out.note = unusableClusterNote(name, c.status!);
    }
    return out;
  };

  const configObject = (r: LiveResourceRequest, cluster: string, name: string): LiveObject => {
    const read = byName.get(cluster);
    if (!read) return notRead(cluster, name);
    if (read.kind === 'error') return { group: cluster, name, state: null, liveStatus: null, error: read.error };
    if (read.kind === 'not_found') {
      // A managed cluster missing is planned for creation with its configs; an adopted one cannot be.
      const note = managedClusters.has(cluster) ? undefined : `none possible yet: cluster ${cluster} does not exist; once it does, eksidp apply associates the config (20–40 min on EKS)`;
      return { group: cluster, name, state: null, liveStatus: null, ...(note ? { note } : {}) };
    }
    if (!Array.isArray(read.configs)) return { group: cluster, name, state: null, liveStatus: null, error: read.configs.error };
    const found = read.configs.find((x) => x.name === name);
    if (!found || 'gone' in found) return { group: cluster, name, state: null, liveStatus: null };
    if ('error' in found) return { group: cluster, name, state: null, liveStatus: null, error: found.error };
    const state = idpState(found.config, r.priorState ?? r.config, tags, 'refresh');
    const c = read.cluster;
    if (unusable(c)) return { group: cluster, name, state, liveStatus: c.status ?? null, defunct: true, note: unusableClusterNote(cluster, c.status!) };
    const status = found.config.status ?? null;
    if (status === 'DELETING') return { group: cluster, name, state, liveStatus: status, defunct: true, note: removingConfigNote(cluster, name) };
    return { group: cluster, name, state, liveStatus: status };
  };

  return {
    groupOf: (r) => identity(r).cluster ?? null,
    resource(r) {
      const id = identity(r);
      if (r.typeName !== CLUSTER_TYPE && r.typeName !== IDP_TYPE) return { group: null, name: r.address, state: null, liveStatus: null, error: `${r.typeName} cannot be drift-checked` };
      if (!id.cluster) return { group: null, name: id.name ?? r.address, state: null, liveStatus: null, error: `${r.typeName === CLUSTER_TYPE ? 'name' : 'cluster_name'} is known only after apply (not set in configuration, and not in state)` };
      if (r.typeName === CLUSTER_TYPE) return clusterObject(r, id.cluster);
      if (!id.name) return { group: id.cluster, name: r.address, state: null, liveStatus: null, error: 'oidc.identity_provider_config_name is known only after apply' };
      return configObject(r, id.cluster, id.name);
    },
    unmanaged(declared) {
      const claimed = new Set<string>();
      for (const r of declared) {
        if (r.typeName !== IDP_TYPE) continue;
        const id = identity(r);
        if (id.cluster && id.name) claimed.add(`${id.cluster}:${id.name}`);
      }
      const out: UnmanagedObject[] = [];
      for (const read of byName.values()) {
        if (read.kind !== 'found' || !Array.isArray(read.configs)) continue;
        for (const cfg of read.configs) {
          const importId = `${read.name}:${cfg.name}`;
          if (claimed.has(importId) || 'gone' in cfg) continue;
          const base = { typeName: IDP_TYPE, group: read.name, name: cfg.name, importId };
          if ('error' in cfg) out.push({ ...base, state: null, liveStatus: null, error: cfg.error });
          else out.push({ ...base, state: idpState(cfg.config, null, tags, 'refresh'), liveStatus: cfg.config.status ?? null });
        }
      }
      return out;
    },
  };
}

/**
 * Provider.readLive: reads the clusters the resources name (those `include` accepts); the snapshot
 * answers for each cluster as soon as it is read (onGroupRead).
 */
export async function readLive(ctx: Ctx, dataSourceBlock: BlockSchema, req: LiveReadRequest): Promise<LiveSnapshot> {
  const names = clustersOf(req.resources).filter((n) => req.include?.(n) ?? true);
  const reads = new Map<string, ClusterRead>();
  const snap = snapshot(reads, dataSourceBlock, req.resources, ctx.tags);
  await readClusters(ctx, names, req, (read) => {
    reads.set(read.name, read);
    req.onGroupRead?.(read.name, snap);
  });
  return snap;
}
