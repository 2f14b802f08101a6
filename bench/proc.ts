import fs from 'node:fs';

/** Process-tree memory from /proc, shared by the benchmarks that report peak RSS. */

/** Every process below pid, from /proc/<pid>/task/<tid>/children (any thread may have forked). */
export function descendants(pid: number, out: Set<number> = new Set()): Set<number> {
  let tasks: string[] = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tasks) {
    let text = '';
    try { text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8'); } catch { continue; }
    for (const c of text.split(' ').filter(Boolean).map(Number)) if (!out.has(c)) { out.add(c); descendants(c, out); }
  }
  return out;
}

export function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}
