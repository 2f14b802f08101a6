import path from 'node:path';
import { UsageError } from '../args';
import type { Command } from '../command';
import { EXIT } from '../command';
import { COLOR_FLAG, guarded, loadConfig, locate, openSession, STACK_FLAGS, VAR_FLAGS, variableInputs, LOCK_FLAGS, lockOptionsOf } from '../support';
import { providerConfigAddress } from '../../engine/config';
import { transitiveDeps } from '../../engine/graph';
import { hasErrors } from '../../engine/protocol';
import { EngineError } from '../../engine/util';
import { eachModeOf, parseInstanceAddress } from '../../engine/instances';

/** `eksidp import ADDR ID`: brings an existing object under management (the address must be in the configuration). */
export const command: Command = {
  spec: {
    name: 'import',
    summary: 'Import an existing object into state.',
    args: 'ADDR ID',
    maxPositionals: 2,
    flags: { ...STACK_FLAGS, ...VAR_FLAGS, ...LOCK_FLAGS, ...COLOR_FLAG },
  },
  async run(parsed, io) {
    const { values, positionals } = parsed;
    const [address, id] = positionals;
    if (!address || !id) throw new UsageError('eksidp import: expected ADDR and ID, e.g. eksidp import aws_eks_identity_provider_config.okta my-cluster:okta');
    return guarded(io, values, async () => {
      const loc = locate(values, io);
      const config = loadConfig(loc, variableInputs(parsed, io, loc));
      // An instance address (`aws_x.y[0]`, `aws_x.y["key"]`) imports one instance of a repeated resource.
      const parsedAddress = parseInstanceAddress(address);
      const r = parsedAddress ? config.resources.find((x) => x.address === parsedAddress.resource) : undefined;
      if (!r || r.mode !== 'managed') throw new EngineError(`${address}: no such resource in the configuration; add it to the stack before importing`);
      const key = parsedAddress!.key;
      const mode = eachModeOf(r);
      const wanted = mode === 'count' ? 'number' : mode === 'for_each' ? 'string' : 'undefined';
      if (typeof key !== wanted) {
        throw new EngineError(`${address}: ${mode === 'single' ? `${r.address} has neither count nor for_each: import it as ${r.address}` : `${r.address} has ${mode} set: import one instance, as ${r.address}${mode === 'count' ? '[0]' : '["KEY"]'}`}`);
      }
      const session = await openSession(config, io, 'import', lockOptionsOf(values));
      try {
        if (session.state.instance(address)) {
          throw new EngineError(`${address}: already managed (it is in state ${path.relative(io.cwd, config.statePath) || config.statePath}). To import another object at this address, the current one must leave the state first: ` +
            `'eksidp state rm ${address}' does that (the object itself stays), ` +
            `or 'eksidp destroy --target ${address}' deletes the object eksidp manages there.`);
        }
        const provider = session.ws.providers.get(r.provider)!;
        io.stderr.write(`${address}: Importing from ID "${id}"...\n`);
        const imp = await provider.importResourceState({ typeName: r.type, id, signal: io.signal });
        if (hasErrors(imp.diagnostics) || !imp.state) throw new EngineError(imp.diagnostics.length ? imp.diagnostics.map((d) => ({ ...d, address: d.address ?? address })) : `${address}: import of "${id}" returned no object`);
        const read = await provider.readResource({ typeName: r.type, address, priorState: imp.state, ...(imp.private ? { private: imp.private } : {}), signal: io.signal });
        if (hasErrors(read.diagnostics)) throw new EngineError(read.diagnostics.map((d) => ({ ...d, address: d.address ?? address })));
        if (!read.newState) throw new EngineError(`${address}: cannot import non-existent remote object "${id}"`);
        const deps = [...transitiveDeps(session.ws.graph.deps, r.address)].sort();
        const schema = session.ws.schemas.get(r.provider)!.resources[r.type]!;
        session.state.set({ mode: 'managed', type: r.type, name: r.name, provider: providerConfigAddress(config.providers.get(r.provider)!), ...(key !== undefined ? { index: key } : {}) }, {
          schema_version: schema.version, attributes: read.newState, sensitive_attributes: [], ...(read.private ? { private: read.private } : {}), ...(deps.length ? { dependencies: deps } : {}),
        });
        await session.state.persist();
        io.stdout.write(`${address}: Import prepared!\n\nImport successful!\n\n${address} (ID "${id}") is now in the state and will be managed by eksidp. Run 'eksidp plan' to compare it with the configuration.\n`);
        return EXIT.OK;
      } finally {
        await session.close();
      }
    });
  },
};
