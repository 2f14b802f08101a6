import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { DisassociateIdentityProviderConfigCommand, DescribeClusterCommand } from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import { projectRoot, tempDir } from './helpers/project';
import { clusterName, driftCli, fleetStack, sdkClient, seedFleet } from './fixtures/drift/fleet';

/** The `eksidp drift` command lines of the GitHub workflows, run as written against a fleet. */
function workflowDriftCommands(): { file: string; argv: string[] }[] {
  const dir = path.join(projectRoot, '.github', 'workflows');
  const out: { file: string; argv: string[] }[] = [];
  for (const file of fs.readdirSync(dir)) {
    for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      const m = /node_modules\/\.bin\/eksidp drift (.*)$/.exec(line.replace(/^\s*run:\s*/, '').trim());
      if (m) out.push({ file, argv: m[1]!.trim().split(/\s+/) });
    }
  }
  return out;
}

test('the workflows\' drift commands run as written: JSON report file per shard covering the fleet once, Markdown comment, exit 2 on drift', async (t) => {
  const commands = workflowDriftCommands();
  t.true(commands.some((c) => c.file === 'drift-scheduled.yml'));
  t.true(commands.some((c) => c.file === 'drift-pr.yml'));

  const emu = await startEmulator({ port: 0, clusterCreateMs: 0, updateMs: 0, clusterDeleteMs: 0 });
  t.teardown(() => emu.close());
  const client = sdkClient(emu.url);
  t.teardown(() => client.destroy());
  const spec = { clusters: 6, dataSources: true };
  await seedFleet(client, spec);
  const gone = clusterName(spec, 3);
  await client.send(new DisassociateIdentityProviderConfigCommand({ clusterName: gone, identityProviderConfig: { type: 'oidc', name: 'okta' } }));
  for (let i = 0; i < 2000 && (await client.send(new DescribeClusterCommand({ name: gone }))).cluster?.status !== 'ACTIVE'; i++) await new Promise((r) => setTimeout(r, 5));

  // A project as `eksidp synth` leaves it: cdktf.out/manifest.json and the production stack.
  const project = tempDir(t, 'eksidp-drift-wf-');
  fs.mkdirSync(path.join(project, 'cdktf.out', 'stacks', 'production'), { recursive: true });
  fs.writeFileSync(path.join(project, 'cdktf.out', 'manifest.json'), JSON.stringify({ version: '0.21.0', stacks: { production: { name: 'production', synthesizedStackPath: 'stacks/production/cdk.tf.json', workingDirectory: 'stacks/production' } } }));
  fs.writeFileSync(path.join(project, 'cdktf.out', 'stacks', 'production', 'cdk.tf.json'), JSON.stringify(fleetStack(spec, emu.url)));

  const seen: string[] = [];
  for (const { file, argv } of commands) {
    const shards = argv.some((a) => a.includes('matrix.shard')) ? ['1/4', '2/4', '3/4', '4/4'] : [undefined];
    for (const shard of shards) {
      const args = argv.join(' ').replace('${{ matrix.shard }}', shard ?? '').split(/\s+/);
      const r = await driftCli(args, { cwd: project });
      const outFile = args[args.indexOf('--out') + 1]!;
      const text = fs.readFileSync(path.join(project, outFile), 'utf8');
      if (args.includes('json')) {
        const report = JSON.parse(text) as { resources: { address: string; status: string }[] };
        for (const res of report.resources) seen.push(res.address);
        const missingHere = report.resources.some((x) => x.status === 'missing');
        t.is(r.code, missingHere ? 2 : 0, `${file} shard ${shard}`);
      } else {
        t.is(r.code, 2, file);
        t.regex(text, /\| missing \| 1 \|/);
        t.regex(text, new RegExp(`aws_eks_identity_provider_config\\.${gone}_okta`));
      }
    }
  }
  t.deepEqual(seen.sort(), Array.from({ length: 6 }, (_, i) => `aws_eks_identity_provider_config.${clusterName(spec, i)}_okta`).sort());
});
