import { invalidParameter } from './errors';

/** A parsed JSON request body: fields are checked one by one, never trusted by shape. */
export type Obj = { [k: string]: unknown };

/** ClusterName in the model (its pattern is only start-anchored there; AWS matches whole names). */
export const NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;
export const NAME_MAX = 100;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 120) ?? String(v);

export function obj(body: Obj, field: string, path = field): Obj | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw invalidParameter(`${path} must be an object, got ${show(v)}`);
  return v;
}

export function str(body: Obj, field: string, opts: { required?: boolean; min?: number; max?: number; pattern?: RegExp; path?: string; oneOf?: readonly string[] } = {}): string | undefined {
  const path = opts.path ?? field;
  const v = body[field];
  if (v === undefined || v === null) {
    if (opts.required) throw invalidParameter(`${path} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalidParameter(`${path} must be a string, got ${show(v)}`);
  if (opts.min !== undefined && v.length < opts.min) throw invalidParameter(`${path} must be at least ${opts.min} characters long`);
  if (opts.max !== undefined && v.length > opts.max) throw invalidParameter(`${path} must be at most ${opts.max} characters long`);
  if (opts.pattern && !opts.pattern.test(v)) throw invalidParameter(`${path} '${v.slice(0, 120)}' does not match pattern ${opts.pattern.source}`);
  if (opts.oneOf && !opts.oneOf.includes(v)) throw invalidParameter(`${path} '${v.slice(0, 120)}' must be one of ${opts.oneOf.join(', ')}`);
  return v;
}

export function bool(body: Obj, field: string, path = field): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidParameter(`${path} must be a boolean, got ${show(v)}`);
  return v;
}

export function int(body: Obj, field: string, opts: { min?: number; max?: number; path?: string } = {}): number | undefined {
  const path = opts.path ?? field;
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(`${path} must be an integer, got ${show(v)}`);
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    throw invalidParameter(`${path} must be between ${opts.min} and ${opts.max}, got ${v}`);
  }
  return v;
}

export function strList(body: Obj, field: string, path = field, max = 1000): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParameter(`${path} must be a list of strings`);
  if (v.length > max) throw invalidParameter(`${path} must have at most ${max} items`);
  return v as string[];
}

export function strMap(body: Obj, field: string, path = field): Record<string, string> | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) throw invalidParameter(`${path} must be a map of strings`);
  // A null-prototype copy: keys such as __proto__ stay plain data.
  return Object.assign(Object.create(null) as Record<string, string>, v);
}

/** Tags as EKS limits them: 1–50 per resource, key 1–128, value ≤ 256, no `aws:` prefix. */
export function checkTags(tags: Record<string, string>, path = 'tags'): void {
  const keys = Object.keys(tags);
  if (keys.length < 1 || keys.length > 50) throw new BadRequest(`${path} must contain between 1 and 50 tags, got ${keys.length}`);
  for (const k of keys) {
    if (k.length < 1 || k.length > 128) throw new BadRequest(`${path}: tag key '${k.slice(0, 130)}' must be 1 to 128 characters long`);
    if (k.toLowerCase().startsWith('aws:')) throw new BadRequest(`${path}: tag key '${k}' uses the reserved prefix 'aws:'`);
    if (tags[k]!.length > 256) throw new BadRequest(`${path}: value of tag '${k}' must be at most 256 characters long`);
  }
}

/**
 * Tag problems: the tag operations model BadRequestException, the create/associate operations
 * InvalidParameterException; callers translate with `asInvalidParameter`.
 */
export class BadRequest extends Error {}

export function tagsParam(body: Obj, field = 'tags', asInvalidParameter = true): Record<string, string> | undefined {
  const tags = strMap(body, field);
  if (tags === undefined) return undefined;
  try {
    checkTags(tags, field);
  } catch (e) {
    if (e instanceof BadRequest && asInvalidParameter) throw invalidParameter(e.message);
    throw e;
  }
  return tags;
}

/** Compares Kubernetes versions like "1.31" numerically. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
