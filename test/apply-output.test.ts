import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import type { Io } from '../cli/command';
import { startEmulator } from '../emulator';
import { applyView, type Clock } from '../cli/views/apply';
import { colors } from '../lib/color';
import { bin, tempDir } from './helpers/project';

/**
 * Off a terminal (CI logs, pipes) `eksidp apply` prints one line when a step starts and one when it
 * ends, like Terraform, and none of the provider's wait messages. The emulator's durations are long
 * enough that the provider does wait (cluster CREATING, update InProgress), so those messages exist.
 */

test('apply without a TTY prints one start line and one completion line per resource, nothing else on stderr', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 400, clusterDeleteMs: 50, updateMs: 300 });
  t.teardown(() => em.close());
  const dir = tempDir(t, 'eksidp-apply-output-');
  const stack = fs.readFileSync(path.join(__dirname, 'fixtures', 'emulator', 'stack.tf.json'), 'utf8');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack);

  // Pipes, not a terminal: stdout and stderr are not TTYs in the child.
  const child = spawn(bin, ['apply', '--dir', '.', '--auto-approve'], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_ENDPOINT_URL_EKS: em.url, NO_COLOR: '1', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '100' },
  });
  t.teardown(() => { if (child.exitCode === null) child.kill(); });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 0, stderr);
  t.regex(stdout, /Apply complete! Resources: 3 added, 0 changed, 0 destroyed\./);

  const addresses = ['aws_eks_cluster.main', 'aws_eks_identity_provider_config.corp', 'aws_eks_identity_provider_config.partners'];
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.is(lines.length, addresses.length * 2, stderr);
  for (const a of addresses) {
    const mine = lines.filter((l) => l.startsWith(`${a}: `));
    t.is(mine.length, 2, `${a}:\n${stderr}`);
    t.is(mine[0], `${a}: Creating...`);
    t.regex(mine[1]!, /^[\w.]+: Creation complete after \d+s \[id=[\w:-]+\]$/);
  }
  t.regex(stderr, /^aws_eks_identity_provider_config\.corp: Creation complete after \d+s \[id=emu-main:corp-sso\]$/m);
  // The provider did wait, and said so to the (absent) terminal only.
  t.true(em.calls().DescribeCluster! > 1, 'the emulator made the provider poll');
});

test('on a TTY the view shows the provider\'s wait messages and, from its own 10 s ticker, Still ... [elapsed]; it stops the ticker at the step\'s end', (t) => {
  const render = (isTTY: boolean) => {
    const stderr = Object.assign(new PassThrough(), { isTTY });
    let text = '';
    stderr.on('data', (d) => (text += d));
    const io: Io = { stdout: new PassThrough(), stderr, env: {}, cwd: '.', signal: new AbortController().signal };
    // A clock the test moves: the view, not the engine, measures elapsed time and ticks.
    let now = 1_000_000;
    const tickers: { ms: number; tick: () => void; stopped: boolean }[] = [];
    const clock: Clock = { now: () => now, every: (ms, tick) => { const x = { ms, tick, stopped: false }; tickers.push(x); return () => { x.stopped = true; }; } };
    const view = applyView(io, colors(false), clock);
    const address = 'aws_eks_identity_provider_config.corp';
    view.onEvent({ type: 'pre', address, action: 'create' });
    view.onEvent({ type: 'progress', address, action: 'create', message: 'association of corp-sso to cluster emu-main: CREATING, update InProgress' });
    now += 70_000;
    for (const x of tickers) x.tick();
    now += 5_000;
    view.onEvent({ type: 'post', address, action: 'create', failed: false, id: 'emu-main:corp-sso', diagnostics: [] });
    view.onEvent({ type: 'pre', address: 'aws_eks_cluster.main', action: 'update', id: 'emu-main' });
    view.onEvent({ type: 'post', address: 'aws_eks_cluster.main', action: 'update', failed: true, diagnostics: [{ severity: 'error', summary: 'boom' }] });
    view.close();
    stderr.end();
    return { text, tickers };
  };
  const tty = render(true);
  t.is(tty.text, [
    'aws_eks_identity_provider_config.corp: Creating...',
    'aws_eks_identity_provider_config.corp: association of corp-sso to cluster emu-main: CREATING, update InProgress',
    'aws_eks_identity_provider_config.corp: Still creating... [1m10s elapsed]',
    'aws_eks_identity_provider_config.corp: Creation complete after 1m15s [id=emu-main:corp-sso]',
    'aws_eks_cluster.main: Modifying... [id=emu-main]',
    'aws_eks_cluster.main: update failed',
    '',
  ].join('\n'));
  t.deepEqual(tty.tickers.map((x) => [x.ms, x.stopped]), [[10_000, true], [10_000, true]], 'one 10 s ticker per step, stopped when it ends');
  const plain = render(false);
  t.false(plain.text.includes('InProgress'));
  t.false(plain.text.includes('Still'));
  t.deepEqual(plain.tickers, [], 'no ticker off a terminal');
  t.regex(plain.text, /^aws_eks_identity_provider_config\.corp: Creation complete after 1m15s \[id=emu-main:corp-sso\]$/m);
});

test('a fleet apply: at a terminal one summary line redrawn in place (clusters done / in progress / waiting, changes running, elapsed, slowest) with only failures above it; off a terminal the step lines plus a summary every 30 s', (t) => {
  const render = (isTTY: boolean) => {
    const stderr = Object.assign(new PassThrough(), { isTTY });
    let text = '';
    stderr.on('data', (d) => (text += d));
    const io: Io = { stdout: new PassThrough(), stderr, env: {}, cwd: '.', signal: new AbortController().signal };
    let now = 0;
    const tickers: { ms: number; tick: () => void; stopped: boolean }[] = [];
    const clock: Clock = { now: () => now, every: (ms, tick) => { const x = { ms, tick, stopped: false }; tickers.push(x); return () => { x.stopped = true; }; } };
    const view = applyView(io, colors(false), clock);
    // Three clusters, two replaced configs each (a delete then a create per config).
    const steps = ['a', 'b', 'c'].flatMap((cl) => ['x', 'y'].flatMap((cfg) => (['delete', 'create'] as const).map((action) => ({ address: `aws_eks_identity_provider_config.${cl}_${cfg}`, action, group: `eks-cluster:${cl}` }))));
    view.onEvent({ type: 'begin', steps });
    const step = (cl: string, cfg: string, action: 'delete' | 'create', failed = false) => {
      const address = `aws_eks_identity_provider_config.${cl}_${cfg}`;
      view.onEvent({ type: 'pre', address, action });
      return () => view.onEvent({ type: 'post', address, action, failed, diagnostics: [] });
    };
    const endA = step('a', 'x', 'delete');
    const endB = step('b', 'x', 'delete');
    now += 31_000;
    endA();
    for (const x of tickers) x.tick();
    const endB2 = (endB(), step('b', 'x', 'create', true));
    endB2();
    now += 4_000;
    view.close();
    return { text, tickers };
  };
  const tty = render(true);
  t.deepEqual(tty.tickers.map((x) => [x.ms, x.stopped]), [[1_000, true]], 'one redraw ticker, stopped at the end');
  // Drawn in place (carriage return, erase line), never as lines of its own until the last.
  t.true(tty.text.startsWith('\r\u001b[2KProgress: 0/3 clusters done, 0 in progress, 3 waiting; 0 changes running; 0s elapsed'), JSON.stringify(tty.text.slice(0, 120)));
  t.true(tty.text.includes('\r\u001b[2KProgress: 0/3 clusters done, 2 in progress, 1 waiting; 1 changes running; 31s elapsed; slowest: a (31s)'), JSON.stringify(tty.text));
  t.false(tty.text.includes('Destroying...'), 'no step lines for a fleet at a terminal');
  // A failure still gets its line, above the summary (the summary is drawn again after it).
  t.regex(tty.text, /\r\u001b\[2Kaws_eks_identity_provider_config\.b_x: create failed\nProgress: /);
  t.true(tty.text.endsWith('\r\u001b[2KProgress: 0/3 clusters done, 2 in progress, 1 waiting; 0 changes running; 35s elapsed; slowest: a (35s)\n'), JSON.stringify(tty.text.slice(-200)));

  const plain = render(false);
  t.deepEqual(plain.tickers.map((x) => [x.ms, x.stopped]), [[30_000, true]], 'a summary every 30 s off a terminal');
  t.false(plain.text.includes('\r'), 'nothing drawn in place in a log');
  t.is(plain.text, [
    'aws_eks_identity_provider_config.a_x: Destroying...',
    'aws_eks_identity_provider_config.b_x: Destroying...',
    'aws_eks_identity_provider_config.a_x: Destruction complete after 31s',
    'Progress: 0/3 clusters done, 2 in progress, 1 waiting; 1 changes running; 31s elapsed; slowest: a (31s)',
    'aws_eks_identity_provider_config.b_x: Destruction complete after 31s',
    'aws_eks_identity_provider_config.b_x: Creating...',
    'aws_eks_identity_provider_config.b_x: create failed',
    'Progress: 0/3 clusters done, 2 in progress, 1 waiting; 0 changes running; 35s elapsed; slowest: a (35s)',
    '',
  ].join('\n'));
});
