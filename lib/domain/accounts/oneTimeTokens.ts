/**
 * Single-use tokens sent by mail (invitations, email verification, password reset). The token is 256 random
 * bits shown once; only its SHA-256 is stored, and consuming it is one conditional UPDATE, so a token works
 * exactly once even when two requests race.
 */
import { createHash } from 'node:crypto';
import { p, sql } from '../../adapters/sql/params';
import { ApiError } from '../../errors';
import type { Clock, Random, SqlExecutor } from '../../ports';

export type OneTimePurpose = 'invite' | 'verify_email' | 'password_reset';

export interface OneTimeTokenRecord {
  readonly purpose: OneTimePurpose;
  readonly userId: string | null;
  readonly organizationId: string | null;
  readonly role: string | null;
  /** A sign-up's password, applied only when the address owner confirms (so nobody can pre-claim an address). */
  readonly passwordHash?: string | null;
}

export const TOKEN_TTL_IN_SECONDS: Readonly<Record<OneTimePurpose, number>> = {
  invite: 24 * 3600,
  verify_email: 24 * 3600,
  password_reset: 3600,
};

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createOneTimeToken(
  tx: SqlExecutor,
  deps: { clock: Clock; random: Random },
  record: OneTimeTokenRecord,
): Promise<{ token: string; expiresAt: Date }> {
  const token = deps.random.bytes(32).toString('base64url');
  const now = deps.clock.now().getTime();
  const expiresAt = now + TOKEN_TTL_IN_SECONDS[record.purpose] * 1000;
  await tx.execute(
    sql(
      `INSERT INTO one_time_tokens (token_hash, purpose, user_id, organization_id, role, password_hash, created_at, expires_at, used_at)
       VALUES (@hash, @purpose, @userId, @organizationId, @role, @passwordHash, @now, @expiresAt, NULL)`,
      {
        hash: p.text(hashToken(token)),
        purpose: p.text(record.purpose),
        userId: p.text(record.userId),
        organizationId: p.text(record.organizationId),
        role: p.text(record.role),
        passwordHash: p.text(record.passwordHash ?? null),
        now: p.bigint(now),
        expiresAt: p.bigint(expiresAt),
      },
    ),
  );
  return { token, expiresAt: new Date(expiresAt) };
}

/** Marks the token used and returns what it was for; a wrong, expired, used or other-purpose token is one error. */
export async function consumeOneTimeToken(tx: SqlExecutor, clock: Clock, purpose: OneTimePurpose, token: string): Promise<OneTimeTokenRecord> {
  const hash = hashToken(token);
  const now = clock.now().getTime();
  const { rowsAffected } = await tx.execute(
    sql(
      `UPDATE one_time_tokens SET used_at = @now
       WHERE token_hash = @hash AND purpose = @purpose AND used_at IS NULL AND expires_at > @now`,
      { hash: p.text(hash), purpose: p.text(purpose), now: p.bigint(now) },
    ),
  );
  if (rowsAffected !== 1) throw new ApiError(400, 'invalid_token', 'The link is invalid, expired or already used');
  const [row] = await tx.query<{ user_id: string | null; organization_id: string | null; role: string | null; password_hash: string | null }>(
    sql('SELECT user_id, organization_id, role, password_hash FROM one_time_tokens WHERE token_hash = @hash', { hash: p.text(hash) }),
  );
  return {
    purpose,
    userId: row?.user_id ?? null,
    organizationId: row?.organization_id ?? null,
    role: row?.role ?? null,
    passwordHash: row?.password_hash ?? null,
  };
}
