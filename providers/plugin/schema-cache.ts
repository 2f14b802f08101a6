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
 * reads and parses only the header (~0.1 MB) and the types its stack uses, not the whole ~10 MB.
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

/** A schema whose types are read and parsed on first use. */
export type LazySchema = {
  provider: ResourceSchema;
  capabilities: PluginSchema['capabilities'];
  resourceTypes: string[];
  dataSourceTypes: string[];
  resource(type: string): ResourceSchema | undefined;
  dataSource(type: string): ResourceSchema | undefined;
  /** Releases the open cache file (a type not read yet is then read from a fresh open). */
  close(): void;
};

const CHUNK = 256 * 1024;

/** The cache file held open: a rewrite (atomic rename) leaves this one's bytes as they were. */
class CacheFile {
  private fd: number | undefined;
  private id = '';

  constructor(private readonly file: string) {}

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    const fd = fs.openSync(this.file, 'r');
    const st = fs.fstatSync(fd);
    const id = `${st.ino}:${st.size}:${st.mtimeMs}`;
    // Reopened after close(): the ranges are only good for the same file.
    if (this.id && id !== this.id) {
      fs.closeSync(fd);
      throw new Error(`the schema cache ${this.file} changed while in use: run the command again`);
    }
    this.id = id;
    return (this.fd = fd);
  }

  read(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.open(), buf, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  }

  /** The first line, read in chunks. */
  header(): Buffer | undefined {
    const parts: Buffer[] = [];
    for (let pos = 0; ; pos += CHUNK) {
      const b = this.read(pos, CHUNK);
      const nl = b.indexOf(10);
      if (nl >= 0) return Buffer.concat([...parts, b.subarray(0, nl)]);
      if (b.length < CHUNK) return undefined;
      parts.push(b);
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

function lazyTypes(read: (r: [number, number]) => Buffer, ranges: Record<string, [number, number]>): (type: string) => ResourceSchema | undefined {
  const parsed = new Map<string, ResourceSchema>();
  return (type) => {
    let s = parsed.get(type);
    if (s) return s;
    const r = Object.prototype.hasOwnProperty.call(ranges, type) ? ranges[type] : undefined;
    if (!r) return undefined;
    s = JSON.parse(read(r).toString('utf8')) as ResourceSchema;
    parsed.set(type, s);
    return s;
  };
}

export function readSchemaCache(file: string): LazySchema | undefined {
  const f = new CacheFile(file);
  let header: Header;
  let body: number;
  try {
    const text = f.header();
    if (!text) throw new Error('no header');
    body = text.length + 1;
    header = JSON.parse(text.toString('utf8')) as Header;
    if (header.format !== FORMAT) throw new Error('another format');
  } catch {
    f.close();
    return undefined;
  }
  const read = (r: [number, number]) => f.read(body + r[0], r[1]);
  return {
    provider: header.provider,
    capabilities: header.capabilities,
    resourceTypes: Object.keys(header.resources),
    dataSourceTypes: Object.keys(header.dataSources),
    resource: lazyTypes(read, header.resources),
    dataSource: lazyTypes(read, header.dataSources),
    close: () => f.close(),
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
    close: () => undefined,
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
