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
 * (the root key's primary key lets one win; the other reads the winner's keys).
 *
 * Rotation (`rotate`, `npx connectid rotate-eid-keys`) creates a new EC and RSA pair as the current keys and retires
 * the previous ones: they stay published (after the current ones) and keep opening answers for RETIRED_EID_KEY_GRACE_IN_DAYS,
 * because providers cache our JWKS and encrypt to what they cached; then they are neither published nor used.
 * `{ compromised: true }` ends every older key's grace at once. Each process re-reads the keys at most every
 * EID_KEYS_REFRESH_INTERVAL_IN_SECONDS (a CLI rotation reaches every instance within 30 s); the eID root key is
 * unwrapped with the master key only when a re-read finds a kid this process has not opened yet (once per process,
 * then once per rotation).
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

/** How stale this process's view of the keys may get (as for signing keys: a CLI rotation takes effect within 30 s). */
export const EID_KEYS_REFRESH_INTERVAL_IN_SECONDS = 30;

/**
 * How long a normally retired key stays published and keeps opening answers. Providers cache our JWKS (we send
 * max-age=300, but an eID hub may keep a client's keys for hours, or until its next daily or weekly refresh) and go on
 * encrypting to the key they cached: a week lets the slowest of them pick up the new keys before the old ones stop
 * working. A flow itself lasts minutes, so the grace is only about the providers' caches.
 */
export const RETIRED_EID_KEY_GRACE_IN_DAYS = 7;

const DAY_IN_MS = 86_400_000;

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

export interface RotateEidKeysOptions {
  /**
   * A private key (or the eID root key, or the master key) may have leaked: every older key stops being published
   * and stops opening answers at once, instead of after the grace. Answers a provider still encrypts to a cached
   * old key fail until it re-reads our JWKS.
   */
  readonly compromised?: boolean;
}

export interface RotatedEidKeys {
  /** The new current keys (one EC, one RSA). */
  readonly kids: string[];
  /** The keys that were current until now ([] when there were none). */
  readonly previousKids: string[];
  /** Until when the previous keys stay published and usable (= now with `compromised`); null when there were none. */
  readonly previousUsableUntil: Date | null;
}

interface NewKey {
  readonly kid: string;
  readonly jwk: PublicEncryptionJwk;
  readonly pkcs8: Buffer;
}

interface KeyRecord extends NewKey {
  readonly createdAtMs: number;
  readonly retiredAtMs: number | null;
  readonly publishUntilMs: number | null;
}

type KeyRow = {
  kid: string;
  kty: string;
  public_jwk: string;
  sealed_private: Uint8Array;
  // SQL Server returns BIGINT as a string.
  created_at: number | string;
  retired_at: number | string | null;
  publish_until: number | string | null;
};

interface Snapshot {
  readonly sequence: number;
  readonly loadedAtMs: number;
  /** The current keys first, then the retired ones, newest first. */
  readonly keys: readonly KeyRecord[];
}

type WrappedRoot = Awaited<ReturnType<KeyProvider['wrapKey']>>;

const SELECT_COLUMNS = 'kid, kty, public_jwk, sealed_private, created_at, retired_at, publish_until';

export class EidEncryptionKeys {
  private snapshot: Snapshot | null = null;
  private loadSequence = 0;
  // Loads started at or before this sequence began before a rotation here and must not be installed.
  private oldestAcceptedSequence = 1;
  private refreshing: Promise<readonly KeyRecord[]> | null = null;
  private creating: Promise<void> | null = null;
  private readonly cryptoKeys = new Map<string, Promise<DecryptionKey[]>>();
  // The keys whose private halves this process holds (created here, or unsealed once): a re-read, even after a
  // rotation here, unwraps the root key only for a kid not among them.
  private readonly opened = new Map<string, NewKey>();

  constructor(private readonly deps: EidEncryptionKeysDeps) {}

  /** The public keys providers encrypt to (a JWK Set, RFC 7517): the current ones first, then those in their grace. */
  async jwks(): Promise<{ keys: PublicEncryptionJwk[] }> {
    return { keys: (await this.usable()).map((key) => ({ ...key.jwk })) };
  }

  /** The private keys of every published key, as CryptoKeys for each JWE algorithm they serve. */
  async decryptionKeys(): Promise<DecryptionKey[]> {
    const keys: DecryptionKey[] = [];
    for (const key of await this.usable()) keys.push(...(await this.cryptoKeysOf(key)));
    return keys;
  }

  /**
   * Creates a new EC and RSA key pair as the current keys and retires the ones current until now: they stay
   * published and usable for RETIRED_EID_KEY_GRACE_IN_DAYS, or, with `compromised`, every older key (retired
   * earlier or not) stops at once. This process uses the new set at once; others within the refresh interval.
   */
  async rotate(options: RotateEidKeysOptions = {}): Promise<RotatedEidKeys> {
    // Before the first use there is nothing to retire: the first keys are the new ones.
    const first = await this.ensureRootKey();
    if (first) return { kids: first.map((key) => key.kid), previousKids: [], previousUsableUntil: null };
    const created = await Promise.all([newKey('EC', this.deps.random), newKey('RSA', this.deps.random)]);
    const root = await this.unwrapRoot();
    if (!root) throw new Error('The eID root key is missing');
    const nowMs = this.nowMs();
    const usableUntilMs = options.compromised ? nowMs : nowMs + RETIRED_EID_KEY_GRACE_IN_DAYS * DAY_IN_MS;
    let previousKids: string[];
    try {
      const sealer = new ColumnCipher(root, this.deps.random);
      previousKids = await this.deps.store.transaction(async (tx) => {
        const current = await tx.query<{ kid: string }>(sql('SELECT kid FROM eid_encryption_keys WHERE retired_at IS NULL ORDER BY created_at, kid'));
        for (const key of created) await insertKey(tx, sealer, key, nowMs);
        await tx.execute(
          sql(
            `UPDATE eid_encryption_keys SET retired_at = @now, publish_until = @until
             WHERE retired_at IS NULL AND kid <> @ec AND kid <> @rsa`,
            { now: p.bigint(nowMs), until: p.bigint(usableUntilMs), ec: p.text(created[0].kid), rsa: p.text(created[1].kid) },
          ),
        );
        if (options.compromised) {
          // Whoever holds one private key may hold the others (same root key): no older key is trusted.
          await tx.execute(
            sql(
              `UPDATE eid_encryption_keys SET publish_until = @now
               WHERE kid <> @ec AND kid <> @rsa AND (publish_until IS NULL OR publish_until > @now)`,
              { now: p.bigint(nowMs), ec: p.text(created[0].kid), rsa: p.text(created[1].kid) },
            ),
          );
        }
        return current.map((row) => row.kid);
      });
    } finally {
      root.fill(0);
    }
    for (const key of created) this.opened.set(key.kid, key);
    // This process publishes and uses the new set from now on, not after the refresh interval.
    this.invalidate();
    return {
      kids: created.map((key) => key.kid),
      previousKids,
      previousUsableUntil: previousKids.length > 0 ? new Date(usableUntilMs) : null,
    };
  }

  // -------------------------------------------------------------------------------------------

  /** The keys to publish and decrypt with now: current, or retired and still within their grace. Newest first. */
  private async usable(): Promise<KeyRecord[]> {
    let keys = await this.fresh();
    if (!keys.some((key) => key.retiredAtMs === null)) {
      await this.createKeys();
      keys = await this.load();
    }
    const nowMs = this.nowMs();
    return keys.filter((key) => isUsable(key, nowMs));
  }

  /** The keys as last read, re-read when older than the refresh interval. */
  private fresh(): Promise<readonly KeyRecord[]> {
    const snapshot = this.snapshot;
    if (snapshot && this.nowMs() - snapshot.loadedAtMs < EID_KEYS_REFRESH_INTERVAL_IN_SECONDS * 1000) {
      return Promise.resolve(snapshot.keys);
    }
    // Callers arriving while a refresh is in flight share it; a failed one (Key Vault throttling, say) does not stick.
    if (!this.refreshing) {
      const refreshing = this.load();
      this.refreshing = refreshing;
      const clear = () => {
        if (this.refreshing === refreshing) this.refreshing = null;
      };
      refreshing.then(clear, clear);
    }
    return this.refreshing;
  }

  /** Reads the keys now (never joining a read that started earlier, which might miss a key just written). */
  private async load(): Promise<readonly KeyRecord[]> {
    const sequence = ++this.loadSequence;
    const loadedAtMs = this.nowMs();
    const rows = await this.deps.store.query<KeyRow>(
      sql(
        `SELECT ${SELECT_COLUMNS} FROM eid_encryption_keys
         WHERE retired_at IS NULL OR publish_until > @now`,
        { now: p.bigint(loadedAtMs) },
      ),
    );
    // The root key is unwrapped only when a kid is new to this process: once, then once per rotation made elsewhere.
    const unknown = rows.filter((row) => !this.opened.has(row.kid));
    if (unknown.length > 0) {
      const root = await this.unwrapRoot();
      if (!root) throw new Error('eID encryption keys exist without the eID root key');
      try {
        const sealer = new ColumnCipher(root, this.deps.random);
        for (const row of unknown) {
          const jwk = JSON.parse(row.public_jwk) as PublicEncryptionJwk;
          if (jwk.kid !== row.kid || jwk.kty !== row.kty) throw new Error(`eID encryption key ${row.kid} does not match its row`);
          const pkcs8 = Buffer.from(sealer.decrypt(row.sealed_private, `${SEAL_CONTEXT}:${row.kid}`), 'base64');
          this.opened.set(row.kid, { kid: row.kid, jwk, pkcs8 });
        }
      } finally {
        root.fill(0);
      }
    }
    const keys = rows.map(
      (row): KeyRecord => ({
        ...this.opened.get(row.kid)!,
        createdAtMs: Number(row.created_at),
        retiredAtMs: optionalNumber(row.retired_at),
        publishUntilMs: optionalNumber(row.publish_until),
      }),
    );
    // The current keys first (a provider may take the first key of a type), then by age, newest first.
    keys.sort(
      (a, b) =>
        Number(a.retiredAtMs !== null) - Number(b.retiredAtMs !== null) || b.createdAtMs - a.createdAtMs || (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0),
    );

    // Reads may finish out of order (SQL Server); only a newer one replaces what we have.
    if (sequence >= this.oldestAcceptedSequence && sequence > (this.snapshot?.sequence ?? 0)) {
      this.snapshot = { sequence, loadedAtMs, keys };
      // A key past its grace is of no use any more: its private half leaves memory.
      const live = new Set(keys.map((key) => key.kid));
      for (const kid of [...this.opened.keys()]) if (!live.has(kid)) this.opened.delete(kid);
      for (const kid of [...this.cryptoKeys.keys()]) if (!live.has(kid)) this.cryptoKeys.delete(kid);
    }
    return keys;
  }

  private invalidate(): void {
    this.snapshot = null;
    this.refreshing = null;
    this.oldestAcceptedSequence = this.loadSequence + 1;
  }

  /** The first keys, with the root key when there is none yet; or a new current pair should none be current. */
  private createKeys(): Promise<void> {
    this.creating ??= (async () => {
      try {
        if ((await this.load()).some((key) => key.retiredAtMs === null)) return;
        if (await this.ensureRootKey()) return;
        // Another instance may just have created the first keys.
        if ((await this.load()).some((key) => key.retiredAtMs === null)) return;
        // The root key exists but no key is current (only reachable by editing the table): start a new pair.
        await this.rotate();
      } finally {
        this.creating = null;
      }
    })();
    return this.creating;
  }

  /**
   * Creates the root key, with a first pair of keys in the same transaction, unless it exists. Returns the keys
   * this call created, or null. Instances racing here settle on one root key (its primary key lets one win).
   */
  private async ensureRootKey(): Promise<NewKey[] | null> {
    if (await this.wrappedRoot()) return null;
    const root = generateKey(this.deps.random);
    try {
      const wrapped = await this.deps.keys.wrapKey(root);
      const keys = await Promise.all([newKey('EC', this.deps.random), newKey('RSA', this.deps.random)]);
      const sealer = new ColumnCipher(root, this.deps.random);
      const nowMs = this.nowMs();
      await this.deps.store.transaction(async (tx) => {
        await tx.execute(
          sql(
            `INSERT INTO wrapped_keys (id, purpose, scope, master_key_id, wrapped, created_at, destroyed_at)
             VALUES (@id, @purpose, NULL, @masterKeyId, @wrapped, @now, NULL)`,
            {
              id: p.text(ROOT_KEY_ID),
              purpose: p.text(ROOT_KEY_PURPOSE),
              masterKeyId: p.text(wrapped.masterKeyId),
              wrapped: p.blob(wrapped.wrapped),
              now: p.bigint(nowMs),
            },
          ),
        );
        for (const key of keys) await insertKey(tx, sealer, key, nowMs);
      });
      for (const key of keys) this.opened.set(key.kid, key);
      this.invalidate();
      return keys;
    } catch (error) {
      // Another instance created them first; its keys are the ones.
      if (error instanceof UniqueViolationError && (await this.wrappedRoot())) return null;
      throw error;
    } finally {
      root.fill(0);
    }
  }

  private async wrappedRoot(): Promise<WrappedRoot | null> {
    const [root] = await this.deps.store.query<{ master_key_id: string; wrapped: Uint8Array }>(
      sql('SELECT master_key_id, wrapped FROM wrapped_keys WHERE id = @id AND purpose = @purpose AND destroyed_at IS NULL', {
        id: p.text(ROOT_KEY_ID),
        purpose: p.text(ROOT_KEY_PURPOSE),
      }),
    );
    return root ? { masterKeyId: root.master_key_id, wrapped: Buffer.from(root.wrapped) } : null;
  }

  /** The eID root key in the clear (the caller zeroes it), or null when none exists yet. */
  private async unwrapRoot(): Promise<Buffer | null> {
    const wrapped = await this.wrappedRoot();
    return wrapped ? this.deps.keys.unwrapKey(wrapped) : null;
  }

  /** One import per kid per process. */
  private cryptoKeysOf(key: KeyRecord): Promise<DecryptionKey[]> {
    let imported = this.cryptoKeys.get(key.kid);
    if (!imported) {
      const importing = importDecryptionKeys(key);
      imported = importing;
      this.cryptoKeys.set(key.kid, importing);
      importing.catch(() => {
        if (this.cryptoKeys.get(key.kid) === importing) this.cryptoKeys.delete(key.kid);
      });
    }
    return imported;
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }
}

function isUsable(key: KeyRecord, nowMs: number): boolean {
  return key.retiredAtMs === null || (key.publishUntilMs !== null && key.publishUntilMs > nowMs);
}

async function importDecryptionKeys(key: NewKey): Promise<DecryptionKey[]> {
  const keys: DecryptionKey[] = [];
  if (key.jwk.kty === 'EC') {
    const cryptoKey = await webcrypto.subtle.importKey('pkcs8', key.pkcs8, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    for (const alg of ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW']) keys.push({ key: cryptoKey, alg, kid: key.kid });
  } else {
    for (const [alg, hash] of [['RSA-OAEP-256', 'SHA-256'], ['RSA-OAEP', 'SHA-1']] as const) {
      const cryptoKey = await webcrypto.subtle.importKey('pkcs8', key.pkcs8, { name: 'RSA-OAEP', hash }, false, ['decrypt']);
      keys.push({ key: cryptoKey, alg, kid: key.kid });
    }
  }
  return keys;
}

async function newKey(kty: 'EC' | 'RSA', random: Random): Promise<NewKey> {
  const { privateKey } = kty === 'EC' ? await generateKeyPairAsync('ec', { namedCurve: 'P-256' }) : await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return toNewKey(privateKey, kty, `eid-enc-${kty.toLowerCase()}-${random.id()}`);
}

function toNewKey(privateKey: KeyObject, kty: 'EC' | 'RSA', kid: string): NewKey {
  const exported = createPublicKey(privateKey).export({ format: 'jwk' });
  const jwk: PublicEncryptionJwk =
    kty === 'EC'
      ? { kty: 'EC', crv: 'P-256', x: String(exported.x), y: String(exported.y), kid, use: 'enc' }
      : { kty: 'RSA', n: String(exported.n), e: String(exported.e), kid, use: 'enc' };
  return { kid, jwk, pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }) };
}

async function insertKey(tx: SqlExecutor, sealer: ColumnCipher, key: NewKey, nowMs: number): Promise<void> {
  await tx.execute(
    sql(
      `INSERT INTO eid_encryption_keys (kid, kty, public_jwk, sealed_private, created_at, retired_at, publish_until)
       VALUES (@kid, @kty, @jwk, @sealed, @now, NULL, NULL)`,
      {
        kid: p.text(key.kid),
        kty: p.text(key.jwk.kty),
        jwk: p.text(JSON.stringify(key.jwk)),
        sealed: p.blob(sealer.encrypt(key.pkcs8.toString('base64'), `${SEAL_CONTEXT}:${key.kid}`)),
        now: p.bigint(nowMs),
      },
    ),
  );
}

function optionalNumber(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
