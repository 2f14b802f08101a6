import { PassThrough } from 'node:stream';
import type { Io } from '../../cli/command';
import { run } from '../../cli/index';

/** Runs an `eksidp` command in this process, exactly as the bin does (same dispatcher and exit code). */
export function runCommand(argv: string[], io: Io): Promise<number> {
  return run(argv, io);
}

/** An Io that captures stdout and stderr (no TTY, no colour); `env` adds to the process environment. */
export function captureIo(cwd: string, env: NodeJS.ProcessEnv = {}): Io & { out: () => string; err: () => string } {
  const stdout = new PassThrough(), stderr = new PassThrough();
  let o = '', e = '';
  stdout.on('data', (d) => (o += d));
  stderr.on('data', (d) => (e += d));
  return { stdout, stderr, env: { ...process.env, NO_COLOR: '1', ...env }, cwd, signal: new AbortController().signal, out: () => o, err: () => e };
}

/** Runs an `eksidp` command in this process and returns its exit code and output (polls kept short). */
export async function eksidpInProcess(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(cwd, { EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200', ...env });
  const code = await runCommand(argv, io);
  return { code, stdout: io.out(), stderr: io.err() };
}
