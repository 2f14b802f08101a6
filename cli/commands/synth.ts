import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../command';
import { EXIT } from '../command';
import { stringFlag, UsageError } from '../args';
import { clearSynthFailed, markSynthFailed } from '../../engine/stack-files';

/**
 * `eksidp synth`: runs the cdktf app named in cdktf.json in this process (no `cdktf` CLI, no child
 * process) and writes the same cdktf.out layout as `npx cdktf synth`. TypeScript apps load through
 * tsx's require hook; only this command pays for it.
 */

type CdktfJson = { app?: string; output?: string; context?: Record<string, unknown> };

function readCdktfJson(cwd: string): CdktfJson {
  const file = path.join(cwd, 'cdktf.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CdktfJson;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`no cdktf.json in ${cwd}: run eksidp synth from the project folder`);
    throw new UsageError(`cdktf.json is not valid JSON: ${(e as Error).message}`);
  }
}

/** The app entry file, from commands like `npx tsx main.ts`, `tsx main.ts`, `node dist/main.js`. */
export function appEntry(app: string): { file: string; typescript: boolean } | undefined {
  const m = /^(?:npx\s+(?:--no-install\s+)?)?(tsx|ts-node|node)\s+([^\s;&|]+)$/.exec(app.trim());
  if (!m) return undefined;
  return { file: m[2]!, typescript: m[1] !== 'node' || /\.tsx?$/.test(m[2]!) };
}

type AppModule = { synth?: (opts: { outdir?: string; context?: Record<string, unknown> }) => unknown };

type Annotation = { constructPath?: string; level?: string; message?: string };
type ManifestJson = { stacks: Record<string, { annotations?: Annotation[] }> };

export async function synthInProcess(cwd: string, outdirFlag?: string): Promise<{ outdir: string; stacks: string[]; warnings: string[] }> {
  const cfg = readCdktfJson(cwd);
  const entry = cfg.app ? appEntry(cfg.app) : undefined;
  if (!entry) throw new UsageError(`cannot run the app '${cfg.app ?? ''}' from cdktf.json in-process: eksidp synth runs 'npx tsx FILE' or 'node FILE' apps; use 'npx cdktf synth' for others`);
  const outdir = path.resolve(cwd, outdirFlag ?? cfg.output ?? 'cdktf.out');
  const stacksDir = path.join(outdir, 'stacks');
  const before = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir) : [];
  // The same environment `cdktf synth` gives the app (cli-core's synth-stack).
  const context = { ...(cfg.context ?? {}), cdktfRelativeModules: [] };
  process.env.CDKTF_OUTDIR = outdir;
  process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS = 'true';
  process.env.CDKTF_CONTEXT_JSON = JSON.stringify(context);
  if (entry.typescript) {
    const { register } = require('tsx/cjs/api') as { register: () => () => void };
    register();
  }
  const mod = require(path.resolve(cwd, entry.file)) as AppModule;
  // An app that synthesizes on import has written its output already; ours exports synth() instead.
  if (typeof mod.synth === 'function') await mod.synth({ outdir, context });
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as ManifestJson;
  const stacks = Object.keys(manifest.stacks);
  // Warnings (e.g. RBAC bindings no config can produce) live in the manifest's annotations, as cdktf writes them.
  const warnings = Object.values(manifest.stacks).flatMap((st) =>
    (st.annotations ?? []).filter((a) => a.level === '@cdktf/warn').map((a) => `[${a.constructPath ?? ''}] ${a.message ?? ''}`));
  // Like cdktf, drop folders of stacks that no longer exist.
  for (const old of before) if (!stacks.includes(old)) fs.rmSync(path.join(stacksDir, old), { recursive: true, force: true });
  return { outdir, stacks, warnings };
}

export const command: Command = {
  spec: {
    name: 'synth',
    summary: 'Run the cdktf app (cdktf.json "app") in-process and write cdktf.out, byte-identical to `npx cdktf synth`. Validation errors are reported and nothing is written.',
    flags: {
      output: { type: 'string', valueName: 'DIR', description: 'Output folder (default: cdktf.json "output", else cdktf.out)' },
    },
  },
  async run(args, io) {
    const flag = stringFlag(args.values, 'output');
    let result: Awaited<ReturnType<typeof synthInProcess>>;
    try {
      result = await synthInProcess(io.cwd, flag);
    } catch (e) {
      // The previous output stays (as with cdktf): mark it, so plan/apply/drift refuse it until a synth succeeds.
      let outdir = path.resolve(io.cwd, flag ?? 'cdktf.out');
      try { outdir = path.resolve(io.cwd, flag ?? readCdktfJson(io.cwd).output ?? 'cdktf.out'); } catch { /* keep the default */ }
      markSynthFailed(outdir, 'eksidp synth', (e as Error).message);
      throw e;
    }
    const { outdir, stacks, warnings } = result;
    clearSynthFailed(outdir);
    for (const w of warnings) io.stderr.write(`Warning: ${w}\n`);
    io.stderr.write(`Generated Terraform code for the stacks: ${stacks.join(', ')} in ${path.relative(io.cwd, outdir) || '.'}\n`);
    return EXIT.OK;
  },
};
