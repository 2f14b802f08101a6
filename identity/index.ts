export * from './types';
export * from './oidc-fields';
export * from './mapping';
export * from './preview';
export * from './rbac';
export * from './jwt';
export * from './terraform';
export * from './issuer';
