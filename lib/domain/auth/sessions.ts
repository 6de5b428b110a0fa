/**
 * Sessions: one per sign-in, carrying one family of rotating refresh tokens (DESIGN §5: 30 days absolute,
 * 7 days idle). A refresh token works once; presenting a spent one means it was stolen or replayed, so the
 * whole family (the session) is revoked and the event audited. Access tokens carry the session id (`sid`), and
 * the authenticator checks the session on every request, so a revocation bites on the very next call.
 */
import { createHash } from 'node:crypto';
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { Role } from '../../http/route';
import type { SqlExecutor } from '../../ports';
import { appendAudit, orgChain, requesterChain } from '../audit/audit';
import { OAuthError } from './oauthError';

export const REFRESH_ABSOLUTE_TTL_IN_SECONDS = 30 * 24 * 3600;
export const REFRESH_IDLE_TTL_IN_SECONDS = 7 * 24 * 3600;
/** An enrollment session (password proven, no factor yet) has no refresh token and ends with its access token. */
export const ENROLLMENT_SESSION_TTL_IN_SECONDS = 15 * 60;

export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly role: Role;
  readonly organizationId: string | null;
  readonly apiKeyId: string | null;
  readonly amr: readonly string[];
  readonly mfaAt: number | null;
  /** The `acr` an eID provider reported for the session's last MFA; null = ours (the session's MFA alone says it). */
  readonly acr: string | null;
  readonly authTime: number;
}

type SessionRow = {
  id: string;
  user_id: string;
  role: string;
  organization_id: string | null;
  api_key_id: string | null;
  amr: string;
  mfa_at: number | null;
  acr: string | null;
  auth_time: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  revoked_at: number | null;
};

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    role: row.role as Role,
    organizationId: row.organization_id,
    apiKeyId: row.api_key_id,
    amr: row.amr.split(' ').filter(Boolean),
    mfaAt: row.mfa_at === null ? null : Number(row.mfa_at),
    acr: row.acr ?? null,
    authTime: Number(row.auth_time),
  };
}

async function issueRefreshToken(tx: SqlExecutor, services: Services, sessionId: string): Promise<string> {
  const token = `rt_${services.random.bytes(32).toString('base64url')}`;
  await tx.execute(
    sql('INSERT INTO refresh_tokens (token_hash, session_id, created_at, used_at) VALUES (@hash, @session, @now, NULL)', {
      hash: p.text(hashRefreshToken(token)),
      session: p.text(sessionId),
      now: p.bigint(services.clock.now().getTime()),
    }),
  );
  return token;
}

export async function startSession(
  tx: SqlExecutor,
  services: Services,
  input: {
    userId: string;
    role: Role;
    organizationId: string | null;
    apiKeyId: string | null;
    amr: readonly string[];
    mfaAt: number | null;
    /** The eID provider's `acr` when the second factor was an eID; absent = ours. */
    acr?: string | null;
    /** Only for enrolling a first factor: no refresh token, and the session dies with its one access token. */
    enrollmentOnly?: boolean;
  },
): Promise<{ session: Session; refreshToken: string | undefined }> {
  const now = services.clock.now().getTime();
  const id = services.random.id();
  const authTime = Math.floor(now / 1000);
  const lifetimeInMs = input.enrollmentOnly ? ENROLLMENT_SESSION_TTL_IN_SECONDS * 1000 : null;
  await tx.execute(
    sql(
      `INSERT INTO sessions (id, user_id, role, organization_id, api_key_id, amr, mfa_at, acr, auth_time, created_at, idle_expires_at, absolute_expires_at, revoked_at, revoked_reason)
       VALUES (@id, @user, @role, @org, @akid, @amr, @mfaAt, @acr, @authTime, @now, @idle, @absolute, NULL, NULL)`,
      {
        id: p.text(id),
        user: p.text(input.userId),
        role: p.text(input.role),
        org: p.text(input.organizationId),
        akid: p.text(input.apiKeyId),
        amr: p.text(input.amr.join(' ')),
        mfaAt: p.bigint(input.mfaAt),
        acr: p.text(input.acr ?? null),
        authTime: p.bigint(authTime),
        now: p.bigint(now),
        idle: p.bigint(now + (lifetimeInMs ?? REFRESH_IDLE_TTL_IN_SECONDS * 1000)),
        absolute: p.bigint(now + (lifetimeInMs ?? REFRESH_ABSOLUTE_TTL_IN_SECONDS * 1000)),
      },
    ),
  );
  const refreshToken = input.enrollmentOnly ? undefined : await issueRefreshToken(tx, services, id);
  return {
    session: {
      id,
      userId: input.userId,
      role: input.role,
      organizationId: input.organizationId,
      apiKeyId: input.apiKeyId,
      amr: input.amr,
      mfaAt: input.mfaAt,
      acr: input.acr ?? null,
      authTime,
    },
    refreshToken,
  };
}

/**
 * Spends a refresh token and issues its successor. A spent token revokes its family (RFC 6819 §5.2.2.3,
 * OAuth 2.0 Security BCP §4.14); an unknown, expired or revoked one is `invalid_grant`.
 */
export async function rotateRefreshToken(
  services: Services,
  refreshToken: string,
  client: { apiKeyId: string | null },
): Promise<{ session: Session; refreshToken: string }> {
  const now = services.clock.now().getTime();
  const hash = hashRefreshToken(refreshToken);
  const outcome = await services.store.transaction(async (tx) => {
    const [row] = await tx.query<SessionRow & { used_at: number | null }>(
      sql(
        `SELECT s.id, s.user_id, s.role, s.organization_id, s.api_key_id, s.amr, s.mfa_at, s.acr, s.auth_time, s.idle_expires_at, s.absolute_expires_at, s.revoked_at, r.used_at
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = @hash`,
        { hash: p.text(hash) },
      ),
    );
    if (!row || row.revoked_at !== null) return { kind: 'invalid' as const };
    if (row.used_at !== null) {
      await revokeSessionIn(tx, now, row.id, 'refresh_token_reuse');
      await appendAudit(tx, services, {
        chain: row.organization_id ? orgChain(row.organization_id) : requesterChain(row.user_id),
        action: 'token_family.revoked',
        actor: { type: 'system', id: null },
        target: { type: 'session', id: row.id },
        details: { reason: 'refresh_token_reuse' },
      });
      return { kind: 'reused' as const };
    }
    if (Number(row.idle_expires_at) <= now || Number(row.absolute_expires_at) <= now) return { kind: 'invalid' as const };
    // A session minted with an API key stays bound to it: checked before spending, so a wrong client burns nothing.
    if (row.api_key_id !== null && row.api_key_id !== client.apiKeyId) return { kind: 'wrong_client' as const };
    // Conditional on used_at IS NULL: of two concurrent refreshes with the same token, exactly one wins.
    const spent = await tx.execute(
      sql('UPDATE refresh_tokens SET used_at = @now WHERE token_hash = @hash AND used_at IS NULL', { now: p.bigint(now), hash: p.text(hash) }),
    );
    if (spent.rowsAffected !== 1) return { kind: 'invalid' as const };
    const idle = Math.min(now + REFRESH_IDLE_TTL_IN_SECONDS * 1000, Number(row.absolute_expires_at));
    await tx.execute(sql('UPDATE sessions SET idle_expires_at = @idle WHERE id = @id', { idle: p.bigint(idle), id: p.text(row.id) }));
    return { kind: 'rotated' as const, session: toSession(row), refreshToken: await issueRefreshToken(tx, services, row.id) };
  });
  // The reuse revocation must commit even though the caller is refused, so the error is thrown after the transaction.
  if (outcome.kind === 'wrong_client') throw new OAuthError('invalid_grant', 'This refresh token must be used with the API key it was issued to');
  if (outcome.kind !== 'rotated') throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked');
  return { session: outcome.session, refreshToken: outcome.refreshToken };
}

async function revokeSessionIn(tx: SqlExecutor, now: number, sessionId: string, reason: string): Promise<void> {
  await tx.execute(
    sql('UPDATE sessions SET revoked_at = @now, revoked_reason = @reason WHERE id = @id AND revoked_at IS NULL', {
      now: p.bigint(now),
      reason: p.text(reason),
      id: p.text(sessionId),
    }),
  );
}

/** RFC 7009: revoking a refresh token ends its whole session; unknown tokens are not an error. */
export async function revokeRefreshToken(services: Services, refreshToken: string): Promise<void> {
  const [row] = await services.store.query<{ session_id: string }>(
    sql('SELECT session_id FROM refresh_tokens WHERE token_hash = @hash', { hash: p.text(hashRefreshToken(refreshToken)) }),
  );
  if (!row) return;
  await services.store.transaction((tx) => revokeSessionIn(tx, services.clock.now().getTime(), row.session_id, 'revoked_by_client'));
}

export async function revokeSession(services: Services, sessionId: string, reason: string): Promise<void> {
  await services.store.transaction((tx) => revokeSessionIn(tx, services.clock.now().getTime(), sessionId, reason));
}

/** Ends every session of an account (e.g. after its factors were reset); their tokens fail on the next request. */
export async function revokeUserSessions(tx: SqlExecutor, now: number, userId: string, reason: string): Promise<void> {
  await tx.execute(
    sql('UPDATE sessions SET revoked_at = @now, revoked_reason = @reason WHERE user_id = @user AND revoked_at IS NULL', {
      now: p.bigint(now),
      reason: p.text(reason),
      user: p.text(userId),
    }),
  );
}

/**
 * The live session behind an unspent refresh token, without spending it: a step-up (RFC 9470) starts from the
 * refresh token and spends it only when the second factor has been answered (`stepUpSession`).
 */
export async function findLiveSessionByRefreshToken(db: SqlExecutor, now: number, refreshToken: string): Promise<Session | null> {
  const [row] = await db.query<SessionRow & { used_at: number | null }>(
    sql(
      `SELECT s.id, s.user_id, s.role, s.organization_id, s.api_key_id, s.amr, s.mfa_at, s.acr, s.auth_time, s.idle_expires_at, s.absolute_expires_at, s.revoked_at, r.used_at
       FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = @hash`,
      { hash: p.text(hashRefreshToken(refreshToken)) },
    ),
  );
  if (!row || row.revoked_at !== null || row.used_at !== null) return null;
  if (Number(row.idle_expires_at) <= now || Number(row.absolute_expires_at) <= now) return null;
  return toSession(row);
}

/**
 * Records a fresh second factor on an existing session (RFC 9470 step-up): spends the refresh token the step-up
 * began with (a rotation, so the family stays one chain), sets mfa_at, amr, acr and auth_time, and issues the successor.
 * null when that refresh token was spent or the session ended meanwhile.
 */
export async function stepUpSession(
  tx: SqlExecutor,
  services: Services,
  input: { sessionId: string; refreshTokenHash: string; amr: readonly string[]; acr?: string | null },
): Promise<{ session: Session; refreshToken: string } | null> {
  const now = services.clock.now().getTime();
  const spent = await tx.execute(
    sql('UPDATE refresh_tokens SET used_at = @now WHERE token_hash = @hash AND session_id = @session AND used_at IS NULL', {
      now: p.bigint(now),
      hash: p.text(input.refreshTokenHash),
      session: p.text(input.sessionId),
    }),
  );
  if (spent.rowsAffected !== 1) return null;
  const updated = await tx.execute(
    sql(
      `UPDATE sessions SET mfa_at = @now, amr = @amr, acr = @acr, auth_time = @authTime,
         idle_expires_at = CASE WHEN absolute_expires_at < @idle THEN absolute_expires_at ELSE @idle END
       WHERE id = @session AND revoked_at IS NULL AND idle_expires_at > @now AND absolute_expires_at > @now`,
      {
        now: p.bigint(now),
        amr: p.text(input.amr.join(' ')),
        acr: p.text(input.acr ?? null),
        authTime: p.bigint(Math.floor(now / 1000)),
        idle: p.bigint(now + REFRESH_IDLE_TTL_IN_SECONDS * 1000),
        session: p.text(input.sessionId),
      },
    ),
  );
  if (updated.rowsAffected !== 1) return null;
  const [row] = await tx.query<SessionRow>(
    sql(
      `SELECT id, user_id, role, organization_id, api_key_id, amr, mfa_at, acr, auth_time, idle_expires_at, absolute_expires_at, revoked_at
       FROM sessions WHERE id = @session`,
      { session: p.text(input.sessionId) },
    ),
  );
  if (!row) return null;
  return { session: toSession(row), refreshToken: await issueRefreshToken(tx, services, row.id) };
}
