/**
 * The KeyProvider contract: every adapter passes the same suite (local key files always, Key Vault when configured).
 * `make` returns a new provider instance over the same backing keys each time it is called.
 */
import { randomBytes } from 'node:crypto';
import type { KeyProvider } from '../../lib/ports';

export function describeKeyProviderContract(name: string, make: () => KeyProvider): void {
  describe(`KeyProvider contract: ${name}`, () => {
    it('unwraps what it wrapped (32 bytes), naming the current master key', async () => {
      const provider = make();
      const plainKey = randomBytes(32);

      const wrapped = await provider.wrapKey(plainKey);

      expect(wrapped.masterKeyId).toBe(await provider.currentKeyId());
      expect(wrapped.wrapped.equals(plainKey)).toBe(false);
      expect(await provider.unwrapKey(wrapped)).toEqual(plainKey);
    });

    it('wraps the same key differently every time (OAEP is randomized)', async () => {
      const provider = make();
      const plainKey = randomBytes(32);

      const [first, second] = await Promise.all([provider.wrapKey(plainKey), provider.wrapKey(plainKey)]);

      expect(first.wrapped.equals(second.wrapped)).toBe(false);
      expect(await provider.unwrapKey(second)).toEqual(plainKey);
    });

    it('refuses a tampered wrap', async () => {
      const provider = make();
      const wrapped = await provider.wrapKey(randomBytes(32));
      const tampered = Buffer.from(wrapped.wrapped);
      tampered[tampered.length >> 1]! ^= 0x01;

      await expect(provider.unwrapKey({ masterKeyId: wrapped.masterKeyId, wrapped: tampered })).rejects.toThrow();
    });

    it('refuses a wrap naming a master key it does not know', async () => {
      const provider = make();
      const wrapped = await provider.wrapKey(randomBytes(32));

      await expect(provider.unwrapKey({ masterKeyId: 'not-a-master-key', wrapped: wrapped.wrapped })).rejects.toThrow();
    });

    it('a new provider instance unwraps what an earlier one wrapped', async () => {
      const plainKey = randomBytes(32);
      const wrapped = await make().wrapKey(plainKey);

      const later = make();

      expect(await later.currentKeyId()).toBe(wrapped.masterKeyId);
      expect(await later.unwrapKey(wrapped)).toEqual(plainKey);
    });
  });
}
