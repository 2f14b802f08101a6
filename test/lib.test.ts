import test from 'ava';
import { colorEnabled, colors } from '../lib/color';
import { Limiter, mapBounded } from '../lib/concurrency';
import { formatDuration, parseDuration } from '../lib/duration';
import { WaitTimeoutError } from '../providers/eks/wait';

/** The dependency-free helpers every folder shares (lib/). */

test('durations print as Terraform prints them (Go Duration strings, whole seconds): 60 s is 1m0s everywhere', (t) => {
  t.is(formatDuration(0), '0s');
  t.is(formatDuration(999), '0s');
  t.is(formatDuration(45_000), '45s');
  t.is(formatDuration(60_000), '1m0s');
  t.is(formatDuration(70_400), '1m10s');
  t.is(formatDuration(40 * 60_000), '40m0s');
  t.is(formatDuration(3_600_000), '1h0m0s');
  t.is(formatDuration(3_725_000), '1h2m5s');
  // The provider's wait timeout says it the same way as apply's elapsed times.
  t.is(new WaitTimeoutError('cluster c to become ACTIVE', 'CREATING', 60_000).message, 'timeout while waiting for cluster c to become ACTIVE (last status CREATING, after 1m0s)');
  // What prints parses back.
  for (const ms of [0, 45_000, 60_000, 70_000, 3_725_000]) t.is(parseDuration(formatDuration(ms)), ms);
});

test('mapBounded keeps at most N jobs running and returns results in item order', async (t) => {
  let running = 0;
  let most = 0;
  const out = await mapBounded([5, 1, 4, 2, 3, 0], 2, async (n) => {
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, n * 3));
    running--;
    return n * 10;
  });
  t.deepEqual(out, [50, 10, 40, 20, 30, 0]);
  t.is(most, 2);
  t.deepEqual(await mapBounded([], 4, async () => 1), []);
});

test('Limiter runs at most N bodies at once, the waiting ones first come first served, and frees a slot on failure', async (t) => {
  const slots = new Limiter(2);
  const started: number[] = [];
  let running = 0;
  let most = 0;
  const job = (i: number, fail = false) => slots.run(async () => {
    started.push(i);
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, 10));
    running--;
    if (fail) throw new Error(`job ${i} failed`);
    return i;
  });
  const results = await Promise.allSettled([job(0, true), job(1), job(2), job(3), job(4)]);
  t.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  t.deepEqual(started, [0, 1, 2, 3, 4]);
  t.is(most, 2);
});

test('Limiter: low-priority waiters (status polls) go after every normal one waiting, each kind in its order', async (t) => {
  const slots = new Limiter(1);
  const order: string[] = [];
  let release = () => {};
  const first = slots.run(() => new Promise<void>((r) => (release = r)));
  const jobs = [['poll1', 'low'], ['write1', 'normal'], ['poll2', 'low'], ['write2', 'normal']].map(([name, priority]) =>
    slots.run(async () => void order.push(name!), priority as 'low' | 'normal'));
  release();
  await Promise.all([first, ...jobs]);
  t.deepEqual(order, ['write1', 'write2', 'poll1', 'poll2']);
});

test('colour: the flag wins, else a TTY without NO_COLOR; one palette, plain when off', (t) => {
  t.true(colorEnabled({ isTTY: true }, {}, undefined));
  t.true(colorEnabled({ isTTY: true }, { NO_COLOR: '' }, undefined));
  t.false(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }, undefined));
  t.false(colorEnabled({ isTTY: false }, {}, undefined));
  t.true(colorEnabled({ isTTY: false }, { NO_COLOR: '1' }, true));
  t.false(colorEnabled({ isTTY: true }, {}, false));
  // A flag parser's value that is not a boolean (a flag not given) leaves the decision to the stream.
  t.false(colorEnabled({ isTTY: false }, {}, 'yes'));
  t.is(colors(true).green('+'), '\u001b[32m+\u001b[0m');
  t.is(colors(true).dim('x'), '\u001b[2mx\u001b[0m');
  t.is(colors(false).red('x'), 'x');
});
