import type { CommandSpec, Parsed } from './args';

/** Process-level context handed to every command, so tests can run commands in-process. */
export type Io = {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /**
   * Standard input: confirmations (only at a terminal: absent or not a TTY means nobody can answer,
   * as in CI, pipes and in-process tests) and `whoami --token -`. Only cli/index.ts reads the process's own.
   */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM: long commands stop starting new work. */
  signal: AbortSignal;
};

/** Exit codes shared by every command (see README): 0 ok/no changes, 1 error, 2 changes or drift, 3 rejected (whoami). */
export const EXIT = { OK: 0, ERROR: 1, CHANGES: 2, REJECTED: 3 } as const;

export type Command = {
  spec: CommandSpec;
  run(args: Parsed, io: Io): Promise<number>;
};
