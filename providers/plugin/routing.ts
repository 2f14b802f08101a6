import type { Diagnostic, LiveObject, LiveReadRequest, LiveResourceRequest, LiveSnapshot, Provider, ProviderContext, ProviderSchema, ResourceSchema } from '../../engine/protocol';
import { containsUnknown, EngineError } from '../../engine/util';
import { mapBounded } from '../../lib/concurrency';
import { findPlugin, PluginNotFound } from './find';
import { PluginProvider } from './provider';
import { mark } from './timing';

mark('plugin modules loaded');

/**
 * One provider configuration (`aws`, `aws.west`) served by the native provider for the types it
 * implements and by the provider's Terraform plugin for every other type. Which way a type goes:
 * - `EKSIDP_NATIVE_PROVIDERS=0`: every type through the plugin;
 * - `EKSIDP_PLUGIN_TYPES=aws_eks_cluster,...`: the listed types through the plugin, others as below;
 * - otherwise native where the native provider implements the type, the plugin elsewhere.
 * The plugin is found and started only when a type of the configuration (or its state) goes to it.
 * The provider block configures both; the native provider validates it only when it serves a type.
 */

export type NativeSide = { provider: Provider; types: { managed: readonly string[]; data: readonly string[] } };

export type Route = 'native' | 'plugin';

export function routeOf(type: string, mode: 'managed' | 'data', native: NativeSide | undefined, env: NodeJS.ProcessEnv): Route {
  if (!native || env.EKSIDP_NATIVE_PROVIDERS === '0') return 'plugin';
  const listed = (env.EKSIDP_PLUGIN_TYPES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (listed.includes(type)) return 'plugin';
  return (mode === 'data' ? native.types.data : native.types.managed).includes(type) ? 'native' : 'plugin';
}

export function createRoutedProvider(ctx: ProviderContext, native: NativeSide | undefined): Provider {
  const env = ctx.env;
  // Decided once per type: the hot path (plans of hundreds of resources) pays a map lookup.
  const routes = new Map<string, Route>();
  const route = (type: string, mode: 'managed' | 'data'): Route => {
    const k = `${mode}:${type}`;
    let r = routes.get(k);
    if (!r) routes.set(k, (r = routeOf(type, mode, native, env)));
    return r;
  };
  const pluginManaged = ctx.managedTypes.filter((t) => route(t, 'managed') === 'plugin');
  const pluginData = ctx.dataTypes.filter((t) => route(t, 'data') === 'plugin');
  // A provider eksidp has no native implementation of is its plugin, types or not (Terraform configures every provider).
  const usesPlugin = !native || pluginManaged.length + pluginData.length > 0;
  const usesNative = !!native && (ctx.managedTypes.some((t) => route(t, 'managed') === 'native') || ctx.dataTypes.some((t) => route(t, 'data') === 'native'));
  const plugin = usesPlugin
    ? new PluginProvider({
      source: ctx.source,
      env,
      warn: ctx.warn,
      find: () => findPlugin({ source: ctx.source, ...(ctx.version !== undefined ? { constraint: ctx.version } : {}), stackDir: ctx.stackDir, stackName: ctx.stackName, env }),
    })
    : undefined;
  // Its start overlaps reading the schema cache, configuring the native side and whatever else comes before its first call.
  plugin?.prestart();
  const nativeSchema = native?.provider.getSchema();

  // Schemas: the native one for native types, the plugin's (cached on disk) for the types routed to it.
  const resources: Record<string, ResourceSchema> = {};
  const dataSources: Record<string, ResourceSchema> = {};
  if (nativeSchema) {
    for (const t of native!.types.managed) if (route(t, 'managed') === 'native' && nativeSchema.resources[t]) resources[t] = nativeSchema.resources[t]!;
    for (const t of native!.types.data) if (route(t, 'data') === 'native' && nativeSchema.dataSources[t]) dataSources[t] = nativeSchema.dataSources[t]!;
  }
  let providerBlock = nativeSchema?.provider;
  if (plugin) {
    try {
      for (const t of pluginManaged) { const s = plugin.resourceSchema(t); if (s) resources[t] = s; }
      for (const t of pluginData) { const s = plugin.dataSourceSchema(t); if (s) dataSources[t] = s; }
      if (!usesNative || !providerBlock) providerBlock = plugin.schema().provider;
    } catch (e) {
      void plugin.close();
      const message = (e as Error).message;
      // With a native side, a type it does not serve and no plugin installed is most often a typo: say so per type, at its resources.
      if (native && e instanceof PluginNotFound) throw new EngineError(notServed(ctx, native, pluginManaged, pluginData, message));
      const summary = native ? message : `unknown provider "${ctx.key.split('.')[0]}" (${ctx.source}): eksidp serves no provider of that name natively, and ${e instanceof PluginNotFound ? message : `its plugin could not be used: ${message}`}`;
      const served = [...pluginManaged, ...pluginData.map((t) => `data.${t}`)].join(', ');
      throw new EngineError([{ severity: 'error', summary, ...(served ? { detail: `needed for ${served}` } : {}), address: `provider.${ctx.key}` }]);
    }
  }
  // Capabilities are the provider's, not a type's: the native one's (request slots: waits hold no
  // --parallelism slot) only while no plugin serves a type here; a plugin step holds its slot throughout.
  const capabilities = !plugin ? nativeSchema?.capabilities : undefined;
  const schema: ProviderSchema = { provider: providerBlock ?? { version: 0, block: {} }, resources, dataSources, ...(capabilities ? { capabilities } : {}) };
  const side = (type: string, mode: 'managed' | 'data'): Provider => (route(type, mode) === 'native' ? native!.provider : plugin!);
  const modeOf = (address: string): 'managed' | 'data' => (address.startsWith('data.') ? 'data' : 'managed');

  const routed: Provider = {
    getSchema: () => schema,
    async configure(req) {
      const diagnostics: Diagnostic[] = [];
      if (usesNative || !usesPlugin) diagnostics.push(...(await native!.provider.configure(req)).diagnostics);
      if (plugin) diagnostics.push(...(await plugin.configure(req)).diagnostics);
      return { diagnostics };
    },
    validateResourceConfig: (req) => side(req.typeName, modeOf(req.address)).validateResourceConfig(req),
    validateConfiguration(req) {
      if (!native) return { diagnostics: [] };
      return native.provider.validateConfiguration({ resources: req.resources.filter((r) => route(r.typeName, 'managed') === 'native') });
    },
    readResource: (req) => side(req.typeName, 'managed').readResource(req),
    readDataSource: (req) => side(req.typeName, 'data').readDataSource(req),
    planResourceChange: (req) => side(req.typeName, 'managed').planResourceChange(req),
    applyResourceChange: (req) => side(req.typeName, 'managed').applyResourceChange(req),
    importResourceState: (req) => side(req.typeName, 'managed').importResourceState(req),
    // The API's constraints (one EKS update per cluster) hold whoever calls it: the native provider's keys serialise plugin-served EKS types too.
    concurrencyKey: (typeName, state) => native?.provider.concurrencyKey?.(typeName, state),
    async close() {
      await Promise.all([native?.provider.close?.(), plugin?.close()]);
    },
  };
  // State upgrades are the plugin's (its schema versions); natively served types are read as stored.
  if (plugin) routed.upgradeResourceState = async (req) => (route(req.typeName, 'managed') === 'plugin' ? plugin.upgradeResourceState(req) : { upgradedState: req.rawState, diagnostics: [] });
  // Drift checks: the native provider's bulk reads for its types; plugin-served types one by one.
  if (native?.provider.readLive) routed.readLive = !plugin ? native.provider.readLive.bind(native.provider) : (req) => readLiveMixed(req, native.provider, plugin, (r) => route(r.typeName, r.mode));
  return routed;
}

/**
 * Drift over a configuration served partly by the plugin: native types through the native
 * provider's bulk reads; each plugin-served resource as a refresh reads it (UpgradeResourceState,
 * then ReadResource from its state: no state, nothing to read, so it is reported missing), each
 * plugin-served data source read when its configuration is known. Plugin-served objects belong to
 * no group (a cluster): a drift shard does not include them, and no unmanaged objects are listed for them.
 */
async function readLiveMixed(req: LiveReadRequest, native: Provider, plugin: PluginProvider, route: (r: LiveResourceRequest) => Route): Promise<LiveSnapshot> {
  const ours = req.resources.filter((r) => route(r) === 'plugin');
  const natives = req.resources.filter((r) => route(r) === 'native');
  // Configured (and read) only when it serves a type here.
  const snap: LiveSnapshot = natives.length ? await native.readLive!({ ...req, resources: natives }) : { groupOf: () => null, resource: (r) => ({ group: null, name: r.address, state: null, liveStatus: null, error: 'not read' }), unmanaged: () => [] };
  const read = new Map<string, LiveObject>();
  const readOne = async (r: LiveResourceRequest): Promise<LiveObject> => {
    const base = { group: null, name: r.address, liveStatus: null };
    const problem = (diags: Diagnostic[]) => diags.filter((d) => d.severity === 'error').map((d) => d.summary).join('; ');
    if (r.mode === 'data') {
      if (containsUnknown(r.config)) return { ...base, state: null, error: 'its configuration is not known until apply' };
      const res = await plugin.readDataSource({ typeName: r.typeName, address: r.address, config: r.config, signal: req.signal });
      return problem(res.diagnostics) ? { ...base, state: null, error: problem(res.diagnostics) } : { ...base, state: res.state };
    }
    if (!r.priorState) return { ...base, state: null, note: 'not in state: the plugin reads an object only from its state' };
    const schema = plugin.resourceSchema(r.typeName);
    const up = await plugin.upgradeResourceState({ typeName: r.typeName, address: r.address, version: r.priorSchemaVersion ?? schema?.version ?? 0, rawState: r.priorState });
    if (problem(up.diagnostics) || !up.upgradedState) return { ...base, state: null, error: problem(up.diagnostics) || 'the plugin could not read the stored object' };
    const res = await plugin.readResource({ typeName: r.typeName, address: r.address, priorState: up.upgradedState, ...(r.priorPrivate ? { private: r.priorPrivate } : {}), signal: req.signal });
    return problem(res.diagnostics) ? { ...base, state: null, error: problem(res.diagnostics) } : { ...base, state: res.newState };
  };
  await mapBounded(ours, req.concurrency, async (r) => { read.set(r.address, await readOne(r)); });
  return {
    groupOf: (r) => (route(r) === 'plugin' ? null : snap.groupOf(r)),
    resource: (r) => (route(r) === 'plugin' ? read.get(r.address) ?? { group: null, name: r.address, state: null, liveStatus: null, error: 'not read' } : snap.resource(r)),
    unmanaged: (declared) => snap.unmanaged(declared.filter((r) => route(r) === 'native')),
  };
}

function notServed(ctx: ProviderContext, native: NativeSide, managed: string[], data: string[], message: string): Diagnostic[] {
  const name = ctx.key.split('.')[0];
  const servedNatively = [...native.types.managed, ...native.types.data.map((t) => `data.${t}`)].join(', ');
  const one = (type: string, mode: 'managed' | 'data'): Diagnostic => {
    const at = ctx.addresses?.get(`${mode}:${type}`) ?? [];
    const kind = mode === 'data' ? 'data source' : 'resource type';
    return {
      severity: 'error',
      summary: `provider "${name}" has no ${kind} "${type}" natively (eksidp serves ${servedNatively}), and the plugin that would serve it is not installed: ${message}`,
      address: at[0] ?? `provider.${ctx.key}`,
      ...(at.length > 1 ? { detail: `also used by ${at.slice(1).join(', ')}` } : {}),
    };
  };
  return [...managed.map((t) => one(t, 'managed')), ...data.map((t) => one(t, 'data'))];
}
