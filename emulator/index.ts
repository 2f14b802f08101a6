import { serve } from './server';
import type { UpdateRecord } from './store';

/**
 * The embedded EKS emulator: the EKS REST-JSON API (the parts identity provider management and
 * Terraform's aws_eks_cluster use) over node:http, with lifecycles, limits, idempotency, optional
 * persistence and seeded fault injection. Admin API under /_emulator/.
 */

export type { UpdateRecord } from './store';

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
  region?: string /* us-east-1 */;
  accountId?: string /* 000000000000 */;
  maxBodyBytes?: number;
};

export type FaultSettings = Pick<
  EmulatorOptions,
  'latencyMs' | 'throttleRate' | 'errorRate' | 'resetRate' | 'failUpdateRate' | 'clusterCreateMs' | 'clusterDeleteMs' | 'updateMs' | 'seed' | 'rateLimit' | 'rateBurst'
>;

export type EmulatorHandle = {
  url: string;
  port: number;
  close(): Promise<void>;
  setFaults(f: Partial<FaultSettings>): void;
  /** State as JSON. */
  snapshot(): unknown;
  /** Every update ever started, incl. type, cluster, config name, status, clientRequestToken, times. */
  updates(): UpdateRecord[];
  /** API calls served per operation name, excluding admin. */
  calls(): Record<string, number>;
  resetCalls(): void;
};

export function startEmulator(opts: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return serve(opts);
}
