import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync } from '../../lib/files';

/**
 * Finds a provider's plugin binary as `terraform init` and Terraform's runs do: the stack's
 * `.terraform/providers` (where init installed it), else the CLI configuration's filesystem mirrors
 * (`provider_installation { filesystem_mirror { path } }`), plugin cache (`plugin_cache_dir`) and
 * the implicit local mirror folders, choosing the newest version that satisfies the
 * `required_providers` constraint, or exactly the version the lock file (`.terraform.lock.hcl`)
 * selected. The package's `h1:` hash is checked against the lock file; computing it reads the whole
 * binary (707 MB for hashicorp/aws), so it is remembered, keyed by each file's path, size and
 * modification time.
 */

export type ProviderAddress = { host: string; namespace: string; type: string };
export type FoundPlugin = {
  binary: string;
  version: string;
  /** The package folder (its files are what `h1:` hashes cover). */
  dir: string;
  /** Where it was found, for messages. */
  origin: string;
  /** Set when a lock file names the provider: whether the package's hash is among its hashes. */
  lockChecked: boolean;
  warnings: string[];
};

export class PluginNotFound extends Error {}

export function parseSource(source: string): ProviderAddress {
  const parts = source.split('/');
  if (parts.length === 3) return { host: parts[0]!, namespace: parts[1]!, type: parts[2]! };
  if (parts.length === 2) return { host: 'registry.terraform.io', namespace: parts[0]!, type: parts[1]! };
  return { host: 'registry.terraform.io', namespace: 'hashicorp', type: parts[0]! };
}

const platform = () => `${process.platform === 'win32' ? 'windows' : process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch}`;

export function cacheDir(env: NodeJS.ProcessEnv): string {
  return env.EKSIDP_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'eksidp');
}

// ---- versions and constraints (Terraform's syntax: "5.100.0", "~> 5.0", ">= 5.0, < 6.0", "!= 5.1.0")

type Version = [number, number, number, string];
function parseVersion(v: string): Version | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0), m[4] ?? ''] : undefined;
}
function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  if (a[3] === b[3]) return 0;
  return a[3] === '' ? 1 : b[3] === '' ? -1 : a[3] < b[3] ? -1 : 1;
}

/** Whether `version` meets a Terraform version constraint; throws on a constraint it cannot read. */
export function satisfies(version: string, constraint: string | undefined): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  if (!constraint || !constraint.trim()) return v[3] === '';
  let ok = true;
  for (const part of constraint.split(',')) {
    const m = /^\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*$/.exec(part);
    const c = m ? parseVersion(m[2]!) : undefined;
    if (!m || !c) throw new Error(`cannot read the version constraint "${constraint}"`);
    const op = m[1] ?? '=';
    const cmp = compare(v, c);
    if (op === '=') ok &&= cmp === 0;
    else if (op === '!=') ok &&= cmp !== 0;
    else if (op === '>') ok &&= cmp > 0;
    else if (op === '>=') ok &&= cmp >= 0;
    else if (op === '<') ok &&= cmp < 0;
    else if (op === '<=') ok &&= cmp <= 0;
    else {
      // ~> X.Y allows X.*, at least X.Y; ~> X.Y.Z allows X.Y.*, at least X.Y.Z.
      const segments = m[2]!.replace(/-.*/, '').split('.').length;
      const upper: Version = segments >= 3 ? [c[0], c[1] + 1, 0, ''] : segments === 2 ? [c[0] + 1, 0, 0, ''] : [Number.MAX_SAFE_INTEGER, 0, 0, ''];
      ok &&= cmp >= 0 && compare(v, upper) < 0;
    }
  }
  // Like Terraform, a pre-release is chosen only when a constraint names it exactly.
  return ok && (v[3] === '' || constraint.includes(version));
}

// ---- the CLI configuration (HCL; only the settings that locate plugins are read)

export type CliConfig = { file?: string; mirrors: string[]; pluginCacheDir?: string };

export function readCliConfig(env: NodeJS.ProcessEnv): CliConfig {
  const file = env.TF_CLI_CONFIG_FILE || path.join(os.homedir(), '.terraformrc');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { mirrors: [] };
  }
  text = text.replace(/(^|\s)(#|\/\/).*$/gm, '$1');
  const mirrors: string[] = [];
  for (const m of text.matchAll(/filesystem_mirror\s*\{([^}]*)\}/g)) {
    const p = /\bpath\s*=\s*"([^"]*)"/.exec(m[1]!);
    if (p) mirrors.push(p[1]!);
  }
  const cache = env.TF_PLUGIN_CACHE_DIR || /\bplugin_cache_dir\s*=\s*"([^"]*)"/.exec(text)?.[1];
  return { file, mirrors, ...(cache ? { pluginCacheDir: cache } : {}) };
}

/** Terraform's implicit local mirrors on Unix, used when the CLI configuration names none. */
function implicitMirrors(env: NodeJS.ProcessEnv): string[] {
  const home = os.homedir();
  const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  return [path.join(home, '.terraform.d', 'plugins'), path.join(dataHome, 'terraform', 'plugins'), ...dataDirs.map((d) => path.join(d, 'terraform', 'plugins'))];
}

// ---- the lock file

export type LockEntry = { version: string; constraints?: string; hashes: string[] };

export function readLockFile(stackDir: string, addr: ProviderAddress): LockEntry | undefined | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(stackDir, '.terraform.lock.hcl'), 'utf8');
  } catch {
    return null;
  }
  const key = `${addr.host}/${addr.namespace}/${addr.type}`;
  const start = text.indexOf(`provider "${key}"`);
  if (start < 0) return undefined;
  const body = text.slice(start, text.indexOf('\n}', start) + 2);
  const version = /\bversion\s*=\s*"([^"]+)"/.exec(body)?.[1];
  if (!version) return undefined;
  const constraints = /\bconstraints\s*=\s*"([^"]+)"/.exec(body)?.[1];
  const hashesBody = /\bhashes\s*=\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
  return { version, ...(constraints ? { constraints } : {}), hashes: [...hashesBody.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

// ---- the package hash (Go's dirhash Hash1, which Terraform's h1: hashes are)

type HashCache = Record<string, { size: number; mtimeMs: number; sha256: string }>;

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const st = fs.statSync(path.join(dir, r));
    if (st.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

/** The `h1:` hash of an unpacked provider package, each file's digest remembered by path, size and mtime. */
export function packageHash(dir: string, env: NodeJS.ProcessEnv): string {
  const cacheFile = path.join(cacheDir(env), 'file-hashes.json');
  let cache: HashCache = {};
  try {
    cache = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as HashCache;
  } catch { /* first run */ }
  let changed = false;
  const lines: string[] = [];
  for (const rel of walk(dir).sort()) {
    const file = fs.realpathSync(path.join(dir, rel));
    const st = fs.statSync(file);
    let entry = cache[file];
    if (!entry || entry.size !== st.size || entry.mtimeMs !== st.mtimeMs) {
      entry = cache[file] = { size: st.size, mtimeMs: st.mtimeMs, sha256: sha256File(file) };
      changed = true;
    }
    lines.push(`${entry.sha256}  ${rel}\n`);
  }
  if (changed) {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileAtomicSync(cacheFile, JSON.stringify(cache));
  }
  return `h1:${crypto.createHash('sha256').update(lines.join('')).digest('base64')}`;
}

// ---- the search

function binaryIn(dir: string, type: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  const name = names.find((n) => n === `terraform-provider-${type}` || n.startsWith(`terraform-provider-${type}_`));
  return name ? path.join(dir, name) : undefined;
}

/** Unpacked packages under `<root>/<host>/<namespace>/<type>/<version>/<os_arch>/`. */
function candidates(root: string, addr: ProviderAddress): { version: string; dir: string; binary: string }[] {
  const base = path.join(root, addr.host, addr.namespace, addr.type);
  let versions: string[];
  try {
    versions = fs.readdirSync(base);
  } catch {
    return [];
  }
  const out: { version: string; dir: string; binary: string }[] = [];
  for (const v of versions) {
    const dir = path.join(base, v, platform());
    const binary = binaryIn(dir, addr.type);
    if (binary && parseVersion(v)) out.push({ version: v, dir, binary });
  }
  return out;
}

export type FindRequest = { source: string; constraint?: string; stackDir: string; stackName: string; env: NodeJS.ProcessEnv };

export function howToInstall(req: FindRequest): string {
  return `run \`terraform init\` in ${path.relative(process.cwd(), req.stackDir) || '.'} (cdktf.out/stacks/${req.stackName}); offline, with a CLI configuration (TF_CLI_CONFIG_FILE) whose provider_installation has a filesystem_mirror holding ${req.source}`;
}

export function findPlugin(req: FindRequest): FoundPlugin {
  const addr = parseSource(req.source);
  const key = `${addr.host}/${addr.namespace}/${addr.type}`;
  const warnings: string[] = [];
  const lock = readLockFile(req.stackDir, addr);
  const cli = readCliConfig(req.env);
  const roots: [string, string][] = [[path.join(req.stackDir, '.terraform', 'providers'), `${path.join(req.stackDir, '.terraform', 'providers')} (terraform init)`]];
  for (const m of cli.mirrors) roots.push([m, `filesystem mirror ${m} (${cli.file})`]);
  if (cli.pluginCacheDir) roots.push([cli.pluginCacheDir, `plugin cache ${cli.pluginCacheDir}`]);
  if (cli.mirrors.length === 0) for (const m of implicitMirrors(req.env)) roots.push([m, `local mirror ${m}`]);
  const wanted = (v: string) => (lock ? v === lock.version : satisfies(v, req.constraint));
  let found: (ReturnType<typeof candidates>[number] & { origin: string }) | undefined;
  const seen: string[] = [];
  for (const [root, origin] of roots) {
    const ok = candidates(root, addr).filter((c) => (seen.push(c.version), wanted(c.version)));
    ok.sort((a, b) => compare(parseVersion(b.version)!, parseVersion(a.version)!));
    if (ok[0]) { found = { ...ok[0], origin }; break; }
  }
  if (!found) {
    const want = lock ? `version ${lock.version} (selected by .terraform.lock.hcl)` : req.constraint ? `a version matching "${req.constraint}"` : 'a release';
    throw new PluginNotFound(`the provider plugin ${key} is not installed (${want}${seen.length ? `; found only ${[...new Set(seen)].join(', ')}` : ''}): ${howToInstall(req)}`);
  }
  let lockChecked = false;
  if (lock) {
    const h1 = packageHash(found.dir, req.env);
    if (!lock.hashes.includes(h1)) {
      throw new PluginNotFound(`the provider plugin ${key} ${found.version} in ${found.origin} does not match the checksums in ${path.join(req.stackDir, '.terraform.lock.hcl')} (its hash is ${h1}): reinstall it with \`terraform init\`, or update the lock file with \`terraform providers lock\``);
    }
    lockChecked = true;
  } else {
    warnings.push(`no .terraform.lock.hcl in ${req.stackDir}: the provider plugin ${key} ${found.version} from ${found.origin} is used without a checksum check (run \`terraform init\` there to record one)`);
  }
  return { binary: found.binary, version: found.version, dir: found.dir, origin: found.origin, lockChecked, warnings };
}
