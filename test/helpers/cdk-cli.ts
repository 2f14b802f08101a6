import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';
import { projectRoot } from './project';
import { terraformTest } from './terraform';

/**
 * Which CDK CLI can run on this Node. cdktf-cli 0.21 loads the native `node-pty` it bundles, which
 * ships builds for Node ABIs up to 127 (Node 22): on Node 24 (ABI 137) every `cdktf` command fails with
 * "Cannot find module '../build/Debug/pty.node'". Its maintained successor, CDK Terrain's `cdktn`
 * (cdktn-cli, no node-pty), needs Node >= 22.19 and runs the same app unchanged.
 */

export const nodeMajor = Number(process.versions.node.split('.')[0]);
const ptyPrebuilds = path.join(projectRoot, 'node_modules', '@cdktf', 'node-pty-prebuilt-multiarch', 'prebuilds', `${process.platform}-${process.arch}`);
const ptyBuild = path.join(ptyPrebuilds, `node.abi${process.versions.modules}.node`);
export const cdktfCliRuns = fs.existsSync(ptyBuild);
const cdktfWhyNot = `cdktf-cli 0.21's bundled node-pty has no build for Node ${process.versions.node} (ABI ${process.versions.modules}; no ${path.relative(projectRoot, ptyBuild)}), so every cdktf command fails with "Cannot find module '../build/Debug/pty.node'"`;

const [maj, min] = process.versions.node.split('.').map(Number) as [number, number];
export const cdktnCliRuns = maj > 22 || (maj === 22 && min >= 19);
const cdktnWhyNot = `cdktn-cli 0.24 needs Node >= 22.19 (engines), this is ${process.versions.node}`;

export const cdktfBin = path.join(projectRoot, 'node_modules', '.bin', 'cdktf');
export const cdktnBin = path.join(projectRoot, 'node_modules', '.bin', 'cdktn');

const warned = new Set<string>();
function skipLoudly(test: TestFn, title: string, why: string, instead: string): void {
  if (!warned.has(why)) {
    warned.add(why);
    process.stderr.write(`\n*** SKIPPING on Node ${process.versions.node}: ${why}. ${instead} ***\n\n`);
  }
  test.skip(`${title} [SKIPPED: ${why}]`, () => {});
}

/** A test that runs the cdktf CLI (and Terraform): skipped loudly where cdktf-cli cannot start. */
export function cdktfCliTest(test: TestFn, title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  if (cdktfCliRuns) terraformTest(test, title, fn);
  else skipLoudly(test, title, cdktfWhyNot, 'The cdktn tests run this flow on this Node instead.');
}

/** A test that runs the cdktn CLI (and Terraform): skipped loudly where cdktn-cli cannot start. */
export function cdktnCliTest(test: TestFn, title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  if (cdktnCliRuns) terraformTest(test, title, fn);
  else skipLoudly(test, title, cdktnWhyNot, 'The cdktf tests run this flow on this Node instead.');
}
