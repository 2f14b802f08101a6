import type { OidcIdentityProviderConfig, OidcIdentityProviderConfigRequest } from '@aws-sdk/client-eks';
import { firstBlock, stringValue, valuesEqual, ZERO_VALUES } from '../../engine/util';
import { OIDC_CONFIG_FIELDS, OIDC_FIELD_LIST, type OidcField } from '../../identity/oidc-fields';
import { sdk } from './client';
import type {
  ApplyResourceChangeRequest,
  ApplyResourceChangeResponse,
  Diagnostic,
  ObjectValue,
  Path,
  ReadResourceResponse,
} from '../../engine/protocol';
import { MINUTE, describeUpdate, errorDiag, failureDiag, requestToken, retryInUse, waitContext, type Ctx } from './common';
import { UpdateFailedError, errorMessage, errorName, isInUse, isNotFound } from './errors';
import type { ReadKind } from './cluster';
import type { TagConfig } from './settings';
import { alignEmpty, emptyLike } from './state';
import { createTags, stateTags, tagChanges, tagsOf, updateTarget } from './tags';
import type { WaitContext } from './wait';

export const IDP_TYPE = 'aws_eks_identity_provider_config';

/** hashicorp/aws 5.100's defaults: 40 min to associate or disassociate. */
export const IDP_TIMEOUTS = { create: 40 * MINUTE, update: 40 * MINUTE, delete: 40 * MINUTE };

export function parseIdpId(id: string): { cluster: string; name: string } | undefined {
  const parts = id.split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { cluster: parts[0], name: parts[1] };
}

function oidcOf(state: ObjectValue | null): ObjectValue {
  return firstBlock(state?.oidc) ?? {};
}


/** Same expansion as hashicorp/aws: empty strings and empty maps are not sent. */
export function oidcRequest(oidc: ObjectValue): OidcIdentityProviderConfigRequest {
  const req: Partial<Record<OidcField, string | Record<string, string>>> = {};
  for (const { field, terraform, map } of OIDC_FIELD_LIST) {
    const claims = map ? tagsOf(oidc[terraform]) : undefined;
    req[field] = claims ? (Object.keys(claims).length ? claims : undefined) : stringValue(oidc[terraform]);
  }
  return req as OidcIdentityProviderConfigRequest;
}

/** The `oidc` block as hashicorp/aws 5.100 stores an EKS answer: unset strings "", the claims as given. */
function oidcState(c: OidcIdentityProviderConfig, claims: ObjectValue | null): ObjectValue {
  const out: ObjectValue = {};
  for (const { field, terraform, map } of OIDC_FIELD_LIST) out[terraform] = map ? claims : ((c[field] as string | undefined) ?? '');
  return out;
}

/**
 * State as hashicorp/aws 5.100 stores it: unset oidc strings "", collections following `like` (the
 * planned or prior state) where EKS returns nothing, so that null and {} never show up as a change.
 */
export function idpState(c: OidcIdentityProviderConfig, like: ObjectValue | null, tagConfig: TagConfig, kind: Exclude<ReadKind, 'data'>): ObjectValue {
  const likeOidc = oidcOf(like);
  const claims = c.requiredClaims && Object.keys(c.requiredClaims).length ? { ...c.requiredClaims } : emptyLike(likeOidc.required_claims);
  // default_tags and ignore_tags as the provider applies them on read (tags.ts).
  const resolved = stateTags(tagConfig, c.tags, kind === 'apply' ? { applying: true, configTags: like?.tags } : { applying: false, stateTags: like?.tags });
  const tags = Object.keys(resolved.tags).length ? resolved.tags : emptyLike(like?.tags);
  const tagsAll = Object.keys(resolved.tagsAll).length ? resolved.tagsAll : emptyLike(like?.tags_all, {});
  const state: ObjectValue = {
    arn: c.identityProviderConfigArn ?? null,
    cluster_name: c.clusterName ?? null,
    id: `${c.clusterName ?? ''}:${c.identityProviderConfigName ?? ''}`,
    oidc: [oidcState(c, claims)],
    status: c.status ?? null,
    tags,
    tags_all: tagsAll,
    timeouts: like?.timeouts ?? null,
  };
  return alignEmpty(state, like ?? undefined) as ObjectValue;
}

async function describe(ctx: Ctx, cluster: string, name: string, signal?: AbortSignal): Promise<OidcIdentityProviderConfig | undefined> {
  try {
    return (await ctx.reads.describeIdentityProviderConfig(cluster, name, signal)).identityProviderConfig?.oidc;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Why a DELETING config is left alone, said by the plan (a warning) and by drift (its fix). */
export function removingConfigNote(cluster: string, name: string): string {
  return `identity provider config ${name} of cluster ${cluster} is being removed outside eksidp (status DELETING): logins through it stop once EKS has removed it. ` +
    'Plans leave it alone meanwhile, as Terraform does; once it is gone, eksidp apply associates it again (20–40 min on EKS).';
}

export async function readIdp(ctx: Ctx, address: string, prior: ObjectValue, signal?: AbortSignal, kind: Exclude<ReadKind, 'data'> = 'refresh'): Promise<ReadResourceResponse> {
  const id = typeof prior.id === 'string' ? parseIdpId(prior.id) : undefined;
  const cluster = id?.cluster ?? (prior.cluster_name as string);
  const name = id?.name ?? (oidcOf(prior).identity_provider_config_name as string);
  if (!cluster || !name) return { newState: null, diagnostics: [errorDiag(address, `${address}: state has no usable id ("${String(prior.id)}")`)] };
  try {
    const c = await describe(ctx, cluster, name, signal);
    // hashicorp/aws 5.100 keeps a DELETING config in state (its plan is a no-op: checked against
    // Terraform in test/drift-terraform.test.ts); so do we, but we say so.
    const diagnostics: Diagnostic[] = c?.status === 'DELETING' ? [{ severity: 'warning', summary: removingConfigNote(cluster, name), address }] : [];
    return { newState: c ? idpState(c, prior, ctx.tags, kind) : null, diagnostics };
  } catch (e) {
    return { newState: prior, diagnostics: [failureDiag(address, `reading identity provider config ${cluster}:${name}`, e)] };
  }
}

export async function importIdp(ctx: Ctx, id: string, signal?: AbortSignal): Promise<{ state: ObjectValue | null; diagnostics: Diagnostic[] }> {
  const parsed = parseIdpId(id);
  if (!parsed) return { state: null, diagnostics: [{ severity: 'error', summary: `unexpected format of ID ("${id}"), expected cluster-name:config-name` }] };
  try {
    const c = await describe(ctx, parsed.cluster, parsed.name, signal);
    if (!c) return { state: null, diagnostics: [{ severity: 'error', summary: `cannot import ${IDP_TYPE}: identity provider config ${id} not found` }] };
    return { state: idpState(c, null, ctx.tags, 'refresh'), diagnostics: [] };
  } catch (e) {
    return { state: null, diagnostics: [{ severity: 'error', summary: `cannot import ${IDP_TYPE} ${id}: ${errorMessage(e)}` }] };
  }
}

/** Does an existing config carry the settings we are about to associate? (a crashed apply's leftover) */
function sameSettings(c: OidcIdentityProviderConfig, want: OidcIdentityProviderConfigRequest): boolean {
  // Unset and "" (and no claims and {}) are the same setting to EKS.
  return OIDC_CONFIG_FIELDS.every(({ field }) => valuesEqual(c[field], want[field], ZERO_VALUES));
}

/** Throws when the update ended Failed or Cancelled (with its errors); with no update id, nothing to ask. */
async function assertNotFailed(ctx: Ctx, cluster: string, updateId: string | undefined, what: string, signal: AbortSignal | undefined): Promise<string> {
  if (!updateId) return 'unknown';
  const u = await describeUpdate(ctx, cluster, updateId, signal);
  if (u?.status === 'Failed' || u?.status === 'Cancelled') throw new UpdateFailedError(u, what);
  return u?.status ?? 'unknown';
}

/** Associations and disassociations take EKS about as long (20-40 min): the poller learns them as one. */
const IDP_UPDATE = 'identity provider config update';

/**
 * Waits until the config is ACTIVE, as hashicorp/aws waits: one DescribeIdentityProviderConfig per
 * poll. The update is asked only when the config is neither CREATING nor ACTIVE (a Failed
 * association leaves none, so its errors are said), which keeps a fleet's polls to one call each.
 */
async function waitAssociated(ctx: Ctx, cluster: string, name: string, updateId: string | undefined, wctx: WaitContext): Promise<OidcIdentityProviderConfig> {
  const what = `association of identity provider config ${name} to cluster ${cluster}`;
  return ctx.poller.wait(IDP_UPDATE, what, wctx, updateId !== undefined, async () => {
    const c = await describe(ctx, cluster, name, wctx.signal);
    if (c?.status === 'ACTIVE') return { done: true, value: c };
    if (c?.status === 'CREATING') return { done: false, status: 'CREATING' };
    const u = await assertNotFailed(ctx, cluster, updateId, what, wctx.signal);
    return { done: false, status: `${c?.status ?? 'not visible yet'}, update ${u}` };
  });
}

/**
 * Waits until the config is gone, as hashicorp/aws waits. A config that is back to ACTIVE (or any
 * status but DELETING) while its disassociation was ours has the update asked: a Failed one is said
 * at once instead of polled until the timeout.
 */
async function waitGone(ctx: Ctx, cluster: string, name: string, updateId: string | undefined, wctx: WaitContext): Promise<void> {
  const what = `disassociation of identity provider config ${name} from cluster ${cluster}`;
  await ctx.poller.wait(IDP_UPDATE, what, wctx, updateId !== undefined, async () => {
    const c = await describe(ctx, cluster, name, wctx.signal);
    if (!c) return { done: true, value: undefined };
    if (c.status === 'DELETING') return { done: false, status: 'DELETING' };
    const u = await assertNotFailed(ctx, cluster, updateId, what, wctx.signal);
    return { done: false, status: `${c.status ?? 'unknown'}, update ${u}` };
  });
}

/** What we record when a create stops half-way: the config as EKS has it, or the planned values. */
async function partialState(ctx: Ctx, cluster: string, name: string, planned: ObjectValue): Promise<ObjectValue | null> {
  try {
    const c = await describe(ctx, cluster, name);
    return c ? idpState(c, planned, ctx.tags, 'apply') : null;
  } catch {
    return { ...planned, id: `${cluster}:${name}`, arn: null, status: null, tags_all: createTags(ctx.tags, planned.tags) };
  }
}

async function createIdp(ctx: Ctx, req: ApplyResourceChangeRequest, planned: ObjectValue): Promise<ApplyResourceChangeResponse> {
  const address = req.address;
  const cluster = planned.cluster_name as string;
  const oidc = oidcRequest(oidcOf(planned));
  const name = oidc.identityProviderConfigName ?? '';
  // default_tags merged with the resource's (tags.ts), as the provider sends them.
  const tags = createTags(ctx.tags, planned.tags);
  const wctx = waitContext(ctx, req.timeouts.create ?? IDP_TIMEOUTS.create, req.signal, req.progress);
  let updateId: string | undefined;
  try {
    // No Describe before associating (hashicorp/aws sends none either): a config left by a crashed
    // apply, or being removed, shows up as the association's refusal and is read only then. This
    // keeps a fleet's rotation to the calls it needs (issue 16).
    // `found`: a config of this name, read when EKS refused the association.
    const associate = (token: string) => retryInUse(`associating ${name} to ${cluster}`, wctx, async () => {
      try {
        const out = await ctx.writes.associateIdentityProviderConfig(
          { clusterName: cluster, oidc, tags: Object.keys(tags).length ? tags : undefined, clientRequestToken: token },
          req.signal,
        );
        return { out, found: undefined };
      } catch (e) {
        // The name taken (our own earlier association whose response was lost, a config being
        // removed, another one) or the cluster busy with another update (409: retried).
        if (isInUse(e) || errorName(e) === 'InvalidRequestException') {
          const found = await describe(ctx, cluster, name, req.signal);
          if (found) return { out: undefined, found };
        }
        throw e;
      }
    });
    for (;;) {
      const first = await associate(requestToken(req.idempotencyToken));
      const found = first.found;
      let out = first.out;
      // Being removed (a destroy that crashed after disassociating): wait for it, then associate.
      if (found?.status === 'DELETING') {
        await waitGone(ctx, cluster, name, undefined, wctx);
        continue;
      }
      if (found && !sameSettings(found, oidc)) {
        return {
          newState: null,
          diagnostics: [
            errorDiag(address, `${address}: identity provider config ${name} already exists on cluster ${cluster} with other settings`, undefined, ['oidc', 0, 'identity_provider_config_name']),
          ],
        };
      }
      if (found) {
        req.progress(`identity provider config ${name} already ${found.status ?? 'exists'} on cluster ${cluster}: waiting for it instead of associating again`);
        break;
      }
      // EKS answers a reused clientRequestToken with the original update: after an association that
      // ended Failed (no config left), the same plan would replay that failure forever. Retry
      // with a token derived from the failed update (a chain: each retry may itself replay a failure),
      // so a resumed run still sends the same tokens. Only an update made before this run can be such
      // a replay: one made since needs no DescribeUpdate here (its wait says a failure), which keeps
      // a fleet rotation's waves to the calls they need (issue 16).
      for (let i = 0; i < 5 && out?.update?.id; i++) {
        const createdAt = out.update.createdAt;
        if (createdAt && ctx.writes.createdSinceOpened?.(createdAt)) break;
        const u = await describeUpdate(ctx, cluster, out.update.id, req.signal);
        if (!u?.id || (u.status !== 'Failed' && u.status !== 'Cancelled')) break;
        out = (await associate(requestToken(req.idempotencyToken, u.id))).out;
      }
      updateId = out?.update?.id;
      break;
    }
    const c = await waitAssociated(ctx, cluster, name, updateId, wctx);
    return { newState: idpState(c, planned, ctx.tags, 'apply'), diagnostics: [] };
  } catch (e) {
    const state = await partialState(ctx, cluster, name, planned);
    return { newState: state, diagnostics: [failureDiag(address, `associating identity provider config ${cluster}:${name}`, e)] };
  }
}

async function deleteIdp(ctx: Ctx, req: ApplyResourceChangeRequest, prior: ObjectValue): Promise<ApplyResourceChangeResponse> {
  const address = req.address;
  const id = typeof prior.id === 'string' ? parseIdpId(prior.id) : undefined;
  const cluster = id?.cluster ?? (prior.cluster_name as string);
  const name = id?.name ?? (oidcOf(prior).identity_provider_config_name as string);
  const wctx = waitContext(ctx, req.timeouts.delete ?? IDP_TIMEOUTS.delete, req.signal, req.progress);
  let updateId: string | undefined;
  try {
    // No Describe first (as hashicorp/aws): the refresh has just read the config, and a config
    // already gone or being removed is said by the disassociation's refusal, then waited for.
    const token = requestToken(req.idempotencyToken);
    const out = await retryInUse(`disassociating ${name} from ${cluster}`, wctx, async () => {
      try {
        return await ctx.writes.disassociateIdentityProviderConfig(
          { clusterName: cluster, identityProviderConfig: { type: 'oidc', name }, clientRequestToken: token },
          req.signal,
        );
      } catch (e) {
        if (isNotFound(e)) return 'gone' as const;
        if (/not associated|already (being )?(deleted|disassociat)|is deleting|in DELETING/i.test(errorMessage(e))) return undefined;
        throw e;
      }
    });
    if (out === 'gone') return { newState: null, diagnostics: [] };
    updateId = out?.update?.id;
    await waitGone(ctx, cluster, name, updateId, wctx);
    return { newState: null, diagnostics: [] };
  } catch (e) {
    let state: ObjectValue | null = prior;
    try {
      const c = await describe(ctx, cluster, name);
      state = c ? idpState(c, prior, ctx.tags, 'refresh') : null;
    } catch {
      // Keep the prior state: better a config we try to delete again than one we forget.
    }
    return { newState: state, diagnostics: [failureDiag(address, `disassociating identity provider config ${cluster}:${name}`, e)] };
  }
}

/** Tags are the only in-place change (TagResource/UntagResource on the config's ARN). */
async function updateIdp(ctx: Ctx, req: ApplyResourceChangeRequest, prior: ObjectValue, planned: ObjectValue): Promise<ApplyResourceChangeResponse> {
  const arn = prior.arn as string;
  // From the prior tags_all to the planned one (or, when the plan left it unknown, defaults merged with tags).
  const { remove, set } = tagChanges(tagsOf(prior.tags_all ?? prior.tags), updateTarget(ctx.tags, planned));
  try {
    if (remove.length) await ctx.client.send(new (sdk().UntagResourceCommand)({ resourceArn: arn, tagKeys: remove }), { abortSignal: req.signal });
    if (Object.keys(set).length) await ctx.client.send(new (sdk().TagResourceCommand)({ resourceArn: arn, tags: set }), { abortSignal: req.signal });
    const read = await readIdp(ctx, req.address, planned, req.signal, 'apply');
    return { newState: read.newState, diagnostics: read.diagnostics };
  } catch (e) {
    return { newState: prior, diagnostics: [failureDiag(req.address, `updating tags of ${String(prior.id)}`, e)] };
  }
}

export async function applyIdp(ctx: Ctx, req: ApplyResourceChangeRequest): Promise<ApplyResourceChangeResponse> {
  const { priorState: prior, plannedState: planned } = req;
  if (!planned) return prior ? deleteIdp(ctx, req, prior) : { newState: null, diagnostics: [] };
  if (!prior) return createIdp(ctx, req, planned);
  return updateIdp(ctx, req, prior, planned);
}

/** Attributes whose change replaces the config (hashicorp/aws 5.100: cluster_name and all of oidc). */
export function idpRequiresReplace(path: Path): boolean {
  return path[0] === 'cluster_name' || path[0] === 'oidc';
}

