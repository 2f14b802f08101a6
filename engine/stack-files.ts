import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../lib/files';

/**
 * Locating and reading a stack's Terraform JSON: `--stack NAME` via cdktf.out/manifest.json, or
 * `--dir DIR` for any folder holding a cdk.tf.json (cdktf-made or hand-written).
 */

export class StackInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackInputError';
  }
}

export type StackLocation = {
  /** Stack name (from the manifest, or the folder's name for --dir). */
  name: string;
  /** Absolute folder holding cdk.tf.json; relative paths in it (local backend) resolve against it. */
  dir: string;
  /** Absolute path of the Terraform JSON file. */
  file: string;
};

/**
 * A failed synth leaves the previous output in place (cdktf does the same), so the next plan would
 * plan the old configuration and report "No changes" for the edit that was just refused. `eksidp
 * synth` (and main.ts when `cdktf synth` runs it) writes this marker into the output folder when it
 * fails and removes it when it succeeds; every command that reads a stack from that output refuses it
 * while the marker is there.
 */
export const SYNTH_FAILED_FILE = 'synth-failed.json';

type SynthFailure = { failedAt: string; by: string; error: string };

export function markSynthFailed(outdir: string, by: string, error: string): void {
  if (!fs.existsSync(outdir)) return; // nothing stale to protect
  const marker: SynthFailure = { failedAt: new Date().toISOString(), by, error: error.slice(0, 4000) };
  writeFileAtomicSync(path.join(outdir, SYNTH_FAILED_FILE), JSON.stringify(marker, null, 2) + '\n');
}

export function clearSynthFailed(outdir: string): void {
  fs.rmSync(path.join(outdir, SYNTH_FAILED_FILE), { force: true });
}

/** Throws when the last synth into `outdir` failed. */
function refuseAfterFailedSynth(outdir: string, cwd: string): void {
  const file = path.join(outdir, SYNTH_FAILED_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  let m: Partial<SynthFailure> = {};
  try { m = JSON.parse(text) as SynthFailure; } catch { /* a marker we cannot read still means "failed" */ }
  const rel = path.relative(cwd, outdir) || '.';
  const first = (m.error ?? '').split('\n').find((l) => l.trim() !== '' && !/^Synth-time validation failed/.test(l))?.trim();
  throw new StackInputError(`the last synth into ${rel} failed${m.by ? ` (${m.by}${m.failedAt ? `, ${m.failedAt}` : ''})` : ''}${first ? `: ${first}` : ''}. ` +
    `${rel} still holds the output of an earlier synth, which is not your current configuration: fix the error and run 'eksidp synth' again (${path.join(rel, SYNTH_FAILED_FILE)} is removed when a synth succeeds)`);
}

type Manifest = { version?: string; stacks?: Record<string, { name?: string; workingDirectory?: string; synthesizedStackPath?: string }> };

/**
 * `allowFailedSynth`: for commands that act on state or its lock only (state list/show, force-unlock),
 * which stay usable after a failed synth.
 */
export function resolveStack(opts: { stack?: string; dir?: string; cwd: string; outdir?: string; allowFailedSynth?: boolean }): StackLocation {
  if (opts.stack !== undefined && opts.dir !== undefined) throw new StackInputError('use either --stack or --dir, not both');
  if (opts.dir !== undefined) {
    const dir = path.resolve(opts.cwd, opts.dir);
    const file = ['cdk.tf.json', 'main.tf.json'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (!file) throw new StackInputError(`no cdk.tf.json in ${opts.dir}`);
    // A stack folder of a cdktf output (<outdir>/stacks/<name>): its synth marker applies too.
    const outdir = path.dirname(path.dirname(dir));
    if (!opts.allowFailedSynth && path.basename(path.dirname(dir)) === 'stacks' && fs.existsSync(path.join(outdir, 'manifest.json'))) refuseAfterFailedSynth(outdir, opts.cwd);
    return { name: path.basename(dir), dir, file };
  }
  const outdir = path.resolve(opts.cwd, opts.outdir ?? 'cdktf.out');
  if (!opts.allowFailedSynth) refuseAfterFailedSynth(outdir, opts.cwd);
  const manifestFile = path.join(outdir, 'manifest.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StackInputError(code === 'ENOENT'
      ? `no ${path.relative(opts.cwd, manifestFile) || manifestFile}: run 'eksidp synth' first, or pass --dir DIR`
      : `cannot read ${manifestFile}: ${(e as Error).message}`);
  }
  const stacks = Object.keys(manifest.stacks ?? {});
  let name = opts.stack;
  if (name === undefined) {
    if (stacks.length !== 1) throw new StackInputError(`the app has ${stacks.length} stacks (${stacks.join(', ')}): choose one with --stack NAME`);
    name = stacks[0]!;
  }
  const entry = manifest.stacks?.[name];
  if (!entry) throw new StackInputError(`stack '${name}' not found in ${path.relative(opts.cwd, manifestFile)}; stacks: ${stacks.join(', ') || '(none)'}`);
  const file = path.join(outdir, entry.synthesizedStackPath ?? path.join('stacks', name, 'cdk.tf.json'));
  return { name, dir: path.dirname(file), file };
}

/** Parses the stack's JSON; a malformed file is an error naming the file and position. */
export function readTerraformJson(loc: StackLocation): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(loc.file, 'utf8');
  } catch (e) {
    throw new StackInputError(`cannot read ${loc.file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new StackInputError(`${loc.file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new StackInputError(`${loc.file}: the top level must be a JSON object`);
  const dup = findDuplicateKey(text);
  if (dup) {
    // JSON.parse keeps the last of two equal keys silently; Terraform rejects them.
    const [section, type, name] = dup;
    const what = (section === 'resource' || section === 'data') && dup.length === 3
      ? `${section === 'data' ? 'data.' : ''}${type}.${name}: duplicate resource address`
      : `duplicate key ${dup.join('.')}`;
    throw new StackInputError(`${what} (the key "${dup[dup.length - 1]}" appears twice in the same object of ${path.basename(loc.file)})`);
  }
  return json as Record<string, unknown>;
}

/**
 * The path of the first key that appears twice in one object of a JSON text (already known to be
 * valid JSON), or undefined.
 */
export function findDuplicateKey(text: string): string[] | undefined {
  let i = 0;
  // The path of the value being read: one array, pushed and popped (a copy per value was most of the cost).
  const at: string[] = [];
  // Character codes, not one-character strings: this scans every byte of a fleet-sized stack.
  const SPACE = 32, LF = 10, CR = 13, TAB = 9, QUOTE = 34, BACKSLASH = 92, COMMA = 44, LBRACE = 123, RBRACE = 125, LBRACKET = 91, RBRACKET = 93;
  const skipSpace = () => {
    for (let c = text.charCodeAt(i); c === SPACE || c === LF || c === CR || c === TAB; c = text.charCodeAt(++i));
  };
  /** The index of the quote that closes the string opening at `start`. */
  const closingQuote = (start: number): number => {
    let end = text.indexOf('"', start + 1);
    // A quote preceded by an odd number of backslashes is part of the string.
    for (;;) {
      let b = 0;
      while (text.charCodeAt(end - 1 - b) === BACKSLASH) b++;
      if (b % 2 === 0) return end;
      end = text.indexOf('"', end + 1);
    }
  };
  const readString = (): string => {
    const start = i;
    const end = closingQuote(start);
    // Any escape means the key's value is what JSON.parse makes of it (searched within the string only).
    let escaped = false;
    for (let j = start + 1; j < end && !escaped; j++) escaped = text.charCodeAt(j) === BACKSLASH;
    i = end + 1;
    return escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, end);
  };
  const value = (): string[] | undefined => {
    skipSpace();
    const c = text.charCodeAt(i);
    if (c === LBRACE || c === LBRACKET) {
      i++;
      skipSpace();
      if (text.charCodeAt(i) === (c === LBRACE ? RBRACE : RBRACKET)) {
        i++;
        return undefined;
      }
      const seen = c === LBRACE ? new Set<string>() : undefined;
      for (let n = 0; ; n++) {
        let key = String(n);
        if (seen) {
          skipSpace();
          key = readString();
          if (seen.has(key)) return [...at, key];
          seen.add(key);
          skipSpace();
          i++; // the colon
        }
        at.push(key);
        const found = value();
        at.pop();
        if (found) return found;
        skipSpace();
        if (text.charCodeAt(i++) !== COMMA) return undefined; // the closing bracket
      }
    }
    // A string value is only skipped: its text is never needed (most of a stack's strings).
    if (c === QUOTE) i = closingQuote(i) + 1;
    else {
      // A number, true, false or null: up to the next delimiter.
      for (let d = text.charCodeAt(i); i < text.length && d !== COMMA && d !== RBRACE && d !== RBRACKET && d !== SPACE && d !== LF && d !== CR && d !== TAB; d = text.charCodeAt(++i));
    }
    return undefined;
  };
  return value();
}
