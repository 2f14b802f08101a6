'use strict';
/**
 * The floor under bench/cpu-per-call.ts's figure: the same three read calls per cluster (DescribeCluster,
 * ListIdentityProviderConfigs, DescribeIdentityProviderConfig of `okta`) over the same number of
 * keep-alive connections, by the least a Node client can do: one write per request, the response
 * framed by content-length, its body JSON.parse'd. No signing, no retries, no state, no judgement.
 * Prints its CPU (user + system, from the first connection to the last answer: no start-up) as JSON.
 *
 *   node bench/read-floor.cjs URL PREFIX CLUSTERS CONCURRENCY
 *
 * Plain JavaScript so that no loader's work is in the figure.
 */
const net = require('node:net');

const [url, prefix, clustersText, concurrencyText] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const clusters = Number(clustersText);
const concurrency = Number(concurrencyText);
const describeBody = JSON.stringify({ identityProviderConfig: { type: 'oidc', name: 'okta' } });

/** Every request of the fleet, in the order drift makes them per cluster. */
const requests = [];
for (let i = 0; i < clusters; i++) {
  const name = `${prefix}${String(i).padStart(4, '0')}`;
  requests.push(`GET /clusters/${name} HTTP/1.1\r\nhost: ${hostname}:${port}\r\naccept: application/json\r\n\r\n`);
  requests.push(`GET /clusters/${name}/identity-provider-configs HTTP/1.1\r\nhost: ${hostname}:${port}\r\naccept: application/json\r\n\r\n`);
  requests.push(`POST /clusters/${name}/identity-provider-configs/describe HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(describeBody)}\r\n\r\n${describeBody}`);
}

let next = 0;
let answered = 0;
let failed = 0;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();

function finish() {
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ requests: answered, failed, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 })}\n`);
}

function connection() {
  const socket = net.connect(Number(port), hostname);
  socket.setNoDelay(true);
  let buffered = Buffer.alloc(0);
  const send = () => {
    if (next >= requests.length) return socket.end();
    socket.write(requests[next++]);
  };
  socket.on('connect', send);
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = buffered.toString('latin1', 0, headEnd);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      const status = Number(head.slice(9, 12));
      JSON.parse(buffered.toString('utf8', headEnd + 4, headEnd + 4 + length));
      buffered = buffered.subarray(headEnd + 4 + length);
      if (status !== 200) failed++;
      if (++answered === requests.length) finish();
      send();
    }
  });
  socket.on('error', (e) => {
    process.stderr.write(`read-floor: ${e.message}\n`);
    process.exit(1);
  });
}

for (let i = 0; i < Math.min(concurrency, requests.length); i++) connection();
