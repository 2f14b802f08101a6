import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';

/**
 * Helpers for tests that run the real `terraform` binary offline, through the machine's filesystem
 * mirror of hashicorp/aws 5.100.0. Where terraform (or the mirror) is missing the tests are skipped
 * with a loud message, unless EKSIDP_REQUIRE_TERRAFORM=1 (set by .ci/run), which makes it a failure.
 */

const MIRROR_CANDIDATES = [process.env.EKSIDP_TF_MIRROR, '/opt/tf-plugins', '/usr/share/terraform/plugins', path.join(os.homedir(), '.terraform.d', 'plugins')];

function findMirror(): string | undefined {
  for (const c of MIRROR_CANDIDATES) {
    if (c && fs.existsSync(path.join(c, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0'))) return c;
  }
  return undefined;
}

function terraformOnPath(): boolean {
  return spawnSync('terraform', ['version'], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } }).status === 0;
}

export const mirror = findMirror();
export const terraformAvailable = terraformOnPath() && mirror !== undefined;
export const terraformRequired = process.env.EKSIDP_REQUIRE_TERRAFORM === '1';
const missingWhat = !terraformOnPath() ? 'the terraform CLI is not on PATH' : 'the offline provider mirror of hashicorp/aws 5.100.0 was not found';

let configFile: string | undefined;
/**
 * A CLI config of our own (the machine's TF_CLI_CONFIG_FILE points at a missing file). No
 * plugin_cache_dir: Terraform's cache is not safe for concurrent inits, and tests init in parallel
 * (seen in CI: "failed to create directory .../registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64:
 * file exists"). From an unpacked mirror, init symlinks the provider instead (about a second).
 */
export function terraformCliConfig(): string {
  if (configFile) return configFile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eksidp-tfrc-'));
  configFile = path.join(dir, 'terraform.rc');
  fs.writeFileSync(
    configFile,
    `provider_installation {\n  filesystem_mirror {\n    path    = "${mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
  );
  return configFile;
}

/** Environment for terraform and cdktf runs: offline, no version checks, no crash reports. */
export function terraformEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TF_CLI_CONFIG_FILE: terraformCliConfig(),
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    ...extra,
  };
}

export type TfResult = { code: number; stdout: string; stderr: string };

/**
 * Terraform runs in a process group of its own (with the provider plugins it starts), killed whole when
 * this test process ends: ava stops a timed-out test file with SIGTERM, and a terraform left running
 * would keep its provider plugin (~0.6 GiB) alive with no parent.
 */
const running = new Set<number>();
let cleanupHooked = false;
function killRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}
function hookCleanup(): void {
  if (cleanupHooked) return;
  cleanupHooked = true;
  process.on('exit', killRunning);
  process.once('SIGTERM', () => {
    killRunning();
    process.exit(143);
  });
}

/** Runs terraform in a folder; resolves with its exit code and output (never rejects on exit code). */
export function terraform(cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<TfResult> {
  hookCleanup();
  return new Promise((resolve, reject) => {
    const child = spawn('terraform', args, { cwd, env: terraformEnv(extraEnv), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) running.add(child.pid);
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (child.pid !== undefined) running.delete(child.pid);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

let warned = false;
/**
 * Declares a test that needs terraform: skipped loudly when it is missing, failed when
 * EKSIDP_REQUIRE_TERRAFORM=1.
 */
export function terraformTest(test: TestFn, title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  if (terraformAvailable) {
    test(title, fn);
  } else if (terraformRequired) {
    test(title, (t) => t.fail(`EKSIDP_REQUIRE_TERRAFORM=1 but ${missingWhat}: Terraform interop tests cannot run`));
  } else {
    if (!warned) {
      warned = true;
      process.stderr.write(`\n*** WARNING: ${missingWhat}; SKIPPING Terraform interop tests. CI (EKSIDP_REQUIRE_TERRAFORM=1) fails instead. ***\n\n`);
    }
    test.skip(`${title} [SKIPPED: ${missingWhat}]`, () => {});
  }
}
