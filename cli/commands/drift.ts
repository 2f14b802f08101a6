import fs from 'node:fs';
import path from 'node:path';
import type { Command, Io } from '../command';
import { numberFlag, STACK_FLAGS, stringFlag, UsageError, type Parsed } from '../args';
import { readTerraformJson, resolveStack } from '../../engine/stack-files';
import { VAR_FLAGS, variableInputs } from '../support';
import { writeFileAtomicSync } from '../../lib/files';
import { parseDuration } from '../../lib/duration';
import { COLOR_FLAG, openStorage } from '../support';
import { checkUntrustedConfig } from '../untrusted';
import { colorEnabled } from '../../lib/color';
import { exitCode, loadIgnoreFile, parseShard, renderHuman, renderMarkdown, reportJson, runDrift, summaryLine, type Shard } from '../../drift';

/**
 * `eksidp drift`: live identity provider configs (and the clusters they sit on) versus the stack, as
 * the next plan would judge them. Exit codes as `terraform plan -detailed-exitcode`: 0 in sync, 2
 * drift, 1 error or anything unread.
 */

const FORMATS = ['human', 'json', 'markdown'] as const;
type Format = (typeof FORMATS)[number];

const spec = {
  name: 'drift',
  summary: 'Compare live EKS identity provider configs and clusters with the stack. Exit 0 in sync, 2 drift, 1 error or unknown.',
  flags: {
    ...STACK_FLAGS,
    ...VAR_FLAGS,
    format: { type: 'string', valueName: 'human|json|markdown', description: 'human, json (schema: drift/SCHEMA.md) or markdown (a pull-request comment).', default: 'human' },
    out: { type: 'string', valueName: 'FILE', description: 'Write the report to FILE; the terminal gets a one-line summary.' },
    'ignore-file': { type: 'string', valueName: 'FILE', description: 'Ignore rules (default drift-ignore.json in the current folder, when present).' },
    concurrency: { type: 'string', valueName: 'N', description: 'API calls in flight at most.', default: '16' },
    timeout: { type: 'string', valueName: 'DURATION', description: 'Budget for the whole check; what is unread then is unknown (exit 1).', default: '10m' },
    shard: { type: 'string', valueName: 'i/n', description: 'Check only shard i of n (split by a stable hash of the cluster name).' },
    state: { type: 'string', valueName: 'FILE', description: 'State the judgement starts from, as a plan\'s refresh does (default: the stack\'s local backend path; optional: without one, it is built from live).' },
    verbose: { type: 'boolean', description: 'Human format: list in-sync resources too.' },
    ...COLOR_FLAG,
  },
} satisfies Command['spec'];

function formatFlag(values: Parsed['values']): Format {
  const f = stringFlag(values, 'format') ?? 'human';
  if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`eksidp drift: --format must be one of ${FORMATS.join(', ')}, got '${f}'`);
  return f as Format;
}

function colorOn(io: Io, values: Parsed['values'], toFile: boolean): boolean {
  // A report written to a file never carries escape codes.
  return !toFile && colorEnabled(io.stdout, io.env, values.color);
}

export const command: Command = {
  spec,
  async run(args, io) {
    const { values } = args;
    const format = formatFlag(values);
    const concurrency = numberFlag(spec, values, 'concurrency', { min: 1, max: 1024, integer: true })!;
    const timeoutText = stringFlag(values, 'timeout') ?? '10m';
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`eksidp drift: --timeout must be a duration like 90s, 10m or 1h, got '${timeoutText}'`);
    let shard: Shard | undefined;
    const shardText = stringFlag(values, 'shard');
    if (shardText !== undefined) {
      const s = parseShard(shardText);
      if (typeof s === 'string') throw new UsageError(`eksidp drift: ${s}`);
      shard = s;
    }
    const ignoreFlag = stringFlag(values, 'ignore-file');
    const ignore = loadIgnoreFile(path.resolve(io.cwd, ignoreFlag ?? 'drift-ignore.json'), ignoreFlag !== undefined);
    const loc = resolveStack({ stack: stringFlag(values, 'stack'), dir: stringFlag(values, 'dir'), cwd: io.cwd });
    const rawJson = readTerraformJson(loc);
    const stateFlag = stringFlag(values, 'state');

    const report = await runDrift({
      rawJson, loc, variables: variableInputs(args, io, loc), env: io.env, concurrency, timeoutMs, shard, ignore, signal: io.signal,
      checkConfig: (config) => checkUntrustedConfig(config, io.env),
      statePath: stateFlag === undefined ? undefined : path.resolve(io.cwd, stateFlag),
      // Without --state: the stack's backend (local file, or S3 in TF_WORKSPACE), read without a lock.
      stateFrom: async (config) => {
        const { backend, storage } = openStorage(config, io);
        try {
          return await storage.refresh();
        } finally {
          await backend.close();
        }
      },
      progress: io.stderr.isTTY ? (m) => io.stderr.write(`${m}\n`) : undefined,
      heartbeat: (m) => io.stderr.write(`${m}\n`),
    });

    const out = stringFlag(values, 'out');
    const text = format === 'json' ? reportJson(report) : format === 'markdown' ? renderMarkdown(report) : renderHuman(report, { color: colorOn(io, values, out !== undefined), verbose: values.verbose === true });
    if (out !== undefined) {
      const file = path.resolve(io.cwd, out);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Through lib/files.ts: a symlink planted at the report's path is replaced, not written through.
      // 0644: a report holds live values but no state or secret, and CI uploads it.
      writeFileAtomicSync(file, text, { mode: 0o644 });
      // stdout carries the report format alone: with --out the one-line summary is a log line (stderr).
      io.stderr.write(`${summaryLine(report)} Report (${format}): ${out}\n`);
    } else {
      io.stdout.write(text);
    }
    return exitCode(report);
  },
};
