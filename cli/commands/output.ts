import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, colorsFor, guarded, loadConfig, locate, openStorage, STACK_FLAGS, VAR_FLAGS, variableInputs } from '../support';
import { stateOutputs } from '../../engine/outputs';
import { renderDiagnostics } from '../../engine/render';
import { formatValue, friendlyName, plainNumber } from '../../engine/types';
import { EngineError } from '../../engine/util';
import { escapeControls } from '../../lib/escape';
import { goJsonSorted } from '../../lib/go-json';

/**
 * `eksidp output [NAME] [--json | --raw]`: the root outputs in state, printed as `terraform output`
 * prints them (internal/command/views/output.go). Only the state is read: no provider, no API call.
 */


const NO_OUTPUTS = 'No outputs found: the state has no outputs, or every output is null. Define an output in the configuration and run eksidp apply to record it.';

export const command: Command = {
  spec: {
    name: 'output',
    summary: 'Show the output values in state, as terraform output does',
    args: '[NAME]',
    maxPositionals: 1,
    flags: {
      ...STACK_FLAGS,
      ...VAR_FLAGS,
      json: { type: 'boolean', description: 'JSON: every output with its type and sensitivity, or NAME\'s value alone (sensitive values included).' },
      raw: { type: 'boolean', description: 'NAME\'s value as plain text, without quotes or a newline (strings, numbers and bools only).' },
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const name = positionals[0];
    if (values.json === true && values.raw === true) throw new UsageError('eksidp output: --json and --raw cannot be used together');
    if (values.raw === true && name === undefined) throw new UsageError('eksidp output: --raw is only supported for a single output: give its NAME');
    return guarded(io, values, async () => {
      const loc = locate(values, io, { allowFailedSynth: true });
      // As terraform output, only the state is read: unset variables are no error here.
      const config = loadConfig(loc, variableInputs(parsed, io, loc, { tolerateMissing: true }));
      // Through the backend, in the current workspace (local file or S3), as terraform output reads it.
      const { backend, storage } = openStorage(config, io);
      let state;
      try {
        state = await storage.refresh();
      } finally {
        await backend.close();
      }
      const outputs = stateOutputs(state?.outputs);
      const names = Object.keys(outputs).sort();
      const warn = (text: string) => io.stderr.write(renderDiagnostics([{ severity: 'warning', summary: text }], colorsFor(io, values, 'stderr')));
      if (name !== undefined && !(name in outputs)) {
        // An empty state is the more likely cause, as Terraform reports it (except in JSON mode).
        if (names.length === 0 && values.json !== true) { warn(NO_OUTPUTS); return EXIT.OK; }
        throw new EngineError(`Output "${name}" not found: it is not in the state ${storage.location}. An output added to the configuration is recorded by the next eksidp apply.`);
      }
      if (values.json === true) {
        if (name !== undefined) { io.stdout.write(goJsonSorted(outputs[name]!.value) + '\n'); return EXIT.OK; }
        const meta = Object.fromEntries(names.map((n) => [n, { sensitive: outputs[n]!.sensitive === true, type: outputs[n]!.type, value: outputs[n]!.value }]));
        io.stdout.write(goJsonSorted(meta, 2) + '\n');
        return EXIT.OK;
      }
      if (names.length === 0) { warn(NO_OUTPUTS); return EXIT.OK; }
      if (values.raw === true) {
        const o = outputs[name!]!;
        const v = o.value;
        if (v === null) throw new EngineError(`Unsupported value for raw output: the value for output value "${name}" is null, so --raw cannot print it`);
        if (typeof v === 'object') throw new EngineError(`Unsupported value for raw output: --raw only supports strings, numbers and bools, but output value "${name}" is ${friendlyName(o.type)}; use --json for complex types`);
        // Exactly the value, no newline: this is for scripts, so nothing is escaped either.
        io.stdout.write(typeof v === 'number' ? plainNumber(v) : String(v));
        return EXIT.OK;
      }
      // Values come from state (API data): control characters are escaped line by line, except the
      // tab, which Terraform prints as is in a heredoc and which cannot move to another line.
      const safe = (s: string) => s.split('\n').map((line) => line.split('\t').map(escapeControls).join('\t')).join('\n');
      if (name !== undefined) { io.stdout.write(safe(formatValue(outputs[name]!.value, outputs[name]!.type)) + '\n'); return EXIT.OK; }
      const lines = names.map((n) => `${n} = ${outputs[n]!.sensitive ? '<sensitive>' : formatValue(outputs[n]!.value, outputs[n]!.type)}`);
      io.stdout.write(safe(lines.join('\n')) + '\n');
      return EXIT.OK;
    });
  },
};
