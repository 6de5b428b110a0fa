/**
 * Rotation of the eID encryption keys (lib/domain/eid/encryptionKeys.ts): new EC and RSA keys published before the
 * retired ones, which keep decrypting for the grace and then neither publish nor decrypt; `compromised` ends every
 * older key at once; other instances see a rotation within the 30 s refresh interval; and the master key is used
 * once per process and then once per rotation. Decryption is checked the way openid-client selects a key (by the
 * JWE's kid and alg among decryptionKeys()); test/integration/eidKeyRotation.test.ts runs it with a real provider.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';
import { countingKeyProvider, type KeyProviderCounts } from '../../../lib/adapters/keys/countingKeyProvider';
import { createLocalKeyProvider, rotateLocalMasterKey } from '../../../lib/adapters/keys/localKeyProvider';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS, runMigrations } from '../../../lib/adapters/sql/migrations';
import { sql } from '../../../lib/adapters/sql/params';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { commands } from '../../../lib/cli/commands';
import { rewrapMasterKeyWraps } from '../../../lib/crypto/rewrap';
import { loadConfig } from '../../../lib/config';
import {
  EID_KEYS_REFRESH_INTERVAL_IN_SECONDS,
  EidEncryptionKeys,
  RETIRED_EID_KEY_GRACE_IN_DAYS,
  type PublicEncryptionJwk,
} from '../../../lib/domain/eid/encryptionKeys';
import type { KeyProvider, Store } from '../../../lib/ports';
import { cryptoRandom } from '../../../lib/system';
import { FakeClock, makeTempDir } from '../../helpers/testApp';

const SECOND = 1000;
const DAY = 86_400 * SECOND;
const GRACE = RETIRED_EID_KEY_GRACE_IN_DAYS * DAY;
const REFRESH = EID_KEYS_REFRESH_INTERVAL_IN_SECONDS * SECOND;

let masterKeyDirectory: string;
beforeAll(() => {
  masterKeyDirectory = makeTempDir('connectid-eid-keys-');
});
afterAll(() => fs.rmSync(masterKeyDirectory, { recursive: true, force: true }));

let store: Store;
let clock: FakeClock;
beforeEach(async () => {
  store = createSqliteStore({ file: ':memory:' });
  await runMigrations(store, sqliteDialect);
  clock = new FakeClock();
});
afterEach(async () => {
  await store.close();
});

/** One app instance (or the CLI): its own caches and master-key client, sharing the database with the others. */
function instance(): { keys: EidEncryptionKeys; counts: KeyProviderCounts } {
  const { provider, counts } = countingKeyProvider(createLocalKeyProvider({ directory: masterKeyDirectory, modulusLength: 2048 }));
  return { keys: new EidEncryptionKeys({ store, keys: provider, clock, random: cryptoRandom }), counts };
}

async function published(keys: EidEncryptionKeys): Promise<PublicEncryptionJwk[]> {
  return (await keys.jwks()).keys;
}

async function publishedKids(keys: EidEncryptionKeys): Promise<string[]> {
  return (await published(keys)).map((key) => key.kid);
}

const ALGS = { EC: ['ECDH-ES', 'ECDH-ES+A256KW'], RSA: ['RSA-OAEP-256', 'RSA-OAEP'] } as const;

/** What a provider sends: a JWE to one of our published keys (by its kid, as oidc-provider does). */
async function encryptTo(jwk: PublicEncryptionJwk, alg: string, text = 'signed userinfo'): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(text))
    .setProtectedHeader({ alg, enc: 'A256GCM', kid: jwk.kid, cty: 'JWT' })
    .encrypt(await importJWK({ ...jwk }, alg));
}

/** Opens a JWE the way openid-client does: the one decryption key with the header's kid and alg. */
async function decryptWith(keys: EidEncryptionKeys, jwe: string): Promise<string> {
  const candidates = await keys.decryptionKeys();
  const { plaintext } = await compactDecrypt(jwe, (header) => {
    const matching = candidates.filter((key) => key.kid === header.kid && key.alg === header.alg);
    if (matching.length !== 1) throw new Error(`${matching.length} decryption keys for ${header.kid} ${header.alg}`);
    return matching[0]!.key;
  });
  return new TextDecoder().decode(plaintext);
}

/** Every algorithm of every given key still opens answers encrypted to it. */
async function expectDecrypts(keys: EidEncryptionKeys, jwks: readonly PublicEncryptionJwk[]): Promise<void> {
  for (const jwk of jwks) {
    for (const alg of ALGS[jwk.kty]) await expect(decryptWith(keys, await encryptTo(jwk, alg, `${jwk.kid} ${alg}`))).resolves.toBe(`${jwk.kid} ${alg}`);
  }
}

async function expectRefused(keys: EidEncryptionKeys, jwks: readonly PublicEncryptionJwk[]): Promise<void> {
  for (const jwk of jwks) {
    for (const alg of ALGS[jwk.kty]) await expect(decryptWith(keys, await encryptTo(jwk, alg))).rejects.toThrow(/0 decryption keys/);
  }
}

async function rows(): Promise<{ kid: string; retired_at: number | null; publish_until: number | null }[]> {
  return store.query(sql('SELECT kid, retired_at, publish_until FROM eid_encryption_keys ORDER BY created_at, kid'));
}

describe('rotating the eID encryption keys', () => {
  test('the migration gives the key table publish_until', async () => {
    expect(MIGRATIONS.find((migration) => migration.name === 'eid_encryption_keys_rotation')?.version).toBe(11);
    const { keys } = instance();
    await keys.jwks();
    expect(await rows()).toEqual([
      { kid: expect.stringMatching(/^eid-enc-/), retired_at: null, publish_until: null },
      { kid: expect.stringMatching(/^eid-enc-/), retired_at: null, publish_until: null },
    ]);
  });

  test('a rotation publishes new EC and RSA keys first; the old ones stay published and keep decrypting within the grace', async () => {
    const { keys } = instance();
    const old = await published(keys);
    expect(old.map((key) => key.kty).sort()).toEqual(['EC', 'RSA']);

    clock.advance(60 * SECOND);
    const rotated = await keys.rotate();
    expect(rotated).toEqual({
      kids: [expect.stringMatching(/^eid-enc-ec-/), expect.stringMatching(/^eid-enc-rsa-/)],
      previousKids: expect.arrayContaining(old.map((key) => key.kid)),
      previousUsableUntil: new Date(clock.now().getTime() + GRACE),
    });
    expect(rotated.previousKids).toHaveLength(2);

    // At once on the rotating instance: the new keys first (a provider picking the first key of a type takes them).
    const after = await published(keys);
    expect(after.map((key) => key.kid)).toEqual([...rotated.kids.slice().sort().reverse(), ...old.map((key) => key.kid).sort().reverse()]);
    expect(after.slice(0, 2).map((key) => key.kty).sort()).toEqual(['EC', 'RSA']);
    for (const key of after) expect(Object.keys(key)).not.toContain('d');
    await expectDecrypts(keys, after);

    // Still there just before the grace ends.
    clock.advance(GRACE - 1);
    expect(await publishedKids(keys)).toHaveLength(4);
    await expectDecrypts(keys, old);
  });

  test('after the grace the old keys are neither published nor used for decryption; the new ones go on', async () => {
    const { keys } = instance();
    const old = await published(keys);
    const { kids } = await keys.rotate();

    clock.advance(GRACE);
    expect((await publishedKids(keys)).sort()).toEqual(kids.slice().sort());
    await expectRefused(keys, old);
    await expectDecrypts(keys, await published(keys));

    // Within one refresh interval too (the keys loaded just before the grace ended are filtered by the clock).
    const { keys: fresh } = instance();
    const { kids: next } = await fresh.rotate();
    const current = (await published(fresh)).filter((key) => next.includes(key.kid));
    clock.advance(GRACE - SECOND);
    const retiredOnes = (await published(fresh)).filter((key) => kids.includes(key.kid));
    expect(retiredOnes).toHaveLength(2);
    clock.advance(SECOND);
    await expectRefused(fresh, retiredOnes);
    await expectDecrypts(fresh, current);
  });

  test('--compromised unpublishes every older key at once, including one still in its grace', async () => {
    const { keys } = instance();
    const first = await published(keys);
    await keys.rotate();
    const second = (await published(keys)).slice(0, 2);
    clock.advance(DAY);

    const emergency = await keys.rotate({ compromised: true });
    expect(emergency.previousUsableUntil).toEqual(clock.now());
    expect((await publishedKids(keys)).sort()).toEqual(emergency.kids.slice().sort());
    await expectRefused(keys, [...first, ...second]);
    await expectDecrypts(keys, await published(keys));
    for (const row of await rows()) {
      if (emergency.kids.includes(row.kid)) expect(row).toMatchObject({ retired_at: null, publish_until: null });
      else expect(Number(row.publish_until)).toBeLessThanOrEqual(clock.now().getTime());
    }
  });

  test('another instance sees a rotation within the refresh interval, and a compromise too', async () => {
    const app = instance();
    const cli = instance();
    const old = await published(app.keys);
    expect(await publishedKids(cli.keys)).toEqual(old.map((key) => key.kid));

    clock.advance(5 * SECOND);
    const { kids } = await cli.keys.rotate();
    // The app's view is at most REFRESH old: until then it publishes what it read…
    clock.advance(REFRESH - 5 * SECOND - 1);
    expect(await publishedKids(app.keys)).toEqual(old.map((key) => key.kid));
    // …then the new keys, first, with the old ones still decrypting.
    clock.advance(1);
    const after = await published(app.keys);
    expect(after.slice(0, 2).map((key) => key.kid).sort()).toEqual(kids.slice().sort());
    expect(after).toHaveLength(4);
    await expectDecrypts(app.keys, after);

    const emergency = await cli.keys.rotate({ compromised: true });
    clock.advance(REFRESH);
    expect((await publishedKids(app.keys)).sort()).toEqual(emergency.kids.slice().sort());
    await expectRefused(app.keys, after);
  });

  test('the master key unwraps the eID root key once per process, then once per rotation it has to read', async () => {
    const app = instance();
    await app.keys.jwks();
    await app.keys.decryptionKeys();
    // The creator holds the keys it created: no unwrap.
    expect(app.counts).toEqual({ wrap: 1, unwrap: 0 });

    const other = instance();
    await other.keys.jwks();
    for (let i = 0; i < 5; i++) {
      clock.advance(REFRESH);
      await other.keys.decryptionKeys();
    }
    expect(other.counts).toEqual({ wrap: 0, unwrap: 1 });

    // Rotating unwraps it to seal the new keys; reading back the keys it holds or created does not.
    await app.keys.rotate();
    await app.keys.decryptionKeys();
    clock.advance(REFRESH);
    await app.keys.jwks();
    expect(app.counts).toEqual({ wrap: 1, unwrap: 1 });
    clock.advance(REFRESH);
    await other.keys.jwks();
    clock.advance(REFRESH);
    await other.keys.jwks();
    expect(other.counts).toEqual({ wrap: 0, unwrap: 2 });
  });

  test('a rotation before first use just creates the first keys', async () => {
    const { keys } = instance();
    const rotated = await keys.rotate();
    expect(rotated).toEqual({ kids: [expect.any(String), expect.any(String)], previousKids: [], previousUsableUntil: null });
    expect((await publishedKids(keys)).sort()).toEqual(rotated.kids.slice().sort());
  });

  test('instances creating the keys at the same time settle on one set', async () => {
    const [a, b] = [instance(), instance()];
    const [fromA, fromB] = await Promise.all([publishedKids(a.keys), publishedKids(b.keys)]);
    expect(fromA.sort()).toEqual(fromB.sort());
    expect(await rows()).toHaveLength(2);
  });
});

describe('the eID root key and a master key rotation (rewrap-keys)', () => {
  test('keys rotated before and after re-wrapping all open without the old master key version', async () => {
    const keyDirectory = makeTempDir('connectid-eid-rewrap-');
    try {
      const keys = createLocalKeyProvider({ directory: keyDirectory, modulusLength: 2048 });
      const deps = (provider: KeyProvider) => new EidEncryptionKeys({ store, keys: provider, clock, random: cryptoRandom });
      const first = await published(deps(keys));
      const oldVersion = await keys.currentKeyId();
      await rotateLocalMasterKey(keyDirectory, { modulusLength: 2048 });
      const rewrapped = await rewrapMasterKeyWraps({ store, keys: createLocalKeyProvider({ directory: keyDirectory, modulusLength: 2048 }) });
      expect(rewrapped.remaining).toBe(0);

      // A fresh process whose master key client cannot use the old version any more.
      const current = createLocalKeyProvider({ directory: keyDirectory, modulusLength: 2048 });
      const withoutOld: KeyProvider = {
        currentKeyId: () => current.currentKeyId(),
        wrapKey: (plainKey) => current.wrapKey(plainKey),
        unwrapKey: (key) => (key.masterKeyId === oldVersion ? Promise.reject(new Error('disabled')) : current.unwrapKey(key)),
      };
      const app = deps(withoutOld);
      await expectDecrypts(app, first);
      const { kids } = await app.rotate();
      const after = await published(deps(withoutOld));
      expect(after.slice(0, 2).map((key) => key.kid).sort()).toEqual(kids.slice().sort());
      await expectDecrypts(deps(withoutOld), after);
    } finally {
      fs.rmSync(keyDirectory, { recursive: true, force: true });
    }
  });
});

describe('npx connectid rotate-eid-keys', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = makeTempDir();
    await createLocalKeyProvider({ directory: masterKeyDirectory, modulusLength: 2048 }).currentKeyId();
    // The master key already exists (a 4096-bit one would take seconds to create) and the schema is current.
    fs.cpSync(masterKeyDirectory, path.join(dataDir, 'keys'), { recursive: true });
    const file = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
    await runMigrations(file, sqliteDialect);
    await file.close();
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('creates new keys and names the previous ones with the end of their grace; --compromised ends it now', async () => {
    const command = commands['rotate-eid-keys']!;
    expect(command.options).toEqual({ compromised: { type: 'boolean' } });
    const config = loadConfig({ DATA_DIR: dataDir });

    const first = await command.run(config, {});
    expect(first.json).toEqual({ kids: [expect.any(String), expect.any(String)], previousKids: [], previousUsableUntil: null, compromised: false });

    const before = Date.now();
    const second = await command.run(config, {});
    expect(second.json).toMatchObject({ kids: [expect.any(String), expect.any(String)], compromised: false });
    expect((second.json.previousKids as string[]).slice().sort()).toEqual((first.json.kids as string[]).slice().sort());
    const until = Date.parse(String(second.json.previousUsableUntil));
    expect(until).toBeGreaterThanOrEqual(before + GRACE);
    expect(until).toBeLessThanOrEqual(Date.now() + GRACE);
    expect(second.text).toContain('New eID encryption keys:');
    expect(second.text).toContain(String(second.json.previousUsableUntil));

    const third = await command.run(config, { compromised: true });
    expect(third.json).toMatchObject({ compromised: true, previousKids: expect.any(Array) });
    expect(third.text).toMatch(/unpublished with every older key/);
    const file = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
    try {
      const usable = await file.query<{ kid: string }>(
        sql(`SELECT kid FROM eid_encryption_keys WHERE retired_at IS NULL OR publish_until > ${Date.now()}`),
      );
      expect(usable.map((row) => row.kid).sort()).toEqual((third.json.kids as string[]).slice().sort());
    } finally {
      await file.close();
    }
  });
});
