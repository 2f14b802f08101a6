/**
 * The provider protocol: the only seam between the engine and a provider. Modelled on Terraform's
 * (internal/providers/provider.go): each verb takes one request object and returns one response
 * object carrying diagnostics, so adding a field later breaks no provider. The engine knows nothing
 * about EKS; providers are registered by the provider name used in the Terraform JSON (`aws`).
 */

/** A Terraform value as it appears in JSON config and in state. */
export type Value = null | string | number | boolean | Value[] | { [key: string]: Value };
export type ObjectValue = { [key: string]: Value };

/** An attribute path: `["oidc", 0, "issuer_url"]`, rendered `oidc[0].issuer_url`. */
export type Path = (string | number)[];

export type Diagnostic = {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
  /** Resource address (`aws_eks_identity_provider_config.prod_okta`), when known. */
  address?: string;
  /** Attribute path within the resource, when the problem is one field. */
  attribute?: Path;
};

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Renders a path as Terraform does: `oidc[0].issuer_url`. */
export function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Terraform's schema JSON format (`terraform providers schema -json`), so real schemas plug in as is. */
export type CtyType = string | [string, CtyType] | ['object', Record<string, CtyType>];
export type AttributeSchema = {
  type: CtyType;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  /** Terraform 1.11: given to the provider in its configuration, never planned, stored or shown (providers/plugin). */
  write_only?: boolean;
  description?: string;
};
export type BlockSchema = {
  attributes?: Record<string, AttributeSchema>;
  block_types?: Record<string, { nesting_mode: 'single' | 'list' | 'set' | 'map'; block: BlockSchema; min_items?: number; max_items?: number }>;
};
export type ResourceSchema = { version: number; block: BlockSchema };

const schemaEntryCache = new WeakMap<object, [string, unknown][]>();
const NO_ENTRIES: Record<string, never> = Object.freeze({});

/**
 * Object.entries of a schema's attributes or block types, computed once per schema object (schemas
 * never change): engine and providers walk them for every resource of every plan.
 */
export function schemaEntries<T>(o: Record<string, T> | undefined): [string, T][] {
  const src = o ?? NO_ENTRIES;
  let e = schemaEntryCache.get(src);
  if (!e) schemaEntryCache.set(src, (e = Object.entries(src)));
  return e as [string, T][];
}

const blankCache = new WeakMap<BlockSchema, ObjectValue>();

/**
 * A new object with every attribute and block type of `block` (in that order) set to null, for
 * code that then assigns each of them. Copied from one template per block, so a fleet's values share
 * one hidden class: assigned key by key into `{}`, an object of over 16 members (an aws_eks_cluster)
 * turns into a dictionary of ~1.6 KB (V8's limit for keyed stores), 16 MB at 10,000 clusters.
 */
export function blankObject(block: BlockSchema): ObjectValue {
  let t = blankCache.get(block);
  if (!t) {
    const keys = [...Object.keys(block.attributes ?? {}), ...Object.keys(block.block_types ?? {})];
    blankCache.set(block, (t = Object.fromEntries(keys.map((k) => [k, null])) as ObjectValue));
  }
  return { ...t };
}

export type ProviderSchema = {
  provider: ResourceSchema;
  resources: Record<string, ResourceSchema>;
  dataSources: Record<string, ResourceSchema>;
  /** What the provider supports beyond the base protocol (Terraform's ServerCapabilities). */
  capabilities?: ProviderCapabilities;
};

export type ProviderCapabilities = {
  /**
   * applyResourceChange sends every API request through the request's `requests` slots and waits
   * (for an update to finish, say) outside them. Without it, the engine holds one slot for the whole
   * step, waits included, as Terraform's parallelism does.
   */
  requestSlots?: boolean;
};

/**
 * Beyond Terraform: the engine's bound on API requests in flight (apply's `--parallelism`), shared by
 * every step. A provider runs each request through `run`; `low` priority (a status poll) yields to
 * other requests when slots are short.
 */
export type RequestSlots = { run<T>(send: () => Promise<T>, priority?: 'normal' | 'low'): Promise<T> };

/** Per-operation timeouts from the resource's `timeouts` block, in milliseconds. */
export type Timeouts = { create?: number; update?: number; delete?: number; read?: number };

/** Progress reporting while a provider waits (the engine renders `Still creating... [1m10s elapsed]`). */
export type Progress = (message: string) => void;

export type ConfigureRequest = {
  config: ObjectValue;
  env: NodeJS.ProcessEnv;
  /** Calls the caller may run at once (e.g. `eksidp drift --concurrency`): a provider sizes its connection pool to it. */
  parallelism?: number;
};
export type ConfigureResponse = { diagnostics: Diagnostic[] };

export type ValidateResourceConfigRequest = { typeName: string; address: string; config: ObjectValue };
export type ValidateResourceConfigResponse = { diagnostics: Diagnostic[] };

/**
 * Beyond Terraform: validation across all of one provider's resources in a configuration (per-cluster
 * limits, unique names and issuers), so those errors come before any API call. Values that are
 * unknown until apply (references to resources not yet created) are `UNKNOWN`.
 */
export type ValidateConfigurationRequest = { resources: { address: string; typeName: string; config: ObjectValue }[] };
export type ValidateConfigurationResponse = { diagnostics: Diagnostic[] };

/**
 * Private data: bytes a provider keeps with an object, opaque to the engine (Terraform's `private`),
 * carried as state stores them (base64): read → state, plan → apply, apply → state. Absent or '' is none.
 */
export type PrivateData = string | undefined;

export type ReadResourceRequest = { typeName: string; address: string; priorState: ObjectValue; private?: PrivateData; signal?: AbortSignal };
/** `newState: null` means the object is gone (the engine plans it for creation). */
export type ReadResourceResponse = { newState: ObjectValue | null; diagnostics: Diagnostic[]; private?: PrivateData };

/**
 * Terraform's UpgradeResourceState: an object as state stored it, at the schema version state
 * recorded, to the provider's current schema. The engine asks on every state load, before anything
 * reads the object, when the provider implements it.
 */
export type UpgradeResourceStateRequest = { typeName: string; address: string; version: number; rawState: ObjectValue };
export type UpgradeResourceStateResponse = { upgradedState: ObjectValue | null; diagnostics: Diagnostic[] };

export type ReadDataSourceRequest = { typeName: string; address: string; config: ObjectValue; signal?: AbortSignal };
export type ReadDataSourceResponse = { state: ObjectValue | null; diagnostics: Diagnostic[] };

export type PlanResourceChangeRequest = {
  typeName: string;
  address: string;
  /** null when creating. */
  priorState: ObjectValue | null;
  /** null when destroying. Unknown values are `UNKNOWN`. */
  proposedNewState: ObjectValue | null;
  config: ObjectValue | null;
  priorPrivate?: PrivateData;
};
export type PlanResourceChangeResponse = {
  /** Planned state with computed attributes: kept from prior state, or `UNKNOWN` when they will change. */
  plannedState: ObjectValue | null;
  /** Attribute paths whose change forces replacement. Empty for in-place updates. */
  requiresReplace: Path[];
  diagnostics: Diagnostic[];
  /** Handed to applyResourceChange with this plan. */
  plannedPrivate?: PrivateData;
};

export type ApplyResourceChangeRequest = {
  typeName: string;
  address: string;
  priorState: ObjectValue | null;
  plannedState: ObjectValue | null;
  config: ObjectValue | null;
  timeouts: Timeouts;
  /** Deterministic per intended change, so a retried or resumed apply never acts twice. */
  idempotencyToken: string;
  progress: Progress;
  signal?: AbortSignal;
  /** Present when the provider declares `requestSlots`: each API request of this change goes through it. */
  requests?: RequestSlots;
  /** The plan's private data (a delete: the object's stored private data). */
  plannedPrivate?: PrivateData;
};
/** On error, `newState` still records whatever exists (Terraform's partial state), or null. `private` goes to state with it. */
export type ApplyResourceChangeResponse = { newState: ObjectValue | null; diagnostics: Diagnostic[]; private?: PrivateData };

/**
 * Beyond Terraform: bulk reads for drift checks. `readLive` reads, with at most `concurrency` calls in
 * flight, every live object the declared resources may refer to, through calls the provider chooses
 * (EKS: per cluster, DescribeCluster, ListIdentityProviderConfigs and one
 * DescribeIdentityProviderConfig per config), and answers from that snapshot offline: what
 * readResource (managed) or readDataSource (data) would return for each resource, and which live
 * objects of the same groups no resource names. Read failures are data (`error`), never absences.
 */
export type LiveResourceRequest = {
  address: string;
  typeName: string;
  mode: 'managed' | 'data';
  /** The evaluated configuration; UNKNOWN where it is not known yet. */
  config: ObjectValue;
  /** The resource's state, when there is a state file that has it. */
  priorState: ObjectValue | null;
  /** The schema version and private data state recorded with it (for providers that upgrade state, or keep private data). */
  priorSchemaVersion?: number;
  priorPrivate?: PrivateData;
};

export type LiveReadRequest = {
  resources: LiveResourceRequest[];
  concurrency: number;
  signal: AbortSignal;
  /** Read only groups (e.g. clusters) this accepts (drift `--shard`); all when absent. */
  include?: (group: string) => boolean;
  /** Called as each group is read. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called as each group has been read, with the snapshot, which then answers for the groups read so
   * far: a caller may judge those while the rest is still being read.
   */
  onGroupRead?: (group: string, snapshot: LiveSnapshot) => void;
};

export type LiveObject = {
  /** The group the object lives in (an EKS cluster's name); null when it cannot be told. */
  group: string | null;
  /** Its name within the group (a config's name; a cluster's own name). */
  name: string;
  /**
   * managed: the state readResource would return, from the prior state, or (without one) from the
   * live object and the configuration, as an import followed by a refresh; data: readDataSource's
   * state. null: the object does not exist.
   */
  state: ObjectValue | null;
  /** The lifecycle status the API reports (ACTIVE, CREATING, DELETING, FAILED...), or the group's when that one makes the object unusable. */
  liveStatus: string | null;
  /** It still reads, but is being removed or cannot be used (EKS: DELETING, or its cluster DELETING or FAILED): a drift check reports it missing. */
  defunct?: boolean;
  /** Why it is absent or unusable, in the provider's words, when that needs saying. */
  note?: string;
  /** Why it could not be read: no verdict is possible. */
  error?: string;
};

export type UnmanagedObject = {
  typeName: string;
  group: string;
  name: string;
  /** The id `import` takes for it. */
  importId: string;
  /** As an import would record it; null when it could not be read. */
  state: ObjectValue | null;
  liveStatus: string | null;
  error?: string;
};

export interface LiveSnapshot {
  /** The group a resource's object lives in, as its request names it (no read needed); null when that cannot be told. */
  groupOf(req: LiveResourceRequest): string | null;
  /** What was read for one resource (no call is made). */
  resource(req: LiveResourceRequest): LiveObject;
  /** Objects live in the groups read that none of `declared` (all of the provider's resources) names. */
  unmanaged(declared: readonly LiveResourceRequest[]): UnmanagedObject[];
}

export type ImportResourceStateRequest = { typeName: string; id: string; signal?: AbortSignal };
export type ImportResourceStateResponse = { state: ObjectValue | null; diagnostics: Diagnostic[]; private?: PrivateData };

export interface Provider {
  getSchema(): ProviderSchema;
  configure(req: ConfigureRequest): Promise<ConfigureResponse>;
  validateResourceConfig(req: ValidateResourceConfigRequest): ValidateResourceConfigResponse;
  validateConfiguration(req: ValidateConfigurationRequest): ValidateConfigurationResponse;
  readResource(req: ReadResourceRequest): Promise<ReadResourceResponse>;
  /** Optional: stored objects to the current schema (see UpgradeResourceStateRequest); without it, state is read as stored. */
  upgradeResourceState?(req: UpgradeResourceStateRequest): Promise<UpgradeResourceStateResponse>;
  readDataSource(req: ReadDataSourceRequest): Promise<ReadDataSourceResponse>;
  planResourceChange(req: PlanResourceChangeRequest): PlanResourceChangeResponse;
  applyResourceChange(req: ApplyResourceChangeRequest): Promise<ApplyResourceChangeResponse>;
  importResourceState(req: ImportResourceStateRequest): Promise<ImportResourceStateResponse>;
  /** Optional (beyond Terraform): bulk reads for drift checks (see LiveReadRequest). */
  readLive?(req: LiveReadRequest): Promise<LiveSnapshot>;
  /**
   * A key that serialises applies: the engine runs at most one apply at a time per key (one EKS
   * update per cluster) and different keys in parallel. undefined: no constraint.
   */
  concurrencyKey?(typeName: string, state: ObjectValue | null): string | undefined;
  close?(): Promise<void>;
}

/**
 * The one marker for a value unknown until apply, recognised by identity only: an object that merely
 * looks like it (a map in a configuration or in state) is data. Only the saved plan's reader and
 * writer convert it (to and from `{"__unknown__": true}`, engine/planfile.ts), and the JSON plan
 * shows it through `after_unknown`. Its own JSON image is that wire form too, so canonical hashes of
 * planned values (idempotency tokens) are stable.
 */
export const UNKNOWN = Object.freeze({ __unknown__: true }) as unknown as Value;
export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/**
 * What a provider may know about the configuration it serves when it is created: a provider that
 * routes types to plugins (providers/plugin) decides from it which plugin to find and start.
 */
export type ProviderContext = {
  /** Configuration key (`aws`, `aws.west`), source address and `required_providers` version constraint. */
  key: string;
  source: string;
  version?: string;
  /** The stack's folder (where `terraform init` installs plugins) and name. */
  stackDir: string;
  stackName: string;
  /** Types this configuration serves, in the configuration and in state. */
  managedTypes: string[];
  dataTypes: string[];
  /** The addresses of each type's resources in the configuration (`managed:TYPE` / `data:TYPE`), for errors that concern a type. */
  addresses?: ReadonlyMap<string, readonly string[]>;
  env: NodeJS.ProcessEnv;
  /** Warnings the provider finds while being set up (shown with the configuration's warnings). */
  warn: (message: string) => void;
};

export type ProviderFactory = (ctx?: ProviderContext) => Provider;
