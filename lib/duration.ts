/**
 * Durations in Terraform's spellings, both ways. Dependency-free: engine, providers and the CLI all
 * use it.
 */

/**
 * Parses Terraform durations (Go's time.ParseDuration: "40m", "1h30m", "90s", "1.5h", units ns, us/µs,
 * ms, s, m, h) to whole milliseconds; undefined if malformed.
 */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? Math.round(total) : undefined;
}

/**
 * Whole seconds as Terraform prints durations (Go's Duration.String): `45s`, `1m0s`, `1m10s`, `1h0m5s`,
 * as in "Still creating... [1m10s elapsed]", "Creation complete after 1m0s" and hashicorp/aws's
 * "timeout: 40m0s". A started second does not count (never more than has elapsed).
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
