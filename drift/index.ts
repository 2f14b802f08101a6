import { setMaxListeners } from 'node:events';
import type { ObjectValue } from '../engine/protocol';
import type { StackLocation } from '../engine/stack-files';
import { DEFAULT_TUNING, tuningFromEnv } from '../providers/eks/client';
import { openConnection } from '../providers/eks/reads';
import { compare } from './compare';
import { loadDesired } from './desired';
import { applyIgnores, type IgnoreRule } from './ignore';
import { readLive } from './live';
import type { Desired, DriftReport, LiveCluster } from './model';
import { inShard, type Shard } from './shard';

export * from './model';
export { compare, exitCode, summarize } from './compare';
export { applyIgnores, loadIgnoreFile, parseIgnoreRules, IgnoreFileError, type IgnoreRule } from './ignore';
export { parseShard, shardOf, inShard, type Shard } from './shard';
export { renderHuman, renderMarkdown, reportJson, summaryLine, unifiedDiff } from './render';
export { buildDesired, loadDesired } from './desired';
export { readLive } from './live';

export class DriftSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftSetupError';
  }
}

export type DriftOptions = {
  rawJson: Record<string, unknown>;
  loc: StackLocation;
  env: NodeJS.ProcessEnv;
  concurrency: number;
  timeoutMs: number;
  shard?: Shard;
  ignore?: readonly IgnoreRule[];
  statePath?: string;
  signal?: AbortSignal;
  progress?: (message: string) => void;
  /**
   * Called every heartbeatMs (default 10 s) while clusters are still being read: a throttled run
   * against a large fleet can take minutes, and a silent scheduled job looks hung.
   */
  heartbeat?: (message: string) => void;
  heartbeatMs?: number;
};

export function shardDesired(desired: Desired, shard: Shard | undefined): Desired {
  if (!shard) return desired;
  return {
    ...desired,
    clusters: desired.clusters.filter((c) => inShard(c.name, shard)),
    configs: desired.configs.filter((c) => inShard(c.cluster, shard)),
    // Declarations with no known cluster are reported by shard 1 alone, so exactly once.
    errors: desired.errors.filter((e) => (e.cluster === null ? shard.index === 1 : inShard(e.cluster, shard))),
  };
}

/** The whole check: desired from the stack, live through the SDK, compare, ignore rules. */
export async function runDrift(opts: DriftOptions): Promise<DriftReport> {
  const { desired: all, config } = loadDesired(opts.rawJson, opts.loc, { statePath: opts.statePath });
  const desired = shardDesired(all, opts.shard);
  const providerBody: ObjectValue = config.providers.get('aws')?.body ?? {};
  // As many pooled sockets as calls in flight, so --concurrency is not capped by the pool.
  const tuning = { ...tuningFromEnv(opts.env, DEFAULT_TUNING), maxSockets: Math.max(50, opts.concurrency) };
  const { connection, diagnostics } = openConnection(providerBody, opts.env, tuning);
  if (!connection) throw new DriftSetupError(`provider.aws: ${diagnostics.map((d) => d.summary).join('; ')}`);

  const budget = new AbortController();
  // Every in-flight call listens on the budget's signal: many listeners are expected, not a leak.
  setMaxListeners(0, budget.signal);
  const timer = setTimeout(() => budget.abort(new Error(`the drift check's time budget (${Math.round(opts.timeoutMs / 1000)} s, --timeout) was spent`)), opts.timeoutMs);
  const onOuterAbort = () => budget.abort(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('interrupted'));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const names = [...new Set(desired.clusters.map((c) => c.name))];
    opts.progress?.(`Reading ${names.length} cluster(s) with up to ${opts.concurrency} calls in flight...`);
    let read = 0;
    const started = Date.now();
    const beat = opts.heartbeat
      ? setInterval(() => opts.heartbeat!(`Read ${read} of ${names.length} cluster(s) (${Math.round((Date.now() - started) / 1000)} s elapsed)...`), opts.heartbeatMs ?? 10_000)
      : undefined;
    beat?.unref();
    let live: LiveCluster[];
    try {
      live = await readLive(names, { reads: connection.reads, concurrency: opts.concurrency, signal: budget.signal, onCluster: (done) => (read = done) });
    } finally {
      clearInterval(beat);
    }
    const report = compare(desired, live, { shard: opts.shard ? `${opts.shard.index}/${opts.shard.count}` : null });
    return applyIgnores(report, opts.ignore ?? []);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    connection.close();
  }
}
