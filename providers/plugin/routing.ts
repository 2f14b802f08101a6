import type { Diagnostic, Provider, ProviderContext, ProviderSchema, ResourceSchema } from '../../engine/protocol';
import { EngineError } from '../../engine/util';
import { findPlugin, PluginNotFound } from './find';
import { PluginProvider } from './provider';

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
  // Drift checks read in bulk through the native provider: only when it serves every type.
  if (native?.provider.readLive && !usesPlugin) routed.readLive = native.provider.readLive.bind(native.provider);
  return routed;
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
