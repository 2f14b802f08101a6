import { colors, type Color } from '../lib/color';
import { mapIdentity, outcomeWord } from './mapping';
import type { IdentityChange, MapOptions, MappingResult, OidcConfig, SampleIdentity } from './types';

/**
 * Who can log in, before and after a config change: each sample identity mapped under both sides.
 * Pure; rendering is renderIdentityChanges, apart from the model.
 */

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isAccepted(r: MappingResult | null): r is MappingResult & { accepted: true } {
  return r !== null && r.accepted;
}

export function previewChange(before: OidcConfig | null, after: OidcConfig | null, identities: SampleIdentity[], opts: MapOptions = {}): IdentityChange[] {
  return identities.map(({ name, claims }) => {
    const b = before ? mapIdentity(before, claims, opts) : null;
    const a = after ? mapIdentity(after, claims, opts) : null;
    const bOk = isAccepted(b);
    const aOk = isAccepted(a);
    let changed: boolean;
    if (bOk && aOk) changed = b.username !== a.username || !sameList(b.groups, a.groups);
    else if (!bOk && !aOk) changed = (b === null) !== (a === null) || (b !== null && a !== null && !b.accepted && !a.accepted && b.reason !== a.reason);
    else changed = true;
    const lostGroups = bOk && aOk ? b.groups.filter((g) => !a.groups.includes(g)) : [];
    const gainedGroups = bOk && aOk ? a.groups.filter((g) => !b.groups.includes(g)) : aOk ? [...a.groups] : [];
    return {
      name,
      before: b,
      after: a,
      changed,
      rejected: bOk && !aOk,
      losesAllGroups: bOk && aOk && b.groups.length > 0 && a.groups.length === 0,
      lostGroups,
      gainedGroups,
    };
  });
}

function groupsText(groups: string[]): string {
  return groups.length ? groups.join(', ') : '(none)';
}

function side(r: MappingResult | null): string {
  if (r === null) return '(no config)';
  return r.accepted ? r.username : `${outcomeWord(r)} (${r.reason})`;
}

/**
 * One line per identity, e.g.
 *   `alice: https://issuer#alice → oidc:alice; groups oidc:eng → idp:eng`
 *   `! bob: rejected after the change (required claim hd=example.com missing)`
 * Lines starting `!` lose access or are refused after the change (rejected, a new config that refuses
 * them, or all groups lost); `+` gains it.
 */
export function renderIdentityChanges(changes: IdentityChange[], opts: { color: boolean }): string[] {
  const paint = (color: Color, s: string) => colors(opts.color)[color](s);
  return changes.map((c) => {
    const { before: b, after: a } = c;
    if (c.rejected) {
      const why = a === null ? 'the config is removed' : !a.accepted ? a.reason : '';
      return paint('red', `! ${c.name}: ${a === null ? 'rejected' : outcomeWord(a)} after the change (${why})`);
    }
    if (!c.changed) {
      if (a && a.accepted) return paint('dim', `${c.name}: ${a.username}; groups ${groupsText(a.groups)} (unchanged)`);
      return paint('dim', `${c.name}: ${side(a)} (unchanged)`);
    }
    if (b && b.accepted && a && a.accepted) {
      const user = b.username === a.username ? a.username : `${b.username} → ${a.username}`;
      const groups = sameList(b.groups, a.groups) ? groupsText(a.groups) : `${groupsText(b.groups)} → ${groupsText(a.groups)}`;
      const line = `${c.name}: ${user}; groups ${groups}`;
      return c.losesAllGroups ? paint('red', `! ${line} (loses all groups)`) : paint('yellow', line);
    }
    if (a && a.accepted) {
      return paint('green', `+ ${c.name}: ${side(b)} → ${a.username}; groups ${groupsText(a.groups)}`);
    }
    // Refused after the change (by a new config, or for another reason than before): marked like
    // every other refusal, so a reviewer scanning for `!` sees it.
    if (a && !a.accepted) return paint('red', `! ${c.name}: ${side(b)} → ${side(a)}`);
    return paint('dim', `${c.name}: ${side(b)} → ${side(a)}`);
  });
}
