import type { CallRecord } from './calls';
import { serve } from './server';
import type { UpdateRecord } from './store';
import type { S3Handle } from './s3';
export type { S3Handle, S3Faults } from './s3';

/**
 * The embedded EKS emulator: the EKS REST-JSON API (the parts identity provider management and
 * Terraform's aws_eks_cluster use) and STS (GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity)
 * over node:http on one port, with accounts whose keys are SigV4-verified, clusters per account and
 * region, lifecycles, limits, idempotency, optional persistence and seeded fault injection.
 * Admin API under /_emulator/.
 */

export type { UpdateRecord } from './store';
export type { CallRecord } from './calls';
export type { AccountsConfig, AccountSpec, RoleSpec, WebIdentityTrust } from './accounts';
export { parseAccounts, AccountsError, DEFAULT_ACCOUNT } from './accounts';

export type EmulatorOptions = {
  host?: string /* default 127.0.0.1 */;
  port?: number /* default 4599; 0 = OS picks */;
  dataDir?: string;
  latencyMs?: number;
  throttleRate?: number;
  errorRate?: number;
  resetRate?: number;
  seed?: number;
  clusterCreateMs?: number;
  clusterDeleteMs?: number;
  updateMs?: number;
  failUpdateRate?: number;
  /**
   * Requests per second the account may make (a token bucket over all API calls, as EKS throttles);
   * calls beyond it get 429 ThrottlingException. 0 = no limit.
   */
  rateLimit?: number;
  /** Bucket size: calls allowed at once after idling (default: one second's worth). */
  rateBurst?: number;
  /** Region of unsigned requests (signed ones use their credential scope's region). */
  region?: string /* us-east-1 */;
  /** Account of unsigned requests and of keys the accounts document does not list. */
  accountId?: string /* 000000000000 */;
  maxBodyBytes?: number;
  /** The accounts document (schema in emulator/README.md), checked strictly; `--accounts FILE`. */
  accounts?: unknown;
  /** false: no SigV4, session token or expiry checks at all (default true: listed keys are verified). */
  verifySignatures?: boolean;
  /** Host header names accepted besides loopback ones (e.g. a name a test proxy maps here). */
  allowHosts?: string[];
  /** Concurrent connections served; more are closed at once (default 256). */
  maxConnections?: number;
  /**
   * Also serve the S3 subset a Terraform state needs (emulator/s3.ts) on this port (0 = OS picks),
   * a listener of its own: path-style bucket URLs would collide with EKS routes.
   */
  s3Port?: number;
  /** Buckets that exist from the start (S3 listener only). */
  s3Buckets?: string[];
  /** Where warnings go (default: stderr). */
  log?: (line: string) => void;
};

export type FaultSettings = Pick<
  EmulatorOptions,
  'latencyMs' | 'throttleRate' | 'errorRate' | 'resetRate' | 'failUpdateRate' | 'clusterCreateMs' | 'clusterDeleteMs' | 'updateMs' | 'seed' | 'rateLimit' | 'rateBurst'
>;

export type EmulatorHandle = {
  url: string;
  /** The S3 listener, when `s3Port` was given. */
  s3?: S3Handle;
  port: number;
  close(): Promise<void>;
  setFaults(f: Partial<FaultSettings>): void;
  /** Replaces the accounts document (same schema as --accounts); throws AccountsError naming the field. */
  setAccounts(config: unknown): void;
  /** State as JSON (clusters of every account and region, each with its accountId and region). */
  snapshot(): unknown;
  /** Every update ever started, incl. type, cluster, config name, status, clientRequestToken, times. */
  updates(): UpdateRecord[];
  /** EKS API calls served per operation name, excluding admin and STS. */
  calls(): Record<string, number>;
  /** STS calls per Action name. */
  stsCalls(): Record<string, number>;
  /** IAM calls per Action name (GetUser, which Terraform's provider asks for the account id). */
  iamCalls(): Record<string, number>;
  /** The IAM role names of an account (default: the emulator's default account), emulator/iam.ts. */
  iamRoles(account?: string): string[];
  /** The last 10,000 EKS and STS calls: who signed them (key, account, region, principal), the answer, STS parameters. */
  callLog(): CallRecord[];
  /** Clears the counts and the log. */
  resetCalls(): void;
};

export function startEmulator(opts: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return serve(opts);
}
