import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { decode } from '@msgpack/msgpack';
import type { BlockSchema } from '../engine/protocol';
import { UNKNOWN } from '../engine/protocol';
import { fromMsgpack, toMsgpack } from '../providers/plugin/cty';
import { findPlugin, packageHash, PluginNotFound, readLockFile, satisfies } from '../providers/plugin/find';
import { startedPids } from '../providers/plugin/bridge';
import { PluginProvider } from '../providers/plugin/provider';
import { routeOf } from '../providers/plugin/routing';

/**
 * The plugin adapter's parts that need no real plugin: the cty msgpack wire format, version
 * constraints, finding a binary as Terraform does (mirror layouts, lock file, hash), and fake
 * plugins that fail the handshake or speak only protocol 6.
 */

const block: BlockSchema = {
  attributes: {
    name: { type: 'string', required: true },
    size: { type: 'number', optional: true },
    tags: { type: ['map', 'string'], optional: true },
    ids: { type: ['set', 'string'], optional: true },
    anything: { type: 'dynamic', optional: true },
    obj: { type: ['object', { a: 'string', b: 'bool' }], optional: true },
    arn: { type: 'string', computed: true },
  },
  block_types: {
    one: { nesting_mode: 'single', block: { attributes: { x: { type: 'string', optional: true } } } },
    many: { nesting_mode: 'list', block: { attributes: { x: { type: 'string', optional: true } } } },
    keyed: { nesting_mode: 'map', block: { attributes: { x: { type: 'string', optional: true } } } },
  },
};

test('cty msgpack: complete objects, unknowns, dynamic values, nesting modes, and back', (t) => {
  const value = { name: 'n', size: 1.5, tags: { k: 'v' }, ids: ['b', 'a'], anything: { list: [1, 'x'] }, obj: { a: 'q' }, arn: UNKNOWN, one: null, many: [{ x: 'y' }] };
  const bytes = toMsgpack(block, value);
  const raw = decode(bytes) as Record<string, unknown>;
  // Every attribute and block is present; unset ones are nil, absent list/map blocks empty.
  t.deepEqual(Object.keys(raw).sort(), ['anything', 'arn', 'ids', 'keyed', 'many', 'name', 'obj', 'one', 'size', 'tags']);
  t.is(raw.one, null);
  t.deepEqual(raw.keyed, {});
  t.deepEqual(raw.obj, { a: 'q', b: null });
  // Unknown is extension 0 (fixext1: d4 00 00).
  t.true(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x00, 0x00])));
  // A dynamic value carries its type as JSON bytes.
  const dyn = raw.anything as [Uint8Array, unknown];
  t.deepEqual(JSON.parse(Buffer.from(dyn[0]).toString()), ['object', { list: ['tuple', ['number', 'string']] }]);
  const back = fromMsgpack(block, bytes)!;
  t.is(back.arn, UNKNOWN);
  t.deepEqual({ ...back, arn: null }, { ...value, arn: null, obj: { a: 'q', b: null }, keyed: {} });
  // A top-level null is msgpack nil.
  t.deepEqual([...toMsgpack(block, null)], [0xc0]);
  t.is(fromMsgpack(block, Uint8Array.from([0xc0])), null);
});

test('cty msgpack: a refined unknown (extension 12) and a number beyond a double decode', (t) => {
  // {"arn": <ext 12 with a map payload>, "size": "123456789012345678901234567890"}
  const enc = Buffer.concat([
    Buffer.from([0x82, 0xa3]), Buffer.from('arn'), Buffer.from([0xc7, 0x01, 0x0c, 0x80]),
    Buffer.from([0xa4]), Buffer.from('size'), Buffer.from([0xbe]), Buffer.from('123456789012345678901234567890'),
  ]);
  const v = fromMsgpack({ attributes: { arn: { type: 'string', computed: true }, size: { type: 'number', optional: true } } }, enc)!;
  t.is(v.arn, UNKNOWN);
  t.is(v.size, 1.2345678901234568e29);
});

test('version constraints as Terraform reads them', (t) => {
  t.true(satisfies('5.100.0', '5.100.0'));
  t.true(satisfies('5.100.0', '~> 5.0'));
  t.false(satisfies('6.0.0', '~> 5.0'));
  t.true(satisfies('5.100.3', '~> 5.100.0'));
  t.false(satisfies('5.101.0', '~> 5.100.0'));
  t.true(satisfies('5.100.0', '>= 5.0, < 6.0'));
  t.false(satisfies('5.100.0', '>= 5.0, != 5.100.0'));
  t.false(satisfies('6.0.0-beta1', '>= 5.0'));
  t.true(satisfies('6.0.0-beta1', '6.0.0-beta1'));
  t.throws(() => satisfies('5.0.0', 'latest'), { message: /cannot read the version constraint "latest"/ });
});

/** A fake mirror with one "provider" binary: a script. */
function fakeMirror(t: { teardown(fn: () => void): void }, script: string, version = '1.0.0'): { root: string; rc: string; stack: string; env: NodeJS.ProcessEnv } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-plugin-wire-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const dir = path.join(root, 'mirror', 'registry.terraform.io', 'example', 'fake', version, platform);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `terraform-provider-fake_v${version}`), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  const rc = path.join(root, 'terraform.rc');
  fs.writeFileSync(rc, `provider_installation {\n  filesystem_mirror {\n    path = "${path.join(root, 'mirror')}"\n  }\n}\n`);
  const stack = path.join(root, 'stack');
  fs.mkdirSync(stack);
  return { root, rc, stack, env: { ...process.env, TF_CLI_CONFIG_FILE: rc, EKSIDP_CACHE_DIR: path.join(root, 'cache') } };
}

test('finding a plugin: mirror, constraint, lock file version and hash', (t) => {
  const m = fakeMirror(t, 'exit 1');
  const req = { source: 'registry.terraform.io/example/fake', stackDir: m.stack, stackName: 'fake', env: m.env };
  const found = findPlugin({ ...req, constraint: '~> 1.0' });
  t.is(found.version, '1.0.0');
  t.regex(found.warnings[0]!, /no \.terraform\.lock\.hcl .* without a checksum check/);
  const err = t.throws(() => findPlugin({ ...req, constraint: '>= 2.0' }), { instanceOf: PluginNotFound });
  t.regex(err!.message, /registry\.terraform\.io\/example\/fake is not installed \(a version matching ">= 2\.0"; found only 1\.0\.0\): run `terraform init` in .*cdktf\.out\/stacks\/fake/);
  // The lock file's hash is Terraform's h1: (Go's dirhash) of the package folder.
  const h1 = packageHash(path.dirname(found.binary), m.env);
  fs.writeFileSync(path.join(m.stack, '.terraform.lock.hcl'), `provider "registry.terraform.io/example/fake" {\n  version = "1.0.0"\n  hashes = [\n    "${h1}",\n  ]\n}\n`);
  t.deepEqual(readLockFile(m.stack, { host: 'registry.terraform.io', namespace: 'example', type: 'fake' }), { version: '1.0.0', hashes: [h1] });
  t.true(findPlugin(req).lockChecked);
  fs.appendFileSync(found.binary, '# tampered\n');
  t.throws(() => findPlugin(req), { message: /does not match the checksums in .*\.terraform\.lock\.hcl/ });
});

test('h1: package hash agrees with the one terraform init recorded for hashicorp/aws', (t) => {
  // The lock file terraform 1.11 wrote for the machine's mirror of hashicorp/aws 5.100.0 (linux_amd64).
  const dir = ['/opt/tf-plugins', process.env.EKSIDP_TF_MIRROR].filter(Boolean).map((r) => path.join(r!, 'registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64')).find((d) => fs.existsSync(d));
  if (!dir) {
    t.pass('no mirror of hashicorp/aws here (covered by the interop tests)');
    return;
  }
  t.is(packageHash(dir, { ...process.env, EKSIDP_CACHE_DIR: path.join(os.tmpdir(), 'eksidp-test-hash-cache') }), 'h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=');
});

function fakeProvider(m: ReturnType<typeof fakeMirror>): PluginProvider {
  return new PluginProvider({
    source: 'registry.terraform.io/example/fake', env: m.env,
    find: () => findPlugin({ source: 'registry.terraform.io/example/fake', stackDir: m.stack, stackName: 'fake', env: m.env }),
  });
}

test('a plugin that fails the handshake, or speaks only protocol 6, is a clear error and is not left running', async (t) => {
  const garbage = fakeMirror(t, 'echo "this is not a plugin" >&2; exit 3');
  const p1 = fakeProvider(garbage);
  const e1 = t.throws(() => p1.schema());
  t.regex(e1!.message, /provider registry\.terraform\.io\/example\/fake \(plugin .*terraform-provider-fake_v1\.0\.0\) failed to start: the plugin exited \(code 3\) before its handshake: this is not a plugin\. Reinstall it with `terraform init`/);
  const v6 = fakeMirror(t, 'echo "1|6|unix|/tmp/nowhere|grpc|"; exec sleep 30');
  const before = startedPids.length;
  const p2 = fakeProvider(v6);
  const e2 = t.throws(() => p2.schema());
  t.regex(e2!.message, /speaks plugin protocol 6; eksidp speaks protocol 5 only/);
  t.is(startedPids.length, before, 'a plugin refused at the handshake is killed before it counts as started');
  await Promise.all([p1.close(), p2.close()]);
});

test('routing: native where implemented, EKSIDP_PLUGIN_TYPES and EKSIDP_NATIVE_PROVIDERS=0 send types to the plugin', (t) => {
  const native = { provider: {} as never, types: { managed: ['aws_eks_cluster', 'aws_eks_identity_provider_config'], data: ['aws_eks_cluster'] } };
  t.is(routeOf('aws_eks_cluster', 'managed', native, {}), 'native');
  t.is(routeOf('aws_eks_cluster_auth', 'data', native, {}), 'plugin');
  t.is(routeOf('aws_iam_role', 'managed', native, {}), 'plugin');
  t.is(routeOf('aws_eks_cluster', 'managed', native, { EKSIDP_PLUGIN_TYPES: 'aws_iam_role, aws_eks_cluster' }), 'plugin');
  t.is(routeOf('aws_eks_identity_provider_config', 'managed', native, { EKSIDP_PLUGIN_TYPES: 'aws_eks_cluster' }), 'native');
  t.is(routeOf('aws_eks_identity_provider_config', 'managed', native, { EKSIDP_NATIVE_PROVIDERS: '0' }), 'plugin');
  t.is(routeOf('random_id', 'managed', undefined, {}), 'plugin');
});
