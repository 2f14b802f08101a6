import { effectiveGroupsPrefix, effectiveUsernamePrefix, mapIdentity, outcomeWord } from './mapping';
import type { Finding, MappingAccepted, OidcConfig, RbacBinding, SampleIdentity } from './types';

/**
 * RBAC consistency: bindings name Kubernetes usernames and groups, and only the names a config can
 * produce (its prefixes) ever match. Pure: returns findings, the caller decides what is fatal.
 */

/** `ClusterRole/cluster-admin`, or `Role/view in namespace dev`. */
export function bindingLabel(b: RbacBinding): string {
  return `${b.kind ?? 'ClusterRole'}/${b.role}${b.namespace ? ` in namespace ${b.namespace}` : ''}`;
}

export type RoleGrant = { binding: RbacBinding; label: string; via: string };

/** The bindings that grant a mapped identity something, and through which subject. */
export function rolesFor(mapping: MappingAccepted, bindings: RbacBinding[]): RoleGrant[] {
  const out: RoleGrant[] = [];
  for (const b of bindings) {
    if (b.users?.includes(mapping.username)) out.push({ binding: b, label: bindingLabel(b), via: `user ${mapping.username}` });
    else {
      const g = mapping.groups.find((x) => b.groups?.includes(x));
      if (g !== undefined) out.push({ binding: b, label: bindingLabel(b), via: `group ${g}` });
    }
  }
  return out;
}

/** Kubernetes' own subjects (system:masters, system:authenticated, ...) never come from OIDC prefixes. */
function isSystemSubject(s: string): boolean {
  return s.startsWith('system:');
}

type SubjectKind = 'user' | 'group';

/**
 * Whether a config can ever produce this subject: a username needs the config's username prefix (an
 * empty prefix produces anything), a group needs a groups claim and the groups prefix.
 */
export function canProduce(config: OidcConfig, kind: SubjectKind, subject: string): boolean {
  if (kind === 'user') return subject.startsWith(effectiveUsernamePrefix(config));
  return config.groupsClaim !== undefined && config.groupsClaim !== '' && subject.startsWith(effectiveGroupsPrefix(config));
}

function subjectFindings(kind: SubjectKind, subject: string, label: string, prefix: string, previousPrefix: string | undefined): Finding | undefined {
  if (isSystemSubject(subject)) return undefined;
  const prefixChanged = previousPrefix !== undefined && previousPrefix !== prefix && previousPrefix !== '';
  // A subject written for the old prefix: with a new prefix, or with none, it no longer matches.
  if (prefixChanged && subject.startsWith(previousPrefix) && (prefix === '' || !subject.startsWith(prefix))) {
    return {
      severity: 'warning',
      code: kind === 'user' ? 'old-user-prefix' : 'old-group-prefix',
      binding: label,
      subject,
      message: `${label}: ${kind} ${subject} still has the old ${kind === 'user' ? 'username' : 'groups'} prefix ${JSON.stringify(previousPrefix)}; the config now ${prefix === '' ? 'adds no prefix' : `uses ${JSON.stringify(prefix)}`}, so it no longer matches anyone`,
    };
  }
  if (prefix !== '' && !subject.startsWith(prefix)) {
    return {
      severity: 'warning',
      code: kind === 'user' ? 'user-prefix-missing' : 'group-prefix-missing',
      binding: label,
      subject,
      message: `${label}: ${kind} ${subject} lacks the config's ${kind === 'user' ? 'username' : 'groups'} prefix ${JSON.stringify(prefix)}, so no token maps to it`,
    };
  }
  return undefined;
}

/**
 * Checks bindings against a config: subjects must carry its username/groups prefix; with `previous`,
 * subjects still on the old prefix are named; with `identities`, says who is rejected, who loses
 * which role (against `previous`), and who is bound to nothing.
 *
 * `siblings` are the cluster's other configs: bindings are per cluster, so a subject that any of
 * them can produce (a `dex:eng` group next to an okta config) is fine and not flagged here.
 */
export function checkBindings(config: OidcConfig, bindings: RbacBinding[], identities: SampleIdentity[] = [], previous?: OidcConfig, siblings: OidcConfig[] = []): Finding[] {
  const bySibling = (kind: SubjectKind, s: string) => siblings.some((c) => canProduce(c, kind, s));
  const findings: Finding[] = [];
  const userPrefix = effectiveUsernamePrefix(config);
  const groupPrefix = effectiveGroupsPrefix(config);
  const prevUserPrefix = previous ? effectiveUsernamePrefix(previous) : undefined;
  const prevGroupPrefix = previous ? effectiveGroupsPrefix(previous) : undefined;

  const groupBound: string[] = [];
  for (const b of bindings) {
    const label = bindingLabel(b);
    for (const u of b.users ?? []) {
      if (bySibling('user', u)) continue;
      const f = subjectFindings('user', u, label, userPrefix, prevUserPrefix);
      if (f) findings.push(f);
    }
    const groups = (b.groups ?? []).filter((g) => !isSystemSubject(g) && !bySibling('group', g));
    if (groups.length === 0) continue;
    if (!config.groupsClaim) {
      groupBound.push(label);
      continue;
    }
    for (const g of groups) {
      const f = subjectFindings('group', g, label, groupPrefix, prevGroupPrefix);
      if (f) findings.push(f);
    }
  }
  if (groupBound.length > 0) {
    findings.push({
      severity: 'warning',
      code: 'groups-claim-unset',
      message: `the config has no groups claim, so tokens map to no groups: group subjects in ${groupBound.join(', ')} match nobody`,
    });
  }

  for (const id of identities) {
    const after = mapIdentity(config, id.claims);
    const before = previous ? mapIdentity(previous, id.claims) : undefined;
    const hadRoles = before && before.accepted ? rolesFor(before, bindings) : [];
    if (!after.accepted) {
      const lost = hadRoles.length ? `; loses ${hadRoles.map((r) => r.label).join(', ')}` : '';
      findings.push({ severity: 'warning', code: 'identity-rejected', identity: id.name, message: `${id.name} is ${outcomeWord(after)} (${after.reason})${lost}` });
      continue;
    }
    const roles = rolesFor(after, bindings);
    const lost = hadRoles.filter((h) => !roles.some((r) => r.binding === h.binding));
    for (const l of lost) {
      findings.push({
        severity: 'warning',
        code: 'identity-loses-role',
        identity: id.name,
        binding: l.label,
        message: `${id.name} loses ${l.label} (had it via ${l.via}; now maps to ${after.username}, groups ${after.groups.join(', ') || '(none)'})`,
      });
    }
    if (roles.length === 0 && lost.length === 0) {
      findings.push({ severity: 'info', code: 'identity-unbound', identity: id.name, message: `${id.name} (${after.username}) is bound to no role` });
    }
  }
  return findings;
}

export type ClusterConfig = { name: string; config: OidcConfig };

function prefixList(configs: ClusterConfig[], kind: SubjectKind): string {
  const parts = configs
    .filter((c) => kind === 'user' || c.config.groupsClaim)
    .map((c) => `${JSON.stringify(kind === 'user' ? effectiveUsernamePrefix(c.config) : effectiveGroupsPrefix(c.config))} (${c.name})`);
  return parts.length ? parts.join(', ') : kind === 'group' ? 'none: no config has a groups claim' : 'none';
}

/**
 * The synth-time check for one cluster: every binding subject must be producible by at least one of
 * the cluster's configs. One finding per subject (not one per config), naming the prefixes in use.
 */
export function checkClusterBindings(configs: ClusterConfig[], bindings: RbacBinding[]): Finding[] {
  const findings: Finding[] = [];
  if (configs.length === 0) return findings;
  for (const b of bindings) {
    const label = bindingLabel(b);
    for (const [kind, subjects] of [['user', b.users ?? []], ['group', b.groups ?? []]] as const) {
      for (const s of subjects) {
        if (isSystemSubject(s) || configs.some((c) => canProduce(c.config, kind, s))) continue;
        findings.push({
          severity: 'warning',
          code: kind === 'user' ? 'user-prefix-missing' : 'group-prefix-missing',
          binding: label,
          subject: s,
          message: `${label}: ${kind} ${s} matches no identity provider config of the cluster (${kind === 'user' ? 'username' : 'groups'} prefixes: ${prefixList(configs, kind)}), so no token maps to it`,
        });
      }
    }
  }
  return findings;
}
