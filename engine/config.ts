import path from 'node:path';
import { collectReferences, parseReference } from './expressions';
import { parseOutputs, type OutputConfig } from './outputs';
import type { CtyType, Diagnostic, ObjectValue, Path, Value } from './protocol';
import { parseVariableDecls, resolveVariables, type VariableInputs } from './variables';
import type { StackLocation } from './stack-files';
import { blocks, canonicalJson, EngineError, error, firstBlock, isObject, sha256 } from './util';

/**
 * The stack's Terraform JSON as a model: providers, resources, data sources, their meta-arguments.
 * Expressions stay unevaluated strings here (see expressions.ts). `//` keys are comments, as in
 * Terraform JSON, and are dropped everywhere.
 */

export type Lifecycle = { createBeforeDestroy: boolean; preventDestroy: boolean; ignoreChanges: Path[] | 'all' };

export type ResourceConfig = {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  name: string;
  /** Provider configuration key: the local provider name (`aws`), or name and alias (`aws.west`). */
  provider: string;
  /** Arguments and blocks, without meta-arguments; expressions unevaluated. */
  body: ObjectValue;
  /** Addresses from depends_on. */
  dependsOn: string[];
  lifecycle: Lifecycle;
  /** The `count` expression, unevaluated, when set (instances.ts expands it). */
  count?: Value;
  /** The `for_each` expression, unevaluated, when set. */
  forEach?: Value;
  /**
   * The resource's `//` value (tool metadata: cdktf stacks put sample identities there), which
   * Terraform ignores; absent when there is none. Kept here so no caller re-reads the raw JSON.
   */
  metadata?: Value;
};

/** One provider configuration: `key` is `aws`, or `aws.west` for `alias = "west"`. */
export type ProviderConfig = { name: string; alias?: string; key: string; source: string; body: ObjectValue; /** `required_providers` version constraint. */ version?: string };

/**
 * The `terraform.backend` block: where state lives. The local backend's path is resolved here; an
 * S3 block is kept as written (backends/s3/settings.ts reads and checks it before any call).
 */
export type BackendSpec = { type: 'local'; path: string; /** Absolute: `workspace_dir`, else `terraform.tfstate.d` in the stack's folder (Terraform's default). */ workspaceDir: string } | { type: 's3'; body: ObjectValue };

export type StackConfig = {
  stack: StackLocation;
  /** Where the default workspace's state is: an absolute path (local backend), or `s3://bucket/key`. */
  statePath: string;
  backend: BackendSpec;
  /** By configuration key (`aws`, `aws.west`). */
  providers: Map<string, ProviderConfig>;
  resources: ResourceConfig[];
  variables: Record<string, Value>;
  /** The variables declared `sensitive = true` (their values are marked: engine/sensitive.ts). */
  sensitiveVariables: ReadonlySet<string>;
  /** Each variable's exact type: its `type` constraint, or its default's own type. */
  variableTypes: Record<string, CtyType>;
  /** Root module outputs (outputs.ts). */
  outputs: OutputConfig[];
  /** `locals` by name, expressions unevaluated (referenced as `local.NAME`). */
  locals: Record<string, Value>;
  /** The configuration as read (`//` keys kept): a saved plan carries it (planfile.ts). */
  source: Record<string, unknown>;
  /** sha256 of the canonical configuration, for stale saved plans. */
  readonly hash: string;
  warnings: Diagnostic[];
};

/** Removes `//` comment keys at every level. */
export function stripComments(v: unknown): Value {
  if (typeof v !== 'object' || v === null) return v as Value;
  if (Array.isArray(v)) return v.map(stripComments);
  const out: ObjectValue = {};
  const o = v as Record<string, unknown>;
  for (const k in o) if (k !== '//') out[k] = stripComments(o[k]);
  return out;
}

/** `provider["registry.terraform.io/hashicorp/aws"]`, as state and plans name it. */
export function providerAddress(source: string): string {
  return `provider["${source}"]`;
}

/** A configuration's address in state: `provider["registry.terraform.io/hashicorp/aws"].west` for an alias. */
export function providerConfigAddress(p: { source: string; alias?: string }): string {
  return p.alias ? `${providerAddress(p.source)}.${p.alias}` : providerAddress(p.source);
}

/** The source and alias in a state entry's provider address (`provider["src"]` or `provider["src"].alias`). */
export function parseProviderAddress(address: string): { source: string; alias?: string } | undefined {
  const m = /^provider\["([^"]+)"\](?:\.([A-Za-z_][\w-]*))?$/.exec(address);
  return m ? { source: m[1]!, ...(m[2] ? { alias: m[2] } : {}) } : undefined;
}

function normaliseSource(source: string): string {
  const parts = source.split('/');
  return parts.length === 2 ? `registry.terraform.io/${source}` : source;
}

/** A resource body's `//` value in the raw (unstripped) JSON. */
function rawMetadata(rawJson: Record<string, unknown>, mode: string, type: string, name: string): Value | undefined {
  const get = (o: unknown, k: string): unknown => (typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[k] : undefined);
  const body = get(get(rawJson[mode], type), name);
  return firstBlock(body)?.['//'];
}

/** `locals` blocks (one object, or a list of them): names unique across blocks, expressions checked. */
function parseLocals(raw: Value | undefined, diags: Diagnostic[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  if (raw === undefined || raw === null) return out;
  const list = blocks(raw);
  if (list.length === 0 && !isObject(raw)) diags.push(error('"locals" must be an object of local values', 'locals'));
  for (const b of list) {
    for (const [name, v] of Object.entries(b)) {
      const address = `local.${name}`;
      if (!/^[A-Za-z_][\w-]*$/.test(name)) { diags.push(error('invalid local value name', address)); continue; }
      if (Object.prototype.hasOwnProperty.call(out, name)) { diags.push(error('duplicate local value: declared more than once', address)); continue; }
      for (const e of collectReferences(v).errors) diags.push(error(e.message, address, e.at));
      Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/** Accepts one object or a list of objects (cdktf writes lists) for a block. */
const META = new Set(['depends_on', 'lifecycle', 'provider', 'count', 'for_each', 'provisioner', 'connection']);

export function parseConfig(rawJson: Record<string, unknown>, loc: StackLocation, inputs?: VariableInputs): StackConfig {
  const json = stripComments(rawJson) as ObjectValue;
  const diags: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  for (const key of Object.keys(json)) {
    if (['terraform', 'provider', 'resource', 'data', 'variable', 'output', 'locals'].includes(key)) continue;
    diags.push(error(key === 'module' ? 'modules are not supported: synthesize the stack without modules' : `top-level "${key}" blocks are not supported`, key));
  }
  // terraform block: backend and required_providers.
  let statePath = path.join(loc.dir, 'terraform.tfstate');
  let backend: BackendSpec | undefined;
  const sources = new Map<string, string>();
  const versions = new Map<string, string>();
  for (const tf of blocks(json.terraform ?? null)) {
    for (const [k, v] of Object.entries(tf)) {
      if (k === 'backend') {
        for (const b of blocks(v)) {
          for (const [kind, cfg] of Object.entries(b)) {
            if (backend) { diags.push(error(`only one backend may be configured; found "${backend.type}" and "${kind}"`, 'terraform.backend')); continue; }
            if (kind === 's3') {
              const body = firstBlock(cfg) ?? {};
              backend = { type: 's3', body };
              const { bucket, key } = body;
              if (typeof bucket === 'string' && typeof key === 'string') statePath = `s3://${bucket}/${key}`;
              else diags.push(error('backend "s3" needs "bucket" and "key" (strings)', 'terraform.backend.s3'));
              continue;
            }
            if (kind !== 'local') { diags.push(error(`backend "${kind}" is not supported: eksidp implements the local and s3 backends`, 'terraform.backend')); continue; }
            const local = firstBlock(cfg) ?? {};
            for (const k of Object.keys(local)) if (k !== 'path' && k !== 'workspace_dir') diags.push(error(`backend "local": "${k}" is not supported (only "path" and "workspace_dir" are)`, 'terraform.backend.local', [k]));
            const p = local.path;
            if (typeof p === 'string' && p !== '') statePath = path.resolve(loc.dir, p);
            const wd = local.workspace_dir;
            backend = { type: 'local', path: statePath, workspaceDir: path.resolve(loc.dir, typeof wd === 'string' && wd !== '' ? wd : 'terraform.tfstate.d') };
          }
        }
      } else if (k === 'required_providers') {
        for (const rp of blocks(v)) {
          for (const [name, spec] of Object.entries(rp)) {
            const src = isObject(spec) ? spec.source : null;
            if (typeof src === 'string') sources.set(name, normaliseSource(src));
            const ver = isObject(spec) ? spec.version : null;
            if (typeof ver === 'string') versions.set(name, ver);
          }
        }
      }
    }
  }
  const sourceOf = (name: string) => sources.get(name) ?? `registry.terraform.io/hashicorp/${name}`;

  const providers = new Map<string, ProviderConfig>();
  for (const [name, v] of Object.entries(isObject(json.provider) ? json.provider : {})) {
    // cdktf writes a list of blocks, one per configuration; the ones with `alias` are extra configurations.
    for (const block of blocks(v)) {
      const { alias, ...body } = block;
      if (alias !== undefined && alias !== null && (typeof alias !== 'string' || !/^[A-Za-z_][\w-]*$/.test(alias))) {
        diags.push(error(`invalid provider alias ${JSON.stringify(alias)}: a name is required`, `provider.${name}`, ['alias']));
        continue;
      }
      const key = typeof alias === 'string' ? `${name}.${alias}` : name;
      if (providers.has(key)) { diags.push(error(`duplicate provider configuration for "${key}"`, `provider.${key}`)); continue; }
      providers.set(key, { name, ...(typeof alias === 'string' ? { alias } : {}), key, source: sourceOf(name), body, ...(versions.has(name) ? { version: versions.get(name)! } : {}) });
    }
  }

  // As Terraform ("Missing block label"): an empty object for a labelled block type is a block without
  // its label (locals has none, so `"locals": {}` is fine; resource and data are checked below).
  for (const key of ['variable', 'output', 'provider'] as const) {
    if (isObject(json[key]) && Object.keys(json[key] as object).length === 0) diags.push(error(`"${key}" must name at least one ${key} (Terraform: Missing block label)`, key));
  }
  const resolved = resolveVariables(parseVariableDecls(json.variable, diags), inputs, diags);
  const variables = resolved.values;
  const variableTypes = resolved.types;
  for (const d of diags.filter((x) => x.severity === 'warning')) warnings.push(d);
  const outputs = parseOutputs(json.output, diags);
  const locals = parseLocals(json.locals, diags);

  const resources: ResourceConfig[] = [];
  const seen = new Set<string>();
  for (const mode of ['resource', 'data'] as const) {
    const byType = json[mode];
    if (byType === undefined) continue;
    if (!isObject(byType)) { diags.push(error(`"${mode}" must be an object of types`, mode)); continue; }
    // As Terraform ("Missing block label"): an empty object is a block without its labels.
    if (Object.keys(byType).length === 0) diags.push(error(`"${mode}" must name at least one ${mode === 'data' ? 'data source' : 'resource'} type (Terraform: Missing block label)`, mode));
    for (const [type, byName] of Object.entries(byType)) {
      if (!isObject(byName)) { diags.push(error(`"${mode}.${type}" must be an object of names`, type)); continue; }
      if (Object.keys(byName).length === 0) diags.push(error(`"${mode}.${type}" must name at least one ${mode === 'data' ? 'data source' : 'resource'} (Terraform: Missing block label)`, `${mode}.${type}`));
      for (const [name, rawBody] of Object.entries(byName)) {
        const address = mode === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
        if (seen.has(address)) { diags.push(error('duplicate resource address: declared more than once', address)); continue; }
        seen.add(address);
        const bodies = blocks(rawBody);
        if (bodies.length !== 1) { diags.push(error(bodies.length === 0 ? 'the resource body must be an object' : 'duplicate resource address: declared more than once', address)); continue; }
        const body = bodies[0]!;
        for (const k of ['provisioner', 'connection']) {
          if (k in body) diags.push(error(`"${k}" is not supported`, address, [k]));
        }
        if ('count' in body && 'for_each' in body) {
          diags.push(error('Invalid combination of "count" and "for_each"', address, ['for_each'], 'The "count" and "for_each" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.'));
        }
        for (const k of ['count', 'for_each'] as const) {
          if (k in body) for (const e of collectReferences(body[k]!, [k]).errors) diags.push(error(e.message, address, e.at));
        }
        let provider = type.split('_')[0]!;
        if (body.provider !== undefined) {
          // `"aws.west"` (Terraform JSON, cdktf) or `"${aws.west}"`.
          const p = typeof body.provider === 'string' ? body.provider.replace(/^\$\{(.*)\}$/, '$1') : '';
          if (!/^[A-Za-z][\w-]*(\.[A-Za-z_][\w-]*)?$/.test(p)) diags.push(error(`invalid provider reference ${JSON.stringify(body.provider)}: expected "NAME" or "NAME.ALIAS"`, address, ['provider']));
          else provider = p;
        }
        const dependsOn: string[] = [];
        if (body.depends_on !== undefined) {
          if (!Array.isArray(body.depends_on)) diags.push(error('depends_on must be a list of addresses', address, ['depends_on']));
          else body.depends_on.forEach((d, i) => {
            const text = typeof d === 'string' ? d.replace(/^\$\{(.*)\}$/, '$1') : '';
            const ref = parseReference(text);
            if (typeof ref === 'string' || (ref.kind !== 'resource' && ref.kind !== 'data') || ref.path.length > 0) diags.push(error(`invalid depends_on entry "${String(d)}": expected a resource address`, address, ['depends_on', i]));
            else dependsOn.push(ref.target);
          });
        }
        const lifecycle: Lifecycle = { createBeforeDestroy: false, preventDestroy: false, ignoreChanges: [] };
        const lc = body.lifecycle === undefined ? {} : firstBlock(body.lifecycle);
        if (!lc) diags.push(error('lifecycle must be an object', address, ['lifecycle']));
        for (const [k, v] of Object.entries(lc ?? {})) {
          if (k === 'create_before_destroy' || k === 'prevent_destroy') {
            if (typeof v !== 'boolean') diags.push(error(`lifecycle.${k} must be true or false`, address, ['lifecycle', k]));
            else if (k === 'create_before_destroy') lifecycle.createBeforeDestroy = v;
            else lifecycle.preventDestroy = v;
          } else if (k === 'ignore_changes') {
            if (v === 'all' || v === '${all}') lifecycle.ignoreChanges = 'all';
            else if (Array.isArray(v)) {
              const paths: Path[] = [];
              v.forEach((x, i) => {
                const ref = typeof x === 'string' ? parseReference(`x.y.${x.replace(/^\$\{(.*)\}$/, '$1')}`) : 'not a string';
                if (typeof ref === 'string') diags.push(error(`invalid ignore_changes entry ${JSON.stringify(x)}`, address, ['lifecycle', 'ignore_changes', i]));
                else paths.push(ref.path);
              });
              lifecycle.ignoreChanges = paths;
            } else diags.push(error('lifecycle.ignore_changes must be a list of attribute names or "all"', address, ['lifecycle', 'ignore_changes']));
          } else diags.push(error(`lifecycle.${k} is not supported`, address, ['lifecycle', k]));
        }
        const args: ObjectValue = {};
        for (const [k, v] of Object.entries(body)) if (!META.has(k)) args[k] = v;
        for (const e of collectReferences(args).errors) diags.push(error(e.message, address, e.at));
        const metadata = rawMetadata(rawJson, mode, type, name);
        resources.push({
          address, mode: mode === 'data' ? 'data' : 'managed', type, name, provider, body: args, dependsOn, lifecycle,
          ...('count' in body ? { count: body.count! } : {}), ...('for_each' in body ? { forEach: body.for_each! } : {}), ...(metadata !== undefined ? { metadata } : {}),
        });
      }
    }
  }
  for (const p of providers.values()) for (const e of collectReferences(p.body).errors) diags.push(error(e.message, `provider.${p.key}`, e.at));
  for (const r of resources) {
    const dot = r.provider.indexOf('.');
    if (dot > 0 && !providers.has(r.provider)) {
      diags.push(error(`provider configuration "${r.provider}" is not declared: add a provider "${r.provider.slice(0, dot)}" block with alias = "${r.provider.slice(dot + 1)}"`, r.address, ['provider']));
    }
  }
  if (diags.some((d) => d.severity === 'error')) throw new EngineError(diags);
  // Providers used without a provider block get an empty default configuration, as in Terraform.
  for (const r of resources) if (!providers.has(r.provider)) providers.set(r.provider, { name: r.provider, key: r.provider, source: sourceOf(r.provider), body: {} });
  // Computed when asked (saved plans): a drift check or a plan without --out never needs it.
  let hash: string | undefined;
  return {
    stack: loc, statePath, backend: backend ?? { type: 'local', path: statePath, workspaceDir: path.join(loc.dir, 'terraform.tfstate.d') }, providers, resources, variables, sensitiveVariables: new Set(resolved.sensitive), variableTypes, outputs, locals, warnings, source: rawJson,
    get hash() {
      // Variable values are part of what a saved plan was made from, as Terraform keeps them in its plan.
      return (hash ??= sha256(canonicalJson(Object.keys(variables).length > 0 ? { json, variables } : json)));
    },
  };
}
