import { randomBytes } from 'node:crypto';
import type { Random } from '../../../lib/ports';
import { KeyUnwrapError, WRAPPED_KEY_SIZE, generateKey, unwrapDataKey, wrapDataKey } from '../../../lib/crypto/keyWrap';

const random: Random = { bytes: (length) => randomBytes(length), id: () => 'unused' };

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof KeyUnwrapError ? error.code : 'not a KeyUnwrapError';
  }
  return undefined;
}

describe('AES-256 Key Wrap (RFC 3394)', () => {
  // RFC 3394 §4.6: wrap 256 bits of key data with a 256-bit KEK.
  const kek = Buffer.from('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', 'hex');
  const keyData = Buffer.from('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F', 'hex');
  const wrapped = Buffer.from('28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21', 'hex');

  it('wraps the RFC 3394 §4.6 key data to the published ciphertext', () => {
    expect(wrapDataKey(kek, keyData).equals(wrapped)).toBe(true);
  });

  it('unwraps the RFC 3394 §4.6 ciphertext to the published key data', () => {
    expect(unwrapDataKey(kek, wrapped).equals(keyData)).toBe(true);
  });

  it('round trips a generated data key', () => {
    const otherKek = generateKey(random);
    const dek = generateKey(random);
    const sealed = wrapDataKey(otherKek, dek);
    expect(sealed.length).toBe(WRAPPED_KEY_SIZE);
    expect(unwrapDataKey(otherKek, sealed).equals(dek)).toBe(true);
  });

  it('when the KEK is wrong, unwrapping fails its integrity check', () => {
    expect(codeOf(() => unwrapDataKey(generateKey(random), wrapped))).toBe('key_unwrap_failed');
  });

  it('when any bit of the wrapped key flips, unwrapping fails', () => {
    for (const offset of [0, 7, 8, 20, 39]) {
      const damaged = Buffer.from(wrapped);
      damaged[offset] = damaged.readUInt8(offset) ^ 0x80;
      expect(codeOf(() => unwrapDataKey(kek, damaged))).toBe('key_unwrap_failed');
    }
  });

  it('when the wrapped key has the wrong length, unwrapping fails', () => {
    expect(codeOf(() => unwrapDataKey(kek, wrapped.subarray(0, 32)))).toBe('key_unwrap_failed');
    expect(codeOf(() => unwrapDataKey(kek, Buffer.concat([wrapped, Buffer.alloc(8)])))).toBe('key_unwrap_failed');
  });

  it('refuses keys that are not 256 bits, as programmer errors', () => {
    expect(() => wrapDataKey(kek.subarray(0, 16), keyData)).toThrow(RangeError);
    expect(() => wrapDataKey(kek, keyData.subarray(0, 16))).toThrow(RangeError);
    expect(() => generateKey({ bytes: () => Buffer.alloc(16), id: () => 'x' })).toThrow(RangeError);
  });
});
