import type { PackageDefinition } from '@grpc/proto-loader';
import { fromJSON } from '@grpc/proto-loader';

/**
 * The part of Terraform's plugin protocol 5 (tfplugin5, and go-plugin's GRPCController) that eksidp
 * speaks, as a protobuf JSON descriptor: message and field numbers are the interface (documented in
 * docs/plugin-protocol/tfplugin5.proto of hashicorp/terraform); only the messages and fields eksidp
 * reads or sends are declared (protobuf skips unknown fields). Kept in TypeScript so it ships in
 * dist/ with the code, with no .proto file to locate at run time.
 */

type Field = { type: string; id: number; rule?: 'repeated'; keyType?: string };
type Message = { fields: Record<string, Field>; nested?: Record<string, Message | { values: Record<string, number> }>; oneofs?: Record<string, { oneof: string[] }> };

const f = (type: string, id: number): Field => ({ type, id });
const rep = (type: string, id: number): Field => ({ type, id, rule: 'repeated' });
const map = (type: string, id: number): Field => ({ type, id, keyType: 'string' });
const rpc = (name: string) => ({ requestType: `${name}.Request`, responseType: `${name}.Response` });
const reqRes = (request: Record<string, Field>, response: Record<string, Field>, nested: Record<string, Message> = {}): Message => ({
  fields: {},
  nested: { Request: { fields: request }, Response: { fields: response }, ...nested },
});

const DV = 'DynamicValue';
const DIAGS = (id: number) => rep('Diagnostic', id);

const tfplugin5 = {
  nested: {
    DynamicValue: { fields: { msgpack: f('bytes', 1), json: f('bytes', 2) } },
    Diagnostic: {
      fields: { severity: f('Severity', 1), summary: f('string', 2), detail: f('string', 3), attribute: f('AttributePath', 4) },
      nested: { Severity: { values: { INVALID: 0, ERROR: 1, WARNING: 2 } } },
    },
    AttributePath: {
      fields: { steps: rep('Step', 1) },
      nested: {
        Step: {
          oneofs: { selector: { oneof: ['attribute_name', 'element_key_string', 'element_key_int'] } },
          fields: { attribute_name: f('string', 1), element_key_string: f('string', 2), element_key_int: f('int64', 3) },
        },
      },
    },
    RawState: { fields: { json: f('bytes', 1), flatmap: map('string', 2) } },
    Schema: {
      fields: { version: f('int64', 1), block: f('Block', 2) },
      nested: {
        Block: { fields: { version: f('int64', 1), attributes: rep('Attribute', 2), block_types: rep('NestedBlock', 3), deprecated: f('bool', 6) } },
        Attribute: {
          fields: {
            name: f('string', 1), type: f('bytes', 2), required: f('bool', 4), optional: f('bool', 5), computed: f('bool', 6),
            sensitive: f('bool', 7), deprecated: f('bool', 9), write_only: f('bool', 10),
          },
        },
        NestedBlock: {
          fields: { type_name: f('string', 1), block: f('Block', 2), nesting: f('NestingMode', 3), min_items: f('int64', 4), max_items: f('int64', 5) },
          nested: { NestingMode: { values: { INVALID: 0, SINGLE: 1, LIST: 2, SET: 3, MAP: 4, GROUP: 5 } } },
        },
      },
    },
    ServerCapabilities: { fields: { plan_destroy: f('bool', 1), get_provider_schema_optional: f('bool', 2) } },
    ClientCapabilities: { fields: { deferral_allowed: f('bool', 1), write_only_attributes_allowed: f('bool', 2) } },
    GetProviderSchema: reqRes({}, {
      provider: f('Schema', 1), resource_schemas: map('Schema', 2), data_source_schemas: map('Schema', 3),
      diagnostics: DIAGS(4), server_capabilities: f('ServerCapabilities', 6),
    }),
    PrepareProviderConfig: reqRes({ config: f(DV, 1) }, { prepared_config: f(DV, 1), diagnostics: DIAGS(2) }),
    UpgradeResourceState: reqRes({ type_name: f('string', 1), version: f('int64', 2), raw_state: f('RawState', 3) }, { upgraded_state: f(DV, 1), diagnostics: DIAGS(2) }),
    ValidateResourceTypeConfig: reqRes({ type_name: f('string', 1), config: f(DV, 2), client_capabilities: f('ClientCapabilities', 3) }, { diagnostics: DIAGS(1) }),
    ValidateDataSourceConfig: reqRes({ type_name: f('string', 1), config: f(DV, 2) }, { diagnostics: DIAGS(1) }),
    Configure: reqRes({ terraform_version: f('string', 1), config: f(DV, 2), client_capabilities: f('ClientCapabilities', 3) }, { diagnostics: DIAGS(1) }),
    ReadResource: reqRes(
      { type_name: f('string', 1), current_state: f(DV, 2), private: f('bytes', 3), client_capabilities: f('ClientCapabilities', 5) },
      { new_state: f(DV, 1), diagnostics: DIAGS(2), private: f('bytes', 3) },
    ),
    PlanResourceChange: reqRes(
      {
        type_name: f('string', 1), prior_state: f(DV, 2), proposed_new_state: f(DV, 3), config: f(DV, 4), prior_private: f('bytes', 5),
        client_capabilities: f('ClientCapabilities', 7),
      },
      { planned_state: f(DV, 1), requires_replace: rep('AttributePath', 2), planned_private: f('bytes', 3), diagnostics: DIAGS(4), legacy_type_system: f('bool', 5) },
    ),
    ApplyResourceChange: reqRes(
      { type_name: f('string', 1), prior_state: f(DV, 2), planned_state: f(DV, 3), config: f(DV, 4), planned_private: f('bytes', 5) },
      { new_state: f(DV, 1), private: f('bytes', 2), diagnostics: DIAGS(3), legacy_type_system: f('bool', 4) },
    ),
    ImportResourceState: reqRes(
      { type_name: f('string', 1), id: f('string', 2), client_capabilities: f('ClientCapabilities', 3) },
      { imported_resources: rep('ImportedResource', 1), diagnostics: DIAGS(2) },
      { ImportedResource: { fields: { type_name: f('string', 1), state: f(DV, 2), private: f('bytes', 3) } } },
    ),
    ReadDataSource: reqRes(
      { type_name: f('string', 1), config: f(DV, 2), client_capabilities: f('ClientCapabilities', 4) },
      { state: f(DV, 1), diagnostics: DIAGS(2) },
    ),
    Stop: reqRes({}, { Error: f('string', 1) }),
    Provider: {
      methods: {
        GetSchema: rpc('GetProviderSchema'),
        PrepareProviderConfig: rpc('PrepareProviderConfig'),
        ValidateResourceTypeConfig: rpc('ValidateResourceTypeConfig'),
        ValidateDataSourceConfig: rpc('ValidateDataSourceConfig'),
        UpgradeResourceState: rpc('UpgradeResourceState'),
        Configure: rpc('Configure'),
        ReadResource: rpc('ReadResource'),
        PlanResourceChange: rpc('PlanResourceChange'),
        ApplyResourceChange: rpc('ApplyResourceChange'),
        ImportResourceState: rpc('ImportResourceState'),
        ReadDataSource: rpc('ReadDataSource'),
        Stop: rpc('Stop'),
      },
    },
  },
};

/** go-plugin's controller service: Shutdown asks the plugin process to exit. */
const goPlugin = {
  nested: {
    Empty: { fields: {} },
    GRPCController: { methods: { Shutdown: { requestType: 'Empty', responseType: 'Empty' } } },
  },
};

/** The descriptor (protobufjs's JSON format) and the decoding options eksidp loads it with. */
export const PROTOCOL = { nested: { tfplugin5, plugin: goPlugin } };
export const PROTOCOL_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export function loadProtocol(): PackageDefinition {
  // The descriptor is plain data; the typings want protobufjs's own classes.
  return fromJSON(PROTOCOL as unknown as Parameters<typeof fromJSON>[0], PROTOCOL_OPTIONS);
}

/** The provider RPCs eksidp calls, by name. */
export type ProviderMethod = keyof typeof tfplugin5.nested.Provider.methods;
