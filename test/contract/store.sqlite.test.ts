import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../lib/adapters/sqlite/sqliteStore';
import { describeStoreContract } from './storeContract';

// A real file, not ':memory:', so WAL and the directory creation are exercised too.
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-store-'));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

describeStoreContract('SQLite (temp file)', async () => createSqliteStore({ file: path.join(directory, 'nested', 'store.sqlite') }));
