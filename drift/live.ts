import { errorMessage, errorName, isNotFound } from '../providers/eks/errors';
import type { EksReads } from '../providers/eks/reads';
import type { LiveCluster, LiveConfigRead } from './model';

/**
 * The live reader: per cluster DescribeCluster, ListIdentityProviderConfigs (every page) and one
 * DescribeIdentityProviderConfig per config: exactly these calls, no more. In-flight calls are
 * capped by one limiter shared by all clusters; throttling and 5xx are retried with the SDK's
 * adaptive retry strategy (providers/eks/reads.ts). Every failure becomes an error on what it
 * concerns, never an absence.
 */

/** A FIFO semaphore for in-flight API calls. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export type ReadOptions = {
  reads: EksReads;
  concurrency: number;
  /** Aborted when the run's budget is spent or the user interrupts: unread clusters become errors. */
  signal: AbortSignal;
  onCluster?: (done: number, total: number) => void;
};

function describeError(e: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
    return `not read: ${reason}`;
  }
  const name = errorName(e);
  const msg = errorMessage(e);
  return name && name !== 'Error' && !msg.startsWith(name) ? `${name}: ${msg}` : msg;
}

async function readCluster(name: string, opts: ReadOptions, limiter: Limiter): Promise<LiveCluster> {
  const { reads, signal } = opts;
  const call = <T>(fn: () => Promise<T>) => {
    if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    return limiter.run(fn);
  };
  // DescribeCluster and the first page of the list are independent: issue them together.
  const described = call(() => reads.describeCluster(name, signal)).then(
    (out) => ({ ok: out.cluster } as const),
    (e: unknown) => ({ err: e } as const),
  );
  const listed = (async (): Promise<string[] | { err: unknown }> => {
    const names: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const out = await call(() => reads.listIdentityProviderConfigs(name, nextToken, signal));
        for (const c of out.identityProviderConfigs ?? []) if (c.name && (c.type ?? 'oidc') === 'oidc') names.push(c.name);
        nextToken = out.nextToken;
      } while (nextToken);
      return names;
    } catch (e) {
      return { err: e };
    }
  })();
  const d = await described;
  if ('err' in d) {
    await listed;
    if (isNotFound(d.err) && !signal.aborted) return { name, kind: 'not_found' };
    return { name, kind: 'error', error: `DescribeCluster ${name}: ${describeError(d.err, signal)}` };
  }
  const cluster = d.ok;
  const base = { name, kind: 'found' as const, version: cluster?.version ?? null, status: cluster?.status ?? null, tags: { ...(cluster?.tags ?? {}) } };
  const l = await listed;
  if (!Array.isArray(l)) return { ...base, configs: { error: `ListIdentityProviderConfigs ${name}: ${describeError(l.err, signal)}` } };
  const configs = await Promise.all(
    l.map(async (cfg): Promise<LiveConfigRead> => {
      try {
        const out = await call(() => reads.describeIdentityProviderConfig(name, cfg, signal));
        const oidc = out.identityProviderConfig?.oidc;
        return oidc ? { name: cfg, config: oidc } : { name: cfg, gone: true };
      } catch (e) {
        // Listed, then gone before we described it: disassociated meanwhile.
        if (isNotFound(e) && !signal.aborted) return { name: cfg, gone: true };
        return { name: cfg, error: `DescribeIdentityProviderConfig ${name}:${cfg}: ${describeError(e, signal)}` };
      }
    }),
  );
  return { ...base, configs };
}

/** Reads every named cluster; results in the order given. */
export async function readLive(clusters: readonly string[], opts: ReadOptions): Promise<LiveCluster[]> {
  const limiter = new Limiter(Math.max(1, opts.concurrency));
  let done = 0;
  // One cluster in flight per call slot is enough to keep the limiter saturated.
  const results: LiveCluster[] = new Array(clusters.length);
  let next = 0;
  const worker = async () => {
    while (next < clusters.length) {
      const i = next++;
      results[i] = await readCluster(clusters[i]!, opts, limiter);
      opts.onCluster?.(++done, clusters.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, clusters.length)) }, worker));
  return results;
}
