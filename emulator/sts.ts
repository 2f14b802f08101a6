import { randomUUID } from 'node:crypto';
import {
  type Caller, type Directory, newSession, roleArn, type SessionRec, sessionArn, stringLike, trusts, uniqueId,
} from './accounts';

/**
 * STS over the query protocol, as the SDKs send it: `POST /` with a form body
 * (`Action=AssumeRole&Version=2011-06-15&...`), XML answers in AWS's shapes, XML errors
 * (`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`).
 * IAM's GetUser (same protocol, Version 2010-05-08) is here too: Terraform's provider asks it for
 * the account id when credentials validation is skipped.
 */

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const STS_ACTIONS = ['GetCallerIdentity', 'AssumeRole', 'AssumeRoleWithWebIdentity'] as const;

export class StsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400, readonly type: 'Sender' | 'Receiver' = 'Sender') {
    super(message);
  }
}

/** Text content only (no attributes are ever built from data): &, < and > are all that need escaping. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

export function errorXml(e: StsError, requestId: string, ns = STS_NS): string {
  return `<ErrorResponse xmlns="${ns}">\n  <Error>\n    <Type>${e.type}</Type>\n    <Code>${xmlEscape(e.code)}</Code>\n    <Message>${xmlEscape(e.message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;
}

/** `<Action>Response><ActionResult>…</ActionResult><ResponseMetadata>…` from nested [name, value] pairs. */
export type Node = [string, string | Node[] | undefined];
function render(nodes: Node[], indent: string): string {
  let out = '';
  for (const [name, v] of nodes) {
    if (v === undefined) continue;
    out += typeof v === 'string' ? `${indent}<${name}>${xmlEscape(v)}</${name}>\n` : `${indent}<${name}>\n${render(v, `${indent}  `)}${indent}</${name}>\n`;
  }
  return out;
}

export function responseXml(action: string, result: Node[], requestId: string, ns = STS_NS): string {
  return `<${action}Response xmlns="${ns}">\n${render([[`${action}Result`, result], ['ResponseMetadata', [['RequestId', requestId]]]], '  ')}</${action}Response>\n`;
}

/** Member lists as the query protocol flattens them: `Name.member.1.Field`. */
function members(form: URLSearchParams, name: string, field?: string): string[] {
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const v = form.get(field ? `${name}.member.${i}.${field}` : `${name}.member.${i}`);
    if (v === null) return out;
    out.push(v);
  }
}

/** The parameters STS was sent, as the call log records them (lists expanded, secrets left out). */
export function recordedParams(form: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['RoleArn', 'RoleSessionName', 'DurationSeconds', 'ExternalId', 'Policy', 'SourceIdentity', 'ProviderId', 'SerialNumber', 'UserName']) {
    const v = form.get(k);
    if (v !== null) out[k] = v;
  }
  const arns = members(form, 'PolicyArns', 'arn');
  if (arns.length) out.PolicyArns = arns;
  const keys = members(form, 'Tags', 'Key');
  if (keys.length) out.Tags = Object.fromEntries(keys.map((k, i) => [k, form.get(`Tags.member.${i + 1}.Value`) ?? '']));
  const transitive = members(form, 'TransitiveTagKeys');
  if (transitive.length) out.TransitiveTagKeys = transitive;
  if (form.has('WebIdentityToken')) out.WebIdentityToken = '(present)';
  return out;
}

const validation = (message: string) => new StsError('ValidationError', message);

function param(form: URLSearchParams, name: string, opts: { min?: number; max?: number; pattern?: RegExp; required?: boolean } = {}): string | undefined {
  const v = form.get(name);
  if (v === null) {
    if (opts.required) throw validation(`1 validation error detected: Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  const field = `${name[0]!.toLowerCase()}${name.slice(1)}`;
  if (opts.min !== undefined && v.length < opts.min) throw validation(`1 validation error detected: Value '${v.slice(0, 100)}' at '${field}' failed to satisfy constraint: Member must have length greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && v.length > opts.max) throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`);
  if (opts.pattern && !opts.pattern.test(v)) throw validation(`1 validation error detected: Value '${v.slice(0, 100)}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${opts.pattern.source}`);
  return v;
}

const SESSION_NAME = /^[\w+=,.@-]*$/;

/** DurationSeconds as AWS bounds it: 900 s up to the role's maximum (1 h when chaining roles). */
function duration(form: URLSearchParams, max: number, chained: boolean): number {
  const raw = form.get('DurationSeconds');
  if (raw === null) return Math.min(3600, max);
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n)) throw validation(`1 validation error detected: Value '${raw.slice(0, 40)}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`);
  if (n < 900) throw validation(`1 validation error detected: Value '${n}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
  if (n > 43200) throw validation(`1 validation error detected: Value '${n}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`);
  if (chained && n > 3600) throw validation('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
  if (n > max) throw validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  return n;
}

/** Parameters both AssumeRole* share; checked as AWS checks them, recorded by the caller. */
function commonChecks(form: URLSearchParams): void {
  param(form, 'Policy', { min: 1, max: 2048 });
  const arns = members(form, 'PolicyArns', 'arn');
  if (arns.length > 10) throw validation('1 validation error detected: Value at \'policyArns\' failed to satisfy constraint: Member must have length less than or equal to 10');
  for (const a of arns) if (!/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/.+$/.test(a)) throw validation(`Invalid policy ARN: ${a.slice(0, 200)}`);
  const tags = members(form, 'Tags', 'Key');
  if (tags.length > 50) throw validation('1 validation error detected: Value at \'tags\' failed to satisfy constraint: Member must have length less than or equal to 50');
  const keys = new Set(tags.map((k) => k.toLowerCase()));
  for (const k of members(form, 'TransitiveTagKeys')) {
    if (!keys.has(k.toLowerCase())) throw new StsError('InvalidParameterValue', `The specified transitive tag key ${k.slice(0, 128)} must be included in the requested tags.`);
  }
  param(form, 'SourceIdentity', { min: 2, max: 64, pattern: /^[\w+=,.@-]*$/ });
}

/**
 * PackedPolicySize: the percentage of the packed-size limit that the session policy and tags take
 * (AWS packs them into the token; its compression is not reproduced, so this is by plain length).
 */
function packedSize(form: URLSearchParams): string | undefined {
  const tags = members(form, 'Tags', 'Key').map((k, i) => k + (form.get(`Tags.member.${i + 1}.Value`) ?? ''));
  const policy = form.get('Policy') ?? '';
  if (!policy && tags.length === 0) return undefined;
  const bytes = Buffer.byteLength(policy) + tags.reduce((n, t) => n + Buffer.byteLength(t), 0);
  const percent = Math.max(1, Math.ceil((bytes / 2048) * 100));
  if (percent > 100) throw new StsError('PackedPolicyTooLarge', `Packed size of the session policy and tags consumes ${percent}% of allotted space, please use a smaller policy or fewer tags.`);
  return String(percent);
}

function credentialsXml(s: SessionRec): Node[] {
  return [
    ['AccessKeyId', s.accessKeyId],
    ['SecretAccessKey', s.secretAccessKey],
    ['SessionToken', s.sessionToken],
    ['Expiration', new Date(s.expiration).toISOString().replace(/\.\d{3}Z$/, 'Z')],
  ];
}

function issue(dir: Directory, form: URLSearchParams, role: NonNullable<ReturnType<Directory['role']>>, sessionName: string, chained: boolean, now: number, sourceIdentity: string | undefined): SessionRec {
  const seconds = duration(form, role.spec.maxSessionDuration ?? 3600, chained);
  const lifetime = Math.min(seconds, role.spec.credentialLifetimeSeconds ?? seconds);
  // Whole seconds: the XML carries no milliseconds, and the client must not think it has longer.
  const s = newSession({ expiration: Math.floor((now + lifetime * 1000) / 1000) * 1000, accountId: role.accountId, roleName: role.name, sessionName, sourceIdentity });
  // Sessions expired for a day are dropped, so the map (and the data file) stays small; until then a
  // late caller still hears "expired", as from AWS, not "invalid".
  dir.prune(now - 24 * 3600 * 1000);
  dir.sessions.set(s.accessKeyId, s);
  return s;
}

function assumedRoleUser(s: SessionRec): Node {
  return ['AssumedRoleUser', [['AssumedRoleId', `${uniqueId('AROA', roleArn(s.accountId, s.roleName))}:${s.sessionName}`], ['Arn', sessionArn(s)]]];
}

export type StsContext = { dir: Directory; caller: Caller | undefined; now: number };

/** Runs one action; returns the XML answer or throws StsError. */
export function runSts(action: string, form: URLSearchParams, ctx: StsContext, requestId: string): string {
  const { dir, caller, now } = ctx;
  const needCaller = (): Caller => {
    if (!caller) throw new StsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    return caller;
  };
  switch (action) {
    case 'GetCallerIdentity': {
      const c = needCaller();
      return responseXml(action, [['Arn', c.arn], ['UserId', c.userId], ['Account', c.accountId]], requestId);
    }
    case 'AssumeRole': {
      const c = needCaller();
      const arn = param(form, 'RoleArn', { required: true, min: 20, max: 2048 })!;
      const sessionName = param(form, 'RoleSessionName', { required: true, min: 2, max: 64, pattern: SESSION_NAME })!;
      const externalId = param(form, 'ExternalId', { min: 2, max: 1224, pattern: /^[\w+=,.@:/-]*$/ });
      commonChecks(form);
      const packed = packedSize(form);
      const role = dir.role(arn);
      const denied = () => new StsError('AccessDenied', `User: ${c.arn} is not authorized to perform: sts:AssumeRole on resource: ${arn}`, 403);
      if (!role || !trusts(role.spec.trust.principals, c)) throw denied();
      if (role.spec.trust.externalId !== undefined && externalId !== role.spec.trust.externalId) throw denied();
      // A source identity, once set, stays for the chain and cannot be changed.
      const sourceIdentity = form.get('SourceIdentity') ?? c.session?.sourceIdentity;
      if (c.session?.sourceIdentity !== undefined && form.get('SourceIdentity') !== null && form.get('SourceIdentity') !== c.session.sourceIdentity) throw denied();
      const s = issue(dir, form, role, sessionName, c.session !== undefined, now, sourceIdentity);
      return responseXml(action, [
        ['Credentials', credentialsXml(s)],
        assumedRoleUser(s),
        ['PackedPolicySize', packed],
        ['SourceIdentity', sourceIdentity],
      ], requestId);
    }
    case 'AssumeRoleWithWebIdentity': {
      const arn = param(form, 'RoleArn', { required: true, min: 20, max: 2048 })!;
      const sessionName = param(form, 'RoleSessionName', { required: true, min: 2, max: 64, pattern: SESSION_NAME })!;
      const token = param(form, 'WebIdentityToken', { required: true, min: 4, max: 20000 })!;
      commonChecks(form);
      const packed = packedSize(form);
      const claims = decodeJwt(token);
      const accountId = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(arn)?.[1];
      if (accountId === undefined || !dir.hasIssuer(accountId, claims.iss)) throw new StsError('InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${claims.iss}`);
      if (claims.exp !== undefined && claims.exp * 1000 <= now) {
        throw new StsError('ExpiredTokenException', `Token expired: current date/time ${Math.floor(now / 1000)} must be before the expiration date/time ${claims.exp}`);
      }
      if (claims.nbf !== undefined && claims.nbf * 1000 > now + 5 * 60 * 1000) throw new StsError('InvalidIdentityToken', 'Token is not yet valid (nbf is in the future)');
      const role = dir.role(arn);
      const trust = role?.spec.trust.webIdentity?.find((w) => w.issuer === claims.iss
        && (w.audiences === undefined || claims.aud.some((a) => w.audiences!.includes(a)))
        && (w.subjects === undefined || w.subjects.some((p) => stringLike(p, claims.sub))));
      if (!role || !trust) throw new StsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
      const s = issue(dir, form, role, sessionName, false, now, form.get('SourceIdentity') ?? undefined);
      return responseXml(action, [
        ['Credentials', credentialsXml(s)],
        ['SubjectFromWebIdentityToken', claims.sub],
        assumedRoleUser(s),
        ['PackedPolicySize', packed],
        ['Provider', claims.iss],
        ['Audience', claims.aud.find((a) => trust.audiences === undefined || trust.audiences.includes(a))],
        ['SourceIdentity', s.sourceIdentity],
      ], requestId);
    }
    default:
      throw new StsError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`);
  }
}

export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
export const IAM_VERSION = '2010-05-08';
export const IAM_ACTIONS = ['GetUser'] as const;

/** IAM GetUser: the caller's own user (or root for an unlisted key), or a named user of its account. */
export function runIam(action: string, form: URLSearchParams, ctx: StsContext, requestId: string): string {
  const { dir, caller } = ctx;
  if (action !== 'GetUser') throw new StsError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version ${IAM_VERSION}`);
  if (!caller) throw new StsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
  const name = param(form, 'UserName', { min: 1, max: 128, pattern: /^[\w+=,.@-]+$/ });
  const created = '2020-01-01T00:00:00Z';
  let user: Node[];
  if (name !== undefined) {
    if (!dir.config.accounts[caller.accountId]?.users?.[name]) throw new StsError('NoSuchEntity', `The user with name ${name} cannot be found.`, 404);
    const arn = `arn:aws:iam::${caller.accountId}:user/${name}`;
    user = [['Path', '/'], ['UserName', name], ['UserId', uniqueId('AIDA', arn)], ['Arn', arn], ['CreateDate', created]];
  } else if (caller.session) {
    throw new StsError('ValidationError', 'Must specify userName when calling with non-User credentials');
  } else if (caller.arn.endsWith(':root')) {
    user = [['UserId', caller.userId], ['Arn', caller.arn], ['CreateDate', created]];
  } else {
    user = [['Path', '/'], ['UserName', caller.arn.slice(caller.arn.lastIndexOf('/') + 1)], ['UserId', caller.userId], ['Arn', caller.arn], ['CreateDate', created]];
  }
  return responseXml(action, [['User', user]], requestId, IAM_NS);
}

export type Claims = { iss: string; sub: string; aud: string[]; exp?: number; nbf?: number };

/**
 * The claims of a JWT. The signature is NOT checked: the emulator cannot fetch the issuer's keys
 * (loopback only) and tests mint their own tokens; iss, aud, sub, exp and nbf are (README).
 */
export function decodeJwt(token: string): Claims {
  const bad = (why: string) => new StsError('InvalidIdentityToken', `Couldn't parse the web identity token: ${why}`);
  const parts = token.trim().split('.');
  if (parts.length !== 3) throw bad('a JWT has three dot-separated parts');
  let payload: unknown;
  try {
    JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw bad('header or payload is not base64url JSON');
  }
  if (typeof payload !== 'object' || payload === null) throw bad('the payload is not a JSON object');
  const p = payload as Record<string, unknown>;
  if (typeof p.iss !== 'string' || typeof p.sub !== 'string') throw bad('iss and sub must be strings');
  const aud = typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) && p.aud.every((a) => typeof a === 'string') ? (p.aud as string[]) : undefined;
  if (!aud) throw bad('aud must be a string or a list of strings');
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return { iss: p.iss, sub: p.sub, aud, exp: num(p.exp), nbf: num(p.nbf) };
}

export const newRequestId = () => randomUUID();
