import type { OutputConfig } from '../../engine/outputs';
import type { ResourceConfig } from '../../engine/config';
import { jsonPlan, type PlanProviders } from '../../engine/json-plan';
import type { Plan } from '../../engine/plan';
import type { ObjectValue, Value } from '../../engine/protocol';
import { renderPlan, type ChangeAnnotation, type Tone } from '../../engine/render';
import type { Colors } from '../../lib/color';
import { hasPreview, identityImpact, outageText, type ConfigImpact } from '../../identity/impact';
import { renderIdentityChanges } from '../../identity/preview';
import type { Finding, IdentityChange, MappingResult } from '../../identity/types';

/**
 * The plan's views: the human text (plan, show, apply's and destroy's plan before the question) and
 * the `terraform show -json` document, each with the identity impact derived from the plan's data
 * (identity/impact.ts) under the changes it concerns. Nothing here is stored in a plan.
 */

function tone(c: IdentityChange): Tone {
  if (c.rejected || c.losesAllGroups) return 'loss';
  if (!c.changed) return 'same';
  const gained = c.after !== null && c.after.accepted && (c.before === null || !c.before.accepted);
  return gained ? 'gain' : 'change';
}

/** The lines under a change: the login outage, then who can log in before → after, then the RBAC findings. */
export function impactAnnotation(i: ConfigImpact): ChangeAnnotation {
  const notes = i.outage ? [outageText(i.outage)] : [];
  if (i.unavailable.length > 0) {
    return { notes, sections: [{ title: 'Identity preview unavailable:', lines: i.unavailable.map((text) => ({ text, tone: 'warning' as const })) }] };
  }
  const sections: ChangeAnnotation['sections'] = [];
  if (i.identities.length > 0) {
    const text = renderIdentityChanges(i.identities, { color: false });
    sections.push({ title: 'Sample identities (username; groups), before → after:', lines: i.identities.map((c, n) => ({ text: text[n]!, tone: tone(c) })) });
  }
  const shown = i.bindings.filter((f) => f.severity !== 'info');
  if (i.cluster !== null && shown.length > 0) {
    sections.push({ title: `RBAC bindings of cluster ${i.cluster}:`, lines: shown.map((f) => ({ text: `${f.severity}: ${f.message}`, tone: 'warning' as const })) });
  }
  return { notes, sections };
}

function mappingJson(r: MappingResult | null): Value {
  if (r === null) return null;
  if (r.accepted) return { accepted: true, username: r.username, groups: r.groups };
  return 'undetermined' in r ? { accepted: false, undetermined: true, code: r.code, reason: r.reason } : { accepted: false, code: r.code, reason: r.reason };
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

/** One `eksidp.identity_changes` entry of the JSON plan. */
export function impactJson(i: ConfigImpact): ObjectValue {
  return { address: i.address, actions: [...i.actions], identities: i.identities.map(identityJson), binding_findings: i.bindings.map(findingJson) };
}

export function planText(plan: Plan, c: Colors): string {
  const impact = new Map(identityImpact(plan).map((i) => [i.address, i]));
  return renderPlan(plan, c, (ch) => {
    const i = impact.get(ch.address);
    return i && impactAnnotation(i);
  });
}

export function planJson(plan: Plan, resources: readonly ResourceConfig[], providers: PlanProviders, outputs: readonly OutputConfig[] = [], variables?: Record<string, Value>): Record<string, unknown> {
  return jsonPlan(plan, resources, providers, { identity_changes: identityImpact(plan).filter(hasPreview).map(impactJson) }, outputs, variables);
}
