import { setMaxListeners } from 'node:events';
import { parseConfig, type StackConfig } from '../engine/config';
import type { VariableInputs } from '../engine/variables';
import type { LiveResourceRequest } from '../engine/protocol';
import type { StackLocation } from '../engine/stack-files';
import { readState, type StateV4 } from '../engine/state';
import { EngineError } from '../engine/util';
import { closeWorkspace, openWorkspace, type Workspace } from '../engine/workspace';
import { providerFactory } from '../providers/registry';
import { Judgement, type Snapshots } from './compare';
import { declare, stateOnly } from './declared';
import { applyIgnores, type IgnoreRule } from './ignore';
import type { DriftReport } from './model';
import { inShard, type Shard } from './shard';

export * from './model';
export { compare, exitCode, summarize, Judgement, type CompareInput, type Snapshots } from './compare';
export { declare, stateOnly, type Declared } from './declared';
export { differences, argumentsDocument } from './differences';
export { applyIgnores, loadIgnoreFile, parseIgnoreRules, IgnoreFileError, type IgnoreRule } from './ignore';
export { parseShard, shardOf, inShard, type Shard } from './shard';
export { renderHuman, renderMarkdown, reportJson, summaryLine, unifiedDiff } from './render';

export class DriftSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftSetupError';
  }
}

export type DriftOptions = {
  rawJson: Record<string, unknown>;
  loc: StackLocation;
  /** --var, --var-file, TF_VAR_* and the stack folder's tfvars files (engine/variables.ts). */
  variables?: VariableInputs;
  env: NodeJS.ProcessEnv;
  concurrency: number;
  timeoutMs: number;
  shard?: Shard;
  ignore?: readonly IgnoreRule[];
  statePath?: string;
  /** Reads the stack's state through its backend (the CLI passes the S3 or local storage); default: the local state file. */
  stateFrom?: (config: StackConfig) => Promise<StateV4 | null>;
  /** Checks the parsed configuration before state is read or any provider opens (the CLI's untrusted-config guard); throws EngineError. */
  checkConfig?: (config: StackConfig) => void;
  signal?: AbortSignal;
  progress?: (message: string) => void;
  /**
   * Called every heartbeatMs (default 10 s) while clusters are still being read: a throttled run
   * against a large fleet can take minutes, and a silent scheduled job looks hung.
   */
  heartbeat?: (message: string) => void;
  heartbeatMs?: number;
};

/**
 * The whole check: the stack through the engine's workspace (its configured providers), live objects
 * through each provider's bulk reads, the judgement through the plan logic (compare.ts), ignore rules.
 */
export async function runDrift(opts: DriftOptions): Promise<DriftReport> {
  let ws: Workspace;
  let state: StateV4 | null;
  try {
    const config = parseConfig(opts.rawJson, opts.loc, opts.variables);
    opts.checkConfig?.(config);
    if (opts.statePath !== undefined) state = readState(opts.statePath);
    else if (opts.stateFrom) state = await opts.stateFrom(config);
    else if (config.backend.type === 'local') state = readState(config.statePath);
    else throw new EngineError(`the stack's state is in ${config.statePath}: pass stateFrom (the CLI reads it through the backend) or statePath`);
    ws = await openWorkspace(config, providerFactory, { env: opts.env, state, parallelism: opts.concurrency });
  } catch (e) {
    if (e instanceof EngineError) throw new DriftSetupError(e.message);
    throw e;
  }
  const budget = new AbortController();
  // Every in-flight call listens on the budget's signal: many listeners are expected, not a leak.
  setMaxListeners(0, budget.signal);
  const timer = setTimeout(() => budget.abort(new Error(`the drift check's time budget (${Math.round(opts.timeoutMs / 1000)} s, --timeout) was spent`)), opts.timeoutMs);
  const onOuterAbort = () => budget.abort(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('interrupted'));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const declared = declare(ws, state);
    const byProvider = new Map<string, LiveResourceRequest[]>();
    for (const d of declared.values()) {
      if (!byProvider.has(d.resource.provider)) byProvider.set(d.resource.provider, []);
      byProvider.get(d.resource.provider)!.push(d.request);
    }
    let read = 0;
    let total = 0;
    const started = Date.now();
    opts.progress?.(`Reading what ${declared.size} declaration(s) name with up to ${opts.concurrency} calls in flight...`);
    const beat = opts.heartbeat
      ? setInterval(() => opts.heartbeat!(`Read ${read} of ${total} cluster(s) (${Math.round((Date.now() - started) / 1000)} s elapsed)...`), opts.heartbeatMs ?? 10_000)
      : undefined;
    beat?.unref();
    const snapshots: Snapshots = new Map();
    // Judged as clusters come in: the planning work fills the time reads spend waiting.
    const judgement = new Judgement({ ws, stack: ws.config.stack.name, declared, ...(opts.shard ? { shard: opts.shard } : {}), stateOnly: stateOnly(ws, state, declared) });
    try {
      for (const [name, resources] of byProvider) {
        const provider = ws.providers.get(name)!;
        if (!provider.readLive) {
          snapshots.set(name, { error: `provider ${name} cannot be drift-checked (it has no bulk reads)` });
          continue;
        }
        snapshots.set(name, await provider.readLive({
          resources, concurrency: opts.concurrency, signal: budget.signal,
          ...(opts.shard ? { include: (group: string) => inShard(group, opts.shard) } : {}),
          onProgress: (done, of) => { read = done; total = of; },
          onGroupRead: (group, snap) => judgement.groupRead(name, group, snap),
        }));
      }
    } finally {
      clearInterval(beat);
    }
    const report = judgement.finish(snapshots);
    return applyIgnores(report, opts.ignore ?? []);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await closeWorkspace(ws);
  }
}
