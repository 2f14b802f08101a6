import type { ClusterSpec, EnvironmentSpec, IdentityProviderSpec } from './types';
export function identityProviderErrors(_spec: IdentityProviderSpec): string[] { return []; }
export function clusterErrors(_spec: ClusterSpec): string[] { return []; }
export function environmentErrors(_env: EnvironmentSpec): string[] { return []; }
