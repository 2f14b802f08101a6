import test from 'ava';
import { DescribeIdentityProviderConfigCommand } from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import type { ObjectValue, RequestSlots } from '../engine/protocol';
import { Limiter } from '../lib/concurrency';
import { createEksProvider } from '../providers/eks/index';
import { idpState } from '../providers/eks/idp';
import { Poller } from '../providers/eks/poll';
import { AdaptiveRate } from '../providers/eks/rate';
import { NO_TAG_CONFIG } from '../providers/eks/settings';
import { sdkClient } from './fixtures/drift/fleet';
import { tempDir } from './helpers/project';
import { writeStack } from './helpers/stacks';
import { CONFIGS, clusterName, rotationStack, seedRotationFleet, writeRotationState } from './fixtures/rotation';
import { captureIo, runCommand } from './helpers/in-process';

/**
 * Issue 16: a fleet change takes the time of the slowest cluster. Requests take one of apply's
 * `--parallelism` slots while in flight, waits for EKS take none; updates stay one at a time per
 * cluster; polls learn how long updates take and share a budget; one adaptive rate per connection.
 */

const KEYS = { region: 'us-east-1', access_key: 'test', secret_key: 'test', skip_credentials_validation: true, skip_requesting_account_id: true };

/** The most updates in progress at once (from their start to when the emulator finishes them). */
function mostAtOnce(updates: readonly { createdAt: number; dueAt: number }[]): number {
  const edges = updates.flatMap((u) => [[u.createdAt, 1], [u.dueAt, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

/** RequestSlots that count: requests run, most in flight at once. */
function countingSlots(limit: number) {
  const inner = new Limiter(limit);
  let inFlight = 0;
  const seen = { runs: 0, most: 0 };
  const slots: RequestSlots = {
    run: (send, priority) => inner.run(async () => {
      seen.runs++;
      seen.most = Math.max(seen.most, ++inFlight);
      try {
        return await send();
      } finally {
        inFlight--;
      }
    }, priority),
  };
  return { slots, seen };
}

test('the EKS provider sends every request of a change through the engine slots and waits outside them', async (t) => {
  const UPDATE_MS = 1_000;
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  t.teardown(() => emu.close());
  const admin = sdkClient(emu.url);
  t.teardown(() => admin.destroy());
  const N = 6;
  await seedRotationFleet(admin, 'slot-', N);
  const p = createEksProvider({ pollInitialMs: 100, pollMaxMs: 400, maxAttempts: 3 });
  t.teardown(() => p.close?.());
  t.deepEqual((await p.configure({ config: { ...KEYS, endpoints: [{ eks: emu.url }] }, env: {} })).diagnostics, []);
  t.true(p.getSchema().capabilities?.requestSlots === true, 'the provider declares it');

  const priors = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const out = await admin.send(new DescribeIdentityProviderConfigCommand({ clusterName: clusterName('slot-', i), identityProviderConfig: { type: 'oidc', name: CONFIGS[0].name } }));
    return idpState(out.identityProviderConfig!.oidc!, null, NO_TAG_CONFIG, 'refresh');
  }));
  emu.setFaults({ updateMs: UPDATE_MS, latencyMs: 5 });
  emu.resetCalls();
  const { slots, seen } = countingSlots(1);
  const since = Date.now();
  const results = await Promise.all(priors.map((prior: ObjectValue, i) => p.applyResourceChange({
    typeName: 'aws_eks_identity_provider_config', address: `aws_eks_identity_provider_config.c${i}`, priorState: prior, plannedState: null, config: null,
    timeouts: {}, idempotencyToken: `slots-${i}`, progress: () => {}, requests: slots,
  })));
  t.deepEqual(results.flatMap((r) => r.diagnostics), []);
  t.true(results.every((r) => r.newState === null));
  const calls = Object.values(emu.calls()).reduce((a, b) => a + b, 0);
  t.is(seen.runs, calls, 'every API call went through a slot');
  t.is(seen.most, 1, 'never more requests in flight than slots');
  // Holding the one slot while waiting, no two updates could ever run at once (whatever the machine's load).
  const most = mostAtOnce(emu.updates().filter((u) => u.createdAt >= since));
  t.true(most >= N / 2, `at most ${most} of ${N} disassociations in progress at once`);
});

test('a fleet rotation through the CLI: clusters in parallel with one request slot, one update at a time per cluster, a clean plan after', async (t) => {
  const UPDATE_MS = 500;
  const N = 4;
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  t.teardown(() => emu.close());
  const dir = tempDir(t, 'eksidp-fleet-');
  const admin = sdkClient(emu.url);
  t.teardown(() => admin.destroy());
  await seedRotationFleet(admin, 'fleet-', N);
  await writeRotationState(admin, dir, 'fleet-', N);
  writeStack(dir, rotationStack('fleet-', N, emu.url, 1));
  emu.setFaults({ updateMs: UPDATE_MS, latencyMs: 5 });
  const since = Date.now();
  const env = { EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200' };
  let io = captureIo(dir, env);
  t.is(await runCommand(['apply', '--dir', '.', '--auto-approve', '--parallelism', '1'], io), 0, io.err());
  t.regex(io.out(), /Apply complete! Resources: 8 added, 0 changed, 8 destroyed\./);
  const updates = emu.updates().filter((u) => u.createdAt >= since);
  t.is(updates.length, N * 4);
  t.true(updates.every((u) => u.status === 'Successful'));
  // One update at a time per cluster (the emulator would answer 409), clusters overlapping each other.
  for (let i = 0; i < N; i++) {
    const mine = updates.filter((u) => u.clusterName === clusterName('fleet-', i)).sort((a, b) => a.createdAt - b.createdAt);
    for (let j = 1; j < mine.length; j++) t.true(mine[j]!.createdAt >= mine[j - 1]!.dueAt, `cluster ${i}: updates overlapped`);
  }
  // With --parallelism 1 holding its slot while waiting (Terraform's way), no two updates would overlap.
  const most = mostAtOnce(updates);
  t.true(most >= 2, `at most ${most} clusters updating at once`);
  io = captureIo(dir, env);
  t.is(await runCommand(['plan', '--dir', '.', '--detailed-exitcode'], io), 0, io.out() + io.err());
});

test('the poller learns how long updates take: later waits check first just before the end, then at the floor', async (t) => {
  const poller = new Poller({ initialMs: 200, maxMs: 2_000 });
  t.is(poller.floorMs, 200);
  t.is(new Poller({ initialMs: 20, maxMs: 100 }).floorMs, 20, 'faster where the tuning asks (tests)');
  const ctx = () => ({ deadline: Date.now() + 10_000, initialMs: 200, maxMs: 2_000 });
  const UPDATE = 300;
  const update = () => {
    const started = Date.now();
    const checks: number[] = [];
    return {
      checks,
      check: async () => {
        checks.push(Date.now() - started);
        return Date.now() - started >= UPDATE ? { done: true as const, value: undefined } : { done: false as const, status: 'CREATING' };
      },
    };
  };
  const a = update();
  await poller.wait('k', 'first', ctx(), true, a.check);
  t.true(a.checks[0]! < 100, `nothing learned: the first check is at once (not after the tuning's 200 ms), at ${a.checks[0]} ms`);
  t.true(a.checks.length >= 2, `first wait: ${a.checks.join(", ")}`);
  // Then on the tuning's backoff (200 ms, x1.5), not back to back: 0, ~200, ~500 ms at most.
  t.true(a.checks.length <= 5, `first wait polled ${a.checks.length} times`);
  const expected = poller.expected('k')!;
  // Between its last check that found it running and the one that found it done (the two clocks start a moment apart).
  t.true(expected > 0 && expected <= a.checks[a.checks.length - 1]! + 20, `learned ${expected} ms from checks at ${a.checks.join(', ')}`);
  const b = update();
  await poller.wait('k', 'second', ctx(), true, b.check);
  t.true(b.checks[0]! >= 0.85 * expected, `second wait's first check at ${b.checks[0]} ms, expected ${expected} ms`);
  t.true(b.checks.length <= 2, `second wait: ${b.checks.join(', ')}`);
  for (let i = 1; i < b.checks.length; i++) t.true(b.checks[i]! - b.checks[i - 1]! >= 190, 'not faster than the floor');
  // Not fresh (resuming a change found under way): checked at once, and not learned from.
  const c = update();
  await poller.wait('k', 'resumed', ctx(), false, c.check);
  t.true(c.checks[0]! < 0.5 * expected, `resumed: first check at ${c.checks[0]} ms, not after the learned ${expected} ms`);
});

test('a fleet\'s first wave: a few waits probe until one ends, the rest sleep and then plan from what it took', async (t) => {
  const poller = new Poller({ initialMs: 20, maxMs: 3_000 });
  const UPDATE = 300;
  const N = 20;
  const started = Date.now();
  let firstDone: number | undefined;
  const checks: { wait: number; at: number }[] = [];
  await Promise.all(Array.from({ length: N }, (_, i) => poller.wait('k', `wait ${i}`, { deadline: Date.now() + 20_000, initialMs: 20, maxMs: 3_000 }, true, async () => {
    const at = Date.now() - started;
    checks.push({ wait: i, at });
    if (at < UPDATE) return { done: false as const, status: 'CREATING' };
    firstDone ??= at;
    return { done: true as const, value: undefined };
  })));
  t.truthy(firstDone);
  const early = new Set(checks.filter((c) => c.at < firstDone!).map((c) => c.wait));
  t.true(early.size <= 3, `waits that polled before the first ended: ${[...early].join(', ')}`);
  // Every wait ended long before the sleepers' own 3 s delay: the first one's end woke them.
  t.true(checks.every((c) => c.at < 2_500), `last check at ${Math.max(...checks.map((c) => c.at))} ms`);
  t.true(checks.length < N * 3, `${checks.length} checks for ${N} waits`);
});

test('the polling budget is shared: all waits together poll no more often than it allows', async (t) => {
  const BUDGET = 10;
  const poller = new Poller({ initialMs: 20, maxMs: 100 }, () => BUDGET);
  const started = Date.now();
  const times: number[] = [];
  const done = 1_000;
  await Promise.all(Array.from({ length: 8 }, (_, i) => poller.wait(`w${i}`, `wait ${i}`, { deadline: Date.now() + 10_000, initialMs: 20, maxMs: 100 }, true, async () => {
    times.push(Date.now() - started);
    return Date.now() - started >= done ? { done: true as const, value: undefined } : { done: false as const, status: 'x' };
  })));
  // Without the budget: 8 waits polling every 20-100 ms for a second make ~100 checks.
  const seconds = (Date.now() - started) / 1000;
  t.true(times.length <= BUDGET * seconds + 8, `${times.length} checks in ${seconds.toFixed(2)} s`);
  t.is(poller.pollCount, times.length);
});

test('one adaptive rate: unlimited until throttled, then 0.7x what was sent, waiters released in order, back along a cubic', async (t) => {
  const rate = new AdaptiveRate();
  for (let i = 0; i < 40; i++) await rate.getSendToken();
  t.is(rate.snapshot().rate, Number.POSITIVE_INFINITY);
  rate.updateClientSendingRate({ errorType: 'THROTTLING' });
  const limited = rate.snapshot().rate;
  t.true(Math.abs(limited - 28) < 1, `40 sent in the last second, then ${limited}/s`);
  // Throttles answered for requests already sent do not cut the rate again at once.
  rate.updateClientSendingRate({ errorType: 'THROTTLING' });
  t.is(rate.snapshot().rate, limited);
  const started = Date.now();
  const order: number[] = [];
  await Promise.all(Array.from({ length: 7 }, (_, i) => rate.getSendToken().then(() => order.push(i))));
  const elapsed = Date.now() - started;
  t.deepEqual(order, [0, 1, 2, 3, 4, 5, 6]);
  t.true(elapsed >= (6 / limited) * 1000 * 0.9, `7 tokens at ${limited}/s took ${elapsed} ms`);
  t.like(rate.snapshot(), { throttles: 2 });

  // The recovery, on a clock of our own: 0.7x right after, the old rate after the cubic's window, more later.
  let now = 1_000_000;
  const r = new AdaptiveRate({ now: () => now });
  for (let i = 0; i < 50; i++) await r.getSendToken();
  r.updateClientSendingRate({ errorType: 'THROTTLING' });
  t.is(r.snapshot().rate, 35);
  const window = Math.cbrt((50 * 0.3) / 0.4);
  now += window * 1000;
  r.updateClientSendingRate({});
  t.true(Math.abs(r.snapshot().rate - 50) < 0.01);
  now += 5_000;
  r.updateClientSendingRate({});
  t.true(r.snapshot().rate > 50);
});

test('polls take the rate the other requests leave: a spare token goes to a poll only when no request waits', async (t) => {
  const rate = new AdaptiveRate();
  t.is(rate.whenSpare(), undefined, 'before any throttle, a poll goes at once');
  for (let i = 0; i < 20; i++) await rate.getSendToken();
  rate.updateClientSendingRate({ errorType: 'THROTTLING' });
  const limited = rate.snapshot().rate;
  t.true(limited > 5 && limited < 20, `${limited}/s`);
  const order: string[] = [];
  // Two requests first (the second queues whatever the bucket holds), then polls, then more requests:
  // every request is sent before any poll.
  const ahead = [0, 1].map((i) => rate.getSendToken().then(() => order.push(`ahead ${i}`)));
  const polls = Array.from({ length: 3 }, (_, i) => {
    const turn = rate.whenSpare();
    t.truthy(turn, 'a poll waits while requests are queued');
    return turn!.then(() => rate.getSendToken()).then(() => order.push(`poll ${i}`));
  });
  const requests = Array.from({ length: 3 }, (_, i) => rate.getSendToken().then(() => order.push(`request ${i}`)));
  await Promise.all([...ahead, ...polls, ...requests]);
  t.deepEqual(order, ['ahead 0', 'ahead 1', 'request 0', 'request 1', 'request 2', 'poll 0', 'poll 1', 'poll 2']);

  // An aborted poll stops waiting at once, ahead of the requests queued before it.
  const ac = new AbortController();
  let sent = 0;
  const blocked = Array.from({ length: 3 }, () => rate.getSendToken().then(() => sent++));
  const waiting = rate.whenSpare(ac.signal);
  t.truthy(waiting);
  ac.abort();
  await waiting;
  t.true(sent < 3, `${sent} of the requests ahead were sent before the aborted poll returned`);
  await Promise.all(blocked);
});
