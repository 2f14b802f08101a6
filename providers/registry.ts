import type { Provider, ProviderFactory } from '../engine/protocol';

/**
 * Provider factories by the provider name used in Terraform JSON. Loaded lazily, so a stack that
 * only uses `memory` never loads the AWS SDK. Tests may register extra providers.
 */
const factories = new Map<string, ProviderFactory>([
  ['aws', () => (require('./eks') as { createEksProvider: () => Provider }).createEksProvider()],
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

export function providerFactory(name: string): ProviderFactory | undefined {
  return factories.get(name);
}
