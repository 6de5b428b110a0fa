/**
 * Token signing keys (DESIGN §4): ES256 key pairs whose private half is stored wrapped by the master key
 * in `signing_keys`, and whose public half is published in the JWKS.
 *
 * Key Vault allows only tens of unwraps per second, so each process unwraps a private key once per kid and
 * keeps it in memory. Instances share nothing but the database: each re-reads the signing keys at most every
 * 30 seconds (so a rotation by the CLI reaches every instance's signing within 30 s), and a token carrying a
 * kid this process has not seen yet is looked up at once (so a key created by another instance verifies
 * immediately).
 *
 * The same keys sign consent receipts, which their holders verify against the JWKS long after the fact, so a
 * normally retired key stays published for 400 days: a receipt outlives its consent (at most a year) and the
 * 32 days a delivery stays downloadable. Access tokens are not extended by this: they die by their own `exp`.
 * A key believed compromised is rotated with `{ compromised: true }`, which unpublishes every older key at once:
 * tokens and receipts they signed stop verifying (on other instances within the 30 s refresh interval).
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { UniqueViolationError, p, sql } from '../../adapters/sql/params';
import type { Clock, KeyProvider, Random, SqlExecutor, Store, WrappedKey } from '../../ports';

export const SIGNING_ALG = 'ES256';

/** How stale this process's view of the signing keys may get (DESIGN: a CLI rotation takes effect within 30 s). */
export const SIGNING_KEYS_REFRESH_INTERVAL_IN_SECONDS = 30;

/**
 * How long a normally retired key stays in the JWKS: longer than any consent (at most 365 days) plus the 32 days
 * its deliveries stay downloadable, so every receipt it signed verifies while it still matters. It also covers
 * the access tokens it signed and instances still signing with it during their refresh interval.
 */
export const RETIRED_KEY_PUBLICATION_IN_DAYS = 400;

const DEFAULT_ACCESS_TOKEN_TTL_IN_SECONDS = 600;
// The kid column is a dialect `key` (NVARCHAR(200) on SQL Server); a longer header value cannot be ours.
const MAX_KID_LENGTH = 200;

const generateKeyPairAsync = promisify(generateKeyPair);

export interface SigningKeysDeps {
  readonly store: Store;
  readonly keys: KeyProvider;
  readonly clock: Clock;
  readonly random: Random;
  /** How long the access tokens these keys sign live (default 10 minutes). */
  readonly accessTokenTtlInSeconds?: number;
}

/** A public signing key as published in the JWKS (RFC 7517). */
export interface PublicSigningJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: typeof SIGNING_ALG;
  readonly use: 'sig';
}

export interface JsonWebKeySet {
  // Mutable because jose's createLocalJWKSet (a verifier's typical use) takes a mutable array.
  readonly keys: PublicSigningJwk[];
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: typeof SIGNING_ALG;
  readonly privateKey: KeyObject;
}

export interface RotateOptions {
  /**
   * The key (or the master key) may have leaked: stop publishing every older key at once instead of keeping it
   * for receipts. Tokens and receipts signed by them stop verifying; people sign in again.
   */
  readonly compromised?: boolean;
}

export interface RotatedSigningKey {
  readonly kid: string;
  /** The key that signed until now; null when there was none. */
  readonly previousKid: string | null;
}

interface KeyRecord {
  readonly kid: string;
  readonly jwk: PublicSigningJwk;
  readonly publicKey: KeyObject;
  readonly wrapped: WrappedKey;
  readonly createdAtMs: number;
  readonly retiredAtMs: number | null;
  readonly publishUntilMs: number | null;
}

type SigningKeyRow = {
  kid: string;
  alg: string;
  public_jwk: string;
  wrapped_private: Uint8Array;
  master_key_id: string;
  // SQL Server returns BIGINT as a string.
  created_at: number | string;
  retired_at: number | string | null;
  publish_until: number | string | null;
};

interface Snapshot {
  readonly sequence: number;
  readonly loadedAtMs: number;
  readonly keys: Map<string, KeyRecord>;
}

const SELECT_COLUMNS = 'kid, alg, public_jwk, wrapped_private, master_key_id, created_at, retired_at, publish_until';

export class SigningKeys {
  readonly accessTokenTtlInSeconds: number;

  private snapshot: Snapshot | null = null;
  private loadSequence = 0;
  // Loads started at or before this sequence began before a rotation here and must not be installed.
  private oldestAcceptedSequence = 1;
  private refreshing: Promise<Map<string, KeyRecord>> | null = null;
  private creatingFirstKey: Promise<void> | null = null;
  private readonly privateKeys = new Map<string, Promise<KeyObject>>();

  constructor(private readonly deps: SigningKeysDeps) {
    const ttl = deps.accessTokenTtlInSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_IN_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError('accessTokenTtlInSeconds must be a positive integer');
    this.accessTokenTtlInSeconds = ttl;
  }

  /** The key to sign with now: the newest one not retired, created on first use. */
  async current(): Promise<SigningKey> {
    let record = newestSigning(await this.publishedKeys());
    if (!record) {
      await this.createFirstKey();
      record = newestSigning(await this.load());
      if (!record) throw new Error('No signing key exists after creating one');
    }
    return { kid: record.kid, alg: SIGNING_ALG, privateKey: await this.privateKey(record) };
  }

  /**
   * Creates a new signing key and retires the keys signing until now. Normally they stay published for
   * RETIRED_KEY_PUBLICATION_IN_DAYS, so receipts they signed keep verifying; `compromised` unpublishes every
   * older key, retired or not, at once.
   */
  async rotate(options: RotateOptions = {}): Promise<RotatedSigningKey> {
    const nowMs = this.nowMs();
    const created = await this.newKey();
    const publishUntilMs = nowMs + RETIRED_KEY_PUBLICATION_IN_DAYS * 86_400_000;
    const previousKid = await this.deps.store.transaction(async (tx) => {
      const signing = await tx.query<Pick<SigningKeyRow, 'kid' | 'created_at'>>(
        sql('SELECT kid, created_at FROM signing_keys WHERE retired_at IS NULL'),
      );
      const previous = signing
        .map((row) => ({ kid: row.kid, createdAtMs: Number(row.created_at) }))
        .sort(newestFirst)[0];
      await this.insertKey(tx, created, nowMs);
      // Every key still signing is retired, not only the newest: concurrent first use may have left two.
      await tx.execute(
        sql('UPDATE signing_keys SET retired_at = @now, publish_until = @publishUntil WHERE retired_at IS NULL AND kid <> @kid', {
          now: p.bigint(nowMs),
          publishUntil: p.bigint(options.compromised ? nowMs : publishUntilMs),
          kid: p.text(created.kid),
        }),
      );
      if (options.compromised) {
        // Whoever holds one private key may hold the others (same table, same master key): none is trusted.
        await tx.execute(
          sql('UPDATE signing_keys SET publish_until = @now WHERE kid <> @kid AND (publish_until IS NULL OR publish_until > @now)', {
            now: p.bigint(nowMs),
            kid: p.text(created.kid),
          }),
        );
      }
      return previous?.kid ?? null;
    });
    this.privateKeys.set(created.kid, Promise.resolve(created.privateKey));
    // This process signs with the new key from its next token on, not after the refresh interval.
    this.invalidate();
    return { kid: created.kid, previousKid };
  }

  /** The published keys: the signing one(s) and the retired ones whose tokens may still be unexpired. */
  async jwks(): Promise<JsonWebKeySet> {
    let keys = await this.load();
    if (!newestSigning(keys)) {
      // Clients fetch the JWKS before they see a token; an empty set would make them cache "no keys".
      await this.createFirstKey();
      keys = await this.load();
    }
    const nowMs = this.nowMs();
    const published = [...keys.values()].filter((record) => isPublished(record, nowMs)).sort(newestFirst);
    return { keys: published.map((record) => ({ ...record.jwk })) };
  }

  /** The public key for a published kid, or null when the kid is unknown or no longer published. */
  async verificationKey(kid: string): Promise<KeyObject | null> {
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) return null;
    const keys = await this.publishedKeys();
    const known = keys.get(kid);
    if (known) return isPublished(known, this.nowMs()) ? known.publicKey : null;

    // Another instance may have created it since our last read: one primary-key lookup, not a full refresh.
    const rows = await this.deps.store.query<SigningKeyRow>(
      sql(`SELECT ${SELECT_COLUMNS} FROM signing_keys WHERE kid = @kid`, { kid: p.text(kid) }),
    );
    const row = rows[0];
    if (!row) return null;
    const record = this.toRecord(row);
    if (!isPublished(record, this.nowMs())) return null;
    keys.set(kid, record);
    return record.publicKey;
  }

  // -------------------------------------------------------------------------------------------

  /** The keys as last read, re-read when older than the refresh interval. */
  private publishedKeys(): Promise<Map<string, KeyRecord>> {
    const snapshot = this.snapshot;
    if (snapshot && this.nowMs() - snapshot.loadedAtMs < SIGNING_KEYS_REFRESH_INTERVAL_IN_SECONDS * 1000) {
      return Promise.resolve(snapshot.keys);
    }
    // Callers arriving while a refresh is in flight share it.
    if (!this.refreshing) {
      const refreshing = this.load();
      this.refreshing = refreshing;
      void refreshing.then(
        () => this.clearRefreshing(refreshing),
        () => this.clearRefreshing(refreshing),
      );
    }
    return this.refreshing;
  }

  private clearRefreshing(refreshing: Promise<unknown>): void {
    if (this.refreshing === refreshing) this.refreshing = null;
  }

  /** Reads the keys now (never joining a read that started earlier, which might miss a key just written). */
  private async load(): Promise<Map<string, KeyRecord>> {
    const sequence = ++this.loadSequence;
    const loadedAtMs = this.nowMs();
    const rows = await this.deps.store.query<SigningKeyRow>(
      sql(
        `SELECT ${SELECT_COLUMNS} FROM signing_keys
         WHERE retired_at IS NULL OR publish_until IS NULL OR publish_until > @now`,
        { now: p.bigint(loadedAtMs) },
      ),
    );
    const keys = new Map<string, KeyRecord>();
    for (const row of rows) keys.set(row.kid, this.toRecord(row));

    // Reads may finish out of order (SQL Server); only a newer one replaces what we have.
    if (sequence >= this.oldestAcceptedSequence && sequence > (this.snapshot?.sequence ?? 0)) {
      this.snapshot = { sequence, loadedAtMs, keys };
      // A retired key only verifies now; its private half need not stay in memory for the 400 days it is published.
      for (const kid of this.privateKeys.keys()) {
        if (keys.get(kid)?.retiredAtMs !== null) this.privateKeys.delete(kid);
      }
    }
    return keys;
  }

  private invalidate(): void {
    this.snapshot = null;
    this.refreshing = null;
    this.oldestAcceptedSequence = this.loadSequence + 1;
  }

  private createFirstKey(): Promise<void> {
    // One creation per process even under concurrent first calls; other instances may create one too,
    // and then every instance settles on the same newest key (by created_at, then kid).
    this.creatingFirstKey ??= (async () => {
      try {
        if (newestSigning(await this.load())) return;
        const created = await this.newKey();
        try {
          await this.insertKey(this.deps.store, created, this.nowMs());
        } catch (error) {
          // A kid collision: whatever is in the table now is re-read by the caller.
          if (!(error instanceof UniqueViolationError)) throw error;
          return;
        }
        this.privateKeys.set(created.kid, Promise.resolve(created.privateKey));
      } finally {
        this.creatingFirstKey = null;
      }
    })();
    return this.creatingFirstKey;
  }

  private async newKey(): Promise<NewKey> {
    const kid = this.deps.random.id();
    const { privateKey, publicKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    const { x, y } = publicKey.export({ format: 'jwk' });
    if (typeof x !== 'string' || typeof y !== 'string') throw new Error('Node did not export an EC public JWK');
    // PKCS#8 DER of a P-256 key is ~138 bytes: one RSA-OAEP-256 wrap under the master key holds it.
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    try {
      const wrapped = await this.deps.keys.wrapKey(pkcs8);
      return { kid, privateKey, jwk: { kty: 'EC', crv: 'P-256', x, y, kid, alg: SIGNING_ALG, use: 'sig' }, wrapped };
    } finally {
      pkcs8.fill(0);
    }
  }

  private async insertKey(executor: SqlExecutor, key: NewKey, createdAtMs: number): Promise<void> {
    await executor.execute(
      sql(
        `INSERT INTO signing_keys (kid, alg, public_jwk, wrapped_private, master_key_id, created_at, retired_at, publish_until)
         VALUES (@kid, @alg, @publicJwk, @wrappedPrivate, @masterKeyId, @createdAt, NULL, NULL)`,
        {
          kid: p.text(key.kid),
          alg: p.text(SIGNING_ALG),
          publicJwk: p.text(JSON.stringify(key.jwk)),
          wrappedPrivate: p.blob(key.wrapped.wrapped),
          masterKeyId: p.text(key.wrapped.masterKeyId),
          createdAt: p.bigint(createdAtMs),
        },
      ),
    );
  }

  /** The unwrapped private key: one master-key unwrap per kid per process (Key Vault is rate-limited). */
  private privateKey(record: KeyRecord): Promise<KeyObject> {
    let key = this.privateKeys.get(record.kid);
    if (!key) {
      const unwrapping = this.unwrap(record);
      key = unwrapping;
      this.privateKeys.set(record.kid, unwrapping);
      // A failed unwrap (Key Vault throttling, say) must not stick.
      unwrapping.catch(() => {
        if (this.privateKeys.get(record.kid) === unwrapping) this.privateKeys.delete(record.kid);
      });
    }
    return key;
  }

  private async unwrap(record: KeyRecord): Promise<KeyObject> {
    const pkcs8 = await this.deps.keys.unwrapKey(record.wrapped);
    try {
      const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      // A row whose private key belongs to another public key would sign tokens no JWKS entry verifies.
      if (!createPublicKey(privateKey).equals(record.publicKey)) {
        throw new Error(`The private key of signing key ${record.kid} does not match its public key`);
      }
      return privateKey;
    } finally {
      pkcs8.fill(0);
    }
  }

  private toRecord(row: SigningKeyRow): KeyRecord {
    // Parsed key objects are reused across refreshes; only the retirement times change.
    const known = this.snapshot?.keys.get(row.kid);
    const { jwk, publicKey } = known ?? parsePublicKey(row);
    return {
      kid: row.kid,
      jwk,
      publicKey,
      wrapped: { masterKeyId: row.master_key_id, wrapped: Buffer.from(row.wrapped_private) },
      createdAtMs: Number(row.created_at),
      retiredAtMs: optionalNumber(row.retired_at),
      publishUntilMs: optionalNumber(row.publish_until),
    };
  }

  private nowMs(): number {
    return this.deps.clock.now().getTime();
  }
}

interface NewKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: PublicSigningJwk;
  readonly wrapped: WrappedKey;
}

function parsePublicKey(row: SigningKeyRow): { jwk: PublicSigningJwk; publicKey: KeyObject } {
  const stored = JSON.parse(row.public_jwk) as Partial<Record<keyof PublicSigningJwk, unknown>>;
  if (
    row.alg !== SIGNING_ALG ||
    stored.kty !== 'EC' ||
    stored.crv !== 'P-256' ||
    typeof stored.x !== 'string' ||
    typeof stored.y !== 'string' ||
    stored.kid !== row.kid
  ) {
    throw new Error(`Signing key ${row.kid} is not a stored ${SIGNING_ALG} public key`);
  }
  const jwk: PublicSigningJwk = { kty: 'EC', crv: 'P-256', x: stored.x, y: stored.y, kid: row.kid, alg: SIGNING_ALG, use: 'sig' };
  const publicKey = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
  return { jwk, publicKey };
}

function isPublished(record: KeyRecord, nowMs: number): boolean {
  return record.retiredAtMs === null || record.publishUntilMs === null || record.publishUntilMs > nowMs;
}

function newestFirst(a: { kid: string; createdAtMs: number }, b: { kid: string; createdAtMs: number }): number {
  if (a.createdAtMs !== b.createdAtMs) return b.createdAtMs - a.createdAtMs;
  return a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0;
}

function newestSigning(keys: ReadonlyMap<string, KeyRecord>): KeyRecord | undefined {
  return [...keys.values()].filter((record) => record.retiredAtMs === null).sort(newestFirst)[0];
}

function optionalNumber(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
