import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import fs from 'node:fs';
import path from 'node:path';
import { COLOR_FLAG, guarded, loadConfig, locate, LOCK_FLAGS, lockOptionsOf, openStorage, STACK_FLAGS, variableInputs } from '../support';
import type { ObjectValue, Value } from '../../engine/protocol';
import { parseState, resourceAddress, stateInstances, StateManager, stateText, type StateInstance, type StateV4 } from '../../engine/state';
import { instanceAddress, parseInstanceAddress, type InstanceKey } from '../../engine/instances';
import { lockWithTimeout, type StateStorage } from '../../engine/statemgr';
import { EngineError, isObject } from '../../engine/util';
import { escapeControls as e } from '../../lib/escape';
import { fromStatePaths, redact } from '../../engine/sensitive';

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

const SENTINEL = 'eksidp-sensitive-value-0f6c2a';

/** A state instance as `terraform show` prints it: values at its sensitive paths are `(sensitive value)`. */
export function renderInstance(kind: string, type: string, name: string, i: StateInstance): string[] {
  const attrs = redact(i.attributes, fromStatePaths(i.sensitive_attributes), SENTINEL) as ObjectValue;
  return renderResource(kind, `"${type}"`, name, attrs, '').map((l) => l.split(`"${SENTINEL}"`).join('(sensitive value)'));
}

export function renderResource(kind: string, type: string, name: string, attrs: ObjectValue, indent: string): string[] {
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

/**
 * `state push FILE` as Terraform's: the file replaces the stored state, refused (unless --force) when
 * its lineage differs from the stored one or when it is older (a lower serial, or the same serial
 * with other content). The stored state's history is kept by the storage (a `.backup` beside a local
 * file; for S3, bucket versioning).
 */
async function push(storage: StateStorage, file: string, force: boolean): Promise<{ from: StateV4 | null; to: StateV4 }> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new EngineError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const pushed = parseState(text, `state file ${file}`);
  if (!pushed) throw new EngineError(`${file} is empty: there is no state to push`);
  const current = await storage.refresh();
  const next = structuredClone(pushed);
  // As Terraform (statemgr.CheckValidImport): an empty stored state (no resources, no outputs), such as a
  // new workspace's, may be replaced whatever its lineage; the serial still moves past it.
  const empty = current !== null && current.resources.every((r) => r.instances.length === 0) && Object.keys(current.outputs ?? {}).length === 0;
  if (current && empty && next.serial <= current.serial) next.serial = current.serial + 1;
  if (current && !empty) {
    const same = stateText({ ...current, serial: 0 }) === stateText({ ...pushed, serial: 0, terraform_version: current.terraform_version });
    if (!force) {
      if (current.lineage !== pushed.lineage) throw new EngineError(`cannot push ${file}: its lineage ${pushed.lineage} differs from the stored state's (${current.lineage}) at ${storage.location}; it is another state. Pass --force to replace it anyway.`);
      if (pushed.serial < current.serial) throw new EngineError(`cannot push ${file}: its serial ${pushed.serial} is lower than the stored state's (${current.serial}) at ${storage.location}: it is older. Pass --force to replace it anyway.`);
      if (pushed.serial === current.serial && !same) throw new EngineError(`cannot push ${file}: it has the stored state's serial (${current.serial}) but other content. Pass --force to replace it anyway.`);
    }
    // A forced push still moves the serial forward, so every reader sees a newer state.
    if (force && next.serial <= current.serial && !same) next.serial = current.serial + 1;
  }
  await storage.persist(next);
  return { from: current, to: next };
}

/**
 * `state rm ADDR...` and `state mv SRC DST` as Terraform's: a resource address takes all its instances,
 * an instance address (`aws_x.y[0]`, `aws_x.y["k"]`) one. The objects stay where they are in the cloud;
 * only the state changes (serial bumped, the previous state kept as the backup). Returns the lines to print.
 */
function editState(manager: StateManager, sub: 'rm' | 'mv', args: string[]): string[] {
  const matches = (addr: string) => {
    const parsed = parseInstanceAddress(addr);
    if (!parsed) throw new EngineError(`Invalid address "${addr}": expected TYPE.NAME, data.TYPE.NAME, TYPE.NAME[N] or TYPE.NAME["KEY"]`);
    const found = stateInstances(manager.state).filter((x) => (parsed.resource === addr ? resourceAddress(x.resource) === addr : x.address === addr));
    return { parsed, found };
  };
  const lines: string[] = [];
  if (sub === 'rm') {
    let n = 0;
    for (const addr of args) {
      const { found } = matches(addr);
      if (found.length === 0) throw new EngineError(`Invalid target address: no matching objects found for "${addr}". To view the available instances, use "eksidp state list". Nothing was removed.`);
      for (const x of found) {
        manager.set({ ...x.resource, ...(x.key !== undefined ? { index: x.key } : {}) }, null);
        lines.push(`Removed ${e(x.address)}`);
        n++;
      }
    }
    lines.push(`Successfully removed ${n} resource instance(s).`);
    return lines;
  }
  const [src, dst] = args as [string, string];
  const from = matches(src);
  const to = parseInstanceAddress(dst);
  if (!to) throw new EngineError(`Invalid address "${dst}": expected TYPE.NAME, TYPE.NAME[N] or TYPE.NAME["KEY"]`);
  if (from.found.length === 0) throw new EngineError(`Invalid source address: no matching objects found for "${src}". Nothing was moved.`);
  const wholeSource = from.parsed.resource === src;
  const wholeTarget = to.resource === dst;
  if (wholeSource !== wholeTarget && !(wholeSource && from.found.length === 1 && from.found[0]!.key === undefined)) {
    throw new EngineError(`Invalid state move request: cannot move ${src} to ${dst}: a resource moves to a resource, an instance to an instance. Nothing was moved.`);
  }
  const head = from.found[0]!.resource;
  const [, type, name] = /^(?:data\.)?([^.]+)\.(.+)$/.exec(to.resource)!;
  if (type !== head.type || to.resource.startsWith('data.') !== (head.mode === 'data')) throw new EngineError(`Invalid state move request: cannot move ${src} to ${dst}: the resource types (and modes) must match. Nothing was moved.`);
  const keyOf = (key: InstanceKey | undefined) => (wholeSource && wholeTarget ? key : to.key);
  for (const x of from.found) {
    const target = instanceAddress(to.resource, keyOf(x.key));
    if (manager.instance(target)) throw new EngineError(`Invalid state move request: cannot move ${src} to ${target}: there is already an object at ${target}. Nothing was moved.`);
  }
  if (wholeSource && wholeTarget && manager.find(to.resource)) throw new EngineError(`Invalid state move request: cannot move ${src} to ${dst}: ${dst} is already in state. Nothing was moved.`);
  for (const x of from.found) {
    const key = keyOf(x.key);
    manager.set({ ...x.resource, ...(x.key !== undefined ? { index: x.key } : {}) }, null);
    manager.set({ mode: head.mode, type: head.type, name: name!, provider: head.provider, ...(key !== undefined ? { index: key } : {}) }, x.instance);
  }
  lines.push(`Move "${e(src)}" to "${e(dst)}"`, `Successfully moved ${from.found.length} object(s).`);
  return lines;
}

/** `eksidp state list | show ADDR | pull | push FILE | rm ADDR... | mv SRC DST`, through the stack's backend (TF_WORKSPACE). */
export const command: Command = {
  spec: {
    name: 'state',
    summary: 'Inspect or change state: state list | state show ADDR | state pull | state push FILE | state rm ADDR... | state mv SRC DST',
    args: '(list | show ADDR | pull | push FILE | rm ADDR... | mv SRC DST)',
    maxPositionals: 20,
    flags: {
      ...STACK_FLAGS,
      force: { type: 'boolean', description: 'state push: replace the stored state even when its lineage differs or the file is older.' },
      ...LOCK_FLAGS,
      ...COLOR_FLAG,
    },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const [sub, arg] = positionals;
    if (sub !== 'list' && sub !== 'show' && sub !== 'pull' && sub !== 'push' && sub !== 'rm' && sub !== 'mv') throw new UsageError("eksidp state: expected 'list', 'show ADDR', 'pull', 'push FILE', 'rm ADDR...' or 'mv SRC DST'");
    if (sub === 'rm' && positionals.length < 2) throw new UsageError('eksidp state rm: at least one address is required');
    if (sub === 'mv' && positionals.length !== 3) throw new UsageError('eksidp state mv: expected SRC and DST addresses');
    if (sub !== 'rm' && sub !== 'mv' && positionals.length > 2) throw new UsageError(`eksidp state ${sub}: unexpected argument '${positionals[2]}'`);
    if (sub === 'show' && !arg) throw new UsageError('eksidp state show: an address is required');
    if (sub === 'push' && !arg) throw new UsageError('eksidp state push: a state file is required');
    if ((sub === 'list' || sub === 'pull') && arg) throw new UsageError(`eksidp state ${sub}: unexpected argument '${arg}'`);
    if (values.force === true && sub !== 'push') throw new UsageError(`eksidp state ${sub}: --force is for state push only`);
    const lockOpts = lockOptionsOf(values);
    return guarded(io, values, async () => {
      const loc = locate(values, io, { allowFailedSynth: true });
      // Only the state's place is needed: variables without a value are no error here.
      const config = loadConfig(loc, variableInputs(parsed, io, loc, { tolerateMissing: true }));
      const { backend, storage } = openStorage(config, io);
      try {
        if (sub === 'rm' || sub === 'mv') {
          const lock = lockOpts.lock ? await lockWithTimeout(storage, `state ${sub}`, lockOpts.timeoutMs, { signal: io.signal }) : undefined;
          try {
            const manager = await StateManager.open(storage);
            if (!manager.exists()) throw new EngineError(`no state at ${storage.location}: nothing to ${sub === 'rm' ? 'remove' : 'move'}`);
            const lines = editState(manager, sub, positionals.slice(1));
            await manager.persist();
            io.stdout.write(lines.join('\n') + '\n');
          } finally {
            await lock?.unlock();
          }
          return EXIT.OK;
        }
        if (sub === 'push') {
          const lock = lockOpts.lock ? await lockWithTimeout(storage, 'state push', lockOpts.timeoutMs, { signal: io.signal }) : undefined;
          try {
            const { to } = await push(storage, path.resolve(io.cwd, arg!), values.force === true);
            io.stdout.write(`Pushed ${e(arg!)} to ${e(storage.location)} (lineage ${to.lineage}, serial ${to.serial}).\n`);
          } finally {
            await lock?.unlock();
          }
          return EXIT.OK;
        }
        const state = await storage.refresh();
        if (sub === 'pull') {
          if (state) io.stdout.write(stateText(state));
          return EXIT.OK;
        }
        // One line per instance, as Terraform lists them: aws_x.y, aws_x.y[0], aws_x.y["key"].
        const instances = state ? stateInstances(state) : [];
        if (sub === 'list') {
          for (const x of instances) io.stdout.write(`${e(x.address)}\n`);
          return EXIT.OK;
        }
        const x = instances.find((i) => i.address === arg);
        if (!x) {
          const several = instances.filter((i) => resourceAddress(i.resource) === arg && i.key !== undefined);
          if (several.length > 0) throw new EngineError(`${arg}: it has ${several.length} instances (${several.map((i) => i.address).join(', ')}): show one of them`);
          throw new EngineError(`${arg}: no such resource in state ${storage.location}`);
        }
        const r = x.resource;
        io.stdout.write([`# ${e(arg!)}:`, ...renderInstance(r.mode === 'data' ? 'data' : 'resource', r.type, r.name, x.instance)].join('\n') + '\n');
        return EXIT.OK;
      } finally {
        await backend.close();
      }
    });
  },
};
