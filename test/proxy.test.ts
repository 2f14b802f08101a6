import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { DEFAULT_TUNING } from '../providers/eks/client';
import { compileProxyRules, proxyConfig, type ProxyArguments } from '../providers/eks/proxy';
import { resolveTransportSettings } from '../providers/eks/transport-settings';

/**
 * Which proxy a request takes (providers/eks/proxy.ts) and how the provider block's transport
 * arguments resolve (providers/eks/transport-settings.ts), against the behaviour of hashicorp/aws
 * 5.100: aws-sdk-go-base's proxy table (internal/test/http_client.go, legacy mode, which the
 * provider uses) and Go's golang.org/x/net/http/httpproxy NO_PROXY rules.
 */

const HTTP = 'http://http-proxy.test:1234/';
const HTTPS = 'http://https-proxy.test:1234/';

function route(args: ProxyArguments, env: NodeJS.ProcessEnv, url: string): string {
  return compileProxyRules(proxyConfig(args, env)).proxyFor(new URL(url))?.href ?? 'direct';
}

// [case, block arguments, environment, [http://example.com, https://example.com]]
const precedence: [string, ProxyArguments, NodeJS.ProcessEnv, [string, string]][] = [
  ['nothing set', {}, {}, ['direct', 'direct']],
  ['http_proxy = "" (explicit empty)', { http_proxy: '' }, {}, ['direct', 'direct']],
  ['http_proxy only: legacy mode sends HTTPS through it too', { http_proxy: HTTP }, {}, [HTTP, HTTP]],
  ['https_proxy only', { https_proxy: HTTPS }, {}, ['direct', HTTPS]],
  ['both', { http_proxy: HTTP, https_proxy: HTTPS }, {}, [HTTP, HTTPS]],
  ['http_proxy with https_proxy = "": HTTPS goes direct', { http_proxy: HTTP, https_proxy: '' }, {}, [HTTP, 'direct']],
  ['https_proxy with http_proxy = ""', { http_proxy: '', https_proxy: HTTPS }, {}, ['direct', HTTPS]],
  ['HTTP_PROXY from the environment serves http only', {}, { HTTP_PROXY: HTTP }, [HTTP, 'direct']],
  ['http_proxy (lower case) from the environment', {}, { http_proxy: HTTP }, [HTTP, 'direct']],
  ['HTTPS_PROXY from the environment', {}, { HTTPS_PROXY: HTTPS }, ['direct', HTTPS]],
  ['https_proxy (lower case) from the environment', {}, { https_proxy: HTTPS }, ['direct', HTTPS]],
  ['upper case wins over lower case, as in Go', {}, { HTTPS_PROXY: HTTPS, https_proxy: 'http://lower.test:1/' }, ['direct', HTTPS]],
  ['block http_proxy with HTTPS_PROXY in the environment: each its own', { http_proxy: HTTP }, { HTTPS_PROXY: HTTPS }, [HTTP, HTTPS]],
  ['block http_proxy with https_proxy in the environment', { http_proxy: HTTP }, { https_proxy: HTTPS }, [HTTP, HTTPS]],
  ['the block wins over the environment', { http_proxy: HTTP, https_proxy: HTTPS }, { HTTP_PROXY: 'http://env.test:1/', HTTPS_PROXY: 'http://env.test:2/' }, [HTTP, HTTPS]],
  ['an explicit empty block value wins over the environment', { https_proxy: '' }, { HTTPS_PROXY: HTTPS }, ['direct', 'direct']],
  ['a proxy without a scheme is http://', { https_proxy: 'proxy.corp:3128' }, {}, ['direct', 'http://proxy.corp:3128/']],
];

for (const [what, args, env, [http, https]] of precedence) {
  test(`proxy precedence (hashicorp/aws legacy mode): ${what}`, (t) => {
    t.is(route(args, env, 'http://example.com'), http);
    t.is(route(args, env, 'https://example.com'), https);
  });
}

// [NO_PROXY, url, goes direct?]
const noProxy: [string, string, boolean][] = [
  ['dont-proxy.test', 'https://dont-proxy.test', true],
  ['dont-proxy.test', 'https://sub.dont-proxy.test', true],
  ['dont-proxy.test', 'https://notdont-proxy.test', false],
  ['.dont-proxy.test', 'https://dont-proxy.test', false],
  ['.dont-proxy.test', 'https://a.dont-proxy.test', true],
  ['*.dont-proxy.test', 'https://dont-proxy.test', false],
  ['*.dont-proxy.test', 'https://a.b.dont-proxy.test', true],
  ['dont-proxy.test:443', 'https://dont-proxy.test', true],
  ['dont-proxy.test:443', 'https://dont-proxy.test:8443', false],
  ['dont-proxy.test:8443', 'https://dont-proxy.test:8443', true],
  ['DONT-Proxy.TEST', 'https://dont-proxy.test', true],
  [' other.test , dont-proxy.test ', 'https://dont-proxy.test', true],
  ['*', 'https://anything.example', true],
  ['10.0.0.0/8', 'https://10.1.2.3', true],
  ['10.0.0.0/8', 'https://11.1.2.3', false],
  ['10.0.0.0/8', 'https://ten.example', false],
  ['192.168.1.1', 'https://192.168.1.1:9000', true],
  ['192.168.1.1:80', 'https://192.168.1.1', false],
  ['192.168.1.1:443', 'https://192.168.1.1', true],
  ['2001:db8::1', 'https://[2001:db8::1]', true],
  ['2001:db8::/32', 'https://[2001:db8:0:0::42]:8443', true],
  ['2001:db8::/32', 'https://[2001:db9::1]', false],
  ['192.168.1.0/24', 'https://[::ffff:192.168.1.7]', true],
  ['dont-proxy.test', 'https://192.168.1.1', false],
  ['', 'https://example.com', false],
  [',,', 'https://example.com', false],
];

for (const [list, url, direct] of noProxy) {
  test(`NO_PROXY ${JSON.stringify(list)}: ${url} goes ${direct ? 'direct' : 'through the proxy'}`, (t) => {
    t.is(route({}, { HTTPS_PROXY: HTTPS, NO_PROXY: list }, url), direct ? 'direct' : HTTPS);
  });
}

test('no_proxy in the block replaces NO_PROXY; no_proxy (lower case) is read too', (t) => {
  const env = { HTTPS_PROXY: HTTPS, NO_PROXY: 'a.test' };
  t.is(route({ no_proxy: 'b.test' }, env, 'https://a.test'), HTTPS);
  t.is(route({ no_proxy: 'b.test' }, env, 'https://b.test'), 'direct');
  t.is(route({}, env, 'https://a.test'), 'direct');
  t.is(route({}, { HTTPS_PROXY: HTTPS, no_proxy: 'a.test' }, 'https://a.test'), 'direct');
  t.is(route({ no_proxy: '' }, env, 'https://a.test'), 'direct', 'an empty no_proxy leaves NO_PROXY in force, as the provider does');
});

test('localhost and loopback addresses are never proxied, whatever is set (as Terraform\'s Go provider)', (t) => {
  const args = { http_proxy: HTTP, https_proxy: HTTPS };
  for (const url of ['http://localhost:4599', 'https://localhost', 'http://127.0.0.1:4599', 'http://127.9.8.7', 'http://[::1]:4599', 'http://[::ffff:127.0.0.1]:80']) {
    t.is(route(args, {}, url), 'direct', url);
  }
  // Only the name "localhost" itself: other names are proxied (Go resolves nothing to decide).
  t.is(route(args, {}, 'http://app.localhost'), HTTP);
  t.is(route(args, {}, 'http://128.0.0.1'), HTTP);
});

const base = { region: 'us-east-1' };
const settings = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => resolveTransportSettings(config as never, env, DEFAULT_TUNING);

test('proxy arguments that cannot be used are refused, naming the argument or variable and never the proxy credentials', (t) => {
  const socks = settings({ ...base, https_proxy: 'socks5://user:s3cret@proxy.test:1080' });
  t.is(socks.transport, undefined);
  t.is(socks.diagnostics.length, 1);
  t.regex(socks.diagnostics[0]!.summary, /^The aws provider block's https_proxy: socks5 proxies are not supported by eksidp/);
  t.deepEqual(socks.diagnostics[0]!.attribute, ['https_proxy']);
  t.false(socks.diagnostics[0]!.summary.includes('s3cret'));

  const env = settings(base, { HTTPS_PROXY: 'http://user:s3cret@[bad' });
  t.regex(env.diagnostics[0]!.summary, /^HTTPS_PROXY: .* is not a proxy URL$/);
  t.false(env.diagnostics[0]!.summary.includes('s3cret'));

  // Only the proxy in force is checked: the block's value replaces a bad environment one.
  t.truthy(settings({ ...base, https_proxy: HTTPS }, { HTTPS_PROXY: 'socks5://x:1' }).transport);
  t.deepEqual(settings({ ...base, http_proxy: 42 }).diagnostics.map((d) => d.summary), ['The aws provider block\'s http_proxy must be a string']);
});

test('http_proxy alone warns, as hashicorp/aws does, that HTTPS requests use it too', (t) => {
  const r = settings({ ...base, http_proxy: 'http://user:s3cret@proxy.test:3128' });
  t.truthy(r.transport);
  t.is(r.diagnostics.length, 1);
  t.is(r.diagnostics[0]!.severity, 'warning');
  t.regex(r.diagnostics[0]!.summary, /Using HTTP proxy "http:\/\/REDACTED@proxy.test:3128\/" for HTTPS requests/);
  t.deepEqual(settings({ ...base, http_proxy: HTTP }, { HTTPS_PROXY: HTTPS }).diagnostics, []);
  t.deepEqual(settings({ ...base, http_proxy: HTTP, https_proxy: '' }).diagnostics, []);
});

test('custom_ca_bundle, else AWS_CA_BUNDLE: read at configure time; unreadable or certificate-less files are refused', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-ca-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pem = fs.readFileSync(path.join(__dirname, 'fixtures', 'tls', 'cert.pem'), 'utf8');
  const good = path.join(dir, 'ca.pem');
  fs.writeFileSync(good, pem);
  const junk = path.join(dir, 'junk.pem');
  fs.writeFileSync(junk, 'not a certificate\n');

  t.is(settings({ ...base, custom_ca_bundle: good }).transport?.ca?.pem, pem);
  t.is(settings(base, { AWS_CA_BUNDLE: good }).transport?.ca?.source, good);
  t.is(settings({ ...base, custom_ca_bundle: good }, { AWS_CA_BUNDLE: junk }).transport?.ca?.source, good, 'the block wins');
  t.is(settings(base).transport?.ca, undefined);

  const missing = settings({ ...base, custom_ca_bundle: path.join(dir, 'nope.pem') });
  t.regex(missing.diagnostics[0]!.summary, /^The aws provider block's custom_ca_bundle: cannot read .*nope\.pem: ENOENT$/);
  t.deepEqual(missing.diagnostics[0]!.attribute, ['custom_ca_bundle']);
  t.regex(settings(base, { AWS_CA_BUNDLE: junk }).diagnostics[0]!.summary, /^AWS_CA_BUNDLE: .*junk\.pem holds no PEM certificate$/);

  // This machine's environment points AWS_CA_BUNDLE at the system bundle: that must keep working.
  const system = '/etc/ssl/certs/ca-certificates.crt';
  if (fs.existsSync(system)) t.true(settings(base, { AWS_CA_BUNDLE: system }).transport!.ca!.pem.includes('BEGIN CERTIFICATE'));
});

test('max_retries and retry_mode: the block, else AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, else eksidp\'s adaptive defaults', (t) => {
  const retry = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => settings({ ...base, ...config }, env).retry;
  t.deepEqual(retry({}), { maxAttempts: DEFAULT_TUNING.maxAttempts, mode: 'adaptive' });
  t.deepEqual(retry({ max_retries: 3, retry_mode: 'standard' }), { maxAttempts: 3, mode: 'standard' });
  t.deepEqual(retry({}, { AWS_MAX_ATTEMPTS: '5', AWS_RETRY_MODE: 'standard' }), { maxAttempts: 5, mode: 'standard' });
  t.deepEqual(retry({ max_retries: 2, retry_mode: 'adaptive' }, { AWS_MAX_ATTEMPTS: '5', AWS_RETRY_MODE: 'standard' }), { maxAttempts: 2, mode: 'adaptive' });
  t.deepEqual(retry({ max_retries: 0 }, { AWS_MAX_ATTEMPTS: '4' }), { maxAttempts: 4, mode: 'adaptive' }, 'max_retries = 0 is unset, as in the provider');
  t.deepEqual(retry({ retry_mode: 'Standard' }), { maxAttempts: DEFAULT_TUNING.maxAttempts, mode: 'standard' });

  const bad = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => settings({ ...base, ...config }, env).diagnostics.map((d) => d.summary);
  t.deepEqual(bad({ retry_mode: 'legacy' }), ['The aws provider block\'s retry_mode must be standard or adaptive, got "legacy"']);
  t.deepEqual(bad({}, { AWS_RETRY_MODE: 'fast' }), ['AWS_RETRY_MODE must be standard or adaptive, got "fast"']);
  t.deepEqual(bad({ max_retries: -1 }), ['The aws provider block\'s max_retries must be a whole number, got -1']);
  t.deepEqual(bad({}, { AWS_MAX_ATTEMPTS: 'many' }), ['AWS_MAX_ATTEMPTS must be a number of attempts (1 or more), got "many"']);
});
