import test from 'ava';
import { apply } from '../engine/apply';
import { plan } from '../engine/plan';
import { checkpointWait, StateManager, type StateV4 } from '../engine/state';
import type { LockHandle, StateStorage } from '../engine/statemgr';
import { harness } from './fixtures/engine/harness';

/**
 * Apply stores state through checkpoints (engine/state.ts): after each step it asks for a write, and
 * writes coalesce (one in flight, paced by how long the last took) instead of one whole-state write
 * per step, which made a 1,000-cluster rotation spend its time serialising. What must still hold:
 * every change reaches the storage by the end, the order is Terraform's, and a storage that refuses
 * writes stops new changes.
 */

/** A storage in memory that records each write (a copy), taking `writeMs` per write; `fail` refuses them. */
function memoryStorage(opts: { writeMs?: number; fail?: () => boolean } = {}) {
  const writes: StateV4[] = [];
  const storage: StateStorage = {
    location: 'memory://state',
    local: false,
    refresh: async () => writes.at(-1) ?? null,
    persist: async (state) => {
      const copy = structuredClone(state);
      if (opts.writeMs) await new Promise((r) => setTimeout(r, opts.writeMs));
      if (opts.fail?.()) throw new Error('storage refused the write');
      writes.push(copy);
    },
    lock: async (): Promise<LockHandle> => { throw new Error('not used'); },
    lockInfo: async () => null,
    forceUnlock: async () => { throw new Error('not used'); },
  };
  return { storage, writes };
}

const item = (name: string) => ({ schema_version: 0, attributes: { id: name, name }, sensitive_attributes: [] });
const at = (name: string) => ({ mode: 'managed' as const, type: 'memory_item', name, provider: 'provider["registry.terraform.io/hashicorp/memory"]' });

test('checkpoints coalesce: 400 changes, each followed by a checkpoint, make a few writes; the final persist stores all of them in Terraform\'s order', async (t) => {
  const { storage, writes } = memoryStorage({ writeMs: 20 });
  const s = new StateManager(storage, null, false);
  // Names in a scrambled order: each insert must land where Terraform's writer sorts it.
  const names = Array.from({ length: 400 }, (_, i) => `r${String((i * 7919) % 400).padStart(3, '0')}`);
  for (const [i, n] of names.entries()) {
    s.set(at(n), item(n));
    s.checkpoint();
    // Steps end over time, not all at once (80 pauses of 5 ms or more).
    if (i % 5 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await s.persist();
  t.true(writes.length >= 2, `some writes happened while changes went on (${writes.length})`);
  t.true(writes.length <= 40, `writes coalesced: ${writes.length} for 400 changes`);
  const last = writes.at(-1)!;
  t.deepEqual(last.resources.map((r) => r.name), [...names].sort());
  t.deepEqual(writes.map((w) => w.serial), writes.map((_, i) => i + 1), 'one serial per write');
  t.is(s.find('memory_item.r123')?.instances[0]?.attributes.id, 'r123');
  s.set(at('r123'), null);
  t.is(s.find('memory_item.r123'), undefined);
  t.false(s.state.resources.some((r) => r.name === 'r123'));
});

test('a single change is written at once by a checkpoint, without a persist', async (t) => {
  const { storage, writes } = memoryStorage();
  const s = new StateManager(storage, null, false);
  s.set(at('a'), item('a'));
  s.checkpoint();
  for (let i = 0; i < 100 && writes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(writes.length, 1);
  t.false(s.unsaved());
});

test('a storage that refuses writes mid-apply stops new changes; apply says so and its final write fails', async (t) => {
  const h = harness(t);
  // Independent resources, one at a time (parallelism 1), each apply slow enough for the failed write to be seen.
  h.write(Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((n) => [n, { name: n }])), { apply_delay_ms: 100 });
  const { ws } = await h.open();
  const { storage, writes } = memoryStorage({ fail: () => true });
  const state = new StateManager(storage, null, false);
  const p = await plan(ws, state.state, { lineage: state.state.lineage, serial: state.state.serial });
  const started: string[] = [];
  const e = await t.throwsAsync(apply(ws, p, state, { parallelism: 1, onEvent: (ev) => void (ev.type === 'pre' && started.push(ev.address)) }));
  t.regex(e!.message, /storage refused the write/);
  t.is(writes.length, 0);
  t.true(started.length < 5, `new changes stopped after the failed write (${started.join(', ')})`);
  t.true(state.unsaved(), 'what was not stored is still there for the caller to keep (errored.tfstate)');
  t.is(Object.keys(h.cloud().objects).length, started.length, 'each change started was made, no other');
});

test('checkpoint pacing: 9x the last write\'s duration and 9x its CPU time spent since, at most 5 s after it', (t) => {
  // A write that ended at 10 s, took 200 ms and 100 ms of CPU, the process at 3,000 ms of CPU then.
  const last = { endedAt: 10_000, ms: 200, cpuAt: 3_000, cpuMs: 100 };
  // Busy (2 cores): the CPU rule is met about as soon as the time rule.
  t.is(checkpointWait(last, 10_000, 3_000, 2), 1_800, 'right after it: 9 x 200 ms');
  t.is(checkpointWait(last, 11_800, 3_900, 2), 0, '1.8 s later with 900 ms of CPU spent: now');
  // Mostly waiting on the API: held back by the CPU it has not spent, not beyond 5 s.
  t.is(checkpointWait(last, 11_800, 3_100, 2), 400, '800 ms of CPU short: 400 ms at the soonest on 2 cores');
  t.is(checkpointWait(last, 11_800, 3_100, 1), 800);
  const heavy = { ...last, cpuMs: 1_000 };
  t.is(checkpointWait(heavy, 14_000, 3_010, 2), 1_000, 'the 5 s bound');
  t.is(checkpointWait(heavy, 15_000, 3_010, 2), 0);
  // A first write (nothing written yet) and a cheap one: at once.
  t.is(checkpointWait({ endedAt: 0, ms: 0, cpuAt: 0, cpuMs: 0 }, 10_000, 3_000, 2), 0);
  t.is(checkpointWait({ endedAt: 10_000, ms: 0, cpuAt: 3_000, cpuMs: 0 }, 10_000, 3_000, 2), 0);
});
