import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AuthFailure, authenticate, type AuthSettings } from './auth';
import { refuseAtDoor, type Doors } from './doors';
import { headerValue } from './sigv4';

/**
 * The S3 subset a Terraform state needs, on a listener of its own (path-style bucket URLs would
 * collide with the EKS routes): buckets, and objects with HeadObject, GetObject, PutObject (with
 * `If-None-Match: *`, S3's conditional write, which `use_lockfile` locks rely on and which s3rver
 * ignores), DeleteObject and ListObjectsV2. Requests are SigV4-verified like the EKS side (service
 * `s3`: the path is signed as sent, S3 does not encode it twice). Objects live in memory: no
 * versions, no persistence. Anything else is answered 501 NotImplemented, naming the request.
 */

export type S3Object = { body: Buffer; etag: string; contentType: string; lastModified: Date; headers: Record<string, string>; /** SSE-C: the MD5 of the customer key it was written with. */ sseCustomerKeyMd5?: string };

export type S3Faults = {
  /** PutObject on keys matching this fails with 500 InternalError (state writes failing mid-apply). */
  failPutKeys?: RegExp | null;
};

export type S3Handle = {
  url: string;
  port: number;
  createBucket(name: string): void;
  /** The object's bytes, or undefined. */
  object(bucket: string, key: string): S3Object | undefined;
  putObject(bucket: string, key: string, body: string | Buffer): void;
  keys(bucket: string): string[];
  setFaults(f: S3Faults): void;
  /** S3 calls per operation name. */
  calls(): Record<string, number>;
  close(): Promise<void>;
};

export type S3Options = { host: string; port: number; auth: AuthSettings; doors: Doors; maxBodyBytes: number; log: (line: string) => void };

const AUTH_ERRORS: Record<AuthFailure['kind'], [code: string, status: number]> = {
  incomplete: ['AuthorizationHeaderMalformed', 400],
  signature: ['SignatureDoesNotMatch', 403],
  token: ['InvalidAccessKeyId', 403],
  expired: ['ExpiredToken', 400],
  region: ['AuthorizationHeaderMalformed', 400],
};

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

class S3Error extends Error {
  constructor(readonly code: string, readonly status: number, message: string, readonly extra: Record<string, string> = {}) {
    super(message);
  }
}

/** Decodes an aws-chunked body (`<hex size>;chunk-signature=...\r\n<data>\r\n`..., then trailers). */
function decodeAwsChunked(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) throw new S3Error('IncompleteBody', 400, 'aws-chunked body ends without a final chunk');
    const size = parseInt(buf.subarray(i, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size)) throw new S3Error('InvalidRequest', 400, 'aws-chunked body has a malformed chunk header');
    if (size === 0) return Buffer.concat(out);
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

export async function startS3(opts: S3Options): Promise<S3Handle> {
  const buckets = new Map<string, Map<string, S3Object>>();
  const counts: Record<string, number> = {};
  let faults: S3Faults = {};

  const sendXml = (res: http.ServerResponse, status: number, xml: string, headers: Record<string, string> = {}) => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': randomUUID(), ...headers });
    res.end(body);
  };
  const sendError = (res: http.ServerResponse, e: S3Error, head: boolean) => {
    if (head) {
      // HEAD answers carry no body: the status says it all.
      res.writeHead(e.status, { 'x-amz-request-id': randomUUID() });
      res.end();
      return;
    }
    const extra = Object.entries(e.extra).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
    sendXml(res, e.status, `<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${extra}<RequestId>${randomUUID()}</RequestId></Error>`);
  };

  const readBody = (req: http.IncomingMessage): Promise<Buffer> => new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxBodyBytes) {
        reject(new S3Error('EntityTooLarge', 400, `Your proposed upload exceeds the maximum allowed size (${opts.maxBodyBytes} bytes)`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

  const bucketOf = (name: string): Map<string, S3Object> => {
    const b = buckets.get(name);
    if (!b) throw new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: name });
    return b;
  };

  /** The SSE-C headers of a request, checked as S3 checks them; undefined when there are none. */
  const customerKey = (req: http.IncomingMessage): { md5: string } | undefined => {
    const alg = headerValue(req.rawHeaders, 'x-amz-server-side-encryption-customer-algorithm');
    const key = headerValue(req.rawHeaders, 'x-amz-server-side-encryption-customer-key');
    const md5 = headerValue(req.rawHeaders, 'x-amz-server-side-encryption-customer-key-md5');
    if (alg === undefined && key === undefined && md5 === undefined) return undefined;
    if (alg !== 'AES256') throw new S3Error('InvalidEncryptionAlgorithmError', 400, 'The Encryption request you specified is not valid. Supported value: AES256.');
    const raw = Buffer.from(key ?? '', 'base64');
    if (raw.length !== 32) throw new S3Error('InvalidArgument', 400, 'The secret key was invalid for the specified algorithm.');
    if (md5 !== createHash('md5').update(raw).digest('base64')) throw new S3Error('InvalidArgument', 400, 'The calculated MD5 hash of the key did not match the hash that was provided.');
    return { md5 };
  };

  const objectHeaders = (o: S3Object): Record<string, string> => ({
    'content-type': o.contentType, 'content-length': String(o.body.length), etag: o.etag, 'last-modified': o.lastModified.toUTCString(), ...o.headers,
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const refusal = refuseAtDoor(req.headers, opts.doors);
    if (refusal) {
      req.resume();
      return sendError(res, new S3Error('AccessDenied', 403, refusal), head);
    }
    const slash = rawPath.indexOf('/', 1);
    let bucket: string;
    let key: string;
    try {
      bucket = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
      key = slash < 0 ? '' : decodeURIComponent(rawPath.slice(slash + 1));
    } catch {
      req.resume();
      return sendError(res, new S3Error('InvalidURI', 400, 'Could not parse the specified URI'), head);
    }
    if (bucket === '') {
      req.resume();
      return sendError(res, new S3Error('NotImplemented', 501, 'The S3 emulator serves path-style bucket URLs only (use_path_style = true); ListBuckets is not implemented'), head);
    }
    const subresources = [...query.keys()].filter((k) => !['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'fetch-owner', 'x-id'].includes(k));
    const op = key === ''
      ? method === 'PUT' && subresources.length === 0 ? 'CreateBucket' : method === 'HEAD' ? 'HeadBucket' : method === 'GET' && query.get('list-type') === '2' && subresources.length === 0 ? 'ListObjectsV2' : undefined
      : subresources.length > 0 ? undefined : ({ HEAD: 'HeadObject', GET: 'GetObject', PUT: 'PutObject', DELETE: 'DeleteObject' } as Record<string, string>)[method];
    if (op === undefined) {
      req.resume();
      opts.log(`s3-emulator: not implemented: ${method} ${url.slice(0, 200)}`);
      return sendError(res, new S3Error('NotImplemented', 501, `The S3 emulator does not implement ${method} ${rawPath}${subresources.length ? ` with ?${subresources.join('&')}` : ''}`), head);
    }
    counts[op] = (counts[op] ?? 0) + 1;
    let body = await readBody(req);
    const a = authenticate({ method, url, rawHeaders: req.rawHeaders, body }, 's3', opts.auth, Date.now());
    if ('kind' in a) {
      const [code, status] = AUTH_ERRORS[a.kind];
      return sendError(res, new S3Error(code, status, a.message), head);
    }
    switch (op) {
      case 'CreateBucket': {
        if (!BUCKET_NAME.test(bucket)) throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket });
        if (buckets.has(bucket)) throw new S3Error('BucketAlreadyOwnedByYou', 409, 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: bucket });
        buckets.set(bucket, new Map());
        res.writeHead(200, { location: `/${bucket}` });
        return res.end();
      }
      case 'HeadBucket':
        bucketOf(bucket);
        res.writeHead(200, { 'x-amz-bucket-region': a.region });
        return res.end();
      case 'ListObjectsV2': {
        const prefix = query.get('prefix') ?? '';
        const max = Math.min(1000, Number(query.get('max-keys') ?? 1000) || 1000);
        const after = query.get('continuation-token') ?? query.get('start-after') ?? '';
        const all = [...bucketOf(bucket).entries()].filter(([k]) => k.startsWith(prefix) && k > after).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
        const page = all.slice(0, max);
        const truncated = all.length > max;
        const contents = page.map(([k, o]) => `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`).join('');
        const next = truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1]![0])}</NextContinuationToken>` : '';
        return sendXml(res, 200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`);
      }
      case 'HeadObject':
      case 'GetObject': {
        const o = bucketOf(bucket).get(key);
        if (!o) throw new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key });
        // SSE-C as S3 answers it: an object written with a customer key is read only with that key.
        const given = customerKey(req);
        if (o.sseCustomerKeyMd5 === undefined && given) throw new S3Error('InvalidRequest', 400, 'The encryption parameters are not applicable to this object.');
        if (o.sseCustomerKeyMd5 !== undefined && !given) throw new S3Error('InvalidRequest', 400, 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.');
        if (o.sseCustomerKeyMd5 !== undefined && given!.md5 !== o.sseCustomerKeyMd5) throw new S3Error('AccessDenied', 403, 'Access Denied');
        res.writeHead(200, objectHeaders(o));
        return res.end(head ? undefined : o.body);
      }
      case 'PutObject': {
        const objects = bucketOf(bucket);
        const encoding = headerValue(req.rawHeaders, 'content-encoding') ?? '';
        const declared = headerValue(req.rawHeaders, 'x-amz-content-sha256') ?? '';
        if (declared.startsWith('STREAMING-') || encoding.split(',').map((s) => s.trim()).includes('aws-chunked')) body = decodeAwsChunked(body);
        const md5 = headerValue(req.rawHeaders, 'content-md5');
        if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
        const sha = headerValue(req.rawHeaders, 'x-amz-checksum-sha256');
        if (sha !== undefined && sha !== createHash('sha256').update(body).digest('base64')) throw new S3Error('BadDigest', 400, 'The SHA256 you specified did not match the calculated checksum.');
        if (faults.failPutKeys?.test(key)) throw new S3Error('InternalError', 500, 'We encountered an internal error. Please try again. (injected by the emulator)');
        const ifNoneMatch = headerValue(req.rawHeaders, 'if-none-match');
        if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 501, 'If-None-Match is implemented for "*" only', { Header: 'If-None-Match' });
        // Checked and written with no await between: one of two racing writers wins, as in S3.
        if (ifNoneMatch !== undefined && objects.has(key)) throw new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        const kept: Record<string, string> = {};
        for (const h of ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id']) {
          const v = headerValue(req.rawHeaders, h);
          if (v !== undefined) kept[h] = v;
        }
        const sseC = customerKey(req);
        if (sseC) {
          if (kept['x-amz-server-side-encryption']) throw new S3Error('InvalidArgument', 400, 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified');
          kept['x-amz-server-side-encryption-customer-algorithm'] = 'AES256';
          kept['x-amz-server-side-encryption-customer-key-md5'] = sseC.md5;
        }
        objects.set(key, { body, etag, contentType: headerValue(req.rawHeaders, 'content-type') ?? 'binary/octet-stream', lastModified: new Date(), headers: kept, ...(sseC ? { sseCustomerKeyMd5: sseC.md5 } : {}) });
        res.writeHead(200, { etag, ...kept });
        return res.end();
      }
      case 'DeleteObject':
        bucketOf(bucket).delete(key);
        res.writeHead(204);
        return res.end();
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return;
      if (e instanceof S3Error) return sendError(res, e, req.method === 'HEAD');
      opts.log(`s3-emulator: internal error on ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      sendError(res, new S3Error('InternalError', 500, `Internal emulator error: ${(e as Error).message}`), req.method === 'HEAD');
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    createBucket(name) {
      if (!BUCKET_NAME.test(name)) throw new RangeError(`invalid bucket name ${JSON.stringify(name)}`);
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    object: (b, k) => buckets.get(b)?.get(k),
    putObject(b, k, body) {
      const buf = Buffer.from(body);
      bucketOf(b).set(k, { body: buf, etag: `"${createHash('md5').update(buf).digest('hex')}"`, contentType: 'application/json', lastModified: new Date(), headers: {} });
    },
    keys: (b) => [...(buckets.get(b)?.keys() ?? [])].sort(),
    setFaults(f) {
      faults = { ...faults, ...f };
    },
    calls: () => ({ ...counts }),
    close: () => new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections();
    }),
  };
}
