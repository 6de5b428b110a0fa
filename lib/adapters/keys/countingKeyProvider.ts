/**
 * Counts calls through a KeyProvider, so tests can prove Key Vault economy (DESIGN §4: nothing hot unwraps
 * with the master key per request).
 */
import type { KeyProvider } from '../../ports';

export interface KeyProviderCounts {
  wrap: number;
  unwrap: number;
}

export function countingKeyProvider(inner: KeyProvider): { provider: KeyProvider; counts: KeyProviderCounts } {
  const counts: KeyProviderCounts = { wrap: 0, unwrap: 0 };
  const provider: KeyProvider = {
    currentKeyId: () => inner.currentKeyId(),
    wrapKey(plainKey) {
      counts.wrap++;
      return inner.wrapKey(plainKey);
    },
    unwrapKey(key) {
      counts.unwrap++;
      return inner.unwrapKey(key);
    },
  };
  return { provider, counts };
}
