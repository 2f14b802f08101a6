import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { awsStack, cli, clusterRes, emulator, limiter, oidcRes, totalCalls, type Json } from './fixtures/reliability/harness';
import { tempDir } from './helpers/project';
import { writeStack } from './helpers/stacks';

/**
 * Bad input through the real binary: each case must exit 1 with one clear message naming the
 * resource address and field, make no API call (the stack points at a live emulator whose call
 * counter must stay at 0) and write no state.
 */

const slot = limiter(4);

type Stack = { clusters?: Json; configs?: Json; extra?: Json };

function stack(url: string, s: Stack = {}): Json {
  const clusters = s.clusters ?? { main: clusterRes('rel-main') };
  const configs = s.configs ?? { okta: oidcRes('main', 'okta') };
  return awsStack(url, { aws_eks_cluster: clusters, aws_eks_identity_provider_config: configs }, {}, s.extra);
}

const cfg = (oidc: Json, extra: Json = {}) => ({ okta: oidcRes('main', 'okta', oidc, extra) });
const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

type Case = {
  name: string;
  /** The stack as JSON, or raw text (for malformed files); omitted = no stack file written. */
  stack?: (url: string) => Json | string;
  /** CLI arguments (default: apply --dir . --auto-approve). */
  args?: string[];
  /** The message: must name the address and the field. */
  want: RegExp;
};

const APPLY = ['apply', '--dir', '.', '--auto-approve'];

const cases: Case[] = [
  { name: 'malformed JSON', stack: (u) => JSON.stringify(stack(u)).slice(0, 120), want: /cdk\.tf\.json.*(JSON|Unexpected|Unterminated)/i },
  {
    name: 'duplicate address (the same JSON key twice)',
    // JSON.parse would keep the second silently; Terraform rejects it, and so must eksidp.
    stack: (u) => JSON.stringify(stack(u), null, 1).replace('"aws_eks_cluster": {', '"aws_eks_cluster": {\n "main": {"name": "shadowed"},'),
    want: /aws_eks_cluster\.main: duplicate resource address/,
  },
  { name: 'top level is not an object', stack: () => '[1, 2]', want: /cdk\.tf\.json.*object/i },
  { name: 'unknown resource type', stack: (u) => ({ ...stack(u), resource: { ...(stack(u).resource as Json), aws_eks_clusterz: { x: { name: 'x' } } } }), want: /aws_eks_clusterz\.x: provider "aws" has no resource type "aws_eks_clusterz"/ },
  { name: 'unknown attribute', stack: (u) => stack(u, { configs: cfg({}, { colour: 'blue' }) }), want: /aws_eks_identity_provider_config\.okta: colour: Unsupported argument/ },
  { name: 'unknown attribute inside oidc', stack: (u) => stack(u, { configs: cfg({ nonsense: 'x' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*nonsense/ },
  { name: 'missing cluster_name', stack: (u) => stack(u, { configs: { okta: { oidc: [{ identity_provider_config_name: 'okta', issuer_url: 'https://i.example.com', client_id: 'k' }] } } }), want: /aws_eks_identity_provider_config\.okta: cluster_name.*required/i },
  { name: 'missing issuer_url', stack: (u) => stack(u, { configs: { okta: { cluster_name: '${aws_eks_cluster.main.name}', oidc: [{ identity_provider_config_name: 'okta', client_id: 'k' }] } } }), want: /aws_eks_identity_provider_config\.okta: oidc.*issuer_url.*required/i },
  { name: 'missing oidc block', stack: (u) => stack(u, { configs: { okta: { cluster_name: '${aws_eks_cluster.main.name}' } } }), want: /aws_eks_identity_provider_config\.okta: oidc/ },
  { name: 'missing cluster role_arn', stack: (u) => stack(u, { clusters: { main: { name: 'rel-main', vpc_config: [{ subnet_ids: ['subnet-1'] }] } } }), want: /aws_eks_cluster\.main: role_arn.*required/i },
  { name: 'issuer over http', stack: (u) => stack(u, { configs: cfg({ issuer_url: 'http://sso.example.com' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*issuer_url.*https/ },
  { name: 'issuer with a query', stack: (u) => stack(u, { configs: cfg({ issuer_url: 'https://sso.example.com/?tenant=1' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*issuer_url.*query/ },
  { name: 'issuer with a fragment', stack: (u) => stack(u, { configs: cfg({ issuer_url: 'https://sso.example.com/#x' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*issuer_url.*fragment/ },
  { name: 'issuer with user info', stack: (u) => stack(u, { configs: cfg({ issuer_url: 'https://user:pw@sso.example.com' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*issuer_url.*user information/ },
  { name: 'issuer not a URL', stack: (u) => stack(u, { configs: cfg({ issuer_url: 'not a url' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*issuer_url/ },
  { name: 'empty client_id', stack: (u) => stack(u, { configs: cfg({ client_id: '' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*client_id/ },
  { name: 'username_prefix with system:', stack: (u) => stack(u, { configs: cfg({ username_prefix: 'system:' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*username_prefix.*system:/ },
  { name: 'groups_prefix with system:', stack: (u) => stack(u, { configs: cfg({ groups_prefix: 'corp-system:x' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*groups_prefix.*system:/ },
  { name: 'required claim key too long', stack: (u) => stack(u, { configs: cfg({ required_claims: { ['k'.repeat(64)]: 'v' } }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*required_claims.*1-63/ },
  { name: 'required claim value too long', stack: (u) => stack(u, { configs: cfg({ required_claims: { aud: 'v'.repeat(254) } }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*required_claims.*1-253/ },
  { name: 'required claim value empty', stack: (u) => stack(u, { configs: cfg({ required_claims: { aud: '' } }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*required_claims.*1-253/ },
  { name: '51 tags', stack: (u) => stack(u, { configs: cfg({}, { tags: tags(51) }) }), want: /aws_eks_identity_provider_config\.okta: tags.*at most 50/ },
  { name: 'tag key too long', stack: (u) => stack(u, { configs: cfg({}, { tags: { ['k'.repeat(129)]: 'v' } }) }), want: /aws_eks_identity_provider_config\.okta: tags.*1-128/ },
  { name: 'tag value too long', stack: (u) => stack(u, { configs: cfg({}, { tags: { k: 'v'.repeat(257) } }) }), want: /aws_eks_identity_provider_config\.okta: tags.*at most 256/ },
  { name: 'tag key aws:', stack: (u) => stack(u, { clusters: { main: { ...clusterRes('rel-main'), tags: { 'aws:x': 'v' } } } }), want: /aws_eks_cluster\.main: tags.*aws:/ },
  {
    name: 'two configs on a 1.31 cluster',
    stack: (u) => stack(u, { clusters: { main: clusterRes('rel-main', '1.31') }, configs: { okta: oidcRes('main', 'okta'), corp: oidcRes('main', 'corp') } }),
    want: /aws_eks_identity_provider_config\.\w+: cluster_name.*1\.31.*before 1\.32/,
  },
  {
    name: 'duplicate issuer on one cluster',
    stack: (u) => stack(u, { configs: { okta: oidcRes('main', 'okta'), corp: oidcRes('main', 'corp', { issuer_url: 'https://okta.example.com/' }) } }),
    want: /aws_eks_identity_provider_config\.\w+: oidc.*issuer_url.*already used/,
  },
  {
    name: 'duplicate config name on one cluster',
    stack: (u) => stack(u, { configs: { okta: oidcRes('main', 'okta'), corp: oidcRes('main', 'okta', { issuer_url: 'https://other.example.com' }) } }),
    want: /aws_eks_identity_provider_config\.\w+: oidc.*identity_provider_config_name.*already used/,
  },
  { name: 'config name with a colon', stack: (u) => stack(u, { configs: cfg({ identity_provider_config_name: 'a:b' }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*identity_provider_config_name.*":"/ },
  { name: 'reference to an unknown resource', stack: (u) => stack(u, { configs: { okta: { ...oidcRes('main', 'okta'), cluster_name: '${aws_eks_cluster.nope.name}' } } }), want: /aws_eks_identity_provider_config\.okta: cluster_name.*aws_eks_cluster\.nope/ },
  {
    name: 'reference cycle',
    stack: (u) => stack(u, { clusters: { main: { ...clusterRes('rel-main'), tags: { idp: '${aws_eks_identity_provider_config.okta.arn}' } } } }),
    want: /[Cc]ycle.*aws_eks_cluster\.main.*aws_eks_identity_provider_config\.okta|[Cc]ycle.*aws_eks_identity_provider_config\.okta.*aws_eks_cluster\.main/,
  },
  { name: 'duplicate address (block given twice)', stack: (u) => stack(u, { clusters: { main: [clusterRes('rel-main'), clusterRes('rel-main2')] } }), want: /aws_eks_cluster\.main: duplicate resource address/ },
  { name: 'a list for a map', stack: (u) => stack(u, { configs: cfg({}, { tags: ['a', 'b'] }) }), want: /aws_eks_identity_provider_config\.okta: tags.*map/i },
  { name: 'an object for a string', stack: (u) => stack(u, { configs: cfg({ client_id: { a: 1 } }) }), want: /aws_eks_identity_provider_config\.okta: oidc.*client_id.*string/i },
  { name: 'a bool for a list', stack: (u) => stack(u, { clusters: { main: { ...clusterRes('rel-main'), vpc_config: [{ subnet_ids: true }] } } }), want: /aws_eks_cluster\.main: vpc_config.*subnet_ids/ },
  { name: 'oversize cluster name', stack: (u) => stack(u, { clusters: { main: clusterRes('c'.repeat(101)) } }), want: /aws_eks_cluster\.main: name.*100/ },
  { name: 'cluster name with bad characters', stack: (u) => stack(u, { clusters: { main: clusterRes('bad name!') } }), want: /aws_eks_cluster\.main: name/ },
  { name: 'oversize issuer (combined size over 12 KB)', stack: (u) => stack(u, { configs: cfg({ issuer_url: `https://sso.example.com/${'p'.repeat(13_000)}` }) }), want: /aws_eks_identity_provider_config\.okta: (cluster_name|oidc).*(12 KB|characters|too long)/ },
  { name: 'cluster version not a version', stack: (u) => stack(u, { clusters: { main: clusterRes('rel-main', 'latest') } }), want: /aws_eks_cluster\.main: version.*must look like/ },
  { name: 'unknown CLI flag', stack: (u) => stack(u), args: ['apply', '--dir', '.', '--auto-approve', '--bogus'], want: /--bogus/ },
  { name: 'unknown command', stack: (u) => stack(u), args: ['frobnicate'], want: /frobnicate/ },
  { name: '--parallelism 0', stack: (u) => stack(u), args: ['apply', '--dir', '.', '--auto-approve', '--parallelism', '0'], want: /--parallelism/ },
  { name: '--shard 0/3 (drift)', stack: (u) => stack(u), args: ['drift', '--dir', '.', '--shard', '0/3'], want: /--shard 0\/3: i must be between 1 and 3/ },
  { name: '--shard 4/3 (drift)', stack: (u) => stack(u), args: ['drift', '--dir', '.', '--shard', '4/3'], want: /--shard 4\/3: i must be between 1 and 3/ },
  { name: '--shard nonsense (drift)', stack: (u) => stack(u), args: ['drift', '--dir', '.', '--shard', 'half'], want: /--shard must look like i\/n/ },
  { name: 'missing stack folder', args: ['apply', '--dir', 'nowhere', '--auto-approve'], want: /nowhere/ },
  { name: 'missing stack file', args: APPLY, want: /cdk\.tf\.json/ },
  { name: 'unknown --stack name', args: ['plan', '--stack', 'nope'], want: /nope|manifest/ },
];

for (const c of cases) {
  test(`bad input: ${c.name}`, (t) => slot(async () => {
    const em = await emulator(t);
    const dir = tempDir(t, 'eksidp-input-');
    if (c.stack) {
      const s = c.stack(em.url);
      if (typeof s === 'string') fs.writeFileSync(path.join(dir, 'cdk.tf.json'), s);
      else writeStack(dir, s);
    }
    const r = await cli(dir, c.args ?? APPLY);
    t.is(r.code, 1, `${r.stdout}\n${r.stderr}`);
    t.regex(r.stderr, c.want);
    t.is((r.stderr.match(/^Error:/gm) ?? []).length, r.stderr.includes('Error:') ? 1 : 0, `one message, got:\n${r.stderr}`);
    t.notRegex(r.stdout, /Apply complete|Creating/);
    t.is(totalCalls(em), 0, `API calls: ${JSON.stringify(em.calls())}`);
    t.false(fs.existsSync(path.join(dir, 'terraform.tfstate')), 'no state written');
    t.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'cdk.tf.json'), [], 'nothing else written');
  }));
}

test('a number for a string is converted as Terraform does: the apply succeeds', (t) => slot(async () => {
  const em = await emulator(t);
  const dir = tempDir(t, 'eksidp-input-');
  writeStack(dir, stack(em.url, { configs: cfg({ client_id: 12345 }, { tags: { build: 42 } }) }));
  const r = await cli(dir, APPLY);
  t.is(r.code, 0, r.stderr);
  const live = (em.snapshot() as { clusters: { configs: { clientId: string; tags: Record<string, string> }[] }[] }).clusters[0]!.configs[0]!;
  t.is(live.clientId, '12345');
  t.deepEqual(live.tags, { build: '42' });
  const plan = await cli(dir, ['plan', '--dir', '.', '--detailed-exitcode']);
  t.is(plan.code, 0, plan.stdout);
}));

test(`the bad-input table has at least 30 cases (${cases.length})`, (t) => {
  t.true(cases.length >= 30);
});

test('corrupt, truncated and newer-format state: a clear error, no API call, the file left byte for byte', (t) => slot(async () => {
  const em = await emulator(t);
  const dir = tempDir(t, 'eksidp-state-');
  writeStack(dir, stack(em.url));
  const good = JSON.stringify({ version: 4, terraform_version: '1.11.4', serial: 3, lineage: 'b5b8c3c0-0000-4000-8000-000000000000', outputs: {}, resources: [], check_results: null }, null, 2);
  const variants: [string, string, RegExp][] = [
    ['truncated', good.slice(0, good.length / 2), /state file .*terraform\.tfstate is corrupt .*nothing was changed.*\.backup/],
    ['garbage', '\u0000\u0001not json', /state file .*terraform\.tfstate is corrupt/],
    ['not a state', '{"hello": "world"}', /not a Terraform state/],
    ['newer format', good.replace('"version": 4', '"version": 5'), /format version 5, newer than this eksidp supports \(4\); nothing was changed/],
  ];
  for (const [what, text, want] of variants) {
    for (const args of [['plan', '--dir', '.'], APPLY, ['destroy', '--dir', '.', '--auto-approve'], ['state', 'list', '--dir', '.']]) {
      fs.writeFileSync(path.join(dir, 'terraform.tfstate'), text);
      const r = await cli(dir, args);
      t.is(r.code, 1, `${what} / ${args[0]}: ${r.stderr}`);
      t.regex(r.stderr, want, `${what} / ${args[0]}`);
      t.is(fs.readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8'), text, `${what} / ${args[0]}: state untouched`);
      t.false(fs.existsSync(path.join(dir, 'terraform.tfstate.backup')));
      t.false(fs.existsSync(path.join(dir, '.terraform.tfstate.lock.info')), 'lock released');
    }
  }
  t.is(totalCalls(em), 0);
}));

test('a plan file from another stack is refused and nothing is applied', (t) => slot(async () => {
  const em = await emulator(t);
  const a = tempDir(t, 'eksidp-plan-a-');
  const b = tempDir(t, 'eksidp-plan-b-');
  writeStack(a, stack(em.url));
  writeStack(b, stack(em.url, { clusters: { main: clusterRes('rel-other') } }));
  const p = await cli(a, ['plan', '--dir', '.', '--out', 'a.plan']);
  t.is(p.code, 0, p.stderr);
  const before = fs.readFileSync(path.join(a, 'a.plan'));
  const r = await cli(b, ['apply', path.join(a, 'a.plan'), '--dir', '.']);
  t.is(r.code, 1, r.stderr);
  t.true(r.stderr.includes(`the saved plan is for stack '${path.basename(a)}', not '${path.basename(b)}'`), r.stderr);
  t.deepEqual(fs.readFileSync(path.join(a, 'a.plan')), before);
  t.false(fs.existsSync(path.join(b, 'terraform.tfstate')));
  t.is(totalCalls(em), 0);
}));
