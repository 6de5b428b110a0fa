/**
 * One-time codes sent by email or SMS (DESIGN §5): 6 digits from the injected Random, valid 10 minutes, 5 wrong
 * answers and the challenge is dead. Stored only as a keyed hash (the column cipher's blind-index key, bound to
 * the challenge): with a million possible codes a plain hash would be no secret to whoever reads the table.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ColumnCipher } from '../../crypto/columnCipher';
import type { Random } from '../../ports';

export const CODE_DIGITS = 6;
export const CODE_TTL_IN_SECONDS = 10 * 60;
export const MAX_WRONG_ANSWERS = 5;
/** Codes one challenge may send: a re-send for a lost message, not a way to spam someone's phone. */
export const MAX_SENDS_PER_CHALLENGE = 3;

const CODE_HASH_CONTEXT = 'mfa_challenges.code';
const RANGE = 10 ** CODE_DIGITS;
// The largest multiple of RANGE below 2^32: values above it are redrawn, so every code is equally likely.
const LIMIT = Math.floor(2 ** 32 / RANGE) * RANGE;

export function newOneTimeCode(random: Pick<Random, 'bytes'>): string {
  for (;;) {
    const value = random.bytes(4).readUInt32BE(0);
    if (value < LIMIT) return String(value % RANGE).padStart(CODE_DIGITS, '0');
  }
}

export function hashOneTimeCode(cipher: ColumnCipher, challengeId: string, code: string): string {
  return cipher.blindIndex(`${challengeId}\u0000${code}`, CODE_HASH_CONTEXT);
}

export function oneTimeCodeMatches(cipher: ColumnCipher, challengeId: string, code: string, storedHash: string): boolean {
  if (!/^\d{6}$/.test(code)) return false;
  const expected = Buffer.from(storedHash, 'utf8');
  const actual = Buffer.from(hashOneTimeCode(cipher, challengeId, code), 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The SMS text: the code and nothing personal (an SMS passes through carriers and lock screens). */
export function smsText(code: string): string {
  return `${code} is your Connectid code. It expires in 10 minutes. Never share it.`;
}
