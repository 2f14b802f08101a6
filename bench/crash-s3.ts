/**
 * Issue 13: ten SIGKILL trials of `eksidp apply` with the state in S3 (the emulator's S3 listener,
 * dynalite), the lock mode rotating over lockfile, DynamoDB and both; each trial must end as the
 * local ones of test/reliability-crash.test.ts do (whole state, resume converges, each config
 * associated once). test/state-s3-crash.test.ts runs two of them in CI.
 *
 *   npm run build && npx tsx bench/crash-s3.ts [--trials 10] [--first 1]
 *
 * Exits 1 when any trial has a problem.
 */
import { s3CrashTrial } from '../test/fixtures/reliability/s3-crash';
import { startStateServers } from '../test/helpers/state-servers';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a positive integer`);
  return v;
}

async function main(): Promise<void> {
  const trials = flag('--trials', 10);
  const first = flag('--first', 1);
  const servers = await startStateServers();
  let failed = 0, killed = 0, locks = 0;
  const started = Date.now();
  try {
    for (let trial = first; trial < first + trials; trial++) {
      const t0 = Date.now();
      const r = await s3CrashTrial(servers, trial);
      if (r.killed) killed++;
      if (r.lockLeft) locks++;
      if (r.problems.length) failed++;
      process.stdout.write(`trial ${trial}: ${r.problems.length ? 'FAILED' : 'ok'} (${((Date.now() - t0) / 1000).toFixed(1)} s) ${r.summary}\n`);
      for (const p of r.problems) process.stdout.write(`  - ${p}\n`);
    }
  } finally {
    await servers.close();
  }
  process.stdout.write(`\n${trials} trials in ${((Date.now() - started) / 1000).toFixed(0)} s: ${trials - failed} ok, ${failed} failed; ${killed} killed mid-apply, ${locks} left a lock that force-unlock removed\n`);
  process.exitCode = failed ? 1 : 0;
}

void main();
