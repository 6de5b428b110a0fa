import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  CompactSign,
  SignJWT,
  compactVerify,
  UnsecuredJWT,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
  type JWTHeaderParameters,
} from 'jose';
import { countingKeyProvider, type KeyProviderCounts } from '../../../lib/adapters/keys/countingKeyProvider';
import { createLocalKeyProvider } from '../../../lib/adapters/keys/localKeyProvider';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS, runMigrations, type Migration } from '../../../lib/adapters/sql/migrations';
import { p, sql } from '../../../lib/adapters/sql/params';
import { commands } from '../../../lib/cli/commands';
import { loadConfig } from '../../../lib/config';
import {
  InvalidJwsError,
  issueAccessToken,
  signJws,
  verifyAccessToken,
  verifyJws,
  type AccessTokenClaims,
} from '../../../lib/domain/tokens/accessTokens';
import { signingKeysMigration } from '../../../lib/domain/tokens/schema';
import { SigningKeys } from '../../../lib/domain/tokens/signingKeys';
import { ApiError } from '../../../lib/errors';
import type { Store } from '../../../lib/ports';
import { cryptoRandom } from '../../../lib/system';
import { FakeClock, makeTempDir } from '../../helpers/testApp';

const ISSUER = 'https://connectid.example';
const AUDIENCE = 'https://connectid.example/v1';
const SECOND = 1000;
const TTL_IN_SECONDS = 600;
const DAY_IN_SECONDS = 86_400;
// A retired key stays published for 400 days, so consent receipts it signed keep verifying.
const PUBLISHED_AFTER_RETIREMENT_IN_SECONDS = 400 * DAY_IN_SECONDS;

const CLAIMS: AccessTokenClaims = {
  sub: 'user-1',
  role: 'org_member',
  org: 'org-1',
  akid: 'apikey-1',
  sid: 'session-1',
  amr: ['pwd', 'otp'],
  acr: 'urn:connectid:acr:mfa',
  authTime: 0, // set from the clock in beforeEach
};

// Whether or not migrations.ts has registered the signing-keys migration yet, apply it once, in order.
const migrations: Migration[] = [...new Map([...MIGRATIONS, signingKeysMigration].map((m) => [m.version, m])).values()].sort(
  (a, b) => a.version - b.version,
);

let masterKeyDirectory: string;
beforeAll(() => {
  masterKeyDirectory = makeTempDir('connectid-tokens-keys-');
});
afterAll(() => fs.rmSync(masterKeyDirectory, { recursive: true, force: true }));

let store: Store;
let clock: FakeClock;

/** One app instance: its own caches and master-key client, sharing the database with the others. */
function instance(): { signingKeys: SigningKeys; counts: KeyProviderCounts } {
  const { provider, counts } = countingKeyProvider(createLocalKeyProvider({ directory: masterKeyDirectory, modulusLength: 2048 }));
  const signingKeys = new SigningKeys({ store, keys: provider, clock, random: cryptoRandom, accessTokenTtlInSeconds: TTL_IN_SECONDS });
  return { signingKeys, counts };
}

const nowInSeconds = () => Math.floor(clock.now().getTime() / 1000);
const issue = (signingKeys: SigningKeys, claims: AccessTokenClaims = { ...CLAIMS, authTime: nowInSeconds() }) =>
  issueAccessToken(signingKeys, { issuer: ISSUER, audience: AUDIENCE, clock, random: cryptoRandom }, claims);
const verify = (signingKeys: SigningKeys, token: string) =>
  verifyAccessToken(signingKeys, { issuer: ISSUER, audience: AUDIENCE, clock }, token);

async function rejectionOf(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('Expected a rejection, but it resolved');
}

async function expectInvalidToken(work: Promise<unknown>): Promise<void> {
  const error = await rejectionOf(work);
  expect(error).toBeInstanceOf(ApiError);
  expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
  expect((error as ApiError).extra.headers?.['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
}

async function signingKeyRows(): Promise<{ kid: string; retired_at: number | null; publish_until: number | null }[]> {
  return store.query(sql('SELECT kid, retired_at, publish_until FROM signing_keys ORDER BY created_at, kid'));
}

async function publishedKids(signingKeys: SigningKeys): Promise<string[]> {
  return (await signingKeys.jwks()).keys.map((key) => key.kid).sort();
}

beforeEach(async () => {
  store = createSqliteStore({ file: ':memory:' });
  await runMigrations(store, sqliteDialect, migrations);
  clock = new FakeClock();
});
afterEach(async () => {
  await store.close();
});

describe('token signing keys', () => {
  it('creates one key on first use, wrapped by the master key, and reuses it', async () => {
    const { signingKeys, counts } = instance();
    const first = await signingKeys.current();
    const second = await signingKeys.current();

    expect(second.kid).toBe(first.kid);
    expect(first.alg).toBe('ES256');
    expect(counts).toEqual({ wrap: 1, unwrap: 0 });
    const rows = await store.query<{ alg: string; wrapped_private: Buffer; master_key_id: string }>(
      sql('SELECT alg, wrapped_private, master_key_id FROM signing_keys'),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ alg: 'ES256', master_key_id: 'local-master-v1' });
    // An RSA-2048 OAEP ciphertext, not the PKCS#8 key itself.
    expect(Buffer.from(rows[0]!.wrapped_private).length).toBe(256);
  });

  it('creates a single key when many first uses in one process arrive together', async () => {
    const { signingKeys } = instance();
    const keys = await Promise.all(Array.from({ length: 5 }, () => signingKeys.current()));

    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect(await signingKeyRows()).toHaveLength(1);
  });

  it('lets instances that created keys at the same time settle on the same newest key', async () => {
    const a = instance();
    const b = instance();
    await Promise.all([a.signingKeys.current(), b.signingKeys.current()]);
    // Both read an empty table before either inserted (SQLite runs statements in call order).
    expect(await signingKeyRows()).toHaveLength(2);
    clock.advance(30 * SECOND);

    const [fromA, fromB] = await Promise.all([a.signingKeys.current(), b.signingKeys.current()]);
    expect(fromA.kid).toBe(fromB.kid);
    // Every key that may have signed stays published.
    expect(await publishedKids(a.signingKeys)).toEqual((await signingKeyRows()).map((row) => row.kid).sort());
  });

  it('publishes only public keys, with kid, alg and use', async () => {
    const { signingKeys } = instance();
    const { kid } = await signingKeys.current();
    const { keys } = await signingKeys.jwks();

    expect(keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid, alg: 'ES256', use: 'sig' }]);
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('creates the first key when the JWKS is asked for before any token, so it is never empty', async () => {
    const { signingKeys } = instance();
    expect((await signingKeys.jwks()).keys).toHaveLength(1);
  });

  it('unwraps a key with the master key once per process, not per token', async () => {
    const creator = instance();
    await issue(creator.signingKeys);
    const other = instance();

    await issue(other.signingKeys);
    expect(other.counts.unwrap).toBe(1);
    for (let i = 0; i < 10; i++) await issue(other.signingKeys);
    clock.advance(60 * SECOND); // past the refresh interval: the DB is re-read, the key is not unwrapped again
    await issue(other.signingKeys);

    expect(other.counts.unwrap).toBe(1);
    // The instance that created the key never unwraps it: it kept the key it generated.
    expect(creator.counts.unwrap).toBe(0);
  });

  describe('rotation', () => {
    it('signs with the new key at once and keeps the old tokens valid until they expire', async () => {
      const { signingKeys } = instance();
      const before = await issue(signingKeys);
      const oldKid = decodeProtectedHeader(before.token).kid;

      const rotated = await signingKeys.rotate();
      const after = await issue(signingKeys);

      expect(rotated).toEqual({ kid: expect.any(String), previousKid: oldKid });
      expect(rotated.kid).not.toBe(oldKid);
      expect(decodeProtectedHeader(after.token).kid).toBe(rotated.kid);
      expect(await publishedKids(signingKeys)).toEqual([oldKid, rotated.kid].sort());
      await expect(verify(signingKeys, before.token)).resolves.toMatchObject({ jti: before.jti });

      clock.advance((TTL_IN_SECONDS - 1) * SECOND);
      await expect(verify(signingKeys, before.token)).resolves.toMatchObject({ jti: before.jti });
      clock.advance(1 * SECOND);
      await expectInvalidToken(verify(signingKeys, before.token));
    });

    it('retires the old key and drops it from the JWKS after its publication window', async () => {
      const { signingKeys } = instance();
      const { kid: oldKid } = await signingKeys.current();
      const rotatedAtMs = clock.now().getTime();
      const { kid: newKid } = await signingKeys.rotate();

      expect(await signingKeyRows()).toContainEqual({
        kid: oldKid,
        retired_at: rotatedAtMs,
        publish_until: rotatedAtMs + PUBLISHED_AFTER_RETIREMENT_IN_SECONDS * SECOND,
      });
      clock.advance((PUBLISHED_AFTER_RETIREMENT_IN_SECONDS - 1) * SECOND);
      expect(await publishedKids(signingKeys)).toEqual([oldKid, newKid].sort());
      clock.advance(1 * SECOND);
      expect(await publishedKids(signingKeys)).toEqual([newKid]);
      expect(await signingKeys.verificationKey(oldKid)).toBeNull();
    });

    it('keeps a receipt signed before a normal rotation verifying 16 minutes later, and a year later', async () => {
      const { signingKeys } = instance();
      const receipt = await signJws(signingKeys, { type: 'consent', requestId: 'req-1' });
      await signingKeys.rotate();

      clock.advance(16 * 60 * SECOND);
      await expect(verifyJws(signingKeys, receipt)).resolves.toMatchObject({ payload: { requestId: 'req-1' } });
      const jwks = createLocalJWKSet(await signingKeys.jwks());
      await expect(compactVerify(receipt, jwks, { algorithms: ['ES256'] })).resolves.toBeDefined();

      clock.advance(365 * DAY_IN_SECONDS * SECOND);
      await expect(verifyJws(signingKeys, receipt)).resolves.toMatchObject({ payload: { requestId: 'req-1' } });
    });

    it('does not extend access tokens: one signed before a normal rotation still dies at its exp', async () => {
      const { signingKeys } = instance();
      const { token } = await issue(signingKeys);
      await signingKeys.rotate();

      clock.advance(TTL_IN_SECONDS * SECOND);
      await expectInvalidToken(verify(signingKeys, token));
    });

    it('unpublishes the previous key at once when the rotation is for a compromised key', async () => {
      const { signingKeys } = instance();
      const receipt = await signJws(signingKeys, { type: 'consent' });
      const before = await issue(signingKeys);
      const { kid: oldKid } = await signingKeys.current();

      const rotated = await signingKeys.rotate({ compromised: true });

      expect(rotated.previousKid).toBe(oldKid);
      expect(await publishedKids(signingKeys)).toEqual([rotated.kid]);
      await expect(verifyJws(signingKeys, receipt)).rejects.toMatchObject({ code: 'invalid_jws' });
      await expectInvalidToken(verify(signingKeys, before.token));
      // What the new key signs verifies.
      await expect(verifyJws(signingKeys, await signJws(signingKeys, { type: 'consent' }))).resolves.toBeDefined();
    });

    it('also unpublishes keys retired earlier, still published for their receipts, when rotating for compromise', async () => {
      const { signingKeys } = instance();
      const oldReceipt = await signJws(signingKeys, { type: 'consent', n: 1 });
      await signingKeys.rotate();
      const newerReceipt = await signJws(signingKeys, { type: 'consent', n: 2 });
      expect(await publishedKids(signingKeys)).toHaveLength(2);

      const { kid } = await signingKeys.rotate({ compromised: true });

      expect(await publishedKids(signingKeys)).toEqual([kid]);
      await expect(verifyJws(signingKeys, oldReceipt)).rejects.toMatchObject({ code: 'invalid_jws' });
      await expect(verifyJws(signingKeys, newerReceipt)).rejects.toMatchObject({ code: 'invalid_jws' });
    });

    it('reaches the verification of another process within 30 seconds after a compromised rotation', async () => {
      const server = instance();
      const cli = instance();
      const receipt = await signJws(server.signingKeys, { type: 'consent' });
      await expect(verifyJws(server.signingKeys, receipt)).resolves.toBeDefined();

      await cli.signingKeys.rotate({ compromised: true });
      clock.advance(30 * SECOND);
      await expect(verifyJws(server.signingKeys, receipt)).rejects.toMatchObject({ code: 'invalid_jws' });
    });

    it('reports no previous key when rotating before any key exists', async () => {
      const { signingKeys } = instance();
      const { kid, previousKid } = await signingKeys.rotate();

      expect(previousKid).toBeNull();
      expect((await signingKeys.current()).kid).toBe(kid);
    });

    it('reaches the signing of another process within 30 seconds', async () => {
      const server = instance();
      const cli = instance();
      const { kid: oldKid } = await server.signingKeys.current();

      const { kid: newKid } = await cli.signingKeys.rotate();
      clock.advance(29 * SECOND);
      expect((await server.signingKeys.current()).kid).toBe(oldKid);
      clock.advance(1 * SECOND);
      expect((await server.signingKeys.current()).kid).toBe(newKid);
    });
  });

  it('verifies at once a token signed by a key another instance just created', async () => {
    const a = instance();
    const b = instance();
    await verify(a.signingKeys, (await issue(a.signingKeys)).token); // a has read the keys and cached them
    await b.signingKeys.rotate();

    const fromB = await issue(b.signingKeys);
    await expect(verify(a.signingKeys, fromB.token)).resolves.toMatchObject({ jti: fromB.jti, sub: CLAIMS.sub });
  });

  it('refuses an unknown kid without caching the refusal: a key created later verifies', async () => {
    const a = instance();
    const b = instance();
    await expect(a.signingKeys.verificationKey('not-yet')).resolves.toBeNull();
    const { token } = await issue(b.signingKeys);
    await expect(verify(a.signingKeys, token)).resolves.toMatchObject({ sub: CLAIMS.sub });
  });
});

describe('access tokens', () => {
  let signingKeys: SigningKeys;
  let kid: string;
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  let authTime: number;

  beforeEach(async () => {
    signingKeys = instance().signingKeys;
    ({ kid, privateKey } = await signingKeys.current());
    publicKey = (await signingKeys.verificationKey(kid))!;
    authTime = nowInSeconds() - 60;
  });

  /** A token as issueAccessToken makes it, signed with our real key unless told otherwise, then altered. */
  async function craft(
    changes: { claims?: Record<string, unknown>; omit?: string[]; header?: Partial<JWTHeaderParameters>; key?: KeyObject } = {},
  ): Promise<string> {
    const iat = nowInSeconds();
    const payload: Record<string, unknown> = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      role: 'requester',
      org: null,
      akid: null,
      sid: 'session-1',
      amr: ['pwd'],
      auth_time: authTime,
      iat,
      exp: iat + TTL_IN_SECONDS,
      jti: 'jti-1',
      ...changes.claims,
    };
    for (const claim of changes.omit ?? []) delete payload[claim];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...changes.header })
      .sign(changes.key ?? privateKey);
  }

  it('round-trips every claim, in an at+jwt signed ES256 under the current kid, for 10 minutes', async () => {
    const issued = await issue(signingKeys, { ...CLAIMS, authTime });
    const verified = await verify(signingKeys, issued.token);

    expect(issued.expiresIn).toBe(600);
    expect(decodeProtectedHeader(issued.token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid });
    expect(verified).toEqual({
      sub: 'user-1',
      role: 'org_member',
      org: 'org-1',
      akid: 'apikey-1',
      sid: 'session-1',
      amr: ['pwd', 'otp'],
      acr: 'urn:connectid:acr:mfa',
      authTime,
      jti: issued.jti,
      issuedAt: nowInSeconds(),
      expiresAt: nowInSeconds() + 600,
      kid,
    });
  });

  it('a token verified before is still refused once it expires, and once its key is unpublished', async () => {
    const expiring = await issue(signingKeys);
    await expect(verify(signingKeys, expiring.token)).resolves.toMatchObject({ jti: expiring.jti });
    clock.advance(TTL_IN_SECONDS * SECOND);
    await expectInvalidToken(verify(signingKeys, expiring.token));

    const beforeRotation = await issue(signingKeys);
    await expect(verify(signingKeys, beforeRotation.token)).resolves.toMatchObject({ jti: beforeRotation.jti });
    await signingKeys.rotate({ compromised: true });
    await expectInvalidToken(verify(signingKeys, beforeRotation.token));
  });

  it('carries null org, akid and sid as null and leaves out an absent acr', async () => {
    const { acr: _acr, ...withoutAcr } = CLAIMS;
    const { token } = await issue(signingKeys, { ...withoutAcr, role: 'requester', org: null, akid: null, sid: null, authTime });
    const verified = await verify(signingKeys, token);

    expect(verified).toMatchObject({ role: 'requester', org: null, akid: null, sid: null });
    expect(verified).not.toHaveProperty('acr');
  });

  it('gives each token its own jti', async () => {
    const [a, b] = await Promise.all([issue(signingKeys), issue(signingKeys)]);
    expect(a.jti).not.toBe(b.jti);
  });

  it('verifies with the published JWKS alone, as a resource server elsewhere would', async () => {
    const { token } = await issue(signingKeys);
    const jwks = createLocalJWKSet(await signingKeys.jwks());

    const { payload } = await jwtVerify(token, jwks, {
      algorithms: ['ES256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      currentDate: clock.now(),
    });
    expect(payload.sub).toBe(CLAIMS.sub);
  });

  it('refuses to issue a token for a role that does not exist', async () => {
    await expect(issue(signingKeys, { ...CLAIMS, role: 'root' as never, authTime })).rejects.toBeInstanceOf(TypeError);
  });

  it('refuses to issue a token whose auth_time is in the future (milliseconds passed as seconds)', async () => {
    await expect(issue(signingKeys, { ...CLAIMS, authTime: clock.now().getTime() })).rejects.toBeInstanceOf(RangeError);
  });

  describe('are refused with 401 invalid_token when', () => {
    it('(control) nothing is altered', async () => {
      await expect(verify(signingKeys, await craft())).resolves.toMatchObject({ sub: 'user-1', role: 'requester' });
    });

    it('the algorithm is none', async () => {
      const iat = nowInSeconds();
      const unsecured = new UnsecuredJWT({ role: 'operator', org: null, akid: null, sid: null, amr: ['pwd'], auth_time: iat })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('user-1')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 600)
        .setJti('jti-1')
        .encode();
      await expectInvalidToken(verify(signingKeys, unsecured));
    });

    it.each([
      ['its SPKI PEM', () => Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }))],
      ['its SPKI DER', () => publicKey.export({ type: 'spki', format: 'der' })],
      ['its JWK as JSON', () => Buffer.from(JSON.stringify(publicKey.export({ format: 'jwk' })))],
    ])('it is HS256 with the public key (%s) as the HMAC secret', async (_form, secret) => {
      const forged = await new SignJWT({ role: 'operator', org: null, akid: null, sid: null, amr: ['pwd'], auth_time: nowInSeconds() })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('user-1')
        .setIssuedAt()
        .setExpirationTime('10m')
        .setJti('jti-1')
        .sign(new Uint8Array(secret()));
      await expectInvalidToken(verify(signingKeys, forged));
    });

    it('it is ES256 signed by a foreign key that claims a known kid', async () => {
      const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await expectInvalidToken(verify(signingKeys, await craft({ key: foreign.privateKey })));
    });

    it('it embeds its own public key in the header (jwk) under a known kid', async () => {
      const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = await exportJWK(foreign.publicKey);
      await expectInvalidToken(verify(signingKeys, await craft({ key: foreign.privateKey, header: { jwk } })));
    });

    it('its kid is unknown', async () => {
      await expectInvalidToken(verify(signingKeys, await craft({ header: { kid: 'no-such-kid' } })));
    });

    it('it has no kid', async () => {
      const token = await new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(privateKey);
      await expectInvalidToken(verify(signingKeys, token));
    });

    it('its kid is a key no longer published', async () => {
      await signingKeys.rotate();
      clock.advance(PUBLISHED_AFTER_RETIREMENT_IN_SECONDS * SECOND);
      // Signed with the retired key after its window, with a fresh exp: only the kid check stops it.
      await expectInvalidToken(verify(signingKeys, await craft()));
    });

    it('it has expired (exp equal to now), with no tolerance', async () => {
      const { token } = await issue(signingKeys);
      clock.advance(TTL_IN_SECONDS * SECOND);
      await expectInvalidToken(verify(signingKeys, token));
    });

    it('its exp is in the past by one second', async () => {
      await expectInvalidToken(verify(signingKeys, await craft({ claims: { exp: nowInSeconds() - 1 } })));
    });

    it('its issuer is another', async () => {
      await expectInvalidToken(verify(signingKeys, await craft({ claims: { iss: 'https://evil.example' } })));
    });

    it('its audience is another', async () => {
      await expectInvalidToken(verify(signingKeys, await craft({ claims: { aud: 'https://other-api.example' } })));
    });

    it.each([['JWT'], ['jwt'], ['application/jwt']])('its typ is %s', async (typ) => {
      await expectInvalidToken(verify(signingKeys, await craft({ header: { typ } })));
    });

    it('it has no typ', async () => {
      await expectInvalidToken(verify(signingKeys, await craft({ header: { typ: undefined } })));
    });

    it('it is a signed receipt (JWS) carrying access-token claims', async () => {
      const iat = nowInSeconds();
      const receipt = await signJws(signingKeys, {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'user-1',
        role: 'operator',
        org: null,
        akid: null,
        sid: null,
        amr: ['pwd'],
        auth_time: iat,
        iat,
        exp: iat + 600,
        jti: 'jti-1',
      });
      await expectInvalidToken(verify(signingKeys, receipt));
    });

    it.each([['iss'], ['aud'], ['sub'], ['role'], ['org'], ['akid'], ['sid'], ['amr'], ['auth_time'], ['iat'], ['exp'], ['jti']])(
      'the %s claim is missing',
      async (claim) => {
        await expectInvalidToken(verify(signingKeys, await craft({ omit: [claim] })));
      },
    );

    it.each([['superuser'], ['admin'], ['']])('its role %p is not one of ours', async (role) => {
      await expectInvalidToken(verify(signingKeys, await craft({ claims: { role } })));
    });

    it.each([
      ['sub is empty', { sub: '' }],
      ['org is a number', { org: 42 }],
      ['amr is a string', { amr: 'pwd' }],
      ['amr holds a number', { amr: ['pwd', 1] }],
      ['acr is a number', { acr: 2 }],
      ['auth_time is a string', { auth_time: '1700000000' }],
      ['auth_time is fractional', { auth_time: 1700000000.5 }],
      ['jti is a number', { jti: 7 }],
    ])('a claim has the wrong type: %s', async (_case, claims) => {
      await expectInvalidToken(verify(signingKeys, await craft({ claims })));
    });

    it('its signature is altered', async () => {
      const { token } = await issue(signingKeys);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
      await expectInvalidToken(verify(signingKeys, `${header}.${payload}.${flipped}`));
    });

    it('its payload is altered (role raised to operator)', async () => {
      const { token } = await issue(signingKeys);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const raised = Buffer.from(JSON.stringify({ ...claims, role: 'operator' })).toString('base64url');
      await expectInvalidToken(verify(signingKeys, `${header}.${raised}.${signature}`));
    });

    it.each([
      ['empty', ''],
      ['not a JWT', 'not-a-token'],
      ['a JWE-shaped string', 'a.b.c.d.e'],
      ['far too long', `${'a'.repeat(9000)}.b.c`],
    ])('it is %s', async (_case, token) => {
      await expectInvalidToken(verify(signingKeys, token));
    });
  });

  it('reports a database failure as a failure, not as an invalid token', async () => {
    const token = await craft({ header: { kid: 'unknown-so-the-database-is-asked' } });
    await store.close();

    const error = await rejectionOf(verify(signingKeys, token));
    expect(error).not.toBeInstanceOf(ApiError);
    // afterEach closes it again; a fresh in-memory store keeps that harmless.
    store = createSqliteStore({ file: ':memory:' });
  });
});

describe('signed JSON (JWS) for receipts', () => {
  let signingKeys: SigningKeys;
  beforeEach(() => {
    signingKeys = instance().signingKeys;
  });

  it('round-trips the payload, signed ES256 with typ JWT under the current kid', async () => {
    const receipt = { type: 'consent', requestId: 'req-1', categories: ['orders', 'invoices'], at: '2026-11-21T10:00:00Z' };
    const jws = await signJws(signingKeys, receipt);
    const { kid } = await signingKeys.current();

    expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', typ: 'JWT', kid });
    await expect(verifyJws(signingKeys, jws)).resolves.toEqual({ payload: receipt, kid });
  });

  it('refuses a tampered payload with invalid_jws', async () => {
    const jws = await signJws(signingKeys, { type: 'deletion', deliveryId: 'del-1' });
    const [header, , signature] = jws.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ type: 'deletion', deliveryId: 'del-2' })).toString('base64url');

    const error = await rejectionOf(verifyJws(signingKeys, `${header}.${forged}.${signature}`));
    expect(error).toBeInstanceOf(InvalidJwsError);
    expect(error).toMatchObject({ code: 'invalid_jws' });
  });

  it('refuses an access token presented as a receipt', async () => {
    const { token } = await issue(signingKeys);
    await expect(verifyJws(signingKeys, token)).rejects.toMatchObject({ code: 'invalid_jws' });
  });

  it('refuses a receipt signed by a foreign key under a known kid', async () => {
    const { kid } = await signingKeys.current();
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jws = await new CompactSign(Buffer.from('{"type":"consent"}'))
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .sign(foreign.privateKey);
    await expect(verifyJws(signingKeys, jws)).rejects.toMatchObject({ code: 'invalid_jws' });
  });

  it('refuses an unsecured (alg none) receipt', async () => {
    const unsecured = new UnsecuredJWT({ type: 'consent' }).encode();
    await expect(verifyJws(signingKeys, unsecured)).rejects.toMatchObject({ code: 'invalid_jws' });
  });

  it('refuses a payload that is not a JSON object', async () => {
    const { kid, privateKey } = await signingKeys.current();
    const jws = await new CompactSign(Buffer.from('[1,2,3]')).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid }).sign(privateKey);
    await expect(verifyJws(signingKeys, jws)).rejects.toMatchObject({ code: 'invalid_jws' });
  });

  it('verifies with the published JWKS alone, as the receipt holder would', async () => {
    const jws = await signJws(signingKeys, { type: 'consent' });
    const { payload } = await compactVerify(jws, createLocalJWKSet(await signingKeys.jwks()), { algorithms: ['ES256'] });
    expect(JSON.parse(Buffer.from(payload).toString())).toEqual({ type: 'consent' });
  });
});

describe('npx connectid rotate-signing-key', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = makeTempDir();
    await createLocalKeyProvider({ directory: masterKeyDirectory, modulusLength: 2048 }).currentKeyId();
    // The master key already exists (a 4096-bit one would take seconds to create) and the schema is current.
    fs.cpSync(masterKeyDirectory, path.join(dataDir, 'keys'), { recursive: true });
    const file = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
    await runMigrations(file, sqliteDialect, migrations);
    await file.close();
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('creates a new key and names the previous one', async () => {
    const command = commands['rotate-signing-key']!;
    const config = loadConfig({ DATA_DIR: dataDir });

    const first = await command.run(config, {});
    const second = await command.run(config, {});

    expect(first.json).toEqual({ kid: expect.any(String), previousKid: null, compromised: false });
    expect(second.json).toEqual({ kid: expect.any(String), previousKid: first.json.kid, compromised: false });
    expect(second.text).toContain(String(second.json.kid));
    const file = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
    try {
      const rows = await file.query<{ kid: string; retired_at: number | null }>(
        sql('SELECT kid, retired_at FROM signing_keys WHERE retired_at IS NULL'),
      );
      expect(rows.map((row) => row.kid)).toEqual([second.json.kid]);
      const all = await file.query(sql('SELECT kid FROM signing_keys WHERE kid = @kid', { kid: p.text(String(first.json.kid)) }));
      expect(all).toHaveLength(1);
    } finally {
      await file.close();
    }
  });

  it('with --compromised, leaves only the new key published', async () => {
    const command = commands['rotate-signing-key']!;
    const config = loadConfig({ DATA_DIR: dataDir });

    const first = await command.run(config, {});
    await command.run(config, {});
    const emergency = await command.run(config, { compromised: true });

    // Nothing signed yet, so nothing to re-sign (test/integration/resignReceipts.test.ts covers the re-signing).
    expect(emergency.json).toEqual({
      kid: expect.any(String),
      previousKid: expect.any(String),
      compromised: true,
      resigned: { consentReceipts: 0, deletionReceipts: 0, changedMeanwhile: 0, failures: [] },
    });
    const file = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
    try {
      const published = await file.query<{ kid: string }>(
        sql('SELECT kid FROM signing_keys WHERE publish_until IS NULL OR publish_until > @now', { now: p.bigint(Date.now()) }),
      );
      expect(published.map((row) => row.kid)).toEqual([emergency.json.kid]);
      expect(first.json.kid).not.toBe(emergency.json.kid);
    } finally {
      await file.close();
    }
  });
});
