/**
 * People. One account per email address; the address is stored encrypted and found by its blind index.
 * An account may be a requester, an operator, and a member of organizations at the same time.
 */
import { p, sql } from '../../adapters/sql/params';
import type { ColumnCipher } from '../../crypto/columnCipher';
import { normalizeEmail } from '../../crypto/columnCipher';
import type { Clock, Random, SqlExecutor } from '../../ports';

export const EMAIL_CONTEXT = 'users.email';
export const NAME_CONTEXT = 'users.name';

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly passwordHash: string | null;
  readonly isRequester: boolean;
  readonly isOperator: boolean;
  readonly emailVerifiedAt: number | null;
  readonly disabledAt: number | null;
}

interface UserRow {
  id: string;
  email: Buffer;
  name: Buffer | null;
  password_hash: string | null;
  is_requester: number | boolean;
  is_operator: number | boolean;
  email_verified_at: number | null;
  disabled_at: number | null;
}

const COLUMNS = 'id, email, name, password_hash, is_requester, is_operator, email_verified_at, disabled_at';

export function emailIndex(cipher: ColumnCipher, email: string): string {
  return cipher.blindIndex(normalizeEmail(email), EMAIL_CONTEXT);
}

function toUser(cipher: ColumnCipher, row: UserRow): User {
  return {
    id: row.id,
    email: cipher.decrypt(row.email, EMAIL_CONTEXT),
    name: cipher.decryptNullable(row.name, NAME_CONTEXT),
    passwordHash: row.password_hash,
    isRequester: Boolean(row.is_requester),
    isOperator: Boolean(row.is_operator),
    emailVerifiedAt: row.email_verified_at === null ? null : Number(row.email_verified_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  };
}

export async function findUserByEmail(db: SqlExecutor, cipher: ColumnCipher, email: string): Promise<User | null> {
  const [row] = await db.query<UserRow & Record<string, unknown>>(
    sql(`SELECT ${COLUMNS} FROM users WHERE email_index = @index`, { index: p.text(emailIndex(cipher, email)) }),
  );
  return row ? toUser(cipher, row) : null;
}

export async function getUser(db: SqlExecutor, cipher: ColumnCipher, id: string): Promise<User | null> {
  const [row] = await db.query<UserRow & Record<string, unknown>>(sql(`SELECT ${COLUMNS} FROM users WHERE id = @id`, { id: p.text(id) }));
  return row ? toUser(cipher, row) : null;
}

/**
 * Returns the existing account for the address, or creates one without a password (it gets one when the person
 * accepts an invitation or verifies a sign-up). A concurrent creation of the same address surfaces as
 * UniqueViolationError, which rolls the caller's transaction back.
 */
export async function findOrCreateUser(
  tx: SqlExecutor,
  deps: { cipher: ColumnCipher; clock: Clock; random: Random },
  input: { email: string; name?: string | null },
): Promise<{ user: User; created: boolean }> {
  const existing = await findUserByEmail(tx, deps.cipher, input.email);
  if (existing) return { user: existing, created: false };
  const id = deps.random.id();
  const email = input.email.trim();
  await tx.execute(
    sql(
      `INSERT INTO users (id, email, email_index, name, password_hash, is_requester, is_operator, email_verified_at, disabled_at, created_at)
       VALUES (@id, @email, @index, @name, NULL, @false, @false, NULL, NULL, @now)`,
      {
        id: p.text(id),
        email: p.blob(deps.cipher.encrypt(email, EMAIL_CONTEXT)),
        index: p.text(emailIndex(deps.cipher, email)),
        name: p.blob(deps.cipher.encryptNullable(input.name ?? null, NAME_CONTEXT)),
        false: p.bool(false),
        now: p.bigint(deps.clock.now().getTime()),
      },
    ),
  );
  const user: User = {
    id,
    email,
    name: input.name ?? null,
    passwordHash: null,
    isRequester: false,
    isOperator: false,
    emailVerifiedAt: null,
    disabledAt: null,
  };
  return { user, created: true };
}

export async function setPassword(tx: SqlExecutor, userId: string, passwordHash: string): Promise<void> {
  await tx.execute(sql('UPDATE users SET password_hash = @hash WHERE id = @id', { hash: p.text(passwordHash), id: p.text(userId) }));
}

export async function markEmailVerified(tx: SqlExecutor, clock: Clock, userId: string): Promise<void> {
  await tx.execute(
    sql('UPDATE users SET email_verified_at = @now WHERE id = @id AND email_verified_at IS NULL', {
      now: p.bigint(clock.now().getTime()),
      id: p.text(userId),
    }),
  );
}

