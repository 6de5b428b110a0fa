/**
 * The Key Vault adapter: always against a stand-in vault (an in-memory RSA key behind the same two operations,
 * unwrapping with RSA-OAEP-256 as Key Vault does), and against a real vault when TEST_KEY_VAULT_URL is set
 * (TEST_KEY_VAULT_KEY_NAME names an RSA key, default "connectid-master"; DefaultAzureCredential needs the
 * "Key Vault Crypto User" role on it).
 */
import { constants, generateKeyPairSync, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import type { JsonWebKey } from '@azure/keyvault-keys';
import { countingKeyProvider } from '../../lib/adapters/keys/countingKeyProvider';
import { createKeyVaultKeyProvider, type KeyVaultOperations } from '../../lib/adapters/keys/keyVaultKeyProvider';
import type { Clock } from '../../lib/ports';
import { describeKeyProviderContract } from './keyProviderContract';

const VAULT_URL = 'https://connectid-test.vault.azure.net';

/** A vault holding versions of one RSA key; counts the calls that would reach Key Vault. */
function standInVault(name = 'master') {
  const versions = new Map<string, KeyObject>();
  let currentId = '';
  const calls = { getKey: 0, unwrapKey: 0 };
  const rotate = (): string => {
    currentId = `${VAULT_URL}/keys/${name}/${randomBytes(16).toString('hex')}`;
    versions.set(currentId, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    return currentId;
  };
  rotate();
  const vault: KeyVaultOperations = {
    async getKey() {
      calls.getKey++;
      const jwk = versions.get(currentId)!.export({ format: 'jwk' });
      const key: JsonWebKey = { kty: 'RSA', n: Buffer.from(jwk.n!, 'base64url'), e: Buffer.from(jwk.e!, 'base64url') };
      return { id: currentId, key, properties: { enabled: true } };
    },
    async unwrapKey(keyId, wrapped) {
      calls.unwrapKey++;
      const privateKey = versions.get(keyId);
      if (!privateKey) throw Object.assign(new Error('KeyNotFound'), { statusCode: 404 });
      return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
    },
  };
  return { vault, calls, rotate };
}

const contractVault = standInVault();
describeKeyProviderContract('Key Vault adapter on a stand-in vault', () =>
  createKeyVaultKeyProvider({ vaultUrl: VAULT_URL, masterKeyName: 'master', vault: contractVault.vault }),
);

describe('Key Vault key provider', () => {
  function setUp() {
    const standIn = standInVault();
    let nowInMs = Date.parse('2030-01-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(nowInMs) };
    const { provider, counts } = countingKeyProvider(
      createKeyVaultKeyProvider({ vaultUrl: VAULT_URL, masterKeyName: 'master', vault: standIn.vault, clock }),
    );
    return { ...standIn, provider, counts, advanceSeconds: (seconds: number) => (nowInMs += seconds * 1000) };
  }

  it('wraps locally: after the first wrap, wrapping makes no Key Vault call', async () => {
    const { provider, calls, counts } = setUp();

    await Promise.all(Array.from({ length: 20 }, () => provider.wrapKey(randomBytes(32))));

    expect(calls).toEqual({ getKey: 1, unwrapKey: 0 });
    expect(counts).toEqual({ wrap: 20, unwrap: 0 });
  });

  it('each unwrap is one Key Vault call', async () => {
    const { provider, calls, counts } = setUp();
    const wrapped = await provider.wrapKey(randomBytes(32));

    await provider.unwrapKey(wrapped);
    await provider.unwrapKey(wrapped);

    expect(calls.unwrapKey).toBe(2);
    expect(counts.unwrap).toBe(2);
  });

  it('picks up a new key version after the refresh interval, and old wraps still unwrap', async () => {
    const { provider, calls, rotate, advanceSeconds } = setUp();
    const oldKey = randomBytes(32);
    const oldWrap = await provider.wrapKey(oldKey);
    const newVersion = rotate();

    advanceSeconds(299);
    expect(await provider.currentKeyId()).toBe(oldWrap.masterKeyId);
    advanceSeconds(1);
    const newWrap = await provider.wrapKey(randomBytes(32));

    expect(newWrap.masterKeyId).toBe(newVersion);
    expect(calls.getKey).toBe(2);
    expect(await provider.unwrapKey(oldWrap)).toEqual(oldKey);
  });

  it('keeps wrapping with the known version while Key Vault cannot be reached', async () => {
    const { provider, vault, advanceSeconds } = setUp();
    const known = await provider.currentKeyId();
    vault.getKey = async () => {
      throw new Error('ECONNRESET');
    };
    advanceSeconds(600);

    expect((await provider.wrapKey(randomBytes(32))).masterKeyId).toBe(known);
  });

  it('never sends an unwrap to another vault or another key', async () => {
    const { provider, calls } = setUp();
    const { wrapped, masterKeyId } = await provider.wrapKey(randomBytes(32));
    const version = masterKeyId.split('/').at(-1);

    for (const foreign of [`https://evil.vault.azure.net/keys/master/${version}`, `${VAULT_URL}/keys/other/${version}`]) {
      await expect(provider.unwrapKey({ masterKeyId: foreign, wrapped })).rejects.toThrow(/not wrapped by a version/);
    }
    expect(calls.unwrapKey).toBe(0);
  });

  it('refuses a Key Vault key that is not RSA or is disabled', async () => {
    const { vault } = standInVault();
    const rsa = await vault.getKey('master');
    const ec = createKeyVaultKeyProvider({
      vaultUrl: VAULT_URL,
      masterKeyName: 'master',
      vault: { ...vault, getKey: async () => ({ id: rsa.id, key: { kty: 'EC' } }) },
    });
    const disabled = createKeyVaultKeyProvider({
      vaultUrl: VAULT_URL,
      masterKeyName: 'master',
      vault: { ...vault, getKey: async () => ({ ...rsa, properties: { enabled: false } }) },
    });

    await expect(ec.currentKeyId()).rejects.toThrow(/not an RSA key/);
    await expect(disabled.currentKeyId()).rejects.toThrow(/disabled/);
  });
});

const vaultUrl = process.env.TEST_KEY_VAULT_URL;
if (vaultUrl) {
  const masterKeyName = process.env.TEST_KEY_VAULT_KEY_NAME ?? 'connectid-master';
  describeKeyProviderContract(`Key Vault adapter on ${vaultUrl}`, () => createKeyVaultKeyProvider({ vaultUrl, masterKeyName }));
} else {
  console.info('Skipping the Key Vault contract on a real vault: TEST_KEY_VAULT_URL is not set');
  // Reason for skipping: this machine and CI reach no Azure service, so the contract cannot run against a real Key Vault
  // here; it runs, unchanged, when its TEST_* settings are present (README: "What is verified here").
  describe.skip('KeyProvider contract on a real Key Vault — skipped because TEST_KEY_VAULT_URL is not set (no Azure from here)', () => {
    it('runs when TEST_KEY_VAULT_URL is set', () => undefined);
  });
}
