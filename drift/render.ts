import { createTwoFilesPatch } from 'diff';
import { addTo } from '../lib/collections';
import { colors, type Color } from '../lib/color';
import { escapeControls, htmlCode, mdCode, mdFence } from '../lib/escape';
import { STATUSES, type DriftReport, type ResourceDrift, type Status } from './model';

/**
 * Renderers: each takes the finished report model and returns text. Nothing here decides a verdict.
 * Every string that came from the stack or the API (names, paths, values, errors, identities) goes
 * through lib/escape.ts where it enters a line: escapeControls for terminals, mdCode/htmlCode/mdFence
 * for Markdown. The model itself keeps the raw values (the JSON report is JSON-escaped).
 */

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

function docText(v: Record<string, unknown> | null | undefined): string {
  return v ? `${JSON.stringify(canonical(v), null, 2)}\n` : '';
}

/**
 * A unified diff from the live object to the planned one (sorted keys on both sides); empty when they
 * are the same (a config EKS is deleting, which plans leave alone): headers over no hunk say nothing.
 */
export function unifiedDiff(r: ResourceDrift): string {
  const live = docText(r.live), planned = docText(r.planned);
  if (live === planned) return '';
  const patch = createTwoFilesPatch('live', 'planned', live, planned, undefined, undefined, { context: 3 });
  // Drop the "Index"/"===" preamble lines: the ---/+++ header says it all.
  return patch.split('\n').filter((l) => !l.startsWith('Index: ') && !/^=+$/.test(l)).join('\n').trimEnd();
}

export function reportJson(report: DriftReport): string {
  const resources = report.resources.map((r) => {
    const out: Record<string, unknown> = {
      address: r.address, type: r.type, cluster: r.cluster, name: r.name, status: r.status,
      differences: r.differences.map((d) => ({ path: d.path, expected: d.expected, actual: d.actual, requires_replacement: d.requires_replacement, ...(d.ignored ? { ignored: d.ignored } : {}) })),
      fix: r.fix, error: r.error, live_status: r.live_status,
    };
    if (r.reason !== undefined) out.reason = r.reason;
    if (r.identities) out.identities = r.identities;
    return out;
  });
  return `${JSON.stringify({ format_version: report.format_version, stack: report.stack, shard: report.shard, summary: report.summary, resources }, null, 2)}\n`;
}

const SYMBOL: Record<Status, string> = { in_sync: ' ', changed: '~', missing: '+', unmanaged: '?', unknown: '!', ignored: '-' };
const STATUS_COLOR: Record<Status, Color> = { in_sync: 'dim', changed: 'yellow', missing: 'green', unmanaged: 'cyan', unknown: 'red', ignored: 'dim' };

/** A live status worth showing: anything but the settled ACTIVE. */
function unsettled(r: ResourceDrift): boolean {
  return r.live_status !== null && r.live_status !== 'ACTIVE';
}

function label(r: ResourceDrift): string {
  return r.address ?? `(unmanaged) ${r.cluster}:${r.name}`;
}

const e = escapeControls;

export function summaryLine(report: DriftReport): string {
  const s = report.summary;
  const parts = STATUSES.filter((k) => k === 'in_sync' || s[k] > 0).map((k) => `${s[k]} ${k}`);
  const verdict = s.unknown > 0 ? 'Drift check incomplete' : s.changed + s.missing + s.unmanaged > 0 ? 'Drift found' : 'No drift';
  return `${verdict}: ${parts.join(', ')}${report.shard ? ` (shard ${report.shard})` : ''}.`;
}

function differenceLine(d: ResourceDrift['differences'][number]): string {
  const v = (x: string | null) => (x === null ? '(unset)' : e(JSON.stringify(x)));
  const tag = d.ignored ? ` (ignored: ${e(d.ignored)})` : d.requires_replacement ? ' (requires replacement)' : '';
  return `${e(d.path)}: live ${v(d.actual)}, declared ${v(d.expected)}${tag}`;
}

/** Unknown objects by error, for errors that several share. */
function sharedErrors(report: DriftReport): Map<string, ResourceDrift[]> {
  const by = new Map<string, ResourceDrift[]>();
  for (const r of report.resources) if (r.status === 'unknown' && r.error) addTo(by, r.error, r);
  for (const [k, v] of by) if (v.length < 2) by.delete(k);
  return by;
}

export function renderHuman(report: DriftReport, opts: { color: boolean; verbose?: boolean }): string {
  const paint = (c: Color, s: string) => colors(opts.color)[c](s);
  const lines: string[] = [`Drift check of stack ${e(report.stack)}${report.shard ? `, shard ${e(report.shard)}` : ''}`, ''];
  // One cause for many (an endpoint that does not answer): said once, with the objects it left unknown.
  const shared = sharedErrors(report);
  for (const r of report.resources) {
    if (r.status === 'in_sync' && !opts.verbose) continue;
    const group = r.status === 'unknown' && r.error ? shared.get(r.error) : undefined;
    if (group) {
      if (group[0] !== r) continue;
      lines.push(paint(STATUS_COLOR.unknown, `${SYMBOL.unknown} ${group.length} objects unknown: ${e(r.error!)}`));
      for (const g of group) lines.push(`    ${e(label(g))}`);
      lines.push('');
      continue;
    }
    lines.push(paint(STATUS_COLOR[r.status], `${SYMBOL[r.status]} ${e(label(r))}: ${r.status.replace('_', ' ')}${unsettled(r) ? ` (live status ${e(r.live_status!)})` : ''}`));
    if (r.error) lines.push(`    error: ${e(r.error)}`);
    if (r.reason) lines.push(`    reason: ${e(r.reason)}`);
    for (const d of r.differences) lines.push(`    ${differenceLine(d)}`);
    if (r.fix) lines.push(`    fix: ${e(r.fix)}`);
    if (r.identities?.length) {
      lines.push('    sample identities (live → planned):');
      for (const id of r.identities) lines.push(paint(id.changed ? 'yellow' : 'dim', `      ${id.changed ? '*' : ' '} ${e(id.name)}: ${id.changed ? `${e(id.live)} → ${e(id.planned)}` : `${e(id.planned)} (unchanged)`}`));
    }
    const diff = (r.status === 'changed' || r.status === 'missing' || r.status === 'unmanaged') && (r.live || r.planned) ? unifiedDiff(r) : '';
    if (diff !== '') {
      for (const raw of diff.split('\n')) {
        const l = e(raw);
        const c: Color | undefined = l.startsWith('+') && !l.startsWith('+++') ? 'green' : l.startsWith('-') && !l.startsWith('---') ? 'red' : l.startsWith('@@') ? 'cyan' : undefined;
        lines.push(`    ${c ? paint(c, l) : l}`);
      }
    }
    lines.push('');
  }
  lines.push(paint('bold', summaryLine(report)));
  return `${lines.join('\n')}\n`;
}

export function renderMarkdown(report: DriftReport): string {
  const s = report.summary;
  const out: string[] = [
    `### eksidp drift: stack ${mdCode(report.stack)}${report.shard ? ` (shard ${report.shard})` : ''}`,
    '',
    summaryLine(report),
    '',
    '| status | count |',
    '| --- | ---: |',
    ...STATUSES.map((k) => `| ${k} | ${s[k]} |`),
    '',
  ];
  const cell = (x: string) => mdCode(x, { table: true });
  for (const r of report.resources) {
    if (r.status === 'in_sync') continue;
    out.push('<details>', `<summary>${htmlCode(label(r))}: <b>${r.status}</b></summary>`, '');
    if (unsettled(r)) out.push(`Live status: ${mdCode(r.live_status!)}`, '');
    if (r.error) out.push(`Error: ${mdCode(r.error)}`, '');
    if (r.reason) out.push(`Ignored: ${mdCode(r.reason)}`, '');
    if (r.differences.length) {
      out.push('| path | live | declared | replacement |', '| --- | --- | --- | --- |');
      for (const d of r.differences) {
        out.push(`| ${cell(d.path)} | ${d.actual === null ? '_unset_' : cell(d.actual)} | ${d.expected === null ? '_unset_' : cell(d.expected)} | ${d.ignored ? `ignored: ${cell(d.ignored)}` : d.requires_replacement ? 'yes' : 'no'} |`);
      }
      out.push('');
    }
    if (r.fix) out.push(`Fix: ${mdCode(r.fix)}`, '');
    if (r.identities?.length) {
      out.push('Sample identities (live → planned):', '');
      for (const id of r.identities) {
        const name = id.changed ? `**${mdCode(id.name)}**` : mdCode(id.name);
        out.push(`- ${name}: ${id.changed ? `${mdCode(id.live)} → ${mdCode(id.planned)}` : `${mdCode(id.planned)} (unchanged)`}`);
      }
      out.push('');
    }
    const diff = r.live || r.planned ? unifiedDiff(r) : '';
    if (diff !== '') out.push(mdFence(diff, 'diff'), '');
    out.push('</details>', '');
  }
  return `${out.join('\n')}\n`;
}
