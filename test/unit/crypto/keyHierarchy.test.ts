import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { UniqueViolationError, p, sql } from '../../../lib/adapters/sql/params';
import { KeyHierarchy, KeyNotFoundError } from '../../../lib/crypto/keyHierarchy';
import { KeyUnwrapError } from '../../../lib/crypto/keyWrap';
import type { Clock, KeyProvider, Random, Store } from '../../../lib/ports';

const MASTER_KEY_ID = 'test-master-1';
const TTL_IN_SECONDS = 300;

let rsa: { publicKey: KeyObject; privateKey: KeyObject };
beforeAll(() => {
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
});

/** Stands in for the master key: real RSA-OAEP-256, counting calls as Key Vault would bill them. */
function countingKeyProvider(): KeyProvider & { calls: { wrap: number; unwrap: number } } {
  const oaep = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  const calls = { wrap: 0, unwrap: 0 };
  return {
    calls,
    currentKeyId: async () => MASTER_KEY_ID,
    async wrapKey(plainKey) {
      calls.wrap++;
      return { masterKeyId: MASTER_KEY_ID, wrapped: publicEncrypt({ key: rsa.publicKey, ...oaep }, plainKey) };
    },
    async unwrapKey({ masterKeyId, wrapped }) {
      calls.unwrap++;
      if (masterKeyId !== MASTER_KEY_ID) throw new Error('unknown master key');
      // Yield like a network call would, so concurrent callers really overlap.
      await new Promise((resolve) => setImmediate(resolve));
      return privateDecrypt({ key: rsa.privateKey, ...oaep }, wrapped);
    },
  };
}

class FakeClock implements Clock {
  private ms = Date.UTC(2025, 0, 1);
  now(): Date {
    return new Date(this.ms);
  }
  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

const random: Random = { bytes: (length) => randomBytes(length), id: () => randomBytes(16).toString('hex') };

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('the key hierarchy', () => {
  let store: Store;
  let keys: ReturnType<typeof countingKeyProvider>;
  let clock: FakeClock;
  let hierarchy: KeyHierarchy;
  const newHierarchy = () => new KeyHierarchy({ store, keys, clock, random, kekCacheTtlInSeconds: TTL_IN_SECONDS });

  beforeEach(async () => {
    store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    keys = countingKeyProvider();
    clock = new FakeClock();
    hierarchy = newHierarchy();
  });

  afterEach(async () => {
    await store.close();
  });

  describe('organization KEKs', () => {
    it('stores a new KEK wrapped by the master key, without calling Key Vault to unwrap', async () => {
      await hierarchy.createOrganizationKek('org-1');
      const rows = await store.query(sql('SELECT * FROM wrapped_keys WHERE id = @id', { id: p.text('kek-org-1') }));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ purpose: 'org-kek', scope: 'org-1', master_key_id: MASTER_KEY_ID, destroyed_at: null });
      expect(rows[0]?.created_at).toBe(clock.now().getTime());
      expect(keys.calls).toEqual({ wrap: 1, unwrap: 0 });
    });

    it('unwraps the KEK once, then serves it from the cache', async () => {
      await hierarchy.createOrganizationKek('org-1');
      const first = await hierarchy.getOrganizationKek('org-1');
      const second = await hierarchy.getOrganizationKek('org-1');
      expect(first).toHaveLength(32);
      expect(second.equals(first)).toBe(true);
      expect(keys.calls.unwrap).toBe(1);
    });

    it('keeps the KEK for the TTL and unwraps it again once the TTL has passed', async () => {
      await hierarchy.createOrganizationKek('org-1');
      await hierarchy.getOrganizationKek('org-1');
      clock.advanceSeconds(TTL_IN_SECONDS - 1);
      await hierarchy.getOrganizationKek('org-1');
      expect(keys.calls.unwrap).toBe(1);
      clock.advanceSeconds(2);
      await hierarchy.getOrganizationKek('org-1');
      expect(keys.calls.unwrap).toBe(2);
    });

    it('lets concurrent callers share one unwrap', async () => {
      await hierarchy.createOrganizationKek('org-1');
      const keks = await Promise.all(Array.from({ length: 10 }, () => hierarchy.getOrganizationKek('org-1')));
      expect(keys.calls.unwrap).toBe(1);
      for (const kek of keks) expect(kek.equals(keks[0] as Buffer)).toBe(true);
    });

    it('gives each organization its own KEK', async () => {
      await hierarchy.createOrganizationKek('org-1');
      await hierarchy.createOrganizationKek('org-2');
      const [one, two] = await Promise.all([hierarchy.getOrganizationKek('org-1'), hierarchy.getOrganizationKek('org-2')]);
      expect(one.equals(two)).toBe(false);
      expect(keys.calls.unwrap).toBe(2);
    });

    it('hands out a copy, so a caller wiping its key does not wipe the cache', async () => {
      await hierarchy.createOrganizationKek('org-1');
      const first = await hierarchy.getOrganizationKek('org-1');
      const original = Buffer.from(first);
      first.fill(0);
      expect((await hierarchy.getOrganizationKek('org-1')).equals(original)).toBe(true);
    });

    it('when the organization has no KEK, answers kek_not_found and does not cache the failure', async () => {
      expect(await codeOf(hierarchy.getOrganizationKek('org-1'))).toBe('kek_not_found');
      await hierarchy.createOrganizationKek('org-1');
      expect(await hierarchy.getOrganizationKek('org-1')).toHaveLength(32);
    });

    it('when the KEK was destroyed, answers kek_not_found once the cache is forgotten', async () => {
      await hierarchy.createOrganizationKek('org-1');
      await hierarchy.getOrganizationKek('org-1');
      await store.execute(
        sql('UPDATE wrapped_keys SET destroyed_at = @now WHERE id = @id', { now: p.bigint(clock.now().getTime()), id: p.text('kek-org-1') }),
      );
      hierarchy.forgetCachedKeys();
      const error = hierarchy.getOrganizationKek('org-1');
      await expect(error).rejects.toBeInstanceOf(KeyNotFoundError);
      expect(await codeOf(error)).toBe('kek_not_found');
    });

    it('when created inside a transaction that rolls back, leaves no KEK behind', async () => {
      await expect(
        store.transaction(async (tx) => {
          await hierarchy.createOrganizationKek('org-1', tx);
          throw new Error('the organization insert failed');
        }),
      ).rejects.toThrow();
      expect(await codeOf(hierarchy.getOrganizationKek('org-1'))).toBe('kek_not_found');
    });

    it('refuses to create a second KEK for the same organization', async () => {
      await hierarchy.createOrganizationKek('org-1');
      await expect(hierarchy.createOrganizationKek('org-1')).rejects.toBeInstanceOf(UniqueViolationError);
    });
  });

  describe('item keys', () => {
    it('opens an item key it created, with no master-key calls once the KEK is cached', async () => {
      await hierarchy.createOrganizationKek('org-1');
      await hierarchy.getOrganizationKek('org-1');
      const before = { ...keys.calls };
      const { key, wrapped } = await hierarchy.newItemKey('org-1');
      expect(key).toHaveLength(32);
      expect(wrapped).toHaveLength(40);
      expect((await hierarchy.openItemKey('org-1', wrapped)).equals(key)).toBe(true);
      expect(keys.calls).toEqual(before);
    });

    it('gives every item a fresh key', async () => {
      await hierarchy.createOrganizationKek('org-1');
      const [a, b] = await Promise.all([hierarchy.newItemKey('org-1'), hierarchy.newItemKey('org-1')]);
      expect(a.key.equals(b.key)).toBe(false);
    });

    it('opens an item key after a restart, at the cost of one unwrap', async () => {
      await hierarchy.createOrganizationKek('org-1');
      const { key, wrapped } = await hierarchy.newItemKey('org-1');
      const restarted = newHierarchy();
      const unwrapsBefore = keys.calls.unwrap;
      expect((await restarted.openItemKey('org-1', wrapped)).equals(key)).toBe(true);
      expect(keys.calls.unwrap).toBe(unwrapsBefore + 1);
    });

    it("refuses to open one organization's item key with another organization's KEK", async () => {
      await hierarchy.createOrganizationKek('org-1');
      await hierarchy.createOrganizationKek('org-2');
      const { wrapped } = await hierarchy.newItemKey('org-1');
      const error = hierarchy.openItemKey('org-2', wrapped);
      await expect(error).rejects.toBeInstanceOf(KeyUnwrapError);
      expect(await codeOf(error)).toBe('key_unwrap_failed');
    });

    it('when the organization has no KEK, cannot create an item key', async () => {
      expect(await codeOf(hierarchy.newItemKey('org-missing'))).toBe('kek_not_found');
    });
  });

  describe('the column cipher', () => {
    it('is created once, without unwrapping, and reused', async () => {
      const [first, second] = await Promise.all([hierarchy.columnCipher(), hierarchy.columnCipher()]);
      expect(second).toBe(first);
      expect(await hierarchy.columnCipher()).toBe(first);
      expect(keys.calls).toEqual({ wrap: 1, unwrap: 0 });
      const rows = await store.query(sql("SELECT purpose, scope FROM wrapped_keys WHERE id = 'column-root'"));
      expect(rows).toEqual([{ purpose: 'column', scope: null }]);
    });

    it('after a restart, unwraps the same root key once and reads what was written before', async () => {
      const sealed = (await hierarchy.columnCipher()).encrypt('ada@example.com', 'users.email');
      const restarted = newHierarchy();
      const cipher = await restarted.columnCipher();
      expect(cipher.decrypt(sealed, 'users.email')).toBe('ada@example.com');
      await restarted.columnCipher();
      expect(keys.calls).toEqual({ wrap: 1, unwrap: 1 });
    });

    it('when two instances create it at once, both end up with the one stored key', async () => {
      const other = newHierarchy();
      const [mine, theirs] = await Promise.all([hierarchy.columnCipher(), other.columnCipher()]);
      expect(theirs.decrypt(mine.encrypt('x', 'users.name'), 'users.name')).toBe('x');
      expect(mine.decrypt(theirs.encrypt('y', 'users.name'), 'users.name')).toBe('y');
      const rows = await store.query(sql("SELECT id FROM wrapped_keys WHERE purpose = 'column'"));
      expect(rows).toHaveLength(1);
      // Both found no key and wrapped one; the loser of the insert read the winner's back.
      expect(keys.calls).toEqual({ wrap: 2, unwrap: 1 });
    });

    it('when loading fails, tries again on the next call instead of caching the failure', async () => {
      await hierarchy.columnCipher();
      const restarted = newHierarchy();
      const unwrapKey = keys.unwrapKey;
      keys.unwrapKey = async () => {
        throw new Error('Key Vault is unavailable');
      };
      await expect(restarted.columnCipher()).rejects.toThrow();
      keys.unwrapKey = unwrapKey;
      await expect(restarted.columnCipher()).resolves.toBeDefined();
    });
  });
});
