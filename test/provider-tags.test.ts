import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { TagResourceCommand, UntagResourceCommand, DescribeClusterCommand } from '@aws-sdk/client-eks';
import { startEmulator } from '../emulator';
import { isUnknown, UNKNOWN, type ObjectValue } from '../engine/protocol';
import type { TagConfig } from '../providers/eks/settings';
import { clusterState } from '../providers/eks/cluster';
import { createTags, plannedTagsAll, stateTags, tagChanges, updateTarget } from '../providers/eks/tags';
import { providerBlock, sdkClient } from './fixtures/drift/fleet';
import { writeStack } from './helpers/stacks';
import { captureIo, runCommand } from './helpers/in-process';

/**
 * tags and tags_all as hashicorp/aws 5.100 computes them (providers/eks/tags.ts), case by case; the
 * whole of it is held to Terraform in test/provider-tags-terraform.test.ts. Then drift, which judges
 * through the provider's plan and read, with default_tags and ignore_tags.
 */

const tc = (defaults: Record<string, string> | null, ignoreKeys: string[] = [], ignorePrefixes: string[] = []): TagConfig => ({ defaults, ignoreKeys, ignorePrefixes });
const prior = (tags: ObjectValue | null, tagsAll: ObjectValue | null): ObjectValue => ({ tags, tags_all: tagsAll });

test('planned tags_all on create: defaults under the resource\'s tags, ignored keys out, unknown when nothing is known', (t) => {
  t.true(isUnknown(plannedTagsAll(tc(null), null, null)), 'no tags at all: known after apply');
  t.deepEqual(plannedTagsAll(tc({ env: 'prod' }), null, null), { env: 'prod' });
  t.deepEqual(plannedTagsAll(tc({ env: 'prod', owner: 'p' }), { env: 'dev', team: 'a' }, null), { env: 'dev', owner: 'p', team: 'a' });
  t.deepEqual(plannedTagsAll(tc({ env: 'prod' }, ['team'], ['kubernetes.io/']), { team: 'a', 'kubernetes.io/x': 'y', keep: 'k' }, null), { env: 'prod', keep: 'k' });
  t.true(isUnknown(plannedTagsAll(tc({ env: 'prod' }), { note: '' }, null)), 'an empty value leaves it to apply, as the provider does');
  t.true(isUnknown(plannedTagsAll(tc({ env: 'prod' }), { team: UNKNOWN }, null)), 'tags known only after apply');
});

test('planned tags_all on update: new defaults change it with the tags unchanged; no tags keep the prior value', (t) => {
  t.deepEqual(plannedTagsAll(tc({ env: 'prod' }), { team: 'a' }, prior({ team: 'a' }, { team: 'a' })), { env: 'prod', team: 'a' });
  t.deepEqual(plannedTagsAll(tc(null), null, prior(null, {})), {}, 'no defaults, no tags: the prior empty map');
  t.deepEqual(plannedTagsAll(tc(null), null, prior(null, null)), null, 'or the prior null');
  t.deepEqual(plannedTagsAll(tc(null), null, prior({ team: 'a' }, { team: 'a' })), {}, 'tags removed: empty');
  t.true(isUnknown(plannedTagsAll(tc({ blank: '' }), null, prior(null, {}))), 'a default with an empty value that is not live yet');
  t.deepEqual(plannedTagsAll(tc({ blank: '' }), null, prior(null, { blank: '' })), { blank: '' }, 'and once it is');
});

test('tags in state after a read: live tags without system and ignored keys; inherited defaults out of tags unless declared', (t) => {
  const live = { env: 'prod', owner: 'p', team: 'a', 'aws:cloudformation:stack-name': 's', 'kubernetes.io/x': 'y' };
  const cfg = tc({ env: 'prod', owner: 'p' }, [], ['kubernetes.io/']);
  t.deepEqual(stateTags(cfg, live, { applying: false, stateTags: { team: 'a' } }), { tags: { team: 'a' }, tagsAll: { env: 'prod', owner: 'p', team: 'a' } });
  t.deepEqual(stateTags(cfg, live, { applying: false, stateTags: { team: 'a', env: 'prod' } }).tags, { team: 'a', env: 'prod' }, 'a declared tag equal to a default stays');
  t.deepEqual(stateTags(cfg, live, { applying: true, configTags: { env: 'prod' } }).tags, { team: 'a', env: 'prod' });
  t.deepEqual(stateTags(cfg, live, { applying: true, configTags: null }).tags, { team: 'a' });
  t.deepEqual(stateTags(cfg, { env: 'dev' }, { applying: false, stateTags: null }).tags, { env: 'dev' }, 'a value other than the default is the resource\'s own');
});

test('create requests carry the merged tags; updates go from the prior tags_all to the planned one', (t) => {
  const cfg = tc({ env: 'prod', owner: 'p' }, ['ignored']);
  t.deepEqual(createTags(cfg, { env: 'dev', ignored: 'x' }), { env: 'dev', owner: 'p', ignored: 'x' }, 'ignore_tags does not filter what is sent');
  t.deepEqual(tagChanges({ env: 'prod', owner: 'p', 'aws:x': 'y' }, { env: 'staging', cost: '1' }), { remove: ['owner'], set: { env: 'staging', cost: '1' } });
  t.deepEqual(updateTarget(cfg, { tags: { team: '' }, tags_all: UNKNOWN }), { env: 'prod', owner: 'p', team: '' });
  t.deepEqual(updateTarget(cfg, { tags: { team: 'a' }, tags_all: { team: 'a' } }), { team: 'a' });
});

test('drift with default_tags and ignore_tags: in sync after apply and with ignored live tags; a default tag removed live is drift', async (t) => {
  const em = await startEmulator({ port: 0, clusterCreateMs: 20, updateMs: 20 });
  t.teardown(() => em.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-tags-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const provider = { ...providerBlock(em.url), default_tags: [{ tags: { env: 'prod', owner: 'platform' } }], ignore_tags: [{ key_prefixes: ['kubernetes.io/'] }] };
  writeStack(dir, {
    terraform: { backend: { local: { path: 'terraform.tfstate' } } },
    provider: { aws: [provider] },
    resource: { aws_eks_cluster: { a: { name: 'a', role_arn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', vpc_config: [{ subnet_ids: ['subnet-a'] }], tags: { team: 'x', env: 'prod' } } } },
  });
  const cli = async (...argv: string[]) => {
    const io = captureIo(dir, { EKSIDP_POLL_INITIAL_MS: '20', EKSIDP_POLL_MAX_MS: '100' });
    const code = await runCommand([...argv, '--dir', dir], io);
    return { code, out: io.out(), err: io.err() };
  };
  t.is((await cli('apply', '--auto-approve')).code, 0);
  const eks = sdkClient(em.url);
  t.teardown(() => eks.destroy());
  const arn = (await eks.send(new DescribeClusterCommand({ name: 'a' }))).cluster!.arn!;
  t.deepEqual((await eks.send(new DescribeClusterCommand({ name: 'a' }))).cluster!.tags, { env: 'prod', owner: 'platform', team: 'x' });
  t.is((await cli('drift')).code, 0);
  await eks.send(new TagResourceCommand({ resourceArn: arn, tags: { 'kubernetes.io/cluster/a': 'owned' } }));
  const ignored = await cli('drift');
  t.is(ignored.code, 0, ignored.out);
  t.is((await cli('plan', '--detailed-exitcode')).code, 0);
  await eks.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['owner'] }));
  const drift = await cli('drift', '--format', 'json');
  t.is(drift.code, 2, drift.out + drift.err);
  t.regex(drift.out, /tags_all/);
  const plan = await cli('plan', '--json');
  const change = (JSON.parse(plan.out) as { resource_changes: { change: { actions: string[]; after: ObjectValue } }[] }).resource_changes[0]!.change;
  t.deepEqual(change.actions, ['update']);
  t.deepEqual(change.after.tags_all, { env: 'prod', owner: 'platform', team: 'x' });
});

test('the aws_eks_cluster data source sets tags to {} for a cluster with none, never null (hashicorp/aws 5.100: an output of it is {} in Terraform)', (t) => {
  const cluster = {
    name: 'plain', arn: 'arn:aws:eks:us-east-1:000000000000:cluster/plain', roleArn: 'arn:aws:iam::000000000000:role/eks', version: '1.32', status: 'ACTIVE' as const, createdAt: new Date(0),
    resourcesVpcConfig: { subnetIds: ['subnet-1'], securityGroupIds: [], endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'], vpcId: 'vpc-1' },
  };
  t.deepEqual(clusterState(cluster, null, tc(null), 'data').tags, {});
  t.deepEqual(clusterState({ ...cluster, tags: { 'aws:cloudformation:stack-name': 's' } }, null, tc(null), 'data').tags, {}, 'system tags only');
  t.deepEqual(clusterState({ ...cluster, tags: { team: 'a' } }, null, tc(null), 'data').tags, { team: 'a' });
  // The managed resource keeps what the prior state held (null stays null: no false drift).
  t.is(clusterState(cluster, { tags: null }, tc(null), 'refresh').tags, null);
});
