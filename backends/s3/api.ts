import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { credentialProvider } from '../../providers/eks/credentials';
import { Http1Pool } from '../../providers/eks/http1';
import { escapeUri, SigV4Signer } from '../../providers/eks/sigv4';
import { createTransport, type Transport, type TransportResponse } from '../../providers/eks/transport';
import type { S3Settings } from './settings';

/**
 * The few S3 and DynamoDB calls a state needs, signed with the provider's SigV4 signer and sent over
 * its transport (proxies, CA bundle, limits), with its credential chain. No AWS SDK client: these
 * are five small requests, and the SDK's S3 client would add checksum trailers (aws-chunked CRC32)
 * that S3 does not require here and local servers may not parse; nothing is sent that S3 does not
 * require (`skip_s3_checksum` in effect).
 */

export class AwsCallError extends Error {
  constructor(readonly operation: string, readonly status: number, readonly code: string, message: string) {
    super(`${operation}: ${status} ${code}${message ? `: ${message}` : ''}`);
  }
}

const RETRYABLE = (status: number, code: string) => status >= 500 || status === 429 || /Throttl|SlowDown|RequestTimeout|ProvisionedThroughputExceeded/.test(code);

function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? unescapeXml(m[1]!) : undefined;
}
function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[name]!);
}

export type DynamoItem = Record<string, { S: string }>;

export class AwsApi {
  private readonly transport: Transport;
  private readonly signer = new SigV4Signer();
  private readonly credentials: AwsCredentialIdentityProvider | AwsCredentialIdentity;
  /** Direct (unproxied) origins go through the small HTTP/1.1 pool the EKS reads use: loading undici costs a run ~0.06 s of CPU and ~11 MB. */
  private readonly pools = new Map<string, Http1Pool>();

  constructor(private readonly s: S3Settings) {
    this.transport = createTransport(s.transport);
    if (s.metadataApiDisabled !== undefined) process.env.AWS_EC2_METADATA_DISABLED = String(s.metadataApiDisabled);
    // undefined means static keys and nothing else (credentialProvider's contract). STS goes through
    // the backend's transport (proxies, CA bundle) and retry settings, as the provider's does.
    const provider = credentialProvider(s.credentials, {
      sts: { ...s.sts, retry: s.retry, requestHandler: () => this.transport.sdkHandler() },
      ...(s.ssoEndpoint ? { ssoEndpoint: s.ssoEndpoint } : {}),
    });
    const base = s.credentials.base;
    if (provider) this.credentials = provider;
    else if (base.kind === 'static') this.credentials = { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey, ...(base.sessionToken ? { sessionToken: base.sessionToken } : {}) };
    else throw new Error('no credentials: the backend has neither static keys nor a credential chain');
  }

  async close(): Promise<void> {
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
    await this.transport.close();
  }

  /** The pool for an origin reached directly; undefined when a proxy applies (the transport's undici ProxyAgent then). */
  private direct(origin: URL): Http1Pool | undefined {
    if (this.transport.proxyFor(origin)) return undefined;
    let pool = this.pools.get(origin.origin);
    if (!pool) {
      const t = this.s.transport;
      pool = new Http1Pool(new URL(origin.origin), { maxSockets: t.maxSockets, timeoutMs: t.requestTimeoutMs, maxHeaderBytes: t.maxHeaderBytes, maxResponseBytes: t.maxResponseBytes, ...(t.ca ? { ca: t.ca.pem } : {}), ...(t.insecure ? { insecure: true } : {}) });
      this.pools.set(origin.origin, pool);
    }
    return pool;
  }

  private async creds(): Promise<AwsCredentialIdentity> {
    return typeof this.credentials === 'function' ? this.credentials() : this.credentials;
  }

  /** One signed request, retried on throttling, 5xx and network errors with backoff (max_retries attempts). */
  private async send(operation: string, service: 's3' | 'dynamodb', origin: URL, req: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string }): Promise<TransportResponse> {
    const attempts = Math.max(1, this.s.retry.maxAttempts);
    for (let attempt = 1; ; attempt++) {
      try {
        const query = req.query && Object.keys(req.query).length > 0 ? req.query : undefined;
        const headers = this.signer.sign({
          method: req.method, host: origin.host, path: req.path, pathAsSent: service === 's3', ...(query ? { query } : {}),
          headers: { ...req.headers, ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}) },
          ...(req.body !== undefined ? { body: req.body } : {}),
          region: this.s.region, service, credentials: await this.creds(), date: new Date(),
        });
        const qs = query ? `?${Object.keys(query).sort().map((k) => `${escapeUri(k)}=${escapeUri(query[k]!)}`).join('&')}` : '';
        const wire = { method: req.method, path: `${origin.pathname.replace(/\/$/, '')}${req.path}${qs}`, headers, ...(req.body !== undefined ? { body: req.body } : {}) };
        const pool = this.direct(origin);
        // State, lock info and DynamoDB answers are UTF-8 JSON, so the pool's text body keeps their bytes (and MD5).
        // The pool writes Content-Length itself (the same value, which was signed).
        const res = pool
          ? await pool.request({ ...wire, headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'content-length')) })
            .then((r) => ({ status: r.status, headers: r.headers, body: Buffer.from(r.body, 'utf8') }))
          : await this.transport.send(origin, wire);
        if (res.status < 300 || res.status === 304) return res;
        const text = res.body.toString('utf8');
        let code = `HTTP${res.status}`;
        let message = '';
        if (service === 's3') {
          code = xmlField(text, 'Code') ?? (res.status === 404 ? 'NotFound' : res.status === 412 ? 'PreconditionFailed' : code);
          message = xmlField(text, 'Message') ?? '';
        } else {
          try {
            const j = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
            code = (j.__type ?? code).replace(/^.*#/, '');
            message = j.message ?? j.Message ?? '';
          } catch { /* not JSON: the status says it */ }
        }
        throw new AwsCallError(operation, res.status, code, message);
      } catch (e) {
        const failure = e instanceof AwsCallError ? e : new AwsCallError(operation, 0, 'RequestError', (e as Error).message);
        if (attempt >= attempts || (failure.status !== 0 && !RETRYABLE(failure.status, failure.code))) throw failure;
      }
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (attempt - 1), 2000)));
    }
  }

  private s3Target(key: string): { origin: URL; path: string } {
    const base = new URL(this.s.s3Endpoint);
    const encodedKey = key.split('/').map(escapeUri).join('/');
    // As the SDK's S3 endpoint rules (isVirtualHostableS3Bucket): a name that is not a DNS label goes
    // in the path, encoded, so a bucket such as `host:port/x` can never choose the request's host.
    if (this.s.usePathStyle || !virtualHostable(this.s.bucket, base.protocol)) return { origin: base, path: `/${escapeUri(this.s.bucket)}/${encodedKey}` };
    const origin = new URL(base.href);
    origin.host = `${this.s.bucket}.${base.host}`;
    return { origin, path: `/${encodedKey}` };
  }

  private bucketTarget(): { origin: URL; path: string } {
    const t = this.s3Target('');
    return { origin: t.origin, path: t.path.slice(0, -1) || '/' };
  }

  /** GetObject: the bytes, or undefined when there is no such key (404). */
  async getObject(key: string): Promise<Buffer | undefined> {
    const { origin, path } = this.s3Target(key);
    try {
      return (await this.send('GetObject', 's3', origin, { method: 'GET', path, headers: this.s.readHeaders })).body;
    } catch (e) {
      if (e instanceof AwsCallError && e.status === 404 && e.code !== 'NoSuchBucket') return undefined;
      throw e;
    }
  }

  /** PutObject; with `ifNoneMatch` only when the key does not exist (else AwsCallError 412/409). */
  async putObject(key: string, body: string, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    const { origin, path } = this.s3Target(key);
    await this.send('PutObject', 's3', origin, {
      method: 'PUT', path, body,
      headers: { 'content-type': 'application/json', ...this.s.writeHeaders, ...(opts.ifNoneMatch ? { 'if-none-match': '*' } : {}) },
    });
  }

  async deleteObject(key: string): Promise<void> {
    const { origin, path } = this.s3Target(key);
    await this.send('DeleteObject', 's3', origin, { method: 'DELETE', path });
  }

  /** ListObjectsV2: every key under the prefix (all pages). */
  async listKeys(prefix: string): Promise<string[]> {
    const { origin, path } = this.bucketTarget();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.send('ListObjectsV2', 's3', origin, { method: 'GET', path, query: { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) } });
      const xml = res.body.toString('utf8');
      for (const m of xml.matchAll(/<Contents>[\s\S]*?<Key>([\s\S]*?)<\/Key>[\s\S]*?<\/Contents>/g)) keys.push(unescapeXml(m[1]!));
      token = xmlField(xml, 'IsTruncated') === 'true' ? xmlField(xml, 'NextContinuationToken') : undefined;
    } while (token);
    return keys;
  }

  private async dynamo(action: string, body: unknown): Promise<unknown> {
    const origin = new URL(this.s.dynamodbEndpoint);
    const res = await this.send(action, 'dynamodb', origin, {
      method: 'POST', path: '/', body: JSON.stringify(body),
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${action}` },
    });
    return JSON.parse(res.body.toString('utf8') || '{}');
  }

  /** PutItem; with `ifAbsent`, only when no item has this LockID (else AwsCallError ConditionalCheckFailedException). */
  async putItem(table: string, item: DynamoItem, opts: { ifAbsent?: boolean } = {}): Promise<void> {
    await this.dynamo('PutItem', { TableName: table, Item: item, ...(opts.ifAbsent ? { ConditionExpression: 'attribute_not_exists(LockID)' } : {}) });
  }

  async getItem(table: string, lockId: string): Promise<DynamoItem | undefined> {
    const out = (await this.dynamo('GetItem', { TableName: table, Key: { LockID: { S: lockId } }, ConsistentRead: true })) as { Item?: DynamoItem };
    return out.Item;
  }

  async deleteItem(table: string, lockId: string): Promise<void> {
    await this.dynamo('DeleteItem', { TableName: table, Key: { LockID: { S: lockId } } });
  }
}

/**
 * aws.isVirtualHostableS3Bucket: 3 to 63 characters, lowercase letters, digits and hyphens, starting and
 * ending with a letter or digit, not an IP address; dots only over plain http (TLS certificates cover one label).
 */
export function virtualHostable(bucket: string, protocol: string): boolean {
  if (bucket.length < 3 || bucket.length > 63 || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return false;
  const labels = bucket.split('.');
  if (labels.length > 1 && protocol !== 'http:') return false;
  return labels.every((l) => /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(l));
}
