/**
 * CPU per read call of `eksidp drift`, as issue 15 defines it: (user+sys of a drift process at N
 * clusters − user+sys of the same command on a 0-cluster stack) / the API calls it made (3 per
 * cluster). Start-up, stack loading and the report are in both runs and cancel out, up to the cost
 * of parsing the larger stack, which stays in the figure (the same for every build compared).
 *
 *   npx tsx bench/cpu-per-call.ts [--clusters 1000] [--runs 3] [--concurrency 64] [--latency-ms 20]
 *                                 [--bin LABEL=PATH ...]
 *
 * Each `--bin` is an `eksidp` executable (default: this checkout's node_modules/.bin/eksidp); with
 * several, the runs interleave them (A B, B A, A B...) against one emulator and one seeded fleet,
 * so they see the same machine state. Prints one row per build: median CPU per call in ms; and a last
 * row, the floor: the same calls by a bare raw-socket client (read-floor.cjs), CPU per call from its
 * first request to its last answer, so the figures read against what the machine allows at the least.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator';
import { fleetStack, sdkClient, seedFleet, type FleetSpec } from '../test/fixtures/drift/fleet';
import { writeStack } from '../test/helpers/stacks';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
const clusters = Number(flag('clusters') ?? 1000);
const runs = Number(flag('runs') ?? 3);
const concurrency = Number(flag('concurrency') ?? 64);
const latencyMs = Number(flag('latency-ms') ?? 20);
const bins: { label: string; bin: string }[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] !== '--bin') continue;
  const [label, ...rest] = argv[i + 1]!.split('=');
  bins.push({ label: label!, bin: path.resolve(rest.join('=')) });
}
if (bins.length === 0) bins.push({ label: 'current', bin: path.join(__dirname, '..', 'node_modules', '.bin', 'eksidp') });

type Cpu = { cpuS: number; wallS: number; peakMb: number; code: number };

/** user+sys of the whole process tree (GNU time reports the child's rusage, which includes its children). */
function cpuOf(bin: string, dir: string): Promise<Cpu> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const args = ['-v', bin, 'drift', '--dir', dir, '--concurrency', String(concurrency), '--format', 'json', '--out', path.join(dir, 'drift.json')];
    execFile('/usr/bin/time', args, { cwd: dir, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, maxBuffer: 64 * 1024 * 1024 }, (err, _out, stderr) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (!user || !sys || !rss) return reject(new Error(`no figures from /usr/bin/time: ${stderr.slice(-400)}`));
      resolve({ cpuS: Number(user[1]) + Number(sys[1]), wallS, peakMb: Number(rss[1]) / 1024, code: err ? Number((err as NodeJS.ErrnoException).code) : 0 });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Floor = { requests: number; failed: number; cpuMs: number; wallMs: number };

/** The same calls by a bare raw-socket client (read-floor.cjs): what this machine's loopback and JSON cost at the least. */
function floorOf(url: string, prefix: string): Promise<Floor> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'read-floor.cjs'), url, prefix, String(clusters), String(concurrency)], (err, out, stderr) => {
      if (err) return reject(new Error(`read-floor failed: ${stderr.slice(-400)}`));
      resolve(JSON.parse(out) as Floor);
    });
  });
}

async function main(): Promise<void> {
  for (const b of bins) if (!fs.existsSync(b.bin)) throw new Error(`${b.bin} not found (build first: npm run build)`);
  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, latencyMs: 0, seed: 1 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-cpu-'));
  try {
    const spec: FleetSpec = { clusters, dataSources: true, prefix: 'cpu-' };
    const seeder = sdkClient(emu.url);
    await seedFleet(seeder, spec, 64);
    seeder.destroy();
    const full = path.join(work, 'full');
    const empty = path.join(work, 'empty');
    writeStack(full, fleetStack(spec, emu.url));
    writeStack(empty, fleetStack({ ...spec, clusters: 0 }, emu.url));
    emu.setFaults({ latencyMs });
    // One untimed run per build warms the emulator and the page cache.
    for (const b of bins) await cpuOf(b.bin, full);
    const results = new Map(bins.map((b) => [b.label, { full: [] as Cpu[], empty: [] as Cpu[] }]));
    const floors: Floor[] = [];
    for (let r = 0; r < runs; r++) {
      emu.resetCalls();
      const fl = await floorOf(emu.url, spec.prefix!);
      const floorCalls = Object.values(emu.calls()).reduce((a, c) => a + c, 0);
      if (fl.failed !== 0 || fl.requests !== 3 * clusters || floorCalls !== 3 * clusters) throw new Error(`read-floor: ${fl.requests} answers, ${fl.failed} not 200, emulator saw ${floorCalls} calls (expected ${3 * clusters})`);
      floors.push(fl);
      process.stderr.write(`[run ${r + 1}] floor: ${(fl.cpuMs / 1000).toFixed(2)} s CPU for ${fl.requests} calls (${(fl.wallMs / 1000).toFixed(2)} s wall)\n`);
      const order = r % 2 === 0 ? bins : [...bins].reverse();
      for (const b of order) {
        emu.resetCalls();
        const f = await cpuOf(b.bin, full);
        const calls = Object.values(emu.calls()).reduce((a, c) => a + c, 0);
        if (f.code !== 0 || calls !== 3 * clusters) throw new Error(`${b.label}: drift exited ${f.code} after ${calls} calls (expected 0 and ${3 * clusters})`);
        const e = await cpuOf(b.bin, empty);
        if (e.code !== 0) throw new Error(`${b.label}: 0-cluster drift exited ${e.code}`);
        results.get(b.label)!.full.push(f);
        results.get(b.label)!.empty.push(e);
        process.stderr.write(`[run ${r + 1}] ${b.label}: ${clusters} clusters ${f.cpuS.toFixed(2)} s CPU (${f.wallS.toFixed(2)} s wall, ${f.peakMb.toFixed(0)} MB), 0 clusters ${e.cpuS.toFixed(2)} s CPU (${e.peakMb.toFixed(0)} MB)\n`);
      }
    }
    const lines = [
      `CPU per read call, eksidp drift --concurrency ${concurrency}, ${clusters} clusters (${3 * clusters} calls) vs 0, emulator latency ${latencyMs} ms, ${runs} runs, ${os.cpus().length} CPUs`,
      '',
      '| build | CPU s at N (runs) | CPU s at 0 (runs) | wall s at N (median) | peak MB at N (median) | CPU ms per call (median of runs) |',
      '| --- | --- | --- | ---: | ---: | ---: |',
    ];
    for (const b of bins) {
      const { full: f, empty: e } = results.get(b.label)!;
      const perCall = f.map((x, i) => ((x.cpuS - e[i]!.cpuS) * 1000) / (3 * clusters));
      lines.push(`| ${b.label} | ${f.map((x) => x.cpuS.toFixed(2)).join(', ')} | ${e.map((x) => x.cpuS.toFixed(2)).join(', ')} | ${median(f.map((x) => x.wallS)).toFixed(2)} | ${median(f.map((x) => x.peakMb)).toFixed(0)} | ${median(perCall).toFixed(3)} (${perCall.map((x) => x.toFixed(3)).join(', ')}) |`);
    }
    const floorPerCall = floors.map((f) => f.cpuMs / f.requests);
    lines.push(`| floor: raw sockets, no signing or judgement (read-floor.cjs) | - | - | ${(median(floors.map((f) => f.wallMs)) / 1000).toFixed(2)} | - | ${median(floorPerCall).toFixed(3)} (${floorPerCall.map((x) => x.toFixed(3)).join(', ')}) |`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    await emu.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
