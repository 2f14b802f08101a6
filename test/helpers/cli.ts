import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { bin } from './project';

export type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number };

export type RunOptions = {
  cwd?: string;
  /** Added to the test process's environment (after NO_COLOR=1); a variable set to undefined is removed. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  input?: string;
  /** The program to run: the built `eksidp` unless said. */
  file?: string;
  onStderr?: (text: string, child: ChildProcess) => void;
  onSpawn?: (child: ChildProcess) => void;
};

/**
 * Runs the built CLI (or `file`) as a child process and collects its output. Asynchronous on purpose:
 * tests often serve the emulator from their own process, which a synchronous spawn would block.
 */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<Run> {
  const started = Date.now();
  const env = childEnv(opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(opts.file ?? bin, args, { cwd: opts.cwd, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => { stderr += d; opts.onStderr?.(stderr, child); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    opts.onSpawn?.(child);
  });
}

/** The synchronous form, for commands that need no server in the test's own process (whoami, --version). */
export function runCliSync(args: string[], opts: Pick<RunOptions, 'cwd' | 'env' | 'input' | 'file'> = {}): Omit<Run, 'ms'> {
  const env = childEnv(opts.env);
  const r = spawnSync(opts.file ?? bin, args, { cwd: opts.cwd, env, input: opts.input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
