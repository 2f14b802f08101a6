import { AccountsError, type Directory, parseAccounts } from './accounts';
import type { Calls } from './calls';
import { EksError } from './errors';
import type { Eks, OpResult } from './operations';
import type { Scope, Store } from './store';
import { isObj, type Obj, str, strList, strMap } from './validate';
import type { FaultSettings } from './index';

/**
 * The admin API under /_emulator/: never subject to faults, never counted in the call counts.
 * Besides inspection and knobs, it makes the out-of-band changes a user wants to try drift with
 * (edit tags, associate a rogue config, disassociate, delete a cluster). Those run the EKS
 * operations themselves, so they behave as on AWS: a disassociated config is DELETING for
 * `updateMs`, a deleted cluster DELETING for `clusterDeleteMs`, and busy clusters refuse.
 */

export type AdminContext = {
  store: Store;
  eks: Eks;
  dir: Directory;
  calls: Calls;
  defaults: Scope;
  faults: Required<FaultSettings>;
  setFaults(f: Partial<FaultSettings>): void;
  /** Applies due transitions (and persists when any). */
  advance(): void;
};

export type AdminResult = { status: number; body: unknown };

const ok = (body: unknown): AdminResult => ({ status: 200, body });

/** Request bodies of the out-of-band routes (emulator/README.md). */
const OUT_OF_BAND = {
  tags: ['cluster', 'config', 'set', 'remove', 'accountId', 'region'],
  associate: ['cluster', 'oidc', 'tags', 'accountId', 'region'],
  disassociate: ['cluster', 'config', 'accountId', 'region'],
  'delete-cluster': ['cluster', 'accountId', 'region'],
} as const;

function scopeOf(body: Obj, defaults: Scope): Scope {
  return {
    accountId: str(body, 'accountId', { pattern: /^\d{12}$/ }) ?? defaults.accountId,
    region: str(body, 'region', { pattern: /^[a-z0-9-]{1,40}$/ }) ?? defaults.region,
  };
}

function checkFields(body: Obj, allowed: readonly string[], what: string): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) throw new EksError('InvalidParameterException', `${what}: unknown field(s) ${extra.join(', ')} (known: ${allowed.join(', ')})`);
}

function outOfBand(ctx: AdminContext, action: keyof typeof OUT_OF_BAND, body: Obj): OpResult {
  checkFields(body, OUT_OF_BAND[action], `out-of-band/${action}`);
  const scope = scopeOf(body, ctx.defaults);
  const cluster = str(body, 'cluster', { required: true })!;
  const run = (op: string, params: Record<string, string>, b: Obj = {}, query = new URLSearchParams()) => ctx.eks.operations[op]!({ params: { name: cluster, ...params }, query, body: b, scope });
  switch (action) {
    case 'tags': {
      const set = strMap(body, 'set');
      const remove = strList(body, 'remove');
      if (!set && !remove) throw new EksError('InvalidParameterException', 'out-of-band/tags: give set (a map of tags to add or change) and/or remove (a list of keys)');
      const config = str(body, 'config');
      const part = ctx.store.part(scope).clusters.get(cluster);
      const target = config === undefined ? part : part?.configs.get(config);
      if (!target) throw new EksError('ResourceNotFoundException', config === undefined ? `No cluster found for name: ${cluster}.` : `No identity provider config found for name: ${config} on cluster ${cluster}.`, { clusterName: cluster });
      // Checked before either change, so a bad request changes nothing.
      if (remove && (remove.length < 1 || remove.length > 50)) throw new EksError('BadRequestException', `remove must name 1 to 50 keys, got ${remove.length}`);
      if (set) run('TagResource', { resourceArn: target.arn }, { tags: set });
      if (remove) run('UntagResource', { resourceArn: target.arn }, {}, new URLSearchParams(remove.map((k): [string, string] => ['tagKeys', k])));
      return { status: 200, body: { tags: { ...target.tags } } };
    }
    case 'associate':
      return run('AssociateIdentityProviderConfig', {}, { oidc: body.oidc, ...(body.tags !== undefined ? { tags: body.tags } : {}) });
    case 'disassociate':
      return run('DisassociateIdentityProviderConfig', {}, { identityProviderConfig: { type: 'oidc', name: str(body, 'config', { required: true })! } });
    case 'delete-cluster':
      return run('DeleteCluster', {});
  }
}

/** Answers one admin request; `body` is the parsed JSON body (undefined when empty). Throws EksError. */
export function adminRoute(ctx: AdminContext, method: string, path: string, body: unknown): AdminResult {
  ctx.advance();
  const { store, calls } = ctx;
  const m = method;
  const obj = (): Obj => {
    const b = body ?? {};
    if (!isObj(b)) throw new EksError('InvalidParameterException', `${path}: body must be a JSON object`);
    return b;
  };
  if (m === 'GET' && path === '/_emulator/health') return ok({ ok: true, clusters: store.clusterCount() });
  if (m === 'GET' && path === '/_emulator/state') return ok(store.snapshot());
  if (m === 'GET' && path === '/_emulator/updates') return ok({ updates: [...store.updates.values()] });
  if (m === 'GET' && path === '/_emulator/calls') return ok(calls.eks);
  if (m === 'GET' && path === '/_emulator/calls/sts') return ok(calls.sts);
  if (m === 'GET' && path === '/_emulator/calls/iam') return ok(calls.iam);
  if (m === 'GET' && path === '/_emulator/calls/log') return ok({ calls: calls.log() });
  if (m === 'POST' && path === '/_emulator/calls/reset') {
    calls.reset();
    return ok({});
  }
  if (path === '/_emulator/faults' && (m === 'GET' || m === 'POST')) {
    if (m === 'POST') {
      const f = obj();
      try {
        const unknown = Object.keys(f).filter((k) => !(k in ctx.faults));
        if (unknown.length) throw new Error(`unknown fault setting(s): ${unknown.join(', ')}`);
        ctx.setFaults(f as Partial<FaultSettings>);
      } catch (e) {
        throw new EksError('InvalidParameterException', `faults: ${(e as Error).message}`);
      }
    }
    return ok(ctx.faults);
  }
  if (path === '/_emulator/accounts' && (m === 'GET' || m === 'POST')) {
    if (m === 'POST') {
      try {
        ctx.dir.setConfig(parseAccounts(obj(), 'accounts'));
      } catch (e) {
        if (e instanceof AccountsError) throw new EksError('InvalidParameterException', e.message);
        throw e;
      }
    }
    return ok(ctx.dir.redacted());
  }
  const oob = /^\/_emulator\/out-of-band\/([a-z-]+)$/.exec(path)?.[1];
  if (m === 'POST' && oob !== undefined && oob in OUT_OF_BAND) {
    const r = outOfBand(ctx, oob as keyof typeof OUT_OF_BAND, obj());
    store.persist();
    return r;
  }
  throw new EksError('UnknownOperationException', `No emulator admin endpoint ${m} ${path}`);
}
