/**
 * Our keys for encrypted UserInfo answers (OpenID Connect Core §5.3.2: signed, then encrypted to the client). They
 * are published at /.well-known/eid-jwks.json, the `jwks_uri` registered with each provider, and handed to
 * openid-client (`enableDecryptingResponses`) to open the answers.
 *
 *   EC P-256   for ECDH-ES and ECDH-ES+A*KW
 *   RSA-2048   for RSA-OAEP-256 and RSA-OAEP (what eID hubs such as Connective's commonly use)
 *
 * The published keys name no `alg`, so a provider may pick any of those with its key type. Private keys are stored
 * as PKCS#8, sealed with AES-256-GCM under a 256-bit eID root key; the root key is a wrapped_keys row (purpose
 * `eid-enc`) wrapped by the master key, so `npx connectid rewrap-keys` covers it. An RSA private key is too large to
 * wrap with the master key directly (RSA-OAEP holds at most a few hundred bytes), hence the root key.
 *
 * Created on first use, in one transaction with the root key: instances racing to create them settle on one set
 * (the root key's primary key lets one win; the other reads the winner's keys). Loaded once per process; the
 * master key is unwrapped once per process.
 */
import { createPublicKey, generateKeyPair, webcrypto, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { UniqueViolationError, p, sql } from '../../adapters/sql/params';
import { ColumnCipher } from '../../crypto/columnCipher';
import { generateKey } from '../../crypto/keyWrap';
import type { Clock, KeyProvider, Random, SqlExecutor, Store } from '../../ports';

const generateKeyPairAsync = promisify(generateKeyPair);

const ROOT_KEY_ID = 'eid-enc-root';
const ROOT_KEY_PURPOSE = 'eid-enc';
const SEAL_CONTEXT = 'eid_encryption_keys.sealed_private';

export type PublicEncryptionJwk =
  | { readonly kty: 'EC'; readonly crv: 'P-256'; readonly x: string; readonly y: string; readonly kid: string; readonly use: 'enc' }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string; readonly kid: string; readonly use: 'enc' };

/** What openid-client's enableDecryptingResponses takes: a private CryptoKey, and the JWE alg and kid it serves. */
export interface DecryptionKey {
  readonly key: webcrypto.CryptoKey;
  readonly alg: string;
  readonly kid: string;
}

export interface EidEncryptionKeysDeps {
  readonly store: Store;
  readonly keys: KeyProvider;
  readonly clock: Clock;
  readonly random: Random;
}

interface LoadedKey {
  readonly kid: string;
  readonly jwk: PublicEncryptionJwk;
  readonly pkcs8: Buffer;
}

type KeyRow = { kid: string; kty: string; public_jwk: string; sealed_private: Uint8Array };

export class EidEncryptionKeys {
  private loading: Promise<LoadedKey[]> | null = null;

  constructor(private readonly deps: EidEncryptionKeysDeps) {}

  /** The public keys providers encrypt to (a JWK Set, RFC 7517). */
  async jwks(): Promise<{ keys: PublicEncryptionJwk[] }> {
    return { keys: (await this.load()).map((key) => ({ ...key.jwk })) };
  }

  /** Every private key, as CryptoKeys for each JWE algorithm it serves. */
  async decryptionKeys(): Promise<DecryptionKey[]> {
    const keys: DecryptionKey[] = [];
    for (const key of await this.load()) {
      if (key.jwk.kty === 'EC') {
        const cryptoKey = await webcrypto.subtle.importKey('pkcs8', key.pkcs8, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
        for (const alg of ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW']) keys.push({ key: cryptoKey, alg, kid: key.kid });
      } else {
        for (const [alg, hash] of [['RSA-OAEP-256', 'SHA-256'], ['RSA-OAEP', 'SHA-1']] as const) {
          const cryptoKey = await webcrypto.subtle.importKey('pkcs8', key.pkcs8, { name: 'RSA-OAEP', hash }, false, ['decrypt']);
          keys.push({ key: cryptoKey, alg, kid: key.kid });
        }
      }
    }
    return keys;
  }

  private load(): Promise<LoadedKey[]> {
    if (!this.loading) {
      const loading = this.loadOrCreate();
      this.loading = loading;
      // A failed unwrap (Key Vault throttling, say) must not stick.
      loading.catch(() => {
        if (this.loading === loading) this.loading = null;
      });
    }
    return this.loading;
  }

  private async loadOrCreate(): Promise<LoadedKey[]> {
    const existing = await this.read();
    if (existing) return existing;
    const created = await this.newKeys();
    try {
      await this.deps.store.transaction(async (tx) => {
        await tx.execute(
          sql(
            `INSERT INTO wrapped_keys (id, purpose, scope, master_key_id, wrapped, created_at, destroyed_at)
             VALUES (@id, @purpose, NULL, @masterKeyId, @wrapped, @now, NULL)`,
            {
              id: p.text(ROOT_KEY_ID),
              purpose: p.text(ROOT_KEY_PURPOSE),
              masterKeyId: p.text(created.wrappedRoot.masterKeyId),
              wrapped: p.blob(created.wrappedRoot.wrapped),
              now: p.bigint(this.deps.clock.now().getTime()),
            },
          ),
        );
        for (const key of created.keys) await this.insertKey(tx, created.sealer, key);
      });
    } catch (error) {
      // Another instance created them first; its keys are the ones.
      if (!(error instanceof UniqueViolationError)) throw error;
      const winner = await this.read();
      if (!winner) throw error;
      return winner;
    } finally {
      created.root.fill(0);
    }
    return created.keys;
  }

  /** null when no root key exists yet. */
  private async read(): Promise<LoadedKey[] | null> {
    const [root] = await this.deps.store.query<{ master_key_id: string; wrapped: Uint8Array }>(
      sql('SELECT master_key_id, wrapped FROM wrapped_keys WHERE id = @id AND purpose = @purpose AND destroyed_at IS NULL', {
        id: p.text(ROOT_KEY_ID),
        purpose: p.text(ROOT_KEY_PURPOSE),
      }),
    );
    if (!root) return null;
    const rows = await this.deps.store.query<KeyRow>(
      sql('SELECT kid, kty, public_jwk, sealed_private FROM eid_encryption_keys WHERE retired_at IS NULL ORDER BY created_at, kid'),
    );
    const rootKey = await this.deps.keys.unwrapKey({ masterKeyId: root.master_key_id, wrapped: Buffer.from(root.wrapped) });
    try {
      const sealer = new ColumnCipher(rootKey, this.deps.random);
      return rows.map((row) => {
        const jwk = JSON.parse(row.public_jwk) as PublicEncryptionJwk;
        const pkcs8 = Buffer.from(sealer.decrypt(row.sealed_private, `${SEAL_CONTEXT}:${row.kid}`), 'base64');
        if (jwk.kid !== row.kid || jwk.kty !== row.kty) throw new Error(`eID encryption key ${row.kid} does not match its row`);
        return { kid: row.kid, jwk, pkcs8 };
      });
    } finally {
      rootKey.fill(0);
    }
  }

  private async newKeys(): Promise<{ root: Buffer; wrappedRoot: Awaited<ReturnType<KeyProvider['wrapKey']>>; sealer: ColumnCipher; keys: LoadedKey[] }> {
    const root = generateKey(this.deps.random);
    const wrappedRoot = await this.deps.keys.wrapKey(root);
    const ec = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    const rsa = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    const keys = [this.toLoaded(ec.privateKey, 'EC'), this.toLoaded(rsa.privateKey, 'RSA')];
    return { root, wrappedRoot, sealer: new ColumnCipher(root, this.deps.random), keys };
  }

  private toLoaded(privateKey: KeyObject, kty: 'EC' | 'RSA'): LoadedKey {
    const kid = `eid-enc-${kty.toLowerCase()}-${this.deps.random.id()}`;
    const exported = createPublicKey(privateKey).export({ format: 'jwk' });
    const jwk: PublicEncryptionJwk =
      kty === 'EC'
        ? { kty: 'EC', crv: 'P-256', x: String(exported.x), y: String(exported.y), kid, use: 'enc' }
        : { kty: 'RSA', n: String(exported.n), e: String(exported.e), kid, use: 'enc' };
    return { kid, jwk, pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }) };
  }

  private async insertKey(tx: SqlExecutor, sealer: ColumnCipher, key: LoadedKey): Promise<void> {
    await tx.execute(
      sql(
        `INSERT INTO eid_encryption_keys (kid, kty, public_jwk, sealed_private, created_at, retired_at)
         VALUES (@kid, @kty, @jwk, @sealed, @now, NULL)`,
        {
          kid: p.text(key.kid),
          kty: p.text(key.jwk.kty),
          jwk: p.text(JSON.stringify(key.jwk)),
          sealed: p.blob(sealer.encrypt(key.pkcs8.toString('base64'), `${SEAL_CONTEXT}:${key.kid}`)),
          now: p.bigint(this.deps.clock.now().getTime()),
        },
      ),
    );
  }
}
