import fs from 'node:fs';
import path from 'node:path';
import { numberFlag, stringFlag, UsageError, type CommandSpec } from '../args';
import { EXIT, type Command } from '../command';

const spec: CommandSpec = {
  name: 'emulator',
  summary: 'Run the embedded EKS API emulator (EKS REST-JSON and STS on one port, for the SDK and Terraform\'s AWS provider) until SIGINT/SIGTERM.',
  flags: {
    host: { type: 'string', valueName: 'ADDR', description: 'Address to listen on (loopback unless named explicitly; another address is warned about)', default: '127.0.0.1' },
    port: { type: 'string', valueName: 'N', description: 'Port; 0 picks a free one', default: '4599' },
    's3-port': { type: 'string', valueName: 'N', description: 'Also serve the S3 subset a Terraform state needs (buckets, objects, conditional PutObject) on this port; 0 picks a free one' },
    's3-bucket': { type: 'string', multiple: true, valueName: 'NAME', description: 'Create this bucket at start (repeatable; with --s3-port)' },
    data: { type: 'string', valueName: 'DIR', description: 'Persist state in DIR (atomic writes); a restart continues where it stopped' },
    accounts: { type: 'string', valueName: 'FILE', description: 'Accounts, access keys and assumable roles (JSON, schema in emulator/README.md); their keys are SigV4-verified' },
    'verify-signatures': { type: 'boolean', negatable: true, description: 'Check SigV4, session tokens and expiry for listed keys (default; --no-verify-signatures turns every check off)', default: true },
    'allow-host': { type: 'string', multiple: true, valueName: 'NAME', description: 'Also accept this Host header name (repeatable; loopback names are always accepted)' },
    'max-connections': { type: 'string', valueName: 'N', description: 'Concurrent connections served; more are closed at once (default 256)' },
    'latency-ms': { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'Added latency per EKS API call' },
    'throttle-rate': { type: 'string', collapse: 'fault and timing flags', valueName: 'R', description: 'Fraction 0..1 of calls answered 429 ThrottlingException' },
    'error-rate': { type: 'string', collapse: 'fault and timing flags', valueName: 'R', description: 'Fraction 0..1 of calls answered 500 ServerException / 503 ServiceUnavailableException' },
    'reset-rate': { type: 'string', collapse: 'fault and timing flags', valueName: 'R', description: 'Fraction 0..1 of calls whose connection is reset without a response' },
    'rate-limit': { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'Calls per second the account may make (token bucket, as EKS throttles); beyond it 429 ThrottlingException' },
    'rate-burst': { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'Token bucket size for --rate-limit (default: one second of calls)' },
    seed: { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'Seed for the fault dice (same seed, same faults)' },
    'cluster-create-ms': { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'How long a cluster stays CREATING (default 1000)' },
    'cluster-delete-ms': { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'How long a cluster stays DELETING (default 500)' },
    'update-ms': { type: 'string', collapse: 'fault and timing flags', valueName: 'N', description: 'How long an update stays InProgress (default 500)' },
    'fail-update-rate': { type: 'string', collapse: 'fault and timing flags', valueName: 'R', description: 'Fraction 0..1 of updates that end Failed' },
  },
};

export const command: Command = {
  spec,
  async run(args, io) {
    const v = args.values;
    const rate = (n: string) => numberFlag(spec, v, n, { min: 0, max: 1 });
    const ms = (n: string) => numberFlag(spec, v, n, { min: 0 });
    const accountsFile = stringFlag(v, 'accounts');
    const opts = {
      host: stringFlag(v, 'host'),
      port: numberFlag(spec, v, 'port', { min: 0, max: 65535, integer: true }),
      dataDir: stringFlag(v, 'data'),
      s3Port: numberFlag(spec, v, 's3-port', { min: 0, max: 65535, integer: true }),
      s3Buckets: (v['s3-bucket'] as string[] | undefined) ?? [],
      latencyMs: ms('latency-ms'),
      throttleRate: rate('throttle-rate'),
      errorRate: rate('error-rate'),
      resetRate: rate('reset-rate'),
      seed: numberFlag(spec, v, 'seed', { integer: true }),
      clusterCreateMs: ms('cluster-create-ms'),
      clusterDeleteMs: ms('cluster-delete-ms'),
      updateMs: ms('update-ms'),
      failUpdateRate: rate('fail-update-rate'),
      rateLimit: numberFlag(spec, v, 'rate-limit', { min: 0 }),
      rateBurst: numberFlag(spec, v, 'rate-burst', { min: 0 }),
      verifySignatures: v['verify-signatures'] !== false,
      allowHosts: (v['allow-host'] as string[] | undefined) ?? [],
      maxConnections: numberFlag(spec, v, 'max-connections', { min: 1, integer: true }),
      accounts: accountsFile === undefined ? undefined : readAccounts(path.resolve(io.cwd, accountsFile)),
      log: (line: string) => io.stderr.write(`${line}\n`),
    };
    // Loaded here so `eksidp emulator --help` stays instant.
    const { startEmulator, parseAccounts, AccountsError } = await import('../../emulator');
    if (opts.accounts !== undefined) {
      try {
        parseAccounts(opts.accounts, accountsFile);
      } catch (e) {
        if (e instanceof AccountsError) throw new UsageError(`eksidp emulator: ${e.message}`);
        throw e;
      }
    }
    if (opts.s3Buckets.length > 0 && opts.s3Port === undefined) throw new UsageError('eksidp emulator: --s3-bucket needs --s3-port');
    const em = await startEmulator(opts);
    io.stdout.write(`EKS emulator listening on ${em.url}\n`);
    if (em.s3) io.stdout.write(`S3 (state subset) listening on ${em.s3.url}\n`);
    if (opts.dataDir) io.stderr.write(`State persisted in ${opts.dataDir}\n`);
    if (accountsFile) io.stderr.write(`Accounts from ${accountsFile}${opts.verifySignatures ? ': their keys are SigV4-verified' : ' (signatures NOT verified: --no-verify-signatures)'}\n`);
    io.stderr.write('STS on the same port (POST /). Admin API under /_emulator/ (state, updates, calls, faults, accounts, out-of-band, health). Stop with Ctrl-C.\n');
    if (!io.signal.aborted) await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    await em.close();
    return EXIT.OK;
  },
};

/** The accounts file as JSON; a missing or malformed file is a usage error naming it. */
function readAccounts(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`eksidp emulator: --accounts ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`eksidp emulator: --accounts ${file}: not valid JSON (${(e as Error).message})`);
  }
}
