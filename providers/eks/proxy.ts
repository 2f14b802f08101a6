import net from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * Which proxy a request to the AWS API goes through, exactly as hashicorp/aws 5.100 decides it
 * (aws-sdk-go-base's HTTPTransportOptions in its legacy proxy mode, over Go's
 * golang.org/x/net/http/httpproxy):
 *
 * - the environment first: HTTP_PROXY, else http_proxy; HTTPS_PROXY, else https_proxy; NO_PROXY,
 *   else no_proxy (upper case wins, as in Go);
 * - the provider block over it: `http_proxy` replaces the HTTP proxy and, when no HTTPS proxy came
 *   from the environment, serves HTTPS too (legacy mode; set `https_proxy = ""` to go direct);
 *   `https_proxy` replaces the HTTPS proxy, "" included; a non-empty `no_proxy` replaces NO_PROXY;
 * - `localhost` and loopback addresses (127.0.0.0/8, ::1) are never proxied, whatever is set;
 * - NO_PROXY entries: `*` (nothing is proxied), an IP, an IP with a port, a CIDR range, a domain
 *   (that name and its subdomains), `.domain` or `*.domain` (subdomains only), each optionally with
 *   `:port`; case-insensitive; malformed entries are skipped.
 *
 * Pure: no I/O. test/proxy.test.ts holds these rules to a table drawn from the Go sources' tests.
 */

/** The three strings Go's httpproxy.Config holds, after the provider block is laid over the environment. */
export type ProxyConfig = { httpProxy: string; httpsProxy: string; noProxy: string };

/** The provider block's proxy arguments: undefined when absent (absent and "" differ for the two proxies). */
export type ProxyArguments = { http_proxy?: string; https_proxy?: string; no_proxy?: string };

export function proxyConfig(args: ProxyArguments, env: NodeJS.ProcessEnv): ProxyConfig {
  const cfg: ProxyConfig = {
    httpProxy: env.HTTP_PROXY || env.http_proxy || '',
    httpsProxy: env.HTTPS_PROXY || env.https_proxy || '',
    noProxy: env.NO_PROXY || env.no_proxy || '',
  };
  if (args.http_proxy !== undefined) {
    cfg.httpProxy = args.http_proxy;
    if (cfg.httpsProxy === '') cfg.httpsProxy = args.http_proxy;
  }
  if (args.https_proxy !== undefined) cfg.httpsProxy = args.https_proxy;
  if (args.no_proxy) cfg.noProxy = args.no_proxy;
  return cfg;
}

/**
 * The warning hashicorp/aws gives when the block sets only `http_proxy` and the environment no
 * HTTPS proxy: the HTTP proxy then carries HTTPS requests too.
 */
export function legacyProxyWarning(args: ProxyArguments, env: NodeJS.ProcessEnv): string | undefined {
  if (args.http_proxy && args.https_proxy === undefined && !env.HTTPS_PROXY && !env.https_proxy) {
    return `Missing HTTPS Proxy: an HTTP proxy was set but no HTTPS proxy was. Using HTTP proxy ${JSON.stringify(redactProxy(args.http_proxy))} for HTTPS requests. To specify no proxy for HTTPS, set https_proxy to an empty string.`;
  }
  return undefined;
}

/** A proxy URL as Go reads one: "host:port" without a scheme means http://host:port. Throws when it is not a URL. */
export function parseProxyUrl(proxy: string): URL {
  const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`);
  if (u.host === '') throw new TypeError(`no host in ${proxy}`);
  return u;
}

/** A proxy URL fit for messages: credentials in it are replaced. */
export function redactProxy(proxy: string): string {
  try {
    const u = parseProxyUrl(proxy);
    if (u.username || u.password) {
      u.username = 'REDACTED';
      u.password = '';
    }
    return u.href;
  } catch {
    return proxy.replace(/\/\/[^@/]*@/, '//REDACTED@');
  }
}

type Matcher = (host: string, port: string, ip: string | undefined) => boolean;

export type ProxyRules = {
  /** The proxy for a request to `url` (its protocol, host and port matter), or undefined to go direct. */
  proxyFor(url: URL): URL | undefined;
};

/** Compiles a ProxyConfig; proxy strings must already be valid (parseProxyUrl), NO_PROXY is parsed best-effort as in Go. */
export function compileProxyRules(cfg: ProxyConfig): ProxyRules {
  const httpProxy = cfg.httpProxy === '' ? undefined : parseProxyUrl(cfg.httpProxy);
  const httpsProxy = cfg.httpsProxy === '' ? undefined : parseProxyUrl(cfg.httpsProxy);
  const ipMatchers: Matcher[] = [];
  const domainMatchers: Matcher[] = [];
  let all = false;
  for (const raw of cfg.noProxy.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '') continue;
    if (p === '*') {
      all = true;
      break;
    }
    const cidr = parseCidr(p);
    if (cidr) {
      ipMatchers.push((_h, _port, ip) => ip !== undefined && cidr.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4'));
      continue;
    }
    let phost = p;
    let pport = '';
    const hp = splitHostPort(p);
    if (hp) {
      if (hp.host === '') continue;
      phost = hp.host;
      pport = hp.port;
    }
    const pip = canonicalIp(phost);
    if (pip !== undefined) {
      ipMatchers.push((_h, port, ip) => ip === pip && (pport === '' || pport === port));
      continue;
    }
    if (phost === '') continue;
    if (phost.startsWith('*.')) phost = phost.slice(1);
    const matchHost = !phost.startsWith('.');
    if (matchHost) phost = `.${phost}`;
    const suffix = ascii(phost);
    domainMatchers.push((host, port, ip) => ip === undefined && (host.endsWith(suffix) || (matchHost && host === suffix.slice(1))) && (pport === '' || pport === port));
  }

  const useProxy = (url: URL): boolean => {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (host === 'localhost') return false;
    const ip = canonicalIp(host);
    if (ip !== undefined && isLoopback(ip)) return false;
    if (all) return false;
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (ip !== undefined && ipMatchers.some((m) => m(host, port, ip))) return false;
    return !domainMatchers.some((m) => m(ascii(host), port, ip));
  };

  return {
    proxyFor(url) {
      const proxy = url.protocol === 'https:' ? httpsProxy : url.protocol === 'http:' ? httpProxy : undefined;
      return proxy && useProxy(url) ? proxy : undefined;
    },
  };
}

/** "host:port" or "[v6]:port" as Go's net.SplitHostPort splits it; undefined when there is no port. */
function splitHostPort(s: string): { host: string; port: string } | undefined {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') return undefined;
    return { host: s.slice(1, end), port: s.slice(end + 2) };
  }
  const colon = s.lastIndexOf(':');
  if (colon < 0 || s.indexOf(':') !== colon) return undefined;
  return { host: s.slice(0, colon), port: s.slice(colon + 1) };
}

/** An IP in one canonical text form (IPv4-mapped IPv6 as IPv4, as Go compares them), or undefined. */
function canonicalIp(s: string): string | undefined {
  const v = net.isIP(s);
  if (v === 4) return s.split('.').map(Number).join('.');
  if (v !== 6) return undefined;
  // The WHATWG URL parser writes IPv6 in its compressed canonical form (IPv4-mapped as ::ffff:7f00:1).
  const v6 = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function isLoopback(ip: string): boolean {
  return net.isIPv4(ip) ? ip.startsWith('127.') : ip === '::1';
}

function parseCidr(s: string): net.BlockList | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const v = net.isIP(addr);
  if (v === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > (v === 4 ? 32 : 128)) return undefined;
  const list = new net.BlockList();
  list.addSubnet(addr, Number(bits), v === 4 ? 'ipv4' : 'ipv6');
  return list;
}

/** IDNA ASCII form, as Go's idnaASCII (request hosts from the URL parser are ASCII already). */
function ascii(host: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(host)) return host;
  const dot = host.startsWith('.');
  const a = domainToASCII(dot ? host.slice(1) : host);
  return a === '' ? host : `${dot ? '.' : ''}${a}`;
}
