import { execFileSync } from 'node:child_process';

/**
 * The CLI's start-up (issue 16: `eksidp --version` under 0.1 s, median of 10 runs), beside Node's
 * own (`node -e 0`, same count): on a loaded machine both rise, and the difference is eksidp's.
 *
 * When NODE_EXTRA_CA_CERTS is set, both are measured again without it: Node 20 reads and parses that
 * bundle (and builds its root store) while it starts, before any script runs; Node 22+ do it at the
 * first TLS connection. On this machine the variable is set for every process and costs Node 20
 * 20-70 ms a start, so the figure with it is Node's and the machine's, not eksidp's.
 */
export type Startup = { eksidp: number[]; node: number[]; withoutExtraCa?: { eksidp: number[]; node: number[] } };

function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: 'ignore', env });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function cliStartup(bin: string, runs = 10): Promise<Startup> {
  const out: Startup = { eksidp: [], node: [] };
  const { NODE_EXTRA_CA_CERTS: extraCa, ...withoutCa } = process.env;
  if (extraCa !== undefined) out.withoutExtraCa = { eksidp: [], node: [] };
  // Alternating, so all see the same load.
  for (let i = 0; i < runs; i++) {
    out.eksidp.push(timeOnce(bin, ['--version'], process.env));
    out.node.push(timeOnce(process.execPath, ['-e', '0'], process.env));
    if (out.withoutExtraCa) {
      out.withoutExtraCa.eksidp.push(timeOnce(bin, ['--version'], withoutCa));
      out.withoutExtraCa.node.push(timeOnce(process.execPath, ['-e', '0'], withoutCa));
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function figures(s: { eksidp: number[]; node: number[] }): string {
  const e = median(s.eksidp), n = median(s.node);
  return `eksidp --version median of ${s.eksidp.length} runs ${e.toFixed(3)} s (< 0.1 s: ${e < 0.1 ? 'ok' : 'MISS'}); node -e 0 in the same runs ${n.toFixed(3)} s (eksidp's own share ${(e - n).toFixed(3)} s); min-max ${Math.min(...s.eksidp).toFixed(3)}-${Math.max(...s.eksidp).toFixed(3)} s`;
}

export function startupLine(s: Startup): string {
  const lines = [`CLI start-up (Node ${process.versions.node}): ${figures(s)}`];
  if (s.withoutExtraCa) lines.push(`CLI start-up without NODE_EXTRA_CA_CERTS (set in this environment; Node 20 parses that bundle at start-up): ${figures(s.withoutExtraCa)}`);
  return lines.join('\n');
}
