import { createMssqlStore } from '../../lib/adapters/mssql/mssqlStore';
import { describeStoreContract } from './storeContract';

const connectionString = process.env.TEST_SQL_CONNECTION_STRING;

if (connectionString) {
  describeStoreContract('SQL Server (TEST_SQL_CONNECTION_STRING)', async () => createMssqlStore({ connectionString }));
} else {
  console.info('Store contract on SQL Server not run: TEST_SQL_CONNECTION_STRING is not set');
  describe.skip('Store contract: SQL Server — skipped because TEST_SQL_CONNECTION_STRING is not set', () => {
    test('needs a SQL Server database', () => undefined);
  });
}
