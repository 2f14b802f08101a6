import type { ChangeDescription, ChangeDetails, DetailLine, DetailSection, ObjectValue, RelatedResource, Value } from '../../engine/protocol';
import { isUnknown } from '../../engine/protocol';
import {
  bindingLabel, canProduce, checkBindings, identityMetadata, IdentityDataError, mapIdentity, oidcFromTerraform, parseSampleIdentities, previewChange,
  renderIdentityChanges, rolesFor, type Finding, type IdentityChange, type MappingResult, type OidcConfig, type RbacBinding, type SampleIdentity,
} from '../../identity';
import { firstBlock } from '../../engine/util';
import { CLUSTER_TYPE } from './cluster';
import { IDP_TYPE } from './idp';

/**
 * The identity preview under a planned identity provider config change: how each sample identity's
 * Kubernetes username and groups change, and what that does to the cluster's RBAC bindings.
 *
 * Design: the engine stays provider-agnostic. It hands every describeChange hook the resource's raw
 * `//` metadata, the other resources' planned values (with their metadata) and the caller's opaque
 * options (`eksidp plan --identities` arrives as `options.sample_identities`); only this module knows
 * that `//.eksidp.sample_identities` and `//.eksidp.rbac_bindings` mean something, and maps them with
 * identity/. Output is plain text plus `identity_changes` data for the JSON plan's `eksidp` key.
 */

const ADDRESS_OPTION = 'sample_identities';

type Side = { config: OidcConfig | null; problem?: string };

/** The OIDC config of one side of the change: null when that side has no object. */
function sideOf(values: ObjectValue | null): Side {
  if (values === null) return { config: null };
  const block = firstBlock(values.oidc);
  if (!block) return { config: null, problem: 'no oidc block' };
  const unknown = Object.entries(block).find(([, v]) => isUnknown(v));
  if (unknown) return { config: null, problem: `oidc.${unknown[0]} is known only after apply` };
  try {
    return { config: oidcFromTerraform(block) };
  } catch (e) {
    if (e instanceof IdentityDataError) return { config: null, problem: e.message };
    throw e;
  }
}

function metaOf(metadata: Value | undefined) {
  return identityMetadata({ '//': metadata });
}

/** --identities (applies to every config) wins over the resource's own sample identities. */
function identitiesFor(change: ChangeDescription): SampleIdentity[] {
  const override = change.options?.[ADDRESS_OPTION];
  if (override !== undefined) return parseSampleIdentities(override, '--identities');
  return metaOf(change.metadata).sampleIdentities;
}

function mappingJson(r: MappingResult | null): Value {
  if (r === null) return null;
  return r.accepted ? { accepted: true, username: r.username, groups: r.groups } : { accepted: false, code: r.code, reason: r.reason };
}

function identityJson(c: IdentityChange): ObjectValue {
  return {
    name: c.name, before: mappingJson(c.before), after: mappingJson(c.after), changed: c.changed, rejected: c.rejected,
    loses_all_groups: c.losesAllGroups, lost_groups: c.lostGroups, gained_groups: c.gainedGroups,
  };
}

function findingJson(f: Finding): ObjectValue {
  const out: ObjectValue = { severity: f.severity, code: f.code, message: f.message };
  if (f.binding) out.binding = f.binding;
  if (f.subject) out.subject = f.subject;
  if (f.identity) out.identity = f.identity;
  return out;
}

function tone(c: IdentityChange): DetailLine['tone'] {
  if (c.rejected || c.losesAllGroups) return 'loss';
  if (!c.changed) return 'same';
  const gained = c.after !== null && c.after.accepted && (c.before === null || !c.before.accepted);
  return gained ? 'gain' : 'change';
}

type Sibling = { address: string; name: string; config: OidcConfig };

/** The cluster's other configs as planned (configs the plan deletes have no planned values). */
function siblingsOf(related: RelatedResource[], cluster: string): Sibling[] {
  const out: Sibling[] = [];
  for (const r of related) {
    if (r.typeName !== IDP_TYPE || r.mode !== 'managed' || r.values?.cluster_name !== cluster) continue;
    const side = sideOf(r.values);
    const name = firstBlock(r.values.oidc)?.identity_provider_config_name;
    if (side.config) out.push({ address: r.address, name: typeof name === 'string' ? name : r.address, config: side.config });
  }
  return out;
}

function clusterBindings(related: RelatedResource[], cluster: string): RbacBinding[] {
  const hit = related.find((r) => r.typeName === CLUSTER_TYPE && r.values?.name === cluster && r.metadata !== undefined);
  return hit ? metaOf(hit.metadata).rbacBindings : [];
}

/**
 * When a config goes away: the subjects only it produced now match nobody, and identities that had
 * roles through it lose them unless another config of the cluster still maps them to that role.
 */
function removalFindings(before: OidcConfig, siblings: Sibling[], bindings: RbacBinding[], identities: SampleIdentity[]): Finding[] {
  const findings: Finding[] = [];
  for (const b of bindings) {
    const label = bindingLabel(b);
    for (const [kind, subjects] of [['user', b.users ?? []], ['group', b.groups ?? []]] as const) {
      for (const s of subjects) {
        if (s.startsWith('system:') || !canProduce(before, kind, s) || siblings.some((x) => canProduce(x.config, kind, s))) continue;
        findings.push({
          severity: 'warning', code: kind === 'user' ? 'old-user-prefix' : 'old-group-prefix', binding: label, subject: s,
          message: `${label}: ${kind} ${s} comes only from this config, so it matches nobody once the config is removed`,
        });
      }
    }
  }
  for (const id of identities) {
    const b = mapIdentity(before, id.claims);
    if (!b.accepted) continue;
    const still = siblings.flatMap((s) => {
      const m = mapIdentity(s.config, id.claims);
      return m.accepted ? rolesFor(m, bindings) : [];
    });
    for (const r of rolesFor(b, bindings)) {
      if (still.some((x) => x.binding === r.binding)) continue;
      findings.push({ severity: 'warning', code: 'identity-loses-role', identity: id.name, binding: r.label, message: `${id.name} loses ${r.label} (had it via ${r.via}; the config is removed)` });
    }
  }
  return findings;
}

export function describeIdentityChange(change: ChangeDescription): ChangeDetails {
  const none: ChangeDetails = { sections: [] };
  if (change.typeName !== IDP_TYPE) return none;
  const creates = change.actions.includes('create');
  const deletes = change.actions.includes('delete');
  // In-place updates only touch tags: every oidc field forces replacement.
  if (!creates && !deletes) return none;

  const before = sideOf(deletes ? change.before : null);
  const after = sideOf(creates ? change.after : null);
  const problems = [before.problem && `before: ${before.problem}`, after.problem && `after: ${after.problem}`].filter((p): p is string => !!p);
  let identities: SampleIdentity[] = [];
  try {
    identities = identitiesFor(change);
  } catch (e) {
    if (!(e instanceof IdentityDataError)) throw e;
    problems.push(`sample identities: ${e.message}`);
  }
  const sections: DetailSection[] = [];
  if (problems.length > 0) {
    sections.push({ title: 'Identity preview unavailable:', lines: problems.map((text) => ({ text, tone: 'warning' as const })) });
    return { sections };
  }

  const identityChanges = identities.length > 0 ? previewChange(before.config, after.config, identities) : [];
  if (identityChanges.length > 0) {
    const text = renderIdentityChanges(identityChanges, { color: false });
    sections.push({ title: 'Sample identities (username; groups), before → after:', lines: identityChanges.map((c, i) => ({ text: text[i]!, tone: tone(c) })) });
  }

  const src = change.after ?? change.before;
  const cluster = typeof src?.cluster_name === 'string' ? src.cluster_name : undefined;
  let findings: Finding[] = [];
  if (cluster !== undefined && !isUnknown(src?.cluster_name)) {
    const related = change.related ?? [];
    const bindings = clusterBindings(related, cluster);
    const siblings = siblingsOf(related, cluster);
    if (bindings.length > 0) {
      findings = after.config
        ? checkBindings(after.config, bindings, identities, before.config ?? undefined, siblings.map((s) => s.config))
        : before.config ? removalFindings(before.config, siblings, bindings, identities) : [];
    }
    const shown = findings.filter((f) => f.severity !== 'info');
    if (shown.length > 0) sections.push({ title: `RBAC bindings of cluster ${cluster}:`, lines: shown.map((f) => ({ text: `${f.severity}: ${f.message}`, tone: 'warning' as const })) });
  }
  if (identityChanges.length === 0 && findings.length === 0) return { sections };
  return {
    sections,
    data: { identity_changes: { actions: change.actions, identities: identityChanges.map(identityJson), binding_findings: findings.map(findingJson) } },
  };
}
