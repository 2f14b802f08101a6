/**
 * Readable, stable Terraform resource names derived from cluster and config names (never hashes):
 * they appear in plans, state and drift reports, and renaming them would move state.
 */
export function resourceName(...parts: string[]): string {
  const name = parts.join('_').replace(/[^A-Za-z0-9_]/g, '_');
  // Terraform names must start with a letter or underscore.
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}
