/**
 * Store on Azure SQL / SQL Server through `mssql` (tedious). Every parameter is bound with its declared
 * type, so the driver never guesses one from the JavaScript value.
 *
 * With server + database it signs in with Entra ID: tedious asks the credential for a token on every new
 * connection, and DefaultAzureCredential caches and renews it, so reconnects never use an expired token.
 */
import { DefaultAzureCredential } from '@azure/identity';
import * as mssql from 'mssql';
import type { Logger, SqlExecutor, SqlParam, SqlRow, SqlStatement, Store } from '../../ports';
import { mssqlDialect } from '../sql/dialect';
import { runMigrations } from '../sql/migrations';
import { SerialQueue, TransactionScope, UniqueViolationError, assertOpen } from '../sql/params';

export type MssqlStoreOptions =
  | { readonly connectionString: string }
  | { readonly server: string; readonly database: string };

export function createMssqlStore(options: MssqlStoreOptions, logger?: Logger): Store {
  // Connect lazily so building the composition root never needs the network.
  const pool = new mssql.ConnectionPool(poolConfig(options));
  // The pool re-emits connection failures as 'error'; unheard, that event would crash the process.
  // The failing request rejects with the same error, so this only records it.
  pool.on('error', (error: { code?: unknown; name?: unknown }) => {
    logger?.warn('SQL connection pool error', { code: error.code, name: error.name });
  });
  let connecting: Promise<mssql.ConnectionPool> | null = null;
  const connected = (): Promise<mssql.ConnectionPool> => {
    connecting ??= pool.connect().catch((error: unknown) => {
      connecting = null;
      throw error;
    });
    return connecting;
  };

  const scope = new TransactionScope();

  const store: Store = {
    dialect: 'mssql',
    async query<Row extends SqlRow = SqlRow>(statement: SqlStatement): Promise<Row[]> {
      scope.assertOutside();
      return runQuery<Row>(new mssql.Request(await connected()), statement);
    },
    async execute(statement) {
      scope.assertOutside();
      return runExecute(new mssql.Request(await connected()), statement);
    },
    async transaction(work) {
      scope.assertOutside();
      const transaction = new mssql.Transaction(await connected());
      await transaction.begin();
      // A transaction owns one connection, which runs one request at a time (mssql throws EREQINPROG otherwise).
      const queue = new SerialQueue();
      try {
        const result = await scope.run((isOpen) => {
          const tx: SqlExecutor = {
            async query<Row extends SqlRow = SqlRow>(statement: SqlStatement): Promise<Row[]> {
              assertOpen(isOpen);
              return queue.run(() => runQuery<Row>(new mssql.Request(transaction), statement));
            },
            async execute(statement) {
              assertOpen(isOpen);
              return queue.run(() => runExecute(new mssql.Request(transaction), statement));
            },
          };
          return work(tx);
        });
        await transaction.commit();
        return result;
      } catch (error) {
        // The server may already have rolled back (deadlock victim, severe error); mssql then refuses a
        // second rollback. Either way the caller needs the original error, not the rollback's.
        await transaction.rollback().catch(() => undefined);
        throw error;
      }
    },
    async migrate() {
      return runMigrations(store, mssqlDialect);
    },
    async close() {
      await pool.close();
    },
  };
  return store;
}

function poolConfig(options: MssqlStoreOptions): mssql.config | string {
  // mssql parses ADO-style strings itself; encryption defaults to on unless the string says otherwise.
  if ('connectionString' in options) return options.connectionString;
  return {
    server: options.server,
    database: options.database,
    authentication: { type: 'token-credential', options: { credential: new DefaultAzureCredential() } },
    options: { encrypt: true, trustServerCertificate: false },
  };
}

async function runQuery<Row extends SqlRow>(request: mssql.Request, statement: SqlStatement): Promise<Row[]> {
  const result = await send(request, statement);
  const recordset = result.recordset as mssql.IRecordSet<Record<string, unknown>> | undefined;
  if (!recordset) return [];
  // tedious returns BIGINT as a string so no precision is lost; ours are epoch ms and counters.
  const bigintColumns = Object.values(recordset.columns)
    .filter((column) => column.type === mssql.BigInt)
    .map((column) => column.name);
  if (bigintColumns.length > 0) {
    for (const row of recordset) {
      for (const name of bigintColumns) row[name] = bigintToNumber(row[name], name);
    }
  }
  return recordset as unknown as Row[];
}

async function runExecute(request: mssql.Request, statement: SqlStatement): Promise<{ rowsAffected: number }> {
  const result = await send(request, statement);
  return { rowsAffected: result.rowsAffected.reduce((sum, count) => sum + count, 0) };
}

async function send(request: mssql.Request, statement: SqlStatement): Promise<mssql.IResult<unknown>> {
  for (const [name, param] of Object.entries(statement.params)) request.input(name, sqlType(param), param.value);
  try {
    return await request.query(statement.text);
  } catch (error) {
    const number = (error as { number?: unknown }).number;
    // 2627: PRIMARY KEY / UNIQUE constraint; 2601: unique index.
    if (number === 2627 || number === 2601) {
      // The server's message ends with the duplicate value, which may be personal data.
      throw new UniqueViolationError((error as Error).message.replace(/\s*The duplicate key value is[\s\S]*$/, ''));
    }
    throw error;
  }
}

function sqlType(param: SqlParam): mssql.ISqlType {
  switch (param.type) {
    case 'text':
      return mssql.NVarChar(mssql.MAX);
    case 'int':
      return mssql.Int();
    case 'bigint':
      return mssql.BigInt();
    case 'blob':
      return mssql.VarBinary(mssql.MAX);
    case 'bool':
      return mssql.Bit();
  }
}

function bigintToNumber(value: unknown, column: string): unknown {
  if (typeof value !== 'string') return value;
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`BIGINT column ${column} holds a value beyond 2^53`);
  return number;
}
