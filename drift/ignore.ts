import fs from 'node:fs';
import { summarize } from './compare';
import type { DriftReport, ResourceDrift } from './model';

/**
 * Ignore rules, checked in at the project root (drift-ignore.json):
 *   [{"address": "aws_eks_identity_provider_config.*", "path": "tags.last-*", "reason": "..."}]
 * or {"rules": [...]}. `*` matches any run of characters. Unmanaged configs have no address: they
 * are matched as `CLUSTER:CONFIG` (the import id). Ignored findings stay in the report, with the
 * reason; an unknown (unread) resource is never ignored, since ignoring it would hide an error.
 */

export type IgnoreRule = { address: string; path?: string; reason: string };

export class IgnoreFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IgnoreFileError';
  }
}

export function parseIgnoreRules(json: unknown, file: string): IgnoreRule[] {
  const list = Array.isArray(json) ? json : typeof json === 'object' && json !== null && Array.isArray((json as { rules?: unknown }).rules) ? (json as { rules: unknown[] }).rules : undefined;
  if (!list) throw new IgnoreFileError(`${file}: expected a JSON list of {address, path, reason} (or {"rules": [...]})`);
  return list.map((entry, i) => {
    const at = `${file}: entry ${i}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new IgnoreFileError(`${at}: must be an object {address, path, reason}`);
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) if (!['address', 'path', 'reason'].includes(k)) throw new IgnoreFileError(`${at}: unknown field "${k}" (allowed: address, path, reason)`);
    if (typeof e.address !== 'string' || e.address.trim() === '') throw new IgnoreFileError(`${at}: "address" must be a non-empty string`);
    const label = `${at} (${e.address})`;
    if (e.path !== undefined && (typeof e.path !== 'string' || e.path.trim() === '')) throw new IgnoreFileError(`${label}: "path" must be a non-empty string when given`);
    if (typeof e.reason !== 'string' || e.reason.trim() === '') throw new IgnoreFileError(`${label}: "reason" is required: say why this drift is accepted`);
    return { address: e.address, ...(e.path !== undefined ? { path: e.path as string } : {}), reason: e.reason };
  });
}

/** Reads rules; a missing default file is no rules, a missing explicit file is an error. */
export function loadIgnoreFile(file: string, explicit: boolean): IgnoreRule[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return [];
    throw new IgnoreFileError(`cannot read ignore file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new IgnoreFileError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseIgnoreRules(json, file);
}

export function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function subject(r: ResourceDrift): string {
  return r.address ?? `${r.cluster}:${r.name}`;
}

/** Applies rules to a report: returns a new report (the input is not changed). */
export function applyIgnores(report: DriftReport, rules: readonly IgnoreRule[]): DriftReport {
  if (rules.length === 0) return report;
  const compiled = rules.map((r) => ({ ...r, addr: wildcard(r.address), p: r.path === undefined ? undefined : wildcard(r.path) }));
  const resources = report.resources.map((r): ResourceDrift => {
    if (r.status === 'unknown' || r.status === 'in_sync') return r;
    const matching = compiled.filter((x) => x.addr.test(subject(r)));
    if (matching.length === 0) return r;
    const whole = matching.find((x) => x.p === undefined);
    if (whole) return { ...r, status: 'ignored', reason: whole.reason };
    if (r.status !== 'changed') return r; // path rules only concern differences
    const differences = r.differences.map((d) => {
      const hit = matching.find((x) => x.p!.test(d.path));
      return hit ? { ...d, ignored: hit.reason } : d;
    });
    const left = differences.filter((d) => !d.ignored);
    if (left.length === 0) {
      const reasons = [...new Set(differences.map((d) => d.ignored!))];
      return { ...r, status: 'ignored', differences, reason: reasons.join('; '), fix: null };
    }
    return { ...r, differences };
  });
  return { ...report, resources, summary: summarize(resources) };
}
