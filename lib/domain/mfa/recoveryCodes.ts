/**
 * Recovery codes: ten single-use codes per account, shown once, stored as SHA-256 only. Each is 10 characters
 * of a 32-letter alphabet (50 random bits), written `xxxx-xxxx-xx`; at 50 bits a plain hash is safe to store.
 * Generating a new set replaces the old one. Using one is audited and mailed by the caller.
 */
import { createHash } from 'node:crypto';
import { p, sql } from '../../adapters/sql/params';
import type { Clock, Random, SqlExecutor } from '../../ports';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet: no i, l, o or u, so what is read aloud or retyped is what was printed. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CODE_LENGTH = 10;

export function newRecoveryCode(random: Pick<Random, 'bytes'>): string {
  // 256 is a multiple of 32: the low five bits of each byte are uniform.
  const letters = [...random.bytes(CODE_LENGTH)].map((byte) => ALPHABET[byte & 31]).join('');
  return `${letters.slice(0, 4)}-${letters.slice(4, 8)}-${letters.slice(8)}`;
}

/** What the person typed, as it was generated: case, dashes and spaces ignored; i/l read as 1, o as 0. */
export function normalizeRecoveryCode(input: string): string | null {
  const text = input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
  if (text.length !== CODE_LENGTH || [...text].some((c) => !ALPHABET.includes(c))) return null;
  return text;
}

function hashRecoveryCode(userId: string, normalized: string): string {
  return createHash('sha256').update(`connectid recovery code v1\u0000${userId}\u0000${normalized}`, 'utf8').digest('hex');
}

/** Replaces the account's codes with ten new ones and returns them: the only time they exist in clear. */
export async function replaceRecoveryCodes(tx: SqlExecutor, deps: { clock: Clock; random: Random }, userId: string): Promise<string[]> {
  const now = deps.clock.now().getTime();
  await tx.execute(sql('DELETE FROM recovery_codes WHERE user_id = @user', { user: p.text(userId) }));
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) codes.add(newRecoveryCode(deps.random));
  for (const code of codes) {
    await tx.execute(
      sql('INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES (@user, @hash, @now, NULL)', {
        user: p.text(userId),
        hash: p.text(hashRecoveryCode(userId, normalizeRecoveryCode(code)!)),
        now: p.bigint(now),
      }),
    );
  }
  return [...codes];
}

/** Spends a code; false when it is wrong or already used. One conditional UPDATE, so two racing uses cannot both win. */
export async function consumeRecoveryCode(tx: SqlExecutor, now: number, userId: string, input: string): Promise<boolean> {
  const normalized = normalizeRecoveryCode(input);
  if (!normalized) return false;
  const { rowsAffected } = await tx.execute(
    sql('UPDATE recovery_codes SET used_at = @now WHERE user_id = @user AND code_hash = @hash AND used_at IS NULL', {
      now: p.bigint(now),
      user: p.text(userId),
      hash: p.text(hashRecoveryCode(userId, normalized)),
    }),
  );
  return rowsAffected === 1;
}

export async function remainingRecoveryCodes(db: SqlExecutor, userId: string): Promise<number> {
  const [row] = await db.query<{ remaining: number | string }>(
    sql('SELECT COUNT(*) AS remaining FROM recovery_codes WHERE user_id = @user AND used_at IS NULL', { user: p.text(userId) }),
  );
  return Number(row?.remaining ?? 0);
}
