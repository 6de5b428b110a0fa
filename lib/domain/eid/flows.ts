/**
 * eID authorization requests in flight (table eid_flows, migration 9): started by an enrollment or by a login or
 * step-up challenge, completed once by the provider's redirect to our callback, and — for logins — spent once by
 * the MFA grant.
 *
 * The row's id is the SHA-256 of the `state` we sent, so a callback finds its flow by state and nothing else, and
 * the state itself is never stored. `completed_at` is set conditionally: of two callbacks with one state, one wins.
 */
import { createHash } from 'node:crypto';
import { p, sql } from '../../adapters/sql/params';
import type { ColumnCipher } from '../../crypto/columnCipher';
import type { SqlExecutor } from '../../ports';

/** How long a person has to finish at the provider (an eID card reader can be slow); the mfa_token lives as long. */
export const EID_FLOW_TTL_IN_SECONDS = 10 * 60;
export const CODE_VERIFIER_CONTEXT = 'eid_flows.code_verifier';

export type EidFlowPurpose = 'enroll' | 'login' | 'step_up';
export type EidOutcome = 'ok' | 'cancelled' | 'failed';

/**
 * Why a flow did not end `ok`, as the API and the portal redirect report it:
 *   eid_cancelled        the person cancelled or refused at the provider (error=access_denied)
 *   eid_failed           the provider reported another error, or its answer failed verification (state, nonce,
 *                        signature, issuer, audience, expiry, UserInfo form or subject), or the login expired
 *   eid_subject_mismatch a login answered by another person's eID than the one bound to the factor
 *   eid_subject_in_use   an enrollment with an eID already bound to an account
 */
export type EidOutcomeError = 'eid_cancelled' | 'eid_failed' | 'eid_subject_mismatch' | 'eid_subject_in_use';

export interface EidFlow {
  readonly id: string;
  readonly purpose: EidFlowPurpose;
  readonly userId: string;
  readonly factorId: string;
  readonly challengeId: string | null;
  readonly providerId: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly completedAt: number | null;
  readonly outcome: EidOutcome | null;
  readonly outcomeError: EidOutcomeError | null;
  readonly acr: string | null;
  readonly amr: readonly string[];
  readonly usedAt: number | null;
}

type FlowRow = {
  id: string;
  purpose: string;
  user_id: string;
  factor_id: string;
  challenge_id: string | null;
  provider_id: string;
  nonce: string;
  code_verifier: Uint8Array;
  created_at: number | string;
  expires_at: number | string;
  completed_at: number | string | null;
  outcome: string | null;
  outcome_error: string | null;
  acr: string | null;
  amr: string | null;
  used_at: number | string | null;
};

const COLUMNS =
  'id, purpose, user_id, factor_id, challenge_id, provider_id, nonce, code_verifier, created_at, expires_at, completed_at, outcome, outcome_error, acr, amr, used_at';

export function flowIdOf(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('hex');
}

function toFlow(cipher: ColumnCipher, row: FlowRow): EidFlow {
  const optional = (value: number | string | null) => (value === null ? null : Number(value));
  return {
    id: row.id,
    purpose: row.purpose as EidFlowPurpose,
    userId: row.user_id,
    factorId: row.factor_id,
    challengeId: row.challenge_id,
    providerId: row.provider_id,
    nonce: row.nonce,
    codeVerifier: cipher.decrypt(row.code_verifier, CODE_VERIFIER_CONTEXT),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    completedAt: optional(row.completed_at),
    outcome: row.outcome as EidOutcome | null,
    outcomeError: row.outcome_error as EidOutcomeError | null,
    acr: row.acr,
    amr: row.amr ? row.amr.split(' ').filter(Boolean) : [],
    usedAt: optional(row.used_at),
  };
}

export async function insertFlow(
  tx: SqlExecutor,
  cipher: ColumnCipher,
  flow: {
    state: string;
    purpose: EidFlowPurpose;
    userId: string;
    factorId: string;
    challengeId: string | null;
    providerId: string;
    nonce: string;
    codeVerifier: string;
    now: number;
    expiresAt: number;
  },
): Promise<void> {
  await tx.execute(
    sql(
      `INSERT INTO eid_flows (id, purpose, user_id, factor_id, challenge_id, provider_id, nonce, code_verifier, created_at, expires_at,
         completed_at, outcome, outcome_error, acr, amr, used_at)
       VALUES (@id, @purpose, @user, @factor, @challenge, @provider, @nonce, @verifier, @now, @expires, NULL, NULL, NULL, NULL, NULL, NULL)`,
      {
        id: p.text(flowIdOf(flow.state)),
        purpose: p.text(flow.purpose),
        user: p.text(flow.userId),
        factor: p.text(flow.factorId),
        challenge: p.text(flow.challengeId),
        provider: p.text(flow.providerId),
        nonce: p.text(flow.nonce),
        verifier: p.blob(cipher.encrypt(flow.codeVerifier, CODE_VERIFIER_CONTEXT)),
        now: p.bigint(flow.now),
        expires: p.bigint(flow.expiresAt),
      },
    ),
  );
}

/** The flow a callback's state names, if it is still waiting for its callback: not completed, not expired. */
export async function findOpenFlow(db: SqlExecutor, cipher: ColumnCipher, now: number, state: string): Promise<EidFlow | null> {
  const [row] = await db.query<FlowRow>(
    sql(`SELECT ${COLUMNS} FROM eid_flows WHERE id = @id AND completed_at IS NULL AND expires_at > @now`, { id: p.text(flowIdOf(state)), now: p.bigint(now) }),
  );
  return row ? toFlow(cipher, row) : null;
}

/** Marks the flow's callback as arrived; false when another callback with the same state came first (or it expired). */
export async function claimFlow(tx: SqlExecutor, flowId: string, now: number): Promise<boolean> {
  const { rowsAffected } = await tx.execute(
    sql('UPDATE eid_flows SET completed_at = @now WHERE id = @id AND completed_at IS NULL AND expires_at > @now', { now: p.bigint(now), id: p.text(flowId) }),
  );
  return rowsAffected === 1;
}

export async function recordOutcome(
  tx: SqlExecutor,
  flowId: string,
  outcome: { outcome: EidOutcome; error: EidOutcomeError | null; acr?: string | null; amr?: readonly string[] },
): Promise<void> {
  await tx.execute(
    sql('UPDATE eid_flows SET outcome = @outcome, outcome_error = @error, acr = @acr, amr = @amr WHERE id = @id', {
      outcome: p.text(outcome.outcome),
      error: p.text(outcome.error),
      acr: p.text(outcome.acr ?? null),
      amr: p.text(outcome.amr && outcome.amr.length > 0 ? outcome.amr.join(' ') : null),
      id: p.text(flowId),
    }),
  );
}

/** The flows a login or step-up challenge started for one factor, newest first. */
export async function flowsOfChallenge(db: SqlExecutor, cipher: ColumnCipher, challengeId: string, factorId: string): Promise<EidFlow[]> {
  const rows = await db.query<FlowRow>(
    sql(`SELECT ${COLUMNS} FROM eid_flows WHERE challenge_id = @challenge AND factor_id = @factor ORDER BY created_at DESC, id`, {
      challenge: p.text(challengeId),
      factor: p.text(factorId),
    }),
  );
  return rows.map((row) => toFlow(cipher, row));
}

/**
 * The newest enrollment flow of an eID factor — also of one discarded because its link was cancelled or failed (the
 * flow outlives it until the expiry sweep).
 */
export async function latestEnrollmentFlow(db: SqlExecutor, cipher: ColumnCipher, factorId: string): Promise<EidFlow | null> {
  const rows = await db.query<FlowRow>(
    sql(`SELECT ${COLUMNS} FROM eid_flows WHERE factor_id = @factor AND purpose = 'enroll' ORDER BY created_at DESC, id`, { factor: p.text(factorId) }),
  );
  return rows[0] ? toFlow(cipher, rows[0]) : null;
}

/** The MFA grant spends an `ok` flow once; false when it was spent already. */
export async function spendFlow(tx: SqlExecutor, flowId: string, now: number): Promise<boolean> {
  const { rowsAffected } = await tx.execute(
    sql(`UPDATE eid_flows SET used_at = @now WHERE id = @id AND outcome = 'ok' AND used_at IS NULL`, { now: p.bigint(now), id: p.text(flowId) }),
  );
  return rowsAffected === 1;
}

/** Forgets the flows and the binding of a factor being removed. */
export async function deleteEidStateOfFactor(tx: SqlExecutor, factorId: string): Promise<void> {
  await tx.execute(sql('DELETE FROM eid_flows WHERE factor_id = @id', { id: p.text(factorId) }));
  await tx.execute(sql('DELETE FROM eid_bindings WHERE factor_id = @id', { id: p.text(factorId) }));
}

/** Forgets every flow and binding of an account whose factors are reset. Verified identities stay: they were proven. */
export async function deleteEidStateOfUser(tx: SqlExecutor, userId: string): Promise<void> {
  await tx.execute(sql('DELETE FROM eid_flows WHERE user_id = @user', { user: p.text(userId) }));
  await tx.execute(sql('DELETE FROM eid_bindings WHERE user_id = @user', { user: p.text(userId) }));
}

/**
 * A pending eID factor none of whose enrollment flows can still be answered (all expired: the person never came back
 * from the provider) is abandoned. Cancelled and failed links discard their factor at once (callback.ts); these are
 * the ones nobody finished. (A flow being answered right now is not expired, so its factor is never taken away.)
 */
const ABANDONED_EID_FACTOR = `mfa_factors.type = 'eid' AND mfa_factors.status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM eid_flows WHERE eid_flows.factor_id = mfa_factors.id AND eid_flows.expires_at > @now)`;

/** Discards the abandoned pending eID factors (of one account, or of all when `userId` is null). */
export async function discardAbandonedEidFactors(db: SqlExecutor, userId: string | null, now: number): Promise<number> {
  const { rowsAffected } = await db.execute(
    userId === null
      ? sql(`DELETE FROM mfa_factors WHERE ${ABANDONED_EID_FACTOR}`, { now: p.bigint(now) })
      : sql(`DELETE FROM mfa_factors WHERE mfa_factors.user_id = @user AND ${ABANDONED_EID_FACTOR}`, { now: p.bigint(now), user: p.text(userId) }),
  );
  return rowsAffected;
}

/**
 * Deletes flows expired before `before` (the hourly purge, with the MFA challenges), after the pending eID factors
 * they leave abandoned.
 */
export async function sweepEidFlows(db: SqlExecutor, before: number): Promise<number> {
  await discardAbandonedEidFactors(db, null, before);
  const { rowsAffected } = await db.execute(sql('DELETE FROM eid_flows WHERE expires_at <= @before', { before: p.bigint(before) }));
  return rowsAffected;
}
