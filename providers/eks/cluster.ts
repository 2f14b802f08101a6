import type { Cluster, CreateClusterRequest, LogType, UpdateClusterConfigRequest } from '@aws-sdk/client-eks';
import type { ApplyResourceChangeRequest, ApplyResourceChangeResponse, BlockSchema, Diagnostic, ObjectValue, Path, ReadResourceResponse, Value } from '../../engine/protocol';
import { firstBlock, stringValue, valuesEqual, ZERO_VALUES, ZERO_VALUES_SET } from '../../engine/util';
import { sdk } from './client';
import { MINUTE, errorDiag, failureDiag, requestToken, retryInUse, waitContext, waitUpdate, type Ctx } from './common';
import { isInUse, isNotFound } from './errors';
import type { TagConfig } from './settings';
import { alignEmpty, emptyLike, shape } from './state';
import { createTags, dataSourceTags, stateTags, tagChanges, tagsOf, updateTarget } from './tags';
import { waitFor, type WaitContext } from './wait';

export const CLUSTER_TYPE = 'aws_eks_cluster';

/** hashicorp/aws 5.100's aws_eks_cluster timeouts. */
export const CLUSTER_TIMEOUTS = { create: 30 * MINUTE, update: 60 * MINUTE, delete: 15 * MINUTE };

const ALL_LOG_TYPES: LogType[] = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];

/**
 * Attributes whose change replaces the cluster, as the oracle (terraform 1.11 + hashicorp/aws 5.100
 * plan, see test/differential-terraform.test.ts) reports them.
 */
const FORCE_NEW: Path[] = [
  ['name'],
  ['role_arn'],
  ['bootstrap_self_managed_addons'],
  ['access_config', 0, 'bootstrap_cluster_creator_admin_permissions'],
  ['kubernetes_network_config', 0, 'ip_family'],
  ['kubernetes_network_config', 0, 'service_ipv4_cidr'],
  ['outpost_config'],
  ['remote_network_config'],
];

export function clusterRequiresReplace(path: Path, prior?: ObjectValue, planned?: ObjectValue): boolean {
  // Envelope encryption cannot be removed once enabled (5.100's ForceNewIfChange).
  if (path.length === 1 && path[0] === 'encryption_config') return !!firstBlock(prior?.encryption_config) && !firstBlock(planned?.encryption_config);
  return FORCE_NEW.some((p) => p.every((x, i) => x === path[i]));
}

function strs(v: Value | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
function bool(v: Value | undefined): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}
function list<T>(x: T | undefined | null): T[] {
  return x === undefined || x === null ? [] : [x];
}
/** Go's time.RFC3339 (what hashicorp/aws stores): no fractional seconds. */
function rfc3339(d: Date | undefined): string | null {
  // toISOString is always YYYY-MM-DDTHH:mm:ss.sssZ here (years 0-9999): drop the milliseconds.
  return d ? `${d.toISOString().slice(0, 19)}Z` : null;
}

/** An optional block EKS reports with only default values, left out of config: keep it out of state. */
function unlessDefault(like: ObjectValue | null, name: string, value: ObjectValue[]): ObjectValue[] {
  const likeList = like?.[name];
  if (Array.isArray(likeList) && likeList.length > 0) return value;
  const allDefault = value.every((o) => Object.values(o).every((x) => x === false || x === null || x === '' || (Array.isArray(x) && x.length === 0)));
  return allDefault ? [] : value;
}

/**
 * Which read this is, for tags (tags.ts): after a create or update (`like` is the planned state, its
 * tags the configured ones), a refresh (`like` is the prior state), or the data source.
 */
export type ReadKind = 'apply' | 'refresh' | 'data';

/** DescribeCluster → state, attribute by attribute as hashicorp/aws 5.100's read maps it. */
export function clusterState(c: Cluster, like: ObjectValue | null, tagConfig: TagConfig, kind: ReadKind): ObjectValue {
  const forDataSource = kind === 'data';
  const likeAccess = firstBlock(like?.access_config);
  const vpc = c.resourcesVpcConfig;
  const knc = c.kubernetesNetworkConfig;
  const resolved = forDataSource
    ? { tags: dataSourceTags(tagConfig, c.tags), tagsAll: {} }
    : stateTags(tagConfig, c.tags, kind === 'apply' ? { applying: true, configTags: like?.tags } : { applying: false, stateTags: like?.tags });
  // The data source sets the (computed) tags map even when empty: `{}`, never null (hashicorp/aws 5.100, measured).
  const tags = forDataSource || Object.keys(resolved.tags).length ? resolved.tags : emptyLike(like?.tags);
  const state: ObjectValue = {
    access_config: c.accessConfig
      ? [{ authentication_mode: c.accessConfig.authenticationMode ?? null, bootstrap_cluster_creator_admin_permissions: bool(likeAccess?.bootstrap_cluster_creator_admin_permissions) ?? false }]
      : [],
    arn: c.arn ?? null,
    certificate_authority: list(c.certificateAuthority).map((ca) => ({ data: ca.data ?? '' })),
    cluster_id: c.outpostConfig ? (c.id ?? null) : null,
    compute_config: unlessDefault(
      like,
      'compute_config',
      list(c.computeConfig).map((cc) => ({ enabled: cc.enabled ?? false, node_pools: [...(cc.nodePools ?? [])].sort(), node_role_arn: cc.nodeRoleArn ?? '' })),
    ),
    created_at: rfc3339(c.createdAt),
    enabled_cluster_log_types: (c.logging?.clusterLogging ?? [])
      .filter((l) => l.enabled)
      .flatMap((l) => l.types ?? [])
      .sort(),
    encryption_config: (c.encryptionConfig ?? []).map((e) => ({ provider: list(e.provider).map((p) => ({ key_arn: p.keyArn ?? '' })), resources: [...(e.resources ?? [])].sort() })),
    endpoint: c.endpoint ?? null,
    id: c.name ?? null,
    identity: list(c.identity).map((i) => ({ oidc: list(i.oidc).map((o) => ({ issuer: o.issuer ?? '' })) })),
    kubernetes_network_config: knc
      ? [
          {
            elastic_load_balancing: list(knc.elasticLoadBalancing).map((e) => ({ enabled: e.enabled ?? false })),
            ip_family: knc.ipFamily ?? null,
            service_ipv4_cidr: knc.serviceIpv4Cidr ?? '',
            service_ipv6_cidr: knc.serviceIpv6Cidr ?? '',
          },
        ]
      : [],
    name: c.name ?? null,
    outpost_config: list(c.outpostConfig).map((o) => ({
      control_plane_instance_type: o.controlPlaneInstanceType ?? '',
      control_plane_placement: list(o.controlPlanePlacement).map((p) => ({ group_name: p.groupName ?? '' })),
      outpost_arns: [...(o.outpostArns ?? [])].sort(),
    })),
    platform_version: c.platformVersion ?? null,
    remote_network_config: list(c.remoteNetworkConfig).map((r) => ({
      remote_node_networks: (r.remoteNodeNetworks ?? []).map((n) => ({ cidrs: [...(n.cidrs ?? [])].sort() })),
      remote_pod_networks: (r.remotePodNetworks ?? []).map((n) => ({ cidrs: [...(n.cidrs ?? [])].sort() })),
    })),
    role_arn: c.roleArn ?? null,
    status: c.status ?? null,
    storage_config: unlessDefault(
      like,
      'storage_config',
      list(c.storageConfig).map((s) => ({ block_storage: list(s.blockStorage).map((b) => ({ enabled: b.enabled ?? false })) })),
    ),
    tags,
    upgrade_policy: list(c.upgradePolicy).map((u) => ({ support_type: u.supportType ?? null })),
    version: c.version ?? null,
    vpc_config: vpc
      ? [
          {
            cluster_security_group_id: vpc.clusterSecurityGroupId ?? '',
            endpoint_private_access: vpc.endpointPrivateAccess ?? false,
            endpoint_public_access: vpc.endpointPublicAccess ?? false,
            public_access_cidrs: [...(vpc.publicAccessCidrs ?? [])].sort(),
            security_group_ids: [...(vpc.securityGroupIds ?? [])].sort(),
            subnet_ids: [...(vpc.subnetIds ?? [])].sort(),
            vpc_id: vpc.vpcId ?? '',
          },
        ]
      : [],
    zonal_shift_config: unlessDefault(like, 'zonal_shift_config', list(c.zonalShiftConfig).map((z) => ({ enabled: z.enabled ?? false }))),
  };
  if (forDataSource) {
    delete state.encryption_config;
    return state;
  }
  // Not returned by EKS: kept from what was planned, with 5.100's default.
  state.bootstrap_self_managed_addons = bool(like?.bootstrap_self_managed_addons) ?? true;
  state.force_update_version = bool(like?.force_update_version) ?? null;
  state.tags_all = Object.keys(resolved.tagsAll).length ? resolved.tagsAll : (emptyLike(like?.tags_all) ?? {});
  state.timeouts = like?.timeouts ?? null;
  return alignEmpty(state, like ?? undefined) as ObjectValue;
}

/** The aws_eks_cluster data source's state, as readDataSource returns it. */
export function clusterDataSourceState(block: BlockSchema, c: Cluster, config: ObjectValue, tagConfig: TagConfig): ObjectValue {
  return shape(block, clusterState(c, config, tagConfig, 'data'));
}

export async function describeCluster(ctx: Ctx, name: string, signal?: AbortSignal): Promise<Cluster | undefined> {
  try {
    return (await ctx.reads.describeCluster(name, signal)).cluster;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Why a DELETING or FAILED cluster's configs count as missing, said by the plan (a warning) and by drift. */
export function unusableClusterNote(name: string, status: string): string {
  return status === 'DELETING'
    ? `cluster ${name} is being deleted outside eksidp (status DELETING), and its identity provider configs with it. Plans leave it alone meanwhile, as Terraform does; once it is gone, eksidp apply creates what the stack manages again.`
    : `cluster ${name} is ${status}: EKS cannot serve identity provider configs from it. eksidp cannot repair it: delete the cluster, then eksidp apply creates what the stack manages again.`;
}

export async function readCluster(ctx: Ctx, address: string, prior: ObjectValue, signal?: AbortSignal): Promise<ReadResourceResponse> {
  const name = stringValue(prior.id) ?? stringValue(prior.name);
  if (!name) return { newState: null, diagnostics: [errorDiag(address, `${address}: state has no cluster name`)] };
  try {
    const c = await describeCluster(ctx, name, signal);
    // Kept in state, as hashicorp/aws 5.100 does (a no-op plan), with a warning.
    const diagnostics: Diagnostic[] = c?.status === 'DELETING' || c?.status === 'FAILED' ? [{ severity: 'warning', summary: unusableClusterNote(name, c.status), address }] : [];
    return { newState: c ? clusterState(c, prior, ctx.tags, 'refresh') : null, diagnostics };
  } catch (e) {
    return { newState: prior, diagnostics: [failureDiag(address, `reading cluster ${name}`, e)] };
  }
}

function createRequest(p: ObjectValue, token: string, tagConfig: TagConfig): CreateClusterRequest {
  const vpc = firstBlock(p.vpc_config) ?? {};
  const access = firstBlock(p.access_config);
  const knc = firstBlock(p.kubernetes_network_config);
  const upgrade = firstBlock(p.upgrade_policy);
  const zonal = firstBlock(p.zonal_shift_config);
  const enc = firstBlock(p.encryption_config);
  // default_tags merged with the resource's (tags.ts), as the provider sends them.
  const tags = createTags(tagConfig, p.tags);
  const logTypes = strs(p.enabled_cluster_log_types) as LogType[];
  return {
    name: stringValue(p.name),
    roleArn: stringValue(p.role_arn),
    version: stringValue(p.version),
    clientRequestToken: token,
    bootstrapSelfManagedAddons: bool(p.bootstrap_self_managed_addons) ?? true,
    resourcesVpcConfig: {
      subnetIds: strs(vpc.subnet_ids),
      securityGroupIds: strs(vpc.security_group_ids),
      endpointPrivateAccess: bool(vpc.endpoint_private_access) ?? false,
      endpointPublicAccess: bool(vpc.endpoint_public_access) ?? true,
      publicAccessCidrs: strs(vpc.public_access_cidrs).length ? strs(vpc.public_access_cidrs) : undefined,
    },
    logging: {
      clusterLogging: [
        { enabled: true, types: logTypes },
        { enabled: false, types: ALL_LOG_TYPES.filter((t) => !logTypes.includes(t)) },
      ],
    },
    tags: Object.keys(tags).length ? tags : undefined,
    accessConfig: access
      ? { authenticationMode: stringValue(access.authentication_mode) as 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP' | undefined, bootstrapClusterCreatorAdminPermissions: bool(access.bootstrap_cluster_creator_admin_permissions) ?? true }
      : undefined,
    kubernetesNetworkConfig: knc ? { serviceIpv4Cidr: stringValue(knc.service_ipv4_cidr), ipFamily: stringValue(knc.ip_family) as 'ipv4' | 'ipv6' | undefined } : undefined,
    upgradePolicy: upgrade && stringValue(upgrade.support_type) ? { supportType: stringValue(upgrade.support_type) as 'STANDARD' | 'EXTENDED' } : undefined,
    zonalShiftConfig: zonal ? { enabled: bool(zonal.enabled) } : undefined,
    encryptionConfig: enc ? [{ resources: strs(enc.resources), provider: { keyArn: stringValue(firstBlock(enc.provider)?.key_arn) } }] : undefined,
  };
}

async function waitClusterStatus(ctx: Ctx, name: string, wctx: WaitContext, target: 'ACTIVE' | 'gone'): Promise<Cluster | undefined> {
  const what = target === 'ACTIVE' ? `cluster ${name} to become ACTIVE` : `cluster ${name} to be deleted`;
  return waitFor(what, wctx, async () => {
    const c = await describeCluster(ctx, name, wctx.signal);
    if (target === 'gone') return c ? { done: false, status: c.status ?? 'unknown' } : { done: true, value: undefined };
    if (c?.status === 'ACTIVE') return { done: true, value: c };
    if (c?.status === 'FAILED') throw new Error(`cluster ${name} is FAILED${c.health?.issues?.length ? `: ${c.health.issues.map((i) => `${i.code}: ${i.message}`).join('; ')}` : ''}`);
    return { done: false, status: c?.status ?? 'not visible yet' };
  });
}

async function partial(ctx: Ctx, name: string, like: ObjectValue | null, kind: ReadKind, fallback: ObjectValue | null): Promise<ObjectValue | null> {
  try {
    const c = await describeCluster(ctx, name);
    return c ? clusterState(c, like, ctx.tags, kind) : null;
  } catch {
    return fallback;
  }
}

async function createCluster(ctx: Ctx, req: ApplyResourceChangeRequest, planned: ObjectValue): Promise<ApplyResourceChangeResponse> {
  const name = stringValue(planned.name) ?? '';
  const wctx = waitContext(ctx, req.timeouts.create ?? CLUSTER_TIMEOUTS.create, req.signal, req.progress);
  try {
    const input = createRequest(planned, requestToken(req.idempotencyToken), ctx.tags);
    try {
      await ctx.client.send(new (sdk().CreateClusterCommand)(input), { abortSignal: req.signal });
    } catch (e) {
      // A resumed apply: our earlier CreateCluster went through. Wait for it rather than fail.
      const existing = isInUse(e) ? await describeCluster(ctx, name, req.signal) : undefined;
      if (!existing || existing.roleArn !== input.roleArn || !['CREATING', 'ACTIVE', 'PENDING'].includes(existing.status ?? '')) throw e;
      req.progress(`cluster ${name} already ${existing.status}: waiting for it instead of creating it again`);
    }
    const c = await waitClusterStatus(ctx, name, wctx, 'ACTIVE');
    return { newState: c ? clusterState(c, planned, ctx.tags, 'apply') : null, diagnostics: [] };
  } catch (e) {
    return { newState: await partial(ctx, name, planned, 'apply', null), diagnostics: [failureDiag(req.address, `creating cluster ${name}`, e)] };
  }
}

async function deleteCluster(ctx: Ctx, req: ApplyResourceChangeRequest, prior: ObjectValue): Promise<ApplyResourceChangeResponse> {
  const name = stringValue(prior.id) ?? stringValue(prior.name) ?? '';
  const wctx = waitContext(ctx, req.timeouts.delete ?? CLUSTER_TIMEOUTS.delete, req.signal, req.progress);
  try {
    await retryInUse(`deleting cluster ${name}`, wctx, async () => {
      try {
        await ctx.client.send(new (sdk().DeleteClusterCommand)({ name }), { abortSignal: req.signal });
      } catch (e) {
        if (isNotFound(e)) return;
        // Already being deleted (a resumed destroy) is what we want; any other 409 is retried.
        if (isInUse(e) && (await describeCluster(ctx, name, req.signal))?.status === 'DELETING') return;
        throw e;
      }
    });
    await waitClusterStatus(ctx, name, wctx, 'gone');
    return { newState: null, diagnostics: [] };
  } catch (e) {
    return { newState: await partial(ctx, name, prior, 'refresh', prior), diagnostics: [failureDiag(req.address, `deleting cluster ${name}`, e)] };
  }
}

/** In-place changes, one EKS update at a time (the API allows one kind of update per call). */
async function updateCluster(ctx: Ctx, req: ApplyResourceChangeRequest, prior: ObjectValue, planned: ObjectValue): Promise<ApplyResourceChangeResponse> {
  const name = stringValue(prior.id) ?? stringValue(prior.name) ?? '';
  const wctx = waitContext(ctx, req.timeouts.update ?? CLUSTER_TIMEOUTS.update, req.signal, req.progress);
  const changed = (k: string) => !valuesEqual(prior[k], planned[k], ZERO_VALUES);
  const pv = firstBlock(prior.vpc_config) ?? {};
  const nv = firstBlock(planned.vpc_config) ?? {};
  const vchanged = (k: string) => !valuesEqual(pv[k], nv[k], ZERO_VALUES_SET);
  const steps: { what: string; run: (token: string) => Promise<string | undefined> }[] = [];
  const config = (what: string, input: Omit<UpdateClusterConfigRequest, 'name' | 'clientRequestToken'>) =>
    steps.push({
      what,
      run: async (token) => (await ctx.client.send(new (sdk().UpdateClusterConfigCommand)({ name, clientRequestToken: token, ...input }), { abortSignal: req.signal })).update?.id,
    });

  if (stringValue(planned.version) && changed('version')) {
    steps.push({
      what: `version update to ${String(planned.version)}`,
      run: async (token) =>
        (
          await ctx.client.send(
            new (sdk().UpdateClusterVersionCommand)({ name, version: stringValue(planned.version), clientRequestToken: token, force: bool(planned.force_update_version) }),
            { abortSignal: req.signal },
          )
        ).update?.id,
    });
  }
  const access = firstBlock(planned.access_config);
  if (access && stringValue(access.authentication_mode) && !valuesEqual(firstBlock(prior.access_config)?.authentication_mode, access.authentication_mode, ZERO_VALUES)) {
    config('access configuration update', { accessConfig: { authenticationMode: stringValue(access.authentication_mode) as 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP' } });
  }
  if (changed('enabled_cluster_log_types')) {
    const types = strs(planned.enabled_cluster_log_types) as LogType[];
    config('logging update', {
      logging: {
        clusterLogging: [
          { enabled: true, types },
          { enabled: false, types: ALL_LOG_TYPES.filter((t) => !types.includes(t)) },
        ],
      },
    });
  }
  const upgrade = firstBlock(planned.upgrade_policy);
  if (upgrade && stringValue(upgrade.support_type) && changed('upgrade_policy')) {
    config('upgrade policy update', { upgradePolicy: { supportType: stringValue(upgrade.support_type) as 'STANDARD' | 'EXTENDED' } });
  }
  if (vchanged('endpoint_private_access') || vchanged('endpoint_public_access') || vchanged('public_access_cidrs')) {
    const cidrs = strs(nv.public_access_cidrs);
    config('VPC endpoint access update', {
      resourcesVpcConfig: {
        endpointPrivateAccess: bool(nv.endpoint_private_access) ?? false,
        endpointPublicAccess: bool(nv.endpoint_public_access) ?? true,
        publicAccessCidrs: cidrs.length ? cidrs : undefined,
      },
    });
  }
  if (vchanged('subnet_ids')) config('subnet update', { resourcesVpcConfig: { subnetIds: strs(nv.subnet_ids) } });
  if (vchanged('security_group_ids')) config('security group update', { resourcesVpcConfig: { securityGroupIds: strs(nv.security_group_ids) } });
  const enc = firstBlock(planned.encryption_config);
  if (enc && !firstBlock(prior.encryption_config)) {
    // Envelope encryption can be added in place (removing it replaces the cluster).
    steps.push({
      what: 'encryption config association',
      run: async (token) =>
        (
          await ctx.client.send(
            new (sdk().AssociateEncryptionConfigCommand)({
              clusterName: name,
              clientRequestToken: token,
              encryptionConfig: [{ resources: strs(enc.resources), provider: { keyArn: stringValue(firstBlock(enc.provider)?.key_arn) } }],
            }),
            { abortSignal: req.signal },
          )
        ).update?.id,
    });
  }
  const zonal = firstBlock(planned.zonal_shift_config);
  if (changed('zonal_shift_config')) config('zonal shift update', { zonalShiftConfig: { enabled: bool(zonal?.enabled) ?? false } });

  try {
    for (const [i, step] of steps.entries()) {
      const updateId = await retryInUse(`cluster ${name} ${step.what}`, wctx, () => step.run(requestToken(req.idempotencyToken, `step${i}`)));
      if (updateId) await waitUpdate(ctx, name, updateId, `cluster ${name} ${step.what}`, wctx);
    }
    // Tags go from the prior tags_all to the planned one (TagResource/UntagResource on the ARN).
    const { remove, set } = tagChanges(tagsOf(prior.tags_all), updateTarget(ctx.tags, planned));
    const arn = stringValue(prior.arn) ?? '';
    if (remove.length) await ctx.client.send(new (sdk().UntagResourceCommand)({ resourceArn: arn, tagKeys: remove }), { abortSignal: req.signal });
    if (Object.keys(set).length) await ctx.client.send(new (sdk().TagResourceCommand)({ resourceArn: arn, tags: set }), { abortSignal: req.signal });
    const c = await describeCluster(ctx, name, req.signal);
    return { newState: c ? clusterState(c, planned, ctx.tags, 'apply') : null, diagnostics: [] };
  } catch (e) {
    return { newState: await partial(ctx, name, planned, 'apply', prior), diagnostics: [failureDiag(req.address, `updating cluster ${name}`, e)] };
  }
}

export async function applyCluster(ctx: Ctx, req: ApplyResourceChangeRequest): Promise<ApplyResourceChangeResponse> {
  const { priorState: prior, plannedState: planned } = req;
  if (!planned) return prior ? deleteCluster(ctx, req, prior) : { newState: null, diagnostics: [] };
  if (!prior) return createCluster(ctx, req, planned);
  return updateCluster(ctx, req, prior, planned);
}
