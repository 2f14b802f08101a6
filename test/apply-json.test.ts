import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import type { Io } from '../cli/command';
import type { Clock } from '../cli/views/apply';
import { JsonUi } from '../cli/views/apply-json';
import { startEmulator } from '../emulator';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { terraform, terraformTest } from './helpers/terraform';

/**
 * `eksidp apply --json` against `terraform apply -json` (the oracle) on the same configuration: the
 * same message types in the same order, with the same payload keys, resources and actions.
 */

type Line = Record<string, unknown> & { type: string; '@message': string };

const parse = (stdout: string): Line[] => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);

/** What must agree: type, level, module, the payload's keys, and per hook/change its resource and action. */
function shape(l: Line) {
  const payload = Object.keys(l).filter((k) => !k.startsWith('@') && k !== 'type').sort();
  const hook = l.hook as { resource: unknown; action: string } | undefined;
  const change = l.change as { resource: unknown; action: string } | undefined;
  return {
    type: l.type, level: l['@level'], module: l['@module'],
    // The version line names the program: `terraform` there, `eksidp` here.
    payload: l.type === 'version' ? payload.filter((k) => k !== 'terraform' && k !== 'eksidp') : payload,
    ...(hook ? { hookKeys: Object.keys(hook).sort(), resource: hook.resource, action: hook.action } : {}),
    ...(change ? { changeKeys: Object.keys(change).sort(), resource: change.resource, action: change.action } : {}),
    ...(l.type === 'change_summary' ? { changes: l.changes, message: l['@message'] } : {}),
    ...(l.type === 'outputs' ? { outputs: l.outputs, message: l['@message'] } : {}),
    // Messages agree but for the program's name and version, ids (cluster names differ) and durations.
    message: l['@message'].replace(/^(Terraform|eksidp) \S+$/, '<program> <version>').replace(/\[id=[^\]]*\]/, '[id=…]').replace(/after \d+s/, 'after …'),
  };
}

const STACK = fs.readFileSync(path.join(__dirname, 'fixtures', 'emulator', 'stack.tf.json'), 'utf8');

terraformTest(test, 'apply --json prints the lines terraform apply -json prints, then a per-cluster summary; destroy --json too', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: 100 });
  t.teardown(() => em.close());
  const env = { AWS_ENDPOINT_URL_EKS: em.url, AWS_EC2_METADATA_DISABLED: 'true' };
  // One emulator, two clusters: the same configuration but for the cluster's name.
  const tfDir = tempDir(t, 'eksidp-json-tf-');
  const ourDir = tempDir(t, 'eksidp-json-ours-');
  // With outputs (one sensitive) whose values do not name the cluster: the outputs lines compare whole.
  const withOutputs = JSON.parse(STACK) as Record<string, unknown>;
  withOutputs.output = { client: { value: '${aws_eks_identity_provider_config.corp.oidc[0].client_id}' }, secret: { value: 'x', sensitive: true } };
  const config = JSON.stringify(withOutputs, null, 2);
  fs.writeFileSync(path.join(tfDir, 'main.tf.json'), config.replaceAll('emu-main', 'emu-tf'));
  fs.writeFileSync(path.join(ourDir, 'cdk.tf.json'), config);
  const eksidp = async (argv: string[]) => {
    const io = captureIo(ourDir, { ...env, EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '100' });
    const code = await runCommand([...argv, '--dir', '.'], io);
    return { code, stdout: io.out(), stderr: io.err() };
  };
  const tf = (args: string[]) => terraform(tfDir, [...args, '-input=false', '-no-color'], env);

  const [init, ours] = await Promise.all([tf(['init']), eksidp(['apply', '--json', '--auto-approve'])]);
  t.is(init.code, 0, init.stderr);
  t.is(ours.code, 0, ours.stdout + ours.stderr);
  t.is(ours.stderr, '', 'nothing but JSON lines, on stdout');
  const theirs = await tf(['apply', '-json', '-auto-approve']);
  t.is(theirs.code, 0, theirs.stdout + theirs.stderr);

  const mine = parse(ours.stdout);
  const last = mine.pop()!;
  t.deepEqual(mine.map(shape), parse(theirs.stdout).map(shape));
  t.true(mine.some((l) => l.type === 'apply_complete'), 'the comparison covers apply lines');
  t.deepEqual(mine.filter((l) => l.type === 'outputs').map((l) => Object.keys(l.outputs as object)), [['client', 'secret'], ['client', 'secret']]);
  t.like(mine[0], { type: 'version', ui: '1.2', '@message': `eksidp ${mine[0]!.eksidp as string}` });
  // Beyond Terraform: one cluster, its chain of three creations.
  t.is(last.type, 'eksidp_cluster_summary');
  const clusters = last.clusters as { cluster: string; duration_seconds: number; steps: number; failed: number; done: boolean }[];
  t.like(clusters, [{ cluster: 'emu-main', steps: 3, failed: 0, done: true }]);
  t.true(clusters[0]!.duration_seconds > 0);

  // Again on the state each tool wrote, with a tag added to one config (an update in place): the
  // plan's refresh reads come first, refresh_start and refresh_complete per resource as Terraform
  // 1.11's hooks print them. Their order across resources is the reads' (parallel in both tools; in
  // Terraform's graph walk the cluster's come first), so they are compared as a set, each resource's
  // start before its complete, all before the first planned_change.
  const tagged = (text: string) => {
    const o = JSON.parse(text) as { resource: { aws_eks_identity_provider_config: { corp: { tags: Record<string, string> } } } };
    o.resource.aws_eks_identity_provider_config.corp.tags = { owner: 'identity', tier: 'gold' };
    return JSON.stringify(o, null, 2);
  };
  fs.writeFileSync(path.join(tfDir, 'main.tf.json'), tagged(config.replaceAll('emu-main', 'emu-tf')));
  fs.writeFileSync(path.join(ourDir, 'cdk.tf.json'), tagged(config));
  const ours2 = await eksidp(['apply', '--json', '--auto-approve']);
  t.is(ours2.code, 0, ours2.stdout + ours2.stderr);
  const theirs2 = await tf(['apply', '-json', '-auto-approve']);
  t.is(theirs2.code, 0, theirs2.stdout + theirs2.stderr);
  const isRefresh = (l: Line) => l.type === 'refresh_start' || l.type === 'refresh_complete';
  const mine2 = parse(ours2.stdout);
  mine2.pop();
  // resource_drift is not printed by eksidp (README); Terraform reports one here for the cluster it
  // created (a value the provider sets on create and reads back otherwise).
  const their2 = parse(theirs2.stdout).filter((l) => l.type !== 'resource_drift');
  t.deepEqual(mine2.filter((l) => !isRefresh(l)).map(shape), their2.filter((l) => !isRefresh(l)).map(shape));
  const refreshSet = (ls: Line[]) => ls.filter(isRefresh).map((l) => JSON.stringify(shape(l))).sort();
  t.deepEqual(refreshSet(mine2), refreshSet(their2));
  t.is(refreshSet(mine2).length, 6, 'three resources, a start and a complete each');
  for (const ls of [mine2, their2]) {
    const firstPlanned = ls.findIndex((l) => l.type === 'planned_change');
    const at = (type: string, addr: string) => ls.findIndex((l) => l.type === type && (l.hook as { resource: { addr: string } }).resource.addr === addr);
    for (const addr of ['aws_eks_cluster.main', 'aws_eks_identity_provider_config.corp', 'aws_eks_identity_provider_config.partners']) {
      t.true(at('refresh_start', addr) > 0 && at('refresh_start', addr) < at('refresh_complete', addr) && at('refresh_complete', addr) < firstPlanned, addr);
    }
  }
  t.like(mine2.find((l) => l.type === 'refresh_complete' && (l.hook as { resource: { addr: string } }).resource.addr === 'aws_eks_cluster.main'), {
    '@message': 'aws_eks_cluster.main: Refresh complete [id=emu-main]',
    hook: { id_key: 'id', id_value: 'emu-main', resource: { addr: 'aws_eks_cluster.main', resource_type: 'aws_eks_cluster' } },
  });

  // Destroy, without Terraform beside it: the AWS provider waits about a minute for a cluster's
  // deletion whatever the emulator's speed. Terraform 1.11.4's destroy -json on this very stack printed
  // (measured once) these types, the plan's output deletions, and no outputs after the destroy (the
  // three resources' refresh lines first, in the order of the reads). Its planned_change lines came
  // in its graph walk's order (dependents first), which is not specified; eksidp lists the plan's order.
  const ourDestroy = await eksidp(['destroy', '--json', '--auto-approve']);
  t.is(ourDestroy.code, 0, ourDestroy.stdout + ourDestroy.stderr);
  const destroyed = parse(ourDestroy.stdout);
  const destroyRefresh = destroyed.splice(1, 6);
  t.deepEqual(destroyRefresh.map((l) => l.type).sort(), ['refresh_complete', 'refresh_complete', 'refresh_complete', 'refresh_start', 'refresh_start', 'refresh_start']);
  t.deepEqual(destroyed.map((l) => l.type), [
    'version', 'planned_change', 'planned_change', 'planned_change', 'change_summary', 'outputs',
    'apply_start', 'apply_complete', 'apply_start', 'apply_complete', 'apply_start', 'apply_complete',
    'change_summary', 'eksidp_cluster_summary',
  ]);
  t.deepEqual(destroyed[5]!.outputs, { client: { sensitive: false, action: 'delete' }, secret: { sensitive: true, action: 'delete' } });
  const hooks = destroyed.filter((l) => l.type === 'apply_complete').map((l) => l.hook as { action: string; resource: { addr: string }; id_key?: string });
  t.deepEqual(hooks.map((h) => [h.resource.addr, h.action, h.id_key]), [
    ['aws_eks_identity_provider_config.partners', 'delete', undefined],
    ['aws_eks_identity_provider_config.corp', 'delete', undefined],
    ['aws_eks_cluster.main', 'delete', undefined],
  ]);
  t.like(destroyed[12], { '@message': 'Destroy complete! Resources: 3 destroyed.', changes: { add: 0, change: 0, import: 0, remove: 3, operation: 'destroy' } });
});

test('--json without --auto-approve or a saved plan is refused as Terraform refuses -json: a diagnostic line, exit 1, no API call', async (t) => {
  const em = await startEmulator({ port: 0 });
  t.teardown(() => em.close());
  const dir = tempDir(t, 'eksidp-json-refuse-');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), STACK);
  for (const cmd of ['apply', 'destroy']) {
    const io = captureIo(dir, { AWS_ENDPOINT_URL_EKS: em.url, AWS_EC2_METADATA_DISABLED: 'true' });
    t.is(await runCommand([cmd, '--json', '--dir', '.'], io), 1);
    const lines = parse(io.out());
    t.deepEqual(lines.map((l) => l.type), ['version', 'diagnostic'], cmd);
    t.like(lines[1], { '@level': 'error', '@message': 'Error: Plan file or auto-approve required', diagnostic: { severity: 'error', summary: 'Plan file or auto-approve required' } });
  }
  t.deepEqual(em.calls(), {});
  t.false(fs.existsSync(path.join(dir, 'terraform.tfstate')));
});

test('apply PLANFILE --json needs no --auto-approve: the saved plan\'s lines, the apply\'s, the outputs', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 50, clusterDeleteMs: 50, updateMs: 50 });
  t.teardown(() => em.close());
  const dir = tempDir(t, 'eksidp-json-saved-');
  const stack = JSON.parse(STACK) as Record<string, unknown>;
  stack.output = { cluster: { value: '${aws_eks_cluster.main.name}' }, secret: { value: 'x', sensitive: true } };
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(stack));
  const env = { AWS_ENDPOINT_URL_EKS: em.url, AWS_EC2_METADATA_DISABLED: 'true', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '100' };
  const planIo = captureIo(dir, env);
  t.is(await runCommand(['plan', '--dir', '.', '--out', 'saved.tfplan'], planIo), 0, planIo.err());
  const io = captureIo(dir, env);
  t.is(await runCommand(['apply', 'saved.tfplan', '--json'], io), 0, io.out() + io.err());
  const lines = parse(io.out());
  t.deepEqual(lines.map((l) => l.type), [
    'version', 'planned_change', 'planned_change', 'planned_change', 'change_summary', 'outputs',
    'apply_start', 'apply_complete', 'apply_start', 'apply_complete', 'apply_start', 'apply_complete',
    'change_summary', 'outputs', 'eksidp_cluster_summary',
  ]);
  t.deepEqual(lines[5]!.outputs, { cluster: { sensitive: false, action: 'create' }, secret: { sensitive: true, action: 'create' } });
  t.deepEqual(lines[13]!.outputs, { cluster: { sensitive: false, type: 'string', value: 'emu-main' }, secret: { sensitive: true, type: 'string' } });
});

test('a failed apply --json: apply_errored, the error as a diagnostic line, no change summary or outputs, the cluster summary with the failure; exit 1', async (t) => {
  // Every association the emulator starts fails (as an EKS update ending Failed).
  const em = await startEmulator({ port: 0, clusterCreateMs: 50, clusterDeleteMs: 50, updateMs: 50, failUpdateRate: 1 });
  t.teardown(() => em.close());
  const dir = tempDir(t, 'eksidp-json-fail-');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), STACK);
  const io = captureIo(dir, { AWS_ENDPOINT_URL_EKS: em.url, AWS_EC2_METADATA_DISABLED: 'true', EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '100' });
  t.is(await runCommand(['apply', '--dir', '.', '--json', '--auto-approve'], io), 1);
  const lines = parse(io.out());
  const types = lines.map((l) => l.type);
  t.deepEqual(types.slice(-4), ['apply_start', 'apply_errored', 'diagnostic', 'eksidp_cluster_summary'], io.out());
  t.false(types.includes('outputs') || types.filter((x) => x === 'change_summary').length > 1);
  t.like(lines.at(-3), { hook: { action: 'create', resource: { addr: 'aws_eks_identity_provider_config.corp' } } });
  t.regex(lines.at(-3)!['@message'], /^aws_eks_identity_provider_config\.corp: Creation errored after \d+s$/);
  t.like(lines.at(-2), { '@level': 'error', diagnostic: { severity: 'error', address: 'aws_eks_identity_provider_config.corp' } });
  t.like(lines.at(-1), { clusters: [{ cluster: 'emu-main', steps: 2, failed: 1, done: false }] });
});

test('apply_progress every 10 s per running step, apply_errored for a failed one, and each cluster\'s chain in the summary', (t) => {
  const stdout = new PassThrough();
  let text = '';
  let writes = 0;
  stdout.on('data', (d) => (text += d));
  const write = stdout.write.bind(stdout);
  stdout.write = ((chunk: string) => { writes++; return write(chunk); }) as typeof stdout.write;
  const io: Io = { stdout, stderr: new PassThrough(), env: {}, cwd: '.', signal: new AbortController().signal };
  let now = 1_000_000;
  const tickers: { tick: () => void; stopped: boolean }[] = [];
  const clock: Clock = { now: () => now, every: (_ms, tick) => { const x = { tick, stopped: false }; tickers.push(x); return () => { x.stopped = true; }; } };
  const advance = (ms: number) => { now += ms; for (const x of tickers) if (!x.stopped) x.tick(); };
  const ui = new JsonUi(io, clock);
  const view = ui.applyView();
  const a = 'aws_eks_identity_provider_config.a', b = 'aws_eks_identity_provider_config.b["x"]';
  view.onEvent({ type: 'begin', steps: [{ address: a, action: 'update', group: 'eks-cluster:slow' }, { address: b, action: 'create', group: 'eks-cluster:fast' }] });
  view.onEvent({ type: 'pre', address: a, action: 'update', id: 'slow:a' });
  view.onEvent({ type: 'pre', address: b, action: 'create' });
  advance(10_000);
  view.onEvent({ type: 'post', address: b, action: 'create', failed: true, diagnostics: [] });
  advance(10_000);
  advance(10_000);
  view.onEvent({ type: 'post', address: a, action: 'update', failed: false, id: 'slow:a', diagnostics: [] });
  view.close();
  ui.clusterSummary();
  // One write per event-loop turn: everything above happened in this one, so nothing is out yet.
  t.is(text, '');
  t.is(writes, 0);
  ui.flush();
  t.is(writes, 1, 'the turn\'s lines went out in one write');
  const lines = parse(text);
  t.deepEqual(lines.map((l) => l['@message']), [
    `${a}: Modifying... [id=slow:a]`,
    `${b}: Creating...`,
    `${a}: Still modifying... [10s elapsed]`,
    `${b}: Still creating... [10s elapsed]`,
    `${b}: Creation errored after 10s`,
    `${a}: Still modifying... [20s elapsed]`,
    `${a}: Still modifying... [30s elapsed]`,
    `${a}: Modifications complete after 30s [id=slow:a]`,
    'Clusters: 2; slowest: slow (30s)',
  ]);
  t.like(lines[1], { type: 'apply_start', hook: { action: 'create', resource: { addr: b, resource_type: 'aws_eks_identity_provider_config', resource_name: 'b', resource_key: 'x', implied_provider: 'aws', module: '' } } });
  t.like(lines[4], { type: 'apply_errored', hook: { action: 'create', elapsed_seconds: 10 } });
  t.like(lines[7], { type: 'apply_complete', hook: { id_key: 'id', id_value: 'slow:a', elapsed_seconds: 30 } });
  t.deepEqual(lines[8]!.clusters, [
    { cluster: 'slow', group: 'eks-cluster:slow', duration_seconds: 30, steps: 1, failed: 0, done: true },
    { cluster: 'fast', group: 'eks-cluster:fast', duration_seconds: 10, steps: 1, failed: 1, done: true },
  ]);
  // Go's encoding/json escapes: a diagnostic's text with <, > and & as Terraform writes it.
  const before = text.length;
  ui.diagnostics([{ severity: 'warning', summary: 'issuer <https://a> & b', address: 'aws_eks_cluster.main' }]);
  ui.flush();
  t.is(text.slice(before).replace(/"@timestamp":"[^"]*",/, ''), '{"@level":"warn","@message":"Warning: issuer \\u003chttps://a\\u003e \\u0026 b","@module":"terraform.ui","diagnostic":{"severity":"warning","summary":"issuer \\u003chttps://a\\u003e \\u0026 b","detail":"","address":"aws_eks_cluster.main"},"type":"diagnostic"}\n');
  t.regex(lines[0]!['@timestamp'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/);
});
