import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsApi, virtualHostable } from '../backends/s3/api';
import { resolveS3Settings } from '../backends/s3/settings';

/** A loopback server that records request paths and answers 404 NoSuchKey. */
async function recorder(): Promise<{ url: string; paths: string[]; close: () => Promise<void> }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code><Message>no</Message></Error>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, paths, close: () => new Promise((r) => server.close(() => r())) };
}

test('a bucket name that is not a DNS label goes in the path, so it cannot choose the request host (the SDK\'s isVirtualHostableS3Bucket)', async (t) => {
  const endpoint = await recorder();
  const canary = await recorder();
  t.teardown(async () => { await endpoint.close(); await canary.close(); });
  const hostile = `${new URL(canary.url).host}/x`;
  const { settings, diagnostics } = resolveS3Settings(
    { bucket: hostile, key: 'state/terraform.tfstate', region: 'us-east-1', access_key: 'AKIDEXAMPLE', secret_key: 'secret', skip_credentials_validation: true, skip_requesting_account_id: true, skip_region_validation: true },
    { AWS_ENDPOINT_URL_S3: endpoint.url },
  );
  t.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  t.false(settings!.usePathStyle, 'virtual-hosted style was asked for');
  const api = new AwsApi(settings!);
  t.teardown(() => api.close());
  t.is(await api.getObject('state/terraform.tfstate'), undefined);
  t.deepEqual(canary.paths, [], 'nothing reached the host named inside the bucket');
  t.deepEqual(endpoint.paths, [`/${encodeURIComponent(hostile)}/state/terraform.tfstate`]);
});

test('virtualHostable follows the S3 endpoint rules', (t) => {
  for (const b of ['my-bucket', 'abc', 'a1b2c3', 'x'.repeat(63)]) t.true(virtualHostable(b, 'https:'), b);
  for (const b of ['ab', 'x'.repeat(64), 'My-Bucket', '-abc', 'abc-', 'a_b', 'my.bucket', '10.0.0.1', 'a:1/x', 'a..b']) t.false(virtualHostable(b, 'https:'), b);
  t.true(virtualHostable('my.bucket', 'http:'));
  t.false(virtualHostable('my..bucket', 'http:'));
});

test('the backend checks the region name unless skip_region_validation, as Terraform\'s S3 backend (aws-sdk-go-base) does', (t) => {
  const base = { bucket: 'b', key: 'k', access_key: 'a', secret_key: 's' };
  const errors = (extra: Record<string, unknown>) => resolveS3Settings({ ...base, ...extra }, {}).diagnostics.filter((d) => d.severity === 'error').map((d) => d.summary);
  t.regex(errors({ region: 'us-esat-1' }).join(), /backend "s3": invalid AWS Region: us-esat-1/);
  t.deepEqual(errors({ region: 'us-esat-1', skip_region_validation: true }), []);
  t.deepEqual(errors({ region: 'eu-west-1' }), []);
});
