import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startEmulator, type EmulatorHandle, type S3Handle } from '../../emulator';

/**
 * The servers an S3-backend test needs, started once per test file: the emulator (EKS, STS, and its
 * S3 subset on a second port, SigV4-verified for the account below) and dynalite (npm's DynamoDB on
 * LevelDB, in memory) with a lock table. Both listen on loopback ports the OS picks.
 */

export const BUCKET = 'team-state';
export const TABLE = 'tf-locks';
export const KEYS = { accessKeyId: 'AKIASTATE00000000001', secretAccessKey: 'state-secret' };

export type StateServers = {
  em: EmulatorHandle;
  s3: S3Handle;
  dynamodbUrl: string;
  /** A DynamoDB call (JSON protocol; dynalite checks no signature, only that one is present). */
  dynamo(action: string, body: unknown): Promise<Record<string, unknown>>;
  /** The item with this LockID in the lock table, as strings. */
  item(lockId: string): Promise<Record<string, string> | undefined>;
  close(): Promise<void>;
};

export async function startStateServers(opts: { updateMs?: number; /** Default: account 000000000000 with KEYS. */ accounts?: unknown; buckets?: string[] } = {}): Promise<StateServers> {
  const em = await startEmulator({
    port: 0, s3Port: 0, s3Buckets: opts.buckets ?? [BUCKET], clusterCreateMs: 100, clusterDeleteMs: 50, updateMs: opts.updateMs ?? 100,
    accounts: opts.accounts ?? { accounts: { '000000000000': { regions: ['us-east-1'], users: { ci: KEYS } } } },
    log: () => {},
  });
  const dynalite = (require('dynalite') as (o: Record<string, number>) => import('node:http').Server)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynalite.listen(0, '127.0.0.1', resolve));
  const dynamodbUrl = `http://127.0.0.1:${(dynalite.address() as AddressInfo).port}`;
  const dynamo = async (action: string, body: unknown) => {
    const res = await fetch(dynamodbUrl, {
      method: 'POST', body: JSON.stringify(body),
      headers: {
        'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${action}`, 'x-amz-date': '20260101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
      },
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${action}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  await dynamo('CreateTable', { TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' });
  const item = async (lockId: string) => {
    const out = (await dynamo('GetItem', { TableName: TABLE, Key: { LockID: { S: lockId } }, ConsistentRead: true })) as { Item?: Record<string, { S: string }> };
    return out.Item ? Object.fromEntries(Object.entries(out.Item).map(([k, v]) => [k, v.S])) : undefined;
  };
  return {
    em, s3: em.s3!, dynamodbUrl, dynamo, item,
    close: async () => {
      await em.close();
      await new Promise<void>((resolve) => dynalite.close(() => resolve()));
    },
  };
}

export type LockMode = 'lockfile' | 'dynamodb' | 'both';
export const LOCK_MODES: LockMode[] = ['lockfile', 'dynamodb', 'both'];

/** The backend "s3" block as cdktf's S3Backend writes it (use_lockfile through addOverride). */
export function s3Backend(servers: StateServers, key: string, mode: LockMode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bucket: BUCKET, key, region: 'us-east-1',
    ...(mode !== 'dynamodb' ? { use_lockfile: true } : {}),
    ...(mode !== 'lockfile' ? { dynamodb_table: TABLE } : {}),
    endpoints: { s3: servers.s3.url, dynamodb: servers.dynamodbUrl },
    use_path_style: true,
    skip_credentials_validation: true, skip_requesting_account_id: true, skip_metadata_api_check: true, skip_region_validation: true,
    access_key: KEYS.accessKeyId, secret_key: KEYS.secretAccessKey,
    ...extra,
  };
}

export const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
