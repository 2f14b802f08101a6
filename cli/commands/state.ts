import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, guarded, loadConfig, locate, STACK_FLAGS, variableInputs } from '../support';
import type { ObjectValue, Value } from '../../engine/protocol';
import { readState, resourceAddress } from '../../engine/state';
import { EngineError, isObject } from '../../engine/util';
import { escapeControls as e } from '../../lib/escape';

// State holds what the API returned: strings and keys are escaped as they enter a line.

function hclValue(v: Value, indent: string): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return e(JSON.stringify(v));
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[\n${v.map((x) => `${indent}    ${hclValue(x, indent + '    ')},`).join('\n')}\n${indent}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return keys.length === 0 ? '{}' : `{\n${keys.map((k) => `${indent}    ${e(JSON.stringify(k))} = ${hclValue(v[k]!, indent + '    ')}`).join('\n')}\n${indent}}`;
  }
  return String(v);
}

function renderResource(kind: string, type: string, name: string, attrs: ObjectValue, indent: string): string[] {
  const out = [`${indent}${kind}${kind ? ' ' : ''}${e(type)}${name ? ` "${e(name)}"` : ''} {`];
  const keys = Object.keys(attrs).sort();
  const blockKeys = keys.filter((k) => Array.isArray(attrs[k]) && (attrs[k] as Value[]).length > 0 && (attrs[k] as Value[]).every(isObject));
  const attrKeys = keys.filter((k) => !blockKeys.includes(k) && attrs[k] !== null);
  const w = Math.max(0, ...attrKeys.map((k) => e(k).length));
  for (const k of attrKeys) out.push(`${indent}    ${e(k).padEnd(w)} = ${hclValue(attrs[k]!, indent + '    ')}`);
  for (const k of blockKeys) for (const b of attrs[k] as ObjectValue[]) out.push('', ...renderResource('', k, '', b, indent + '    '));
  out.push(`${indent}}`);
  return out;
}

/** `eksidp state list` and `eksidp state show ADDR`: read-only views of the state. */
export const command: Command = {
  spec: {
    name: 'state',
    summary: 'Inspect state: state list | state show ADDR',
    args: '(list | show ADDR)',
    maxPositionals: 2,
    flags: { ...STACK_FLAGS, ...COLOR_FLAG },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const [sub, address] = positionals;
    if (sub !== 'list' && sub !== 'show') throw new UsageError("eksidp state: expected 'list' or 'show ADDR'");
    if (sub === 'show' && !address) throw new UsageError('eksidp state show: an address is required');
    if (sub === 'list' && address) throw new UsageError(`eksidp state list: unexpected argument '${address}'`);
    return guarded(io, values, async () => {
      const loc = locate(values, io, { allowFailedSynth: true });
      // Only the state path is needed: variables without a value are no error here.
      const config = loadConfig(loc, variableInputs(parsed, io, loc, { tolerateMissing: true }));
      const state = readState(config.statePath);
      const resources = state?.resources ?? [];
      if (sub === 'list') {
        for (const r of resources) io.stdout.write(`${e(resourceAddress(r))}\n`);
        return EXIT.OK;
      }
      const r = resources.find((x) => resourceAddress(x) === address);
      if (!r || !r.instances[0]) throw new EngineError(`${address}: no such resource in state ${config.statePath}`);
      io.stdout.write([`# ${e(address)}:`, ...renderResource(r.mode === 'data' ? 'data' : 'resource', `"${r.type}"`, r.name, r.instances[0].attributes, '')].join('\n') + '\n');
      return EXIT.OK;
    });
  },
};
