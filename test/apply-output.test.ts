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
  const stack = fs.readFileSync(path.join(__dirname, 'fixtures', 'emulator', 'stack.tf.json'), 'utf8').replace('__EKS_ENDPOINT__', em.url);
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), stack);

  // Pipes, not a terminal: stdout and stderr are not TTYs in the child.
  const child = spawn(bin, ['apply', '--dir', '.', '--auto-approve'], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '100' },
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
