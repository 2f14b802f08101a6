export * from './types';
export * from './environments';
export * from './cluster';
export * from './identity-provider';
export * from './eks-stack';
export * from './validation';
