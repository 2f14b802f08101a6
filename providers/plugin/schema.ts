import type { AttributeSchema, BlockSchema, CtyType, ProviderSchema, ResourceSchema } from '../../engine/protocol';

/**
 * tfplugin5 schemas (GetSchema's protobuf messages) in the engine's schema format, which is
 * Terraform's `providers schema -json` format. Converted in the plugin's worker thread: the AWS
 * provider's answer is ~5 MB of protobuf, and handing the decoded messages across threads cost
 * seconds where one JSON string costs milliseconds.
 */

type ProtoAttribute = { name: string; type: Uint8Array; required: boolean; optional: boolean; computed: boolean; sensitive: boolean; deprecated: boolean; write_only: boolean };
type ProtoNested = { type_name: string; block: ProtoBlock | null; nesting: string; min_items: number; max_items: number };
type ProtoBlock = { attributes: ProtoAttribute[]; block_types: ProtoNested[] };
type ProtoSchema = { version: number; block: ProtoBlock | null };
export type ProtoDiagnostic = { severity: string; summary: string; detail: string; attribute: { steps: ProtoStep[] } | null };
export type ProtoStep = { attribute_name?: string; element_key_string?: string; element_key_int?: number; selector?: string };
export type ProtoGetSchemaResponse = {
  provider: ProtoSchema | null;
  resource_schemas: Record<string, ProtoSchema>;
  data_source_schemas: Record<string, ProtoSchema>;
  diagnostics: ProtoDiagnostic[];
  server_capabilities: { plan_destroy: boolean; get_provider_schema_optional: boolean } | null;
};

/** An attribute as the engine sees it, plus what only the plugin adapter needs. */
export type PluginAttribute = AttributeSchema & { write_only?: boolean };

export type PluginSchema = ProviderSchema & {
  capabilities: { planDestroy: boolean; schemaOptional: boolean };
  /** Error diagnostics GetSchema returned (a schema with errors is not cached). */
  errors: string[];
};

const decoder = new TextDecoder();

function block(b: ProtoBlock | null): BlockSchema {
  const out: BlockSchema = {};
  if (!b) return out;
  if (b.attributes.length) {
    const attrs: Record<string, PluginAttribute> = {};
    for (const a of b.attributes) {
      const at: PluginAttribute = { type: JSON.parse(decoder.decode(a.type)) as CtyType };
      if (a.required) at.required = true;
      if (a.optional) at.optional = true;
      if (a.computed) at.computed = true;
      if (a.sensitive) at.sensitive = true;
      if (a.write_only) at.write_only = true;
      attrs[a.name] = at;
    }
    out.attributes = attrs;
  }
  if (b.block_types.length) {
    const types: NonNullable<BlockSchema['block_types']> = {};
    for (const n of b.block_types) {
      // GROUP (a block that is always present) is not used by SDKv2 providers; the engine's nearest is single.
      const mode = n.nesting === 'LIST' ? 'list' : n.nesting === 'SET' ? 'set' : n.nesting === 'MAP' ? 'map' : 'single';
      types[n.type_name] = { nesting_mode: mode, block: block(n.block), ...(n.min_items ? { min_items: n.min_items } : {}), ...(n.max_items ? { max_items: n.max_items } : {}) };
    }
    out.block_types = types;
  }
  return out;
}

function schema(s: ProtoSchema | null): ResourceSchema {
  return { version: s?.version ?? 0, block: block(s?.block ?? null) };
}

export function convertSchema(res: ProtoGetSchemaResponse): PluginSchema {
  const map = (m: Record<string, ProtoSchema>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, schema(v)]));
  return {
    provider: schema(res.provider),
    resources: map(res.resource_schemas),
    dataSources: map(res.data_source_schemas),
    capabilities: { planDestroy: !!res.server_capabilities?.plan_destroy, schemaOptional: !!res.server_capabilities?.get_provider_schema_optional },
    errors: res.diagnostics.filter((d) => d.severity === 'ERROR').map((d) => (d.detail ? `${d.summary}: ${d.detail}` : d.summary)),
  };
}
