import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { captureIo, runCommand } from './helpers/in-process';
import { tempDir } from './helpers/project';
import { BUCKET, LOCK_MODES, s3Backend, startStateServers, type LockMode, type StateServers } from './helpers/state-servers';
import { terraform, terraformTest, type TfResult } from './helpers/terraform';
import { until } from './helpers/wait';

/**
 * Issue 13's lock acceptance with real EKS work on both sides, for each lock mode: eksidp and
 * Terraform 1.11 share one S3 state (the emulator's S3 listener, dynalite), and each tool's lock
 * holds the other off while it works.
 *
 * One chain per mode: eksidp applies (a slow association) while `terraform plan -lock-timeout=0s`
 * fails showing eksidp's lock and `terraform apply -lock-timeout=60s` waits; that apply then
 * replaces the identity provider config (a slow disassociation and association) while
 * `eksidp plan` refuses at once naming Terraform's lock and `eksidp plan --lock-timeout 60s` waits
 * for it. The overlaps are made certain, not likely: each waiter starts once the holder's lock object
 * (or item) is seen, and the holder's EKS requests go through a gate that keeps them until the
 * waiter has been seen waiting (Terraform's backend log shows a second lock attempt, so the first was
 * refused; eksidp prints "Acquiring state lock"). However slow the machine, the holder still holds.
 */

/** Each association and disassociation (the emulator's --update-ms). The gate, not this, makes holds outlast waiters. */
const UPDATE_MS = 1000;

let servers: StateServers;
test.before(async () => {
  servers = await startStateServers({ updateMs: UPDATE_MS });
});
test.after.always(async () => {
  await servers?.close();
});

type Lock = { ID: string; Operation: string; Who: string; Version: string; Path: string };

/** The lock held on `key` in this mode (the lock object, or the DynamoDB item), or undefined. */
async function heldLock(key: string, mode: LockMode): Promise<Lock | undefined> {
  if (mode !== 'dynamodb') {
    const o = servers.s3.object(BUCKET, `${key}.tflock`);
    if (!o) return undefined;
    // In 'both' mode the lock counts as held once the DynamoDB item exists too (the file lock comes first).
    if (mode === 'both' && !(await servers.item(`${BUCKET}/${key}`))?.Info) return undefined;
    return JSON.parse(o.body.toString('utf8')) as Lock;
  }
  const info = (await servers.item(`${BUCKET}/${key}`))?.Info;
  return info ? (JSON.parse(info) as Lock) : undefined;
}

/**
 * A pass-through to the EKS emulator that can hold requests: while closed, requests wait (in flight,
 * as a slow EKS answer would) until it opens. Both tools reach EKS through it.
 */
type Gate = { url: string; close(): void; open(): void; held(): number };
async function gate(t: ExecutionContext): Promise<Gate> {
  const target = new URL(servers.em.url);
  let waiting: (() => void)[] | undefined;
  let heldCount = 0;
  const server = http.createServer((req, res) => {
    const forward = () => {
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (waiting) {
      heldCount++;
      waiting.push(forward);
    } else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const open = () => {
    const w = waiting ?? [];
    waiting = undefined;
    for (const f of w) f();
  };
  t.teardown(() => {
    open();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => (waiting ??= []), open, held: () => heldCount };
}

type Eksidp = { code: number; stdout: string; stderr: string };
/** eksidp in this process; `stderr()` reads what it has printed so far. */
function eksidp(dir: string, eks: string, argv: string[]): Promise<Eksidp> & { stderr(): string } {
  const io = captureIo(dir, { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_EKS: eks, EKSIDP_POLL_INITIAL_MS: '50', EKSIDP_POLL_MAX_MS: '200' });
  const done = runCommand([...argv, '--dir', dir], io).then((code) => ({ code, stdout: io.out(), stderr: io.err() }));
  return Object.assign(done, { stderr: () => io.err() });
}
const tf = (dir: string, eks: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<TfResult> =>
  terraform(dir, [...args, '-no-color', '-input=false'], { AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL_EKS: eks, ...env });
const out = (r: { stdout: string; stderr: string }) => `${r.stdout.slice(-4000)}\n${r.stderr.slice(-3000)}`;

/**
 * One cluster with one OIDC config, S3 backend, read by both tools from the same cdk.tf.json; the
 * EKS endpoint comes from AWS_ENDPOINT_URL_EKS (an `endpoints` block costs the provider seconds).
 */
function eksStack(key: string, mode: LockMode, cluster: string, issuer: string): string {
  return JSON.stringify({
    terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: '5.100.0' } }, backend: { s3: s3Backend(servers, key, mode) } },
    provider: {
      aws: [{ region: 'us-east-1', access_key: 'emulator', secret_key: 'emulator', skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true }],
    },
    resource: {
      aws_eks_cluster: { main: { name: cluster, version: '1.32', role_arn: 'arn:aws:iam::000000000000:role/eks', vpc_config: [{ subnet_ids: ['subnet-0aaa1111', 'subnet-0bbb2222'] }] } },
      aws_eks_identity_provider_config: {
        corp: { cluster_name: '${aws_eks_cluster.main.name}', oidc: [{ client_id: 'kubernetes', identity_provider_config_name: 'corp-sso', issuer_url: issuer, username_claim: 'email' }] },
      },
    },
  }, null, 2);
}

/** Updates of one kind the emulator started on a cluster. */
const updatesOf = (cluster: string, type: string) => servers.em.updates().filter((u) => u.clusterName === cluster && u.type === type);

const escape = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const attempts = (log: string) => fs.existsSync(log) ? (fs.readFileSync(log, 'utf8').match(/Attempting to lock remote state/g) ?? []).length : 0;

for (const mode of LOCK_MODES) {
  terraformTest(test, `${mode}: eksidp's slow association stops terraform plan (showing eksidp's lock) and terraform apply -lock-timeout=60s waits for it; Terraform's slow replacement stops eksidp plan at once (naming Terraform's lock) and eksidp plan --lock-timeout 60s waits for it`, async (t) => {
    const dir = tempDir(t, 'eksidp-s3locks-');
    const eks = await gate(t);
    const key = `locks-eks/${mode}.tfstate`;
    const cluster = `locks-${mode}`;
    const file = path.join(dir, 'cdk.tf.json');
    fs.writeFileSync(file, eksStack(key, mode, cluster, 'https://a.example.com'));
    const init = await tf(dir, eks.url, ['init']);
    t.is(init.code, 0, out(init));
    const started = Date.now();
    const lap = (what: string) => t.log(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // eksidp holds the lock through its association, which the gate keeps in flight.
    const applying = eksidp(dir, eks.url, ['apply', '--auto-approve']);
    let mine: Lock | undefined;
    await until('eksidp\'s lock and its association', async () => (mine ??= await heldLock(key, mode)) !== undefined && updatesOf(cluster, 'AssociateIdentityProviderConfig').length > 0, 60_000);
    eks.close();
    lap('eksidp holds the lock, association sent');
    t.regex(mine!.Version, /^eksidp/);
    // The next configuration replaces the config (a new issuer); eksidp read its own before taking the lock.
    fs.writeFileSync(file, eksStack(key, mode, cluster, 'https://b.example.com'));
    const log = path.join(dir, 'terraform-apply.log');
    const blocked = tf(dir, eks.url, ['plan', '-lock-timeout=0s']);
    const tfApplying = tf(dir, eks.url, ['apply', '-auto-approve', '-lock-timeout=60s'], { TF_LOG_CORE: 'debug', TF_LOG_PATH: log });
    const plan = await blocked;
    lap('terraform plan refused');
    t.is(plan.code, 1, out(plan));
    t.regex(plan.stderr, /Error acquiring the state lock/);
    for (const [field, value] of [['ID', mine!.ID], ['Path', `${BUCKET}/${key}`], ['Operation', 'OperationTypeApply'], ['Who', mine!.Who], ['Version', mine!.Version]] as const) {
      t.regex(plan.stderr, new RegExp(`\n\\s+${field}:\\s+${escape(value)}\n`), field);
    }
    // A second attempt means Terraform found the first refused and is waiting (Terraform retries after 1 s).
    await until('terraform apply waiting for the lock', () => attempts(log) >= 2, 90_000);
    t.is(await heldLock(key, mode).then((l) => l?.ID), mine!.ID, 'eksidp still holds the lock');
    lap('terraform apply waiting');
    eks.open();
    const applied = await applying;
    lap('eksidp apply done');
    t.is(applied.code, 0, out(applied));
    t.true(eks.held() > 0, 'eksidp\'s requests were held while Terraform was refused');

    // Terraform took the lock once eksidp released it; the gate keeps its replacement in progress.
    let theirs: Lock | undefined;
    await until('Terraform\'s lock', async () => {
      const l = await heldLock(key, mode);
      if (l && l.ID !== mine!.ID) theirs = l;
      return theirs !== undefined;
    }, 90_000);
    eks.close();
    lap('terraform holds the lock');
    const refused = await eksidp(dir, eks.url, ['plan']);
    lap('eksidp plan refused');
    t.is(refused.code, 1, out(refused));
    t.regex(refused.stderr, new RegExp(`Error acquiring the state lock: .*ID: ${theirs!.ID}, Path: ${BUCKET}/${key}, Operation: OperationTypeApply, Who: ${escape(theirs!.Who)}, Version: 1\\.11\\.\\d+`));
    t.regex(refused.stderr, new RegExp(`eksidp force-unlock ${theirs!.ID}`));
    t.notRegex(refused.stderr, /Acquiring state lock/, 'no waiting without --lock-timeout');
    const waiting = eksidp(dir, eks.url, ['plan', '--lock-timeout', '60s', '--detailed-exitcode']);
    await until('eksidp plan waiting for the lock', () => /Acquiring state lock/.test(waiting.stderr()), 60_000);
    t.is(await heldLock(key, mode).then((l) => l?.ID), theirs!.ID, 'Terraform still holds the lock');
    lap('eksidp plan waiting');
    eks.open();
    const waited = await waiting;
    lap('eksidp plan after waiting');
    t.is(waited.code, 0, `eksidp waited for Terraform and reads the replaced config with no changes:\n${out(waited)}`);

    const tfDone = await tfApplying;
    lap('terraform apply done');
    t.is(tfDone.code, 0, out(tfDone));
    t.regex(tfDone.stdout, /Apply complete! Resources: 1 added, 0 changed, 1 destroyed\./);
    // The config was associated by eksidp, then replaced by Terraform: one of each, in that order.
    t.deepEqual(servers.em.updates().filter((u) => u.clusterName === cluster && u.type.includes('IdentityProviderConfig')).map((u) => `${u.type}:${u.status}`),
      ['AssociateIdentityProviderConfig:Successful', 'DisassociateIdentityProviderConfig:Successful', 'AssociateIdentityProviderConfig:Successful']);
    t.is(await heldLock(key, mode), undefined, 'no lock left');
  });
}
