import test from 'ava';
import { fleetStack, driftCli } from './fixtures/drift/fleet';
import { closedLoopbackPort } from './helpers/ports';
import { tempDir } from './helpers/project';
import { writeStack } from './helpers/stacks';

// The EKS endpoint does not answer (the emulator is not running): drift says so once, with the hint
// plan gives, instead of one "connect ECONNREFUSED" per object; the JSON report keeps one error each.
test('the EKS endpoint down: drift says once that it does not answer, with the hint to start the emulator', async (t) => {
  const port = await closedLoopbackPort();
  const dir = tempDir(t, 'eksidp-drift-down-');
  writeStack(dir, fleetStack({ clusters: 2 }, `http://127.0.0.1:${port}`));
  const env = { AWS_EC2_METADATA_DISABLED: 'true' };
  const words = `the EKS endpoint 127.0.0.1:${port} does not answer (connection refused); is the EKS emulator running? ` +
    `Start it with \`npm start\`, or \`node_modules/.bin/eksidp emulator --data .eksidp/emulator --port ${port}\``;

  const human = await driftCli(['--dir', dir], { cwd: dir, env });
  t.is(human.code, 1, human.stderr);
  const json = await driftCli(['--dir', dir, '--format', 'json'], { cwd: dir, env });
  t.is(json.code, 1, json.stderr);
  const report = JSON.parse(json.stdout) as { resources: { address: string; status: string; error: string }[] };
  const addresses = report.resources.map((r) => r.address);
  t.true(addresses.length >= 4, addresses.join());
  for (const r of report.resources) t.deepEqual([r.status, r.error], ['unknown', words], r.address);

  t.is(human.stdout.split(words).length - 1, 1, 'the cause is said once');
  t.true(human.stdout.includes(`! ${addresses.length} objects unknown: ${words}\n${addresses.map((a) => `    ${a}\n`).join('')}`), human.stdout);
  t.false(/ECONNREFUSED/.test(human.stdout + human.stderr));
  t.regex(human.stdout, new RegExp(`Drift check incomplete: 0 in_sync, ${addresses.length} unknown\\.`));
});
