import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROTOCOL, PROTOCOL_OPTIONS } from '../../providers/plugin/proto';

/** The fake tfplugin5 plugin (fixtures/plugin/fake-plugin.js), installed in a filesystem mirror for a test. */

const FAKE = path.join(__dirname, '..', 'fixtures', 'plugin', 'fake-plugin.js');

export type Mirror = { root: string; stack: string; binary: string; log: string; env: NodeJS.ProcessEnv; calls(): string[] };

/** A filesystem mirror holding the fake as `source` 1.0.0, a CLI configuration naming it, a stack folder. */
export function fakeMirror(t: { teardown(fn: () => void): void }, source = 'example/fake'): Mirror {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-plugin-fake-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const [namespace, type] = source.split('/') as [string, string];
  const version = type === 'aws' ? '5.100.0' : '1.0.0';
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const dir = path.join(root, 'mirror', 'registry.terraform.io', namespace, type, version, platform);
  fs.mkdirSync(dir, { recursive: true });
  const binary = path.join(dir, `terraform-provider-${type}_v${version}`);
  const log = path.join(root, 'calls.log');
  // "spawn" is logged before node starts: a plugin spawned and killed before its handshake still shows.
  fs.writeFileSync(binary, `#!/bin/sh\necho "spawn $$" >> "${log}"\nexec "${process.execPath}" "${FAKE}"\n`, { mode: 0o755 });
  const rc = path.join(root, 'terraform.rc');
  fs.writeFileSync(rc, `provider_installation {\n  filesystem_mirror {\n    path = "${path.join(root, 'mirror')}"\n  }\n}\n`);
  const stack = path.join(root, 'stack');
  fs.mkdirSync(stack);
  const protocol = path.join(root, 'protocol.json');
  // Enums and longs as names and numbers: the options' functions do not survive JSON.
  fs.writeFileSync(protocol, JSON.stringify({ protocol: PROTOCOL, options: PROTOCOL_OPTIONS }));
  const env = { ...process.env, TF_CLI_CONFIG_FILE: rc, EKSIDP_CACHE_DIR: path.join(root, 'cache'), FAKE_PLUGIN_LOG: log, FAKE_PLUGIN_PROTOCOL: protocol };
  // Each line is an RPC's name, or "spawn <pid>" (exec keeps the pid).
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]!) : []);
  return { root, stack, binary, log, env, calls };
}
