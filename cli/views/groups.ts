import type { ApplyEvent, StepKind } from '../../engine/apply';

/**
 * Apply's steps counted per group (the provider's concurrency key: one EKS cluster, whose updates run
 * one at a time), from the engine's events alone: what the fleet summary line (views/apply.ts) and
 * the JSON view's per-cluster summary (views/apply-json.ts) show. Pure bookkeeping, no output.
 */

type Group = { total: number; started: number; ended: number; failed: number; firstStart?: number; lastEnd?: number };

export type GroupSummary = {
  /** Groups with every step ended; in progress: some started, not all ended; waiting: none started. */
  done: number;
  inProgress: number;
  waiting: number;
  total: number;
  /** Steps running now (each an update in flight or waited for). */
  running: number;
  /** The group running longest (unfinished), else the longest finished chain. */
  slowest?: { group: string; ms: number };
  /** "clusters" when every group is an EKS cluster, else "groups". */
  noun: string;
};

/** One group's chain: from its first step's start to its last step's end. */
export type GroupChain = { group: string; ms: number; steps: number; failed: number; done: boolean };

const CLUSTER_KEY = 'eks-cluster:';

/** A group's name for people: an EKS cluster's key is its name. */
export function groupName(group: string): string {
  return group.startsWith(CLUSTER_KEY) ? group.slice(CLUSTER_KEY.length) : group;
}

export class GroupTracker {
  private readonly groups = new Map<string, Group>();
  private readonly stepGroup = new Map<string, string>();
  private running = 0;

  /** Whether the plan spans more than one group: a fleet, for which the summary is worth a line. */
  get fleet(): boolean {
    return this.groups.size > 1;
  }

  onEvent(ev: ApplyEvent, now: number): void {
    if (ev.type === 'begin') {
      for (const s of ev.steps) {
        // A step of no group is a group of its own (its address).
        const g = s.group ?? s.address;
        this.stepGroup.set(stepKey(s.address, s.action), g);
        const group = this.groups.get(g) ?? { total: 0, started: 0, ended: 0, failed: 0 };
        group.total++;
        this.groups.set(g, group);
      }
      return;
    }
    const group = this.groups.get(this.stepGroup.get(stepKey(ev.address, ev.action)) ?? '');
    if (!group) return;
    if (ev.type === 'pre') {
      group.started++;
      group.firstStart ??= now;
      this.running++;
    } else if (ev.type === 'post') {
      group.ended++;
      if (ev.failed) group.failed++;
      group.lastEnd = now;
      this.running--;
    }
  }

  summary(now: number): GroupSummary {
    let done = 0, inProgress = 0, waiting = 0;
    let slowest: { group: string; ms: number } | undefined;
    let longestDone: { group: string; ms: number } | undefined;
    for (const [name, g] of this.groups) {
      if (g.started === 0) waiting++;
      else if (g.ended >= g.total) {
        done++;
        const ms = (g.lastEnd ?? now) - (g.firstStart ?? now);
        if (!longestDone || ms > longestDone.ms) longestDone = { group: name, ms };
      } else {
        inProgress++;
        const ms = now - (g.firstStart ?? now);
        if (!slowest || ms > slowest.ms) slowest = { group: name, ms };
      }
    }
    const noun = [...this.groups.keys()].every((g) => g.startsWith(CLUSTER_KEY)) ? 'clusters' : 'groups';
    const best = slowest ?? longestDone;
    return { done, inProgress, waiting, total: this.groups.size, running: this.running, ...(best ? { slowest: best } : {}), noun };
  }

  /** Every group that started, longest chain first. */
  chains(now: number): GroupChain[] {
    const out: GroupChain[] = [];
    for (const [name, g] of this.groups) {
      if (g.firstStart === undefined) continue;
      const done = g.ended >= g.total;
      out.push({ group: name, ms: (done ? g.lastEnd ?? now : now) - g.firstStart, steps: g.ended, failed: g.failed, done });
    }
    return out.sort((a, b) => b.ms - a.ms || (a.group < b.group ? -1 : 1));
  }
}

function stepKey(address: string, action: StepKind): string {
  return `${address}\u0000${action}`;
}
