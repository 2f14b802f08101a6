import type { ProviderConfig, ResourceConfig, StackConfig } from './config';
import { parseProviderAddress, providerConfigAddress } from './config';
import { evaluate, evaluateMarks, marksWithLocals, withLocals, type Lookup, type MarkLookup } from './expressions';
import { EACH, narrow, type Marks } from './hcl/marks';
import { instanceMarks, mayMark } from './sensitive';
import { buildGraph, repetitionRefs, type Graph } from './graph';
import { checkRepetitionRefs, eachModeOf, staticRepetition } from './instances';
import { validateOutputs, type TypeScope } from './outputs';
import type { BlockSchema, Diagnostic, ObjectValue, Path, Provider, ProviderFactory, ProviderSchema, ResourceSchema, Timeouts, Value } from './protocol';
import { hasErrors, schemaEntries, UNKNOWN } from './protocol';
import { checkSchemaPath, conformBlock } from './schema';
import { resourceAddress, type StateV4 } from './state';
import { parseDuration } from '../lib/duration';
import { EngineError, error, firstBlock } from './util';
import { addTo } from '../lib/collections';

/**
 * A configuration with its providers instantiated and configured: what plan and apply work on.
 * Everything here happens before any API call except provider configuration (which makes none in
 * the providers we have; the EKS provider builds its client lazily).
 */

export type Workspace = {
  config: StackConfig;
  graph: Graph;
  /** One provider instance per configuration, by key (`aws`, `aws.west`). */
  providers: Map<string, Provider>;
  schemas: Map<string, ProviderSchema>;
  byAddress: Map<string, ResourceConfig>;
  /** Configuration key by provider address (`provider["registry.terraform.io/hashicorp/aws"].west` → `aws.west`). */
  providerNames: Map<string, string>;
};

export type ProviderLookup = (name: string) => ProviderFactory | undefined;

export function resourceSchema(ws: Workspace, r: { provider: string; type: string; mode: 'managed' | 'data' }): ResourceSchema | undefined {
  const s = ws.schemas.get(r.provider);
  return r.mode === 'data' ? s?.dataSources[r.type] : s?.resources[r.type];
}

/** Configuration key for a state entry's provider address; falls back to the source's last segment (and alias). */
export function providerNameFor(ws: Workspace, address: string): string {
  const known = ws.providerNames.get(address);
  if (known) return known;
  const parsed = parseProviderAddress(address);
  if (!parsed) return address;
  const name = parsed.source.split('/').pop()!;
  return parsed.alias ? `${name}.${parsed.alias}` : name;
}

/** Parses the timeouts block of a conformed config into milliseconds. */
export function timeoutsOf(config: ObjectValue | null, address: string, diags?: Diagnostic[]): Timeouts {
  const block = firstBlock(config?.timeouts);
  const out: Timeouts = {};
  if (!block) return out;
  for (const k of ['create', 'update', 'delete', 'read'] as const) {
    const v = block[k];
    if (typeof v !== 'string') continue;
    const ms = parseDuration(v);
    if (ms === undefined) diags?.push(error(`invalid duration "${v}": use forms like "40m", "1h30m", "90s"`, address, ['timeouts', k]));
    else out[k] = ms;
  }
  return out;
}

/**
 * Instantiates and configures each provider the configuration or the state uses, then validates
 * the whole configuration statically (schemas, references, provider validation). Throws
 * EngineError with every problem found.
 */
export async function openWorkspace(config: StackConfig, lookup: ProviderLookup, opts: { env: NodeJS.ProcessEnv; state?: StateV4 | null; parallelism?: number }): Promise<Workspace> {
  const diags: Diagnostic[] = [];
  const { graph, diagnostics } = buildGraph(config.resources, config.variables, config.locals);
  diags.push(...diagnostics);
  const providerConfigs = new Map<string, ProviderConfig>(config.providers);
  const providerNames = new Map<string, string>();
  for (const p of providerConfigs.values()) providerNames.set(providerConfigAddress(p), p.key);
  // Resources only in state still need their provider configuration (to delete them).
  for (const r of opts.state?.resources ?? []) {
    if (providerNames.has(r.provider)) continue;
    const parsed = parseProviderAddress(r.provider);
    const source = parsed?.source ?? r.provider;
    const name = source.split('/').pop()!;
    if (parsed?.alias) {
      // As Terraform: an alias's credentials and region live only in its block.
      diags.push(error(`${resourceAddress(r)} is in state with provider configuration ${r.provider}, which is not in the configuration: add the provider "${name}" block with alias = "${parsed.alias}" back to plan its deletion`, resourceAddress(r)));
      continue;
    }
    providerNames.set(r.provider, name);
    if (!providerConfigs.has(name)) providerConfigs.set(name, { name, key: name, source, body: {} });
  }
  // The types each configuration serves, so a provider that routes types to plugins knows what it needs.
  const types = new Map<string, { managed: Set<string>; data: Set<string> }>();
  const typesOf = (key: string) => types.get(key) ?? (types.set(key, { managed: new Set(), data: new Set() }), types.get(key)!);
  const addresses = new Map<string, Map<string, string[]>>();
  for (const r of config.resources) {
    const mode = r.mode === 'data' ? 'data' : 'managed';
    typesOf(r.provider)[mode].add(r.type);
    const byType = addresses.get(r.provider) ?? (addresses.set(r.provider, new Map()), addresses.get(r.provider)!);
    addTo(byType, `${mode}:${r.type}`, r.address);
  }
  for (const r of opts.state?.resources ?? []) {
    const key = providerNames.get(r.provider);
    if (key) typesOf(key)[r.mode === 'data' ? 'data' : 'managed'].add(r.type);
  }
  const providers = new Map<string, Provider>();
  const schemas = new Map<string, ProviderSchema>();
  for (const p of providerConfigs.values()) {
    const factory = lookup(p.name);
    if (!factory) { diags.push(error(`unknown provider "${p.name}" (${p.source}): eksidp serves no provider of that name`, `provider.${p.key}`)); continue; }
    const t = typesOf(p.key);
    try {
      const provider = factory({
        key: p.key, source: p.source, ...(p.version !== undefined ? { version: p.version } : {}), stackDir: config.stack.dir, stackName: config.stack.name,
        managedTypes: [...t.managed], dataTypes: [...t.data], addresses: addresses.get(p.key) ?? new Map(), env: opts.env,
        warn: (message) => config.warnings.push({ severity: 'warning', summary: message, address: `provider.${p.key}` }),
      });
      providers.set(p.key, provider);
      schemas.set(p.key, provider.getSchema());
    } catch (e) {
      // A provider that cannot serve the configuration at all (a plugin not installed): every open one is closed by the caller's error path.
      if (e instanceof EngineError) diags.push(...e.diagnostics);
      else throw e;
    }
  }
  const ws: Workspace = { config, graph, providers, schemas, byAddress: new Map(config.resources.map((r) => [r.address, r])), providerNames };
  // Graph problems (cycles, unknown references) are reported together with validation problems.
  // Providers may hold processes (plugins): a workspace that fails to open closes them.
  const fail = async (): Promise<never> => {
    for (const p of providers.values()) await p.close?.();
    throw new EngineError(diags);
  };
  if (diags.length > diagnostics.length && hasErrors(diags)) return fail();

  // Provider configuration: literals and variables only.
  for (const p of providerConfigs.values()) {
    const provider = providers.get(p.key)!;
    const conf = providerConfigValue(config, p, schemas.get(p.key)!.provider.block, diags);
    if (hasErrors(diags)) continue;
    const res = await provider.configure({ config: conf, env: opts.env, ...(opts.parallelism !== undefined ? { parallelism: opts.parallelism } : {}) });
    diags.push(...res.diagnostics.map((d) => ({ ...d, address: d.address ?? `provider.${p.key}` })));
  }
  if (diags.length > diagnostics.length && hasErrors(diags)) return fail();
  diags.push(...validateStatic(ws));
  if (hasErrors(diags)) return fail();
  return ws;
}

/** A provider block as its provider receives it: variables substituted (nothing else may be referenced), conformed to its schema. */
export function providerConfigValue(config: StackConfig, p: ProviderConfig, block: BlockSchema, diags: Diagnostic[]): ObjectValue {
  const ev = evaluate(p.body, withLocals(config.locals, (ref) => (ref.kind === 'var' && ref.target.slice(4) in config.variables ? { value: config.variables[ref.target.slice(4)]! } : { error: 'provider configuration may only refer to variables and locals that use only variables' })));
  for (const e of ev.errors) diags.push(error(e.message, `provider.${p.key}`, e.at));
  return conformBlock(block, ev.value, `provider.${p.key}`, [], diags);
}

/** Lookup for static validation: references check their path against the target's schema and are UNKNOWN. */
function staticLookup(ws: Workspace, literals = false, onLiteral?: () => void): Lookup {
  return withLocals(ws.config.locals, (ref) => {
    const rep = staticRepetition(ref);
    if (rep) return rep;
    if (ref.kind === 'var') {
      const name = ref.target.slice(4);
      return name in ws.config.variables ? { value: ws.config.variables[name]! } : { error: 'undeclared variable' };
    }
    const target = ws.byAddress.get(ref.target);
    if (!target) return { value: UNKNOWN }; // reported by the graph
    const schema = resourceSchema(ws, target);
    // A repeated resource is a collection of instances: the schema applies after the instance key.
    const repeated = eachModeOf(target) !== 'single';
    if (repeated) {
      const problem = schema && ref.path.length > 1 ? checkSchemaPath(schema.block, ref.path.slice(1)) : undefined;
      return problem ? { error: problem } : { value: UNKNOWN };
    }
    const problem = schema ? checkSchemaPath(schema.block, ref.path) : undefined;
    if (problem) return { error: problem };
    // With `literals`, a top-level attribute set to a literal is known already (a provider never changes
    // a configured value): `${aws_eks_cluster.main.name}` lets cross-resource rules (one issuer per
    // cluster, the per-version config limit) run before any API call.
    const attr = !literals ? undefined : ref.path.length === 1 && typeof ref.path[0] === 'string' && schema?.block.attributes?.[ref.path[0]] ? ref.path[0] : undefined;
    const literal = attr === undefined ? undefined : target.body[attr];
    if ((typeof literal === 'string' && !/[$%]\{/.test(literal)) || typeof literal === 'number' || typeof literal === 'boolean') { onLiteral?.(); return { value: literal }; }
    return { value: UNKNOWN };
  });
}

/** The types references resolve to: resources' and data sources' schemas, variables' types. */
export function typeScope(ws: Workspace): TypeScope & { declared(target: string): boolean } {
  return {
    block: (target) => {
      const r = ws.byAddress.get(target);
      return r ? resourceSchema(ws, r)?.block : undefined;
    },
    variable: (name) => ws.config.variableTypes[name],
    repetition: (target) => {
      const r = ws.byAddress.get(target);
      return r ? eachModeOf(r) : undefined;
    },
    declared: (target) => (target.startsWith('var.') ? target.slice(4) in ws.config.variables : target.startsWith('local.') ? Object.prototype.hasOwnProperty.call(ws.config.locals, target.slice(6)) : ws.byAddress.has(target)),
  };
}

/** Does the schema put a sensitive attribute at or below this path (for a reference made before any value is known)? */
function schemaMarksAt(block: BlockSchema, path: Path): Marks {
  let b: BlockSchema = block;
  for (let i = 0; i < path.length; i++) {
    const s = path[i]!;
    if (typeof s !== 'string') continue;
    const a = b.attributes?.[s];
    if (a) return a.sensitive ? [[]] : [];
    const bt = b.block_types?.[s];
    if (!bt) return [];
    b = bt.block;
  }
  const any = (x: BlockSchema): boolean => schemaEntries(x.attributes).some(([, a]) => a.sensitive) || schemaEntries(x.block_types).some(([, bt]) => any(bt.block));
  return any(b) ? [['(within)']] : [];
}

/** The paths of a block's schema-sensitive attributes, EACH standing for a nested block's index. */
function schemaSensitivePaths(block: BlockSchema): Marks {
  return [
    ...schemaEntries(block.attributes).filter(([, a]) => a.sensitive).map(([n]): Path => [n]),
    ...schemaEntries(block.block_types).flatMap(([n, bt]) => schemaSensitivePaths(bt.block).map((p): Path => (bt.nesting_mode === 'single' ? [n, ...p] : [n, EACH, ...p]))),
  ];
}

/**
 * The marks references carry before anything is read: sensitive variables, and each resource's
 * configuration marks and schema-sensitive attributes (a reference into a repeated resource skips its
 * instance key). Conditionals on unknown values count both results: never fewer marks than the plan.
 */
export function staticMarks(ws: Workspace): MarkLookup {
  const lookup = staticLookup(ws);
  const memo = new Map<string, Marks>();
  const marks: MarkLookup = marksWithLocals(ws.config.locals, lookup, (ref) => {
    if (ref.kind === 'var') return ws.config.sensitiveVariables.has(ref.target.slice(4)) ? [[]] : [];
    const target = ws.byAddress.get(ref.target);
    if (!target || (ref.kind !== 'resource' && ref.kind !== 'data')) return [];
    const schema = resourceSchema(ws, target);
    if (!schema) return [];
    let own = memo.get(target.address);
    if (own === undefined) {
      memo.set(target.address, []); // a cycle is the graph's to report
      own = instanceMarks(schema.block, evaluateMarks(target.body, lookup, marks), null);
      memo.set(target.address, own);
    }
    const path = eachModeOf(target) === 'single' ? ref.path : ref.path.slice(1);
    // The whole map or list of instances, keys unknown here: each element carries the instance marks.
    if (eachModeOf(target) !== 'single' && ref.path.length === 0) return [...own, ...schemaSensitivePaths(schema.block)].map((p) => [EACH, ...p]);
    return [...narrow(own, path), ...schemaMarksAt(schema.block, path)];
  });
  return marks;
}

/** A resource's configuration marks before anything is read (drift masks what they cover). */
export function staticConfigMarks(ws: Workspace, r: ResourceConfig): Marks {
  const schema = resourceSchema(ws, r);
  if (!schema) return [];
  // Without a sensitive variable or sensitive() in the stack, only schemas mark (drift adds those per object).
  if (!mayMark(ws.config)) return [];
  return instanceMarks(schema.block, evaluateMarks(r.body, staticLookup(ws), staticMarks(ws)), null);
}

export function validateStatic(ws: Workspace): Diagnostic[] {
  const diags: Diagnostic[] = [...validateOutputs(ws.config.outputs, typeScope(ws))];
  const marks = staticMarks(ws);
  for (const o of ws.config.outputs) {
    if (o.sensitive || evaluateMarks(o.expr, staticLookup(ws), marks).length === 0) continue;
    diags.push(error('Output refers to sensitive values', `output.${o.name}`, ['value'], 'Terraform requires that any root module output containing sensitive data be explicitly marked as sensitive, to confirm your intent: add sensitive = true to the output'));
  }
  for (const r of ws.config.resources) {
    if (r.forEach === undefined || evaluateMarks(r.forEach, staticLookup(ws), marks).length === 0) continue;
    diags.push(error('Invalid for_each argument', r.address, ['for_each'], 'Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key.'));
  }
  const byProvider = new Map<string, { address: string; typeName: string; config: ObjectValue }[]>();
  for (const r of ws.config.resources) {
    const schema = resourceSchema(ws, r);
    if (!schema) {
      diags.push(error(`provider "${r.provider}" has no ${r.mode === 'data' ? 'data source' : 'resource type'} "${r.type}"`, r.address));
      continue;
    }
    const refsBefore = diags.length;
    checkRepetitionRefs(r, repetitionRefs(r), (t) => { const x = ws.byAddress.get(t); return x ? eachModeOf(x) : undefined; }, diags);
    if (diags.length > refsBefore) continue;
    // Evaluated with literals first: when no reference resolved to one (a body without references,
    // the usual cluster), the evaluation with every reference unknown is the same, and is not repeated.
    let literals = false;
    const withLiterals = evaluate(r.body, staticLookup(ws, true, () => { literals = true; }));
    const ev = literals ? evaluate(r.body, staticLookup(ws)) : withLiterals;
    for (const e of ev.errors) diags.push(error(e.message, r.address, e.at));
    const before = diags.length;
    const conf = conformBlock(schema.block, ev.value, r.address, [], diags);
    timeoutsOf(conf, r.address, diags);
    if (diags.length > before) continue;
    const provider = ws.providers.get(r.provider)!;
    diags.push(...provider.validateResourceConfig({ typeName: r.type, address: r.address, config: conf }).diagnostics.map((d) => ({ ...d, address: d.address ?? r.address })));
    if (r.mode === 'managed') {
      const list = byProvider.get(r.provider) ?? [];
      // Per-resource rules saw references as unknown (each problem is reported once, where it is written).
      const known = literals ? conformBlock(schema.block, withLiterals.value, r.address, [], []) : conf;
      list.push({ address: r.address, typeName: r.type, config: known });
      byProvider.set(r.provider, list);
    }
  }
  if (hasErrors(diags)) return diags;
  for (const [name, resources] of byProvider) {
    diags.push(...ws.providers.get(name)!.validateConfiguration({ resources }).diagnostics);
  }
  return diags;
}

/** Evaluates and conforms a resource's configuration against current values. */
export function resolveConfig(ws: Workspace, r: ResourceConfig, lookup: Lookup, diags: Diagnostic[], address = r.address): ObjectValue {
  const schema = resourceSchema(ws, r)!;
  const ev = evaluate(r.body, lookup);
  for (const e of ev.errors) diags.push(error(e.message, address, e.at));
  return conformBlock(schema.block as BlockSchema, ev.value as Value, address, [], diags);
}

export async function closeWorkspace(ws: Workspace): Promise<void> {
  for (const p of ws.providers.values()) await p.close?.();
}
