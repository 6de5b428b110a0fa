/**
 * Wrapping a per-item data key (DEK) with an organization key-encryption key (KEK): AES-256 Key Wrap,
 * RFC 3394 with its default IV (§2.2.3.1). Deterministic and integrity-checked, which is all a random key needs.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Random } from '../ports';

export const KEY_SIZE = 32;
/** RFC 3394 adds one 64-bit block to the wrapped key. */
export const WRAPPED_KEY_SIZE = KEY_SIZE + 8;

const DEFAULT_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

/** The wrapped key does not unwrap under this KEK: the wrong KEK, or damaged bytes. */
export class KeyUnwrapError extends Error {
  readonly code = 'key_unwrap_failed';
  constructor(message = 'The wrapped key failed its integrity check') {
    super(message);
    this.name = 'KeyUnwrapError';
  }
}

export function generateKey(random: Random): Buffer {
  const key = random.bytes(KEY_SIZE);
  if (key.length !== KEY_SIZE) throw new RangeError('Random returned the wrong number of bytes');
  return key;
}

export function wrapDataKey(kek: Buffer, dek: Buffer): Buffer {
  assertKey(kek, 'KEK');
  assertKey(dek, 'data key');
  const cipher = createCipheriv('id-aes256-wrap', kek, DEFAULT_IV);
  return Buffer.concat([cipher.update(dek), cipher.final()]);
}

export function unwrapDataKey(kek: Buffer, wrapped: Buffer): Buffer {
  assertKey(kek, 'KEK');
  if (wrapped.length !== WRAPPED_KEY_SIZE) throw new KeyUnwrapError(`A wrapped key is ${WRAPPED_KEY_SIZE} bytes`);
  const decipher = createDecipheriv('id-aes256-wrap', kek, DEFAULT_IV);
  try {
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    throw new KeyUnwrapError();
  }
}

function assertKey(key: Buffer, what: string): void {
  if (key.length !== KEY_SIZE) throw new RangeError(`The ${what} must be ${KEY_SIZE} bytes`);
}
