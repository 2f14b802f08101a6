import fs from 'node:fs';
import path from 'node:path';
import type {
  AccessConfigResponse, ClusterStatus, ComputeConfigResponse, ConfigStatus, ControlPlaneScalingConfig, EncryptionConfig,
  ErrorDetail, KubernetesNetworkConfigResponse, Logging, RemoteNetworkConfigResponse, StorageConfigResponse, UpdateParam,
  UpdateStatus, UpdateType, UpgradePolicyResponse, VpcConfigResponse, ZonalShiftConfigResponse,
} from '@aws-sdk/client-eks';

/**
 * The emulator's state: plain records in Maps (O(1) lookups by name/ARN/ID), plus a min-heap of
 * due transitions (cluster CREATING→ACTIVE, DELETING→gone, update InProgress→done). Transitions
 * are applied lazily by `advance(now)`, which every request calls first: no timers to lose, and a
 * restarted emulator finishes work from each item's start time + duration.
 */

export type Tags = Record<string, string>;

export type ConfigRec = {
  name: string;
  arn: string;
  clusterName: string;
  issuerUrl: string;
  clientId: string;
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  requiredClaims?: Tags;
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

export type ClusterRec = Required<Pick<ClusterPatch, 'version' | 'platformVersion' | 'resourcesVpcConfig' | 'logging' | 'accessConfig' | 'upgradePolicy' | 'kubernetesNetworkConfig'>> &
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
export type UpdateRecord = {
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

type Due = { at: number; kind: 'cluster' | 'update'; key: string };

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

type Persisted = {
  format: 'eksidp-emulator-state';
  version: 1;
  savedAt: number;
  clusters: (Omit<ClusterRec, 'configs'> & { configs: ConfigRec[] })[];
  updates: UpdateRecord[];
  idempotency: [string, IdempotencyEntry][];
};

export class Store {
  readonly clusters = new Map<string, ClusterRec>();
  readonly updates = new Map<string, UpdateRecord>();
  readonly idempotency = new Map<string, IdempotencyEntry>();
  private readonly due = new DueHeap();
  private sortedNames: string[] | undefined;
  private readonly file: string | undefined;

  constructor(dataDir?: string) {
    this.file = dataDir ? path.join(dataDir, 'state.json') : undefined;
    if (dataDir) {
      fs.mkdirSync(dataDir, { recursive: true });
      this.load();
    }
  }

  /** Cluster names in sorted order, cached until a cluster is added or removed. */
  names(): string[] {
    this.sortedNames ??= [...this.clusters.keys()].sort();
    return this.sortedNames;
  }

  addCluster(c: ClusterRec): void {
    this.clusters.set(c.name, c);
    this.sortedNames = undefined;
    if (c.dueAt !== undefined) this.due.push({ at: c.dueAt, kind: 'cluster', key: c.name });
  }

  scheduleCluster(c: ClusterRec, at: number): void {
    c.dueAt = at;
    this.due.push({ at, kind: 'cluster', key: c.name });
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
      if (d.kind === 'cluster') changed = this.finishCluster(d) || changed;
      else changed = this.finishUpdate(d) || changed;
    }
    return changed;
  }

  private finishCluster(d: Due): boolean {
    const c = this.clusters.get(d.key);
    // Stale entries (the cluster was re-created or rescheduled) are skipped.
    if (!c || c.dueAt !== d.at) return false;
    c.dueAt = undefined;
    if (c.status === 'CREATING') {
      c.status = 'ACTIVE';
    } else if (c.status === 'DELETING') {
      this.clusters.delete(c.name);
      this.sortedNames = undefined;
    }
    return true;
  }

  private finishUpdate(d: Due): boolean {
    const u = this.updates.get(d.key);
    if (!u || u.status !== 'InProgress') return false;
    u.finishedAt = u.dueAt;
    const c = this.clusters.get(u.clusterName);
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

  snapshot(): Persisted {
    return {
      format: 'eksidp-emulator-state',
      version: 1,
      savedAt: Date.now(),
      clusters: [...this.clusters.values()].map((c) => ({ ...c, configs: [...c.configs.values()] })),
      updates: [...this.updates.values()],
      idempotency: [...this.idempotency.entries()],
    };
  }

  /** Writes the whole state atomically (temp file, fsync, rename), only when a dataDir is set. */
  persist(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(this.snapshot()));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file!, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const data = JSON.parse(text) as Persisted;
    if (data.format !== 'eksidp-emulator-state' || data.version !== 1) {
      throw new Error(`${this.file}: not an emulator state file (format ${String(data.format)}, version ${String(data.version)})`);
    }
    for (const c of data.clusters) {
      const configs = new Map<string, ConfigRec>(c.configs.map((x) => [x.name, { ...x, requiredClaims: nullProto(x.requiredClaims), tags: nullProto(x.tags)! }]));
      this.addCluster({ ...c, tags: nullProto(c.tags)!, configs });
    }
    for (const u of data.updates) {
      this.updates.set(u.id, u);
      if (u.status === 'InProgress') this.due.push({ at: u.dueAt, kind: 'update', key: u.id });
    }
    for (const [k, v] of data.idempotency) this.idempotency.set(k, v);
  }
}

function nullProto(m: Tags | undefined): Tags | undefined {
  return m === undefined ? undefined : Object.assign(Object.create(null) as Tags, m);
}
