import { createHash, randomUUID } from 'node:crypto';
import type { Logging, LogType, UpdateParam, UpdateType, VpcConfigResponse } from '@aws-sdk/client-eks';
import { EksError, inUse, invalidParameter, notFound } from './errors';
import type { ClusterPatch, ClusterRec, ConfigRec, Scope, Store, Tags, UpdateRecord } from './store';
import { bool, BadRequest, checkTags, int, isObj, NAME_MAX, NAME_PATTERN, obj, type Obj, str, strList, strMap, tagsParam, versionAtLeast } from './validate';
import { clusterWire, configWire, updateWire } from './wire';
import { issuerUrlProblem } from '../identity/issuer';

/** What operations need from the server: current durations and the seeded dice. */
export type Runtime = {
  durations(): { create: number; delete: number; update: number };
  rollUpdateFailure(): boolean;
};

/** One call: path parameters, query, JSON body, and the caller's account and region (whose clusters it sees). */
export type OpInput = { params: Record<string, string>; query: URLSearchParams; body: Obj; scope: Scope };
export type OpResult = { status: number; body: unknown };
type Handler = (input: OpInput) => OpResult;

export const LOG_TYPES: readonly LogType[] = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];
/** Kubernetes versions this emulator accepts (EKS standard + extended support, roughly). */
export const SUPPORTED_VERSIONS = ['1.24', '1.25', '1.26', '1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34'];
const DEFAULT_VERSION = '1.33';
const AUTH_MODES = ['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API'] as const;
const CONFIG_SIZE_LIMIT = 12 * 1024;

const ok = (body: unknown, status = 200): OpResult => ({ status, body });
const hex = (n: number) => randomUUID().replace(/-/g, '').repeat(2).slice(0, n).toUpperCase();

export class Eks {
  constructor(private readonly store: Store, private readonly rt: Runtime) {}

  readonly operations: Record<string, Handler> = {
    CreateCluster: (i) => this.createCluster(i),
    DescribeCluster: (i) => ok({ cluster: clusterWire(this.cluster(i, i.params.name!)) }),
    ListClusters: (i) => this.listClusters(i),
    DeleteCluster: (i) => this.deleteCluster(i),
    UpdateClusterVersion: (i) => this.updateClusterVersion(i),
    UpdateClusterConfig: (i) => this.updateClusterConfig(i),
    AssociateIdentityProviderConfig: (i) => this.associate(i),
    DescribeIdentityProviderConfig: (i) => this.describeConfig(i),
    ListIdentityProviderConfigs: (i) => this.listConfigs(i),
    DisassociateIdentityProviderConfig: (i) => this.disassociate(i),
    DescribeUpdate: (i) => this.describeUpdate(i),
    ListUpdates: (i) => this.listUpdates(i),
    TagResource: (i) => this.tagResource(i),
    UntagResource: (i) => this.untagResource(i),
    ListTagsForResource: (i) => ok({ tags: { ...this.taggable(i).tags } }),
    // Read by Terraform's aws_eks_cluster on some paths; nothing is ever created in them here.
    ListAccessEntries: (i) => (this.cluster(i, i.params.name!), ok({ accessEntries: [] })),
    ListAddons: (i) => (this.cluster(i, i.params.name!), ok({ addons: [] })),
  };

  // --- lookups ---

  private cluster(i: OpInput, name: string): ClusterRec {
    const c = this.store.part(i.scope).clusters.get(name);
    if (!c) throw notFound(`No cluster found for name: ${name}.`, name);
    return c;
  }

  private clusterArn(s: Scope, name: string): string {
    return `arn:aws:eks:${s.region}:${s.accountId}:cluster/${name}`;
  }

  /** A cluster or config by ARN, for the tag operations (NotFound/BadRequest as the model says). */
  private taggable(i: OpInput): ClusterRec | ConfigRec {
    const arn = i.params.resourceArn!;
    const m = /^arn:aws:eks:([^:]+):(\d{12}):(cluster|identityproviderconfig)\/(.+)$/.exec(arn);
    if (!m) throw new EksError('BadRequestException', `${arn.slice(0, 200)} is not a valid EKS resource ARN`);
    const [, , , kind, rest] = m;
    const parts = rest!.split('/');
    // Only the caller's own account and region: another account's ARN is not found, as on AWS.
    const c = this.store.part(i.scope).clusters.get(parts[0]!);
    if (kind === 'cluster' && parts.length === 1 && c && c.arn === arn) return c;
    if (kind === 'identityproviderconfig' && parts.length === 4 && parts[1] === 'oidc' && c) {
      const cfg = c.configs.get(parts[2]!);
      if (cfg && cfg.arn === arn) return cfg;
    }
    throw new EksError('NotFoundException', `Resource ${arn} not found.`);
  }

  /** One update at a time per cluster, and none while it is being created or deleted. */
  private assertIdle(c: ClusterRec, what: string): void {
    if (c.activeUpdateId) throw inUse(`Cannot ${what} because cluster ${c.name} currently has update ${c.activeUpdateId} in progress`, c.name);
    if (c.status !== 'ACTIVE') throw inUse(`Cannot ${what} because cluster ${c.name} is currently ${c.status}`, c.name);
  }

  // --- idempotency ---

  /**
   * Same token + same request → the original response, without doing anything again; same token
   * with a different request → InvalidRequestException.
   */
  private idempotent(op: string, cluster: string, input: OpInput, run: () => OpResult): OpResult {
    const token = str(input.body, 'clientRequestToken', { max: 128 });
    if (!token) return run();
    const key = `${input.scope.accountId}\u0000${input.scope.region}\u0000${op}\u0000${cluster}\u0000${token}`;
    const { clientRequestToken: _omit, ...rest } = input.body;
    const hash = createHash('sha256').update(canonical({ params: input.params, body: rest })).digest('hex');
    const seen = this.store.idempotency.get(key);
    if (seen) {
      if (seen.hash !== hash) throw new EksError('InvalidRequestException', `The clientRequestToken ${token} was already used for a different ${op} request.`, { clusterName: cluster });
      return { status: seen.status, body: JSON.parse(seen.body) as unknown };
    }
    const result = run();
    this.store.idempotency.set(key, { hash, status: result.status, body: JSON.stringify(result.body) });
    return result;
  }

  // --- clusters ---

  private createCluster(i: OpInput): OpResult {
    const b = i.body;
    const name = str(b, 'name', { required: true, min: 1, max: NAME_MAX, pattern: NAME_PATTERN })!;
    return this.idempotent('CreateCluster', name, i, () => {
      const roleArn = str(b, 'roleArn', { required: true, pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/ })!;
      const version = str(b, 'version') ?? DEFAULT_VERSION;
      if (!SUPPORTED_VERSIONS.includes(version)) throw invalidParameter(`unsupported Kubernetes version ${version}`, name);
      const vpc = obj(b, 'resourcesVpcConfig');
      if (!vpc) throw invalidParameter('resourcesVpcConfig is required', name);
      const subnetIds = strList(vpc, 'subnetIds', 'resourcesVpcConfig.subnetIds') ?? [];
      if (subnetIds.length < 1) throw invalidParameter('resourcesVpcConfig.subnetIds must name at least one subnet', name);
      const knc = obj(b, 'kubernetesNetworkConfig') ?? {};
      const access = obj(b, 'accessConfig') ?? {};
      const tags = tagsParam(b) ?? (Object.create(null) as Tags);
      const upgrade = obj(b, 'upgradePolicy') ?? {};
      const zonal = obj(b, 'zonalShiftConfig');
      const logging = loggingParam(b, emptyLogging()) ?? emptyLogging();
      const encryption = b.encryptionConfig;
      if (encryption !== undefined && !(Array.isArray(encryption) && encryption.length <= 1 && encryption.every(isObj))) throw invalidParameter('encryptionConfig must be a list of at most one object', name);
      const scope = i.scope;
      if (this.store.part(scope).clusters.has(name)) throw inUse(`Cluster already exists with name: ${name}`, name);

      const id = hex(32);
      const now = Date.now();
      const c: ClusterRec = {
        name,
        accountId: scope.accountId,
        region: scope.region,
        arn: this.clusterArn(scope, name),
        uid: randomUUID(),
        createdAt: now,
        version,
        platformVersion: 'eks.1',
        roleArn,
        status: 'CREATING',
        endpoint: `https://${id}.gr7.${scope.region}.eks.amazonaws.com`,
        certificateData: Buffer.from(`-----BEGIN CERTIFICATE-----\nemulated-${id}\n-----END CERTIFICATE-----\n`).toString('base64'),
        issuer: `https://oidc.eks.${scope.region}.amazonaws.com/id/${id}`,
        resourcesVpcConfig: {
          subnetIds,
          securityGroupIds: strList(vpc, 'securityGroupIds', 'resourcesVpcConfig.securityGroupIds') ?? [],
          clusterSecurityGroupId: `sg-${hex(17).toLowerCase()}`,
          vpcId: `vpc-${createHash('sha1').update(subnetIds[0]!).digest('hex').slice(0, 17)}`,
          endpointPublicAccess: bool(vpc, 'endpointPublicAccess', 'resourcesVpcConfig.endpointPublicAccess') ?? true,
          endpointPrivateAccess: bool(vpc, 'endpointPrivateAccess', 'resourcesVpcConfig.endpointPrivateAccess') ?? false,
          publicAccessCidrs: strList(vpc, 'publicAccessCidrs', 'resourcesVpcConfig.publicAccessCidrs') ?? ['0.0.0.0/0'],
        },
        kubernetesNetworkConfig: {
          serviceIpv4Cidr: str(knc, 'serviceIpv4Cidr', { path: 'kubernetesNetworkConfig.serviceIpv4Cidr' }) ?? '172.20.0.0/16',
          ipFamily: (str(knc, 'ipFamily', { path: 'kubernetesNetworkConfig.ipFamily', oneOf: ['ipv4', 'ipv6'] }) ?? 'ipv4') as 'ipv4' | 'ipv6',
          elasticLoadBalancing: { enabled: bool(obj(knc, 'elasticLoadBalancing') ?? {}, 'enabled') ?? false },
        },
        logging,
        accessConfig: {
          authenticationMode: (str(access, 'authenticationMode', { path: 'accessConfig.authenticationMode', oneOf: AUTH_MODES }) ?? 'CONFIG_MAP') as (typeof AUTH_MODES)[number],
          bootstrapClusterCreatorAdminPermissions: bool(access, 'bootstrapClusterCreatorAdminPermissions') ?? true,
        },
        upgradePolicy: { supportType: (str(upgrade, 'supportType', { path: 'upgradePolicy.supportType', oneOf: ['STANDARD', 'EXTENDED'] }) ?? 'EXTENDED') as 'STANDARD' | 'EXTENDED' },
        // AWS reports zonal shift only once it has been configured.
        zonalShiftConfig: zonal ? { enabled: bool(zonal, 'enabled', 'zonalShiftConfig.enabled') ?? false } : undefined,
        tags,
        clientRequestToken: str(b, 'clientRequestToken'),
        encryptionConfig: encryption as ClusterRec['encryptionConfig'],
        computeConfig: obj(b, 'computeConfig') as ClusterRec['computeConfig'],
        storageConfig: obj(b, 'storageConfig') as ClusterRec['storageConfig'],
        remoteNetworkConfig: obj(b, 'remoteNetworkConfig') as ClusterRec['remoteNetworkConfig'],
        deletionProtection: bool(b, 'deletionProtection'),
        controlPlaneScalingConfig: obj(b, 'controlPlaneScalingConfig') as ClusterRec['controlPlaneScalingConfig'],
        dueAt: now + this.rt.durations().create,
        updateIds: [],
        configs: new Map(),
      };
      this.store.addCluster(c);
      return ok({ cluster: clusterWire(c) });
    });
  }

  private listClusters(i: OpInput): OpResult {
    const max = maxResults(i.query);
    const names = this.store.part(i.scope).names();
    const after = readToken(i.query, 'clusters', '');
    const start = after === undefined ? 0 : upperBound(names, String(after));
    const page = names.slice(start, start + max);
    const more = start + max < names.length;
    return ok({ clusters: page, ...(more ? { nextToken: makeToken('clusters', '', page[page.length - 1]!) } : {}) });
  }

  private deleteCluster(i: OpInput): OpResult {
    const c = this.cluster(i, i.params.name!);
    if (c.status === 'DELETING') return ok({ cluster: clusterWire(c) });
    if (c.activeUpdateId) throw inUse(`Cannot delete because cluster ${c.name} currently has update ${c.activeUpdateId} in progress`, c.name);
    if (c.status === 'CREATING') throw inUse(`Cannot delete because cluster ${c.name} is currently being created`, c.name);
    if (c.deletionProtection) throw new EksError('InvalidRequestException', `Cannot delete cluster ${c.name} because deletion protection is enabled`, { clusterName: c.name });
    c.status = 'DELETING';
    this.store.scheduleCluster(c, Date.now() + this.rt.durations().delete);
    return ok({ cluster: clusterWire(c) });
  }

  // --- updates ---

  private startUpdate(c: ClusterRec, type: UpdateType, params: UpdateParam[], body: Obj, extra: Pick<UpdateRecord, 'configName' | 'patch'> = {}): UpdateRecord {
    const now = Date.now();
    const u: UpdateRecord = {
      id: randomUUID(),
      accountId: c.accountId,
      region: c.region,
      clusterName: c.name,
      clusterUid: c.uid,
      type,
      status: 'InProgress',
      params,
      createdAt: now,
      dueAt: now + this.rt.durations().update,
      clientRequestToken: str(body, 'clientRequestToken'),
      fail: this.rt.rollUpdateFailure(),
      errors: [],
      ...extra,
    };
    this.store.addUpdate(u, c);
    return u;
  }

  private updateClusterVersion(i: OpInput): OpResult {
    const name = i.params.name!;
    return this.idempotent('UpdateClusterVersion', name, i, () => {
      const version = str(i.body, 'version', { required: true })!;
      const c = this.cluster(i, name);
      if (!SUPPORTED_VERSIONS.includes(version)) throw invalidParameter(`unsupported Kubernetes version ${version}`, name);
      const [cur, next] = [minor(c.version), minor(version)];
      if (next === cur) throw invalidParameter(`Cluster ${name} is already at Kubernetes version ${version}`, name);
      if (next !== cur + 1) throw invalidParameter(`Unsupported Kubernetes minor version update from ${c.version} to ${version}`, name);
      this.assertIdle(c, 'VersionUpdate');
      const u = this.startUpdate(c, 'VersionUpdate', [{ type: 'Version', value: version }, { type: 'PlatformVersion', value: 'eks.1' }], i.body, { patch: { version, platformVersion: 'eks.1' } });
      return ok({ update: updateWire(u) });
    });
  }

  /** One kind of change per call, as AWS requires; the change applies when the update succeeds. */
  private updateClusterConfig(i: OpInput): OpResult {
    const name = i.params.name!;
    return this.idempotent('UpdateClusterConfig', name, i, () => {
      const b = i.body;
      const c = this.cluster(i, name);
      const kinds: { type: UpdateType; params: UpdateParam[]; patch: ClusterPatch }[] = [];
      const vpc = obj(b, 'resourcesVpcConfig');
      if (vpc) {
        const cur = c.resourcesVpcConfig;
        const pub = bool(vpc, 'endpointPublicAccess', 'resourcesVpcConfig.endpointPublicAccess');
        const priv = bool(vpc, 'endpointPrivateAccess', 'resourcesVpcConfig.endpointPrivateAccess');
        const cidrs = strList(vpc, 'publicAccessCidrs', 'resourcesVpcConfig.publicAccessCidrs');
        const subnets = strList(vpc, 'subnetIds', 'resourcesVpcConfig.subnetIds');
        const sgs = strList(vpc, 'securityGroupIds', 'resourcesVpcConfig.securityGroupIds');
        if (pub !== undefined || priv !== undefined || cidrs !== undefined) {
          const next: VpcConfigResponse = { ...cur, endpointPublicAccess: pub ?? cur.endpointPublicAccess, endpointPrivateAccess: priv ?? cur.endpointPrivateAccess, publicAccessCidrs: cidrs ?? cur.publicAccessCidrs };
          if (!next.endpointPublicAccess && !next.endpointPrivateAccess) throw invalidParameter('At least one of endpointPublicAccess and endpointPrivateAccess must be true', name);
          const params: UpdateParam[] = [];
          if (pub !== undefined) params.push({ type: 'EndpointPublicAccess', value: String(pub) });
          if (priv !== undefined) params.push({ type: 'EndpointPrivateAccess', value: String(priv) });
          if (cidrs !== undefined) params.push({ type: 'PublicAccessCidrs', value: JSON.stringify(cidrs) });
          kinds.push({ type: 'EndpointAccessUpdate', params, patch: { resourcesVpcConfig: next } });
        }
        if (subnets !== undefined || sgs !== undefined) {
          const params: UpdateParam[] = [];
          if (subnets !== undefined) params.push({ type: 'Subnets', value: JSON.stringify(subnets) });
          if (sgs !== undefined) params.push({ type: 'SecurityGroups', value: JSON.stringify(sgs) });
          kinds.push({ type: 'VpcConfigUpdate', params, patch: { resourcesVpcConfig: { ...cur, subnetIds: subnets ?? cur.subnetIds, securityGroupIds: sgs ?? cur.securityGroupIds } } });
        }
      }
      const logging = loggingParam(b, c.logging);
      if (logging) kinds.push({ type: 'LoggingUpdate', params: [{ type: 'ClusterLogging', value: JSON.stringify(logging) }], patch: { logging } });
      const access = obj(b, 'accessConfig');
      if (access) {
        const mode = str(access, 'authenticationMode', { path: 'accessConfig.authenticationMode', oneOf: AUTH_MODES, required: true }) as (typeof AUTH_MODES)[number];
        const from = c.accessConfig.authenticationMode ?? 'CONFIG_MAP';
        // AWS only moves towards access entries: CONFIG_MAP → API_AND_CONFIG_MAP → API.
        if (AUTH_MODES.indexOf(mode) < AUTH_MODES.indexOf(from)) throw invalidParameter(`Unsupported authentication mode update from ${from} to ${mode}`, name);
        kinds.push({ type: 'AccessConfigUpdate', params: [{ type: 'AuthenticationMode', value: mode }], patch: { accessConfig: { ...c.accessConfig, authenticationMode: mode } } });
      }
      const upgrade = obj(b, 'upgradePolicy');
      if (upgrade) {
        const supportType = str(upgrade, 'supportType', { path: 'upgradePolicy.supportType', oneOf: ['STANDARD', 'EXTENDED'], required: true }) as 'STANDARD' | 'EXTENDED';
        kinds.push({ type: 'UpgradePolicyUpdate', params: [{ type: 'UpgradePolicy', value: supportType }], patch: { upgradePolicy: { supportType } } });
      }
      const zonal = obj(b, 'zonalShiftConfig');
      if (zonal) {
        const enabled = bool(zonal, 'enabled', 'zonalShiftConfig.enabled') ?? false;
        kinds.push({ type: 'ZonalShiftConfigUpdate', params: [{ type: 'ZonalShiftConfig', value: String(enabled) }], patch: { zonalShiftConfig: { enabled } } });
      }
      const dp = bool(b, 'deletionProtection');
      if (dp !== undefined) kinds.push({ type: 'DeletionProtectionUpdate', params: [{ type: 'DeletionProtection', value: String(dp) }], patch: { deletionProtection: dp } });
      const auto: ClusterPatch = {};
      for (const k of ['computeConfig', 'storageConfig', 'kubernetesNetworkConfig'] as const) {
        const v = obj(b, k);
        if (v) Object.assign(auto, { [k]: k === 'kubernetesNetworkConfig' ? { ...c.kubernetesNetworkConfig, ...v } : v });
      }
      if (Object.keys(auto).length > 0) kinds.push({ type: 'AutoModeUpdate', params: Object.entries(auto).map(([k, v]) => ({ type: (k[0]!.toUpperCase() + k.slice(1)) as UpdateParam['type'], value: JSON.stringify(v) })), patch: auto });
      const remote = obj(b, 'remoteNetworkConfig');
      if (remote) kinds.push({ type: 'RemoteNetworkConfigUpdate', params: [{ type: 'RemoteNetworkConfig', value: JSON.stringify(remote) }], patch: { remoteNetworkConfig: remote as ClusterPatch['remoteNetworkConfig'] } });
      const scaling = obj(b, 'controlPlaneScalingConfig');
      if (scaling) kinds.push({ type: 'ControlPlaneScalingConfigUpdate', params: [{ type: 'UpdatedTier', value: String(scaling.tier) }], patch: { controlPlaneScalingConfig: scaling as ClusterPatch['controlPlaneScalingConfig'] } });

      if (kinds.length === 0) throw invalidParameter('No changes were requested: the request names no cluster configuration to update', name);
      if (kinds.length > 1) throw invalidParameter(`Only one type of update can be allowed (got ${kinds.map((k) => k.type).join(', ')})`, name);
      const kind = kinds[0]!;
      const unchanged = Object.entries(kind.patch).every(([k, v]) => canonical(v) === canonical((c as Record<string, unknown>)[k]));
      if (unchanged) throw invalidParameter(`No changes needed for the ${kind.type.replace(/Update$/, '')} configuration provided`, name);
      this.assertIdle(c, kind.type);
      const u = this.startUpdate(c, kind.type, kind.params, b, { patch: kind.patch });
      return ok({ update: updateWire(u) });
    });
  }

  private describeUpdate(i: OpInput): OpResult {
    const c = this.cluster(i, i.params.name!);
    const u = this.store.updates.get(i.params.updateId!);
    if (!u || u.clusterUid !== c.uid) throw notFound(`No update found for ID: ${i.params.updateId}`, c.name);
    return ok({ update: updateWire(u) });
  }

  private listUpdates(i: OpInput): OpResult {
    const c = this.cluster(i, i.params.name!);
    for (const q of ['nodegroupName', 'addonName', 'capabilityName']) {
      const v = i.query.get(q);
      if (v) throw notFound(`No ${q.replace('Name', '')} found for name: ${v}.`, c.name);
    }
    const max = maxResults(i.query);
    const start = Number(readToken(i.query, 'updates', c.uid) ?? 0);
    const page = c.updateIds.slice(start, start + max);
    const more = start + max < c.updateIds.length;
    return ok({ updateIds: page, ...(more ? { nextToken: makeToken('updates', c.uid, start + max) } : {}) });
  }

  // --- identity provider configs ---

  private associate(i: OpInput): OpResult {
    const name = i.params.name!;
    return this.idempotent('AssociateIdentityProviderConfig', name, i, () => {
      const b = i.body;
      const o = obj(b, 'oidc');
      if (!o) throw invalidParameter('oidc is required', name);
      const p = (f: string) => `oidc.${f}`;
      const cfgName = str(o, 'identityProviderConfigName', { required: true, min: 1, max: NAME_MAX, pattern: NAME_PATTERN, path: p('identityProviderConfigName') })!;
      const issuerUrl = str(o, 'issuerUrl', { required: true, min: 1, max: 2048, path: p('issuerUrl') })!;
      const issuerProblem = issuerUrlProblem(issuerUrl);
      if (issuerProblem) throw invalidParameter(`oidc.issuerUrl ${JSON.stringify(issuerUrl.slice(0, 200))} ${issuerProblem}`, name);
      const clientId = str(o, 'clientId', { required: true, min: 1, max: 1024, path: p('clientId') })!;
      const usernameClaim = str(o, 'usernameClaim', { min: 1, max: 1024, path: p('usernameClaim') });
      const usernamePrefix = str(o, 'usernamePrefix', { min: 1, max: 1024, path: p('usernamePrefix') });
      const groupsClaim = str(o, 'groupsClaim', { min: 1, max: 1024, path: p('groupsClaim') });
      const groupsPrefix = str(o, 'groupsPrefix', { min: 1, max: 1024, path: p('groupsPrefix') });
      for (const [f, v] of [['usernamePrefix', usernamePrefix], ['groupsPrefix', groupsPrefix]] as const) {
        if (v?.includes('system:')) throw invalidParameter(`oidc.${f} must not contain 'system:', got '${v}'`, name);
      }
      const requiredClaims = strMap(o, 'requiredClaims', p('requiredClaims'));
      for (const [k, v] of Object.entries(requiredClaims ?? {})) {
        if (k.length < 1 || k.length > 63) throw invalidParameter(`oidc.requiredClaims key '${k.slice(0, 80)}' must be 1 to 63 characters long`, name);
        if (v.length < 1 || v.length > 253) throw invalidParameter(`oidc.requiredClaims value for '${k}' must be 1 to 253 characters long`, name);
      }
      const tags = tagsParam(b) ?? (Object.create(null) as Tags);

      const c = this.cluster(i, name);
      if (c.configs.has(cfgName)) throw inUse(`Identity provider config ${cfgName} already exists on cluster ${name}`, name);
      const size = Buffer.byteLength(JSON.stringify(o));
      const configs = [...c.configs.values()];
      if (configs.some((x) => x.issuerUrl === issuerUrl)) throw invalidParameter(`Cluster ${name} already has an identity provider config with issuer URL ${issuerUrl}`, name);
      const limit = versionAtLeast(c.version, 1, 32) ? 10 : 1;
      if (configs.length >= limit) {
        throw new EksError('ResourceLimitExceededException', `Cluster ${name} already has ${configs.length} identity provider config(s); Kubernetes ${c.version} allows at most ${limit}`, { clusterName: name });
      }
      const total = configs.reduce((s, x) => s + x.size, 0) + size;
      if (total >= CONFIG_SIZE_LIMIT) {
        throw new EksError('ResourceLimitExceededException', `The identity provider configs of cluster ${name} would total ${total} bytes; the combined size must stay under ${CONFIG_SIZE_LIMIT} bytes`, { clusterName: name });
      }
      this.assertIdle(c, 'AssociateIdentityProviderConfig');
      const cfg: ConfigRec = {
        name: cfgName,
        arn: `arn:aws:eks:${c.region}:${c.accountId}:identityproviderconfig/${name}/oidc/${cfgName}/${randomUUID()}`,
        clusterName: name,
        issuerUrl, clientId, usernameClaim, usernamePrefix, groupsClaim, groupsPrefix, requiredClaims,
        tags,
        status: 'CREATING',
        size,
      };
      c.configs.set(cfgName, cfg);
      const u = this.startUpdate(c, 'AssociateIdentityProviderConfig', [{ type: 'IdentityProviderConfig', value: JSON.stringify([{ type: 'oidc', name: cfgName }]) }], b, { configName: cfgName });
      return ok({ update: updateWire(u), tags: { ...tags } });
    });
  }

  private configRef(i: OpInput, name: string): { c: ClusterRec; cfg: ConfigRec } {
    const ref = obj(i.body, 'identityProviderConfig');
    if (!ref) throw invalidParameter('identityProviderConfig is required', name);
    const type = str(ref, 'type', { required: true, path: 'identityProviderConfig.type' })!;
    const cfgName = str(ref, 'name', { required: true, path: 'identityProviderConfig.name' })!;
    if (type !== 'oidc') throw invalidParameter(`identityProviderConfig.type must be 'oidc', got '${type.slice(0, 40)}'`, name);
    const c = this.cluster(i, name);
    const cfg = c.configs.get(cfgName);
    if (!cfg) throw notFound(`No identity provider config found for name: ${cfgName} on cluster ${name}.`, name);
    return { c, cfg };
  }

  private describeConfig(i: OpInput): OpResult {
    const { cfg } = this.configRef(i, i.params.name!);
    return ok({ identityProviderConfig: { oidc: configWire(cfg) } });
  }

  private listConfigs(i: OpInput): OpResult {
    const c = this.cluster(i, i.params.name!);
    const max = maxResults(i.query);
    const names = [...c.configs.keys()].sort();
    const after = readToken(i.query, 'configs', c.uid);
    const start = after === undefined ? 0 : upperBound(names, String(after));
    const page = names.slice(start, start + max);
    const more = start + max < names.length;
    return ok({ identityProviderConfigs: page.map((n) => ({ type: 'oidc', name: n })), ...(more ? { nextToken: makeToken('configs', c.uid, page[page.length - 1]!) } : {}) });
  }

  private disassociate(i: OpInput): OpResult {
    const name = i.params.name!;
    return this.idempotent('DisassociateIdentityProviderConfig', name, i, () => {
      const { c, cfg } = this.configRef(i, name);
      if (cfg.status === 'DELETING') throw inUse(`Identity provider config ${cfg.name} is already being disassociated from cluster ${name}`, name);
      this.assertIdle(c, 'DisassociateIdentityProviderConfig');
      cfg.status = 'DELETING';
      const u = this.startUpdate(c, 'DisassociateIdentityProviderConfig', [{ type: 'IdentityProviderConfig', value: '[]' }], i.body, { configName: cfg.name });
      return ok({ update: updateWire(u) });
    });
  }

  // --- tags ---

  private tagResource(i: OpInput): OpResult {
    const target = this.taggable(i);
    const tags = strMap(i.body, 'tags');
    if (!tags) throw new EksError('BadRequestException', 'tags is required');
    const merged = Object.assign(Object.create(null) as Tags, target.tags, tags);
    try {
      checkTags(tags);
      checkTags(merged);
    } catch (e) {
      if (e instanceof BadRequest) throw new EksError('BadRequestException', e.message);
      throw e;
    }
    target.tags = merged;
    return ok({});
  }

  private untagResource(i: OpInput): OpResult {
    const target = this.taggable(i);
    const keys = i.query.getAll('tagKeys');
    if (keys.length < 1 || keys.length > 50) throw new EksError('BadRequestException', `tagKeys must name 1 to 50 keys, got ${keys.length}`);
    const next = Object.assign(Object.create(null) as Tags, target.tags);
    for (const k of keys) delete next[k];
    target.tags = next;
    return ok({});
  }
}

// --- helpers ---

function emptyLogging(): Logging {
  return { clusterLogging: [{ types: [...LOG_TYPES], enabled: false }] };
}

/**
 * Reads a `logging` request and returns the full resulting setup, normalised as AWS reports it:
 * one group of enabled types and one of disabled types.
 */
function loggingParam(body: Obj, current: Logging): Logging | undefined {
  const l = obj(body, 'logging');
  if (!l) return undefined;
  const groups = l.clusterLogging;
  if (!Array.isArray(groups) || !groups.every(isObj)) throw invalidParameter('logging.clusterLogging must be a list of objects');
  const enabled = new Set<LogType>((current.clusterLogging ?? []).filter((g) => g.enabled).flatMap((g) => g.types ?? []));
  for (const g of groups) {
    const types = strList(g, 'types', 'logging.clusterLogging.types') ?? [];
    for (const t of types) if (!LOG_TYPES.includes(t as LogType)) throw invalidParameter(`logging.clusterLogging.types: unknown log type '${t.slice(0, 40)}'`);
    const on = bool(g, 'enabled', 'logging.clusterLogging.enabled') ?? false;
    for (const t of types) (on ? enabled.add(t as LogType) : enabled.delete(t as LogType));
  }
  const on = LOG_TYPES.filter((t) => enabled.has(t));
  const off = LOG_TYPES.filter((t) => !enabled.has(t));
  return { clusterLogging: [...(on.length ? [{ types: on, enabled: true }] : []), ...(off.length ? [{ types: off, enabled: false }] : [])] };
}

function minor(version: string): number {
  return Number(/^1\.(\d+)$/.exec(version)?.[1] ?? NaN);
}

function maxResults(q: URLSearchParams): number {
  const raw = q.get('maxResults');
  if (raw === null) return 100;
  const n = int({ maxResults: /^-?\d+$/.test(raw) ? Number(raw) : raw }, 'maxResults', { min: 1, max: 100 });
  return n!;
}

/**
 * Opaque pagination tokens: base64url JSON naming the list and its owner, so a token from one
 * list (or garbage) is rejected rather than silently mis-read.
 */
function makeToken(list: string, owner: string, after: string | number): string {
  return Buffer.from(JSON.stringify({ l: list, o: owner, a: after })).toString('base64url');
}

function readToken(q: URLSearchParams, list: string, owner: string): string | number | undefined {
  const raw = q.get('nextToken');
  if (raw === null || raw === '') return undefined;
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (isObj(t) && t.l === list && t.o === owner && (typeof t.a === 'string' || (typeof t.a === 'number' && Number.isInteger(t.a) && t.a >= 0))) return t.a;
  } catch {
    // fall through to the error below
  }
  throw invalidParameter(`The nextToken '${raw.slice(0, 80)}' is not valid for this request`);
}

/** Index of the first element greater than `key` in a sorted array. */
function upperBound(a: string[], key: string): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** JSON with sorted keys, so equal requests hash equally whatever their key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (isObj(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x)) ?? 'undefined';
}
