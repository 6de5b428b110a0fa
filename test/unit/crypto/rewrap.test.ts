import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import { createLocalKeyProvider, rotateLocalMasterKey } from '../../../lib/adapters/keys/localKeyProvider';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { p, sql } from '../../../lib/adapters/sql/params';
import { KeyHierarchy } from '../../../lib/crypto/keyHierarchy';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS } from '../../../lib/adapters/sql/migrations';
import { REWRAPPED_TABLES, rewrapMasterKeyWraps } from '../../../lib/crypto/rewrap';
import { SigningKeys } from '../../../lib/domain/tokens/signingKeys';
import type { KeyProvider, Store } from '../../../lib/ports';
import { cryptoRandom } from '../../../lib/system';
import { FakeClock, makeTempDir } from '../../helpers/testApp';

// Real RSA-OAEP-256 with local key files; 2048-bit keys only to keep the suite fast (production: 4096).
const MODULUS_LENGTH = 2048;
const EMAIL = 'ada@example.com';
const EMAIL_CONTEXT = 'users.email';

interface Fixture {
  readonly dataDir: string;
  readonly keyDirectory: string;
  readonly store: Store;
  readonly keys: KeyProvider;
  readonly clock: FakeClock;
  /** Things encrypted under the first master key version, to open again after re-wrapping. */
  readonly encryptedEmail: Buffer;
  readonly itemKey: Buffer;
  readonly wrappedItemKey: Buffer;
  readonly kid: string;
  readonly oldMasterKeyId: string;
}

async function countRowsNaming(store: Store, masterKeyId: string): Promise<number> {
  let total = 0;
  for (const table of ['wrapped_keys', 'signing_keys']) {
    const rows = await store.query<{ n: number }>(
      sql(`SELECT COUNT(*) AS n FROM ${table} WHERE master_key_id = @id`, { id: p.text(masterKeyId) }),
    );
    total += Number(rows[0]?.n);
  }
  return total;
}

function hierarchyOf(fixture: Pick<Fixture, 'store' | 'clock'>, keys: KeyProvider): KeyHierarchy {
  return new KeyHierarchy({ store: fixture.store, keys, clock: fixture.clock, random: cryptoRandom, kekCacheTtlInSeconds: 300 });
}

/** Two organizations, the column key and a signing key, all wrapped by local-master-v1. */
async function setUp(): Promise<Fixture> {
  const dataDir = makeTempDir();
  const keyDirectory = path.join(dataDir, 'keys');
  const store = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
  await store.migrate();
  const keys = createLocalKeyProvider({ directory: keyDirectory, modulusLength: MODULUS_LENGTH });
  const clock = new FakeClock();
  const hierarchy = hierarchyOf({ store, clock }, keys);
  await hierarchy.createOrganizationKek('org-a');
  await hierarchy.createOrganizationKek('org-b');
  const encryptedEmail = (await hierarchy.columnCipher()).encrypt(EMAIL, EMAIL_CONTEXT);
  const { key: itemKey, wrapped: wrappedItemKey } = await hierarchy.newItemKey('org-a');
  const { kid } = await new SigningKeys({ store, keys, clock, random: cryptoRandom }).current();
  return {
    dataDir,
    keyDirectory,
    store,
    keys,
    clock,
    encryptedEmail,
    itemKey,
    wrappedItemKey,
    kid,
    oldMasterKeyId: await keys.currentKeyId(),
  };
}

/** A provider that cannot open anything wrapped by `masterKeyId`, as after disabling that version. */
function withoutVersion(inner: KeyProvider, masterKeyId: string): KeyProvider {
  return {
    currentKeyId: () => inner.currentKeyId(),
    wrapKey: (plainKey) => inner.wrapKey(plainKey),
    async unwrapKey(key) {
      if (key.masterKeyId === masterKeyId) throw new Error(`${masterKeyId} is disabled`);
      return inner.unwrapKey(key);
    },
  };
}

describe('re-wrapping after a master key rotation (npx connectid rewrap-keys)', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await setUp();
  });
  afterEach(async () => {
    await fixture.store.close();
    fs.rmSync(fixture.dataDir, { recursive: true, force: true });
  });

  test('every organization KEK, the column key and the signing key move to the new version, and everything still decrypts without the old one', async () => {
    const newMasterKeyId = await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    expect(newMasterKeyId).not.toBe(fixture.oldMasterKeyId);

    const report = await rewrapMasterKeyWraps({ store: fixture.store, keys: fixture.keys });

    expect(report).toMatchObject({
      currentMasterKeyId: newMasterKeyId,
      dryRun: false,
      wrappedKeys: { rewrapped: 3, alreadyCurrent: 0, skippedDestroyed: 0, skippedChanged: 0, failed: 0 },
      signingKeys: { rewrapped: 1, alreadyCurrent: 0, skippedDestroyed: 0, skippedChanged: 0, failed: 0 },
      remaining: 0,
      remainingMasterKeyIds: [],
      failures: [],
    });
    expect(await countRowsNaming(fixture.store, fixture.oldMasterKeyId)).toBe(0);
    expect(await countRowsNaming(fixture.store, newMasterKeyId)).toBe(4);

    // The old version is gone for good: fresh caches, and its key file deleted.
    fs.rmSync(path.join(fixture.keyDirectory, `${fixture.oldMasterKeyId}.private.pem`));
    const keys = createLocalKeyProvider({ directory: fixture.keyDirectory });
    const hierarchy = hierarchyOf(fixture, keys);

    expect((await hierarchy.columnCipher()).decrypt(fixture.encryptedEmail, EMAIL_CONTEXT)).toBe(EMAIL);
    expect((await hierarchy.openItemKey('org-a', fixture.wrappedItemKey)).equals(fixture.itemKey)).toBe(true);
    await expect(hierarchy.getOrganizationKek('org-b')).resolves.toHaveLength(32);

    const signingKeys = new SigningKeys({ store: fixture.store, keys, clock: fixture.clock, random: cryptoRandom });
    const signing = await signingKeys.current();
    expect(signing.kid).toBe(fixture.kid);
    const token = await new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid })
      .setIssuedAt(Math.floor(fixture.clock.now().getTime() / 1000))
      .sign(signing.privateKey);
    const verified = await jwtVerify(token, createLocalJWKSet(await signingKeys.jwks()), {
      algorithms: ['ES256'],
      currentDate: fixture.clock.now(),
    });
    expect(verified.payload.sub).toBe('user-1');
  });

  test('running it again changes nothing (idempotent)', async () => {
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    await rewrapMasterKeyWraps({ store: fixture.store, keys: fixture.keys });
    const before = await fixture.store.query(sql('SELECT id, wrapped FROM wrapped_keys ORDER BY id'));

    const again = await rewrapMasterKeyWraps({ store: fixture.store, keys: fixture.keys });

    expect(again.wrappedKeys).toMatchObject({ rewrapped: 0, alreadyCurrent: 3 });
    expect(again.signingKeys).toMatchObject({ rewrapped: 0, alreadyCurrent: 1 });
    expect(again.remaining).toBe(0);
    expect(await fixture.store.query(sql('SELECT id, wrapped FROM wrapped_keys ORDER BY id'))).toEqual(before);
  });

  test('without a new version there is nothing to do', async () => {
    const report = await rewrapMasterKeyWraps({ store: fixture.store, keys: fixture.keys });
    expect(report.wrappedKeys).toMatchObject({ rewrapped: 0, alreadyCurrent: 3 });
    expect(report.signingKeys).toMatchObject({ rewrapped: 0, alreadyCurrent: 1 });
    expect(report.remaining).toBe(0);
  });

  test('a dry run counts what is pending and writes nothing', async () => {
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    const report = await rewrapMasterKeyWraps({ store: fixture.store, keys: fixture.keys }, { dryRun: true });
    expect(report).toMatchObject({
      dryRun: true,
      wrappedKeys: { rewrapped: 3 },
      signingKeys: { rewrapped: 1 },
      remaining: 4,
      remainingMasterKeyIds: [fixture.oldMasterKeyId],
    });
    expect(await countRowsNaming(fixture.store, fixture.oldMasterKeyId)).toBe(4);
  });

  test('a row that fails is reported and left as it was; the next run finishes the job (resumable)', async () => {
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    let failOnce = true;
    const flaky: KeyProvider = {
      currentKeyId: () => fixture.keys.currentKeyId(),
      wrapKey: (plainKey) => fixture.keys.wrapKey(plainKey),
      async unwrapKey(key) {
        const rows = await fixture.store.query<{ id: string }>(
          sql('SELECT id FROM wrapped_keys WHERE wrapped = @wrapped', { wrapped: p.blob(key.wrapped) }),
        );
        if (failOnce && rows[0]?.id === 'kek-org-b') {
          failOnce = false;
          throw new Error('Key Vault throttled the request (429)');
        }
        return fixture.keys.unwrapKey(key);
      },
    };

    const first = await rewrapMasterKeyWraps({ store: fixture.store, keys: flaky }, { pageSize: 1 });
    expect(first.wrappedKeys).toMatchObject({ rewrapped: 2, failed: 1 });
    expect(first.signingKeys).toMatchObject({ rewrapped: 1, failed: 0 });
    expect(first.failures).toEqual([{ table: 'wrapped_keys', id: 'kek-org-b', reason: expect.stringContaining('429') }]);
    expect(first.remaining).toBe(1);
    expect(first.remainingMasterKeyIds).toEqual([fixture.oldMasterKeyId]);
    // Meanwhile the organization keeps working on the old version.
    await expect(hierarchyOf(fixture, fixture.keys).getOrganizationKek('org-b')).resolves.toHaveLength(32);

    const second = await rewrapMasterKeyWraps({ store: fixture.store, keys: flaky });
    expect(second.wrappedKeys).toMatchObject({ rewrapped: 1, alreadyCurrent: 2, failed: 0 });
    expect(second.remaining).toBe(0);
    expect(await countRowsNaming(fixture.store, fixture.oldMasterKeyId)).toBe(0);
  });

  test('a new wrap that does not open again to the same key is never written', async () => {
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    const corrupting: KeyProvider = {
      currentKeyId: () => fixture.keys.currentKeyId(),
      async wrapKey(plainKey) {
        const flipped = Buffer.from(plainKey);
        flipped[0] = (flipped[0] ?? 0) ^ 0xff;
        return fixture.keys.wrapKey(flipped);
      },
      unwrapKey: (key) => fixture.keys.unwrapKey(key),
    };
    const before = await fixture.store.query(sql('SELECT id, master_key_id, wrapped FROM wrapped_keys ORDER BY id'));

    const report = await rewrapMasterKeyWraps({ store: fixture.store, keys: corrupting });

    expect(report.wrappedKeys).toMatchObject({ rewrapped: 0, failed: 3 });
    expect(report.signingKeys).toMatchObject({ rewrapped: 0, failed: 1 });
    expect(report.remaining).toBe(4);
    expect(await fixture.store.query(sql('SELECT id, master_key_id, wrapped FROM wrapped_keys ORDER BY id'))).toEqual(before);
  });

  test('a destroyed key (crypto-shredded) is never unwrapped or re-wrapped', async () => {
    await fixture.store.execute(
      sql('UPDATE wrapped_keys SET destroyed_at = @now WHERE id = @id', { now: p.bigint(Date.now()), id: p.text('kek-org-b') }),
    );
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    const unwrapped: string[] = [];
    const watching: KeyProvider = {
      currentKeyId: () => fixture.keys.currentKeyId(),
      wrapKey: (plainKey) => fixture.keys.wrapKey(plainKey),
      unwrapKey(key) {
        unwrapped.push(key.wrapped.toString('base64'));
        return fixture.keys.unwrapKey(key);
      },
    };
    const [destroyed] = await fixture.store.query<{ wrapped: Uint8Array }>(
      sql('SELECT wrapped FROM wrapped_keys WHERE id = @id', { id: p.text('kek-org-b') }),
    );

    const report = await rewrapMasterKeyWraps({ store: fixture.store, keys: watching });

    expect(report.wrappedKeys).toMatchObject({ rewrapped: 2, skippedDestroyed: 1, failed: 0 });
    expect(report.remaining).toBe(0);
    expect(unwrapped).not.toContain(Buffer.from(destroyed!.wrapped).toString('base64'));
  });

  test('a row destroyed while it is being re-wrapped stays destroyed and keeps its old wrap', async () => {
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    // Rows go in id order: column-root, kek-org-a, kek-org-b. The second wrap is kek-org-a's.
    let wraps = 0;
    const destroyingMidway: KeyProvider = {
      currentKeyId: () => fixture.keys.currentKeyId(),
      async wrapKey(plainKey) {
        // Purge destroys the organization's key between our read and our write.
        if (++wraps === 2) await fixture.store.execute(
          sql('UPDATE wrapped_keys SET destroyed_at = @now WHERE id = @id AND destroyed_at IS NULL', {
            now: p.bigint(Date.now()),
            id: p.text('kek-org-a'),
          }),
        );
        return fixture.keys.wrapKey(plainKey);
      },
      unwrapKey: (key) => fixture.keys.unwrapKey(key),
    };

    const report = await rewrapMasterKeyWraps({ store: fixture.store, keys: destroyingMidway }, { pageSize: 1 });

    expect(report.wrappedKeys).toMatchObject({ skippedChanged: 1, failed: 0 });
    const [row] = await fixture.store.query<{ master_key_id: string; destroyed_at: number | null }>(
      sql('SELECT master_key_id, destroyed_at FROM wrapped_keys WHERE id = @id', { id: p.text('kek-org-a') }),
    );
    expect(row).toMatchObject({ master_key_id: fixture.oldMasterKeyId, destroyed_at: expect.any(Number) });
  });

  test('until the re-wrap, the old version is still needed: disabling it first would lock the data out', async () => {
    const oldMasterKeyId = fixture.oldMasterKeyId;
    await rotateLocalMasterKey(fixture.keyDirectory, { modulusLength: MODULUS_LENGTH });
    const disabledEarly = withoutVersion(createLocalKeyProvider({ directory: fixture.keyDirectory }), oldMasterKeyId);
    await expect(hierarchyOf(fixture, disabledEarly).getOrganizationKek('org-a')).rejects.toThrow(/disabled/);

    await rewrapMasterKeyWraps({ store: fixture.store, keys: fixture.keys });
    await expect(hierarchyOf(fixture, disabledEarly).getOrganizationKek('org-a')).resolves.toHaveLength(32);
  });

  test('covers every table the migrations give a master_key_id column', () => {
    const tables = MIGRATIONS.flatMap((migration) => migration.up(sqliteDialect))
      .map((statement) => /^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\(([\s\S]*)\)\s*$/.exec(statement))
      .filter((match): match is RegExpExecArray => match !== null && /\bmaster_key_id\b/.test(match[2] ?? ''))
      .map((match) => match[1]);
    expect(tables.sort()).toEqual(REWRAPPED_TABLES.map((spec) => spec.table).sort());
  });
});
