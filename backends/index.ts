import type { StackConfig } from '../engine/config';
import { LocalStorage } from '../engine/state';
import type { Backend } from '../engine/statemgr';
import { EngineError } from '../engine/util';
import { AwsApi } from './s3/api';
import { resolveS3Settings } from './s3/settings';
import { S3Backend } from './s3/storage';

/**
 * The stack's backend as a storage factory (engine/statemgr.ts's Backend): the local file, or S3 as
 * Terraform 1.11 keeps it. Lives outside the engine because S3 signs with the AWS provider's
 * credential chain and transport.
 */

/** Terraform's workspace name rule (no slashes, URL-safe). */
const WORKSPACE_NAME = /^[A-Za-z0-9_.-]+$/;

/** The workspace a command works in: TF_WORKSPACE, as Terraform reads it, else `default`. */
export function workspaceOf(env: NodeJS.ProcessEnv): string {
  const ws = env.TF_WORKSPACE;
  if (ws === undefined || ws === '') return 'default';
  if (!WORKSPACE_NAME.test(ws)) throw new EngineError(`TF_WORKSPACE=${JSON.stringify(ws)} is not a valid workspace name (letters, digits, "-", "_" and "." only)`);
  return ws;
}

/** The local backend: one state file; workspaces other than default are refused (README: "Workspaces"). */
class LocalBackend implements Backend {
  readonly kind = 'local';
  constructor(private readonly path: string) {}
  storage(workspace: string): LocalStorage {
    if (workspace !== 'default') throw new EngineError(`workspace "${workspace}": eksidp supports workspaces with the s3 backend only; with the local backend there is just "default" (unset TF_WORKSPACE, or configure an S3 backend)`);
    return new LocalStorage(this.path);
  }
  async workspaces(): Promise<string[]> {
    return ['default'];
  }
  async deleteWorkspace(name: string): Promise<void> {
    this.storage(name);
  }
  async close(): Promise<void> {}
}

/** Checks the backend block and builds the backend: refused settings fail here, before any call. */
export function openBackend(config: StackConfig, env: NodeJS.ProcessEnv): Backend {
  if (config.backend.type === 'local') return new LocalBackend(config.backend.path);
  const { settings, diagnostics } = resolveS3Settings(config.backend.body, env);
  if (!settings) throw new EngineError(diagnostics.filter((d) => d.severity === 'error'));
  return new S3Backend(new AwsApi(settings), settings);
}
