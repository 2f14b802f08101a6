import fs from 'node:fs';
import path from 'node:path';
import { defaultIo, run } from './index';
import type { Io } from './command';
import { EXIT } from './command';

/**
 * The main job (`npm start`): the whole cycle on the embedded default, with no AWS account.
 * Start the EKS emulator on the `local` environment's endpoint (state persisted under .eksidp/, so a
 * second run continues; an emulator already listening there is reused), synth, plan to a saved plan
 * file, apply exactly that file (so the plan is printed once), then a drift check that must find the
 * fleet in sync. A second run shows no changes.
 */

const DEFAULT_ENDPOINT = 'http://127.0.0.1:4599';
/** Where the emulator keeps its state, relative to the project (the README's emulator command uses it too). */
export const EMULATOR_DATA_DIR = path.join('.eksidp', 'emulator');

async function emulatorListening(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/_emulator/health', endpoint), { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

function banner(io: Io, text: string): void {
  io.stderr.write(`\n==> ${text}\n`);
}

export async function mainJob(io: Io): Promise<number> {
  const endpoint = io.env.EKSIDP_LOCAL_ENDPOINT || DEFAULT_ENDPOINT;
  const url = new URL(endpoint);
  const root = io.cwd;
  let close: (() => Promise<void>) | undefined;
  if (await emulatorListening(endpoint)) {
    banner(io, `Using the EKS emulator already listening at ${endpoint}`);
  } else {
    const dataDir = path.join(root, EMULATOR_DATA_DIR);
    fs.mkdirSync(dataDir, { recursive: true });
    const { startEmulator } = await import('../emulator/index');
    try {
      const handle = await startEmulator({ host: url.hostname, port: Number(url.port || 80), dataDir });
      close = () => handle.close();
    } catch (e) {
      io.stderr.write(`Error: cannot start the EKS emulator on ${endpoint}: ${(e as Error).message}. ` +
        `Free the port, or set EKSIDP_LOCAL_ENDPOINT to another loopback address (e.g. http://127.0.0.1:4600).\n`);
      return EXIT.ERROR;
    }
    banner(io, `Started the embedded EKS emulator at ${endpoint} (state in ${path.relative(root, dataDir)})`);
  }
  // The saved plan holds a copy of the state: it lives in the git-ignored .eksidp/ and goes once applied.
  const planFile = path.join('.eksidp', 'local.tfplan');
  fs.mkdirSync(path.join(root, '.eksidp'), { recursive: true });
  try {
    const steps: [string, string[], number[]][] = [
      ['Synthesizing the cdktf app', ['synth'], [EXIT.OK]],
      ['Planning the local stack', ['plan', '--stack', 'local', '--out', planFile], [EXIT.OK]],
      ['Applying exactly that plan', ['apply', planFile], [EXIT.OK]],
      ['Checking for drift', ['drift', '--stack', 'local'], [EXIT.OK]],
    ];
    for (const [title, argv, ok] of steps) {
      banner(io, `${title}: eksidp ${argv.join(' ')}`);
      const code = await run(argv, io);
      if (!ok.includes(code)) {
        io.stderr.write(`\nThe main job stopped: 'eksidp ${argv.join(' ')}' exited ${code}.\n`);
        return EXIT.ERROR;
      }
      if (io.signal.aborted) return EXIT.ERROR;
    }
    banner(io, 'Done: the local fleet is applied and in sync. Run `npm start` again: the plan shows no changes.');
    return EXIT.OK;
  } finally {
    fs.rmSync(path.join(root, planFile), { force: true });
    await close?.();
  }
}

if (require.main === module) {
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort(new Error('interrupted')));
  mainJob(defaultIo(controller.signal)).then((code) => {
    process.exitCode = code;
  });
}
