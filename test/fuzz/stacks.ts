import fc from 'fast-check';

/**
 * Generators for the differential fuzz against Terraform (test/fuzz-terraform.test.ts, bench/fuzz.ts):
 * a random stack within the language eksidp supports, as plain data (so fast-check can shrink it and a
 * failing case can be kept as a literal regression case), its Terraform JSON, and random out-of-band
 * changes. Iteration (count/for_each) is one more generator to switch on when it lands (`ITERATION`).
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

export type ClusterGen = {
  /** Adopted: created before the stack, read through the aws_eks_cluster data source. */
  adopted: boolean;
  /** 1.31 allows one identity provider config, 1.32 up to ten (the emulator's limits, as EKS's). */
  version: '1.31' | '1.32';
  tags?: Record<string, string>;
  configs: ConfigGen[];
};

export type OutputGen = { kind: 'cluster_name' | 'config_id' | 'claims' | 'tags' | 'summary' | 'upper' | 'variable' | 'tolist' | 'join' | 'merge'; of: number; sensitive: boolean };

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

/** Switched on once count/for_each land on main (lang-iter). */
export const ITERATION = false;

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

const clusterGen = fc
  .record({ adopted: fc.boolean(), version: fc.constantFrom<'1.31' | '1.32'>('1.31', '1.32'), tags, configs: fc.array(configGen, { minLength: 0, maxLength: 2 }) })
  .map((c): ClusterGen => ({
    ...c,
    // Two configs need Kubernetes 1.32 (EKS allows one before).
    version: c.configs.length > 1 ? '1.32' : c.version,
    configs: c.configs.map((x, i) => ({ ...x, name: i === 0 ? 'okta' : 'corp', issuer: `https://${i === 0 ? 'okta' : 'corp'}.example.com` })),
  }));

const oobGen = fc.oneof(
  fc.record({ kind: fc.constant('tag-cluster' as const), cluster: fc.nat(5), set: fc.dictionary(word, value, { minKeys: 1, maxKeys: 2 }), remove: fc.boolean() }),
  fc.record({ kind: fc.constant('tag-config' as const), cluster: fc.nat(5), config: fc.nat(1), set: fc.dictionary(word, value, { minKeys: 1, maxKeys: 2 }), remove: fc.boolean() }),
  fc.record({ kind: fc.constant('disassociate' as const), cluster: fc.nat(5), config: fc.nat(1) }),
  fc.record({ kind: fc.constant('rogue' as const), cluster: fc.nat(5), name: fc.constantFrom('rogue', 'shadow') }),
  fc.record({ kind: fc.constant('delete-cluster' as const), cluster: fc.nat(5) }),
);

const outputGen = fc.record({
  kind: fc.constantFrom<OutputGen['kind']>('cluster_name', 'config_id', 'claims', 'tags', 'summary', 'upper', 'variable', 'tolist', 'join', 'merge'),
  of: fc.nat(5),
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
const clusterKey = (i: number) => `c${i}`;
const configKey = (i: number, j: number) => `c${i}_${j === 0 ? 'okta' : 'corp'}`;
const clusterRef = (s: StackGen, i: number, attr: string) => `${s.clusters[i]!.adopted ? 'data.' : ''}aws_eks_cluster.${clusterKey(i)}.${attr}`;

/** Clusters the stack manages, by index (adopted ones are read only). */
export const managed = (s: StackGen) => s.clusters.map((c, i) => [c, i] as const).filter(([c]) => !c.adopted);

/** Terraform JSON for the stack. No `endpoints` block: both tools take AWS_ENDPOINT_URL_EKS. */
export function stackJson(s: StackGen, prefix: string): Record<string, unknown> {
  const clusters: Record<string, unknown> = {};
  const adopted: Record<string, unknown> = {};
  const configs: Record<string, unknown> = {};
  s.clusters.forEach((c, i) => {
    const name = clusterName(prefix, i);
    if (c.adopted) adopted[clusterKey(i)] = { name };
    else {
      clusters[clusterKey(i)] = {
        name: i % 2 ? `\${lower("${name.toUpperCase()}")}` : name,
        role_arn: 'arn:aws:iam::000000000000:role/eks',
        version: c.version,
        vpc_config: [{ subnet_ids: [`subnet-${i}b`, `subnet-${i}a`] }],
        ...(c.tags ? { tags: c.tags } : {}),
      };
    }
    c.configs.forEach((x, j) => {
      const f = x.form;
      const str = (v: string) => (f === 'function' ? `\${trimspace(" ${v} ")}` : v);
      const oidc: Record<string, unknown> = {
        client_id: f === 'function' ? `\${lower("${x.clientId}")}` : f === 'variable' ? `\${var.client_id_${i}_${j}}` : x.clientId,
        identity_provider_config_name: x.name,
        issuer_url: f === 'function' ? `\${format("https://%s.example.com", "${x.name}")}` : x.issuer,
      };
      if (x.usernameClaim) oidc.username_claim = x.usernameClaim;
      if (x.usernamePrefix) oidc.username_prefix = str(x.usernamePrefix);
      if (x.groupsClaim) oidc.groups_claim = x.groupsClaim;
      if (x.groupsPrefix) oidc.groups_prefix = str(x.groupsPrefix);
      if (x.requiredClaims) oidc.required_claims = f === 'function' ? `\${merge(${JSON.stringify(x.requiredClaims).replace(/":/g, '"=')}, {})}` : x.requiredClaims;
      const cfg: Record<string, unknown> = { cluster_name: `\${${clusterRef(s, i, 'name')}}`, oidc: [oidc] };
      if (f === 'variable') cfg.tags = `\${merge(var.common_tags, ${hclMap(x.tags ?? {})}, { team = var.team })}`;
      else if (f === 'reference') cfg.tags = { ...(x.tags ?? {}), cluster: `\${${clusterRef(s, i, 'name')}}`, version: `\${${clusterRef(s, i, 'version')}}` };
      else if (x.tags) cfg.tags = f === 'function' ? `\${tomap(${hclMap(x.tags)})}` : x.tags;
      configs[configKey(i, j)] = cfg;
    });
  });
  const variable: Record<string, unknown> = {
    team: { type: 'string', default: 'platform' },
    common_tags: { type: 'map(string)', default: { managed_by: 'fuzz' } },
  };
  s.clusters.forEach((c, i) => c.configs.forEach((x, j) => {
    if (x.form === 'variable') variable[`client_id_${i}_${j}`] = { default: x.clientId };
  }));
  const output: Record<string, unknown> = {};
  s.outputs.forEach((o, n) => {
    const i = o.of % s.clusters.length;
    const c = s.clusters[i]!;
    const j = c.configs.length ? o.of % c.configs.length : -1;
    const cfg = j >= 0 ? `aws_eks_identity_provider_config.${configKey(i, j)}` : undefined;
    let v: unknown;
    switch (o.kind) {
      case 'cluster_name': v = `\${${clusterRef(s, i, 'name')}}`; break;
      case 'config_id': v = cfg ? `\${${cfg}.id}` : `\${${clusterRef(s, i, 'arn')}}`; break;
      case 'claims': v = cfg ? `\${${cfg}.oidc[0].required_claims}` : `\${${clusterRef(s, i, 'version')}}`; break;
      case 'tags': v = `\${${clusterRef(s, i, 'tags')}}`; break;
      case 'summary': v = `cluster \${${clusterRef(s, i, 'name')}} (\${${clusterRef(s, i, 'version')}}) for \${var.team}`; break;
      case 'upper': v = `\${upper(${clusterRef(s, i, 'name')})}`; break;
      case 'variable': v = '${var.common_tags}'; break;
      case 'tolist': v = `\${tolist([${clusterRef(s, i, 'name')}, var.team])}`; break;
      case 'join': v = `\${join(",", [${clusterRef(s, i, 'name')}, var.team])}`; break;
      case 'merge': v = `\${merge(var.common_tags, { cluster = ${clusterRef(s, i, 'name')} })}`; break;
    }
    output[`o${n}_${o.kind}`] = { value: v, ...(o.sensitive ? { sensitive: true } : {}) };
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

function hclMap(m: Record<string, string>): string {
  return `{ ${Object.entries(m).map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`).join(', ')} }`;
}

/** Terraform's -parallelism=1 where a cluster has two or more configs: it does not retry EKS's 409. */
export const needsSerial = (s: StackGen) => s.clusters.some((c) => c.configs.length > 1);

/** Whether any config of the stack is written through `var.team` (so its value matters to the plan). */
export const teamArgs = (s: StackGen): { eksidp: string[]; terraform: string[]; env: NodeJS.ProcessEnv } => {
  if (s.team.value === undefined) return { eksidp: [], terraform: [], env: {} };
  if (s.team.via === 'var') return { eksidp: ['--var', `team=${s.team.value}`], terraform: [`-var=team=${s.team.value}`], env: {} };
  return { eksidp: [], terraform: [], env: { TF_VAR_team: s.team.value } };
};
