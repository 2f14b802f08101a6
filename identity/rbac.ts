import { effectiveGroupsPrefix, effectiveUsernamePrefix, mapIdentity } from './mapping';
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
 */
export function checkBindings(config: OidcConfig, bindings: RbacBinding[], identities: SampleIdentity[] = [], previous?: OidcConfig): Finding[] {
  const findings: Finding[] = [];
  const userPrefix = effectiveUsernamePrefix(config);
  const groupPrefix = effectiveGroupsPrefix(config);
  const prevUserPrefix = previous ? effectiveUsernamePrefix(previous) : undefined;
  const prevGroupPrefix = previous ? effectiveGroupsPrefix(previous) : undefined;

  const groupBound: string[] = [];
  for (const b of bindings) {
    const label = bindingLabel(b);
    for (const u of b.users ?? []) {
      const f = subjectFindings('user', u, label, userPrefix, prevUserPrefix);
      if (f) findings.push(f);
    }
    const groups = (b.groups ?? []).filter((g) => !isSystemSubject(g));
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
      findings.push({ severity: 'warning', code: 'identity-rejected', identity: id.name, message: `${id.name} is rejected (${after.reason})${lost}` });
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
