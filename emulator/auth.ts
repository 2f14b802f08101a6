import { type Caller, type Directory, SESSION_KEY_PREFIX } from './accounts';
import { ALGORITHM, amzDateMs, credentialOf, headerValue, MAX_SKEW_MS, parseAuthorization, type SignedRequest, verify } from './sigv4';

/**
 * Who sent a request, and in which region. Keys the accounts file lists (and sessions STS issued)
 * are verified: SigV4 recomputed, session token compared, expiry and clock skew checked. Any other
 * key passes unchecked as the default account; an unsigned request is the default account in the
 * default region. Failures are protocol-neutral here; the server renders them as EKS or STS errors.
 */

export type AuthFailure = {
  /** incomplete: malformed auth; signature: wrong signature/scope/clock; token: unknown key or token; expired; region: not enabled. */
  kind: 'incomplete' | 'signature' | 'token' | 'expired' | 'region';
  message: string;
  /** The key the request named, when it could be read (for the call log). */
  accessKeyId?: string;
};

export type Authenticated = { caller: Caller | undefined; accountId: string; region: string };

export type AuthSettings = {
  dir: Directory;
  /** false: no signature, token or expiry checks at all (keys still name their account). */
  verify: boolean;
  defaultAccount: string;
  defaultRegion: string;
};

const SANE_REGION = /^[a-z0-9-]{1,40}$/;

const regionMessage = (region: string, accountId: string, regions: string[]) => `Region ${region} is not enabled for account ${accountId} (the accounts file lists ${regions.join(', ')})`;

const fmt = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

export function authenticate(req: SignedRequest, service: 'eks' | 'sts' | 'iam' | 's3', s: AuthSettings, now: number): Authenticated | AuthFailure {
  const header = headerValue(req.rawHeaders, 'authorization');
  if (header === undefined) {
    // Query-string (presigned) auth is not verified here: refused rather than taken as unsigned.
    if (s.verify && req.url.includes('X-Amz-Signature=')) return { kind: 'incomplete', message: 'Query-string (presigned) authentication is not supported by the emulator: sign with the Authorization header' };
    return { caller: undefined, accountId: s.defaultAccount, region: s.defaultRegion };
  }
  const cred = credentialOf(header);
  const key = cred && s.dir.key(cred.accessKeyId);
  if (!key) {
    if (!cred || !header.startsWith(`${ALGORITHM} `)) {
      if (!s.verify) return { caller: undefined, accountId: s.defaultAccount, region: s.defaultRegion };
      return { kind: 'incomplete', message: `Authorization header requires a '${ALGORITHM} Credential=KEY/DATE/REGION/SERVICE/aws4_request' credential. Authorization=${header.slice(0, 200)}` };
    }
    if (!SANE_REGION.test(cred.region)) return { kind: 'incomplete', message: `Credential should be scoped to a valid region, not '${cred.region.slice(0, 60)}'.`, accessKeyId: cred.accessKeyId };
    // An issued session key the emulator no longer knows (restarted without --data) is refused:
    // taking it for an unlisted key would silently switch accounts.
    if (s.verify && cred.accessKeyId.startsWith(SESSION_KEY_PREFIX)) return { kind: 'token', message: 'The security token included in the request is invalid.', accessKeyId: cred.accessKeyId };
    const accountId = s.defaultAccount;
    const regions = service === 'iam' ? undefined : s.dir.regions(accountId);
    if (regions && !regions.includes(cred.region)) return { kind: 'region', message: regionMessage(cred.region, accountId, regions), accessKeyId: cred.accessKeyId };
    return { caller: { accountId, arn: `arn:aws:iam::${accountId}:root`, userId: accountId, accessKeyId: cred.accessKeyId, verified: false }, accountId, region: cred.region };
  }
  const a = parseAuthorization(header);
  if ('problem' in a) {
    if (!s.verify) return { caller: undefined, accountId: s.defaultAccount, region: s.defaultRegion };
    return { kind: 'incomplete', message: a.problem, accessKeyId: cred.accessKeyId };
  }
  const fail = (kind: AuthFailure['kind'], message: string): AuthFailure => ({ kind, message, accessKeyId: a.accessKeyId });
  if (!SANE_REGION.test(a.region)) return fail('incomplete', `Credential should be scoped to a valid region, not '${a.region.slice(0, 60)}'.`);
  const region = a.region;
  const caller = s.dir.callerFor(key, a.accessKeyId);
  if (!s.verify) return { caller: { ...caller, verified: false }, accountId: caller.accountId, region };

  if (key.kind === 'session' && headerValue(req.rawHeaders, 'x-amz-security-token') !== key.session.sessionToken) {
    return fail('token', 'The security token included in the request is invalid.');
  }
  const amzDate = headerValue(req.rawHeaders, 'x-amz-date');
  const signedAt = amzDateMs(amzDate);
  if (Number.isNaN(signedAt)) return fail('incomplete', "Authorization header requires existence of a valid 'X-Amz-Date' header (yyyymmddThhmmssZ).");
  if (a.service !== service) return fail('signature', `Credential should be scoped to correct service: '${service}'.`);
  if (amzDate!.slice(0, 8) !== a.day) return fail('signature', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${a.day}' != '${amzDate!.slice(0, 8)}', from '${amzDate}'.`);
  if (signedAt < now - MAX_SKEW_MS) return fail('signature', `Signature expired: ${amzDate} is now earlier than ${fmt(now - MAX_SKEW_MS)} (${fmt(now)} - 15 min.)`);
  if (signedAt > now + MAX_SKEW_MS) return fail('signature', `Signature not yet current: ${amzDate} is still later than ${fmt(now + MAX_SKEW_MS)} (${fmt(now)} + 15 min.)`);
  const secret = key.kind === 'user' ? key.secretAccessKey : key.session.secretAccessKey;
  const v = verify(req, a, secret, amzDate!);
  if (!v.ok) return fail('signature', v.problem);
  if (key.kind === 'session' && key.session.expiration <= now) return fail('expired', 'The security token included in the request is expired');
  // IAM is global: no region to enable.
  const regions = service === 'iam' ? undefined : s.dir.regions(caller.accountId);
  if (regions && !regions.includes(region)) {
    return fail('region', regionMessage(region, caller.accountId, regions));
  }
  return { caller, accountId: caller.accountId, region };
}
