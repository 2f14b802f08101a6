import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { renderHuman } from '../drift/render';
import { escapeControls } from '../lib/escape';
import { HOSTILE, hostileProject, hostileReport, OWN_SGR, RAW_CONTROL, type CliRun } from './fixtures/security/hostile';

/**
 * Issue 19, item 2: control characters in live or stack values (ESC sequences that retitle or
 * clear a terminal, C1 CSI, DEL, NUL, carriage return, bidi overrides, newlines that fake a line)
 * reach no terminal raw: not drift's human format, the plan and its identity preview, diagnostics,
 * `show`, `state list/show`, nor `whoami`'s username and groups; with colour or --no-color (the
 * colour codes eksidp adds itself stay).
 */

function rawControls(text: string): string[] {
  const found = text.replace(OWN_SGR, '').match(new RegExp(RAW_CONTROL.source, 'g')) ?? [];
  return [...new Set(found)].map((c) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

test(`drift's human format prints each of ${HOSTILE.length} hostile strings escaped, on the lines it belongs to, with and without colour`, (t) => {
  const benign = renderHuman(hostileReport('benign'), { color: false }).split('\n').length;
  for (const { name, value } of HOSTILE) {
    for (const color of [false, true]) {
      const text = renderHuman(hostileReport(value), { color, verbose: true });
      t.deepEqual(rawControls(text), [], `${name}, colour ${color}`);
      t.true(text.includes(escapeControls(value)), `${name}: the value is shown, escaped`);
      // A newline or carriage return in a value adds no line.
      t.is(text.split('\n').length, benign, name);
      if (color) t.true(text.includes('\u001b[33m') && text.includes('\u001b[0m'), 'the renderer\'s own colour stays');
      else t.false(text.includes('\u001b'), 'no colour with color: false');
    }
  }
});

test(`end to end: ${HOSTILE.length} hostile strings through drift, plan (values, identity preview), diagnostics, show, state and whoami, on a terminal with colour, with --no-color, and off a terminal`, async (t) => {
  const { dir, cli } = await hostileProject(t, HOSTILE);
  const runs: [string, CliRun, boolean][] = [];
  const both = async (label: string, argv: string[]) => {
    runs.push([`${label} (terminal)`, await cli(argv, { tty: true }), true]);
    runs.push([`${label} (--no-color)`, await cli([...argv, '--no-color'], { tty: true }), false]);
    runs.push([`${label} (not a terminal)`, await cli(argv), false]);
  };
  await both('drift', ['drift', '--dir', '.', '--verbose']);
  await both('plan', ['plan', '--dir', '.', '--refresh=false']);
  // Refresh: every eNN read fails with a hostile message, reported as diagnostics on stderr.
  await both('plan with refresh', ['plan', '--dir', '.']);
  t.is((await cli(['plan', '--dir', '.', '--refresh=false', '--out', 'tfplan'])).code, 0);
  await both('show', ['show', 'tfplan']);
  await both('state list', ['state', 'list', '--dir', '.']);
  for (let i = 0; i < HOSTILE.length; i++) await both(`state show c${i}`, ['state', 'show', `aws_eks_identity_provider_config.c${String(i).padStart(2, '0')}_okta`, '--dir', '.']);
  // whoami: usernames and groups built from hostile claims, identities with hostile names.
  fs.writeFileSync(path.join(dir, 'identities.json'), JSON.stringify(HOSTILE.map(({ value }) => ({ name: value, claims: { email: value, groups: [value, `x${value}`] } }))));
  await both('whoami --identities', ['whoami', '--dir', '.', '--config', 'aws_eks_identity_provider_config.c00_okta', '--identities', 'identities.json']);
  for (const [i, { value }] of HOSTILE.entries()) {
    fs.writeFileSync(path.join(dir, `claims${i}.json`), JSON.stringify({ email: value, groups: [value] }));
    await both(`whoami --claims ${i}`, ['whoami', '--dir', '.', '--config', 'aws_eks_identity_provider_config.c00_okta', '--claims', `claims${i}.json`]);
  }

  for (const [label, r, colour] of runs) {
    const text = r.out + r.err;
    t.deepEqual(rawControls(text), [], label);
    if (colour && !label.startsWith('state') && !label.startsWith('whoami --claims')) t.true(/\u001b\[\d+m/.test(text), `${label}: colour on a terminal`);
    if (!colour) t.false(text.includes('\u001b'), `${label}: no colour`);
  }
  // The hostile values did reach each renderer.
  const all = (label: string) => runs.filter(([l]) => l.startsWith(label)).map(([, r]) => r.out + r.err).join('\n');
  for (const { name, value } of HOSTILE) {
    const shown = escapeControls(value);
    t.true(all('drift').includes(shown), `drift shows ${name}`);
    t.true(all("plan (").includes(`g${shown}:`), `the plan's identity preview shows ${name}`);
    t.true(all("plan (").includes(escapeControls(JSON.stringify(value)).slice(1, -1)), `the plan shows ${name}`);
    t.true(all('plan with refresh').includes(shown), `diagnostics show ${name}`);
    t.true(all('whoami --identities').includes(`${shown}:`), `whoami shows identity ${name}`);
  }
  t.true(all('whoami --claims').includes(`username: oidc:${escapeControls(HOSTILE[0]!.value)}`));
});
