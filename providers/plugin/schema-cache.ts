import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ResourceSchema } from '../../engine/protocol';
import { writeFileAtomicSync } from '../../lib/files';
import { cacheDir } from './find';
import type { PluginSchema } from './schema';

/**
 * GetSchema answers, cached on disk (the AWS provider's is ~5 MB and costs about a second to fetch
 * and decode; it sets get_provider_schema_optional, which allows a cache). Keyed by the binary's
 * real path, size and modification time. One file: a JSON header line (provider schema,
 * capabilities, and the byte range of each type's schema) followed by the types' JSON, so a run
 * parses only the types its stack uses.
 */

const FORMAT = 1;

type Header = {
  format: number;
  provider: ResourceSchema;
  capabilities: PluginSchema['capabilities'];
  resources: Record<string, [number, number]>;
  dataSources: Record<string, [number, number]>;
};

export function binaryKey(binary: string): string {
  const real = fs.realpathSync(binary);
  const st = fs.statSync(real);
  return crypto.createHash('sha256').update(`${real}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 32);
}

export function schemaCacheFile(env: NodeJS.ProcessEnv, key: string): string {
  return path.join(cacheDir(env), 'schemas', `${key}.json`);
}

/** A schema whose types are parsed on first use. */
export type LazySchema = {
  provider: ResourceSchema;
  capabilities: PluginSchema['capabilities'];
  resourceTypes: string[];
  dataSourceTypes: string[];
  resource(type: string): ResourceSchema | undefined;
  dataSource(type: string): ResourceSchema | undefined;
};

function lazyTypes(body: Buffer, ranges: Record<string, [number, number]>): (type: string) => ResourceSchema | undefined {
  const parsed = new Map<string, ResourceSchema>();
  return (type) => {
    let s = parsed.get(type);
    if (s) return s;
    const r = Object.prototype.hasOwnProperty.call(ranges, type) ? ranges[type] : undefined;
    if (!r) return undefined;
    s = JSON.parse(body.toString('utf8', r[0], r[0] + r[1])) as ResourceSchema;
    parsed.set(type, s);
    return s;
  };
}

export function readSchemaCache(file: string): LazySchema | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  if (nl < 0) return undefined;
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 0, nl)) as Header;
  } catch {
    return undefined;
  }
  if (header.format !== FORMAT) return undefined;
  const body = buf.subarray(nl + 1);
  return {
    provider: header.provider,
    capabilities: header.capabilities,
    resourceTypes: Object.keys(header.resources),
    dataSourceTypes: Object.keys(header.dataSources),
    resource: lazyTypes(body, header.resources),
    dataSource: lazyTypes(body, header.dataSources),
  };
}

export function lazyFromSchema(s: PluginSchema): LazySchema {
  const own = (m: Record<string, ResourceSchema>) => (t: string) => (Object.prototype.hasOwnProperty.call(m, t) ? m[t] : undefined);
  return {
    provider: s.provider,
    capabilities: s.capabilities,
    resourceTypes: Object.keys(s.resources),
    dataSourceTypes: Object.keys(s.dataSources),
    resource: own(s.resources),
    dataSource: own(s.dataSources),
  };
}

export function writeSchemaCache(file: string, s: PluginSchema): void {
  const parts: Buffer[] = [];
  let offset = 0;
  const index = (m: Record<string, ResourceSchema>) => {
    const out: Record<string, [number, number]> = {};
    for (const [k, v] of Object.entries(m)) {
      const b = Buffer.from(JSON.stringify(v));
      out[k] = [offset, b.length];
      offset += b.length;
      parts.push(b);
    }
    return out;
  };
  const header: Header = { format: FORMAT, provider: s.provider, capabilities: s.capabilities, resources: index(s.resources), dataSources: index(s.dataSources) };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), ...parts]), { mode: 0o644 });
}
