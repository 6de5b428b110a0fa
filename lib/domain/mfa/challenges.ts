/**
 * Pending second steps (mfa_challenges). A login that needs MFA, or a step-up of a live session, is handed an
 * mfa_token: 256 random bits, stored as SHA-256, single-use, alive 5 minutes (10 once an email or SMS code has
 * been sent for it, the life of the code), dead after 5 wrong answers. It is bound to the attempt: the user and
 * the role, organization, API key and scope the password login chose (or the session a step-up began from).
 *
 * Enrollment of a new factor uses the same table (`purpose = 'enroll'`, a random id, no token) for the code or
 * WebAuthn challenge that proves the new factor works.
 */
import { createHash } from 'node:crypto';
import { p, sql } from '../../adapters/sql/params';
import type { Role } from '../../http/route';
import type { Clock, Random, SqlExecutor } from '../../ports';
import { MAX_WRONG_ANSWERS } from './oneTimeCodes';
import { sweepEidFlows } from '../eid/flows';

export const MFA_TOKEN_TTL_IN_SECONDS = 5 * 60;
const MFA_TOKEN_PREFIX = 'mfa_';

export type ChallengePurpose = 'login' | 'step_up' | 'enroll';

export interface Challenge {
  readonly id: string;
  readonly userId: string;
  readonly purpose: ChallengePurpose;
  readonly role: Role | null;
  readonly organizationId: string | null;
  readonly apiKeyId: string | null;
  readonly scope: string | null;
  readonly sessionId: string | null;
  readonly refreshTokenHash: string | null;
  readonly factorId: string | null;
  readonly codeHash: string | null;
  readonly codeExpiresAt: number | null;
  readonly webauthnChallenge: string | null;
  readonly sends: number;
  readonly attempts: number;
  readonly expiresAt: number;
}

type ChallengeRow = {
  id: string;
  user_id: string;
  purpose: string;
  role: string | null;
  organization_id: string | null;
  api_key_id: string | null;
  scope: string | null;
  session_id: string | null;
  refresh_token_hash: string | null;
  factor_id: string | null;
  code_hash: string | null;
  code_expires_at: number | null;
  webauthn_challenge: string | null;
  sends: number;
  attempts: number;
  expires_at: number;
};

const COLUMNS =
  'id, user_id, purpose, role, organization_id, api_key_id, scope, session_id, refresh_token_hash, factor_id, code_hash, code_expires_at, webauthn_challenge, sends, attempts, expires_at';

function toChallenge(row: ChallengeRow): Challenge {
  const nullableNumber = (value: number | null) => (value === null ? null : Number(value));
  return {
    id: row.id,
    userId: row.user_id,
    purpose: row.purpose as ChallengePurpose,
    role: row.role as Role | null,
    organizationId: row.organization_id,
    apiKeyId: row.api_key_id,
    scope: row.scope,
    sessionId: row.session_id,
    refreshTokenHash: row.refresh_token_hash,
    factorId: row.factor_id,
    codeHash: row.code_hash,
    codeExpiresAt: nullableNumber(row.code_expires_at),
    webauthnChallenge: row.webauthn_challenge,
    sends: Number(row.sends),
    attempts: Number(row.attempts),
    expiresAt: Number(row.expires_at),
  };
}

export function challengeIdOf(mfaToken: string): string {
  return createHash('sha256').update(mfaToken, 'utf8').digest('hex');
}

export interface ChallengeContext {
  readonly userId: string;
  readonly purpose: 'login' | 'step_up';
  readonly role: Role;
  readonly organizationId: string | null;
  readonly apiKeyId: string | null;
  readonly scope: string;
  /** step_up: the session to raise, and the refresh token it began with (spent when the factor is answered). */
  readonly sessionId?: string;
  readonly refreshTokenHash?: string;
}

/** A new mfa_token for a login or a step-up; only its hash is stored. */
export async function createMfaToken(tx: SqlExecutor, deps: { clock: Clock; random: Random }, context: ChallengeContext): Promise<string> {
  const token = `${MFA_TOKEN_PREFIX}${deps.random.bytes(32).toString('base64url')}`;
  const now = deps.clock.now().getTime();
  await tx.execute(
    sql(
      `INSERT INTO mfa_challenges (id, user_id, purpose, role, organization_id, api_key_id, scope, session_id, refresh_token_hash,
         factor_id, code_hash, code_expires_at, webauthn_challenge, sends, attempts, created_at, expires_at, used_at)
       VALUES (@id, @user, @purpose, @role, @org, @akid, @scope, @session, @refresh, NULL, NULL, NULL, NULL, 0, 0, @now, @expires, NULL)`,
      {
        id: p.text(challengeIdOf(token)),
        user: p.text(context.userId),
        purpose: p.text(context.purpose),
        role: p.text(context.role),
        org: p.text(context.organizationId),
        akid: p.text(context.apiKeyId),
        scope: p.text(context.scope),
        session: p.text(context.sessionId ?? null),
        refresh: p.text(context.refreshTokenHash ?? null),
        now: p.bigint(now),
        expires: p.bigint(now + MFA_TOKEN_TTL_IN_SECONDS * 1000),
      },
    ),
  );
  return token;
}

/** The live challenge behind an mfa_token: unused, unexpired, fewer than 5 wrong answers. null otherwise. */
export async function findLiveChallenge(db: SqlExecutor, now: number, mfaToken: string): Promise<Challenge | null> {
  if (typeof mfaToken !== 'string' || !mfaToken.startsWith(MFA_TOKEN_PREFIX) || mfaToken.length > 200) return null;
  return findLiveChallengeById(db, now, challengeIdOf(mfaToken));
}

export async function findLiveChallengeById(db: SqlExecutor, now: number, id: string): Promise<Challenge | null> {
  const [row] = await db.query<ChallengeRow>(
    sql(`SELECT ${COLUMNS} FROM mfa_challenges WHERE id = @id AND used_at IS NULL AND expires_at > @now AND attempts < @max`, {
      id: p.text(id),
      now: p.bigint(now),
      max: p.int(MAX_WRONG_ANSWERS),
    }),
  );
  return row ? toChallenge(row) : null;
}

/** The newest live enrollment challenge of a pending factor. */
export async function findEnrollmentChallenge(db: SqlExecutor, now: number, factorId: string): Promise<Challenge | null> {
  const rows = await db.query<ChallengeRow>(
    sql(
      `SELECT ${COLUMNS} FROM mfa_challenges WHERE factor_id = @factor AND purpose = 'enroll' AND used_at IS NULL AND expires_at > @now AND attempts < @max
       ORDER BY created_at DESC`,
      { factor: p.text(factorId), now: p.bigint(now), max: p.int(MAX_WRONG_ANSWERS) },
    ),
  );
  return rows[0] ? toChallenge(rows[0]) : null;
}

export async function createEnrollmentChallenge(
  tx: SqlExecutor,
  deps: { clock: Clock; random: Random },
  input: { id: string; userId: string; factorId: string; codeHash: string | null; webauthnChallenge: string | null; ttlInSeconds: number },
): Promise<void> {
  const now = deps.clock.now().getTime();
  const expiresAt = now + input.ttlInSeconds * 1000;
  await tx.execute(
    sql(
      `INSERT INTO mfa_challenges (id, user_id, purpose, role, organization_id, api_key_id, scope, session_id, refresh_token_hash,
         factor_id, code_hash, code_expires_at, webauthn_challenge, sends, attempts, created_at, expires_at, used_at)
       VALUES (@id, @user, 'enroll', NULL, NULL, NULL, NULL, NULL, NULL, @factor, @codeHash, @codeExpires, @webauthn, @sends, 0, @now, @expires, NULL)`,
      {
        id: p.text(input.id),
        user: p.text(input.userId),
        factor: p.text(input.factorId),
        codeHash: p.text(input.codeHash),
        codeExpires: p.bigint(input.codeHash === null ? null : expiresAt),
        webauthn: p.text(input.webauthnChallenge),
        sends: p.int(input.codeHash === null ? 0 : 1),
        now: p.bigint(now),
        expires: p.bigint(expiresAt),
      },
    ),
  );
}

/**
 * Points a login/step-up challenge at a factor and what was sent for it. A new code replaces the previous one;
 * the token lives at least as long as the code. Conditional on the send budget, so racing re-sends stay within it.
 */
export async function armChallenge(
  tx: SqlExecutor,
  challenge: Challenge,
  input: { factorId: string; codeHash: string | null; codeExpiresAt: number | null; webauthnChallenge: string | null; maxSends: number },
): Promise<boolean> {
  const sending = input.codeHash !== null;
  const { rowsAffected } = await tx.execute(
    sql(
      `UPDATE mfa_challenges SET factor_id = @factor, code_hash = @codeHash, code_expires_at = @codeExpires, webauthn_challenge = @webauthn,
         sends = sends + @sending, expires_at = CASE WHEN expires_at < @codeExpires THEN @codeExpires ELSE expires_at END
       WHERE id = @id AND used_at IS NULL AND sends + @sending <= @maxSends`,
      {
        factor: p.text(input.factorId),
        codeHash: p.text(input.codeHash),
        codeExpires: p.bigint(input.codeExpiresAt),
        webauthn: p.text(input.webauthnChallenge),
        sending: p.int(sending ? 1 : 0),
        maxSends: p.int(input.maxSends),
        id: p.text(challenge.id),
      },
    ),
  );
  return rowsAffected === 1;
}

/** One more wrong answer; at MAX_WRONG_ANSWERS the challenge is dead (findLive… stops returning it). */
export async function countWrongAnswer(tx: SqlExecutor, challengeId: string): Promise<void> {
  await tx.execute(sql('UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = @id', { id: p.text(challengeId) }));
}

/** Spends the challenge; false if another request spent it first, or it died meanwhile. */
export async function spendChallenge(tx: SqlExecutor, challengeId: string, now: number): Promise<boolean> {
  const { rowsAffected } = await tx.execute(
    sql('UPDATE mfa_challenges SET used_at = @now WHERE id = @id AND used_at IS NULL AND expires_at > @now AND attempts < @max', {
      now: p.bigint(now),
      id: p.text(challengeId),
      max: p.int(MAX_WRONG_ANSWERS),
    }),
  );
  return rowsAffected === 1;
}

/**
 * Deletes challenges expired before `before` (a sweep for the hourly purge), and the eID flows that expired with them.
 * Returns the challenge rows deleted.
 */
export async function sweepMfaChallenges(db: SqlExecutor, before: number): Promise<number> {
  const { rowsAffected } = await db.execute(sql('DELETE FROM mfa_challenges WHERE expires_at <= @before', { before: p.bigint(before) }));
  await sweepEidFlows(db, before);
  return rowsAffected;
}
