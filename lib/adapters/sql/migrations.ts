/**
 * Versioned schema migrations, one definition for both engines: each `up` builds its DDL from the
 * dialect's type names. Append new migrations at the end with the next version; never edit one that
 * has shipped. Each statement is separate because SQLite prepares one statement at a time.
 *
 * Conventions: every column states NULL or NOT NULL (SQLite would otherwise allow NULL in a text
 * primary key); constraints and indexes are named `pk_<table>`, `ux_<table>_<cols>`, `ix_<table>_<cols>`
 * (SQL Server needs the names to alter them later).
 */
import type { Store } from '../../ports';
import type { Dialect } from './dialect';
import { p, sql } from './params';
import { identityMigration } from '../../domain/accounts/schema';
import { auditMigration } from '../../domain/audit/schema';
import { throttleMigration } from '../../domain/throttle/schema';
import { signingKeysMigration } from '../../domain/tokens/schema';
import { requestsMigration } from '../../domain/requests/schema';
import { deliveriesMigration, deliveryItemBlobIndexMigration } from '../../domain/deliveries/schema';
import { mfaMigration } from '../../domain/mfa/schema';
import { eidKeyRotationMigration, eidMigration } from '../../domain/eid/schema';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(d: Dialect): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  foundation(),
  // Each domain owns its tables; the list here fixes the order in which they were introduced.
  identityMigration,
  auditMigration,
  throttleMigration,
  signingKeysMigration,
  requestsMigration,
  deliveriesMigration,
  mfaMigration,
  eidMigration,
  deliveryItemBlobIndexMigration,
  eidKeyRotationMigration,
];

function foundation(): Migration {
  return {
    version: 1,
    name: 'foundation',
    up: (d) => [
      // Keys wrapped by the master key (organization KEKs, column keys, signing keys — DESIGN §4).
      `CREATE TABLE wrapped_keys (
        id ${d.key} NOT NULL,
        purpose ${d.key} NOT NULL,
        scope ${d.key} NULL,
        master_key_id ${d.varchar(400)} NOT NULL,
        wrapped ${d.blob} NOT NULL,
        created_at ${d.bigint} NOT NULL,
        destroyed_at ${d.bigint} NULL,
        CONSTRAINT pk_wrapped_keys PRIMARY KEY (id)
      )`,
      'CREATE INDEX ix_wrapped_keys_purpose_scope ON wrapped_keys (purpose, scope)',
      // Replays of requests sent with an Idempotency-Key: same key and request hash → same response.
      `CREATE TABLE idempotency_keys (
        scope ${d.key} NOT NULL,
        idem_key ${d.key} NOT NULL,
        request_hash ${d.key} NOT NULL,
        response ${d.blob} NULL,
        created_at ${d.bigint} NOT NULL,
        CONSTRAINT pk_idempotency_keys PRIMARY KEY (scope, idem_key)
      )`,
    ],
  };
}

/**
 * Applies the pending migrations in version order, each in its own transaction together with its
 * schema_migrations row, so a failed migration leaves nothing behind and is retried on the next start.
 * Returns the versions applied now ([] when up to date).
 */
export async function runMigrations(
  store: Pick<Store, 'query' | 'transaction'>,
  dialect: Dialect,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  assertOrdered(migrations);
  await store.transaction(async (tx) => {
    if (dialect.migrationLock) await tx.execute(sql(dialect.migrationLock));
    await tx.execute(
      sql(
        dialect.createTableIfMissing(
          'schema_migrations',
          `version ${dialect.int} NOT NULL, name ${dialect.key} NOT NULL, applied_at ${dialect.bigint} NOT NULL, ` +
            'CONSTRAINT pk_schema_migrations PRIMARY KEY (version)',
        ),
      ),
    );
  });

  const appliedBefore = await store.query<{ version: number }>(sql('SELECT version FROM schema_migrations'));
  const done = new Set(appliedBefore.map((row) => Number(row.version)));
  const appliedNow: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    const applied = await store.transaction(async (tx) => {
      if (dialect.migrationLock) await tx.execute(sql(dialect.migrationLock));
      // Another instance may have applied it between our read and our lock.
      const already = await tx.query(
        sql('SELECT version FROM schema_migrations WHERE version = @version', { version: p.int(migration.version) }),
      );
      if (already.length > 0) return false;
      for (const statement of migration.up(dialect)) await tx.execute(sql(statement));
      await tx.execute(
        sql('INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, @appliedAt)', {
          version: p.int(migration.version),
          name: p.text(migration.name),
          // Bookkeeping only, not business time, so the injected Clock is not needed here.
          appliedAt: p.bigint(Date.now()),
        }),
      );
      return true;
    });
    if (applied) appliedNow.push(migration.version);
  }
  return appliedNow;
}

function assertOrdered(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new TypeError(`Migration versions must be ascending integers from 1 (got ${migration.version} after ${previous})`);
    }
    previous = migration.version;
  }
}
