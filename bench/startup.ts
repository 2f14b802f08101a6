import { execFileSync } from 'node:child_process';

/**
 * The CLI's start-up (issue 16: `eksidp --version` under 0.1 s, median of 10 runs), beside Node's
 * own (`node -e 0`, same count): on a loaded machine both rise, and the difference is eksidp's.
 */
export type Startup = { eksidp: number[]; node: number[] };

function timeOnce(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function cliStartup(bin: string, runs = 10): Promise<Startup> {
  const out: Startup = { eksidp: [], node: [] };
  // Alternating, so both see the same load.
  for (let i = 0; i < runs; i++) {
    out.eksidp.push(timeOnce(bin, ['--version']));
    out.node.push(timeOnce(process.execPath, ['-e', '0']));
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export function startupLine(s: Startup): string {
  const e = median(s.eksidp), n = median(s.node);
  return `CLI start-up: eksidp --version median of ${s.eksidp.length} runs ${e.toFixed(3)} s (< 0.1 s: ${e < 0.1 ? 'ok' : 'MISS'}); node -e 0 in the same runs ${n.toFixed(3)} s (eksidp's own share ${(e - n).toFixed(3)} s); min-max ${Math.min(...s.eksidp).toFixed(3)}-${Math.max(...s.eksidp).toFixed(3)} s`;
}
