import { createHash, randomBytes } from 'node:crypto';

/**
 * Accounts, their keys and roles (the `--accounts FILE` document), the sessions STS issues, and who a
 * request is from. Schema: emulator/README.md ("Accounts"). Parsing is strict: an unknown field or a
 * wrong type is an error naming its path, so a typo never silently leaves a key unchecked.
 */

export const DEFAULT_ACCOUNT = '000000000000';

export type WebIdentityTrust = {
  /** The token's `iss` claim, exactly. */
  issuer: string;
  /** The token's `aud` (a string or a list) must contain one of these; absent = any audience. */
  audiences?: string[];
  /** Patterns for `sub` (`*` any run, `?` one character, as IAM's StringLike); absent = any subject. */
  subjects?: string[];
};

export type RoleSpec = {
  trust: {
    /**
     * Who may call AssumeRole: `*`, an account id or `arn:aws:iam::ACCT:root` (anyone in it), a user
     * ARN, a role ARN (its sessions), an assumed-role session ARN.
     */
    principals?: string[];
    /** When set, AssumeRole must send this ExternalId. */
    externalId?: string;
    /** Identity providers whose tokens AssumeRoleWithWebIdentity accepts for this role. */
    webIdentity?: WebIdentityTrust[];
  };
  /** 3600 to 43200 seconds, as IAM's MaxSessionDuration (default 3600). */
  maxSessionDuration?: number;
  /**
   * Emulator-only: credentials issued for this role expire after at most this many seconds, whatever
   * DurationSeconds asked (Expiration says so), so a test can watch a client refresh them.
   */
  credentialLifetimeSeconds?: number;
};

export type AccountSpec = {
  /** Regions the account may be called in; absent = any. */
  regions?: string[];
  users?: Record<string, { accessKeyId: string; secretAccessKey: string }>;
  roles?: Record<string, RoleSpec>;
};

export type AccountsConfig = { accounts: Record<string, AccountSpec> };

// --- parsing ---

export class AccountsError extends Error {}

type Json = { [k: string]: unknown };
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const ACCOUNT_ID = /^\d{12}$/;
const NAME = /^[\w+=,.@-]{1,64}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function fields(v: unknown, path: string, allowed: string[]): Json {
  if (!isObject(v)) throw new AccountsError(`${path} must be an object`);
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length) throw new AccountsError(`${path}: unknown field ${extra.map((k) => `'${k}'`).join(', ')} (known: ${allowed.join(', ')})`);
  return v;
}

/** A JSON object used as a map (any keys): its entries. */
function entries(v: unknown, path: string): [string, unknown][] {
  if (!isObject(v)) throw new AccountsError(`${path} must be an object`);
  return Object.entries(v);
}

function string(v: unknown, path: string, pattern?: RegExp): string {
  if (typeof v !== 'string' || v === '') throw new AccountsError(`${path} must be a non-empty string`);
  if (pattern && !pattern.test(v)) throw new AccountsError(`${path} '${v.slice(0, 100)}' does not match ${pattern.source}`);
  return v;
}

function strings(v: unknown, path: string, pattern?: RegExp): string[] {
  if (!Array.isArray(v)) throw new AccountsError(`${path} must be a list of strings`);
  return v.map((x, i) => string(x, `${path}[${i}]`, pattern));
}

function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new AccountsError(`${path} must be an integer from ${min} to ${max}`);
  return v;
}

const PRINCIPAL = /^(\*|\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|user\/.+|role\/.+)|arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/]+\/[^/]+)$/;

/** Checks a parsed accounts document and returns it typed; throws AccountsError naming the path. */
export function parseAccounts(doc: unknown, where = 'accounts file'): AccountsConfig {
  const top = fields(doc, where, ['accounts']);
  const out: AccountsConfig = { accounts: {} };
  const keys = new Map<string, string>();
  for (const [id, raw] of entries(top.accounts ?? {}, `${where}: accounts`)) {
    const p = `${where}: accounts.${id}`;
    if (!ACCOUNT_ID.test(id)) throw new AccountsError(`${p}: an account id is 12 digits`);
    const a = fields(raw, p, ['regions', 'users', 'roles']);
    const spec: AccountSpec = {};
    if (a.regions !== undefined) spec.regions = strings(a.regions, `${p}.regions`, REGION);
    if (a.users !== undefined) {
      spec.users = {};
      for (const [name, u] of entries(a.users, `${p}.users`)) {
        const up = `${p}.users.${name}`;
        string(name, up, NAME);
        const f = fields(u, up, ['accessKeyId', 'secretAccessKey']);
        const accessKeyId = string(f.accessKeyId, `${up}.accessKeyId`, /^[A-Z0-9]{16,128}$/);
        const secretAccessKey = string(f.secretAccessKey, `${up}.secretAccessKey`);
        if (keys.has(accessKeyId)) throw new AccountsError(`${up}.accessKeyId ${accessKeyId} is already the key of ${keys.get(accessKeyId)}`);
        if (accessKeyId.startsWith(SESSION_KEY_PREFIX)) throw new AccountsError(`${up}.accessKeyId must not start with ${SESSION_KEY_PREFIX} (reserved for sessions the emulator issues)`);
        keys.set(accessKeyId, up);
        spec.users[name] = { accessKeyId, secretAccessKey };
      }
    }
    if (a.roles !== undefined) {
      spec.roles = {};
      for (const [name, r] of entries(a.roles, `${p}.roles`)) {
        const rp = `${p}.roles.${name}`;
        string(name, rp, NAME);
        const f = fields(r, rp, ['trust', 'maxSessionDuration', 'credentialLifetimeSeconds']);
        const t = fields(f.trust, `${rp}.trust`, ['principals', 'externalId', 'webIdentity']);
        const role: RoleSpec = { trust: {} };
        if (t.principals !== undefined) role.trust.principals = strings(t.principals, `${rp}.trust.principals`, PRINCIPAL);
        if (t.externalId !== undefined) role.trust.externalId = string(t.externalId, `${rp}.trust.externalId`, /^[\w+=,.@:/-]{2,1224}$/);
        if (t.webIdentity !== undefined) {
          if (!Array.isArray(t.webIdentity)) throw new AccountsError(`${rp}.trust.webIdentity must be a list of objects`);
          role.trust.webIdentity = t.webIdentity.map((w, i) => {
            const wp = `${rp}.trust.webIdentity[${i}]`;
            const wf = fields(w, wp, ['issuer', 'audiences', 'subjects']);
            const issuer = string(wf.issuer, `${wp}.issuer`, /^https:\/\/[^\s]+$/);
            return {
              issuer,
              ...(wf.audiences !== undefined ? { audiences: strings(wf.audiences, `${wp}.audiences`) } : {}),
              ...(wf.subjects !== undefined ? { subjects: strings(wf.subjects, `${wp}.subjects`) } : {}),
            };
          });
        }
        if (f.maxSessionDuration !== undefined) role.maxSessionDuration = integer(f.maxSessionDuration, `${rp}.maxSessionDuration`, 3600, 43200);
        if (f.credentialLifetimeSeconds !== undefined) role.credentialLifetimeSeconds = integer(f.credentialLifetimeSeconds, `${rp}.credentialLifetimeSeconds`, 1, 43200);
        spec.roles[name] = role;
      }
    }
    out.accounts[id] = spec;
  }
  return out;
}

// --- identities ---

/** Who made a request. `verified` is false for keys the accounts file does not list (unchecked). */
export type Caller = {
  accountId: string;
  /** IAM ARN as GetCallerIdentity reports it. */
  arn: string;
  userId: string;
  accessKeyId?: string;
  /** Set for assumed-role sessions: role chaining limits apply. */
  session?: SessionRec;
  verified: boolean;
};

export type SessionRec = {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expiration: number;
  accountId: string;
  roleName: string;
  sessionName: string;
  /** What the caller sent with AssumeRole*, kept for the call log and chained sessions. */
  sourceIdentity?: string;
};

/** Issued session keys start with this, so one the emulator does not know (lost on a restart without --data) is refused, not taken for an unlisted key. */
export const SESSION_KEY_PREFIX = 'ASIAEMU';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function randomId(n: number): string {
  const b = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[b[i]! & 31];
  return s;
}

/** Stable IAM unique ids (AIDA… for users, AROA… for roles), derived from the ARN. */
export function uniqueId(prefix: 'AIDA' | 'AROA', arn: string): string {
  const h = createHash('sha256').update(arn).digest();
  let s = prefix;
  for (let i = 0; i < 17; i++) s += ALNUM[h[i]! & 31];
  return s;
}

export const roleArn = (accountId: string, role: string) => `arn:aws:iam::${accountId}:role/${role}`;
export const sessionArn = (s: Pick<SessionRec, 'accountId' | 'roleName' | 'sessionName'>) => `arn:aws:sts::${s.accountId}:assumed-role/${s.roleName}/${s.sessionName}`;

export function newSession(fields: Omit<SessionRec, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): SessionRec {
  return {
    accessKeyId: SESSION_KEY_PREFIX + randomId(13),
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VtdWxhdG9y${randomBytes(96).toString('base64')}`,
    ...fields,
  };
}

export type Key = { kind: 'user'; accountId: string; userName: string; secretAccessKey: string } | { kind: 'session'; session: SessionRec };

/** Looks up keys: users from the config, sessions as issued. */
export class Directory {
  private users = new Map<string, Key & { kind: 'user' }>();

  /** `sessions` is the store's map, so issued sessions persist with the data folder. */
  constructor(public config: AccountsConfig = { accounts: {} }, readonly sessions = new Map<string, SessionRec>()) {
    this.setConfig(config);
  }

  setConfig(config: AccountsConfig): void {
    this.config = config;
    this.users = new Map();
    for (const [accountId, a] of Object.entries(config.accounts)) {
      for (const [userName, u] of Object.entries(a.users ?? {})) this.users.set(u.accessKeyId, { kind: 'user', accountId, userName, secretAccessKey: u.secretAccessKey });
    }
  }

  key(accessKeyId: string): Key | undefined {
    const u = this.users.get(accessKeyId);
    if (u) return u;
    const s = this.sessions.get(accessKeyId);
    return s ? { kind: 'session', session: s } : undefined;
  }

  callerFor(key: Key, accessKeyId: string): Caller {
    if (key.kind === 'user') {
      const arn = `arn:aws:iam::${key.accountId}:user/${key.userName}`;
      return { accountId: key.accountId, arn, userId: uniqueId('AIDA', arn), accessKeyId, verified: true };
    }
    const s = key.session;
    return { accountId: s.accountId, arn: sessionArn(s), userId: `${uniqueId('AROA', roleArn(s.accountId, s.roleName))}:${s.sessionName}`, accessKeyId, session: s, verified: true };
  }

  role(arn: string): { accountId: string; name: string; spec: RoleSpec } | undefined {
    const m = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/.exec(arn);
    if (!m) return undefined;
    const spec = this.config.accounts[m[1]!]?.roles?.[m[2]!];
    return spec && { accountId: m[1]!, name: m[2]!, spec };
  }

  /** Regions the account may be called in (undefined = any). */
  regions(accountId: string): string[] | undefined {
    return this.config.accounts[accountId]?.regions;
  }

  /** Whether any role in the account trusts tokens from this issuer (AWS: an OIDC provider exists). */
  hasIssuer(accountId: string, issuer: string): boolean {
    return Object.values(this.config.accounts[accountId]?.roles ?? {}).some((r) => r.trust.webIdentity?.some((w) => w.issuer === issuer));
  }

  /** Drops sessions that expired before `before` (epoch ms). */
  prune(before: number): void {
    for (const [k, s] of this.sessions) if (s.expiration <= before) this.sessions.delete(k);
  }

  /** The config with secrets masked, for the admin API. */
  redacted(): AccountsConfig {
    return JSON.parse(JSON.stringify(this.config, (k, v: unknown) => (k === 'secretAccessKey' ? '***' : v))) as AccountsConfig;
  }
}

/** Whether a trust policy's principal list admits the caller (AWS's rules for the forms we accept). */
export function trusts(principals: string[] | undefined, caller: Caller): boolean {
  for (const p of principals ?? []) {
    if (p === '*') return true;
    const account = /^\d{12}$/.test(p) ? p : /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(p)?.[1];
    if (account !== undefined) {
      if (account === caller.accountId) return true;
      continue;
    }
    if (p === caller.arn) return true;
    // Trusting a role admits its sessions.
    if (caller.session && p === roleArn(caller.session.accountId, caller.session.roleName)) return true;
  }
  return false;
}

/** IAM StringLike: `*` any run of characters, `?` exactly one. */
export function stringLike(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(value);
}
