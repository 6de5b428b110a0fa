/**
 * KeyProvider on an Azure Key Vault RSA key (RSA-OAEP-256). Key Vault allows only tens of RSA-4096 operations
 * per second per vault (DESIGN §4), so wrapping is local with the cached public key and only unwrapping calls
 * the vault. The SDK's own local provider cannot help: it wraps with RSA-OAEP (SHA-1) only.
 */
import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, parseKeyVaultKeyIdentifier, type JsonWebKey } from '@azure/keyvault-keys';
import type { Clock, KeyProvider, WrappedKey } from '../../ports';
import { systemClock } from '../../system';

export interface KeyVaultKeyProviderOptions {
  readonly vaultUrl: string;
  readonly masterKeyName: string;
  /** Default: DefaultAzureCredential (the managed identity in Azure). */
  readonly credential?: TokenCredential;
  /** How long the current key version is used before Key Vault is asked again; default 5 minutes. */
  readonly refreshIntervalInSeconds?: number;
  readonly clock?: Clock;
  /** Stands in for Key Vault in tests; default: the Azure SDK clients. */
  readonly vault?: KeyVaultOperations;
}

/** The two Key Vault calls this adapter makes. */
export interface KeyVaultOperations {
  /** The current version of the key: its versioned id, public JWK and attributes. */
  getKey(name: string): Promise<{ id?: string; key?: JsonWebKey; properties?: { enabled?: boolean } }>;
  unwrapKey(keyId: string, wrapped: Buffer): Promise<Uint8Array>;
}

interface CurrentKey {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly fetchedAtInMs: number;
}

export function createKeyVaultKeyProvider(options: KeyVaultKeyProviderOptions): KeyProvider {
  const vault = options.vault ?? azureKeyVault(options.vaultUrl, options.credential ?? new DefaultAzureCredential());
  const clock = options.clock ?? systemClock;
  const refreshIntervalInMs = (options.refreshIntervalInSeconds ?? 300) * 1000;
  const vaultOrigin = new URL(options.vaultUrl).origin;
  let current: CurrentKey | undefined;
  let fetching: Promise<CurrentKey> | undefined;

  const fetchCurrentKey = async (): Promise<CurrentKey> => {
    const key = await vault.getKey(options.masterKeyName);
    const jwk = key.key;
    if (!key.id || !jwk?.n || !jwk.e || !jwk.kty?.startsWith('RSA')) {
      throw new Error(`Key Vault key "${options.masterKeyName}" is not an RSA key`);
    }
    // A wrap by a disabled key could not be unwrapped until someone enables it again.
    if (key.properties?.enabled === false) throw new Error(`Key Vault key "${options.masterKeyName}" is disabled`);
    const publicKey = createPublicKey({
      key: { kty: 'RSA', n: Buffer.from(jwk.n).toString('base64url'), e: Buffer.from(jwk.e).toString('base64url') },
      format: 'jwk',
    });
    return { keyId: key.id, publicKey, fetchedAtInMs: clock.now().getTime() };
  };

  const currentKey = async (): Promise<CurrentKey> => {
    if (current && clock.now().getTime() - current.fetchedAtInMs < refreshIntervalInMs) return current;
    fetching ??= fetchCurrentKey().finally(() => (fetching = undefined));
    try {
      current = await fetching;
    } catch (error) {
      // While Key Vault is unreachable the version already known still wraps correctly.
      if (!current) throw error;
    }
    return current;
  };

  return {
    async currentKeyId() {
      return (await currentKey()).keyId;
    },

    async wrapKey(plainKey: Buffer): Promise<WrappedKey> {
      const { keyId, publicKey } = await currentKey();
      // RSA-OAEP-256 (RFC 7518 §4.3) is OAEP with SHA-256 and MGF1-SHA-256; Node's oaepHash sets both.
      const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plainKey);
      return { masterKeyId: keyId, wrapped };
    },

    async unwrapKey({ masterKeyId, wrapped }: WrappedKey): Promise<Buffer> {
      // The id comes from stored data: never send it (and our credential) to another vault or key.
      let identifier: ReturnType<typeof parseKeyVaultKeyIdentifier>;
      try {
        identifier = parseKeyVaultKeyIdentifier(masterKeyId);
      } catch {
        throw new Error('The wrapped key names no Key Vault key version');
      }
      const sameKey =
        new URL(identifier.vaultUrl).origin === vaultOrigin &&
        identifier.name.toLowerCase() === options.masterKeyName.toLowerCase() &&
        Boolean(identifier.version);
      if (!sameKey) throw new Error(`The wrapped key was not wrapped by a version of "${options.masterKeyName}" in this vault`);
      return Buffer.from(await vault.unwrapKey(masterKeyId, wrapped));
    },
  };
}

function azureKeyVault(vaultUrl: string, credential: TokenCredential): KeyVaultOperations {
  const keys = new KeyClient(vaultUrl, credential);
  // One client per key version: a client fetches its key once, then each unwrap is a single call.
  const cryptographyClients = new Map<string, CryptographyClient>();
  return {
    getKey: (name) => keys.getKey(name),
    async unwrapKey(keyId, wrapped) {
      let client = cryptographyClients.get(keyId);
      if (!client) {
        client = new CryptographyClient(keyId, credential);
        cryptographyClients.set(keyId, client);
      }
      return (await client.unwrapKey('RSA-OAEP-256', wrapped)).result;
    },
  };
}
