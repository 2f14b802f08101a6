import type { Parsed } from './args';
import type { Io } from './command';
import { EXIT } from './command';
import { refreshProgress } from './progress';
import { colorsFor, confirm, loadConfig, locate, openSession, parallelismOf, targetsOf, variableInputs, type Session, lockOptionsOf } from './support';
import { applyView } from './views/apply';
import type { JsonUi } from './views/apply-json';
import { planText } from './views/plan';
import { apply } from '../engine/apply';
import { hasChanges, plan, type Plan } from '../engine/plan';
import { renderDiagnostics } from '../engine/render';
import { escapeControls } from '../lib/escape';
import type { ObjectValue } from '../engine/protocol';

/**
 * The one operation behind `eksidp apply` and `eksidp destroy`: plan (a destroy plan in destroy
 * mode), show it, ask, apply, report. `apply PLANFILE` skips to applyPlan with the saved plan. What
 * differs between the modes is data (MODES), not a second copy of the flow.
 */

export type OperationMode = 'apply' | 'destroy';

type ModeText = {
  verb: 'Apply' | 'Destroy';
  question: string;
  description: string[];
  /** Why nothing happens without a terminal to ask on (undefined: confirm's own message). */
  noTerminal?: string;
  /**
   * With nothing to change: apply keeps what the refresh found (objects gone, attributes read back)
   * and says so, as Terraform does; destroy just stops after the plan's "No changes".
   */
  whenNoChanges: 'persist-refresh' | 'stop';
};

const MODES: Record<OperationMode, ModeText> = {
  apply: {
    verb: 'Apply',
    question: 'Do you want to perform these actions?',
    description: ['eksidp will perform the actions described above.', "Only 'yes' will be accepted to approve."],
    whenNoChanges: 'persist-refresh',
  },
  destroy: {
    verb: 'Destroy',
    question: 'Do you really want to destroy all resources?',
    description: ['eksidp will destroy all your managed infrastructure, as shown above.', "There is no undo. Only 'yes' will be accepted to confirm."],
    noTerminal: 'refusing to destroy without confirmation: stdin is not a terminal; review the plan and pass --auto-approve',
    whenNoChanges: 'stop',
  },
};

/** Plans, shows, asks (unless --auto-approve) and applies; returns the exit code. */
export async function planAndApply(io: Io, parsed: Parsed, mode: OperationMode, json?: JsonUi): Promise<number> {
  const { values } = parsed;
  const m = MODES[mode];
  const parallelism = parallelismOf(mode, values);
  const loc = locate(values, io);
  const session = await openSession(loadConfig(loc, variableInputs(parsed, io, loc)), io, mode, lockOptionsOf(values));
  try {
    const progress = refreshProgress(io);
    const p = await plan(session.ws, session.state.state, { lineage: session.state.state.lineage, serial: session.state.state.serial }, {
      destroy: mode === 'destroy', targets: targetsOf(values), parallelism, signal: io.signal, onRefresh: progress.onRefresh,
      ...(json ? { onRefreshResource: (phase: 'start' | 'complete', address: string, o: ObjectValue | null) => json.refresh(phase, address, o) } : {}),
    }).finally(progress.stop);
    // With the identity impact, as `eksidp plan` shows it, before the question.
    if (json) json.plan(p);
    else io.stdout.write(planText(p, colorsFor(io, values)));
    if (!hasChanges(p)) {
      if (m.whenNoChanges === 'stop') return EXIT.OK;
      session.state.replaceResources(structuredClone(p.priorState.resources));
      await session.state.persist();
      if (json) {
        json.changeSummary('apply', { added: 0, changed: 0, destroyed: 0 });
        json.outputs(session.state.state.outputs);
      } else io.stdout.write(`\n${m.verb} complete! Resources: 0 added, 0 changed, 0 destroyed.\n`);
      return EXIT.OK;
    }
    // --json never asks: the command requires --auto-approve or a saved plan first.
    if (!json && values['auto-approve'] !== true && !(await confirm(io, m.question, { description: m.description, ...(m.noTerminal ? { noTerminal: m.noTerminal } : {}) }))) {
      io.stderr.write(`${m.verb} cancelled.\n`);
      return EXIT.ERROR;
    }
    return await applyPlan(session, p, io, values, mode, json);
  } finally {
    await session.close();
  }
}

/** Applies a plan through the apply view and prints the summary; returns the exit code. */
export async function applyPlan(session: Session, p: Plan, io: Io, values: Parsed['values'], mode: OperationMode, json?: JsonUi): Promise<number> {
  const verb = MODES[mode].verb;
  const c = colorsFor(io, values, 'stderr');
  const view = json ? json.applyView() : applyView(io, c);
  const result = await apply(session.ws, p, session.state, { parallelism: parallelismOf(mode, values), signal: io.signal, onEvent: view.onEvent }).finally(view.close);
  if (json) {
    // As Terraform: the diagnostics; on success the counts and (not when destroying) the outputs; then eksidp's per-cluster summary.
    json.diagnostics(result.diagnostics);
    const failed = result.diagnostics.some((d) => d.severity === 'error');
    if (!failed) {
      json.changeSummary(mode, result);
      if (mode === 'apply') json.outputs(session.state.state.outputs);
    }
    json.clusterSummary();
    return failed ? EXIT.ERROR : EXIT.OK;
  }
  const out = colorsFor(io, values);
  if (result.diagnostics.some((d) => d.severity === 'error')) {
    io.stderr.write('\n' + renderDiagnostics(result.diagnostics, c));
    if (result.skipped.length) io.stderr.write(`Skipped because a dependency failed: ${escapeControls(result.skipped.join(', '))}\n`);
    io.stderr.write(`${verb} failed. Resources: ${result.added} added, ${result.changed} changed, ${result.destroyed} destroyed. State saved to ${session.state.file}.\n`);
    return EXIT.ERROR;
  }
  io.stdout.write(`\n${out.green(out.bold(`${verb} complete!`))} Resources: ${mode === 'destroy' ? `${result.destroyed} destroyed` : `${result.added} added, ${result.changed} changed, ${result.destroyed} destroyed`}.\n`);
  return EXIT.OK;
}
