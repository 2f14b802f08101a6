#!/usr/bin/env node
'use strict';
// Runs ava and ends with one plain line `N passed, N failed, N skipped`, which CI reads
// (ava's own summary is not a format CI recognises). Exit code is ava's.
const { spawn } = require('node:child_process');
const path = require('node:path');

const ava = path.join(__dirname, '..', 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const child = spawn(process.execPath, [ava, '--verbose', ...process.argv.slice(2)], { stdio: ['inherit', 'pipe', 'pipe'] });
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
  const failedShown = exit !== 0 && failed === 0 ? 1 : failed;
  process.stdout.write(`\n${passed} passed, ${failedShown} failed, ${skipped} skipped\n`);
  process.exitCode = exit;
});
