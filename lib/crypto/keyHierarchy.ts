/**
 * The key hierarchy (DESIGN §4). The master key (Key Vault) wraps an AES-256 KEK per organization and the
 * column root key; an organization's KEK wraps a DEK per delivery item. Key Vault allows only tens of
 * unwraps per second, so an unwrapped KEK is cached for at most `kekCacheTtlInSeconds` and the column key
 * for the process lifetime: uploads then cost no master-key call and a download at most one.
 *
 * Wrapped keys live in `wrapped_keys` (migration 1). Destroying a row is crypto-shredding: whatever it
 * wrapped becomes unreadable wherever copies of the ciphertext survive.
 */
import type { Clock, KeyProvider, Random, SqlExecutor, Store } from '../ports';
import { UniqueViolationError, p, sql } from '../adapters/sql/params';
import { ColumnCipher } from './columnCipher';
import { KEY_SIZE, generateKey, unwrapDataKey, wrapDataKey } from './keyWrap';

export interface KeyHierarchyDeps {
  readonly store: Store;
  readonly keys: KeyProvider;
  readonly clock: Clock;
  readonly random: Random;
  readonly kekCacheTtlInSeconds: number;
}

/** The organization has no KEK, or it was destroyed (its data is shredded). */
export class KeyNotFoundError extends Error {
  readonly code = 'kek_not_found';
  constructor(message = 'The organization has no key') {
    super(message);
    this.name = 'KeyNotFoundError';
  }
}

type KeyPurpose = 'column' | 'org-kek' | 'signing';

type WrappedKeyRow = {
  master_key_id: string;
  wrapped: Uint8Array;
  destroyed_at: number | string | null;
};

const COLUMN_ROOT_KEY_ID = 'column-root';

export function organizationKekId(orgId: string): string {
  return `kek-${orgId}`;
}

interface CachedKek {
  readonly kek: Promise<Buffer>;
  readonly expiresAtMs: number;
}

export class KeyHierarchy {
  // Insertion order is expiry order (entries are deleted before being set again), so sweeping stops early.
  private readonly keks = new Map<string, CachedKek>();
  private columnCipherLoad: Promise<ColumnCipher> | null = null;

  constructor(private readonly deps: KeyHierarchyDeps) {
    if (!Number.isFinite(deps.kekCacheTtlInSeconds) || deps.kekCacheTtlInSeconds < 0) {
      throw new RangeError('kekCacheTtlInSeconds must be a non-negative number');
    }
  }

  /** Wrapping uses the master key's public half: no Key Vault call. Pass `tx` to create it with the organization. */
  async createOrganizationKek(orgId: string, tx?: SqlExecutor): Promise<void> {
    assertOrgId(orgId);
    const kek = generateKey(this.deps.random);
    await this.insertWrappedKey(tx ?? this.deps.store, organizationKekId(orgId), 'org-kek', orgId, kek);
  }

  /** A copy of the organization's KEK, yours to use and discard. */
  async getOrganizationKek(orgId: string): Promise<Buffer> {
    return Buffer.from(await this.cachedKek(orgId));
  }

  /** A fresh DEK for one item and its wrapped form, to store with the item. */
  async newItemKey(orgId: string): Promise<{ key: Buffer; wrapped: Buffer }> {
    const kek = await this.cachedKek(orgId);
    const key = generateKey(this.deps.random);
    return { key, wrapped: wrapDataKey(kek, key) };
  }

  /** Throws KeyUnwrapError when `wrapped` was not wrapped by this organization's KEK. */
  async openItemKey(orgId: string, wrapped: Buffer): Promise<Buffer> {
    return unwrapDataKey(await this.cachedKek(orgId), wrapped);
  }

  /** The column cipher, from the one column root key, created on first use. */
  columnCipher(): Promise<ColumnCipher> {
    if (!this.columnCipherLoad) {
      const load = this.loadOrCreateColumnCipher();
      this.columnCipherLoad = load;
      load.catch(() => {
        if (this.columnCipherLoad === load) this.columnCipherLoad = null;
      });
    }
    return this.columnCipherLoad;
  }

  /**
   * The audit log's MAC key, derived from the column root key: a database writer without the master key
   * cannot recompute the chain. Cached with the column cipher, so load it before opening a transaction.
   */
  async auditKey(): Promise<Buffer> {
    return (await this.columnCipher()).auditKey();
  }

  forgetCachedKeys(): void {
    this.keks.clear();
    this.columnCipherLoad = null;
  }

  private cachedKek(orgId: string): Promise<Buffer> {
    assertOrgId(orgId);
    const nowMs = this.deps.clock.now().getTime();
    this.sweepExpired(nowMs);
    const cached = this.keks.get(orgId);
    if (cached) return cached.kek;

    // Callers arriving while the unwrap is in flight share it: one master-key call per organization per TTL.
    const entry: CachedKek = { kek: this.loadKek(orgId), expiresAtMs: nowMs + this.deps.kekCacheTtlInSeconds * 1000 };
    this.keks.set(orgId, entry);
    entry.kek.catch(() => {
      if (this.keks.get(orgId) === entry) this.keks.delete(orgId);
    });
    return entry.kek;
  }

  private sweepExpired(nowMs: number): void {
    for (const [orgId, entry] of this.keks) {
      if (nowMs < entry.expiresAtMs) return;
      this.keks.delete(orgId);
    }
  }

  private async loadKek(orgId: string): Promise<Buffer> {
    const kek = await this.readKey(organizationKekId(orgId), 'org-kek');
    if (!kek) throw new KeyNotFoundError();
    return kek;
  }

  private async loadOrCreateColumnCipher(): Promise<ColumnCipher> {
    const existing = await this.readKey(COLUMN_ROOT_KEY_ID, 'column');
    if (existing) return new ColumnCipher(existing, this.deps.random);

    const rootKey = generateKey(this.deps.random);
    try {
      await this.insertWrappedKey(this.deps.store, COLUMN_ROOT_KEY_ID, 'column', null, rootKey);
    } catch (error) {
      // Another instance created it between our read and insert; the primary key let only one win.
      if (!(error instanceof UniqueViolationError)) throw error;
      const winner = await this.readKey(COLUMN_ROOT_KEY_ID, 'column');
      if (!winner) throw error;
      return new ColumnCipher(winner, this.deps.random);
    }
    return new ColumnCipher(rootKey, this.deps.random);
  }

  /** null when the row is missing or destroyed. */
  private async readKey(id: string, purpose: KeyPurpose): Promise<Buffer | null> {
    const rows = await this.deps.store.query<WrappedKeyRow>(
      sql('SELECT master_key_id, wrapped, destroyed_at FROM wrapped_keys WHERE id = @id AND purpose = @purpose', {
        id: p.text(id),
        purpose: p.text(purpose),
      }),
    );
    const row = rows[0];
    if (!row || (row.destroyed_at !== null && row.destroyed_at !== undefined)) return null;
    const key = await this.deps.keys.unwrapKey({ masterKeyId: row.master_key_id, wrapped: Buffer.from(row.wrapped) });
    if (key.length !== KEY_SIZE) throw new RangeError(`The key ${id} did not unwrap to ${KEY_SIZE} bytes`);
    return key;
  }

  private async insertWrappedKey(
    executor: SqlExecutor,
    id: string,
    purpose: KeyPurpose,
    scope: string | null,
    plainKey: Buffer,
  ): Promise<void> {
    const { masterKeyId, wrapped } = await this.deps.keys.wrapKey(plainKey);
    await executor.execute(
      sql(
        `INSERT INTO wrapped_keys (id, purpose, scope, master_key_id, wrapped, created_at, destroyed_at)
         VALUES (@id, @purpose, @scope, @masterKeyId, @wrapped, @createdAt, NULL)`,
        {
          id: p.text(id),
          purpose: p.text(purpose),
          scope: p.text(scope),
          masterKeyId: p.text(masterKeyId),
          wrapped: p.blob(wrapped),
          createdAt: p.bigint(this.deps.clock.now().getTime()),
        },
      ),
    );
  }
}

function assertOrgId(orgId: string): void {
  if (typeof orgId !== 'string' || orgId.length === 0) throw new TypeError('An organization id is a non-empty string');
}
