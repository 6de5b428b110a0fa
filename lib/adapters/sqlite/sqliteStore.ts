/**
 * Store on an embedded SQLite file (better-sqlite3). better-sqlite3 is synchronous and has one
 * connection, while the port is async: a transaction's `work` awaits between statements, so every call
 * goes through one queue and a transaction holds it from BEGIN to COMMIT/ROLLBACK. Nothing from another
 * caller can land inside someone else's transaction.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { SqlExecutor, SqlParam, SqlRow, SqlStatement, Store } from '../../ports';
import { sqliteDialect } from '../sql/dialect';
import { runMigrations } from '../sql/migrations';
import { SerialQueue, TransactionScope, UniqueViolationError, assertOpen } from '../sql/params';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' (tests). */
  readonly file: string;
}

type BindValue = string | number | Buffer | null;

export function createSqliteStore(options: SqliteStoreOptions): Store {
  if (options.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
  const db = new Database(options.file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Safe with WAL: a power loss may drop the last commits but never corrupts the file.
  db.pragma('synchronous = NORMAL');

  const statements = new Map<string, Database.Statement>();
  const prepare = (text: string): Database.Statement => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };

  const query = <Row extends SqlRow>(statement: SqlStatement): Row[] =>
    translateErrors(() => {
      const prepared = prepare(statement.text);
      const values = bind(statement.params);
      if (!prepared.reader) {
        prepared.run(values);
        return [];
      }
      return prepared.all(values) as Row[];
    });
  const execute = (statement: SqlStatement): { rowsAffected: number } =>
    translateErrors(() => ({ rowsAffected: prepare(statement.text).run(bind(statement.params)).changes }));

  const queue = new SerialQueue();
  const scope = new TransactionScope();

  const store: Store = {
    dialect: 'sqlite',
    async query<Row extends SqlRow = SqlRow>(statement: SqlStatement): Promise<Row[]> {
      scope.assertOutside();
      return queue.run(() => query<Row>(statement));
    },
    async execute(statement) {
      scope.assertOutside();
      return queue.run(() => execute(statement));
    },
    async transaction(work) {
      scope.assertOutside();
      return queue.run(async () => {
        // IMMEDIATE takes the write lock now, so another process cannot make us fail halfway (SQLITE_BUSY on upgrade).
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await scope.run((isOpen) => {
            const tx: SqlExecutor = {
              async query<Row extends SqlRow = SqlRow>(statement: SqlStatement): Promise<Row[]> {
                assertOpen(isOpen);
                return query<Row>(statement);
              },
              async execute(statement) {
                assertOpen(isOpen);
                return execute(statement);
              },
            };
            return work(tx);
          });
          db.exec('COMMIT');
          return result;
        } catch (error) {
          // SQLite may already have rolled back by itself (e.g. SQLITE_FULL); a second ROLLBACK would throw.
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      });
    },
    async migrate() {
      return runMigrations(store, sqliteDialect);
    },
    async close() {
      await queue.run(() => {
        if (db.open) db.close();
      });
    },
  };
  return store;
}

function bind(params: Readonly<Record<string, SqlParam>>): Record<string, BindValue> {
  const values: Record<string, BindValue> = {};
  for (const [name, param] of Object.entries(params)) values[name] = bindValue(param);
  return values;
}

function bindValue({ type, value }: SqlParam): BindValue {
  if (value === null) return null;
  if (type === 'bool') return value ? 1 : 0;
  if (typeof value === 'boolean') throw new TypeError(`A boolean cannot be bound as ${type}`);
  return value;
}

function translateErrors<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw new UniqueViolationError((error as Error).message);
    }
    throw error;
  }
}
