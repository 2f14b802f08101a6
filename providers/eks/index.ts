import {
  formatPath,
  type Diagnostic,
  type ObjectValue,
  type Path,
  type PlanResourceChangeRequest,
  type PlanResourceChangeResponse,
  type Provider,
  type ProviderSchema,
  type ResourceSchema,
} from '../../engine/protocol';
import { valuesEqual, ZERO_VALUES } from '../../engine/util';
import { DEFAULT_TUNING, LOOPBACK_TUNING, endpointOf, isLoopback, tuningFromEnv, type Tuning } from './client';
import { DEFAULT_MAX_SOCKETS } from './transport-settings';
import { CLUSTER_TYPE, applyCluster, clusterDataSourceState, clusterRequiresReplace, describeCluster, readCluster } from './cluster';
import { errorDiag, failureDiag, withSlots } from './common';
import { IDP_TYPE, applyIdp, idpRequiresReplace, importIdp, parseIdpId, readIdp } from './idp';
import schemaJson from './schema.json';
import { readLive } from './live';
import { openConnection, type Connection } from './reads';
import { changedPaths, mergeComputed, shape } from './state';
import { NO_TAG_CONFIG } from './settings';
import { checkAccount, credentialsOf } from './account';
import { plannedTagsAll } from './tags';
import { validateCluster, validateClusterConfigs, validateIdentityProviderConfig, type Issue } from './validation';

export { validateCluster, validateClusterConfigs, validateIdentityProviderConfig } from './validation';

/** hashicorp/aws 5.100.0's schema for the resources we implement, straight from `providers schema -json`. */
function loadSchema(): ProviderSchema {
  const s = schemaJson as unknown as {
    provider_schema: ResourceSchema;
    resource_schemas: Record<string, ResourceSchema>;
    data_source_schemas: Record<string, ResourceSchema>;
  };
  return { provider: s.provider_schema, resources: s.resource_schemas, dataSources: s.data_source_schemas, capabilities: { requestSlots: true } };
}

function toDiags(address: string, issues: Issue[]): Diagnostic[] {
  return issues.map((i) => ({ severity: 'error', summary: i.message, address, attribute: i.path }));
}

/** Defaults hashicorp/aws 5.100 fills in at plan time (Default: in its schema). */
function withDefaults(typeName: string, v: ObjectValue): ObjectValue {
  if (typeName !== CLUSTER_TYPE) return v;
  const out = { ...v };
  if (out.bootstrap_self_managed_addons === null) out.bootstrap_self_managed_addons = true;
  if (Array.isArray(out.vpc_config)) {
    out.vpc_config = (out.vpc_config as ObjectValue[]).map((b) => ({
      ...b,
      endpoint_private_access: b.endpoint_private_access ?? false,
      endpoint_public_access: b.endpoint_public_access ?? true,
    }));
  }
  return out;
}

/** In-place cluster changes Terraform makes that eksidp's apply does not implement yet. */
const NOT_UPDATED_IN_PLACE: Path[] = [['compute_config'], ['storage_config'], ['remote_network_config'], ['kubernetes_network_config', 0, 'elastic_load_balancing']];

export type EksProviderOptions = Partial<Tuning>;

/**
 * The types this provider implements. Its schema lists more (aws_eks_cluster_auth, aws_eks_clusters
 * come with the AWS provider's EKS schema): those are served by the AWS provider's plugin
 * (providers/plugin/routing.ts).
 */
export const NATIVE_TYPES = { managed: [CLUSTER_TYPE, IDP_TYPE], data: [CLUSTER_TYPE] } as const;

export function createEksProvider(options: EksProviderOptions = {}): Provider {
  const schema = loadSchema();
  let ctx: Connection | undefined;
  let tuning: Tuning = { ...DEFAULT_TUNING, ...options };

  const notConfigured = (address: string): Diagnostic => errorDiag(address, `${address}: the aws provider is not configured`);
  const blockOf = (typeName: string) => schema.resources[typeName]?.block;

  function plan(req: PlanResourceChangeRequest): PlanResourceChangeResponse {
    const block = blockOf(req.typeName);
    if (!block) return { plannedState: null, requiresReplace: [], diagnostics: [errorDiag(req.address, `${req.address}: unsupported resource type ${req.typeName}`)] };
    if (!req.config || !req.proposedNewState) return { plannedState: null, requiresReplace: [], diagnostics: [] };
    const config = withDefaults(req.typeName, shape(block, req.config));
    // tags_all as hashicorp/aws computes it from default_tags and ignore_tags (tags.ts).
    const tags = ctx?.tags ?? NO_TAG_CONFIG;
    const setTagsAll = (planned: ObjectValue, prior: ObjectValue | null): ObjectValue => {
      planned.tags_all = plannedTagsAll(tags, planned.tags, prior);
      return planned;
    };
    if (!req.priorState) {
      return { plannedState: setTagsAll(mergeComputed(block, config, null, true), null), requiresReplace: [], diagnostics: [] };
    }
    const prior = shape(block, req.priorState);
    const tentative = setTagsAll(mergeComputed(block, config, prior, false), prior);
    const changes = changedPaths(block, prior, tentative);
    // tags_all is computed, so changedPaths leaves it out; default_tags change it without any configured change.
    if (!valuesEqual(prior.tags_all, tentative.tags_all, ZERO_VALUES)) changes.push(['tags_all']);
    if (changes.length === 0) return { plannedState: req.priorState, requiresReplace: [], diagnostics: [] };
    const forceNew = req.typeName === IDP_TYPE ? idpRequiresReplace : clusterRequiresReplace;
    const requiresReplace: Path[] = changes.filter((c) => forceNew(c, prior, tentative));
    if (requiresReplace.length) {
      return { plannedState: setTagsAll(mergeComputed(block, config, null, true), null), requiresReplace, diagnostics: [] };
    }
    if (req.typeName !== IDP_TYPE) {
      // Terraform updates these in place, but eksidp's apply does not send them yet: refuse at plan
      // time rather than report an update that changes nothing.
      const unsupported = changes.filter((c) => NOT_UPDATED_IN_PLACE.some((p) => c[0] === p[0] && (p.length === 1 || c[2] === p[2])));
      if (unsupported.length) {
        return {
          plannedState: null,
          requiresReplace: [],
          diagnostics: unsupported.map((c) => ({
            ...errorDiag(req.address, `${req.address}: eksidp cannot yet update ${formatPath(c)} of an existing cluster in place; apply this change with Terraform`),
            attribute: c,
          })),
        };
      }
    }
    return { plannedState: tentative, requiresReplace: [], diagnostics: [] };
  }

  return {
    // requestSlots: applyResourceChange sends each request through the engine's slots (withSlots).
    getSchema: () => schema,

    async configure(req) {
      const base = isLoopback(endpointOf(req.config, req.env)) ? { ...DEFAULT_TUNING, ...LOOPBACK_TUNING } : DEFAULT_TUNING;
      tuning = tuningFromEnv(req.env, { ...base, ...options });
      // One pooled socket per call in flight, so a caller's parallelism is not capped by the pool.
      const sockets = Math.max(options.maxSockets ?? DEFAULT_MAX_SOCKETS, req.parallelism ?? 0);
      if (sockets !== DEFAULT_MAX_SOCKETS) tuning.maxSockets = sockets;
      const { connection, diagnostics } = openConnection(req.config, req.env, tuning);
      if (!connection) return { diagnostics };
      ctx?.close();
      ctx = connection;
      // allowed_account_ids / forbidden_account_ids: one STS call per provider configuration, before any EKS call.
      const check = await checkAccount(connection.guard, credentialsOf(connection.settings), connection.settings.sts!);
      return { diagnostics: [...diagnostics, ...check.diagnostics] };
    },

    validateResourceConfig(req) {
      if (req.typeName === IDP_TYPE) return { diagnostics: toDiags(req.address, validateIdentityProviderConfig(req.config)) };
      if (req.typeName === CLUSTER_TYPE) return { diagnostics: toDiags(req.address, validateCluster(req.config)) };
      return { diagnostics: [] };
    },

    validateConfiguration(req) {
      const clusters = req.resources
        .filter((r) => r.typeName === CLUSTER_TYPE)
        .map((r) => ({ address: r.address, name: r.config.name, version: r.config.version }));
      const configs = req.resources
        .filter((r) => r.typeName === IDP_TYPE)
        .map((r) => ({ address: r.address, cluster_name: r.config.cluster_name, oidc: r.config.oidc }));
      return {
        diagnostics: validateClusterConfigs({ clusters, configs }).map((i) => ({ severity: 'error', summary: i.message, address: i.address, attribute: i.path })),
      };
    },

    async readResource(req) {
      if (!ctx) return { newState: req.priorState, diagnostics: [notConfigured(req.address)] };
      if (req.typeName === IDP_TYPE) return readIdp(ctx, req.address, req.priorState, req.signal);
      if (req.typeName === CLUSTER_TYPE) return readCluster(ctx, req.address, req.priorState, req.signal);
      return { newState: req.priorState, diagnostics: [errorDiag(req.address, `${req.address}: unsupported resource type ${req.typeName}`)] };
    },

    async readDataSource(req) {
      if (!ctx) return { state: null, diagnostics: [notConfigured(req.address)] };
      if (req.typeName !== CLUSTER_TYPE) return { state: null, diagnostics: [errorDiag(req.address, `${req.address}: unsupported data source ${req.typeName}`)] };
      const name = typeof req.config.name === 'string' ? req.config.name : '';
      try {
        const c = await describeCluster(ctx, name, req.signal);
        if (!c) return { state: null, diagnostics: [errorDiag(req.address, `${req.address}: EKS cluster "${name}" not found`, undefined, ['name'])] };
        return { state: clusterDataSourceState(schema.dataSources[CLUSTER_TYPE].block, c, req.config, ctx.tags), diagnostics: [] };
      } catch (e) {
        return { state: null, diagnostics: [failureDiag(req.address, `reading cluster ${name}`, e)] };
      }
    },

    planResourceChange: plan,

    // Drift checks: bulk reads through the lean read path, converted as readResource does (live.ts).
    async readLive(req) {
      if (!ctx) throw new Error('the aws provider is not configured');
      return readLive(ctx, schema.dataSources[CLUSTER_TYPE].block, req);
    },

    async applyResourceChange(req) {
      if (!ctx) return { newState: req.priorState, diagnostics: [notConfigured(req.address)] };
      // Each request of this change takes one of the engine's slots while in flight; waits take none.
      const c = withSlots(ctx, req.requests);
      if (req.typeName === IDP_TYPE) return applyIdp(c, req);
      if (req.typeName === CLUSTER_TYPE) return applyCluster(c, req);
      return { newState: req.priorState, diagnostics: [errorDiag(req.address, `${req.address}: unsupported resource type ${req.typeName}`)] };
    },

    async importResourceState(req) {
      if (!ctx) return { state: null, diagnostics: [notConfigured(req.typeName)] };
      if (req.typeName === IDP_TYPE) return importIdp(ctx, req.id, req.signal);
      if (req.typeName === CLUSTER_TYPE) {
        const r = await readCluster(ctx, `${CLUSTER_TYPE}.import`, { id: req.id }, req.signal);
        if (!r.newState && r.diagnostics.length === 0) return { state: null, diagnostics: [{ severity: 'error', summary: `cannot import ${CLUSTER_TYPE}: cluster "${req.id}" not found` }] };
        return { state: r.newState, diagnostics: r.diagnostics };
      }
      return { state: null, diagnostics: [{ severity: 'error', summary: `import of ${req.typeName} is not supported` }] };
    },

    concurrencyKey(typeName, state) {
      // One EKS update per cluster at a time: both types serialise on the cluster name.
      if (!state) return undefined;
      if (typeName === IDP_TYPE) {
        const c = state.cluster_name ?? (typeof state.id === 'string' ? parseIdpId(state.id)?.cluster : undefined);
        return typeof c === 'string' && c ? `eks-cluster:${c}` : undefined;
      }
      if (typeName === CLUSTER_TYPE) return typeof state.name === 'string' && state.name ? `eks-cluster:${state.name}` : undefined;
      return undefined;
    },

    async close() {
      ctx?.close();
      ctx = undefined;
    },
  };
}
