import fs from 'node:fs';
import path from 'node:path';

/** Writes a Terraform JSON stack as cdktf lays it out: `cdk.tf.json` in the stack folder (made if absent). */
export function writeStack(dir: string, stack: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cdk.tf.json'), `${JSON.stringify(stack, null, 2)}\n`);
}
