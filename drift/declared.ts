import type { ResourceConfig } from '../engine/config';
import { collectReferences, type Lookup, type Reference } from '../engine/expressions';
import { instanceValues, makeLookup } from '../engine/plan';
import type { Diagnostic, LiveResourceRequest, ObjectValue } from '../engine/protocol';
import { isUnknown } from '../engine/protocol';
import { resourceAddress, type StateInstance, type StateV4 } from '../engine/state';
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

export function declare(ws: Workspace, state: StateV4 | null): Map<string, Declared> {
  const instances = new Map<string, StateInstance>();
  for (const r of state?.resources ?? []) if (r.mode === 'managed' && r.instances[0]) instances.set(resourceAddress(r), r.instances[0]);
  const known = instanceValues(ws);
  const lookup = makeLookup(ws, known);
  const out = new Map<string, Declared>();
  for (const address of ws.graph.order) {
    const resource = ws.byAddress.get(address)!;
    const instance = resource.mode === 'managed' ? instances.get(address) : undefined;
    const diagnostics: Diagnostic[] = [];
    const config = resolveConfig(ws, resource, lookup, diagnostics);
    const references = collectReferences(resource.body).refs.map(({ ref }) => ({ ref, got: lookup(ref) }));
    const prior = instance ? (instance.attributes as ObjectValue) : undefined;
    known.set(address, undefined, knownValues(prior, config));
    out.set(address, {
      resource,
      ...(instance ? { instance } : {}),
      request: { address, typeName: resource.type, mode: resource.mode, config, priorState: prior ?? null, ...(instance ? { priorSchemaVersion: instance.schema_version, ...(instance.private ? { priorPrivate: instance.private } : {}) } : {}) },
      diagnostics,
      references,
    });
  }
  return out;
}

/** State entries the configuration no longer has, by `TYPE:ID` (an import id): a plan deletes them. */
export function stateOnly(ws: Workspace, state: StateV4 | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of state?.resources ?? []) {
    const address = resourceAddress(r);
    const id = r.instances[0]?.attributes.id;
    if (r.mode === 'managed' && !ws.byAddress.has(address) && typeof id === 'string') out.set(`${r.type}:${id}`, address);
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
