import test from 'ava';
import { s3CrashTrial } from './fixtures/reliability/s3-crash';
import { startStateServers, type StateServers } from './helpers/state-servers';

/**
 * test/reliability-crash.test.ts's SIGKILL trials with the state in S3 (trial 1 with DynamoDB
 * locking, trial 8 with both locks: seeds whose kill lands mid-apply, after a config's association): the state in S3 stays whole with a matching digest, a lock left
 * behind is named and removed with force-unlock, the next apply converges, each config is associated
 * once. `npx tsx bench/crash-s3.ts` runs ten over all three lock modes (the count), too many
 * for every CI run.
 */

let servers: StateServers;
test.before(async () => {
  servers = await startStateServers();
});
test.after.always(async () => {
  await servers?.close();
});

for (const trial of [1, 8]) {
  test(`S3 crash trial ${trial}: SIGKILL mid-apply, then the next apply converges with no config associated twice and nothing orphaned`, async (t) => {
    const r = await s3CrashTrial(servers, trial);
    t.log(r.summary);
    t.deepEqual(r.problems, []);
  });
}
