import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../lib/files';
import { EngineError } from '../engine/util';

/**
 * Which workspace a command works in, kept where Terraform keeps it so `terraform workspace select`
 * and `eksidp workspace select` see each other: `TF_WORKSPACE` when set, else the name in
 * `<data dir>/environment` of the stack's folder (the data dir is `TF_DATA_DIR`, else `.terraform`;
 * a relative one is taken from the stack's folder, where cdktf runs Terraform), else `default`
 * (internal/command/meta.go's WorkspaceOverridden and SetWorkspace).
 */

/** Terraform's rule (arguments.ValidWorkspaceName): not empty, and unchanged by Go's url.PathEscape. */
export function validWorkspaceName(name: string): boolean {
  return /^[A-Za-z0-9\-_.~$&+:=@]+$/.test(name);
}

/** Terraform's text for a name it refuses (arguments.EnvInvalidName), on one line. */
export function invalidNameMessage(name: string): string {
  return `The workspace name ${JSON.stringify(name)} is not allowed. The name must contain only URL safe characters, contain no path separators, and not be an empty string.`;
}

/** `<stack dir>/.terraform/environment`, or under TF_DATA_DIR. */
export function environmentFile(env: NodeJS.ProcessEnv, stackDir: string): string {
  const dataDir = env.TF_DATA_DIR ? env.TF_DATA_DIR : '.terraform';
  return path.join(path.resolve(stackDir, dataDir), 'environment');
}

export type SelectedWorkspace = { name: string; overridden: boolean };

/**
 * The current workspace. `lenient` (select and delete, as Terraform's bypassWorkspaceNameValidityCheck)
 * accepts an invalid name in the file, so a bad selection can be replaced.
 */
export function selectedWorkspace(env: NodeJS.ProcessEnv, stackDir: string, opts: { lenient?: boolean } = {}): SelectedWorkspace {
  const fromEnv = env.TF_WORKSPACE;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!validWorkspaceName(fromEnv)) throw new EngineError(`Invalid workspace name set using TF_WORKSPACE: ${JSON.stringify(fromEnv)} (${invalidNameMessage(fromEnv)})`);
    return { name: fromEnv, overridden: true };
  }
  const file = environmentFile(env, stackDir);
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // As Terraform: a file that cannot be read means default.
  }
  const name = text.trim() || 'default';
  if (!opts.lenient && !validWorkspaceName(name)) {
    throw new EngineError(`Invalid workspace name: the selected workspace described in ${JSON.stringify(file)} has an invalid name. This suggests that the file contents were edited by something other than Terraform or eksidp. To select a different, valid workspace name use eksidp workspace select NAME (or --or-create).`);
  }
  return { name, overridden: false };
}

/** Records the selection as Terraform does (the bare name, no newline), creating the data dir. */
export function setSelectedWorkspace(env: NodeJS.ProcessEnv, stackDir: string, name: string): void {
  const file = environmentFile(env, stackDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, name, { mode: 0o644 });
}
