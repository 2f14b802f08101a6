import { createHash } from 'node:crypto';

/**
 * `--shard i/n`: a deterministic split of the fleet by cluster, so CI matrix jobs each check a part
 * and together check every cluster exactly once. The hash is of the cluster name alone, so a
 * cluster stays in its shard whatever else the stack holds.
 */

export type Shard = { index: number; count: number };

export function parseShard(text: string): Shard | string {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return `--shard must look like i/n (e.g. 2/4), got '${text}'`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) return `--shard ${text}: n must be at least 1`;
  if (index < 1 || index > count) return `--shard ${text}: i must be between 1 and ${count}`;
  return { index, count };
}

export function shardOf(cluster: string, count: number): number {
  const h = createHash('sha256').update(cluster).digest();
  return (h.readUInt32BE(0) % count) + 1;
}

export function inShard(cluster: string, shard: Shard | undefined): boolean {
  return shard === undefined || shardOf(cluster, shard.count) === shard.index;
}
