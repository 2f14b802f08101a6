/**
 * What the emulator was asked: counts per EKS operation and per STS (and IAM) action (apart, so "zero EKS
 * calls" stays checkable when a client asked STS first), and a bounded log of recent calls with
 * who signed them, for tests that assert which credentials and parameters were sent.
 */

export type CallRecord = {
  /** Epoch ms. */
  at: number;
  service: 'eks' | 'sts' | 'iam';
  /** EKS operation, or STS / IAM Action. */
  operation: string;
  /** HTTP status answered (0 while in flight or when the connection was reset). */
  status: number;
  /** Error type or code when the call failed. */
  error?: string;
  /** The access key the request was signed with (absent when unsigned). */
  accessKeyId?: string;
  /** Whether the signature was checked (a key the accounts file lists, or an issued session). */
  verified: boolean;
  /** The caller's account (the default account for unlisted keys and unsigned calls) and region. */
  accountId: string;
  region: string;
  /** The caller's ARN, when signed. */
  principal?: string;
  /** STS parameters as sent (RoleArn, RoleSessionName, DurationSeconds, ExternalId, Policy, PolicyArns, Tags, TransitiveTagKeys, SourceIdentity…). */
  params?: Record<string, unknown>;
};

export const CALL_LOG_SIZE = 10_000;

export class Calls {
  eks: Record<string, number> = {};
  sts: Record<string, number> = {};
  iam: Record<string, number> = {};
  private ring: CallRecord[] = [];
  private next = 0;

  add(r: CallRecord): CallRecord {
    if (this.ring.length < CALL_LOG_SIZE) this.ring.push(r);
    else this.ring[this.next] = r;
    this.next = (this.next + 1) % CALL_LOG_SIZE;
    return r;
  }

  /** The most recent calls, oldest first (at most CALL_LOG_SIZE). */
  log(): CallRecord[] {
    const r = this.ring;
    return r.length < CALL_LOG_SIZE ? r.map((x) => ({ ...x })) : [...r.slice(this.next), ...r.slice(0, this.next)].map((x) => ({ ...x }));
  }

  reset(): void {
    this.eks = {};
    this.sts = {};
    this.iam = {};
    this.ring = [];
    this.next = 0;
  }
}
