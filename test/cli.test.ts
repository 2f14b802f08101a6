import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp');

test('eksidp --version prints the package version and exits 0', (t) => {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  t.regex(out, /^eksidp \d+\.\d+\.\d+\n$/);
});

test('an unknown command exits 1 with a clear message on stderr', (t) => {
  const r = spawnSync(bin, ['frobnicate'], { encoding: 'utf8' });
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, /unknown command 'frobnicate'/);
});
