import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../command';
import { EXIT } from '../command';
import { numberFlag, stringFlag, UsageError } from '../args';
import { escapeControls, mdFence } from '../../lib/escape';
import { writeFileAtomicSync } from '../../lib/files';

/**
 * `eksidp pr-comment`: the pull-request comment (plan + drift report) as one rendered, tested
 * document, instead of a workflow gluing text together in shell. The plan's text goes inside a
 * fence longer than any backtick run it holds, with controls escaped, so nothing a live value or an
 * error message holds can close it; the drift part is `eksidp drift --format markdown` output,
 * whose every untrusted string is already escaped (drift/render.ts). Offline: reads two files.
 */

/** GitHub refuses comment bodies over 65,536 characters; keep a margin for the notes we add. */
export const COMMENT_LIMIT = 65_536;
const BUDGET = COMMENT_LIMIT - 1_024;

export type CommentInput = {
  /** `eksidp plan --no-color --detailed-exitcode` output (stdout and stderr), or null when not produced. */
  planText: string | null;
  planExit: number;
  /** `eksidp drift --format markdown` output, or null when not produced. */
  driftMarkdown: string | null;
  driftExit: number;
};

const PLAN_STATUS: Record<number, string> = {
  0: 'No changes.',
  1: '**The plan failed** (exit 1): the output below says why.',
  2: 'Changes planned (exit 2).',
};
const DRIFT_STATUS: Record<number, string> = {
  0: 'In sync (exit 0).',
  1: '**The drift check could not read everything or failed** (exit 1).',
  2: 'Drift found (exit 2).',
};

function status(table: Record<number, string>, code: number): string {
  return table[code] ?? `Unexpected exit code ${code}.`;
}

/** The plan section with its first `keep` lines (a note says how many more there were). */
function planSection(lines: string[], exit: number, keep: number): string {
  const out = ['### eksidp plan', '', status(PLAN_STATUS, exit), '', mdFence(lines.slice(0, keep).join('\n'), 'text')];
  if (keep < lines.length) out.push('', `_${lines.length - keep} more lines of the plan are not shown (comment size limit); the full plan is in the job's log._`);
  return out.join('\n');
}

export function renderPullRequestComment(input: CommentInput): string {
  let drift: string;
  if (input.driftMarkdown === null) {
    drift = ['### eksidp drift', '', status(DRIFT_STATUS, input.driftExit), '', '_No drift report was produced: see the job\'s log._'].join('\n');
  } else if (input.driftMarkdown.length > BUDGET / 2) {
    drift = ['### eksidp drift', '', status(DRIFT_STATUS, input.driftExit), '', `_The drift report (${input.driftMarkdown.length} characters) is too long for a comment: see the job's log or its artefact._`].join('\n');
  } else {
    drift = input.driftMarkdown.trimEnd();
  }
  if (input.planText === null) {
    const plan = ['### eksidp plan', '', status(PLAN_STATUS, input.planExit), '', '_No plan output was produced: see the job\'s log._'].join('\n');
    return `${plan}\n\n${drift}\n`;
  }
  const lines = input.planText.replace(/\n+$/, '').split('\n');
  // Whole lines only: as many as fit by escaped length, then fewer until the comment fits (the
  // fence grows with the longest backtick run kept).
  let keep = 0;
  for (let size = drift.length + 512; keep < lines.length; keep++) {
    size += escapeControls(lines[keep]!).length + 1;
    if (size > BUDGET) break;
  }
  for (;;) {
    const text = `${planSection(lines, input.planExit, keep)}\n\n${drift}\n`;
    if (text.length <= BUDGET || keep === 0) return text;
    keep = Math.floor(keep * 0.9);
  }
}

function readOptional(cwd: string, file: string | undefined, flag: string): string | null {
  if (file === undefined) return null;
  try {
    return fs.readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`--${flag} ${escapeControls(file)}: ${(e as Error).message}`);
  }
}

const spec = {
  name: 'pr-comment',
  summary: 'Render the pull-request comment from a plan\'s text output and a Markdown drift report.',
  flags: {
    plan: { type: 'string', required: true, valueName: 'FILE', description: 'The output of `eksidp plan --no-color --detailed-exitcode` (a missing file is reported in the comment).' },
    'plan-exit': { type: 'string', required: true, valueName: 'N', description: 'The plan\'s exit code (0 no changes, 2 changes, 1 error).' },
    drift: { type: 'string', required: true, valueName: 'FILE', description: 'The report of `eksidp drift --format markdown --out FILE` (a missing file is reported in the comment).' },
    'drift-exit': { type: 'string', required: true, valueName: 'N', description: 'The drift check\'s exit code (0 in sync, 2 drift, 1 error).' },
    out: { type: 'string', valueName: 'FILE', description: 'Write the comment to FILE instead of stdout.' },
  },
} satisfies Command['spec'];

export const command: Command = {
  spec,
  async run({ values }, io) {
    const planFile = stringFlag(values, 'plan');
    const driftFile = stringFlag(values, 'drift');
    if (planFile === undefined || driftFile === undefined) throw new UsageError('eksidp pr-comment: --plan FILE and --drift FILE are required');
    const planExit = numberFlag(spec, values, 'plan-exit', { min: 0, max: 255, integer: true });
    const driftExit = numberFlag(spec, values, 'drift-exit', { min: 0, max: 255, integer: true });
    if (planExit === undefined || driftExit === undefined) throw new UsageError('eksidp pr-comment: --plan-exit N and --drift-exit N are required');
    const text = renderPullRequestComment({
      planText: readOptional(io.cwd, planFile, 'plan'), planExit,
      driftMarkdown: readOptional(io.cwd, driftFile, 'drift'), driftExit,
    });
    const out = stringFlag(values, 'out');
    if (out === undefined) io.stdout.write(text);
    else writeFileAtomicSync(path.resolve(io.cwd, out), text, { mode: 0o644 });
    return EXIT.OK;
  },
};
