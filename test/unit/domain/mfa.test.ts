/**
 * The pieces of MFA that need no HTTP: one-time codes, recovery codes, TOTP steps, amr values, and the
 * enrollment restriction carried in access tokens.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createLocalKeyProvider } from '../../../lib/adapters/keys/localKeyProvider';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { ColumnCipher } from '../../../lib/crypto/columnCipher';
import { amrFor } from '../../../lib/domain/mfa/policy';
import { hashOneTimeCode, newOneTimeCode, oneTimeCodeMatches, smsText } from '../../../lib/domain/mfa/oneTimeCodes';
import { newRecoveryCode, normalizeRecoveryCode } from '../../../lib/domain/mfa/recoveryCodes';
import { matchTotp, newTotpSecret, totpUri } from '../../../lib/domain/mfa/totp';
import { issueAccessToken, verifyAccessToken } from '../../../lib/domain/tokens/accessTokens';
import { SigningKeys } from '../../../lib/domain/tokens/signingKeys';
import type { Random, Store } from '../../../lib/ports';
import { cryptoRandom } from '../../../lib/system';
import { totpCodeAt } from '../../helpers/identity';
import { FakeClock, makeTempDir } from '../../helpers/testApp';

/** A Random that returns the given bytes in order, then repeats the last chunk. */
function scriptedRandom(...chunks: Buffer[]): Random {
  let index = 0;
  return { bytes: (length) => chunks[Math.min(index++, chunks.length - 1)]!.subarray(0, length), id: () => 'fixed' };
}

describe('one-time codes', () => {
  test('are six digits, zero-padded, and redraw the values that would bias them', () => {
    expect(newOneTimeCode(scriptedRandom(Buffer.from([0, 0, 0, 42])))).toBe('000042');
    // 0xffffffff is above the largest multiple of a million below 2^32: it is redrawn, not folded into low codes.
    expect(newOneTimeCode(scriptedRandom(Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0x0f, 0x42, 0x3f])))).toBe('999999');
    for (let i = 0; i < 200; i++) expect(newOneTimeCode(cryptoRandom)).toMatch(/^\d{6}$/);
  });

  test('are stored as a keyed hash bound to their challenge', () => {
    const cipher = new ColumnCipher(randomBytes(32));
    const hash = hashOneTimeCode(cipher, 'challenge-1', '123456');
    expect(hash).not.toContain('123456');
    expect(oneTimeCodeMatches(cipher, 'challenge-1', '123456', hash)).toBe(true);
    expect(oneTimeCodeMatches(cipher, 'challenge-2', '123456', hash)).toBe(false);
    expect(oneTimeCodeMatches(cipher, 'challenge-1', '123457', hash)).toBe(false);
    expect(oneTimeCodeMatches(cipher, 'challenge-1', ' 123456', hash)).toBe(false);
    // Another key (another installation) computes another hash: a table dump alone cannot be brute-forced.
    expect(hashOneTimeCode(new ColumnCipher(randomBytes(32)), 'challenge-1', '123456')).not.toBe(hash);
  });

  test('an SMS says the code and nothing about the person', () => {
    expect(smsText('123456')).toMatch(/^123456 is your Connectid code/);
    expect(smsText('123456').length).toBeLessThanOrEqual(160);
  });
});

describe('recovery codes', () => {
  test('are xxxx-xxxx-xx from a 32-letter alphabet: 50 random bits each', () => {
    expect(newRecoveryCode(scriptedRandom(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 31])))).toBe('0123-4567-8z');
    const codes = new Set(Array.from({ length: 1000 }, () => newRecoveryCode(cryptoRandom)));
    expect(codes.size).toBe(1000);
    for (const code of codes) expect(code).toMatch(/^[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{2}$/);
  });

  test('typed back, case, spaces and dashes do not matter, and look-alike letters read as digits', () => {
    expect(normalizeRecoveryCode('7KQ2 X9DM 4T')).toBe('7kq2x9dm4t');
    expect(normalizeRecoveryCode('OIl2-x9dm-4t')).toBe('0112x9dm4t');
    expect(normalizeRecoveryCode('7kq2-x9dm-4')).toBeNull();
    expect(normalizeRecoveryCode('7kq2-x9dm-4u')).toBeNull();
  });
});

describe('TOTP', () => {
  const secret = newTotpSecret(cryptoRandom);
  const now = Date.UTC(2026, 10, 21, 10, 0, 10);
  const step = Math.floor(now / 30_000);

  test('a 160-bit secret in base32, and a Key URI authenticator apps import', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, 'ada@example.org'));
    expect(uri.href).toMatch(/^otpauth:\/\/totp\/Connectid:ada%40example\.org\?/);
    expect(uri.searchParams.get('secret')).toBe(secret);
  });

  test('accepts the steps before, at and after now, each only once', () => {
    expect(matchTotp(secret, totpCodeAt(secret, now), now, null)).toBe(step);
    expect(matchTotp(secret, totpCodeAt(secret, now - 30_000), now, null)).toBe(step - 1);
    expect(matchTotp(secret, totpCodeAt(secret, now + 30_000), now, null)).toBe(step + 1);
    expect(matchTotp(secret, totpCodeAt(secret, now - 60_000), now, null)).toBeNull();
    expect(matchTotp(secret, totpCodeAt(secret, now + 60_000), now, null)).toBeNull();
    // Replay: a step at or before the last accepted one is refused.
    expect(matchTotp(secret, totpCodeAt(secret, now), now, step)).toBeNull();
    expect(matchTotp(secret, totpCodeAt(secret, now - 30_000), now, step)).toBeNull();
    expect(matchTotp(secret, totpCodeAt(secret, now + 30_000), now, step)).toBe(step + 1);
    expect(matchTotp(secret, 'abcdef', now, null)).toBeNull();
  });
});

describe('amr (RFC 8176)', () => {
  test('names the password, the kind of second factor, and mfa', () => {
    expect(amrFor('totp')).toEqual(['pwd', 'otp', 'mfa']);
    expect(amrFor('email')).toEqual(['pwd', 'otp', 'mfa']);
    expect(amrFor('sms')).toEqual(['pwd', 'otp', 'sms', 'mfa']);
    expect(amrFor('webauthn')).toEqual(['pwd', 'hwk', 'user', 'mfa']);
    expect(amrFor('recovery')).toEqual(['pwd', 'otp', 'mfa']);
  });
});

describe('the enrollment restriction in access tokens', () => {
  const options = { issuer: 'https://connectid.example', audience: 'https://connectid.example/v1' };
  let store: Store;
  let keysDirectory: string;
  let signingKeys: SigningKeys;
  const clock = new FakeClock();
  beforeAll(async () => {
    store = createSqliteStore({ file: ':memory:' });
    await store.migrate();
    keysDirectory = makeTempDir('connectid-mfa-keys-');
    signingKeys = new SigningKeys({ store, keys: createLocalKeyProvider({ directory: keysDirectory, modulusLength: 2048 }), clock, random: cryptoRandom });
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(keysDirectory, { recursive: true, force: true });
  });

  const claims = () => ({ sub: 'u1', role: 'requester' as const, org: null, akid: null, sid: 's1', amr: ['pwd'], authTime: Math.floor(clock.now().getTime() / 1000) });

  test('scp mfa_enrollment survives issue and verify; ordinary tokens carry none', async () => {
    const restricted = await issueAccessToken(signingKeys, { ...options, clock, random: cryptoRandom }, { ...claims(), scp: 'mfa_enrollment' });
    expect((await verifyAccessToken(signingKeys, { ...options, clock }, restricted.token)).scp).toBe('mfa_enrollment');
    const ordinary = await issueAccessToken(signingKeys, { ...options, clock, random: cryptoRandom }, claims());
    expect((await verifyAccessToken(signingKeys, { ...options, clock }, ordinary.token)).scp).toBeUndefined();
  });

  test('a token with a restriction this server does not know is refused, not treated as unrestricted', async () => {
    const { kid, privateKey } = await signingKeys.current();
    const now = Math.floor(clock.now().getTime() / 1000);
    const token = await new SignJWT({ role: 'requester', org: null, akid: null, sid: 's1', amr: ['pwd'], auth_time: now, scp: 'something_else' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setSubject('u1')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .setJti('j1')
      .sign(privateKey);
    await expect(verifyAccessToken(signingKeys, { ...options, clock }, token)).rejects.toMatchObject({ status: 401 });
    await expect(issueAccessToken(signingKeys, { ...options, clock, random: cryptoRandom }, { ...claims(), scp: 'other' as never })).rejects.toThrow(TypeError);
  });
});
