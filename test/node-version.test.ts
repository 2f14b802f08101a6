import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bin, projectRoot, tempDir } from './helpers/project';

/**
 * Which Node runs: npm test runs the suite on the Node that runs npm and a subset on the pinned Node 24
 * (scripts/test.js sets EKSIDP_EXPECT_NODE for that run). A `node` bin in the project's
 * node_modules/.bin would silently replace the system node in every npm script: there must be none.
 */

test('no node_modules/.bin/node shadows the system node in npm scripts', (t) => {
  t.false(fs.existsSync(path.join(projectRoot, 'node_modules', '.bin', 'node')));
});

test('the tests run on the expected Node, and so does every `node` a test spawns by name, including the eksidp bin', (t) => {
  const expected = process.env.EKSIDP_EXPECT_NODE;
  if (expected) t.is(process.version, expected, 'scripts/test.js ran this file on the pinned Node');
  const byName = spawnSync('node', ['-p', 'process.execPath + " " + process.version'], { encoding: 'utf8' });
  t.is(byName.stdout.trim(), `${process.execPath} ${process.version}`, '`node` on PATH is the binary running the tests');
  // bin/eksidp.js starts through `#!/usr/bin/env node`: record what it actually ran on.
  const dir = tempDir(t, 'eksidp-nodever-');
  const probe = path.join(dir, 'probe.cjs');
  fs.writeFileSync(probe, `require('node:fs').writeFileSync(${JSON.stringify(path.join(dir, 'ran'))}, process.execPath + ' ' + process.version);\n`);
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require ${probe}` } });
  t.is(r.status, 0, r.stderr);
  t.is(fs.readFileSync(path.join(dir, 'ran'), 'utf8'), `${process.execPath} ${process.version}`);
});
