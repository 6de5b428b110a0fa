/**
 * What every Store adapter promises, run against each reachable engine. Round-trip cases use a scratch
 * table with a unique name, created from the dialect's types and dropped afterwards; the migration
 * tables are left in place (another suite on the same database may be using them).
 */
import { randomBytes } from 'node:crypto';
import type { SqlExecutor, Store } from '../../lib/ports';
import { dialectFor, type Dialect } from '../../lib/adapters/sql/dialect';
import { MIGRATIONS } from '../../lib/adapters/sql/migrations';
import { UniqueViolationError, p, sql } from '../../lib/adapters/sql/params';

interface ScratchRow {
  id: string;
  label: string | null;
  small: number | null;
  large: number | null;
  bytes: Buffer | null;
  flag: number | boolean | null;
  counter: number;
  owner: string | null;
}

export function describeStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let d: Dialect;
    const table = `scratch_${randomBytes(6).toString('hex')}`;

    const insert = (executor: SqlExecutor, id: string, fields: Partial<Omit<ScratchRow, 'id' | 'flag'>> & { flag?: boolean | null } = {}) =>
      executor.execute(
        sql(
          `INSERT INTO ${table} (id, label, small, large, bytes, flag, counter, owner) ` +
            'VALUES (@id, @label, @small, @large, @bytes, @flag, @counter, @owner)',
          {
            id: p.text(id),
            label: p.text(fields.label ?? null),
            small: p.int(fields.small ?? null),
            large: p.bigint(fields.large ?? null),
            bytes: p.blob(fields.bytes ?? null),
            flag: p.bool(fields.flag ?? null),
            counter: p.int(fields.counter ?? 0),
            owner: p.text(fields.owner ?? null),
          },
        ),
      );
    const select = async (executor: SqlExecutor, id: string): Promise<ScratchRow | undefined> =>
      (await executor.query<ScratchRow & Record<string, unknown>>(sql(`SELECT * FROM ${table} WHERE id = @id`, { id: p.text(id) })))[0];
    const ids = async (): Promise<string[]> =>
      (await store.query<{ id: string }>(sql(`SELECT id FROM ${table} ORDER BY id`))).map((row) => row.id);

    beforeAll(async () => {
      store = await makeStore();
      d = dialectFor(store.dialect);
      await store.execute(
        sql(
          `CREATE TABLE ${table} (id ${d.key} NOT NULL, label ${d.text} NULL, small ${d.int} NULL, large ${d.bigint} NULL, ` +
            `bytes ${d.blob} NULL, flag ${d.bool} NULL, counter ${d.int} NOT NULL, owner ${d.key} NULL, ` +
            `CONSTRAINT pk_${table} PRIMARY KEY (id))`,
        ),
      );
    });

    afterAll(async () => {
      if (!store) return;
      try {
        await store.execute(sql(`DROP TABLE ${table}`));
      } finally {
        await store.close();
      }
    });

    beforeEach(async () => {
      await store.execute(sql(`DELETE FROM ${table}`));
    });

    test('migrate applies the pending versions once, then nothing', async () => {
      const before = await appliedVersions(store);
      const pending = MIGRATIONS.map((m) => m.version).filter((v) => !before.includes(v));

      expect(await store.migrate()).toEqual(pending);
      expect(await store.migrate()).toEqual([]);
      expect(await appliedVersions(store)).toEqual(expect.arrayContaining(MIGRATIONS.map((m) => m.version)));
    });

    test('migration 1 tables accept their rows and enforce their keys', async () => {
      await store.migrate();
      const id = `contract-${randomBytes(8).toString('hex')}`;
      const wrapped = Buffer.from([0, 1, 2, 0, 255]);
      try {
        await store.execute(
          sql(
            'INSERT INTO wrapped_keys (id, purpose, scope, master_key_id, wrapped, created_at, destroyed_at) ' +
              'VALUES (@id, @purpose, @scope, @masterKeyId, @wrapped, @createdAt, @destroyedAt)',
            {
              id: p.text(id),
              purpose: p.text('org-kek'),
              scope: p.text(null),
              masterKeyId: p.text(`https://example.vault.azure.net/keys/master/${'a'.repeat(32)}`),
              wrapped: p.blob(wrapped),
              createdAt: p.bigint(1_700_000_000_000),
              destroyedAt: p.bigint(null),
            },
          ),
        );
        const [row] = await store.query(
          sql('SELECT wrapped, created_at, scope FROM wrapped_keys WHERE purpose = @purpose AND id = @id', {
            purpose: p.text('org-kek'),
            id: p.text(id),
          }),
        );
        expect(row).toEqual({ wrapped, created_at: 1_700_000_000_000, scope: null });

        const idempotency = sql(
          'INSERT INTO idempotency_keys (scope, idem_key, request_hash, response, created_at) VALUES (@scope, @key, @hash, NULL, @createdAt)',
          { scope: p.text(id), key: p.text('k1'), hash: p.text('h'), createdAt: p.bigint(1) },
        );
        await store.execute(idempotency);
        await expect(store.execute(idempotency)).rejects.toBeInstanceOf(UniqueViolationError);
      } finally {
        await store.execute(sql('DELETE FROM wrapped_keys WHERE id = @id', { id: p.text(id) }));
        await store.execute(sql('DELETE FROM idempotency_keys WHERE scope = @scope', { scope: p.text(id) }));
      }
    });

    test('every parameter type round-trips, nulls included', async () => {
      const bytes = Buffer.from([0x00, 0x01, 0x00, 0xff, 0x00]);
      await insert(store, 'full', { label: 'Zoë ✓ 日本語 😀', small: -2_147_483_648, large: 1_700_000_000_000, bytes, flag: true });
      await insert(store, 'false', { flag: false, large: Number.MAX_SAFE_INTEGER });
      await insert(store, 'empty');

      const full = await select(store, 'full');
      expect(full).toMatchObject({ id: 'full', label: 'Zoë ✓ 日本語 😀', small: -2_147_483_648, large: 1_700_000_000_000 });
      expect(Buffer.isBuffer(full?.bytes)).toBe(true);
      expect(full?.bytes).toEqual(bytes);
      expect([1, true]).toContain(full?.flag);

      const falsy = await select(store, 'false');
      expect([0, false]).toContain(falsy?.flag);
      expect(falsy?.large).toBe(Number.MAX_SAFE_INTEGER);

      expect(await select(store, 'empty')).toMatchObject({ label: null, small: null, large: null, bytes: null, flag: null });
    });

    test('parameter values are never interpolated into the SQL', async () => {
      const hostile = "x'); DROP TABLE wrapped_keys;--";
      await insert(store, hostile, { label: hostile });

      expect(await select(store, hostile)).toMatchObject({ id: hostile, label: hostile });
    });

    test('execute reports how many rows it changed', async () => {
      for (const id of ['a', 'b', 'c']) await insert(store, id, { owner: 'x' });

      expect(await store.execute(sql(`UPDATE ${table} SET owner = @owner WHERE id <> @id`, { owner: p.text('y'), id: p.text('a') }))).toEqual({
        rowsAffected: 2,
      });
      expect(await store.execute(sql(`DELETE FROM ${table} WHERE id = @id`, { id: p.text('missing') }))).toEqual({ rowsAffected: 0 });
    });

    test('a duplicate key surfaces as UniqueViolationError', async () => {
      await insert(store, 'dup');

      await expect(insert(store, 'dup')).rejects.toBeInstanceOf(UniqueViolationError);
    });

    test('inside a transaction, a caught unique violation does not spoil the rest', async () => {
      await store.transaction(async (tx) => {
        await insert(tx, 'dup');
        await expect(insert(tx, 'dup')).rejects.toBeInstanceOf(UniqueViolationError);
        await insert(tx, 'after');
      });

      expect(await ids()).toEqual(['after', 'dup']);
    });

    test('a transaction commits everything it wrote together', async () => {
      const result = await store.transaction(async (tx) => {
        await insert(tx, 'one');
        await insert(tx, 'two');
        return 'done';
      });

      expect(result).toBe('done');
      expect(await ids()).toEqual(['one', 'two']);
    });

    test('an error thrown inside work rolls back everything it wrote', async () => {
      await insert(store, 'kept', { counter: 1 });
      const failure = new Error('work failed');

      await expect(
        store.transaction(async (tx) => {
          await insert(tx, 'gone');
          await tx.execute(sql(`UPDATE ${table} SET counter = 99 WHERE id = @id`, { id: p.text('kept') }));
          throw failure;
        }),
      ).rejects.toBe(failure);

      expect(await ids()).toEqual(['kept']);
      expect((await select(store, 'kept'))?.counter).toBe(1);
    });

    test('concurrent transactions do not interleave: read-modify-write with an await in the middle loses no update', async () => {
      await insert(store, 'counter', { counter: 0 });
      const workers = 10;

      await Promise.all(
        Array.from({ length: workers }, (_, index) =>
          store.transaction(async (tx) => {
            const me = `worker-${index}`;
            // Writing first takes the row lock on SQL Server (a plain read would not hold one), which is the
            // portable way to read-modify-write; on SQLite the transaction already excludes everyone else.
            await tx.execute(sql(`UPDATE ${table} SET owner = @me WHERE id = 'counter'`, { me: p.text(me) }));
            const row = await select(tx, 'counter');
            await new Promise((resolve) => setImmediate(resolve));
            expect(row?.owner).toBe(me);
            await tx.execute(sql(`UPDATE ${table} SET counter = @next WHERE id = 'counter'`, { next: p.int((row?.counter ?? 0) + 1) }));
          }),
        ),
      );

      expect((await select(store, 'counter'))?.counter).toBe(workers);
    });

    test('calling the store itself from inside work fails fast instead of deadlocking', async () => {
      await expect(store.transaction(async () => store.query(sql(`SELECT id FROM ${table}`)))).rejects.toBeInstanceOf(TypeError);
      await expect(store.transaction(async () => store.transaction(async () => 1))).rejects.toBeInstanceOf(TypeError);
    });

    test('a tx executor refuses use after its transaction ended', async () => {
      let leaked: SqlExecutor | undefined;
      await store.transaction(async (tx) => {
        leaked = tx;
      });

      await expect(leaked?.query(sql(`SELECT id FROM ${table}`))).rejects.toBeInstanceOf(TypeError);
    });

    test('an ordered query pages with dialect.limit', async () => {
      for (const id of ['e', 'c', 'a', 'd', 'b']) await insert(store, id);

      const page = await store.query<{ id: string }>(
        sql(`SELECT id FROM ${table} WHERE id > @after ORDER BY id${d.limit('pageSize')}`, { after: p.text('a'), pageSize: p.int(2) }),
      );

      expect(page.map((row) => row.id)).toEqual(['b', 'c']);
    });
  });
}

async function appliedVersions(store: Store): Promise<number[]> {
  try {
    return (await store.query<{ version: number }>(sql('SELECT version FROM schema_migrations'))).map((row) => Number(row.version));
  } catch {
    return []; // no schema_migrations table yet
  }
}
