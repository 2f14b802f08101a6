import type { ResourceConfig } from '../engine/config';
import { collectReferences, type Lookup, type Reference } from '../engine/expressions';
import { expandResource, instanceValues, makeLookup } from '../engine/plan';
import { instanceAddress, instanceLookup, type InstanceKey } from '../engine/instances';
import type { Diagnostic, LiveResourceRequest, ObjectValue, Value } from '../engine/protocol';
import { isUnknown } from '../engine/protocol';
import { resourceAddress, stateInstances, type StateInstance, type StateV4 } from '../engine/state';
import { EXACT, valuesEqual } from '../engine/util';
import { resolveConfig, type Workspace } from '../engine/workspace';

/**
 * What the stack declares, as known before anything is read: each resource's configuration
 * evaluated with the engine's evaluator, references resolved from the configuration of what they
 * point at, then from state when there is a state file (no state file is needed). Providers read
 * from these what to read (an EKS config's cluster, a data source's name); the verdicts are worked
 * out again, once live values are known (compare.ts).
 */

export type Declared = {
  resource: ResourceConfig;
  /** The instance's key (count / for_each) and, for for_each, its each.value when declared. */
  key?: InstanceKey;
  eachValue?: Value;
  /** The resource's state instance (managed resources in a state file). */
  instance?: StateInstance;
  /** The provider's read request: configuration as known before reading, prior state. */
  request: LiveResourceRequest;
  /** Problems evaluating that configuration. */
  diagnostics: Diagnostic[];
  /** What its configuration refers to, and what each reference gave then. */
  references: { ref: Reference; got: ReturnType<Lookup> }[];
};

/** Known configured values over the prior state's: a reference then follows the stack, as a plan would. */
function knownValues(prior: ObjectValue | undefined, config: ObjectValue): ObjectValue {
  if (!prior) return config;
  const out: ObjectValue = { ...prior };
  for (const [k, v] of Object.entries(config)) if (v !== null && !isUnknown(v)) out[k] = v;
  return out;
}

/** The lookup a declared instance's configuration is evaluated with (count.index, each.key, each.value). */
export function declaredLookup(d: Pick<Declared, 'key' | 'eachValue'>, lookup: Lookup): Lookup {
  return d.key === undefined ? lookup : instanceLookup(lookup, { key: d.key, ...(d.eachValue !== undefined ? { value: d.eachValue } : {}) });
}

/** By instance address (`aws_x.y`, `aws_x.y[0]`, `aws_x.y["k"]`), in dependency order: a repeated resource is expanded by its count / for_each. */
export function declare(ws: Workspace, state: StateV4 | null): Map<string, Declared> {
  const instances = new Map<string, StateInstance>();
  for (const x of state ? stateInstances(state) : []) if (x.resource.mode === 'managed') instances.set(x.address, x.instance);
  const known = instanceValues(ws);
  const lookup = makeLookup(ws, known);
  const out = new Map<string, Declared>();
  for (const resourceAddr of ws.graph.order) {
    const resource = ws.byAddress.get(resourceAddr)!;
    const expansionDiags: Diagnostic[] = [];
    // A count or for_each that cannot be worked out yet leaves one entry, judged unknown with why.
    const expansion = expandResource(ws, resource, lookup, expansionDiags) ?? { mode: 'single' as const, instances: [{}] };
    for (const inst of expansion.instances) {
      const address = instanceAddress(resourceAddr, inst.key);
      const instance = resource.mode === 'managed' ? instances.get(address) : undefined;
      const diagnostics: Diagnostic[] = [...expansionDiags];
      const d = { ...(inst.key !== undefined ? { key: inst.key } : {}), ...(inst.value !== undefined ? { eachValue: inst.value } : {}) };
      const iLookup = declaredLookup(d, lookup);
      const config = resolveConfig(ws, resource, iLookup, diagnostics, address);
      const references = collectReferences(resource.body).refs.map(({ ref }) => ({ ref, got: iLookup(ref) }));
      const prior = instance ? (instance.attributes as ObjectValue) : undefined;
      known.set(resourceAddr, inst.key, knownValues(prior, config));
      out.set(address, {
        resource,
        ...d,
        ...(instance ? { instance } : {}),
        request: { address, typeName: resource.type, mode: resource.mode, config, priorState: prior ?? null, ...(instance ? { priorSchemaVersion: instance.schema_version, ...(instance.private ? { priorPrivate: instance.private } : {}) } : {}) },
        diagnostics,
        references,
      });
    }
  }
  return out;
}

/** State entries the configuration no longer has, by `TYPE:ID` (an import id): a plan deletes them. */
export function stateOnly(ws: Workspace, state: StateV4 | null, declared?: ReadonlyMap<string, Declared>): Map<string, string> {
  const out = new Map<string, string>();
  for (const { address, resource: r, instance } of state ? stateInstances(state) : []) {
    const id = instance.attributes.id;
    // Without the declarations, a configured resource's instances all count as declared.
    const configured = declared ? declared.has(address) : ws.byAddress.has(resourceAddress(r));
    if (r.mode === 'managed' && !configured && typeof id === 'string') out.set(`${r.type}:${id}`, address);
  }
  return out;
}

/**
 * Whether a configuration evaluated again would come out as it did here: evaluation depends on its
 * references' values alone, so if each still gives the same, the result is the same.
 */
export function unchangedReferences(d: Declared, lookup: Lookup): boolean {
  return d.references.every(({ ref, got }) => {
    const now = lookup(ref);
    if ('error' in got || 'error' in now) return 'error' in got && 'error' in now && got.error === now.error;
    return valuesEqual(got.value, now.value, EXACT);
  });
}
