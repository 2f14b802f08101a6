import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli';
import { tempDir } from './helpers/project';
import { s3Backend, startStateServers, type StateServers } from './helpers/state-servers';

/**
 * What the S3 backend costs a run (issue 13's benchmark: plan at most 50 ms slower than with the local
 * backend). Its requests to a directly reached endpoint go through the small HTTP/1.1 pool the EKS
 * reads use, never undici: loading and warming undici cost each run ~0.2 s of CPU and ~40 MB
 * (measured with bench/plan-apply.ts --s3 and GNU time). undici stays for proxied endpoints.
 */

let servers: StateServers;
test.before(async () => {
  servers = await startStateServers();
});
test.after.always(async () => {
  await servers?.close();
});

test('a plan with its state in S3 (both locks) does not load undici', async (t) => {
  const dir = tempDir(t, 'eksidp-s3cost-');
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({
    terraform: { backend: { s3: s3Backend(servers, 'cost/terraform.tfstate', 'both') } },
    provider: { memory: [{ path: path.join(dir, 'cloud.json') }] },
    resource: { memory_item: { a: { name: 'a', value: 'one' } } },
  }));
  const preload = path.join(dir, 'modules.js');
  const report = path.join(dir, 'modules.json');
  fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`);
  const env = { AWS_EC2_METADATA_DISABLED: 'true', EKSIDP_TEST_PROVIDERS: '1', NODE_OPTIONS: `-r ${preload}` };
  const applied = await runCli(['apply', '--auto-approve', '--dir', dir], { cwd: dir, env });
  t.is(applied.code, 0, applied.stderr);
  t.truthy(servers.s3.object('team-state', 'cost/terraform.tfstate'), 'the state went to S3');
  const modules = JSON.parse(fs.readFileSync(report, 'utf8')) as string[];
  t.true(modules.some((m) => m.includes(`${path.sep}backends${path.sep}s3${path.sep}api`)), 'the S3 backend ran in this process');
  t.deepEqual(modules.filter((m) => m.includes(`${path.sep}node_modules${path.sep}undici${path.sep}`)), []);
});
