/**
 * The only places SQLite and SQL Server differ for us: column type names in DDL and a few fragments.
 * Everything else is one shared text. Keep this small; a query that needs more than these is a smell.
 */
import type { SqlDialectName } from '../../ports';

export interface Dialect {
  readonly name: SqlDialectName;
  /** Short text that can be indexed or part of a key (ids, codes, hashes, blind indexes). */
  readonly key: string;
  /** Unbounded text; never indexed. */
  readonly text: string;
  /** Bounded text longer than `key` (e.g. a Key Vault key id URL). */
  varchar(maxLength: number): string;
  readonly blob: string;
  readonly int: string;
  /** Epoch milliseconds and other integers beyond 2^31. */
  readonly bigint: string;
  readonly bool: string;
  /** Appended after an ORDER BY: the first @paramName rows. SQL Server only pages an ordered query. */
  limit(paramName: string): string;
  /** A CREATE TABLE that does nothing when the table exists. */
  createTableIfMissing(table: string, body: string): string;
  /**
   * Runs first in every migration transaction so two instances starting together apply each migration
   * once (SQL Server; SQLite's BEGIN IMMEDIATE already excludes other writers). null when not needed.
   */
  readonly migrationLock: string | null;
}

export const sqliteDialect: Dialect = Object.freeze({
  name: 'sqlite',
  key: 'TEXT',
  text: 'TEXT',
  varchar: () => 'TEXT',
  blob: 'BLOB',
  int: 'INTEGER',
  bigint: 'INTEGER',
  bool: 'INTEGER',
  limit: (paramName: string) => ` LIMIT @${paramName}`,
  createTableIfMissing: (table: string, body: string) => `CREATE TABLE IF NOT EXISTS ${table} (${body})`,
  migrationLock: null,
});

export const mssqlDialect: Dialect = Object.freeze({
  name: 'mssql',
  // 200 characters = 400 bytes: a two-column key stays under SQL Server's 900-byte clustered-index limit.
  key: 'NVARCHAR(200)',
  text: 'NVARCHAR(MAX)',
  varchar: (maxLength: number) => `NVARCHAR(${maxLength})`,
  blob: 'VARBINARY(MAX)',
  int: 'INT',
  bigint: 'BIGINT',
  bool: 'BIT',
  limit: (paramName: string) => ` OFFSET 0 ROWS FETCH NEXT @${paramName} ROWS ONLY`,
  createTableIfMissing: (table: string, body: string) =>
    `IF OBJECT_ID(N'${table}', N'U') IS NULL CREATE TABLE ${table} (${body})`,
  // Held until the transaction ends. sp_getapplock reports a timeout as a negative status, not an error.
  migrationLock:
    "DECLARE @status INT; EXEC @status = sp_getapplock @Resource = N'connectid:migrations', @LockMode = N'Exclusive', " +
    "@LockOwner = N'Transaction', @LockTimeout = 60000; IF @status < 0 THROW 51000, N'Timed out waiting for the migration lock', 1;",
});

export function dialectFor(name: SqlDialectName): Dialect {
  return name === 'sqlite' ? sqliteDialect : mssqlDialect;
}
