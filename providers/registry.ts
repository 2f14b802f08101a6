import type { Provider, ProviderFactory } from '../engine/protocol';

/**
 * Provider factories by the provider name used in Terraform JSON. Loaded lazily, so a stack that
 * only uses `memory` never loads the AWS SDK. Tests may register extra providers.
 */
const factories = new Map<string, ProviderFactory>([
  // The native EKS provider for the types it implements, hashicorp/aws's plugin for the others (providers/plugin).
  ['aws', (ctx) => {
    const eks = require('./eks') as typeof import('./eks');
    if (!ctx) return eks.createEksProvider();
    const { createRoutedProvider } = require('./plugin/routing') as typeof import('./plugin/routing');
    return createRoutedProvider(ctx, { provider: eks.createEksProvider(), types: eks.NATIVE_TYPES });
  }],
]);

/**
 * The fault-injecting in-memory provider serves the engine and reliability tests, also through the
 * real binary; a user's stack must never select it by accident, so it exists only when the tests ask
 * (the test runner sets EKSIDP_TEST_PROVIDERS=1).
 */
const testFactories = new Map<string, ProviderFactory>([
  ['memory', () => (require('./memory') as { createMemoryProvider: () => Provider }).createMemoryProvider()],
]);

export function registerProvider(name: string, factory: ProviderFactory): () => void {
  const previous = factories.get(name);
  factories.set(name, factory);
  return () => {
    if (previous) factories.set(name, previous);
    else factories.delete(name);
  };
}

/** Any other provider is served wholly by its Terraform plugin, found as `terraform init` installed it. */
const pluginOnly: ProviderFactory = (ctx) => {
  if (!ctx) throw new Error('a plugin provider needs its configuration context');
  const { createRoutedProvider } = require('./plugin/routing') as typeof import('./plugin/routing');
  return createRoutedProvider(ctx, undefined);
};

export function providerFactory(name: string): ProviderFactory | undefined {
  return factories.get(name) ?? (process.env.EKSIDP_TEST_PROVIDERS === '1' ? testFactories.get(name) : undefined) ?? pluginOnly;
}
