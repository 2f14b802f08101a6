import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { renderMarkdown, unifiedDiff } from '../drift/render';
import { renderPullRequestComment } from '../cli/commands/pr-comment';
import { escapeControls, mdCode } from '../lib/escape';
import { HOSTILE, hostileProject, hostileReport, markdownProblems, parseMarkdown, RAW_CONTROL, tableRows, tokensOf } from './fixtures/security/hostile';

/**
 * Issue 19, item 1: live values (tags, oidc fields, config names, error messages), stack values
 * (cluster and config names, sample identities) and the plan's text cannot inject Markdown into the
 * pull-request comment. Every hostile string goes through every Markdown path; the output is parsed
 * with markdown-it (CommonMark + GFM tables + linkify) and its token tree checked: no live link,
 * image, mention, heading, HTML or stray fence, and each value reads back exactly, escaped.
 */

const fenceOf = (body: string, info: string) => ({ info, content: `${body.split('\n').map(escapeControls).join('\n')}\n` });

test(`drift's Markdown leaves each of ${HOSTILE.length} hostile strings inert in every field, and each value reads back exactly`, (t) => {
  for (const { name, value } of HOSTILE) {
    const report = hostileReport(value);
    const text = renderMarkdown(report);
    const withDocs = report.resources.filter((r) => (r.live || r.planned) && unifiedDiff(r) !== '');
    t.deepEqual(markdownProblems(text, { headings: 1, fences: withDocs.map((r) => fenceOf(unifiedDiff(r), 'diff')), detailsBlocks: report.resources.length }), [], name);
    // The table: a header and one row per difference, 4 cells each, values exactly as planted
    // (controls made visible), not split by a `|` or a newline.
    const [changed] = report.resources;
    const cell = (s: string | null) => (s === null ? 'unset' : `code:${escapeControls(s)}`);
    t.deepEqual(tableRows(text).slice(-4), [
      ['path', 'live', 'declared', 'replacement'],
      ...changed!.differences.map((d) => [cell(d.path), cell(d.actual), cell(d.expected), d.ignored ? `ignored: ${cell(d.ignored)}` : d.requires_replacement ? 'yes' : 'no']),
    ], name);
    // The identities list: two items, each value one code span.
    t.is(tokensOf(parseMarkdown(text), 'list_item_open').length, 2, name);
    const codes = tokensOf(parseMarkdown(text), 'code_inline').map((c) => c.content);
    t.true(codes.filter((c) => c === escapeControls(value)).length >= 8, `${name}: values read back from code spans`);
  }
});

test('mdCode: a code span delimited longer than any backtick run, padded only where CommonMark strips it, | escaped in tables', (t) => {
  t.is(mdCode('plain'), '`plain`');
  t.is(mdCode('a`b'), '``a`b``');
  t.is(mdCode('``x``'), '``` ``x`` ```');
  t.is(mdCode('a|b', { table: true }), '`a\\|b`');
  t.is(mdCode('x\n# y'), '`x\\n# y`');
  t.is(mdCode('\u001b[2J'), '`\\x1b[2J`');
  for (const { name, value } of HOSTILE) {
    const inline = tokensOf(parseMarkdown(`before ${mdCode(value)} after`), 'inline')[0]!.children!;
    t.deepEqual(inline.map((c) => c.type), ['text', 'code_inline', 'text'], name);
    t.is(inline[1]!.content, escapeControls(value), name);
  }
});

test('the pull-request comment fences the plan text longer than any backtick run in it, escapes its controls and fits GitHub\'s size limit', (t) => {
  for (const { name, value } of HOSTILE) {
    const planText = `  # aws_eks_identity_provider_config.okta must be replaced\n      ~ client_id = "${value}"\n${value}\n`;
    const drift = renderMarkdown(hostileReport(value));
    const comment = renderPullRequestComment({ planText, planExit: 2, driftMarkdown: drift, driftExit: 2 });
    const withDocs = hostileReport(value).resources.filter((r) => (r.live || r.planned) && unifiedDiff(r) !== '');
    t.deepEqual(markdownProblems(comment, {
      headings: 2, detailsBlocks: 4,
      fences: [fenceOf(planText.replace(/\n$/, ''), 'text'), ...withDocs.map((r) => fenceOf(unifiedDiff(r), 'diff'))],
    }), [], name);
  }
  // 200,000 characters of plan: cut at a line, said so, under 65,536 characters, fence balanced.
  const line = '      ~ tags = { "k" = "````" } # '.padEnd(100, 'x');
  const huge = Array.from({ length: 2000 }, () => line).join('\n');
  const comment = renderPullRequestComment({ planText: huge, planExit: 2, driftMarkdown: null, driftExit: 1 });
  t.true(comment.length <= 65_536, String(comment.length));
  t.regex(comment, /_\d+ more lines of the plan are not shown \(comment size limit\); the full plan is in the job's log\._/);
  const fences = tokensOf(parseMarkdown(comment), 'fence');
  t.is(fences.length, 1);
  t.true(huge.startsWith(fences[0]!.content.trimEnd()));
  t.regex(comment, /No drift report was produced/);
});

// ---------------------------------------------------------------------------------------------

test(`end to end: ${HOSTILE.length} hostile strings from a hostile endpoint (tags, every oidc field, config names, errors) and the stack (sample identities) through drift --format markdown, plan and pr-comment`, async (t) => {
  // In groups of 4, so each comment stays under the size limit and shows everything.
  for (let g = 0; g < HOSTILE.length; g += 4) await endToEnd(t, HOSTILE.slice(g, g + 4));
});

async function endToEnd(t: ExecutionContext, hostile: typeof HOSTILE): Promise<void> {
  const { dir, cli } = await hostileProject(t, hostile);
  const json = await cli(['drift', '--dir', '.', '--format', 'json', '--out', 'drift.json']);
  t.is(json.code, 1, json.err);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'drift.json'), 'utf8')) as { resources: { status: string; differences: unknown[] }[] };
  const shown = report.resources.filter((r) => r.status !== 'in_sync');
  t.is(shown.filter((r) => r.status === 'unknown').length, hostile.length * 2, 'each error cluster: the cluster and its config unknown');
  t.is(shown.filter((r) => r.status === 'unmanaged').length, hostile.length);
  const drift = await cli(['drift', '--dir', '.', '--format', 'markdown', '--out', 'drift.md']);
  t.is(drift.code, 1);
  const plan = await cli(['plan', '--dir', '.', '--refresh=false', '--no-color', '--detailed-exitcode']);
  t.is(plan.code, 2, plan.err);
  fs.writeFileSync(path.join(dir, 'plan.txt'), plan.out + plan.err);
  // The workflow's own command line renders the comment.
  const workflow = fs.readFileSync(path.join(__dirname, '..', '.github', 'workflows', 'drift-pr.yml'), 'utf8');
  const line = /node_modules\/\.bin\/eksidp (pr-comment .*)$/m.exec(workflow)![1]!;
  const argv = line.replace('"$PLAN_EXIT"', '2').replace('"$DRIFT_EXIT"', '1').split(/\s+/);
  const rendered = await cli(argv);
  t.is(rendered.code, 0, rendered.err);
  const comment = fs.readFileSync(path.join(dir, 'comment.md'), 'utf8');

  // Every hostile value reached the comment (so the check below is about them).
  const codes = new Set(tokensOf(parseMarkdown(comment), 'code_inline').map((c) => c.content));
  for (const { name, value } of hostile) t.true(codes.has(escapeControls(value)), `${name} is in the comment`);
  const withDiff = shown.filter((r) => r.status !== 'unknown' && r.status !== 'ignored').length;
  const problems = markdownProblems(comment, { headings: 2, detailsBlocks: shown.length, fences: [fenceOf((plan.out + plan.err).replace(/\n$/, ''), 'text')] });
  // Diff fences are checked for count and content below; the plan fence exactly.
  t.deepEqual(problems.filter((p) => !/^\d+ fences, expected 1$/.test(p) && !/^fence [1-9]/.test(p)), []);
  const fences = tokensOf(parseMarkdown(comment), 'fence');
  t.is(fences.length, 1 + withDiff);
  for (const f of fences.slice(1)) {
    t.is(f.info, 'diff');
    t.regex(f.content, /^--- live\n\+\+\+ planned\n@@ /);
    t.false(RAW_CONTROL.test(f.content));
  }
  t.false(RAW_CONTROL.test(comment), 'no raw control character anywhere in the comment');
}
