import { isUnknown, UNKNOWN, type ObjectValue, type Value } from '../../engine/protocol';
import { containsUnknown } from '../../engine/util';
import type { TagConfig } from './settings';

/**
 * `tags` and `tags_all` as hashicorp/aws 5.100 computes them from the provider's default_tags and
 * ignore_tags (its transparent tagging: internal/provider's setTagsAll plan modifier and tags
 * interceptor, internal/tags' KeyValueTags). Pure functions: the EKS provider's plan, apply and read
 * use them, so anything judging through the provider (plan, drift) sees the same values.
 */

export type Tags = Record<string, string>;

const SYSTEM_PREFIX = 'aws:';

/** A map of strings from a state or config value (other values dropped). */
export function tagsOf(v: Value | undefined): Tags {
  const out: Tags = {};
  if (v && typeof v === 'object' && !Array.isArray(v) && !isUnknown(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function size(t: Tags): number {
  return Object.keys(t).length;
}

/** KeyValueTags.HasZeroValue: some value is the empty string. */
function hasZeroValue(t: Tags): boolean {
  return Object.values(t).some((v) => v === '');
}

export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  return ka.length === size(b) && ka.every((k) => k in b && a[k] === b[k]);
}

/** DefaultConfig.MergeTags: the defaults, overridden by the resource's tags. */
export function mergeDefaults(tc: TagConfig, tags: Tags): Tags {
  return tc.defaults ? { ...tc.defaults, ...tags } : { ...tags };
}

/** KeyValueTags.IgnoreConfig: without ignore_tags' key prefixes and keys. */
export function withoutIgnored(tc: TagConfig, tags: Tags): Tags {
  if (tc.ignoreKeys.length === 0 && tc.ignorePrefixes.length === 0) return tags;
  const out: Tags = {};
  for (const [k, v] of Object.entries(tags)) if (!tc.ignoreKeys.includes(k) && !tc.ignorePrefixes.some((p) => k.startsWith(p))) out[k] = v;
  return out;
}

/** KeyValueTags.IgnoreSystem for EKS: keys with the reserved `aws:` prefix are AWS's, never managed. */
export function withoutSystem(tags: Tags): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(tags)) if (!k.startsWith(SYSTEM_PREFIX)) out[k] = v;
  return out;
}


/**
 * The planned `tags_all` (the provider's setTagsAll). `configTags` is the configured `tags`;
 * `prior` the prior state (null when creating or replacing). Unknown when the provider leaves it to
 * apply: configured tags not yet known, or an empty-string value in them.
 */
export function plannedTagsAll(tc: TagConfig, configTags: Value | undefined, prior: ObjectValue | null): Value {
  if (containsUnknown(configTags)) return UNKNOWN;
  const newTags = tagsOf(configTags);
  const all = withoutIgnored(tc, mergeDefaults(tc, newTags));
  // Optional+computed and not in configuration: the proposed value is the prior one (unknown on create).
  const proposed: Value = prior ? (prior.tags_all ?? null) : UNKNOWN;
  // The legacy SDK's HasChange: null and {} are the same map.
  if (!sameTags(tagsOf(prior?.tags), newTags)) {
    let out = proposed;
    if (hasZeroValue(newTags)) out = UNKNOWN;
    if (size(all) > 0 && (!hasZeroValue(newTags) || !hasZeroValue(all))) out = { ...all };
    if (size(all) === 0) out = {};
    return out;
  }
  if (size(all) > 0 && !hasZeroValue(all)) return { ...all };
  // d.Get on an unknown tags_all gives an empty map.
  const current = isUnknown(proposed) ? {} : tagsOf(proposed);
  if (size(all) > 0 && !sameTags(current, all) && hasZeroValue(all)) return UNKNOWN;
  return proposed;
}

/** The tags a create request carries: defaults merged with the resource's, without system tags (ignore_tags does not apply). */
export function createTags(tc: TagConfig, configTags: Value | undefined): Tags {
  return withoutSystem(mergeDefaults(tc, tagsOf(configTags)));
}

/**
 * The tags an update sets: the planned tags_all, or, when the plan left it unknown, the defaults
 * merged with the configured tags (the provider's "Finally" branch of its tags interceptor).
 */
export function updateTarget(tc: TagConfig, planned: ObjectValue): Tags {
  return isUnknown(planned.tags_all) ? withoutSystem(mergeDefaults(tc, tagsOf(planned.tags))) : tagsOf(planned.tags_all);
}

/** The UntagResource keys and TagResource map that take a resource's tags from `before` to `after`. */
export function tagChanges(before: Tags, after: Tags): { remove: string[]; set: Tags } {
  const remove = Object.keys(withoutSystem(before)).filter((k) => !(k in after));
  const set: Tags = {};
  for (const [k, v] of Object.entries(withoutSystem(after))) if (before[k] !== v) set[k] = v;
  return { remove, set };
}

/**
 * `tags` and `tags_all` in state from the tags EKS returned (the interceptor after read, create and
 * update, with KeyValueTags.ResolveDuplicates). tags_all is what is live, without system and
 * ignored keys; tags is that without the values inherited from default_tags, except the ones the
 * resource itself declares with the same value: `configTags` when applying (the configuration), else
 * the prior state's tags (a refresh has no configuration).
 */
export function stateTags(tc: TagConfig, remote: Record<string, string> | undefined, source: { applying: true; configTags: Value | undefined } | { applying: false; stateTags: Value | undefined }): { tags: Tags; tagsAll: Tags } {
  const tagsAll = withoutIgnored(tc, withoutSystem(remote ?? {}));
  const defaults = tc.defaults ?? {};
  const tags: Tags = {};
  for (const [k, v] of Object.entries(tagsAll)) if (!(k in defaults) || defaults[k] !== v) tags[k] = v;
  if (source.applying && (source.configTags === null || source.configTags === undefined)) return { tags, tagsAll };
  const declared = tagsOf(source.applying ? source.configTags : source.stateTags);
  for (const [k, v] of Object.entries(declared)) if (!(k in tags) && k in defaults && defaults[k] === v) tags[k] = v;
  return { tags: withoutIgnored(tc, tags), tagsAll };
}

/** A data source's tags: what is live, without system and ignored keys. */
export function dataSourceTags(tc: TagConfig, remote: Record<string, string> | undefined): Tags {
  return withoutIgnored(tc, withoutSystem(remote ?? {}));
}
