import fs from 'node:fs';
import path from 'node:path';
import type { OidcConfig } from '../identity/types';
import { writeFileAtomicSync } from '../lib/files';
import type { SessionRec } from './accounts';
import type {
  AccessConfigResponse, ClusterStatus, ComputeConfigResponse, ConfigStatus, ControlPlaneScalingConfig, EncryptionConfig,
  ErrorDetail, KubernetesNetworkConfigResponse, Logging, RemoteNetworkConfigResponse, StorageConfigResponse, UpdateParam,
  UpdateStatus, UpdateType, UpgradePolicyResponse, VpcConfigResponse, ZonalShiftConfigResponse,
} from '@aws-sdk/client-eks';

/**
 * The emulator's state: plain records in Maps (O(1) lookups by name/ARN/ID), one set of clusters per
 * account and region (a Partition), plus a min-heap of due transitions (cluster CREATING→ACTIVE,
 * DELETING→gone, update InProgress→done). Transitions are applied lazily by `advance(now)`, which
 * every request calls first: no timers to lose, and a restarted emulator finishes work from each
 * item's start time + duration.
 */

/** Where a request's clusters live: the caller's account and the region it signed for. */
export type Scope = { accountId: string; region: string };

export type Tags = Record<string, string>;

/** An identity provider config: its OIDC settings (the identity library's OidcConfig, EKS's fields) and the rest EKS keeps. */
export type ConfigRec = OidcConfig & {
  name: string;
  arn: string;
  clusterName: string;
  tags: Tags;
  status: ConfigStatus;
  /** Size counted against the 12 KB per-cluster limit. */
  size: number;
};

/** The cluster fields an update may replace when it completes. */
export type ClusterPatch = {
  version?: string;
  platformVersion?: string;
  resourcesVpcConfig?: VpcConfigResponse;
  logging?: Logging;
  accessConfig?: AccessConfigResponse;
  upgradePolicy?: UpgradePolicyResponse;
  zonalShiftConfig?: ZonalShiftConfigResponse;
  kubernetesNetworkConfig?: KubernetesNetworkConfigResponse;
  computeConfig?: ComputeConfigResponse;
  storageConfig?: StorageConfigResponse;
  remoteNetworkConfig?: RemoteNetworkConfigResponse;
  deletionProtection?: boolean;
  controlPlaneScalingConfig?: ControlPlaneScalingConfig;
};

export type ClusterRec = Scope & Required<Pick<ClusterPatch, 'version' | 'platformVersion' | 'resourcesVpcConfig' | 'logging' | 'accessConfig' | 'upgradePolicy' | 'kubernetesNetworkConfig'>> &
  Omit<ClusterPatch, 'version' | 'platformVersion' | 'resourcesVpcConfig' | 'logging' | 'accessConfig' | 'upgradePolicy' | 'kubernetesNetworkConfig'> & {
  name: string;
  arn: string;
  /** Internal identity: a re-created cluster with the same name does not see the old one's updates. */
  uid: string;
  createdAt: number;
  roleArn: string;
  status: ClusterStatus;
  endpoint: string;
  certificateData: string;
  issuer: string;
  tags: Tags;
  clientRequestToken?: string;
  encryptionConfig?: EncryptionConfig[];
  /** When CREATING or DELETING ends (epoch ms). */
  dueAt?: number;
  activeUpdateId?: string;
  updateIds: string[];
  configs: Map<string, ConfigRec>;
};

/** Every update ever started (exported through `updates()` and the admin API). */
export type UpdateRecord = Scope & {
  id: string;
  clusterName: string;
  clusterUid: string;
  type: UpdateType;
  status: UpdateStatus;
  params: UpdateParam[];
  createdAt: number;
  dueAt: number;
  finishedAt?: number;
  configName?: string;
  clientRequestToken?: string;
  /** Decided when the update starts (seeded), so a restart does not re-roll it. */
  fail: boolean;
  errors: ErrorDetail[];
  patch?: ClusterPatch;
};

export type IdempotencyEntry = { hash: string; status: number; body: string };

/** A due transition; clusters by reference (a re-created cluster of the same name is another object). */
type Due = { at: number; kind: 'cluster'; cluster: ClusterRec } | { at: number; kind: 'update'; key: string };

/** Binary min-heap on `at`: the next due transition in O(log n). */
class DueHeap {
  private items: Due[] = [];
  get size(): number { return this.items.length; }
  peek(): Due | undefined { return this.items[0]; }
  push(d: Due): void {
    const a = this.items;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Due | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

type PersistedCluster = Omit<ClusterRec, 'configs'> & { configs: ConfigRec[] };

/** Version 2: clusters and updates carry their account and region; issued STS sessions are kept. */
type Persisted = {
  format: 'eksidp-emulator-state';
  version: 2;
  savedAt: number;
  clusters: PersistedCluster[];
  updates: UpdateRecord[];
  idempotency: [string, IdempotencyEntry][];
  sessions: SessionRec[];
};

/** Version 1 (one account and region): migrated on load, the scope read from each cluster's ARN. */
type PersistedV1 = Omit<Persisted, 'version' | 'clusters' | 'updates' | 'sessions'> & {
  version: 1;
  clusters: Omit<PersistedCluster, keyof Scope>[];
  updates: Omit<UpdateRecord, keyof Scope>[];
};

export const STATE_FILE = 'state.json';

/** The clusters of one account in one region, with their names sorted on demand. */
export class Partition {
  readonly clusters = new Map<string, ClusterRec>();
  private sortedNames: string[] | undefined;

  /** Cluster names in sorted order, cached until a cluster is added or removed. */
  names(): string[] {
    this.sortedNames ??= [...this.clusters.keys()].sort();
    return this.sortedNames;
  }

  set(c: ClusterRec): void {
    this.clusters.set(c.name, c);
    this.sortedNames = undefined;
  }

  delete(name: string): void {
    this.clusters.delete(name);
    this.sortedNames = undefined;
  }
}

const EMPTY = new Partition();
const scopeKey = (s: Scope) => `${s.accountId}/${s.region}`;

export class Store {
  private readonly partitions = new Map<string, Partition>();
  readonly updates = new Map<string, UpdateRecord>();
  readonly idempotency = new Map<string, IdempotencyEntry>();
  /** STS sessions issued (owned by the server's Directory; kept here so they persist). */
  readonly sessions = new Map<string, SessionRec>();
  private readonly due = new DueHeap();
  private readonly file: string | undefined;

  constructor(dataDir?: string) {
    this.file = dataDir ? path.join(dataDir, STATE_FILE) : undefined;
    if (dataDir) {
      fs.mkdirSync(dataDir, { recursive: true });
      this.load();
    }
  }

  /** The clusters of a scope (an empty, shared partition when it has none: reads create nothing). */
  part(scope: Scope): Partition {
    return this.partitions.get(scopeKey(scope)) ?? EMPTY;
  }

  /** Every cluster of every account and region. */
  *allClusters(): IterableIterator<ClusterRec> {
    for (const p of this.partitions.values()) yield* p.clusters.values();
  }

  clusterCount(): number {
    let n = 0;
    for (const p of this.partitions.values()) n += p.clusters.size;
    return n;
  }

  addCluster(c: ClusterRec): void {
    const key = scopeKey(c);
    let p = this.partitions.get(key);
    if (!p) this.partitions.set(key, (p = new Partition()));
    p.set(c);
    if (c.dueAt !== undefined) this.due.push({ at: c.dueAt, kind: 'cluster', cluster: c });
  }

  scheduleCluster(c: ClusterRec, at: number): void {
    c.dueAt = at;
    this.due.push({ at, kind: 'cluster', cluster: c });
  }

  addUpdate(u: UpdateRecord, cluster: ClusterRec): void {
    this.updates.set(u.id, u);
    cluster.updateIds.push(u.id);
    cluster.activeUpdateId = u.id;
    cluster.status = 'UPDATING';
    this.due.push({ at: u.dueAt, kind: 'update', key: u.id });
  }

  /** Applies every transition due by `now`, in due order. Returns whether anything changed. */
  advance(now: number): boolean {
    let changed = false;
    for (let d = this.due.peek(); d && d.at <= now; d = this.due.peek()) {
      this.due.pop();
      if (d.kind === 'cluster') changed = this.finishCluster(d.cluster, d.at) || changed;
      else changed = this.finishUpdate(d.key) || changed;
    }
    return changed;
  }

  private finishCluster(c: ClusterRec, at: number): boolean {
    const p = this.part(c);
    // Stale entries (the cluster was re-created or rescheduled) are skipped.
    if (p.clusters.get(c.name) !== c || c.dueAt !== at) return false;
    c.dueAt = undefined;
    if (c.status === 'CREATING') {
      c.status = 'ACTIVE';
    } else if (c.status === 'DELETING') {
      p.delete(c.name);
    }
    return true;
  }

  private finishUpdate(id: string): boolean {
    const u = this.updates.get(id);
    if (!u || u.status !== 'InProgress') return false;
    u.finishedAt = u.dueAt;
    const c = this.part(u).clusters.get(u.clusterName);
    const cluster = c && c.uid === u.clusterUid ? c : undefined;
    if (u.fail) {
      u.status = 'Failed';
      u.errors = [{ errorCode: 'Unknown', errorMessage: `Update ${u.type} failed (injected by the emulator's failUpdateRate)`, resourceIds: [u.configName ?? u.clusterName] }];
    } else {
      u.status = 'Successful';
    }
    if (!cluster) return true;
    const cfg = u.configName !== undefined ? cluster.configs.get(u.configName) : undefined;
    if (u.type === 'AssociateIdentityProviderConfig' && cfg) {
      // A failed association leaves no config behind, as on AWS.
      if (u.fail) cluster.configs.delete(cfg.name);
      else cfg.status = 'ACTIVE';
    } else if (u.type === 'DisassociateIdentityProviderConfig' && cfg) {
      if (u.fail) cfg.status = 'ACTIVE';
      else cluster.configs.delete(cfg.name);
    } else if (u.patch && !u.fail) {
      Object.assign(cluster, u.patch);
    }
    if (cluster.activeUpdateId === u.id) {
      cluster.activeUpdateId = undefined;
      if (cluster.status === 'UPDATING') cluster.status = 'ACTIVE';
    }
    return true;
  }

  // --- persistence ---

  /** The state as persisted; issued sessions (with their secrets) only when asked, for the data file. */
  snapshot(withSessions = false): Persisted {
    return {
      format: 'eksidp-emulator-state',
      version: 2,
      savedAt: Date.now(),
      clusters: [...this.allClusters()].map((c) => ({ ...c, configs: [...c.configs.values()] })),
      updates: [...this.updates.values()],
      idempotency: [...this.idempotency.entries()],
      sessions: withSessions ? [...this.sessions.values()] : [],
    };
  }

  /**
   * Writes the whole state through lib/files.ts (exclusive random temp name, fsync, rename: a symlink
   * planted at the data file is replaced, never written through), only when a dataDir is set.
   */
  persist(): void {
    if (!this.file) return;
    writeFileAtomicSync(this.file, JSON.stringify(this.snapshot(true)));
  }

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file!, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    let raw: Persisted | PersistedV1;
    try {
      raw = JSON.parse(text) as Persisted | PersistedV1;
    } catch (e) {
      throw new Error(`${this.file}: not an emulator state file (${(e as Error).message})`);
    }
    if (raw?.format !== 'eksidp-emulator-state' || (raw.version !== 1 && raw.version !== 2)) {
      throw new Error(`${this.file}: not an emulator state file this version reads (format ${String(raw?.format)}, version ${String(raw?.version)}; known: 1, 2)`);
    }
    const data = raw.version === 1 ? migrateV1(raw, this.file!) : raw;
    for (const c of data.clusters) {
      const configs = new Map<string, ConfigRec>(c.configs.map((x) => [x.name, { ...x, requiredClaims: nullProto(x.requiredClaims), tags: nullProto(x.tags)! }]));
      this.addCluster({ ...c, tags: nullProto(c.tags)!, configs });
    }
    for (const u of data.updates) {
      this.updates.set(u.id, u);
      if (u.status === 'InProgress') this.due.push({ at: u.dueAt, kind: 'update', key: u.id });
    }
    for (const [k, v] of data.idempotency) this.idempotency.set(k, v);
    for (const s of data.sessions) this.sessions.set(s.accessKeyId, s);
  }
}

/**
 * Version 1 kept one account and region; each cluster's ARN names them. Updates take their
 * cluster's scope (one whose cluster is gone can never be reached again: it keeps the ARN's
 * default of the first cluster, or us-east-1/000000000000). Idempotency keys gain the scope.
 */
function migrateV1(v1: PersistedV1, file: string): Persisted {
  const byUid = new Map<string, Scope>();
  const clusters = v1.clusters.map((c) => {
    const m = /^arn:aws[a-z-]*:eks:([^:]+):(\d{12}):cluster\//.exec(c.arn);
    if (!m) throw new Error(`${file}: version 1 cluster ${c.name} has an ARN this version cannot read (${c.arn})`);
    const scope = { region: m[1]!, accountId: m[2]! };
    byUid.set(c.uid, scope);
    return { ...c, ...scope };
  });
  const fallback: Scope = clusters[0] ? { accountId: clusters[0].accountId, region: clusters[0].region } : { accountId: '000000000000', region: 'us-east-1' };
  const updates = v1.updates.map((u) => ({ ...u, ...(byUid.get(u.clusterUid) ?? fallback) }));
  const idempotency = v1.idempotency.map(([k, v]): [string, IdempotencyEntry] => [`${fallback.accountId}\u0000${fallback.region}\u0000${k}`, v]);
  return { format: v1.format, version: 2, savedAt: v1.savedAt, clusters, updates, idempotency, sessions: [] };
}

function nullProto(m: Tags | undefined): Tags | undefined {
  return m === undefined ? undefined : Object.assign(Object.create(null) as Tags, m);
}
