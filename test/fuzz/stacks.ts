import fc from 'fast-check';

/**
 * Generators for the differential fuzz against Terraform (test/fuzz-terraform.test.ts, bench/fuzz.ts):
 * a random stack within the language eksidp supports, as plain data (so fast-check can shrink it and a
 * failing case can be kept as a literal regression case), its Terraform JSON, and random out-of-band
 * changes. A stack's resources, variables and outputs can carry a namespace (`s3_`) so that several
 * scenarios share one configuration (bench/fuzz.ts --batch) and every address and output name says
 * which scenario it belongs to.
 */

/** How an attribute's value is written: a literal, or through a function / variable / reference. */
export type Form = 'literal' | 'function' | 'variable' | 'reference';

export type ConfigGen = {
  name: string;
  /** Distinct per cluster (EKS refuses two configs with one issuer). */
  issuer: string;
  clientId: string;
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  requiredClaims?: Record<string, string>;
  tags?: Record<string, string>;
  /** How client_id, the tags and the prefixes are written. */
  form: Form;
};

/**
 * count or for_each on a cluster (resource or data source) and on its configs, as cdktf's
 * TerraformIterator writes them. `count`: `keys.length` instances; `map`: for_each over a map of
 * versions; `set`: over `toset([...])`; `objects`: over a map of objects (`each.value.version`).
 * Configs: `same` repeats the cluster's count / for_each and picks its instance
 * (`aws_eks_cluster.c0[count.index]`, `[each.key]`); `by-resource` iterates over the cluster resource
 * itself (`for_each = aws_eks_cluster.c0`, `each.value.name`; for count, which is a tuple and cannot be
 * a for_each, the config names carry `count.index`).
 */
export type IterGen = { kind: 'count' | 'map' | 'set' | 'objects'; keys: string[]; configs: 'same' | 'by-resource'; countVia: 'literal' | 'variable' };

export type ClusterGen = {
  /** Adopted: created before the stack, read through the aws_eks_cluster data source. */
  adopted: boolean;
  /** 1.31 allows one identity provider config, 1.32 up to ten (the emulator's limits, as EKS's). */
  version: '1.31' | '1.32';
  tags?: Record<string, string>;
  configs: ConfigGen[];
  iter?: IterGen;
};

export type OutputGen = {
  kind: 'cluster_name' | 'config_id' | 'claims' | 'tags' | 'summary' | 'upper' | 'variable' | 'tolist' | 'join' | 'merge' | 'names' | 'arns' | 'config_ids' | 'count';
  of: number; sensitive: boolean;
};

/** `cluster` and `config` pick an instance (modulo the stack's instances, see `instances`) and a config of it. */
export type OobGen =
  | { kind: 'tag-cluster'; cluster: number; set: Record<string, string>; remove: boolean }
  | { kind: 'tag-config'; cluster: number; config: number; set: Record<string, string>; remove: boolean }
  | { kind: 'disassociate'; cluster: number; config: number }
  | { kind: 'rogue'; cluster: number; name: string }
  | { kind: 'delete-cluster'; cluster: number };

export type StackGen = {
  clusters: ClusterGen[];
  outputs: OutputGen[];
  /** var.team's value: undefined keeps the default; `var` passes `--var` (eksidp) / `-var` (Terraform), `env` TF_VAR_team. */
  team: { value?: string; via: 'var' | 'env' };
  oob: OobGen[];
};

const word = fc.constantFrom('a', 'b', 'team', 'env', 'owner', 'cost-center', 'x1', 'Prod', 'tier');
const value = fc.constantFrom('x', 'y', 'platform', 'identity', 'dev', 'Prod', '1', 'a b', 'é');
const tags = fc.option(fc.dictionary(word, value, { minKeys: 0, maxKeys: 3 }), { nil: undefined });
const claim = fc.constantFrom('email', 'sub', 'preferred_username', 'upn');
const prefix = fc.constantFrom('okta:', 'oidc-', 'corp/', 'x', '-');
const claimKey = fc.constantFrom('aud', 'hd', 'iss', 'tenant', 'groups');

const configGen = fc.record({
  clientId: fc.constantFrom('kubernetes', 'eks', 'Kube-1', 'client.example'),
  usernameClaim: fc.option(claim, { nil: undefined }),
  usernamePrefix: fc.option(prefix, { nil: undefined }),
  groupsClaim: fc.option(fc.constantFrom('groups', 'roles', 'cognito:groups'), { nil: undefined }),
  groupsPrefix: fc.option(prefix, { nil: undefined }),
  requiredClaims: fc.option(fc.dictionary(claimKey, value, { minKeys: 0, maxKeys: 2 }), { nil: undefined }),
  tags,
  form: fc.constantFrom<Form>('literal', 'function', 'variable', 'reference'),
});

// Keys that are valid in a cluster name; 'Blue' sorts before 'a' in byte order (Terraform's instance order).
const iterGen = fc.option(fc.record({
  kind: fc.constantFrom<IterGen['kind']>('count', 'map', 'set', 'objects'),
  keys: fc.uniqueArray(fc.constantFrom('a', 'b', 'west', 'Blue', 'k_2'), { minLength: 1, maxLength: 3 }),
  configs: fc.constantFrom<IterGen['configs']>('same', 'by-resource'),
  countVia: fc.constantFrom<IterGen['countVia']>('literal', 'variable'),
}), { nil: undefined, freq: 2 });

const CONFIG_NAMES = ['okta', 'corp', 'dex'] as const;

const clusterGen = fc
  .record({ adopted: fc.boolean(), version: fc.constantFrom<'1.31' | '1.32'>('1.31', '1.32'), tags, configs: fc.array(configGen, { minLength: 0, maxLength: 3 }), iter: iterGen })
  .map((c): ClusterGen => {
    const { iter, ...rest } = c;
    return {
      ...rest,
      ...(iter ? { iter } : {}),
      // Two or more configs need Kubernetes 1.32 (EKS allows one before).
      version: c.configs.length > 1 ? '1.32' : c.version,
      // 0 to 3 configs, each its own name and issuer (EKS refuses two with one issuer on a cluster).
      configs: c.configs.map((x, i) => ({ ...x, name: CONFIG_NAMES[i]!, issuer: `https://${CONFIG_NAMES[i]!}.example.com` })),
    };
  });

const oobGen = fc.oneof(
  fc.record({ kind: fc.constant('tag-cluster' as const), cluster: fc.nat(7), set: fc.dictionary(word, value, { minKeys: 1, maxKeys: 2 }), remove: fc.boolean() }),
  fc.record({ kind: fc.constant('tag-config' as const), cluster: fc.nat(7), config: fc.nat(2), set: fc.dictionary(word, value, { minKeys: 1, maxKeys: 2 }), remove: fc.boolean() }),
  fc.record({ kind: fc.constant('disassociate' as const), cluster: fc.nat(7), config: fc.nat(2) }),
  fc.record({ kind: fc.constant('rogue' as const), cluster: fc.nat(7), name: fc.constantFrom('rogue', 'shadow') }),
  fc.record({ kind: fc.constant('delete-cluster' as const), cluster: fc.nat(7) }),
);

const outputGen = fc.record({
  kind: fc.constantFrom<OutputGen['kind']>('cluster_name', 'config_id', 'claims', 'tags', 'summary', 'upper', 'variable', 'tolist', 'join', 'merge', 'names', 'arns', 'config_ids', 'count'),
  of: fc.nat(7),
  sensitive: fc.boolean(),
});

export const stackGen: fc.Arbitrary<StackGen> = fc.record({
  clusters: fc.array(clusterGen, { minLength: 1, maxLength: 6 }),
  outputs: fc.array(outputGen, { minLength: 0, maxLength: 4 }),
  team: fc.record({ value: fc.option(fc.constantFrom('identity', 'Ops', 'sre-2'), { nil: undefined }), via: fc.constantFrom<'var' | 'env'>('var', 'env') }),
  oob: fc.array(oobGen, { minLength: 0, maxLength: 3 }),
});

/** Names in the emulator: each scenario has its own prefix, so scenarios share one emulator. */
export const clusterName = (prefix: string, i: number) => `${prefix}c${i}`;

/** One instance of a cluster (a cluster without count/for_each has one, with no key). */
export type Instance = {
  /** The cluster's index in `StackGen.clusters`. */
  i: number;
  cluster: ClusterGen;
  /** count.index or the for_each key; undefined without iteration. */
  key?: number | string;
  /** The cluster's name in the emulator. */
  name: string;
  version: '1.31' | '1.32';
  /** Its configs' names in the emulator, by template index. */
  configNames: string[];
};

/** Versions by instance: a map's or objects' keys after the first alternate versions when a 1.31 is allowed. */
const instanceVersion = (c: ClusterGen, n: number): '1.31' | '1.32' =>
  c.iter && (c.iter.kind === 'map' || c.iter.kind === 'objects') && c.configs.length <= 1 && n % 2 === 1 ? (c.version === '1.31' ? '1.32' : '1.31') : c.version;

export function instances(s: StackGen, prefix: string): Instance[] {
  return s.clusters.flatMap((c, i) => {
    if (!c.iter) return [{ i, cluster: c, name: clusterName(prefix, i), version: c.version, configNames: c.configs.map((x) => x.name) }];
    const it = c.iter;
    const keys: (number | string)[] = it.kind === 'count' ? it.keys.map((_, n) => n) : it.keys;
    return keys.map((key, n) => ({
      i, cluster: c, key, name: `${clusterName(prefix, i)}-${key}`, version: instanceVersion(c, n),
      configNames: c.configs.map((x) => (it.configs === 'by-resource' ? `${x.name}-${key}` : x.name)),
    }));
  });
}

/** Clusters the stack manages, by index (adopted ones are read only). */
export const managed = (s: StackGen) => s.clusters.map((c, i) => [c, i] as const).filter(([c]) => !c.adopted);

const indexExpr = (key: number | string | undefined) => (key === undefined ? '' : typeof key === 'number' ? `[${key}]` : `[${JSON.stringify(key)}]`);

/**
 * Terraform JSON for the stack. No `endpoints` block: both tools take AWS_ENDPOINT_URL_EKS. `ns`
 * prefixes every resource, data source, variable and output name (batches of scenarios in one
 * configuration: `mergeStacks`).
 */
export function stackJson(s: StackGen, prefix: string, ns = ''): Record<string, unknown> {
  const clusters: Record<string, unknown> = {};
  const adopted: Record<string, unknown> = {};
  const configs: Record<string, unknown> = {};
  const variable: Record<string, unknown> = {
    [`${ns}team`]: { type: 'string', default: 'platform' },
    [`${ns}common_tags`]: { type: 'map(string)', default: { managed_by: 'fuzz' } },
  };
  const clusterKey = (i: number) => `${ns}c${i}`;
  const configKey = (i: number, j: number) => `${ns}c${i}_${s.clusters[i]!.configs[j]!.name}`;
  const res = (i: number) => `${s.clusters[i]!.adopted ? 'data.' : ''}aws_eks_cluster.${clusterKey(i)}`;
  const clusterRef = (i: number, attr: string, key?: number | string) => `${res(i)}${indexExpr(key)}.${attr}`;
  const v = (name: string) => `var.${ns}${name}`;
  const all = instances(s, prefix);

  s.clusters.forEach((c, i) => {
    const base = clusterName(prefix, i);
    const it = c.iter;
    // The repetition argument of the cluster and, for `same`, of its configs.
    let repeat: Record<string, unknown> = {};
    if (it) {
      const own = all.filter((x) => x.i === i);
      if (it.kind === 'count') {
        if (it.countVia === 'variable') variable[`${ns}n_${i}`] = { type: 'number', default: it.keys.length };
        repeat = { count: it.countVia === 'variable' ? `\${${v(`n_${i}`)}}` : it.keys.length };
      } else if (it.kind === 'set') repeat = { for_each: `\${toset(${JSON.stringify(it.keys)})}` };
      else if (it.kind === 'map') repeat = { for_each: Object.fromEntries(own.map((x) => [x.key, c.adopted ? x.name : x.version])) };
      else repeat = { for_each: Object.fromEntries(own.map((x) => [x.key, { version: x.version, name: x.name, team: String(x.key).toUpperCase() }])) };
    }
    const keyExpr = it ? (it.kind === 'count' ? 'count.index' : 'each.key') : '';
    if (c.adopted) {
      const name = !it ? base
        : it.kind === 'map' ? '${each.value}'
          : it.kind === 'objects' ? '${each.value.name}'
            : `${base}-\${${keyExpr}}`;
      adopted[clusterKey(i)] = { ...repeat, name };
    } else {
      const name = it ? `${base}-\${${keyExpr}}` : i % 2 ? `\${lower("${base.toUpperCase()}")}` : base;
      const version = !it || it.kind === 'count' || it.kind === 'set' ? c.version : it.kind === 'map' ? '${each.value}' : '${each.value.version}';
      const t = c.tags ? { ...c.tags, ...(it ? { instance: `\${${keyExpr}}` } : {}), ...(it?.kind === 'objects' ? { team: '${each.value.team}' } : {}) } : undefined;
      clusters[clusterKey(i)] = {
        ...repeat,
        name,
        role_arn: 'arn:aws:iam::000000000000:role/eks',
        version,
        vpc_config: [{ subnet_ids: [`subnet-${i}b`, `subnet-${i}a`] }],
        ...(t ? { tags: t } : {}),
      };
    }
    c.configs.forEach((x, j) => {
      const f = x.form;
      // The config's own cluster, from inside the config resource.
      let self: (attr: string) => string = (attr) => clusterRef(i, attr);
      let cfgRepeat: Record<string, unknown> = {};
      let cfgName = x.name;
      if (it) {
        if (it.kind === 'count') {
          cfgRepeat = { count: repeat.count };
          self = (attr) => `${res(i)}[count.index].${attr}`;
          if (it.configs === 'by-resource') cfgName = `${x.name}-\${count.index}`;
        } else if (it.configs === 'same') {
          cfgRepeat = repeat;
          self = (attr) => `${res(i)}[each.key].${attr}`;
        } else {
          // cdktf's TerraformIterator.fromResources: for_each over the other resource's instances.
          cfgRepeat = { for_each: `\${${res(i)}}` };
          self = (attr) => `each.value.${attr}`;
          cfgName = `${x.name}-\${each.key}`;
        }
      }
      const str = (val: string) => (f === 'function' ? `\${trimspace(" ${val} ")}` : val);
      const oidc: Record<string, unknown> = {
        client_id: f === 'function' ? `\${lower("${x.clientId}")}` : f === 'variable' ? `\${${v(`client_id_${i}_${j}`)}}` : x.clientId,
        identity_provider_config_name: cfgName,
        issuer_url: f === 'function' ? `\${format("https://%s.example.com", "${x.name}")}` : x.issuer,
      };
      if (x.usernameClaim) oidc.username_claim = x.usernameClaim;
      if (x.usernamePrefix) oidc.username_prefix = str(x.usernamePrefix);
      if (x.groupsClaim) oidc.groups_claim = x.groupsClaim;
      if (x.groupsPrefix) oidc.groups_prefix = str(x.groupsPrefix);
      if (x.requiredClaims) oidc.required_claims = f === 'function' ? `\${merge(${JSON.stringify(x.requiredClaims).replace(/":/g, '"=')}, {})}` : x.requiredClaims;
      const cfg: Record<string, unknown> = { ...cfgRepeat, cluster_name: `\${${self('name')}}`, oidc: [oidc] };
      if (f === 'variable') cfg.tags = `\${merge(${v('common_tags')}, ${hclMap(x.tags ?? {})}, { team = ${v('team')} })}`;
      else if (f === 'reference') cfg.tags = { ...(x.tags ?? {}), cluster: `\${${self('name')}}`, version: `\${${self('version')}}`, ...(it ? { instance: `\${${keyExpr}}` } : {}) };
      else if (x.tags) cfg.tags = f === 'function' ? `\${tomap(${hclMap(x.tags)})}` : x.tags;
      configs[configKey(i, j)] = cfg;
    });
  });
  s.clusters.forEach((c, i) => c.configs.forEach((x, j) => {
    if (x.form === 'variable') variable[`${ns}client_id_${i}_${j}`] = { default: x.clientId };
  }));
  const output: Record<string, unknown> = {};
  s.outputs.forEach((o, n) => {
    const inst = all[o.of % all.length]!;
    const { i, key } = inst;
    const c = s.clusters[i]!;
    const it = c.iter;
    const j = c.configs.length ? o.of % c.configs.length : -1;
    const cfgRes = j >= 0 ? `aws_eks_identity_provider_config.${configKey(i, j)}` : undefined;
    const cfg = cfgRes ? `${cfgRes}${indexExpr(key)}` : undefined;
    const ref = (attr: string) => clusterRef(i, attr, key);
    // Over all instances of the cluster: a tuple (count), an object by key (for_each), one object (neither).
    const over = (r: string, attr: string) => (!it ? `[${r}.${attr}]` : it.kind === 'count' ? `${r}[*].${attr}` : `{ for k, x in ${r} : k => x.${attr} }`);
    let val: unknown;
    switch (o.kind) {
      case 'cluster_name': val = `\${${ref('name')}}`; break;
      case 'config_id': val = cfg ? `\${${cfg}.id}` : `\${${ref('arn')}}`; break;
      case 'claims': val = cfg ? `\${${cfg}.oidc[0].required_claims}` : `\${${ref('version')}}`; break;
      case 'tags': val = `\${${ref('tags')}}`; break;
      case 'summary': val = `cluster \${${ref('name')}} (\${${ref('version')}}) for \${${v('team')}}`; break;
      case 'upper': val = `\${upper(${ref('name')})}`; break;
      case 'variable': val = `\${${v('common_tags')}}`; break;
      case 'tolist': val = `\${tolist([${ref('name')}, ${v('team')}])}`; break;
      case 'join': val = `\${join(",", [${ref('name')}, ${v('team')}])}`; break;
      case 'merge': val = `\${merge(${v('common_tags')}, { cluster = ${ref('name')} })}`; break;
      case 'names': val = `\${${!it || it.kind === 'count' ? over(res(i), 'name') : `[for k, x in ${res(i)} : x.name]`}}`; break;
      case 'arns': val = `\${${over(res(i), 'arn')}}`; break;
      case 'config_ids': val = cfgRes ? `\${${over(cfgRes, 'id')}}` : `\${${over(res(i), 'id')}}`; break;
      case 'count': val = `\${${!it ? '1' : it.kind === 'count' ? `length(${res(i)})` : `length(keys(${res(i)}))`}}`; break;
    }
    output[`${ns}o${n}_${o.kind}`] = { value: val, ...(o.sensitive ? { sensitive: true } : {}) };
  });
  return {
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: [{ region: 'us-east-1', access_key: 'test', secret_key: 'test', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true }] },
    variable,
    ...(Object.keys(adopted).length ? { data: { aws_eks_cluster: adopted } } : {}),
    // Terraform refuses an empty `resource` object (eksidp too, since the fuzz found it accepting one).
    ...(Object.keys(clusters).length || Object.keys(configs).length ? {
      resource: {
        ...(Object.keys(clusters).length ? { aws_eks_cluster: clusters } : {}),
        ...(Object.keys(configs).length ? { aws_eks_identity_provider_config: configs } : {}),
      },
    } : {}),
    ...(Object.keys(output).length ? { output } : {}),
  };
}

/** One scenario of a batch: its stack, its emulator name prefix and its namespace (`s3_`). */
export type Item = { s: StackGen; prefix: string; ns: string };

/** Several scenarios' stacks as one configuration (namespaces keep their names apart). */
export function mergeStacks(items: Item[]): Record<string, unknown> {
  const out: Record<string, any> = {};
  for (const { s, prefix, ns } of items) {
    const one = stackJson(s, prefix, ns) as Record<string, any>;
    out.terraform = one.terraform;
    out.provider = one.provider;
    for (const block of ['variable', 'output'] as const) if (one[block]) out[block] = { ...out[block], ...one[block] };
    for (const block of ['data', 'resource'] as const) {
      for (const [type, byName] of Object.entries((one[block] ?? {}) as Record<string, object>)) {
        out[block] ??= {};
        out[block][type] = { ...out[block][type], ...byName };
      }
    }
  }
  return out;
}

/** Which item an address (`aws_eks_cluster.s3_c0["a"]`, `data.…`) or output name (`s3_o0_tags`) belongs to; -1 if none. */
export function ownerOf(items: Item[], addressOrOutput: string): number {
  if (items.length === 1 && items[0]!.ns === '') return 0;
  const m = /^(?:data\.)?(?:aws_[a-z_]+\.)?(s\d+_)/.exec(addressOrOutput);
  return m ? items.findIndex((x) => x.ns === m[1]) : -1;
}

function hclMap(m: Record<string, string>): string {
  return `{ ${Object.entries(m).map(([k, val]) => `${JSON.stringify(k)} = ${JSON.stringify(val)}`).join(', ')} }`;
}

/** Terraform's -parallelism=1 where a cluster has two or more configs: it does not retry EKS's 409. */
export const needsSerial = (s: StackGen) => s.clusters.some((c) => c.configs.length > 1);

/** var.team's value for both tools (`ns` as in stackJson). */
export const teamArgs = (s: StackGen, ns = ''): { eksidp: string[]; terraform: string[]; env: NodeJS.ProcessEnv } => {
  if (s.team.value === undefined) return { eksidp: [], terraform: [], env: {} };
  if (s.team.via === 'var') return { eksidp: ['--var', `${ns}team=${s.team.value}`], terraform: [`-var=${ns}team=${s.team.value}`], env: {} };
  return { eksidp: [], terraform: [], env: { [`TF_VAR_${ns}team`]: s.team.value } };
};
