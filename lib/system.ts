import { randomBytes } from 'node:crypto';
import type { Clock, Random } from './ports';

export const systemClock: Clock = { now: () => new Date() };

/** 26 characters of base32 (lowercase, no padding) = 130 bits: opaque, URL- and container-name safe. */
export const cryptoRandom: Random = {
  bytes: (length) => randomBytes(length),
  id: () => base32(randomBytes(17)).slice(0, 26),
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
