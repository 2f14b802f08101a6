import fs from 'node:fs';
import path from 'node:path';
import { App } from 'cdktf';
import { environments } from './stacks/environments';
import { EksIdpStack } from './stacks/eks-stack';
import type { EnvironmentSpec } from './stacks/types';
import { clearSynthFailed, markSynthFailed } from './engine/stack-files';

/** Thrown when any stack fails synth-time validation; nothing has been written then. */
export class StackValidationError extends Error {
  constructor(public readonly errors: string[]) {
    super(`Synth-time validation failed; nothing was written:\n  ${errors.join('\n  ')}`);
    this.name = 'StackValidationError';
  }
}

export type BuildOptions = { outdir?: string; context?: Record<string, unknown>; envs?: EnvironmentSpec[] };

/**
 * cdktf records a stack trace with every annotation (warning) in manifest.json: paths of this
 * machine and of whichever tool ran the app (dist/cli/... under `eksidp synth`, the CLI's bundle
 * under `cdktf synth`). Off, so the output is the same whoever synthesizes it and leaks no path.
 */
const APP_CONTEXT = { '@cdktf/disable_stack_trace_in_metadata': true };

/** Builds the cdktf app: one stack per environment. */
export function buildApp(opts: BuildOptions = {}): App {
  const app = new App({ ...(opts.outdir ? { outdir: opts.outdir } : {}), context: { ...APP_CONTEXT, ...opts.context } });
  for (const env of opts.envs ?? environments()) new EksIdpStack(app, env);
  return app;
}

/**
 * Validates every construct of every stack first, so that a stack failing validation writes no output
 * at all (cdktf would otherwise write the stacks synthesized before the failing one).
 */
export function validateApp(app: App): string[] {
  return app.node.findAll().flatMap((c) => c.node.validate().map((msg) => `[${c.node.path}] ${msg}`));
}

export function synth(opts: BuildOptions = {}): App {
  const outdir = path.resolve(opts.outdir ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out');
  const existed = fs.existsSync(outdir);
  const app = buildApp({ ...opts, outdir });
  const errors = validateApp(app);
  if (errors.length > 0) {
    // cdktf's App creates the output folder when constructed: leave no trace of a failed synth.
    if (!existed) fs.rmSync(outdir, { recursive: true, force: true });
    throw new StackValidationError(errors);
  }
  app.synth();
  return app;
}

// Run as the app of `cdktf synth` (or `npx tsx main.ts`): the same failed-synth marker as `eksidp
// synth` writes, so plan/apply/drift refuse the stale output a failed `cdktf synth` leaves behind.
if (require.main === module) {
  const outdir = path.resolve(process.env.CDKTF_OUTDIR ?? 'cdktf.out');
  try {
    synth({ outdir });
    clearSynthFailed(outdir);
  } catch (e) {
    markSynthFailed(outdir, 'cdktf synth (main.ts)', (e as Error).message);
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
