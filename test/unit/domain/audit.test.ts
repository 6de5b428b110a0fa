import fs from 'node:fs';
import path from 'node:path';
import { createLocalKeyProvider } from '../../../lib/adapters/keys/localKeyProvider';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS, runMigrations, type Migration } from '../../../lib/adapters/sql/migrations';
import { UniqueViolationError, p, sql } from '../../../lib/adapters/sql/params';
import { KeyHierarchy } from '../../../lib/crypto/keyHierarchy';
import {
  PLATFORM_CHAIN,
  appendAudit,
  auditCsv,
  listAudit,
  orgChain,
  requesterChain,
  verifyAudit,
  type AuditEvent,
  type AuditWriteDeps,
} from '../../../lib/domain/audit/audit';
import { auditMigration } from '../../../lib/domain/audit/schema';
import type { KeyProvider, SqlExecutor, SqlParam, Store } from '../../../lib/ports';
import { cryptoRandom } from '../../../lib/system';
import { FakeClock, makeTempDir } from '../../helpers/testApp';

// Tolerates MIGRATIONS with or without the audit migration registered.
const migrations: Migration[] = [...MIGRATIONS.filter((m) => m.version !== auditMigration.version), auditMigration].sort(
  (a, b) => a.version - b.version,
);

const ORG_A = orgChain('org-a');
const ORG_B = orgChain('org-b');
const alice = { type: 'user', id: 'user-alice' } as const;

let keysDir: string;
let keys: KeyProvider;
beforeAll(async () => {
  keysDir = makeTempDir('connectid-audit-keys-');
  keys = createLocalKeyProvider({ directory: keysDir, modulusLength: 2048 });
  await keys.currentKeyId();
});
afterAll(() => fs.rmSync(keysDir, { recursive: true, force: true }));

let store: Store;
let clock: FakeClock;
let keyHierarchy: KeyHierarchy;
let deps: AuditWriteDeps;
beforeEach(async () => {
  store = createSqliteStore({ file: ':memory:' });
  await runMigrations(store, sqliteDialect, migrations);
  clock = new FakeClock();
  keyHierarchy = new KeyHierarchy({ store, keys, clock, random: cryptoRandom, kekCacheTtlInSeconds: 300 });
  // appendAudit runs inside transactions, where the store cannot be used to load the column key.
  await keyHierarchy.columnCipher();
  deps = { clock, random: cryptoRandom, keyHierarchy };
});
afterEach(() => store.close());

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return { chain: ORG_A, action: 'api_key.created', actor: alice, target: { type: 'api_key', id: 'key-1' }, ...overrides };
}

function append(overrides: Partial<AuditEvent> = {}): Promise<{ id: string; seq: number }> {
  return store.transaction((tx) => appendAudit(tx, deps, event(overrides)));
}

async function appendMany(count: number, overrides: Partial<AuditEvent> = {}): Promise<void> {
  for (let i = 0; i < count; i++) await append(overrides);
}

async function tamper(text: string, params: Record<string, SqlParam> = {}): Promise<void> {
  const { rowsAffected } = await store.execute(sql(text, params));
  expect(rowsAffected).toBeGreaterThan(0);
}

async function head(chain: string): Promise<{ last_seq: number; last_mac: string } | undefined> {
  const [row] = await store.query<{ last_seq: number; last_mac: string }>(
    sql('SELECT last_seq, last_mac FROM audit_chains WHERE chain = @chain', { chain: p.text(chain) }),
  );
  return row;
}

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).name;
  }
  return undefined;
}

/** RFC 4180, enough to read back what auditCsv writes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      record.push(field);
      field = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  return records;
}

describe('appending', () => {
  test('an event appended in a transaction that rolls back leaves no event and no chain advance', async () => {
    await append();
    await expect(
      store.transaction(async (tx) => {
        await appendAudit(tx, deps, event({ action: 'api_key.revoked' }));
        throw new Error('the change being audited failed');
      }),
    ).rejects.toThrow();

    const rows = await store.query(sql('SELECT seq FROM audit_events'));
    expect(rows).toHaveLength(1);
    expect((await head(ORG_A))?.last_seq).toBe(1);
    expect(await append()).toMatchObject({ seq: 2 });
    expect((await verifyAudit(store, deps)).problems).toEqual([]);
  });

  test('a rolled-back first event leaves no chain head behind', async () => {
    await expect(
      store.transaction(async (tx) => {
        await appendAudit(tx, deps, event());
        throw new Error('rolled back');
      }),
    ).rejects.toThrow();
    expect(await head(ORG_A)).toBeUndefined();
  });

  test('each chain numbers its own events from 1', async () => {
    expect(await append({ chain: ORG_A })).toMatchObject({ seq: 1 });
    expect(await append({ chain: ORG_A })).toMatchObject({ seq: 2 });
    expect(await append({ chain: ORG_B })).toMatchObject({ seq: 1 });
    expect(await append({ chain: requesterChain('user-alice') })).toMatchObject({ seq: 1 });
    expect(await append({ chain: PLATFORM_CHAIN, actor: { type: 'system', id: null } })).toMatchObject({ seq: 1 });
    expect(await append({ chain: ORG_A })).toMatchObject({ seq: 3 });
    expect(await verifyAudit(store, deps)).toEqual({ chainsChecked: 4, eventsChecked: 6, problems: [] });
  });

  test('20 concurrent appends to one chain get seq 1 to 20 and a valid chain', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => append()));
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.id)).size).toBe(20);
    expect(await verifyAudit(store, deps)).toEqual({ chainsChecked: 1, eventsChecked: 20, problems: [] });
  });

  test('when two first events of a chain race, the loser gets UniqueViolationError so its transaction can retry', async () => {
    // What SQL Server does to the second of two concurrent first appends: no head to bump, and the insert collides.
    const racing: SqlExecutor = {
      query: async () => [],
      execute: async (statement) => {
        if (statement.text.startsWith('UPDATE audit_chains SET last_seq')) return { rowsAffected: 0 };
        throw new UniqueViolationError('pk_audit_chains');
      },
    };
    await expect(appendAudit(racing, deps, event())).rejects.toBeInstanceOf(UniqueViolationError);
  });

  test('details are column-encrypted: the plaintext is nowhere in the table', async () => {
    await append({ details: { email: 'alice@example.com', name: 'Alice Liddell' } });
    const rows = await store.query(sql('SELECT * FROM audit_events'));
    const raw = rows
      .flatMap((row) => Object.values(row))
      .map((value) => (Buffer.isBuffer(value) ? value.toString('latin1') : String(value)))
      .join('\n');
    expect(raw).not.toContain('alice@example.com');
    expect(raw).not.toContain('Alice Liddell');
    const [row] = await store.query<{ details: Buffer }>(sql('SELECT details FROM audit_events'));
    expect(Buffer.isBuffer(row?.details)).toBe(true);
    expect(row?.details.includes('alice@example.com')).toBe(false);

    const { items } = await listAudit(store, deps, ORG_A);
    expect(items[0]?.details).toEqual({ email: 'alice@example.com', name: 'Alice Liddell' });
  });

  test('malformed events and obvious secrets in details are programmer errors', async () => {
    expect(await codeOf(append({ action: 'Created Key' }))).toBe('TypeError');
    expect(await codeOf(append({ chain: '' }))).toBe('TypeError');
    expect(await codeOf(append({ details: { password: 'hunter2' } }))).toBe('TypeError');
    expect(await codeOf(append({ details: { clientSecret: 'x' } }))).toBe('TypeError');
    expect(await head(ORG_A)).toBeUndefined();
  });
});

describe('listing', () => {
  test('returns newest first and pages with an opaque cursor until nextCursor is null', async () => {
    for (let i = 1; i <= 5; i++) {
      await append({ target: { type: 'api_key', id: `key-${i}` } });
      clock.advance(1000);
    }
    const first = await listAudit(store, deps, ORG_A, { limit: 2 });
    expect(first.items.map((item) => item.seq)).toEqual([5, 4]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await listAudit(store, deps, ORG_A, { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((item) => item.seq)).toEqual([3, 2]);
    const third = await listAudit(store, deps, ORG_A, { limit: 2, cursor: second.nextCursor });
    expect(third.items.map((item) => item.seq)).toEqual([1]);
    expect(third.nextCursor).toBeNull();

    expect(third.items[0]).toEqual({
      id: expect.any(String),
      seq: 1,
      occurredAt: '2026-11-21T10:00:00.000Z',
      actor: { type: 'user', id: 'user-alice' },
      action: 'api_key.created',
      target: { type: 'api_key', id: 'key-1' },
      details: null,
    });
  });

  test('a page that ends exactly at the oldest event has no next cursor', async () => {
    await appendMany(2);
    expect((await listAudit(store, deps, ORG_A, { limit: 2 })).nextCursor).toBeNull();
  });

  test('filters by action, actor and time range, and never shows another chain', async () => {
    await append({ action: 'auth.login.succeeded' }); // 10:00
    clock.advance(60_000);
    await append({ action: 'auth.login.failed', actor: { type: 'user', id: null } }); // 10:01
    clock.advance(60_000);
    await append({ action: 'api_key.rotated', actor: { type: 'user', id: 'user-bob' } }); // 10:02
    await append({ chain: ORG_B, action: 'auth.login.failed' });

    const seqs = async (filter: Parameters<typeof listAudit>[3]) => (await listAudit(store, deps, ORG_A, filter)).items.map((i) => i.seq);
    expect(await seqs({ action: 'auth.login.failed' })).toEqual([2]);
    expect(await seqs({ actorId: 'user-bob' })).toEqual([3]);
    expect(await seqs({ from: new Date('2026-11-21T10:01:00Z') })).toEqual([3, 2]);
    expect(await seqs({ to: new Date('2026-11-21T10:01:00Z') })).toEqual([1]);
    expect(await seqs({ from: new Date('2026-11-21T10:00:30Z'), to: new Date('2026-11-21T10:02:00Z') })).toEqual([2]);
    expect(await seqs({})).toEqual([3, 2, 1]);
  });

  test('a limit outside 1..200 or a cursor it did not issue is invalid_request', async () => {
    expect(await codeOf(listAudit(store, deps, ORG_A, { limit: 0 }))).toBe('invalid_request');
    expect(await codeOf(listAudit(store, deps, ORG_A, { limit: 201 }))).toBe('invalid_request');
    expect(await codeOf(listAudit(store, deps, ORG_A, { limit: 1.5 }))).toBe('invalid_request');
    expect(await codeOf(listAudit(store, deps, ORG_A, { cursor: 'not-a-cursor' }))).toBe('invalid_request');
    expect(await codeOf(listAudit(store, deps, ORG_A, { cursor: Buffer.from('-1').toString('base64url') }))).toBe('invalid_request');
    expect(await codeOf(listAudit(store, deps, ORG_A, { from: new Date('nonsense') }))).toBe('invalid_request');
  });
});

describe('CSV export', () => {
  test('is RFC 4180 with a header, every field quoted, quotes doubled and formulas neutralized', async () => {
    await append({ target: { type: 'api_key', id: '=HYPERLINK("http://evil.example","x")' }, details: { note: 'said "hi",\r\nthen left' } });
    await append({ actor: { type: 'user', id: '@SUM(A1)' }, target: { type: 'member', id: '+1' } });
    await append({ actor: { type: 'system', id: null }, target: { type: 'member', id: '-2' } });

    const csv = await auditCsv(store, deps, ORG_A);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')[0]).toBe('"id","seq","occurredAt","actorType","actorId","action","targetType","targetId","details"');
    expect(csv).toContain('"\'=HYPERLINK(""http://evil.example"",""x"")"');

    const [header, ...records] = parseCsv(csv);
    expect(header).toHaveLength(9);
    expect(records.map((r) => r[1])).toEqual(['3', '2', '1']);
    expect(records.map((r) => r[7])).toEqual(["'-2", "'+1", '\'=HYPERLINK("http://evil.example","x")']);
    expect(records[1]?.[4]).toBe("'@SUM(A1)");
    expect(records[2]?.[4]).toBe('user-alice');
    expect(records[0]?.[4]).toBe('');
    expect(JSON.parse(records[2]?.[8] ?? '')).toEqual({ note: 'said "hi",\r\nthen left' });
  });

  test('exports every matching event, across pages, and honours the filters', async () => {
    await appendMany(201);
    await append({ action: 'api_key.revoked' });
    expect(parseCsv(await auditCsv(store, deps, ORG_A))).toHaveLength(1 + 202);
    const revoked = parseCsv(await auditCsv(store, deps, ORG_A, { action: 'api_key.revoked' }));
    expect(revoked.map((r) => r[1])).toEqual(['seq', '202']);
  });
});

describe('verification', () => {
  async function seedThreeChains(): Promise<void> {
    await appendMany(5, { chain: ORG_A, details: { n: 1 } });
    await appendMany(3, { chain: ORG_B });
    await appendMany(2, { chain: requesterChain('user-alice') });
  }

  test('an intact log passes, reading it in pages smaller than a chain', async () => {
    await seedThreeChains();
    expect(await verifyAudit(store, deps, undefined, { pageSize: 2 })).toEqual({ chainsChecked: 3, eventsChecked: 10, problems: [] });
    expect(await verifyAudit(store, deps, ORG_B)).toEqual({ chainsChecked: 1, eventsChecked: 3, problems: [] });
    expect(await verifyAudit(store, deps, orgChain('nobody'))).toEqual({ chainsChecked: 0, eventsChecked: 0, problems: [] });
  });

  test('an edited action is a mac_mismatch at that event', async () => {
    await seedThreeChains();
    await tamper("UPDATE audit_events SET action = 'auth.login.succeeded' WHERE chain = @chain AND seq = 3", { chain: p.text(ORG_A) });
    expect((await verifyAudit(store, deps, undefined, { pageSize: 2 })).problems).toEqual([{ chain: ORG_A, seq: 3, problem: 'mac_mismatch' }]);
  });

  test('an edited details blob is a mac_mismatch at that event', async () => {
    await seedThreeChains();
    const [row] = await store.query<{ details: Buffer }>(
      sql('SELECT details FROM audit_events WHERE chain = @chain AND seq = 2', { chain: p.text(ORG_A) }),
    );
    const edited = Buffer.from(row?.details ?? Buffer.alloc(0));
    edited[edited.length - 1] = (edited[edited.length - 1] ?? 0) ^ 1;
    await tamper('UPDATE audit_events SET details = @details WHERE chain = @chain AND seq = 2', { details: p.blob(edited), chain: p.text(ORG_A) });
    expect((await verifyAudit(store, deps)).problems).toEqual([{ chain: ORG_A, seq: 2, problem: 'mac_mismatch' }]);
  });

  test.each([
    ['id', p.text('another-id')],
    ['occurred_at', p.bigint(Date.UTC(2020, 0, 1))],
    ['actor_type', p.text('system')],
    ['actor_id', p.text('user-mallory')],
    ['target_type', p.text('member')],
    ['target_id', p.text('key-2')],
    ['details', p.blob(null)],
    ['prev_mac', p.text('f'.repeat(64))],
    ['mac', p.text('f'.repeat(64))],
  ])('an edited %s column is a mac_mismatch at that event', async (column, value) => {
    await seedThreeChains();
    await tamper(`UPDATE audit_events SET ${column} = @value WHERE chain = @chain AND seq = 3`, { value, chain: p.text(ORG_A) });
    expect((await verifyAudit(store, deps)).problems).toEqual([{ chain: ORG_A, seq: 3, problem: 'mac_mismatch' }]);
  });

  test('a deleted event in the middle is a missing_event at its seq', async () => {
    await seedThreeChains();
    await tamper('DELETE FROM audit_events WHERE chain = @chain AND seq = 3', { chain: p.text(ORG_A) });
    expect(await verifyAudit(store, deps, undefined, { pageSize: 2 })).toEqual({
      chainsChecked: 3,
      eventsChecked: 9,
      problems: [{ chain: ORG_A, seq: 3, problem: 'missing_event' }],
    });
  });

  test('deleted events renumbered to close the gap break every MAC from there on', async () => {
    await seedThreeChains();
    await tamper('DELETE FROM audit_events WHERE chain = @chain AND seq = 4', { chain: p.text(ORG_A) });
    await tamper('UPDATE audit_events SET seq = 4 WHERE chain = @chain AND seq = 5', { chain: p.text(ORG_A) });
    await tamper('UPDATE audit_chains SET last_seq = 4 WHERE chain = @chain', { chain: p.text(ORG_A) });
    expect((await verifyAudit(store, deps)).problems).toEqual(
      expect.arrayContaining([
        { chain: ORG_A, seq: 4, problem: 'mac_mismatch' },
        { chain: ORG_A, seq: 4, problem: 'chain_head_mismatch' },
      ]),
    );
  });

  test('a deleted last event is a missing_event past the last one left', async () => {
    await seedThreeChains();
    await tamper('DELETE FROM audit_events WHERE chain = @chain AND seq = 5', { chain: p.text(ORG_A) });
    expect((await verifyAudit(store, deps)).problems).toEqual([{ chain: ORG_A, seq: 5, problem: 'missing_event' }]);
  });

  test('a deleted last event with the head rewound to the event before is a chain_head_mismatch, and the chain refuses new events', async () => {
    await seedThreeChains();
    const [fourth] = await store.query<{ mac: string }>(sql('SELECT mac FROM audit_events WHERE chain = @chain AND seq = 4', { chain: p.text(ORG_A) }));
    await tamper('DELETE FROM audit_events WHERE chain = @chain AND seq = 5', { chain: p.text(ORG_A) });
    await tamper('UPDATE audit_chains SET last_seq = 4, last_mac = @mac WHERE chain = @chain', { mac: p.text(fourth?.mac ?? ''), chain: p.text(ORG_A) });

    expect((await verifyAudit(store, deps)).problems).toEqual([{ chain: ORG_A, seq: 4, problem: 'chain_head_mismatch' }]);
    // Appending on top would re-sign the rewound head and erase the evidence.
    expect(await codeOf(append({ chain: ORG_A }))).toBe('audit_chain_tampered');
    expect(await append({ chain: ORG_B })).toMatchObject({ seq: 4 });
  });

  test('a deleted chain head is a chain_head_mismatch', async () => {
    await seedThreeChains();
    await tamper('DELETE FROM audit_chains WHERE chain = @chain', { chain: p.text(ORG_B) });
    expect(await verifyAudit(store, deps)).toEqual({
      chainsChecked: 3,
      eventsChecked: 10,
      problems: [{ chain: ORG_B, seq: 3, problem: 'chain_head_mismatch' }],
    });
  });

  test('an event moved to another chain is missing from the first and a mac_mismatch in the second', async () => {
    await seedThreeChains();
    const requester = requesterChain('user-alice');
    await tamper('UPDATE audit_events SET chain = @to WHERE chain = @from AND seq = 4', { to: p.text(requester), from: p.text(ORG_A) });
    const { problems } = await verifyAudit(store, deps);
    expect(problems).toEqual(
      expect.arrayContaining([
        { chain: ORG_A, seq: 4, problem: 'missing_event' },
        { chain: requester, seq: 4, problem: 'mac_mismatch' },
      ]),
    );
  });

  test('an event moved into a chain of its own is still found', async () => {
    await seedThreeChains();
    await tamper("UPDATE audit_events SET chain = 'org:hidden' WHERE chain = @from AND seq = 2", { from: p.text(ORG_A) });
    const { chainsChecked, problems } = await verifyAudit(store, deps, undefined, { pageSize: 1 });
    expect(chainsChecked).toBe(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        { chain: ORG_A, seq: 2, problem: 'missing_event' },
        { chain: 'org:hidden', seq: 1, problem: 'missing_event' },
        { chain: 'org:hidden', seq: 2, problem: 'mac_mismatch' },
        { chain: 'org:hidden', seq: 2, problem: 'chain_head_mismatch' },
      ]),
    );
  });

  test('a MAC computed without the audit key does not pass: another key hierarchy sees every event as edited', async () => {
    await appendMany(2);
    const otherDir = makeTempDir('connectid-audit-other-keys-');
    const otherStore = createSqliteStore({ file: ':memory:' });
    try {
      const other = new KeyHierarchy({
        store: otherStore,
        keys: createLocalKeyProvider({ directory: path.join(otherDir, 'keys'), modulusLength: 2048 }),
        clock,
        random: cryptoRandom,
        kekCacheTtlInSeconds: 300,
      });
      await runMigrations(otherStore, sqliteDialect, migrations);
      const { problems } = await verifyAudit(store, { keyHierarchy: other });
      expect(problems.map((problem) => problem.problem)).toEqual(['mac_mismatch', 'mac_mismatch', 'chain_head_mismatch']);
    } finally {
      await otherStore.close();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
