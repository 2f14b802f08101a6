import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { ExecutionContext, TestFn } from 'ava';
import type { OidcConfig } from '../../identity';

/**
 * The go-oidc v2 oracle (test/oracle/go-oidc/main.go): built once per test file with the machine's Go
 * and Debian's Go sources (golang-go, golang-github-coreos-go-oidc-dev, golang-gopkg-square-go-jose.v2-dev,
 * installed by .ci/run), GOPATH mode and GOPROXY=off, so nothing is downloaded. Where Go or go-oidc is
 * missing the tests are skipped with a loud message, unless EKSIDP_REQUIRE_GO=1 (set by .ci/run),
 * which makes it a failure.
 */

const GOPATH = '/usr/share/gocode';
const GO_OIDC = path.join(GOPATH, 'src', 'github.com', 'coreos', 'go-oidc', 'verify.go');
const SOURCE = path.join(__dirname, '..', 'oracle', 'go-oidc');

function goOnPath(): boolean {
  return spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
}

const hasGo = goOnPath();
const missingWhat = !hasGo ? 'the go command is not on PATH (apt-get install golang-go)' : `go-oidc v2 is not at ${GO_OIDC} (apt-get install golang-github-coreos-go-oidc-dev)`;
export const goOracleAvailable = hasGo && fs.existsSync(GO_OIDC);
export const goRequired = process.env.EKSIDP_REQUIRE_GO === '1';

/** The legacy --oidc-* flags EKS sets from an identity provider config (the config itself), and the exact payload text. */
export type OracleRequest = OidcConfig & { id: string; payload: string; header?: string };

export type OracleVerdict = 'accepted' | 'rejected' | 'skipped' | 'unknown' | 'config-error';
export type OracleResponse = { id: string; token: string; verdict: OracleVerdict; username?: string; groups: string[]; error?: string };

const goEnv = (cache: string): NodeJS.ProcessEnv => ({
  ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local', GOCACHE: cache, CGO_ENABLED: '0',
});

/** Builds the harness (about 3 s with a warm cache, 15 s cold) and returns the binary's path. */
export function buildOracle(): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-oracle-'));
  const bin = path.join(out, 'go-oidc-oracle');
  // A cache of our own that survives between runs (the build of go-jose is the slow part).
  const cache = path.join(os.tmpdir(), 'eksidp-go-build-cache');
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: SOURCE, encoding: 'utf8', env: goEnv(cache) });
  if (r.status !== 0) throw new Error(`go build of the oracle failed (${r.status}):\n${r.stderr}`);
  return bin;
}

/** Runs every request through one harness process; responses in request order. */
export async function judgeAll(bin: string, requests: OracleRequest[]): Promise<OracleResponse[]> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = readline.createInterface({ input: child.stdout });
  const out: OracleResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    lines.on('line', (l) => out.push(JSON.parse(l) as OracleResponse));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`oracle exited ${code}: ${stderr}`))));
  });
  child.stdin.end(requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await done;
  if (out.length !== requests.length) throw new Error(`oracle answered ${out.length} of ${requests.length} cases: ${stderr}`);
  out.forEach((o, i) => {
    if (o.id !== requests[i]!.id) throw new Error(`oracle answered ${o.id} for ${requests[i]!.id}`);
  });
  return out;
}

let warned = false;
/** Declares a test that needs the oracle: skipped loudly without Go, failed when EKSIDP_REQUIRE_GO=1. */
export function goOracleTest(test: TestFn, title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  if (goOracleAvailable) {
    test(title, fn);
  } else if (goRequired) {
    test(title, (t) => t.fail(`EKSIDP_REQUIRE_GO=1 but ${missingWhat}: the go-oidc oracle cannot run`));
  } else {
    if (!warned) {
      warned = true;
      process.stderr.write(`\n*** WARNING: ${missingWhat}; SKIPPING the go-oidc oracle tests. CI (EKSIDP_REQUIRE_GO=1) fails instead. ***\n\n`);
    }
    test.skip(`${title} [SKIPPED: ${missingWhat}]`, () => {});
  }
}
