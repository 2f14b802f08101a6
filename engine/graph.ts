import { collectReferences, type Reference } from './expressions';
import type { Diagnostic, Path, Value } from './protocol';
import type { ResourceConfig } from './config';
import { error } from './util';

/**
 * The dependency graph of a configuration: edges from references and depends_on. Unknown targets
 * and cycles are errors naming the addresses involved.
 */
export type Graph = {
  /** address -> addresses it depends on directly. */
  deps: Map<string, Set<string>>;
  /** Addresses in dependency order (dependencies first), stable by declaration. */
  order: string[];
};

export function buildGraph(resources: readonly ResourceConfig[], variables: Record<string, unknown>, locals: Readonly<Record<string, Value>> = {}): { graph: Graph; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  const known = new Set(resources.map((r) => r.address));
  // A local is no step of its own: a resource that uses it depends on what the local refers to.
  const localTargets = localDependencies(locals, known, variables, diags);
  const deps = new Map<string, Set<string>>();
  for (const r of resources) {
    const d = new Set<string>();
    for (const { ref, at } of repetitionRefs(r)) {
      if (ref.kind === 'count' || ref.kind === 'each') continue;
      if (ref.kind === 'var') {
        if (!(ref.target.slice(4) in variables)) diags.push(error(`Reference to undeclared input variable "${ref.target}"`, r.address, at));
        continue;
      }
      if (ref.kind === 'local') {
        const targets = localTargets.get(ref.target.slice(6));
        if (!targets) diags.push(error(`Reference to undeclared local value "${ref.target}"`, r.address, at));
        else for (const t of targets) {
          if (t === r.address) diags.push(error(`Self-referential resource: ${r.address} refers to itself through ${ref.target}`, r.address, at));
          else d.add(t);
        }
        continue;
      }
      if (!known.has(ref.target)) diags.push(error(`Reference to undeclared resource "${ref.target}"`, r.address, at));
      else if (ref.target === r.address) diags.push(error(`Self-referential resource: ${r.address} refers to itself`, r.address, at));
      else d.add(ref.target);
    }
    for (const t of r.dependsOn) {
      if (!known.has(t)) diags.push(error(`depends_on refers to undeclared resource "${t}"`, r.address, ['depends_on']));
      else if (t !== r.address) d.add(t);
    }
    deps.set(r.address, d);
  }
  // Depth-first topological sort; a back edge is a cycle, reported with its members in order.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (a: string) => {
    const s = state.get(a);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = stack.slice(stack.indexOf(a));
      const key = [...cycle].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        diags.push(error(`Cycle: ${cycle.join(', ')}`, a));
      }
      return;
    }
    state.set(a, 'visiting');
    stack.push(a);
    for (const d of deps.get(a) ?? []) visit(d);
    stack.pop();
    state.set(a, 'done');
    order.push(a);
  };
  for (const r of resources) visit(r.address);
  return { graph: { deps, order }, diagnostics: diags };
}

/** Every reference a resource makes: its arguments', and its count or for_each expression's (at `count` / `for_each`). */
export function repetitionRefs(r: ResourceConfig): readonly { ref: Reference; at: Path }[] {
  // The graph and static validation both ask, for every resource: walked once per configuration.
  let refs = refsMemo.get(r);
  if (refs) return refs;
  refs = collectReferences(r.body).refs;
  if (r.count !== undefined) refs.push(...collectReferences(r.count, ['count']).refs);
  if (r.forEach !== undefined) refs.push(...collectReferences(r.forEach, ['for_each']).refs);
  refsMemo.set(r, refs);
  return refs;
}

const refsMemo = new WeakMap<ResourceConfig, { ref: Reference; at: Path }[]>();

/** All transitive dependencies of an address (for state `dependencies` and --target). */
export function transitiveDeps(deps: Map<string, Set<string>>, address: string): Set<string> {
  const out = new Set<string>();
  const walk = (a: string) => {
    for (const d of deps.get(a) ?? []) if (!out.has(d)) { out.add(d); walk(d); }
  };
  walk(address);
  return out;
}

/**
 * The resources each local value refers to, directly or through other locals; references to
 * undeclared things and cycles among locals are errors naming `local.NAME`.
 */
export function localDependencies(locals: Readonly<Record<string, Value>>, known: ReadonlySet<string>, variables: Record<string, unknown>, diags: Diagnostic[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visiting: string[] = [];
  const visit = (name: string): Set<string> => {
    const done = out.get(name);
    if (done) return done;
    if (visiting.includes(name)) {
      diags.push(error(`Cycle: ${[...visiting.slice(visiting.indexOf(name)), name].map((n) => `local.${n}`).join(', ')}`, `local.${name}`));
      return new Set();
    }
    visiting.push(name);
    const targets = new Set<string>();
    for (const { ref, at } of collectReferences(locals[name]!).refs) {
      if (ref.kind === 'var') {
        if (!(ref.target.slice(4) in variables)) diags.push(error(`Reference to undeclared input variable "${ref.target}"`, `local.${name}`, at));
      } else if (ref.kind === 'local') {
        const other = ref.target.slice(6);
        if (!Object.prototype.hasOwnProperty.call(locals, other)) diags.push(error(`Reference to undeclared local value "${ref.target}"`, `local.${name}`, at));
        else for (const t of visit(other)) targets.add(t);
      } else if (!known.has(ref.target)) diags.push(error(`Reference to undeclared resource "${ref.target}"`, `local.${name}`, at));
      else targets.add(ref.target);
    }
    visiting.pop();
    out.set(name, targets);
    return targets;
  };
  for (const name of Object.keys(locals)) visit(name);
  return out;
}
