import type { MessagePort } from 'node:worker_threads';

/** Messages between the main thread (bridge.ts) and the plugin's worker thread (worker.ts). */

/** `syncBuffer`: word 0 signals synchronous answers, word 1 holds the plugin's pid from its spawn on. */
export type WorkerInit = { syncBuffer: SharedArrayBuffer; syncPort: MessagePort; eventPort: MessagePort; origin: number; start: StartRequest };
export type StartRequest = { binary: string; env: NodeJS.ProcessEnv; timeoutMs: number };
export type BridgeRequest = { id: number; sync: boolean; op: 'start' | 'call' | 'schema' | 'shutdown'; method?: string; request?: unknown };
export type BridgeResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string; stderrTail?: string };
export type ExitEvent = { event: 'exit'; code: number | null; signal: string | null; stderrTail: string };
