/**
 * Enrolled second factors (DESIGN §5): the rows of mfa_factors and what the API shows of them. Labels and secrets
 * are column-encrypted; a WebAuthn credential id is also kept as a blind index.
 *
 * Factor types are a closed union handled by exhaustive switches (see `assertNever`): adding one makes the compiler
 * point at every place that must learn about it. `eid` is a third-party eID provider (OpenID Connect, lib/domain/eid):
 * its answer comes back through the provider's redirect, not in the MFA grant.
 */
import { p, sql } from '../../adapters/sql/params';
import type { ColumnCipher } from '../../crypto/columnCipher';
import type { SqlExecutor } from '../../ports';
import { deleteEidStateOfFactor } from '../eid/flows';

export const FACTOR_TYPES = ['totp', 'email', 'sms', 'webauthn', 'eid'] as const;
export type FactorType = (typeof FACTOR_TYPES)[number];
export type FactorStatus = 'pending' | 'active';

/** The pseudo-factor under which a login offers recovery codes (they do not count as a factor). */
export const RECOVERY_FACTOR_ID = 'recovery';

export const LABEL_CONTEXT = 'mfa_factors.label';
export const SECRET_CONTEXT = 'mfa_factors.secret';
export const CREDENTIAL_ID_CONTEXT = 'mfa_factors.credential_id';

export const LABEL_MAX_LENGTH = 100;
/** Pending and active together: plenty for real use, a bound for abuse. */
export const MAX_FACTORS_PER_ACCOUNT = 20;
/** A factor never verified is dropped after this long. */
export const PENDING_FACTOR_TTL_IN_SECONDS = 60 * 60;

export interface Factor {
  readonly id: string;
  readonly userId: string;
  readonly type: FactorType;
  readonly label: string;
  readonly status: FactorStatus;
  /**
   * TOTP secret (base32), SMS phone number (E.164), WebAuthn credential (JSON), eID binding (JSON: provider, and once
   * enrolled the issuer and subject); null for email.
   */
  readonly secret: string | null;
  readonly lastUsedAt: number | null;
  readonly lastTotpStep: number | null;
  readonly createdAt: number;
  readonly activatedAt: number | null;
}

/** A factor as GET /v1/me/factors shows it: never a secret; an SMS number only as its last two digits. */
export interface FactorSummary {
  readonly id: string;
  readonly type: FactorType;
  readonly label: string;
  readonly status: FactorStatus;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly lastUsedAt: string | null;
  readonly phoneHint?: string;
  /** eID only: the provider's id (GET /v1/auth/eid/providers). */
  readonly provider?: string;
}

type FactorRow = {
  id: string;
  user_id: string;
  type: string;
  label: Uint8Array;
  status: string;
  secret: Uint8Array | null;
  last_used_at: number | null;
  last_totp_step: number | null;
  created_at: number;
  activated_at: number | null;
};

const COLUMNS = 'id, user_id, type, label, status, secret, last_used_at, last_totp_step, created_at, activated_at';

export function assertNever(value: never): never {
  throw new TypeError(`Unhandled factor type ${String(value)}`);
}

export function isFactorType(value: string): value is FactorType {
  return (FACTOR_TYPES as readonly string[]).includes(value);
}

function toFactor(cipher: ColumnCipher, row: FactorRow): Factor {
  if (!isFactorType(row.type)) throw new TypeError(`Unknown factor type in mfa_factors: ${row.type}`);
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    label: cipher.decrypt(row.label, LABEL_CONTEXT),
    status: row.status === 'active' ? 'active' : 'pending',
    secret: cipher.decryptNullable(row.secret, SECRET_CONTEXT),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    lastTotpStep: row.last_totp_step === null ? null : Number(row.last_totp_step),
    createdAt: Number(row.created_at),
    activatedAt: row.activated_at === null ? null : Number(row.activated_at),
  };
}

export function summarize(factor: Factor): FactorSummary {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: factor.id,
    type: factor.type,
    label: factor.label,
    status: factor.status,
    createdAt: new Date(factor.createdAt).toISOString(),
    activatedAt: iso(factor.activatedAt),
    lastUsedAt: iso(factor.lastUsedAt),
    ...(factor.type === 'sms' && factor.secret ? { phoneHint: `•••${factor.secret.slice(-2)}` } : {}),
    ...(factor.type === 'eid' ? { provider: eidProviderOf(factor.secret) } : {}),
  };
}

function eidProviderOf(secret: string | null): string {
  try {
    const provider = (JSON.parse(secret ?? '{}') as { provider?: unknown }).provider;
    return typeof provider === 'string' ? provider : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function listFactors(db: SqlExecutor, cipher: ColumnCipher, userId: string): Promise<Factor[]> {
  const rows = await db.query<FactorRow>(sql(`SELECT ${COLUMNS} FROM mfa_factors WHERE user_id = @user ORDER BY created_at, id`, { user: p.text(userId) }));
  return rows.map((row) => toFactor(cipher, row));
}

export async function getFactor(db: SqlExecutor, cipher: ColumnCipher, userId: string, factorId: string): Promise<Factor | null> {
  const [row] = await db.query<FactorRow>(
    sql(`SELECT ${COLUMNS} FROM mfa_factors WHERE id = @id AND user_id = @user`, { id: p.text(factorId), user: p.text(userId) }),
  );
  return row ? toFactor(cipher, row) : null;
}

export async function countActiveFactors(db: SqlExecutor, userId: string): Promise<number> {
  const [row] = await db.query<{ n: number | string }>(
    sql(`SELECT COUNT(*) AS n FROM mfa_factors WHERE user_id = @user AND status = 'active'`, { user: p.text(userId) }),
  );
  return Number(row?.n ?? 0);
}

export async function insertFactor(
  tx: SqlExecutor,
  cipher: ColumnCipher,
  factor: { id: string; userId: string; type: FactorType; label: string; secret: string | null; now: number },
): Promise<void> {
  await tx.execute(
    sql(
      `INSERT INTO mfa_factors (id, user_id, type, label, status, secret, credential_id_index, last_used_at, last_totp_step, created_at, activated_at)
       VALUES (@id, @user, @type, @label, 'pending', @secret, NULL, NULL, NULL, @now, NULL)`,
      {
        id: p.text(factor.id),
        user: p.text(factor.userId),
        type: p.text(factor.type),
        label: p.blob(cipher.encrypt(factor.label, LABEL_CONTEXT)),
        secret: p.blob(cipher.encryptNullable(factor.secret, SECRET_CONTEXT)),
        now: p.bigint(factor.now),
      },
    ),
  );
}

/**
 * pending → active, once. `secret` replaces the stored one when given (a WebAuthn credential is only known now);
 * `totpStep` records the step of the verifying code, so the same code cannot sign in afterwards.
 */
export async function activateFactor(
  tx: SqlExecutor,
  cipher: ColumnCipher,
  factorId: string,
  input: { now: number; secret?: string; credentialId?: string; totpStep?: number },
): Promise<boolean> {
  const { rowsAffected } = await tx.execute(
    sql(
      `UPDATE mfa_factors SET status = 'active', activated_at = @now,
         secret = CASE WHEN @replaceSecret = 1 THEN @secret ELSE secret END,
         credential_id_index = @credentialIdIndex, last_totp_step = @step
       WHERE id = @id AND status = 'pending'`,
      {
        now: p.bigint(input.now),
        replaceSecret: p.int(input.secret === undefined ? 0 : 1),
        secret: p.blob(input.secret === undefined ? null : cipher.encrypt(input.secret, SECRET_CONTEXT)),
        credentialIdIndex: p.text(input.credentialId === undefined ? null : credentialIdIndex(cipher, input.credentialId)),
        step: p.bigint(input.totpStep ?? null),
        id: p.text(factorId),
      },
    ),
  );
  return rowsAffected === 1;
}

export function credentialIdIndex(cipher: ColumnCipher, credentialId: string): string {
  return cipher.blindIndex(credentialId, CREDENTIAL_ID_CONTEXT);
}

/** Records a use. For TOTP the step must be later than the last (conditional: of two racing uses one wins). */
export async function markFactorUsed(tx: SqlExecutor, factorId: string, now: number, totpStep: number | null): Promise<boolean> {
  if (totpStep === null) {
    const { rowsAffected } = await tx.execute(
      sql('UPDATE mfa_factors SET last_used_at = @now WHERE id = @id', { now: p.bigint(now), id: p.text(factorId) }),
    );
    return rowsAffected === 1;
  }
  const { rowsAffected } = await tx.execute(
    sql(
      `UPDATE mfa_factors SET last_used_at = @now, last_totp_step = @step
       WHERE id = @id AND status = 'active' AND (last_totp_step IS NULL OR last_totp_step < @step)`,
      { now: p.bigint(now), step: p.bigint(totpStep), id: p.text(factorId) },
    ),
  );
  return rowsAffected === 1;
}

/**
 * Stores a WebAuthn credential's new counter, but only over the exact ciphertext that was verified (optimistic
 * concurrency): of two answers racing with the same counter, one wins.
 */
export async function updateWebAuthnCredential(
  tx: SqlExecutor,
  cipher: ColumnCipher,
  factorId: string,
  input: { now: number; previousSecret: Uint8Array; credentialJson: string },
): Promise<boolean> {
  const { rowsAffected } = await tx.execute(
    sql('UPDATE mfa_factors SET secret = @secret, last_used_at = @now WHERE id = @id AND secret = @previous', {
      secret: p.blob(cipher.encrypt(input.credentialJson, SECRET_CONTEXT)),
      now: p.bigint(input.now),
      id: p.text(factorId),
      previous: p.blob(Buffer.from(input.previousSecret)),
    }),
  );
  return rowsAffected === 1;
}

/** The encrypted secret as stored, for updateWebAuthnCredential's comparison. */
export async function rawSecret(db: SqlExecutor, factorId: string): Promise<Uint8Array | null> {
  const [row] = await db.query<{ secret: Uint8Array | null }>(sql('SELECT secret FROM mfa_factors WHERE id = @id', { id: p.text(factorId) }));
  return row?.secret ?? null;
}

/**
 * Drops a factor that never became active (an eID link cancelled or failed at the provider): the factor, its
 * enrollment challenges and any binding go, but its eID flows stay until their expiry sweep, so that verify can still
 * tell the client how the link ended. Conditional: an active factor is never touched. True when one was dropped.
 */
export async function discardPendingFactor(tx: SqlExecutor, factorId: string): Promise<boolean> {
  const { rowsAffected } = await tx.execute(sql(`DELETE FROM mfa_factors WHERE id = @id AND status = 'pending'`, { id: p.text(factorId) }));
  if (rowsAffected === 0) return false;
  await tx.execute(sql('DELETE FROM mfa_challenges WHERE factor_id = @id AND purpose = @enroll', { id: p.text(factorId), enroll: p.text('enroll') }));
  await tx.execute(sql('DELETE FROM eid_bindings WHERE factor_id = @id', { id: p.text(factorId) }));
  return true;
}

export async function deleteFactorRow(tx: SqlExecutor, factorId: string): Promise<void> {
  await deleteEidStateOfFactor(tx, factorId);
  await tx.execute(sql('DELETE FROM mfa_challenges WHERE factor_id = @id AND purpose = @enroll', { id: p.text(factorId), enroll: p.text('enroll') }));
  await tx.execute(sql('DELETE FROM mfa_factors WHERE id = @id', { id: p.text(factorId) }));
}
