import { createHmac } from 'node:crypto';
import { ColumnCipher, ColumnDecryptError, hkdfSha256, normalizeEmail } from '../../../lib/crypto/columnCipher';

const rootKey = Buffer.from('101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f', 'hex');
// Pinned outputs for rootKey: if either changes, every stored column value or index becomes unreadable.
const GOLDEN_VALUE = '01424242424242424242424242000e54919242c1317f0399a846ecdfa9537daacea82e5aee18df8fe1d73186';
const GOLDEN_INDEX = 'cc02d34527bd4f63ab962a7193e318d9b22c2b14570ba6fca954947be10b8c27';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof ColumnDecryptError ? error.code : 'not a ColumnDecryptError';
  }
  return undefined;
}

describe('HKDF-SHA-256 (RFC 5869)', () => {
  it('derives the output keying material of test case 1', () => {
    const okm = hkdfSha256(
      Buffer.alloc(22, 0x0b),
      Buffer.from('000102030405060708090a0b0c', 'hex'),
      Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'),
      42,
    );
    expect(okm.toString('hex')).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });
});

describe('HMAC-SHA-256 (RFC 4231), the primitive under the blind index', () => {
  it('computes test case 2', () => {
    const mac = createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex');
    expect(mac).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });
});

describe('the column cipher', () => {
  const cipher = new ColumnCipher(rootKey);

  it('round trips a value, including non-ASCII and empty strings', () => {
    for (const value of ['ada@example.com', 'Zoë Ångström 😀', '']) {
      expect(cipher.decrypt(cipher.encrypt(value, 'users.name'), 'users.name')).toBe(value);
    }
  });

  it('is randomized: the same value encrypts differently each time', () => {
    expect(cipher.encrypt('same', 'users.email').equals(cipher.encrypt('same', 'users.email'))).toBe(false);
  });

  it('writes version 1, a 12-byte IV, the ciphertext and a 16-byte tag', () => {
    const blob = cipher.encrypt('abc', 'users.email');
    expect(blob.readUInt8(0)).toBe(1);
    expect(blob.length).toBe(1 + 12 + 3 + 16);
  });

  it('keeps its golden vector, so stored values stay readable', () => {
    const fixedIv = new ColumnCipher(rootKey, { bytes: (length) => Buffer.alloc(length, 0x42) });
    const blob = fixedIv.encrypt('ada@example.com', 'users.email');
    expect(blob.toString('hex')).toBe(GOLDEN_VALUE);
    expect(cipher.decrypt(Buffer.from(GOLDEN_VALUE, 'hex'), 'users.email')).toBe('ada@example.com');
  });

  it('when a value is moved to another column, it does not decrypt', () => {
    const blob = cipher.encrypt('ada@example.com', 'users.email');
    expect(codeOf(() => cipher.decrypt(blob, 'members.email'))).toBe('column_decrypt_failed');
  });

  it('when any byte is tampered with, it does not decrypt', () => {
    const blob = cipher.encrypt('ada@example.com', 'users.email');
    for (let offset = 0; offset < blob.length; offset++) {
      const damaged = Buffer.from(blob);
      damaged[offset] = damaged.readUInt8(offset) ^ 0x01;
      expect(codeOf(() => cipher.decrypt(damaged, 'users.email'))).toBe('column_decrypt_failed');
    }
    expect(codeOf(() => cipher.decrypt(blob.subarray(0, 20), 'users.email'))).toBe('column_decrypt_failed');
  });

  it('when the root key differs, it does not decrypt', () => {
    const other = new ColumnCipher(Buffer.alloc(32, 7));
    expect(codeOf(() => other.decrypt(cipher.encrypt('x', 'users.email'), 'users.email'))).toBe('column_decrypt_failed');
  });

  it('passes null through the nullable variants', () => {
    expect(cipher.encryptNullable(null, 'users.phone')).toBeNull();
    expect(cipher.encryptNullable(undefined, 'users.phone')).toBeNull();
    expect(cipher.decryptNullable(null, 'users.phone')).toBeNull();
    expect(cipher.decryptNullable(cipher.encryptNullable('+4512345678', 'users.phone'), 'users.phone')).toBe('+4512345678');
  });

  it('decrypts a value read back as a plain Uint8Array view', () => {
    const blob = cipher.encrypt('view', 'users.name');
    const padded = new Uint8Array(blob.length + 8);
    padded.set(blob, 4);
    expect(cipher.decrypt(padded.subarray(4, 4 + blob.length), 'users.name')).toBe('view');
  });

  it('refuses a root key that is not 32 bytes and contexts that are empty or contain NUL', () => {
    expect(() => new ColumnCipher(Buffer.alloc(16))).toThrow(RangeError);
    expect(() => cipher.encrypt('x', '')).toThrow(TypeError);
    expect(() => cipher.blindIndex('x', 'users\0email')).toThrow(TypeError);
  });
});

describe('the blind index', () => {
  const cipher = new ColumnCipher(rootKey);

  it('is deterministic, so equal values can be looked up', () => {
    expect(cipher.blindIndex('ada@example.com', 'users.email')).toBe(cipher.blindIndex('ada@example.com', 'users.email'));
    expect(new ColumnCipher(rootKey).blindIndex('ada@example.com', 'users.email')).toBe(cipher.blindIndex('ada@example.com', 'users.email'));
  });

  it('keeps its golden vector, so stored indexes stay findable', () => {
    expect(cipher.blindIndex('ada@example.com', 'users.email')).toBe(GOLDEN_INDEX);
  });

  it('is HMAC-SHA-256 over context ‖ 0x00 ‖ value, under its own HKDF-derived key', () => {
    const indexKey = hkdfSha256(rootKey, Buffer.from('connectid/column-keys'), 'connectid column blind index v1', 32);
    const expected = createHmac('sha256', indexKey).update('users.email\0ada@example.com').digest('hex');
    expect(cipher.blindIndex('ada@example.com', 'users.email')).toBe(expected);
  });

  it('differs between columns, so equal values in two columns do not link', () => {
    expect(cipher.blindIndex('ada@example.com', 'users.email')).not.toBe(cipher.blindIndex('ada@example.com', 'members.email'));
  });

  it('does not let the context and value boundary shift', () => {
    expect(cipher.blindIndex('b', 'users.a')).not.toBe(cipher.blindIndex('ab', 'users.'));
  });

  it('differs between values and from the plaintext and a bare hash of it', () => {
    const index = cipher.blindIndex('ada@example.com', 'users.email');
    expect(index).not.toBe(cipher.blindIndex('bob@example.com', 'users.email'));
    expect(index).toMatch(/^[0-9a-f]{64}$/);
    expect(index).not.toContain('ada');
    expect(index).not.toBe(createHmac('sha256', rootKey).update('users.email\0ada@example.com').digest('hex'));
  });

  it('finds an email however it was typed, after normalizeEmail', () => {
    expect(normalizeEmail('  Ada@Example.COM ')).toBe('ada@example.com');
    // "é" precomposed (U+00E9) and decomposed (e + U+0301) normalize to the same NFC string.
    expect(normalizeEmail('Ren\u00e9@example.com')).toBe(normalizeEmail('RENE\u0301@example.com'));
    expect(cipher.blindIndex(normalizeEmail(' ADA@example.com'), 'users.email')).toBe(
      cipher.blindIndex(normalizeEmail('ada@EXAMPLE.com'), 'users.email'),
    );
  });
});

