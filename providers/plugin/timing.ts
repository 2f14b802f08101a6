import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

/**
 * EKSIDP_PLUGIN_TIMING=1: where a plugin's start-up goes, one stderr line per step, in milliseconds
 * since this process started (the worker thread passes the main thread's origin), for profiling warm
 * starts (bench/plugin-start.ts reads these lines).
 */
const on = process.env.EKSIDP_PLUGIN_TIMING === '1';

export const timingOn = on;

export function mark(what: string, origin: number = performance.timeOrigin): void {
  if (!on) return;
  process.stderr.write(`eksidp plugin timing: ${(performance.timeOrigin + performance.now() - origin).toFixed(1)} ms ${what}\n`);
}

if (on && isMainThread) process.on('exit', () => mark('process exit'));
