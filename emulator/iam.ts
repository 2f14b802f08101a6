import { uniqueId } from './accounts';
import { IAM_NS, type Node, responseXml, StsError, type StsContext } from './sts';

/**
 * IAM roles, the subset hashicorp/aws's `aws_iam_role` calls (create, read, update, delete with its
 * clean-up listings), over the query protocol like GetUser (sts.ts): form posts with
 * `Version=2010-05-08`, XML answers in IAM's shapes, `<member>` lists. Enough for a stack that
 * declares its cluster's role next to the cluster. Roles live in memory per emulator, per account
 * (not in the data dir); inline and managed policies, instance profiles and permissions boundaries
 * are not served (the listings answer empty; the actions that would set them are unknown actions).
 */

export const IAM_ROLE_ACTIONS = [
  'CreateRole', 'GetRole', 'DeleteRole', 'UpdateRole', 'UpdateRoleDescription', 'UpdateAssumeRolePolicy', 'TagRole', 'UntagRole', 'ListRoleTags',
  'ListRolePolicies', 'ListAttachedRolePolicies', 'ListInstanceProfilesForRole',
] as const;

type Role = {
  name: string;
  path: string;
  arn: string;
  id: string;
  created: string;
  assumeRolePolicy: string;
  description?: string;
  maxSessionDuration: number;
  tags: Map<string, string>;
};

const validation = (message: string) => new StsError('ValidationError', message);
const noSuchRole = (name: string) => new StsError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);

function required(form: URLSearchParams, name: string): string {
  const v = form.get(name);
  if (v === null || v === '') throw validation(`1 validation error detected: Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return v;
}

function roleName(form: URLSearchParams): string {
  const name = required(form, 'RoleName');
  if (name.length > 64 || !/^[\w+=,.@-]+$/.test(name)) throw validation(`1 validation error detected: Value '${name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and length <= 64`);
  return name;
}

function policyDocument(form: URLSearchParams, name: string): string {
  const doc = required(form, name);
  try {
    const p = JSON.parse(doc) as unknown;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error('not an object');
  } catch {
    throw new StsError('MalformedPolicyDocument', 'This policy contains invalid Json', 400);
  }
  return doc;
}

/** `Tags.member.N.Key/Value` (CreateRole, TagRole). */
function tagsOf(form: URLSearchParams): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 1; form.has(`Tags.member.${i}.Key`); i++) out.push([form.get(`Tags.member.${i}.Key`)!, form.get(`Tags.member.${i}.Value`) ?? '']);
  return out;
}

function listOf(form: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${name}.member.${i}`); i++) out.push(form.get(`${name}.member.${i}`)!);
  return out;
}

const tagNodes = (tags: Map<string, string>): Node[] => [...tags].map(([k, v]) => ['member', [['Key', k], ['Value', v]]]);

/** As IAM answers it: the trust policy URL-encoded (the SDKs' callers decode it). */
function roleNode(r: Role): Node[] {
  return [
    ['Path', r.path], ['RoleName', r.name], ['RoleId', r.id], ['Arn', r.arn], ['CreateDate', r.created],
    ['AssumeRolePolicyDocument', encodeURIComponent(r.assumeRolePolicy)],
    ['Description', r.description], ['MaxSessionDuration', String(r.maxSessionDuration)],
    ['Tags', r.tags.size ? tagNodes(r.tags) : undefined],
    ['RoleLastUsed', []],
  ];
}

function maxSession(form: URLSearchParams): number | undefined {
  const v = form.get('MaxSessionDuration');
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 3600 || n > 43200) throw validation(`1 validation error detected: Value '${v}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`);
  return n;
}

/** The roles of every account of one emulator. */
export class IamRoles {
  private readonly byAccount = new Map<string, Map<string, Role>>();

  private roles(account: string): Map<string, Role> {
    let m = this.byAccount.get(account);
    if (!m) this.byAccount.set(account, (m = new Map()));
    return m;
  }

  /** The role names of an account (tests). */
  names(account: string): string[] {
    return [...this.roles(account).keys()].sort();
  }

  run(action: string, form: URLSearchParams, ctx: StsContext, requestId: string): string {
    if (!ctx.caller) throw new StsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    const roles = this.roles(ctx.caller.accountId);
    const get = (name: string): Role => {
      const r = roles.get(name);
      if (!r) throw noSuchRole(name);
      return r;
    };
    const ok = (result: Node[] = []) => responseXml(action, result, requestId, IAM_NS);
    const notTruncated: Node = ['IsTruncated', 'false'];
    switch (action) {
      case 'CreateRole': {
        const name = roleName(form);
        if (roles.has(name)) throw new StsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
        const path = form.get('Path') ?? '/';
        if (!/^\/([\x21-\x7e]*\/)?$/.test(path)) throw validation(`The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`);
        const arn = `arn:aws:iam::${ctx.caller.accountId}:role${path}${name}`;
        const r: Role = {
          name, path, arn, id: uniqueId('AROA', arn), created: new Date(ctx.now).toISOString().replace(/\.\d+Z$/, 'Z'),
          assumeRolePolicy: policyDocument(form, 'AssumeRolePolicyDocument'), maxSessionDuration: maxSession(form) ?? 3600, tags: new Map(tagsOf(form)),
        };
        const description = form.get('Description');
        if (description) r.description = description;
        if (form.has('PermissionsBoundary')) throw new StsError('InvalidAction', 'the emulator does not serve permissions boundaries');
        roles.set(name, r);
        return ok([['Role', roleNode(r)]]);
      }
      case 'GetRole':
        return ok([['Role', roleNode(get(roleName(form)))]]);
      case 'DeleteRole':
        roles.delete(get(roleName(form)).name);
        return ok();
      case 'UpdateRole':
      case 'UpdateRoleDescription': {
        const r = get(roleName(form));
        const description = form.get('Description');
        if (description !== null) { if (description) r.description = description; else delete r.description; }
        const max = maxSession(form);
        if (max !== undefined) r.maxSessionDuration = max;
        return action === 'UpdateRole' ? ok() : ok([['Role', roleNode(r)]]);
      }
      case 'UpdateAssumeRolePolicy':
        get(roleName(form)).assumeRolePolicy = policyDocument(form, 'PolicyDocument');
        return ok();
      case 'TagRole': {
        const r = get(roleName(form));
        for (const [k, v] of tagsOf(form)) r.tags.set(k, v);
        return ok();
      }
      case 'UntagRole': {
        const r = get(roleName(form));
        for (const k of listOf(form, 'TagKeys')) r.tags.delete(k);
        return ok();
      }
      case 'ListRoleTags':
        return ok([['Tags', tagNodes(get(roleName(form)).tags)], notTruncated]);
      case 'ListRolePolicies':
        get(roleName(form));
        return ok([['PolicyNames', []], notTruncated]);
      case 'ListAttachedRolePolicies':
        get(roleName(form));
        return ok([['AttachedPolicies', []], notTruncated]);
      case 'ListInstanceProfilesForRole':
        get(roleName(form));
        return ok([['InstanceProfiles', []], notTruncated]);
      default:
        throw new StsError('InvalidAction', `Could not find operation ${action.slice(0, 100)} for version 2010-05-08`);
    }
  }
}
