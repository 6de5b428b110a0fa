import { HttpRequest } from '@azure/functions';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS, runMigrations } from '../../../lib/adapters/sql/migrations';
import { UniqueViolationError } from '../../../lib/adapters/sql/params';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { ColumnCipher } from '../../../lib/crypto/columnCipher';
import { findStoredResponse, idempotencyOf, storeResponse, type Idempotency } from '../../../lib/domain/deliveries/idempotency';
import { ApiError } from '../../../lib/errors';
import type { Principal } from '../../../lib/http/route';
import type { Store } from '../../../lib/ports';
import { FakeClock } from '../../helpers/testApp';

const mia: Principal = { subject: 'user-mia', role: 'org_member', organizationId: 'org-acme', apiKeyId: null, sessionId: 's', mfaAt: null, amr: ['pwd'] };
const otto: Principal = { ...mia, subject: 'user-otto' };
const cipher = new ColumnCipher(Buffer.alloc(32, 7));

function request(headers: Record<string, string>, method = 'PUT'): HttpRequest {
  return new HttpRequest({ method, url: 'http://localhost/v1/deliveries/d1/items/a.txt', headers });
}

const keyed = (key: string, parts: string[] = ['10', 'text/plain'], who = mia) =>
  idempotencyOf(request({ 'Idempotency-Key': key }), who, 'putDeliveryItem', '/v1/deliveries/d1/items/a.txt', parts)!;

describe('the Idempotency-Key header', () => {
  test('absent: no idempotency', () => {
    expect(idempotencyOf(request({}), mia, 'op', '/p', [])).toBeNull();
  });

  test('1 to 200 printable ASCII characters, plain or as a structured-field string', () => {
    expect(keyed('8e03978e-40d5-43e8-bc93-6894a57f9324').key).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(keyed('"quoted key"').key).toBe('quoted key');
    for (const bad of ['k'.repeat(201), 'ümlaut', '""']) {
      expect(() => keyed(bad)).toThrow(ApiError);
    }
  });

  test("scoped to the caller and the operation; the hash covers method, path and the request's parts", () => {
    expect(keyed('k').scope).toBe('user-mia:putDeliveryItem');
    expect(keyed('k', ['10', 'text/plain'], otto).scope).toBe('user-otto:putDeliveryItem');
    expect(keyed('k').requestHash).toBe(keyed('k').requestHash);
    expect(keyed('k', ['11', 'text/plain']).requestHash).not.toBe(keyed('k').requestHash);
    // Length prefixes: moving a boundary between parts changes the hash.
    expect(keyed('k', ['1', '0text/plain']).requestHash).not.toBe(keyed('k').requestHash);
    const post = idempotencyOf(request({ 'Idempotency-Key': 'k' }, 'POST'), mia, 'putDeliveryItem', '/v1/deliveries/d1/items/a.txt', ['10', 'text/plain'])!;
    expect(post.requestHash).not.toBe(keyed('k').requestHash);
  });
});

describe('stored responses', () => {
  let store: Store;
  let clock: FakeClock;
  beforeEach(async () => {
    store = createSqliteStore({ file: ':memory:' });
    await runMigrations(store, sqliteDialect, MIGRATIONS.filter((m) => m.version === 1));
    clock = new FakeClock();
  });
  afterEach(async () => store.close());

  const remember = (idempotency: Idempotency, body: unknown) => store.transaction((tx) => storeResponse(tx, cipher, clock, idempotency, { status: 201, body }));

  test('a remembered answer is replayed for the same request, encrypted at rest', async () => {
    await remember(keyed('k'), { id: 'item-1', name: 'secret-name.pdf' });
    expect(await findStoredResponse(store, cipher, clock, keyed('k'))).toEqual({ status: 201, body: { id: 'item-1', name: 'secret-name.pdf' } });
    const [row] = await store.query<{ response: Buffer }>({ text: 'SELECT response FROM idempotency_keys', params: {} });
    expect(Buffer.from(row!.response).includes(Buffer.from('secret-name'))).toBe(false);
  });

  test('the same key for another request is 409; another caller never sees it', async () => {
    await remember(keyed('k'), { id: 'item-1' });
    await expect(findStoredResponse(store, cipher, clock, keyed('k', ['99', 'text/plain']))).rejects.toMatchObject({ status: 409, code: 'conflict' });
    expect(await findStoredResponse(store, cipher, clock, keyed('k', ['10', 'text/plain'], otto))).toBeNull();
  });

  test('a second remember of a live key fails (a concurrent request won); after 24 hours the key is free again', async () => {
    await remember(keyed('k'), { id: 'item-1' });
    await expect(remember(keyed('k'), { id: 'item-2' })).rejects.toBeInstanceOf(UniqueViolationError);
    clock.advance(24 * 3600 * 1000);
    expect(await findStoredResponse(store, cipher, clock, keyed('k'))).toBeNull();
    await remember(keyed('k', ['5', 'text/csv']), { id: 'item-3' });
    expect((await findStoredResponse(store, cipher, clock, keyed('k', ['5', 'text/csv'])))?.body).toEqual({ id: 'item-3' });
  });
});
