import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';

/**
 * The layering the README's architecture table describes, checked on the sources: the engine knows
 * no terminal and no provider (providers reach it as factories from providers/registry.ts, which the
 * CLI and drift pass to openWorkspace), and only the CLI's entry point touches the process's stdin.
 */

const root = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = path.join(dir, d.name);
    if (d.isDirectory()) return sources(rel);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every module a file imports or requires (static imports, `export ... from`, require() with a literal). */
function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const re of [/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm, /^\s*import\s+'([^']+)'/gm, /\brequire\('([^']+)'\)/g, /\bimport\('([^']+)'\)/g]) {
    for (const m of text.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

/** The project folder a relative import lands in (`cli`, `providers`...), or undefined for packages and builtins. */
function folderOf(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return path.relative(root, path.resolve(root, path.dirname(file), spec)).split(path.sep)[0];
}

/** `file imports spec` for every import of the folder's sources that `refused` refuses. */
function refusedImports(files: string[], refused: (file: string, spec: string, folder: string | undefined) => boolean): string[] {
  const bad: string[] = [];
  for (const f of files) {
    for (const spec of importsOf(fs.readFileSync(path.join(root, f), 'utf8'))) {
      if (refused(f, spec, folderOf(f, spec))) bad.push(`${f} imports ${spec}`);
    }
  }
  return bad;
}

test('the engine imports only itself, lib/, Node builtins and packages: nothing from cli/, providers/, drift/, identity/, stacks/ or emulator/', (t) => {
  const files = sources('engine');
  t.true(files.length > 10, 'the scan sees the engine');
  t.deepEqual(refusedImports(files, (_f, _spec, folder) => folder !== undefined && folder !== 'engine' && folder !== 'lib'), []);
});

test('lib/ imports only itself and Node builtins: every folder may use it, so it may use none of them', (t) => {
  const files = sources('lib');
  t.true(files.length > 3, 'the scan sees lib/');
  t.deepEqual(refusedImports(files, (_f, spec, folder) => (folder === undefined ? !spec.startsWith('node:') : folder !== 'lib')), []);
});

test('drift reads through interfaces: the engine (its evaluator, the providers\' readLive), providers only through the registry, no provider internals or CLI', (t) => {
  const files = sources('drift');
  t.true(files.length > 5, 'the scan sees drift/');
  t.deepEqual(refusedImports(files, (f, spec, folder) => {
    if (folder === undefined || ['drift', 'engine', 'lib', 'identity'].includes(folder)) return false;
    return path.relative(root, path.resolve(root, path.dirname(f), spec)) !== path.join('providers', 'registry');
  }), []);
  // The evaluator is the engine's (resolveConfig through the plan's lookup): drift has no expression code of its own.
  const evaluators = files.filter((f) => /\b(?:evaluate|parseTemplate|parseReference)\s*\(/.test(fs.readFileSync(path.join(root, f), 'utf8')));
  t.deepEqual(evaluators, []);
});

test('the import scan sees relative imports, re-exports and requires (it would catch a violation)', (t) => {
  const text = "import type { Io } from '../cli/command';\nimport {\n  a,\n} from '../identity';\nexport { x } from '../providers/registry';\nconst y = require('../drift/index');\nimport { z } from './util';\n";
  const probe = path.join('engine', 'probe.ts');
  t.deepEqual(importsOf(text).map((s) => folderOf(probe, s)).sort(), ['cli', 'drift', 'engine', 'identity', 'providers']);
});

test('only the CLI entry point reads process.stdin; commands get it through Io', (t) => {
  const readers = ['engine', 'cli', 'drift', 'identity', 'providers', 'lib']
    .flatMap(sources)
    .filter((f) => /process\.stdin\b/.test(fs.readFileSync(path.join(root, f), 'utf8')));
  t.deepEqual(readers, [path.join('cli', 'index.ts')]);
});
