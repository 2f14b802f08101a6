/**
 * Escaping of untrusted text (live API values, error messages, stack contents, claims) where it
 * enters a rendered line. Terminal and Markdown renderers import only this module: no dependencies.
 *
 * Why: anyone who can tag an EKS resource, associate a config or answer for an endpoint controls
 * strings eksidp prints. Raw, an ESC or C1 byte retitles or clears a terminal, and a backtick,
 * newline or `<` in a pull-request comment opens links, images, mentions, headings or HTML.
 */

// C0 (tab and newline included: in untrusted text they are data, not layout), DEL, C1, the Unicode
// line and paragraph separators, and the bidirectional controls that reorder what a reader sees
// (U+061C, U+200E/F, U+202A-E, U+2066-9) plus U+FEFF.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Control characters as visible escapes (`\n`, `\x1b`, `\x9b`, `\u202e`): an ESC or CSI byte loses
 * its power, so every escape sequence is neutralised, and a value cannot start a line of its own.
 * The one function every human renderer applies to untrusted text (colour the result afterwards).
 */
export function escapeControls(s: string): string {
  return HAS_CONTROL.test(s) ? s.replace(CONTROL, visible) : s;
}

function longestRun(s: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of s) {
    run = c === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/**
 * Untrusted text as a Markdown code span, the one way such text enters Markdown. In a code span
 * nothing is live (no link, image, autolink, emphasis, HTML, heading, and GitHub neither mentions
 * nor references issues there); the delimiter is a backtick run longer than any inside, so the
 * value cannot close it; control characters and newlines are escaped first, so it stays on its line
 * (a table row, a list item). In a GFM table cell, `|` is escaped too (cells are split before
 * inline parsing, even inside code spans; GFM turns `\|` back into `|`).
 */
export function mdCode(s: string, opts: { table?: boolean } = {}): string {
  if (s === '') return '_(empty)_';
  let text = escapeControls(s);
  if (opts.table) text = text.replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestRun(text, '`') + 1);
  // A leading or trailing backtick would merge with the fence; CommonMark strips one space on each
  // side when both ends have one, so a pad on both sides is removed and the value kept exactly.
  const pad = /^[` ]|[` ]$/.test(text) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Untrusted text inside raw HTML that Markdown passes through (`<summary>`): HTML-escaped, controls
 * escaped (a blank line would end the HTML block and make what follows Markdown), in `<code>` so
 * GitHub does not turn `@name` into a mention.
 */
export function htmlCode(s: string): string {
  return `<code>${escapeControls(s).replace(/[&<>"']/g, (c) => HTML[c]!)}</code>`;
}

/**
 * A fenced code block whose fence (backticks) is longer than any backtick run in the body, so no
 * line of the body can close it; controls in each line are escaped, the body's own newlines kept.
 */
export function mdFence(body: string, info = ''): string {
  const lines = body.split('\n').map(escapeControls);
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
  return [`${fence}${info}`, ...lines, fence].join('\n');
}
