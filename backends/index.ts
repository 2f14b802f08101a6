import fs from 'node:fs';
import path from 'node:path';
import type { StackConfig } from '../engine/config';
import { LocalStorage } from '../engine/state';
import type { Backend } from '../engine/statemgr';
import { EngineError } from '../engine/util';
import { AwsApi } from './s3/api';
import { resolveS3Settings } from './s3/settings';
import { S3Backend } from './s3/storage';
import { invalidNameMessage, validWorkspaceName } from './workspace';

export { selectedWorkspace, setSelectedWorkspace, validWorkspaceName } from './workspace';

/**
 * The stack's backend as a storage factory (engine/statemgr.ts's Backend): the local file, or S3 as
 * Terraform 1.11 keeps it. Lives outside the engine because S3 signs with the AWS provider's
 * credential chain and transport.
 */

/** The local backend as Terraform's (internal/backend/local): `default` at `path`, workspace W at `<workspace_dir>/W/terraform.tfstate`. */
class LocalBackend implements Backend {
  readonly kind = 'local';
  constructor(private readonly statePath: string, private readonly workspaceDir: string) {}

  private dirOf(name: string): string {
    // Terraform's name rule lets "." and ".." through; as folder names they would leave workspace_dir.
    if (!validWorkspaceName(name) || name === '.' || name === '..') throw new EngineError(invalidNameMessage(name));
    return path.join(this.workspaceDir, name);
  }

  storage(workspace: string): LocalStorage {
    return new LocalStorage(workspace === 'default' ? this.statePath : path.join(this.dirOf(workspace), 'terraform.tfstate'));
  }

  /** As Terraform's Workspaces(): default, then each folder in workspace_dir, sorted. */
  async workspaces(): Promise<string[]> {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(this.workspaceDir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EngineError(`cannot list workspaces in ${this.workspaceDir}: ${(e as Error).message}`);
    }
    return ['default', ...entries.filter((d) => d.isDirectory()).map((d) => d.name).sort()];
  }

  /** As Terraform's createState: the folder only; the state file comes with the first write. */
  async createWorkspace(name: string): Promise<void> {
    if (name !== 'default') fs.mkdirSync(this.dirOf(name), { recursive: true, mode: 0o755 });
  }

  async deleteWorkspace(name: string): Promise<void> {
    if (name === 'default') throw new EngineError('the default workspace cannot be deleted');
    fs.rmSync(this.dirOf(name), { recursive: true, force: true });
  }

  async close(): Promise<void> {}
}

/** Checks the backend block and builds the backend: refused settings fail here, before any call. */
export function openBackend(config: StackConfig, env: NodeJS.ProcessEnv): Backend {
  if (config.backend.type === 'local') return new LocalBackend(config.backend.path, config.backend.workspaceDir);
  const { settings, diagnostics } = resolveS3Settings(config.backend.body, env);
  if (!settings) throw new EngineError(diagnostics.filter((d) => d.severity === 'error'));
  return new S3Backend(new AwsApi(settings), settings);
}
