import { helpText, parseCommandArgs, UsageError } from './args';
import type { Command, Io } from './command';
import { EXIT } from './command';
import { escapeControls } from '../lib/escape';
import { VERSION } from './version';
import { flushPendingOutput } from './coalesce';

/** An error message as printed: each line's controls escaped (messages can quote files and API text). */
function messageLines(message: string): string {
  return message.split('\n').map(escapeControls).join('\n');
}

// Silence the AWS SDK's Node-version notice before any SDK module loads: it is printed on every
// start under Node 20 and is not actionable for users of this CLI (engines declares node >=20.18.1).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';


/** Commands load lazily so `eksidp --version` and `--help` never pay for the SDK or cdktf. */
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  synth: { summary: 'Synthesize the cdktf app to cdktf.out (same files as `cdktf synth`)', load: () => require('./commands/synth').command },
  plan: { summary: 'Show the changes needed to reach the stack\'s configuration', load: () => require('./commands/plan').command },
  apply: { summary: 'Apply a saved plan, or plan and apply', load: () => require('./commands/apply').command },
  destroy: { summary: 'Destroy everything the stack manages', load: () => require('./commands/destroy').command },
  show: { summary: 'Show the current state, or render a saved plan file', load: () => require('./commands/show').command },
  import: { summary: 'Import an existing object into state', load: () => require('./commands/import').command },
  state: { summary: 'Inspect state: state list | state show ADDR', load: () => require('./commands/state').command },
  workspace: { summary: 'Manage workspaces: workspace list | show | new NAME | select NAME | delete NAME', load: () => require('./commands/workspace').command },
  output: { summary: 'Show the output values in state, as terraform output does', load: () => require('./commands/output').command },
  'force-unlock': { summary: 'Remove a stale state lock by its ID', load: () => require('./commands/force-unlock').command },
  drift: { summary: 'Compare live identity provider configs with the stack', load: () => require('./commands/drift').command },
  whoami: { summary: 'Show the username and groups a token maps to under a config', load: () => require('./commands/whoami').command },
  'pr-comment': { summary: 'Render the pull-request comment from a plan\'s output and a Markdown drift report', load: () => require('./commands/pr-comment').command },
  emulator: { summary: 'Run the embedded EKS API emulator', load: () => require('./commands/emulator').command },
};

function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length)) + 2;
  return [
    'Usage: eksidp <command> [flags]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(w)}${COMMANDS[n]!.summary}`),
    '',
    'Global: --version, --help. Each command has --help.',
    'Exit codes: 0 success/no changes, 1 error, 2 changes present (plan --detailed-exitcode) or drift found, 3 token rejected (whoami).',
    '',
  ].join('\n');
}

/**
 * The process's own streams, each made when first used: Node builds a stream object on first access
 * (stdin's costs most), which `--version` and `--help` would pay for nothing.
 */
export function defaultIo(signal: AbortSignal): Io {
  return {
    get stdout() { return process.stdout; },
    get stderr() { return process.stderr; },
    get stdin() { return process.stdin; },
    env: process.env,
    cwd: process.cwd(),
    signal,
  };
}

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(topHelp());
    return name === undefined ? EXIT.ERROR : EXIT.OK;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`eksidp ${VERSION}\n`);
    return EXIT.OK;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`Error: unknown command '${name}'. Run 'eksidp --help' for the list of commands.\n`);
    return EXIT.ERROR;
  }
  let command: Command;
  try {
    command = entry.load();
  } catch (e) {
    io.stderr.write(`Error: command '${name}' is not available in this build: ${(e as Error).message.split('\n')[0]}\n`);
    return EXIT.ERROR;
  }
  try {
    const parsed = parseCommandArgs(command.spec, rest);
    if (parsed.help) {
      io.stdout.write(helpText(command.spec));
      return EXIT.OK;
    }
    return await command.run(parsed, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`Error: ${messageLines(e.message)}\n`);
      return EXIT.ERROR;
    }
    const err = e as Error;
    io.stderr.write(`Error: ${messageLines(err.message)}\n`);
    if (io.env.EKSIDP_DEBUG) io.stderr.write(`${err.stack}\n`);
    return EXIT.ERROR;
  }
}

/** Entry for bin/eksidp.js: wires SIGINT/SIGTERM to an AbortSignal (a second Ctrl-C exits at once). */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    // Lines an apply view holds came first.
    flushPendingOutput();
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\nInterrupt received (${sig}). Stopping gracefully: no new work starts; press Ctrl-C again to exit at once.\n`);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(argv, defaultIo(controller.signal));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
