import type { Diagnostic, ObjectValue, Path, Value } from './protocol';
import { isUnknown } from './protocol';
import { hasChanges, outsideChanges, planCounts, type OutsideChange, type Plan, type ResourceChange } from './plan';
import type { Colors } from '../lib/color';
import { escapeControls as e } from '../lib/escape';
import { EXACT, formatDiagnostic, isObject, valuesEqual } from './util';
import { renderOutputChanges } from './render-outputs';
import { keyText, parseInstanceAddress } from './instances';
import { hasSensitiveWithin, isSensitiveAt } from './sensitive';

/**
 * Human rendering of a plan, in Terraform's layout. Works only on the plan model, and on what a view
 * derives from it (annotations: the identity impact). Values, keys, addresses, notes, annotation
 * lines and diagnostics carry live or stack text: each goes through escapeControls where it enters a
 * line, before any colour is added.
 */

const KNOWN_AFTER = '(known after apply)';

const SENSITIVE = '(sensitive value)';

/** A value as the plan shows it; parts at sensitive paths (`marks`, relative to `at`) are `(sensitive value)`. */
function scalar(v: Value, marks: Path[] = [], at: Path = []): string {
  if (marks.length > 0 && isSensitiveAt(marks, at)) return SENSITIVE;
  if (marks.length > 0 && !isUnknown(v) && v !== null && typeof v === 'object') {
    if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${v.map((x, i) => scalar(x, marks, [...at, i])).join(', ')}]`;
    const keys = Object.keys(v).sort();
    return keys.length === 0 ? '{}' : `{ ${keys.map((k) => `${/^[A-Za-z_][\w-]*$/.test(k) ? k : e(JSON.stringify(k))} = ${scalar(v[k]!, marks, [...at, k])}`).join(', ')} }`;
  }
  if (isUnknown(v)) return KNOWN_AFTER;
  if (v === null) return 'null';
  // JSON.stringify escapes C0 controls; escapeControls also DEL, C1 and bidi controls.
  if (typeof v === 'string') return e(JSON.stringify(v));
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${v.map((x) => scalar(x)).join(', ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return keys.length === 0 ? '{}' : `{ ${keys.map((k) => `${/^[A-Za-z_][\w-]*$/.test(k) ? k : e(JSON.stringify(k))} = ${scalar(v[k]!)}`).join(', ')} }`;
  }
  return String(v);
}

const isBlockList = (v: Value | undefined): v is ObjectValue[] => Array.isArray(v) && v.length > 0 && v.every((x) => isObject(x));

function pathMatches(paths: Path[], p: Path): boolean {
  return paths.some((r) => r.length === p.length && r.every((x, i) => x === p[i]));
}

type Mode = 'create' | 'delete' | 'update';

/** Sensitive paths of each side, and the paths of write-only attributes (their values are always null). */
type Sensitivity = { before: Path[]; after: Path[]; writeOnly?: Path[] };

function renderBody(before: ObjectValue | null, after: ObjectValue | null, mode: Mode, indent: string, replacePaths: Path[], at: Path, c: Colors, out: string[], sens: Sensitivity = { before: [], after: [] }): void {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort();
  const attrKeys = keys.filter((k) => !isBlockList(before?.[k]) && !isBlockList(after?.[k]));
  const blockKeys = keys.filter((k) => !attrKeys.includes(k));
  let hidden = 0;
  let hiddenBlocks = 0;
  const sym = { '+': c.green('+'), '-': c.red('-'), '~': c.yellow('~') };
  // Collected first so the '=' signs align over the attributes actually shown, as Terraform does.
  const rows: [string, string, string][] = [];
  for (const k of attrKeys) {
    const b = before?.[k] ?? null;
    const a = after?.[k] ?? null;
    const forces = pathMatches(replacePaths, [...at, k]) ? c.red(' # forces replacement') : '';
    const name = e(k);
    const p = [...at, k];
    const sa = (x: Value) => scalar(x, sens.after, p);
    const sb = (x: Value) => scalar(x, sens.before, p);
    if (sens.writeOnly && pathMatches(sens.writeOnly, p)) {
      // As Terraform's jsonformat (renderers/write_only.go): the attribute follows its block's action,
      // except in an update, where it is unchanged (there is no value to compare).
      const label = isSensitiveAt(sens.before, p) || isSensitiveAt(sens.after, p) ? '(sensitive, write-only attribute)' : '(write-only attribute)';
      if (mode === 'create') rows.push([sym['+'], name, `${label}${forces}`]);
      else if (mode === 'delete') rows.push([sym['-'], name, `${label} -> null`]);
      else hidden++;
      continue;
    }
    if (mode === 'create') { if (a !== null && !(Array.isArray(a) && a.length === 0)) rows.push([sym['+'], name, `${sa(a)}${forces}`]); continue; }
    if (mode === 'delete') { if (b !== null && !(Array.isArray(b) && b.length === 0)) rows.push([sym['-'], name, `${sb(b)} -> null`]); continue; }
    if (valuesEqual(b, a, EXACT)) {
      // Only the sensitivity changed: Terraform shows the attribute with its warning.
      if (b !== null && (isSensitiveAt(sens.after, p) !== isSensitiveAt(sens.before, p) || hasSensitiveWithin(sens.after, p) !== hasSensitiveWithin(sens.before, p))) {
        rows.push([sym['~'], name, `${sa(a)} # ${isSensitiveAt(sens.after, p) || hasSensitiveWithin(sens.after, p) ? 'now sensitive' : 'no longer sensitive'}: the value is unchanged`]);
      } else if (b !== null) hidden++;
      continue;
    }
    // As Terraform: a changed value that is sensitive on either side is shown as one `(sensitive value)`.
    const whole = isSensitiveAt(sens.before, p) || isSensitiveAt(sens.after, p);
    if (whole && b !== null && a !== null) rows.push([sym['~'], name, `${SENSITIVE}${forces}`]);
    else if (b === null) rows.push([sym['+'], name, `${sa(a)}${forces}`]);
    else if (a === null) rows.push([sym['-'], name, `${sb(b)} -> null${forces}`]);
    else rows.push([sym['~'], name, `${sb(b)} -> ${sa(a)}${forces}`]);
  }
  const width = Math.max(0, ...rows.map((r) => r[1].length));
  for (const [sy, k, rest] of rows) out.push(`${indent}${sy} ${k.padEnd(width)} = ${rest}`);
  for (const k of blockKeys) {
    const bl = (Array.isArray(before?.[k]) ? before![k] : []) as Value[];
    const al = (Array.isArray(after?.[k]) ? after![k] : []) as Value[];
    for (let i = 0; i < Math.max(bl.length, al.length); i++) {
      const b = isObject(bl[i]) ? (bl[i] as ObjectValue) : null;
      const a = isObject(al[i]) ? (al[i] as ObjectValue) : null;
      const m: Mode = mode !== 'update' ? mode : b === null ? 'create' : a === null ? 'delete' : 'update';
      if (m === 'update' && valuesEqual(b, a, EXACT)) { hiddenBlocks++; continue; }
      const s = m === 'create' ? sym['+'] : m === 'delete' ? sym['-'] : sym['~'];
      const forces = pathMatches(replacePaths, [...at, k]) ? c.red(' # forces replacement') : '';
      out.push(`${indent}${s} ${e(k)} {${forces}`);
      renderBody(b, a, m, indent + '    ', replacePaths, [...at, k, i], c, out, sens);
      out.push(`${indent}  }`);
    }
  }
  if (hidden > 0) out.push(`${indent}  # (${hidden} unchanged attribute${hidden === 1 ? '' : 's'} hidden)`);
  if (hiddenBlocks > 0) out.push(`${indent}  # (${hiddenBlocks} unchanged block${hiddenBlocks === 1 ? '' : 's'} hidden)`);
}

export function changeHeader(ch: ResourceChange): { symbol: string; text: string } {
  const a = ch.actions.join(',');
  switch (a) {
    case 'create': return { symbol: '  +', text: 'will be created' };
    case 'delete': return { symbol: '  -', text: 'will be destroyed' };
    case 'update': return { symbol: '  ~', text: 'will be updated in-place' };
    case 'delete,create': return { symbol: '-/+', text: ch.reason === 'replace_because_tainted' ? 'is tainted, so must be replaced' : 'must be replaced' };
    case 'create,delete': return { symbol: '+/-', text: ch.reason === 'replace_because_tainted' ? 'is tainted, so must be replaced' : 'must be replaced' };
    case 'read': return { symbol: ' <=', text: 'will be read during apply' };
    default: return { symbol: '   ', text: 'has no changes' };
  }
}

/** How an annotation line reads: `loss` (someone loses access), `gain`, `change`, `same`, `warning`. */
export type Tone = 'loss' | 'gain' | 'change' | 'same' | 'warning';
export type AnnotationLine = { text: string; tone?: Tone };

/**
 * What a view adds under a planned change, derived from the plan (the identity impact): `# Note:`
 * lines, then titled sections. Plain text: the renderer escapes it and adds the colour.
 */
export type ChangeAnnotation = { notes: string[]; sections: { title: string; lines: AnnotationLine[] }[] };

/** A view's annotations by change (undefined: none). */
export type Annotate = (change: ResourceChange) => ChangeAnnotation | undefined;

function toned(l: AnnotationLine, c: Colors): string {
  switch (l.tone) {
    case 'loss': return c.red(l.text);
    case 'gain': return c.green(l.text);
    case 'change': case 'warning': return c.yellow(l.text);
    default: return l.text;
  }
}

export function renderChange(ch: ResourceChange, c: Colors, annotation?: ChangeAnnotation): string[] {
  const out: string[] = [];
  const { symbol, text } = changeHeader(ch);
  const address = e(ch.address);
  const noop = ch.actions.length === 1 && ch.actions[0] === 'no-op';
  if (ch.previousAddress !== undefined && noop) out.push(`  ${c.bold(`# ${e(ch.previousAddress)}`)} has moved to ${c.bold(address)}`);
  else out.push(`  ${c.bold(`# ${address}${ch.deposed !== undefined ? ` (deposed object ${e(ch.deposed)})` : ''}`)} ${text}`);
  if (ch.previousAddress !== undefined && !noop) out.push(`  # (moved from ${e(ch.previousAddress)})`);
  if (ch.deposed !== undefined) out.push('  # (left over from a partially-failed replacement of this instance)');
  const key = ch.index === undefined ? '' : e(keyText(ch.index).slice(1, -1));
  switch (ch.reason) {
    case 'delete_because_no_resource_config': out.push(`  # (because ${e(parseInstanceAddress(ch.address)?.resource ?? ch.address)} is not in configuration)`); break;
    case 'delete_because_wrong_repetition': out.push(`  # (because ${ch.index === undefined ? 'resource uses count or for_each' : typeof ch.index === 'number' ? 'resource does not use count' : 'resource does not use for_each'})`); break;
    case 'delete_because_count_index': out.push(`  # (because index [${key}] is out of range for count)`); break;
    case 'delete_because_each_key': out.push(`  # (because key [${key}] is not in for_each map)`); break;
    default: break;
  }
  const colored = symbol.includes('/') ? c.yellow(symbol) : symbol.includes('+') ? c.green(symbol) : symbol.includes('-') ? c.red(symbol) : c.yellow(symbol);
  const kw = ch.mode === 'data' ? 'data' : 'resource';
  out.push(`${colored} ${kw} "${e(ch.type)}" "${e(ch.name)}" {`);
  const mode: Mode = ch.actions[0] === 'delete' && ch.actions.length === 1 ? 'delete' : ch.before === null || ch.actions.join() === 'read' ? 'create' : 'update';
  renderBody(ch.actions.join() === 'read' ? null : ch.before, ch.after, mode, '      ', ch.replacePaths, [], c, out, { before: ch.beforeSensitive ?? [], after: ch.afterSensitive ?? [], ...(ch.writeOnly ? { writeOnly: ch.writeOnly } : {}) });
  out.push('    }');
  for (const n of annotation?.notes ?? []) out.push(`  ${c.yellow('# Note:')} ${e(n)}`);
  // The identity preview is built from the config's values: a config with sensitive values gets none,
  // so a sensitive prefix or claim never reaches the text through it.
  if ((annotation?.sections.length ?? 0) > 0 && [...(ch.beforeSensitive ?? []), ...(ch.afterSensitive ?? [])].length > 0) {
    out.push(`  # (identity preview withheld: this object has sensitive values)`);
    return out;
  }
  // Annotation lines (the identity preview) hold usernames and groups built from claims and live prefixes.
  for (const section of annotation?.sections ?? []) {
    out.push(`  # ${e(section.title)}`);
    for (const l of section.lines) out.push(`  #   ${toned({ ...l, text: e(l.text) }, c)}`);
  }
  return out;
}

/**
 * Terraform's "Objects have changed outside of Terraform" note: what refresh found deleted or changed
 * since the last run (computed from the plan's prevRunState and priorState by outsideChanges).
 */
export function renderOutsideChanges(changes: readonly OutsideChange[], c: Colors): string[] {
  if (changes.length === 0) return [];
  const out = [
    `${c.bold('Note: Objects have changed outside of eksidp')}`, '',
    'eksidp detected the following changes made outside of eksidp since the last "eksidp apply" which may have affected this plan:', '',
  ];
  for (const ch of changes) {
    const deleted = ch.kind === 'deleted';
    out.push(`  ${c.bold(`# ${e(ch.address)}`)} ${deleted ? 'has been deleted' : 'has changed'}`);
    out.push(`  ${deleted ? c.red('-') : c.yellow('~')} resource "${e(ch.type)}" "${e(ch.name)}" {`);
    renderBody(ch.before, ch.after, deleted ? 'delete' : 'update', '      ', [], [], c, out, { before: ch.sensitive ?? [], after: ch.sensitive ?? [] });
    out.push('    }', '');
  }
  out.push('Unless you have made equivalent changes to your configuration, or ignored the relevant attributes using ignore_changes, the following plan may include actions to undo or respond to these changes.');
  out.push('', '─'.repeat(77), '');
  return out;
}

export function renderPlan(plan: Plan, c: Colors, annotate?: Annotate): string {
  const out: string[] = [];
  for (const w of plan.warnings) out.push(`${c.yellow('Warning:')} ${e(formatDiagnostic(w))}`, '');
  out.push(...renderOutsideChanges(outsideChanges(plan), c));
  if (!hasChanges(plan)) {
    out.push(c.bold('No changes.') + (plan.destroy ? ' No objects need to be destroyed.' : ' Your infrastructure matches the configuration.'));
    return out.join('\n') + '\n';
  }
  const outputs = renderOutputChanges(plan.outputChanges, c);
  const shown = (ch: ResourceChange) => ch.actions[0] !== 'no-op' || ch.previousAddress !== undefined;
  if (plan.changes.some(shown)) {
    const used = new Set(plan.changes.map((ch) => ch.actions.join()));
    out.push('eksidp used the selected providers to generate the following execution plan. Resource actions are indicated with the following symbols:');
    if (used.has('create')) out.push(`  ${c.green('+')} create`);
    if (used.has('update')) out.push(`  ${c.yellow('~')} update in-place`);
    if (used.has('delete')) out.push(`  ${c.red('-')} destroy`);
    if (used.has('delete,create')) out.push(`${c.yellow('-/+')} destroy and then create replacement`);
    if (used.has('create,delete')) out.push(`${c.yellow('+/-')} create replacement and then destroy`);
    if (used.has('read')) out.push(` ${c.cyan('<=')} read (data resources)`);
    out.push('', 'eksidp will perform the following actions:', '');
    for (const ch of plan.changes) {
      if (!shown(ch)) continue;
      out.push(...renderChange(ch, c, annotate?.(ch)), '');
    }
    const n = planCounts(plan.changes);
    out.push(`${c.bold('Plan:')} ${n.add} to add, ${n.change} to change, ${n.destroy} to destroy.`);
  }
  if (outputs.length > 0) {
    out.push('', ...outputs);
    // As Terraform: with no resource changes, say what applying would do.
    if (!plan.changes.some((ch) => ch.actions[0] !== 'no-op')) out.push('', 'You can apply this plan to save these new output values to the state, without changing any real infrastructure.');
  }
  if (plan.targets.length > 0) out.push('', `${c.yellow('Warning:')} resource targeting is in effect (${e(plan.targets.join(', '))}): the plan may be incomplete.`);
  return out.join('\n') + '\n';
}

/**
 * One diagnostic per cause: the same error (summary and detail) reported for several resources, such
 * as an endpoint that does not answer, becomes one line naming them, instead of one line each.
 */
export function collapseRepeated(diags: readonly Diagnostic[]): Diagnostic[] {
  const groups = new Map<string, Diagnostic[]>();
  for (const d of diags) {
    const key = JSON.stringify([d.severity, d.summary, d.detail ?? '', d.attribute ?? []]);
    const g = groups.get(key);
    if (g) g.push(d); else groups.set(key, [d]);
  }
  return [...groups.values()].map((g) => {
    if (g.length === 1 || g.some((d) => !d.address)) return g[0]!;
    const names = g.map((d) => d.address!).sort();
    const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ');
    const { address: _address, ...rest } = g[0]!;
    return { ...rest, summary: `${rest.summary}, for ${names.length} resources: ${shown}` };
  });
}

export function renderDiagnostics(diags: readonly Diagnostic[], c: Colors): string {
  // Diagnostics carry API error messages: one line each, whatever the message holds.
  return collapseRepeated(diags).map((d) => `${d.severity === 'error' ? c.red('Error:') : c.yellow('Warning:')} ${e(formatDiagnostic(d))}\n`).join('');
}
