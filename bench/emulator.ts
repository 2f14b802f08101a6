/**
 * Emulator benchmark: requests per second on loopback (DescribeCluster + ListIdentityProviderConfigs
 * over keep-alive HTTP, concurrency 64) and the emulator's RSS with 10,000 clusters.
 * Run: npx tsx bench/emulator.ts. The emulator runs in a child process so its RSS is its own and
 * the load generator does not share its event loop. Bounded to well under a minute.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { startEmulator } from '../emulator';

const CLUSTERS = 10_000;
const CONCURRENCY = 64;
const TARGET_RPS = 2000;
const TARGET_RSS_MB = 200;

if (process.argv.includes('--serve')) {
  void startEmulator({ port: 0, clusterCreateMs: 0, clusterDeleteMs: 0, updateMs: 0 }).then((em) => {
    process.stdout.write(`${em.url}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => void em.close().then(() => process.exit(0)));
  });
} else {
  void main();
}

async function main() {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { hostname, port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const call = (method: string, path: string, body?: unknown) => new Promise<number>((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ hostname, port, path, method, agent, headers: text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(text);
  });
  /** Runs `total` calls with CONCURRENCY in flight (or until `untilMs`), returning calls/s. */
  const load = async (total: number, make: (i: number) => [string, string, unknown?], untilMs = Infinity) => {
    let next = 0, done = 0, failed = 0;
    const start = performance.now();
    const worker = async () => {
      while (next < total && performance.now() - start < untilMs) {
        const [m, p, b] = make(next++);
        const status = await call(m, p, b);
        if (status !== 200) failed++;
        done++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const secs = (performance.now() - start) / 1000;
    return { rps: done / secs, done, failed, secs };
  };
  const name = (i: number) => `bench-${String(i % CLUSTERS).padStart(5, '0')}`;
  const rssMb = () => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
      return kb / 1024;
    } catch {
      return NaN;
    }
  };

  const seed = await load(CLUSTERS, (i) => ['POST', '/clusters', { name: name(i), version: '1.32', roleArn: 'arn:aws:iam::000000000000:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-a', 'subnet-b'] }, tags: { bench: 'true' } }]);
  const assoc = await load(CLUSTERS, (i) => ['POST', `/clusters/${name(i)}/identity-provider-configs/associate`, { oidc: { identityProviderConfigName: 'corp', issuerUrl: `https://idp-${i}.example.com`, clientId: 'kubernetes', usernameClaim: 'email', groupsClaim: 'groups' }, tags: { owner: 'bench' } }]);
  if (seed.failed || assoc.failed) throw new Error(`seeding failed: ${seed.failed} creates, ${assoc.failed} associations not 200`);
  const mixed = (i: number): [string, string] => (i % 2 === 0 ? ['GET', `/clusters/${name(i * 7919)}`] : ['GET', `/clusters/${name(i * 7919)}/identity-provider-configs`]);
  const warm = await load(5000, mixed);
  const fast = await load(40_000, mixed, 10_000);
  const rss = rssMb();
  await call('POST', '/_emulator/faults', { latencyMs: 20 });
  const slow = await load(1_000_000, mixed, 5_000);

  const line = (label: string, value: string, target: string, okay: boolean) => console.log(`${label.padEnd(58)} ${value.padStart(12)}   target ${target.padEnd(12)} ${okay ? 'OK' : 'MISSED'}`);
  console.log(`EKS emulator benchmark (${CLUSTERS} clusters, ${CLUSTERS} OIDC configs, concurrency ${CONCURRENCY}, keep-alive HTTP on loopback)`);
  line('seed: CreateCluster', `${seed.rps.toFixed(0)} req/s`, '', true);
  line('seed: AssociateIdentityProviderConfig', `${assoc.rps.toFixed(0)} req/s`, '', true);
  line(`DescribeCluster + ListIdentityProviderConfigs, 0 ms latency`, `${fast.rps.toFixed(0)} req/s`, `> ${TARGET_RPS}`, fast.rps > TARGET_RPS && fast.failed === 0);
  line(`same, 20 ms latency per call (max ${(CONCURRENCY * 1000 / 20).toFixed(0)}/s)`, `${slow.rps.toFixed(0)} req/s`, `> ${TARGET_RPS}`, slow.rps > TARGET_RPS && slow.failed === 0);
  line('emulator RSS with all of the above', `${rss.toFixed(0)} MB`, `< ${TARGET_RSS_MB} MB`, rss < TARGET_RSS_MB);
  console.log(`(warm-up ${warm.rps.toFixed(0)} req/s; ${fast.done} + ${slow.done} measured calls, ${fast.failed + slow.failed} failed)`);
  agent.destroy();
  child.stdin!.end();
  await new Promise((r) => child.on('exit', r));
}
