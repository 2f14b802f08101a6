import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { associations, cli, emulator, fleet, limiter, liveClusters, liveConfigs, prng, readStateFile, type StateFile } from './fixtures/reliability/harness';
import { tempDir } from './helpers/project';
import { writeStack } from './helpers/stacks';
import { until } from './helpers/wait';

/**
 * Crashes, Ctrl-C and lock contention with the real binary and real signals against the emulator.
 * Each crash trial: SIGKILL at a seeded random moment of a 3-cluster x 2-config apply with slow
 * associations, then the state must parse, the next apply must converge, every config must have been
 * associated exactly once, and live objects and state must match one to one.
 */

const CLUSTERS = 3;
const PER_CLUSTER = 2;
const TRIALS = 10;
const slot = limiter(3);
/** Progress lines a full apply prints: per resource one start and one end line. */
const EVENTS = 2 * (CLUSTERS + CLUSTERS * PER_CLUSTER);

function managedIds(state: StateFile | undefined, type: string): string[] {
  return (state?.resources ?? []).filter((r) => r.mode === 'managed' && r.type === type).map((r) => String(r.instances[0]!.attributes.id)).sort();
}

function parses(file: string): boolean {
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
    return s.version === 4 && Array.isArray(s.resources) && typeof s.lineage === 'string';
  } catch {
    return false;
  }
}

for (let trial = 1; trial <= TRIALS; trial++) {
  test(`crash trial ${trial}: SIGKILL mid-apply, then the next apply converges with no config associated twice and nothing orphaned`, (t) => slot(async () => {
    const rnd = prng(1000 + trial);
    const updateMs = Math.round(300 + rnd() * 500);
    const em = await emulator(t, { clusterCreateMs: 150, updateMs });
    const dir = tempDir(t, 'eksidp-crash-');
    writeStack(dir, fleet(em.url, CLUSTERS, PER_CLUSTER));
    const stateFile = path.join(dir, 'terraform.tfstate');

    // Kill at a seeded moment: a random delay (up to one association) after a random progress line,
    // so trials land anywhere from cluster creation to the last association.
    const afterEvent = 1 + Math.floor(rnd() * (EVENTS - 2));
    const killAfter = Math.round(rnd() * updateMs);
    let armed = false;
    const crashed = await cli(dir, ['apply', '--dir', '.', '--auto-approve'], {
      onStderr: (text, child) => {
        if (armed || (text.match(/(Creating|Creation complete)/g) ?? []).length < afterEvent) return;
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfter);
      },
    });
    const killed = crashed.signal === 'SIGKILL';
    t.log(`updateMs ${updateMs}, kill ${killAfter} ms after progress line ${afterEvent}/${EVENTS}: ${killed ? 'killed' : `finished first (exit ${crashed.code})`}; live configs ${liveConfigs(em).size}, in state ${managedIds(readStateFile(dir), 'aws_eks_identity_provider_config').length}`);
    if (!killed) t.is(crashed.code, 0, crashed.stderr);

    // The state file, when there is one, is always whole (atomic rename); so is its backup.
    if (fs.existsSync(stateFile)) t.true(parses(stateFile), 'state file parses after SIGKILL');
    if (fs.existsSync(`${stateFile}.backup`)) t.true(parses(`${stateFile}.backup`), 'backup parses');

    // The dead holder's lock is reported as stale with the command that removes it.
    const lockFile = path.join(dir, '.terraform.tfstate.lock.info');
    if (killed && fs.existsSync(lockFile)) {
      const id = (JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { ID: string }).ID;
      const blocked = await cli(dir, ['apply', '--dir', '.', '--auto-approve']);
      t.is(blocked.code, 1);
      t.true(blocked.stderr.includes(`eksidp force-unlock ${id}`), blocked.stderr);
      t.regex(blocked.stderr, /stale/);
      // No terminal here: without --force the lock is kept (and the message says its holder is gone).
      const asked = await cli(dir, ['force-unlock', id, '--dir', '.']);
      t.is(asked.code, 1);
      t.regex(asked.stderr, /stdin is not a terminal.*is kept\. That process is no longer running on this host\. Pass --force/);
      t.true(fs.existsSync(lockFile));
      const unlock = await cli(dir, ['force-unlock', id, '--dir', '.', '--force']);
      t.is(unlock.code, 0, unlock.stderr);
    }

    const resumed = await cli(dir, ['apply', '--dir', '.', '--auto-approve']);
    t.is(resumed.code, 0, resumed.stderr);
    t.false(fs.existsSync(lockFile));
    // A kill between writing the temp file and renaming it leaves the temp file; the next run removes
    // those of dead writers, and never takes one for state.
    t.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file of a dead writer survives the next apply');

    const assoc = associations(em);
    const want = Array.from({ length: CLUSTERS }, (_, i) => ['okta', 'corp'].slice(0, PER_CLUSTER).map((n) => `rel-c${i}:${n}`)).flat().sort();
    t.deepEqual([...assoc.keys()].sort(), want);
    for (const [id, n] of assoc) t.is(n, 1, `${id} associated ${n} times`);
    t.true(em.updates().every((u) => u.status !== 'Failed'));

    const state = readStateFile(dir);
    const live = liveConfigs(em);
    t.deepEqual(managedIds(state, 'aws_eks_identity_provider_config'), [...live.keys()].sort(), 'live configs and state match one to one');
    t.true([...live.values()].every((s) => s === 'ACTIVE'));
    t.deepEqual(managedIds(state, 'aws_eks_cluster'), [...liveClusters(em).keys()].sort());
    t.true((state?.resources ?? []).every((r) => r.instances.every((i) => i.status !== 'tainted')));

    const plan = await cli(dir, ['plan', '--dir', '.', '--detailed-exitcode']);
    t.is(plan.code, 0, plan.stdout + plan.stderr);
  }));
}

test('Ctrl-C (SIGINT) during apply: nothing new starts, the step in flight is recorded, state saved, exit 1 with a summary', async (t) => {
  const em = await emulator(t, { clusterCreateMs: 100, updateMs: 900 });
  const dir = tempDir(t, 'eksidp-sigint-');
  // One cluster, three configs: EKS runs one association at a time, so two are still to start.
  writeStack(dir, fleet(em.url, 1, 3));
  // Ctrl-C once the first association has reached EKS (seen through the emulator).
  const r = await cli(dir, ['apply', '--dir', '.', '--auto-approve'], {
    onSpawn: (child) => void until('an update', () => em.updates().length > 0).then(() => child.kill('SIGINT')),
  });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /Interrupt received \(SIGINT\)/);
  t.regex(r.stderr, /Apply interrupted: 2 change\(s\) not started \(aws_eks_identity_provider_config\.c0_\w+, aws_eks_identity_provider_config\.c0_\w+\)/);
  t.regex(r.stderr, /Apply failed\. Resources: 1 added, 0 changed, 0 destroyed\. State saved to /);
  // Only the one association that was in flight was ever sent.
  const sentAssoc = em.updates().filter((u) => u.type === 'AssociateIdentityProviderConfig');
  t.is(sentAssoc.length, 1);
  const inFlight = `${sentAssoc[0]!.clusterName}:${sentAssoc[0]!.configName}`;
  const state = readStateFile(dir)!;
  t.deepEqual(managedIds(state, 'aws_eks_cluster'), ['rel-c0']);
  t.deepEqual(managedIds(state, 'aws_eks_identity_provider_config'), [inFlight], 'the in-flight association is recorded in state');
  t.false(fs.existsSync(path.join(dir, '.terraform.tfstate.lock.info')));
  // The next plan shows what is left: the two configs never started (and whatever the interrupted one needs).
  const plan = await cli(dir, ['plan', '--dir', '.', '--json']);
  t.is(plan.code, 0, plan.stderr);
  const creates = (JSON.parse(plan.stdout) as { resource_changes: { address: string; change: { actions: string[] } }[] }).resource_changes
    .filter((c) => c.change.actions.includes('create')).map((c) => c.address);
  t.true(creates.length >= 2, creates.join());
});

test('two applies on one stack: the second fails at once naming the lock holder; the first completes', async (t) => {
  // A slow association keeps the first apply busy however long the second takes to start on a loaded machine.
  const em = await emulator(t, { clusterCreateMs: 100, updateMs: 4000 });
  const dir = tempDir(t, 'eksidp-lock-');
  writeStack(dir, fleet(em.url, 1, 1));
  let second: ReturnType<typeof cli> | undefined;
  let firstPid = 0;
  const first = cli(dir, ['apply', '--dir', '.', '--auto-approve'], {
    onSpawn: (c) => (firstPid = c.pid!),
    onStderr: (text) => { if (!second && text.includes('Creating...')) second = cli(dir, ['apply', '--dir', '.', '--auto-approve']); },
  });
  let firstDone = false;
  void first.then(() => (firstDone = true));
  await until('the second run', () => second !== undefined);
  const r2 = await second!;
  t.false(firstDone, 'the second apply returned while the first was still running');
  const r1 = await first;
  t.is(r1.code, 0, r1.stderr);
  t.is(r2.code, 1, r2.stderr);
  t.regex(r2.stderr, new RegExp(`the state is locked by ${os.userInfo().username}@${os.hostname()} pid ${firstPid} \\(apply since .*lock ID [0-9a-f-]{36}\\)`));
  t.false(/Creating\.\.\./.test(r2.stderr), 'the loser started nothing');
  t.is(em.updates().length, 1);
  t.false(fs.existsSync(path.join(dir, '.terraform.tfstate.lock.info')));
});
