/**
 * Output written once per event-loop turn instead of once per line: each write to a pipe or terminal
 * is a syscall, and a fleet apply prints thousands of lines (two per step) that arrive in bursts,
 * the clusters moving in lockstep. The text and its order are unchanged; only the writes are fewer.
 * What is pending goes out at the turn's end, when its owner flushes (a view's close), before an
 * interrupt's message (flushPendingOutput) and when the process exits.
 */

export type CoalescedWriter = { write(text: string): void; flush(): void };

/** Writers with text not yet written. */
const pending = new Set<() => void>();

/** Writes what every writer holds; called before other output that must come after it, and at exit. */
export function flushPendingOutput(): void {
  for (const flush of [...pending]) flush();
}

let exitHooked = false;

export function coalescedWriter(stream: NodeJS.WritableStream): CoalescedWriter {
  if (!exitHooked) {
    exitHooked = true;
    // process.exit (a second Ctrl-C) and a crash still print what was held: writes to pipes,
    // files and terminals are synchronous there.
    process.on('exit', flushPendingOutput);
  }
  let held = '';
  let turn: NodeJS.Immediate | undefined;
  const flush = () => {
    if (turn) clearImmediate(turn);
    turn = undefined;
    pending.delete(flush);
    if (held === '') return;
    const text = held;
    held = '';
    stream.write(text);
  };
  return {
    write(text) {
      held += text;
      if (turn) return;
      turn = setImmediate(flush);
      pending.add(flush);
    },
    flush,
  };
}
