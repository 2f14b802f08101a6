import { parseConfig, type ResourceConfig, type StackConfig } from '../engine/config';
import { evaluate, getPath, type Reference } from '../engine/expressions';
import type { ObjectValue, Value } from '../engine/protocol';
import { isUnknown } from '../engine/protocol';
import type { StackLocation } from '../engine/stack-files';
import { readState, resourceAddress, type StateV4 } from '../engine/state';
import { IdentityDataError, identityMetadata, oidcFromTerraform } from '../identity';
import { CLUSTER_TYPE, CONFIG_TYPE, type Desired, type DesiredCluster, type DesiredConfig } from './model';

/**
 * Desired state from the synthesized stack. References resolve from configuration first (a
 * cluster's `name` argument, a data source's `name` argument), then from state when there is one,
 * so drift works on a fleet eksidp never applied (no state file needed).
 */

function isObject(v: unknown): v is ObjectValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isUnknown(v);
}

function stringMap(v: Value | undefined, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new Error(`${what} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new Error(`${what}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

function stateAttributes(state: StateV4 | null): Map<string, ObjectValue> {
  const out = new Map<string, ObjectValue>();
  for (const r of state?.resources ?? []) {
    const attrs = r.instances[0]?.attributes;
    if (attrs) out.set(resourceAddress(r), attrs);
  }
  return out;
}

export function buildDesired(config: StackConfig, rawJson: Record<string, unknown>, state: StateV4 | null): Desired {
  const byAddress = new Map(config.resources.map((r) => [r.address, r]));
  const fromState = stateAttributes(state);
  const resolving = new Set<string>();

  /** A resource's evaluated arguments (config literals, references followed), memoised. */
  const evaluated = new Map<string, { value: ObjectValue } | { error: string }>();
  const evalResource = (r: ResourceConfig): { value: ObjectValue } | { error: string } => {
    const hit = evaluated.get(r.address);
    if (hit) return hit;
    if (resolving.has(r.address)) return { error: `reference cycle through ${r.address}` };
    resolving.add(r.address);
    const res = evaluate(r.body, lookup);
    resolving.delete(r.address);
    const out = res.errors.length > 0 ? { error: res.errors.map((e) => e.message).join('; ') } : { value: res.value as ObjectValue };
    evaluated.set(r.address, out);
    return out;
  };

  function lookup(ref: Reference): { value: Value } | { error: string } {
    if (ref.kind === 'var') {
      if (!(ref.target.slice(4) in config.variables)) return { error: `undeclared variable ${ref.target}` };
      return getPath(config.variables[ref.target.slice(4)]!, ref.path);
    }
    const r = byAddress.get(ref.target);
    if (!r) return { error: `${ref.target} is not declared in the stack` };
    // A cluster's id is its name (hashicorp/aws), for resources and data sources alike.
    const path = r.type === CLUSTER_TYPE && ref.path[0] === 'id' ? ['name', ...ref.path.slice(1)] : ref.path;
    const ev = evalResource(r);
    if ('value' in ev) {
      const got = getPath(ev.value, path);
      if ('value' in got && got.value !== null && !isUnknown(got.value)) return got;
    }
    const attrs = fromState.get(ref.target);
    if (attrs) {
      const got = getPath(attrs, ref.path);
      if ('value' in got && got.value !== null) return got;
    }
    return { error: `${ref.text} is known only after apply (not set in configuration, and not in state)` };
  }

  const desired: Desired = { stack: config.stack.name, clusters: [], configs: [], errors: [] };
  const rawOf = (r: ResourceConfig): unknown => {
    const root = (rawJson as Record<string, Record<string, Record<string, unknown>> | undefined>)[r.mode === 'data' ? 'data' : 'resource'];
    return root?.[r.type]?.[r.name];
  };

  for (const r of config.resources) {
    if (r.type !== CLUSTER_TYPE) continue;
    const ev = evalResource(r);
    if ('error' in ev) {
      desired.errors.push({ address: r.address, type: CLUSTER_TYPE, cluster: null, name: r.name, error: ev.error });
      continue;
    }
    const name = ev.value.name;
    if (typeof name !== 'string' || name === '') {
      desired.errors.push({ address: r.address, type: CLUSTER_TYPE, cluster: null, name: r.name, error: `${r.address}: name is not set` });
      continue;
    }
    const c: DesiredCluster = { address: r.address, managed: r.mode === 'managed', name };
    if (c.managed) {
      try {
        if (typeof ev.value.version === 'string' && ev.value.version !== '') c.version = ev.value.version;
        if (ev.value.tags !== undefined && ev.value.tags !== null) c.tags = stringMap(ev.value.tags, 'tags');
      } catch (e) {
        desired.errors.push({ address: r.address, type: CLUSTER_TYPE, cluster: name, name, error: `${r.address}: ${(e as Error).message}` });
        continue;
      }
    }
    desired.clusters.push(c);
  }

  for (const r of config.resources) {
    if (r.type !== CONFIG_TYPE || r.mode !== 'managed') continue;
    const ev = evalResource(r);
    if ('error' in ev) {
      desired.errors.push({ address: r.address, type: CONFIG_TYPE, cluster: null, name: r.name, error: `${r.address}: ${ev.error}` });
      continue;
    }
    const cluster = ev.value.cluster_name;
    try {
      if (typeof cluster !== 'string' || cluster === '') throw new Error('cluster_name is not set');
      const oidc = oidcFromTerraform(ev.value.oidc);
      const block = Array.isArray(ev.value.oidc) ? ev.value.oidc[0] : ev.value.oidc;
      const name = isObject(block) && typeof block.identity_provider_config_name === 'string' ? block.identity_provider_config_name : '';
      if (name === '') throw new Error('oidc.identity_provider_config_name is not set');
      const cfg: DesiredConfig = {
        address: r.address,
        cluster,
        name,
        oidc,
        tags: stringMap(ev.value.tags, 'tags'),
        sampleIdentities: identityMetadata(rawOf(r)).sampleIdentities,
      };
      desired.configs.push(cfg);
    } catch (e) {
      const msg = e instanceof IdentityDataError ? `${e.message}` : (e as Error).message;
      desired.errors.push({ address: r.address, type: CONFIG_TYPE, cluster: typeof cluster === 'string' ? cluster : null, name: r.name, error: `${r.address}: ${msg}` });
    }
  }

  // A config may name a cluster by literal that the stack does not declare: it is still read.
  const known = new Set(desired.clusters.map((c) => c.name));
  for (const c of desired.configs) {
    if (!known.has(c.cluster)) {
      known.add(c.cluster);
      desired.clusters.push({ address: `(cluster_name of ${c.address})`, managed: false, name: c.cluster });
    }
  }
  return desired;
}

/** Reads the stack (and its state when it exists) into the desired model. */
export function loadDesired(rawJson: Record<string, unknown>, loc: StackLocation, opts: { statePath?: string } = {}): { desired: Desired; config: StackConfig } {
  const config = parseConfig(rawJson, loc);
  const state = readState(opts.statePath ?? config.statePath);
  return { desired: buildDesired(config, rawJson, state), config };
}
