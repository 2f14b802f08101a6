import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parseCommandArgs } from '../cli/args';
import type { Command } from '../cli/command';
import { synth } from '../main';
import { environments } from '../stacks/environments';
import type { EnvironmentSpec } from '../stacks/types';
import { captureIo } from './helpers/in-process';

/**
 * RBAC consistency at synth time: bindings whose subjects no config of the cluster can produce are
 * cdktf warning annotations (synth still succeeds); a subject another config produces is fine, in
 * synth and in `eksidp whoami` alike.
 */

type Manifest = { stacks: Record<string, { annotations: Array<{ constructPath: string; level: string; message: string }> }> };

function synthTo(t: { teardown(fn: () => void): void }, envs: EnvironmentSpec[]): { outdir: string; manifest: Manifest } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-identity-synth-'));
  t.teardown(() => fs.rmSync(outdir, { recursive: true, force: true }));
  synth({ outdir, envs });
  return { outdir, manifest: JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as Manifest };
}

const warnings = (m: Manifest, stack: string) => m.stacks[stack]!.annotations.filter((a) => a.level === '@cdktf/warn').map((a) => a.message);

function env(rbacGroups: string[], sampleClaims: Record<string, unknown> = { sub: 'alice', email: 'alice@example.com', email_verified: true }): EnvironmentSpec {
  return {
    name: 'wrong', region: 'us-east-1', endpoint: 'http://127.0.0.1:1',
    clusters: [{
      name: 'c1', version: '1.32', roleArn: 'arn:aws:iam::000000000000:role/eks', subnetIds: ['subnet-1'],
      identityProviders: [
        { name: 'okta', issuerUrl: 'https://okta.example.com', clientId: 'k8s', usernameClaim: 'email', usernamePrefix: 'okta:', groupsClaim: 'groups', groupsPrefix: 'okta:', requiredClaims: { hd: 'example.com' }, sampleIdentities: [{ name: 'alice', claims: sampleClaims }] },
        { name: 'dex', issuerUrl: 'https://dex.example.com', clientId: 'k8s', usernamePrefix: 'dex:', groupsClaim: 'groups', groupsPrefix: 'dex:' },
      ],
      rbacBindings: [{ role: 'edit', kind: 'ClusterRole', groups: rbacGroups, users: ['system:admin'] }],
    }],
  };
}

test('a binding with a prefix no config of the cluster uses is a synth warning; synth still writes the stack', (t) => {
  const { outdir, manifest } = synthTo(t, [env(['okta:eng', 'dex:eng', 'oidc:eng'])]);
  t.true(fs.existsSync(path.join(outdir, 'stacks', 'wrong', 'cdk.tf.json')));
  t.deepEqual(warnings(manifest, 'wrong').filter((w) => w.startsWith('cluster ')), [
    'cluster c1: ClusterRole/edit: group oidc:eng matches no identity provider config of the cluster (groups prefixes: "okta:" (okta), "dex:" (dex)), so no token maps to it',
  ]);
  t.true(manifest.stacks.wrong!.annotations.some((a) => a.constructPath.endsWith('/c1') && a.message.includes('oidc:eng')));
});

test('subjects every config can produce raise no warning; a sample identity its config rejects does', (t) => {
  const clean = synthTo(t, [env(['okta:eng', 'dex:eng'], { sub: 'alice', email: 'alice@example.com', email_verified: true, hd: 'example.com' })]);
  t.deepEqual(warnings(clean.manifest, 'wrong'), []);
  const rejected = synthTo(t, [env(['okta:eng'])]);
  t.deepEqual(warnings(rejected.manifest, 'wrong'), ['config okta: sample identity alice is rejected (required claim hd=example.com missing)']);
});

test('the project\'s local stack has no binding warning, and whoami does not flag dex:eng against the okta config', async (t) => {
  const { outdir, manifest } = synthTo(t, environments({ EKSIDP_LOCAL_ENDPOINT: 'http://127.0.0.1:1' }));
  t.deepEqual(warnings(manifest, 'local'), []);
  const whoami = (require('../cli/commands/whoami') as { command: Command }).command;
  const i = captureIo(outdir);
  t.is(await whoami.run(parseCommandArgs(whoami.spec, ['--dir', path.join('stacks', 'local'), '--config', 'dev_okta', '--json']), i), 0, i.err());
  const out = JSON.parse(i.out()) as { binding_findings: unknown[]; identities: Array<{ name: string; roles: Array<{ binding: string }> }> };
  t.deepEqual(out.binding_findings, []);
  t.deepEqual(out.identities.find((x) => x.name === 'dev-dana')!.roles.map((r) => r.binding), ['ClusterRole/edit']);
});

test('checkBindings leaves a subject another config of the cluster produces to that config, and still flags the rest', (t) => {
  const { checkBindings } = require('../identity') as typeof import('../identity');
  const okta = { issuerUrl: 'https://okta', clientId: 'k', groupsClaim: 'groups', groupsPrefix: 'okta:', usernamePrefix: 'okta:' };
  const dex = { issuerUrl: 'https://dex', clientId: 'k', groupsClaim: 'groups', groupsPrefix: 'dex:', usernamePrefix: 'dex:' };
  const bindings = [{ role: 'edit', groups: ['okta:eng', 'dex:eng', 'ldap:eng'], users: ['dex:root', 'root'] }];
  t.deepEqual(checkBindings(okta, bindings, [], undefined, [dex]).map((f) => f.subject), ['root', 'ldap:eng']);
  t.deepEqual(checkBindings(okta, bindings).map((f) => f.subject), ['dex:root', 'root', 'dex:eng', 'ldap:eng']);
});
