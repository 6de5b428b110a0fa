/**
 * Deliveries over HTTP against the dev host, Azurite and SQLite: the whole core flow end to end, then everyone who
 * must not get in, uploads that fail in every way, Idempotency-Key, expiry, and the Key Vault economy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { definition as assignRequest } from '../../functions/assignRequest';
import { definition as createRequest } from '../../functions/createRequest';
import { definition as withdrawConsentRoute } from '../../functions/withdrawConsent';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createLocalKeyProvider } from '../../lib/adapters/keys/localKeyProvider';
import { countingKeyProvider } from '../../lib/adapters/keys/countingKeyProvider';
import type { OutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import { p, sql } from '../../lib/adapters/sql/params';
import { createAzureBlobStore } from '../../lib/adapters/blob/azureBlobStore';
import { DeliveryDraftSchema, DeliveryInboxSchema, DeliveryItemSchema, DeliveryReleasedSchema, DeliverySchema } from '../../lib/domain/deliveries/schemas';
import { containerOf } from '../../lib/domain/organizations/organizations';
import type { BlobStore } from '../../lib/ports';
import {
  DAY_IN_MS,
  buildWorld,
  deliveryRoutes,
  download,
  eventually,
  insertRequest,
  itemPath,
  putItem,
  rawRequest,
  withdrawConsent,
  type Caller,
  type World,
} from '../helpers/deliveries';
import { api, login, tokenRequest } from '../helpers/identity';
import { azuriteConnectionString, makeTempDir, startTestApp, type TestApp } from '../helpers/testApp';

const MARKER = 'PLAINTEXT-MARKER-passport-X1234567-do-not-store';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A blob store that, when armed, commits a partial blob and then fails, like storage dying mid-upload. */
function flakyBlobStore(inner: BlobStore) {
  let failAfterBytes: number | null = null;
  const store: BlobStore = {
    ...inner,
    async upload(container, name, body, options) {
      if (failAfterBytes === null) return inner.upload(container, name, body, options);
      const limit = failAfterBytes;
      failAfterBytes = null;
      const seen: Buffer[] = [];
      let total = 0;
      for await (const chunk of body) {
        seen.push(chunk as Buffer);
        total += (chunk as Buffer).length;
        if (total >= limit) break;
      }
      await inner.upload(container, name, Readable.from([Buffer.concat(seen)]));
      throw new Error('storage failed half-way');
    },
  };
  return { store, failNextUploadAfter: (bytes: number) => (failAfterBytes = bytes) };
}

const counting = countingKeyProvider(createLocalKeyProvider({ directory: path.join(makeTempDir('connectid-keys-'), 'keys'), modulusLength: 2048 }));
const flaky = flakyBlobStore(createAzureBlobStore({ connectionString: azuriteConnectionString() }));

let app: TestApp;
let world: World;
beforeAll(async () => {
  app = await startTestApp({
    extraRoutes: [...deliveryRoutes, createRequest, assignRequest, withdrawConsentRoute],
    overrides: { keys: counting.provider, blobs: flaky.store },
  });
  world = await buildWorld(app);
});
afterAll(async () => app.close());

async function refreshAll(): Promise<void> {
  for (const who of [world.mia, world.otto, world.gina, world.ada, world.bob, world.service, world.acme.admin, world.globex.admin]) await who.refresh();
}

async function newRequest(options: { requester?: Caller; assignee?: Caller | null; asService?: boolean; organizationId?: string } = {}) {
  const assignee = options.assignee === undefined ? world.mia : options.assignee;
  return insertRequest(app, {
    organizationId: options.organizationId ?? world.acme.organizationId,
    requesterId: (options.requester ?? world.ada).id,
    assignee: assignee === null ? null : { type: options.asService ? 'service' : 'member', id: assignee.id },
  });
}

async function newDraft(who: Caller = world.mia, requestId?: string): Promise<string> {
  const created = await api(app, 'POST', `/v1/requests/${requestId ?? (await newRequest({ assignee: who }))}/deliveries`, { token: who.token, body: { title: 'Your data' } });
  expect(created.status).toBe(201);
  return created.body.id as string;
}

async function releasedDelivery(bytes = Buffer.from(`${MARKER}\n`), name = 'data.txt') {
  const deliveryId = await newDraft();
  const put = await putItem(app, world.mia, deliveryId, name, bytes, { contentType: 'text/plain; charset=utf-8' });
  expect(put.status).toBe(201);
  expect((await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: world.mia.token })).status).toBe(200);
  return { deliveryId, itemId: put.body.id as string };
}

async function blobNames(organizationId = world.acme.organizationId): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of app.services.blobs.list(containerOf(organizationId))) names.push(blob.name);
  return names.sort();
}

async function count(table: 'pending_uploads' | 'delivery_items' | 'deliveries', where = '1 = 1', params = {}): Promise<number> {
  const [row] = await app.services.store.query<{ n: number }>(sql(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params));
  return Number(row!.n);
}

async function itemBlobNames(): Promise<string[]> {
  const rows = await app.services.store.query<{ blob_name: string }>(
    sql('SELECT blob_name FROM delivery_items WHERE organization_id = @org', { org: p.text(world.acme.organizationId) }),
  );
  return rows.map((row) => row.blob_name).sort();
}

describe('the core flow, end to end', () => {
  test('a member delivers a 5 MB file and a validated JSON item; the requester reads them whole and in part until the 32 days end', async () => {
    const { mia, ada } = world;
    const requestId = await newRequest();
    const file = Buffer.concat([randomBytes(2_500_000), Buffer.from(MARKER), randomBytes(2_500_000 - MARKER.length)]);
    const jsonItem = Buffer.from(JSON.stringify({ name: 'Ada Lovelace', emails: ['ada@example.org'], phones: ['+44 20 7946 0958'] }));
    const fileName = 'Kontoauszug 2026 – Übersicht «final».bin';

    const created = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: mia.token, body: { title: 'Your account data' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), requestId, status: 'draft' });
    const deliveryId = created.body.id as string;

    const putFile = await putItem(app, mia, deliveryId, fileName, file);
    expect(putFile.status).toBe(201);
    expect(putFile.body).toEqual({ id: expect.any(String), name: fileName, size: file.length, contentType: 'application/octet-stream', sha256: sha256(file) });
    const putJson = await putItem(app, mia, deliveryId, 'contact.json', jsonItem, { contentType: 'application/json', category: 'contact' });
    expect(putJson.status).toBe(201);
    expect(putJson.body.sha256).toBe(sha256(jsonItem));

    // The requester sees nothing of a draft.
    expect((await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: ada.token })).status).toBe(404);
    expect((await api(app, 'GET', '/v1/deliveries', { token: ada.token })).body.items.map((d: { id: string }) => d.id)).not.toContain(deliveryId);

    const submitted = await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: mia.token });
    expect(submitted.status).toBe(200);
    const releasedAt = app.clock.now().getTime();
    expect(submitted.body).toEqual({ id: deliveryId, status: 'released', releasedAt: new Date(releasedAt).toISOString(), expiresAt: new Date(releasedAt + 32 * DAY_IN_MS).toISOString() });

    const inbox = await api(app, 'GET', '/v1/deliveries', { token: ada.token });
    expect(inbox.status).toBe(200);
    expect(inbox.body.items.find((d: { id: string }) => d.id === deliveryId)).toEqual({
      id: deliveryId,
      requestId,
      organizationId: world.acme.organizationId,
      organizationName: 'Acme Insurance',
      title: 'Your account data',
      status: 'released',
      releasedAt: submitted.body.releasedAt,
      expiresAt: submitted.body.expiresAt,
      expired: false,
      daysLeft: 32,
    });

    const metadata = await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: ada.token });
    expect(metadata.status).toBe(200);
    // Every answer matches its published schema (strict: no field the schema does not name).
    DeliveryDraftSchema.parse(created.body);
    DeliveryItemSchema.parse(putFile.body);
    DeliveryReleasedSchema.parse(submitted.body);
    DeliveryInboxSchema.parse(inbox.body);
    DeliverySchema.parse(metadata.body);
    expect(metadata.body).toMatchObject({ id: deliveryId, requestId, status: 'released', releasedAt: submitted.body.releasedAt, expiresAt: submitted.body.expiresAt, expired: false });
    expect(metadata.body.items).toHaveLength(2);
    expect(metadata.body.items).toEqual(expect.arrayContaining([putFile.body, putJson.body]));
    expect(metadata.body.downloaded).toBeUndefined();

    const whole = await download(app, ada, deliveryId, putFile.body.id);
    expect(whole.status).toBe(200);
    expect(sha256(whole.bytes)).toBe(sha256(file));
    expect(whole.headers.get('content-type')).toBe('application/octet-stream');
    expect(whole.headers.get('content-length')).toBe(String(file.length));
    expect(whole.headers.get('content-disposition')).toBe(
      `attachment; filename="Kontoauszug 2026 _ _bersicht _final_.bin"; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    );
    expect(whole.headers.get('repr-digest')).toBe(`sha-256=:${createHash('sha256').update(file).digest('base64')}:`);
    expect(whole.headers.get('etag')).toBe(`"${sha256(file)}"`);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('cache-control')).toBe('no-store');
    expect(whole.headers.get('x-content-type-options')).toBe('nosniff');

    const json = await download(app, ada, deliveryId, putJson.body.id);
    expect(json.bytes.equals(jsonItem)).toBe(true);
    expect(json.headers.get('content-type')).toBe('application/json');

    // Across the boundary between the first and second 64 KiB segments, and a few more.
    const partial = await download(app, ada, deliveryId, putFile.body.id, { Range: 'bytes=60000-140000' });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 60000-140000/${file.length}`);
    expect(partial.headers.get('content-length')).toBe('80001');
    expect(partial.bytes.equals(file.subarray(60000, 140001))).toBe(true);
    const tail = await download(app, ada, deliveryId, putFile.body.id, { Range: 'bytes=-1000' });
    expect(tail.status).toBe(206);
    expect(tail.bytes.equals(file.subarray(file.length - 1000))).toBe(true);
    const rest = await download(app, ada, deliveryId, putFile.body.id, { Range: 'bytes=4999990-' });
    expect(rest.headers.get('content-range')).toBe(`bytes 4999990-${file.length - 1}/${file.length}`);
    expect(rest.bytes.equals(file.subarray(4999990))).toBe(true);

    // The stored bytes are ciphertext: not the file, no marker.
    const [row] = await app.services.store.query<{ blob_name: string }>(sql('SELECT blob_name FROM delivery_items WHERE id = @id', { id: p.text(putFile.body.id) }));
    const chunks: Buffer[] = [];
    for await (const chunk of (await app.services.blobs.download(containerOf(world.acme.organizationId), row!.blob_name))!) chunks.push(chunk as Buffer);
    const stored = Buffer.concat(chunks);
    expect(stored.length).toBeGreaterThan(file.length);
    expect(stored.includes(file.subarray(0, 4096))).toBe(false);
    expect(stored.includes(Buffer.from(MARKER))).toBe(false);

    // The mail says who delivered, for how long, and where: no item names, no title, no purpose.
    const mails = (await (app.services.mailer as OutboxMailer).list()).filter((m) => m.to === ada.email && m.subject === 'You have a new delivery on Connectid');
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.text).toContain('Acme Insurance');
    expect(mail.text).toContain('32 days');
    expect(mail.text).toContain(`${app.services.config.publicBaseUrl}/portal/#/deliveries/${deliveryId}`);
    for (const secret of [fileName, 'contact.json', 'Your account data', 'PURPOSE-MARKER']) {
      expect(mail.text).not.toContain(secret);
      expect(mail.html).not.toContain(secret);
    }

    // Access ends exactly at expiresAt: a millisecond before, the item reads; from then on, 410.
    const expiresAt = new Date(submitted.body.expiresAt).getTime();
    app.clock.set(new Date(expiresAt - 60_000));
    await refreshAll(); // signing in may move the clock within its 30-second TOTP step, so position it after
    app.clock.set(new Date(expiresAt - 1));
    expect((await download(app, ada, deliveryId, putJson.body.id)).status).toBe(200);
    app.clock.set(new Date(expiresAt));
    const gone = await download(app, ada, deliveryId, putFile.body.id);
    expect(gone.status).toBe(410);
    expect(gone.json().code).toBe('gone');
    expect((await download(app, ada, deliveryId, putFile.body.id, { Range: 'bytes=0-10' })).status).toBe(410);
    const expired = await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: ada.token });
    expect(expired.body).toMatchObject({ status: 'released', expired: true, daysLeft: 0, items: [] });
    expect((await api(app, 'GET', '/v1/deliveries', { token: ada.token })).body.items.find((d: { id: string }) => d.id === deliveryId)).toMatchObject({ expired: true, daysLeft: 0 });
  });

  test('through the requests API: opened by the requester, assigned by an admin, delivered by the member; a withdrawal stops further deliveries', async () => {
    const { mia, ada, acme } = world;
    const opened = await api(app, 'POST', '/v1/requests', {
      token: ada.token,
      body: { organizationId: acme.organizationId, purpose: 'My contact data, please', categories: ['contact'] },
    });
    expect(opened.status).toBe(201);
    const requestId = opened.body.id as string;
    expect((await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: mia.token, body: { title: 'Too early' } })).status).toBe(404);
    expect((await api(app, 'POST', `/v1/requests/${requestId}/assign`, { token: acme.admin.token, body: { assigneeId: mia.id } })).status).toBe(200);

    const deliveryId = await newDraft(mia, requestId);
    const contact = Buffer.from(JSON.stringify({ name: 'Ada Lovelace' }));
    expect((await putItem(app, mia, deliveryId, 'contact.json', contact, { contentType: 'application/json', category: 'contact' })).status).toBe(201);
    expect((await putItem(app, mia, deliveryId, 'money.json', Buffer.from('{}'), { contentType: 'application/json', category: 'financial' })).status).toBe(400);
    expect((await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: mia.token })).status).toBe(200);

    expect((await api(app, 'POST', `/v1/requests/${requestId}/withdraw`, { token: ada.token })).status).toBe(200);
    expect((await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: mia.token, body: { title: 'Too late' } })).status).toBe(409);
    // What was delivered before the withdrawal stays the requester's to read.
    const metadata = await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: ada.token });
    expect((await download(app, ada, deliveryId, metadata.body.items[0].id)).bytes.equals(contact)).toBe(true);
  });

  test('a service principal assigned to a request delivers the same way', async () => {
    const requestId = await newRequest({ assignee: world.service, asService: true });
    const created = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.service.token, body: { title: 'Export' } });
    expect(created.status).toBe(201);
    expect((await putItem(app, world.service, created.body.id, 'export.csv', Buffer.from('a,b\n1,2\n'), { contentType: 'text/csv' })).status).toBe(201);
    expect((await api(app, 'POST', `/v1/deliveries/${created.body.id}/submit`, { token: world.service.token })).status).toBe(200);
    const metadata = await api(app, 'GET', `/v1/deliveries/${created.body.id}`, { token: world.ada.token });
    expect(metadata.body.items).toEqual([expect.objectContaining({ name: 'export.csv', contentType: 'text/csv', size: 8 })]);
  });

  test('the organization side sees its draft and, after release, only whether the requester downloaded', async () => {
    const deliveryId = await newDraft();
    await putItem(app, world.mia, deliveryId, 'a.txt', Buffer.from('a'));
    const draft = await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: world.mia.token });
    expect(draft.body).toMatchObject({ status: 'draft', releasedAt: null, expiresAt: null, expired: false, daysLeft: null, downloaded: false });
    await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: world.mia.token });
    const itemId = draft.body.items[0].id as string;
    expect((await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: world.mia.token })).body.downloaded).toBe(false);

    await download(app, world.ada, deliveryId, itemId);
    expect((await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: world.mia.token })).body.downloaded).toBe(true);

    // The download is in the requester's chain, without the item's name; the organization's chain has none.
    const events = await app.services.store.query<{ chain: string; action: string; details: Buffer | null }>(
      sql(`SELECT chain, action, details FROM audit_events WHERE target_id = @id`, { id: p.text(deliveryId) }),
    );
    const downloads = events.filter((event) => event.action === 'delivery.item.downloaded');
    expect(downloads.map((event) => event.chain)).toEqual([`requester:${world.ada.id}`]);
    const cipher = await app.services.keyHierarchy.columnCipher();
    expect(cipher.decrypt(downloads[0]!.details!, 'audit_events.details')).not.toContain('a.txt');
    expect(events.filter((event) => event.action === 'delivery.released').map((event) => event.chain).sort()).toEqual(
      [`org:${world.acme.organizationId}`, `requester:${world.ada.id}`].sort(),
    );
  });

  test('the inbox pages with a cursor, newest first', async () => {
    const bob = world.bob;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const deliveryId = await newDraft(world.mia, await newRequest({ requester: bob }));
      await putItem(app, world.mia, deliveryId, 'x', Buffer.from('x'));
      await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: world.mia.token });
      ids.unshift(deliveryId);
      app.clock.advance(1000);
    }
    const first = await api(app, 'GET', '/v1/deliveries?limit=2', { token: bob.token });
    expect(first.body.items.map((d: { id: string }) => d.id)).toEqual(ids.slice(0, 2));
    const second = await api(app, 'GET', `/v1/deliveries?limit=2&cursor=${first.body.nextCursor}`, { token: bob.token });
    expect(second.body.items.map((d: { id: string }) => d.id)).toEqual(ids.slice(2));
    expect(second.body.nextCursor).toBeNull();
    expect((await api(app, 'GET', '/v1/deliveries?cursor=bm90LWEtY3Vyc29y', { token: bob.token })).status).toBe(400);
  });

  test('a purged delivery shows as purged with no items, and its items are gone (410)', async () => {
    const { deliveryId, itemId } = await releasedDelivery();
    await app.services.store.execute(sql(`UPDATE deliveries SET status = 'purged' WHERE id = @id`, { id: p.text(deliveryId) }));
    expect((await download(app, world.ada, deliveryId, itemId)).status).toBe(410);
    expect((await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: world.ada.token })).body).toMatchObject({ status: 'purged', expired: true, items: [] });
  });
});

describe('ranges and integrity', () => {
  let deliveryId: string;
  let itemId: string;
  const bytes = randomBytes(200_000);
  beforeAll(async () => {
    ({ deliveryId, itemId } = await releasedDelivery(bytes, 'range.bin'));
  });

  test('an unsatisfiable range is 416 with the size; several ranges, or a stale If-Range, get the whole item', async () => {
    const beyond = await download(app, world.ada, deliveryId, itemId, { Range: 'bytes=200000-' });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */200000');
    expect(beyond.json().code).toBe('range_not_satisfiable');
    const several = await download(app, world.ada, deliveryId, itemId, { Range: 'bytes=0-1,5-6' });
    expect(several.status).toBe(200);
    expect(several.bytes.equals(bytes)).toBe(true);
    expect((await download(app, world.ada, deliveryId, itemId, { Range: 'bytes=0-1', 'If-Range': '"other"' })).status).toBe(200);
    const matching = await download(app, world.ada, deliveryId, itemId, { Range: 'bytes=0-1', 'If-Range': `"${sha256(bytes)}"` });
    expect(matching.status).toBe(206);
    expect(matching.bytes.equals(bytes.subarray(0, 2))).toBe(true);
    const clipped = await download(app, world.ada, deliveryId, itemId, { Range: 'bytes=199990-999999' });
    expect(clipped.bytes.equals(bytes.subarray(199990))).toBe(true);
  });

  test('HEAD answers what GET would, without the body, without a step-up and without an audit entry', async () => {
    const url = `${app.url}/v1/deliveries/${deliveryId}/items/${itemId}`;
    const head = (token: string, headers: Record<string, string> = {}) => fetch(url, { method: 'HEAD', headers: { Authorization: `Bearer ${token}`, ...headers } });
    const downloads = async () =>
      (await app.services.store.query<{ n: number }>(sql("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'delivery.item.downloaded'")))[0]!.n;

    const got = await download(app, world.ada, deliveryId, itemId);
    const before = Number(await downloads());
    const whole = await head(world.ada.token);
    expect(whole.status).toBe(200);
    for (const name of ['content-type', 'content-disposition', 'repr-digest', 'etag', 'accept-ranges', 'content-length', 'cache-control']) {
      expect([name, whole.headers.get(name)]).toEqual([name, got.headers.get(name)]);
    }
    expect(whole.headers.get('content-length')).toBe('200000');
    expect((await whole.arrayBuffer()).byteLength).toBe(0);
    const partial = await head(world.ada.token, { Range: 'bytes=10-19' });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 10-19/200000');
    expect(partial.headers.get('content-length')).toBe('10');
    expect((await head(world.ada.token, { Range: 'bytes=200000-' })).status).toBe(416);
    expect(Number(await downloads())).toBe(before);

    // Not another requester's, not the organization's, not without a token.
    expect((await head(world.bob.token)).status).toBe(404);
    expect((await head(world.mia.token)).status).toBe(403);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(401);

    // An MFA older than 15 minutes: GET asks for a step-up, HEAD (no content) still answers.
    const fresh = await login(app, world.ada.email, { scope: 'requester' });
    app.clock.advance(16 * 60_000);
    const stale = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: fresh.refresh_token! });
    expect(stale.status).toBe(200);
    expect((await download(app, { ...world.ada, token: stale.body.access_token }, deliveryId, itemId)).status).toBe(401);
    expect((await head(stale.body.access_token)).status).toBe(200);
    await refreshAll();
  });

  test('an empty item is delivered and read as empty; no range of it is satisfiable', async () => {
    const { deliveryId: emptyId, itemId: emptyItem } = await releasedDelivery(Buffer.alloc(0), 'empty.txt');
    const whole = await download(app, world.ada, emptyId, emptyItem);
    expect(whole.status).toBe(200);
    expect(whole.bytes.length).toBe(0);
    expect(whole.headers.get('etag')).toBe(`"${sha256(Buffer.alloc(0))}"`);
    expect((await download(app, world.ada, emptyId, emptyItem, { Range: 'bytes=0-' })).status).toBe(416);
  });

  test('a tampered blob breaks the connection instead of answering a truncated 200', async () => {
    const { deliveryId: tamperedId, itemId: tamperedItem } = await releasedDelivery(randomBytes(150_000), 'tampered.bin');
    const [row] = await app.services.store.query<{ blob_name: string }>(sql('SELECT blob_name FROM delivery_items WHERE id = @id', { id: p.text(tamperedItem) }));
    const container = containerOf(world.acme.organizationId);
    const chunks: Buffer[] = [];
    for await (const chunk of (await app.services.blobs.download(container, row!.blob_name))!) chunks.push(chunk as Buffer);
    const stored = Buffer.concat(chunks);
    stored.writeUInt8(stored.readUInt8(100_000) ^ 1, 100_000); // inside the second segment: the first one goes out before the failure
    await app.services.blobs.upload(container, row!.blob_name, Readable.from([stored]));

    const response = await fetch(`${app.url}/v1/deliveries/${tamperedId}/items/${tamperedItem}`, { headers: { Authorization: `Bearer ${world.ada.token}` } });
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });
});

describe('who may not', () => {
  let deliveryId: string;
  let itemId: string;
  let draftId: string;
  beforeAll(async () => {
    ({ deliveryId, itemId } = await releasedDelivery());
    draftId = await newDraft();
  });

  test("another organization's member or admin, an unassigned member, another requester: 404 on the delivery and its items", async () => {
    for (const intruder of [world.gina, world.globex.admin, world.otto]) {
      for (const id of [deliveryId, draftId]) {
        expect((await api(app, 'GET', `/v1/deliveries/${id}`, { token: intruder.token })).status).toBe(404);
        expect((await putItem(app, intruder, id, 'evil.txt', Buffer.from('x'))).status).toBe(404);
        expect((await api(app, 'POST', `/v1/deliveries/${id}/submit`, { token: intruder.token })).status).toBe(404);
      }
    }
    const other = await api(app, 'GET', `/v1/deliveries/${deliveryId}`, { token: world.bob.token });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('not_found');
    expect((await download(app, world.bob, deliveryId, itemId)).status).toBe(404);
    // Organization callers may not download at all (route policy), not even their own delivery.
    expect((await download(app, world.mia, deliveryId, itemId)).status).toBe(403);
  });

  test('nobody but the assignee creates a delivery for a request', async () => {
    const requestId = await newRequest();
    const attempt = (who: Caller) => api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: who.token, body: { title: 'x' } });
    expect((await attempt(world.otto)).status).toBe(404);
    expect((await attempt(world.gina)).status).toBe(404);
    expect((await attempt(world.globex.admin)).status).toBe(404);
    expect((await attempt(world.service)).status).toBe(404);
    // An admin of the organization sees the request but is not its assignee.
    expect((await attempt(world.acme.admin)).status).toBe(409);
    expect((await attempt(world.ada)).status).toBe(403);
    expect((await api(app, 'POST', `/v1/requests/${await newRequest({ assignee: null })}/deliveries`, { token: world.mia.token, body: { title: 'x' } })).status).toBe(404);
  });

  test('the requester cannot put, submit, or see a draft', async () => {
    expect((await putItem(app, world.ada, draftId, 'x.txt', Buffer.from('x'))).status).toBe(403);
    expect((await api(app, 'POST', `/v1/deliveries/${draftId}/submit`, { token: world.ada.token })).status).toBe(403);
    expect((await api(app, 'GET', `/v1/deliveries/${draftId}`, { token: world.ada.token })).status).toBe(404);
  });

  test('withdrawn consent: no new delivery, no more items, no release', async () => {
    const requestId = await newRequest();
    const draft = await newDraft(world.mia, requestId);
    await putItem(app, world.mia, draft, 'a.txt', Buffer.from('a'));
    await withdrawConsent(app, requestId);
    const refused = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'x' } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('conflict');
    expect((await putItem(app, world.mia, draft, 'b.txt', Buffer.from('b'))).status).toBe(409);
    expect((await api(app, 'POST', `/v1/deliveries/${draft}/submit`, { token: world.mia.token })).status).toBe(409);
  });

  test('only a draft takes items and is submitted, and only with an item; names are unique per delivery', async () => {
    expect((await putItem(app, world.mia, deliveryId, 'late.txt', Buffer.from('x'))).status).toBe(409);
    expect((await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: world.mia.token })).status).toBe(409);
    const empty = await newDraft();
    expect((await api(app, 'POST', `/v1/deliveries/${empty}/submit`, { token: world.mia.token })).status).toBe(409);
    expect((await putItem(app, world.mia, empty, 'same.txt', Buffer.from('1'))).status).toBe(201);
    const duplicate = await putItem(app, world.mia, empty, 'same.txt', Buffer.from('2'));
    expect(duplicate.status).toBe(409);
    // NFC: a decomposed spelling is the same name.
    expect((await putItem(app, world.mia, empty, 'Caf\u00e9', Buffer.from('1'))).status).toBe(201);
    expect((await putItem(app, world.mia, empty, 'Cafe\u0301', Buffer.from('2'))).status).toBe(409);
  });

  test('names with path tricks, control characters, bidi overrides or device names are refused', async () => {
    for (const name of ['../x', 'a/b', 'CON', 'con.txt', 'LPT1', '\u202Eexe.pdf', 'a\u0000b', 'a\u0085b', ' lead', 'trail ', 'a\\b', 'x'.repeat(256)]) {
      const response = await putItem(app, world.mia, draftId, name, Buffer.from('x'));
      expect([name, response.status]).toEqual([name, 400]);
      expect(response.body.errors[0].path).toBe('name');
    }
    // "." and ".." never arrive as a name: URL parsers (the client's and the host's) resolve them away first.
    for (const name of ['.', '..']) expect((await putItem(app, world.mia, draftId, name, Buffer.from('x'))).status).not.toBe(201);
    expect(await count('delivery_items', 'delivery_id = @id', { id: p.text(draftId) })).toBe(0);
    expect((await putItem(app, world.mia, draftId, '報告書 (最終).pdf', Buffer.from('x'))).status).toBe(201);
  });

  test('a JSON item that does not match its category, or names a category the request does not cover, is refused with field paths', async () => {
    const put = (body: unknown, category: string, contentType = 'application/json') =>
      putItem(app, world.mia, draftId, `json-${randomBytes(4).toString('hex')}.json`, Buffer.from(JSON.stringify(body)), { contentType, category });
    const wrong = await put({ name: 'Ada', emails: ['not-an-email'] }, 'contact');
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors.map((e: { path: string }) => e.path)).toContain('emails.0');
    expect((await put({ name: 'Ada', shoeSize: 38 }, 'contact')).status).toBe(400);
    const uncovered = await put({ givenName: 'Ada' }, 'identity');
    expect(uncovered.status).toBe(400);
    expect(uncovered.body.errors[0].path).toBe('category');
    expect((await put({ name: 'Ada' }, 'contact', 'text/plain')).status).toBe(400);
    expect((await put({ anything: ['goes'] }, 'other', 'application/ld+json')).status).toBe(201);
    const notJson = await putItem(app, world.mia, draftId, 'broken.json', Buffer.from('{"name":'), { contentType: 'application/json', category: 'contact' });
    expect(notJson.status).toBe(400);
  });
});

describe('uploads that fail leave nothing behind', () => {
  test('without Content-Length (chunked): 411', async () => {
    const draft = await newDraft();
    const response = await rawRequest(app, { method: 'PUT', path: itemPath(draft, 'chunked.bin'), headers: { Authorization: `Bearer ${world.mia.token}`, 'Transfer-Encoding': 'chunked' } }, (request) => {
      request.write('some bytes');
      request.end();
    });
    expect(response).toMatchObject({ status: 411, body: { code: 'length_required' } });
  });

  test('a JSON item to validate over 10 MiB is 413 before its body is read', async () => {
    const draft = await newDraft();
    const response = await rawRequest(
      app,
      {
        method: 'PUT',
        path: `${itemPath(draft, 'big.json')}?category=contact`,
        headers: { Authorization: `Bearer ${world.mia.token}`, 'Content-Type': 'application/json', 'Content-Length': 10 * 1024 * 1024 + 1 },
      },
      (request) => request.flushHeaders(),
    );
    expect(response).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    expect(await count('pending_uploads')).toBe(0);
  });

  test('a client that stops half-way: no item, no blob, no pending row', async () => {
    const draft = await newDraft();
    const blobsBefore = await blobNames();
    const response = await rawRequest(
      app,
      { method: 'PUT', path: itemPath(draft, 'aborted.bin'), headers: { Authorization: `Bearer ${world.mia.token}`, 'Content-Length': 1_000_000 } },
      async (request) => {
        request.write(randomBytes(300_000));
        // Stop only once the server has started writing the blob.
        await eventually(async () => (await count('pending_uploads')) > 0);
        request.destroy();
      },
    );
    expect('error' in response).toBe(true);
    await eventually(async () => (await count('pending_uploads')) === 0);
    expect(await count('delivery_items', 'delivery_id = @id', { id: p.text(draft) })).toBe(0);
    expect(await blobNames()).toEqual(blobsBefore);
  });

  test('a blob store that fails half-way: 500, no item, no orphan blob, no pending row; the name stays free', async () => {
    const draft = await newDraft();
    const blobsBefore = await blobNames();
    flaky.failNextUploadAfter(200_000);
    const failed = await putItem(app, world.mia, draft, 'flaky.bin', randomBytes(1_000_000));
    expect(failed.status).toBe(500);
    expect(failed.body.code).toBe('internal_error');
    expect(await count('pending_uploads')).toBe(0);
    expect(await count('delivery_items', 'delivery_id = @id', { id: p.text(draft) })).toBe(0);
    expect(await blobNames()).toEqual(blobsBefore);
    expect((await putItem(app, world.mia, draft, 'flaky.bin', randomBytes(1000))).status).toBe(201);
    expect(await blobNames()).toEqual(await itemBlobNames());
  });
});

describe('Idempotency-Key', () => {
  test('a retried create answers the same draft; the same key with another body is 409', async () => {
    const requestId = await newRequest();
    const create = (title: string, key: string) =>
      api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title }, headers: { 'Idempotency-Key': key } });
    const first = await create('Retry me', 'create-1');
    const again = await create('Retry me', 'create-1');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await count('deliveries', 'request_id = @id', { id: p.text(requestId) })).toBe(1);
    const different = await create('Something else', 'create-1');
    expect(different.status).toBe(409);
    expect(different.body.code).toBe('conflict');
    expect((await create('Retry me', 'ümlaut')).status).toBe(400);
    expect((await create('Retry me', 'k'.repeat(201))).status).toBe(400);
    // Another caller's key of the same value is another key.
    expect((await api(app, 'POST', `/v1/requests/${await newRequest({ assignee: world.otto })}/deliveries`, { token: world.otto.token, body: { title: 'x' }, headers: { 'Idempotency-Key': 'create-1' } })).status).toBe(201);
  });

  test('a retried put answers the same item and writes no second blob; the same key with another request is 409', async () => {
    const draft = await newDraft();
    const bytes = randomBytes(100_000);
    const first = await putItem(app, world.mia, draft, 'once.bin', bytes, { idempotencyKey: 'put-1' });
    expect(first.status).toBe(201);
    const blobsAfterFirst = await blobNames();
    const again = await putItem(app, world.mia, draft, 'once.bin', bytes, { idempotencyKey: 'put-1' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await blobNames()).toEqual(blobsAfterFirst);
    expect(await count('delivery_items', 'delivery_id = @id', { id: p.text(draft) })).toBe(1);
    expect((await putItem(app, world.mia, draft, 'once.bin', randomBytes(10), { idempotencyKey: 'put-1' })).status).toBe(409);
    expect((await putItem(app, world.mia, draft, 'other.bin', bytes, { idempotencyKey: 'put-1' })).status).toBe(409);
    // Without the key, the same name is a duplicate.
    expect((await putItem(app, world.mia, draft, 'once.bin', bytes)).status).toBe(409);
    // Even after release the retry answers the stored success.
    await api(app, 'POST', `/v1/deliveries/${draft}/submit`, { token: world.mia.token });
    expect((await putItem(app, world.mia, draft, 'once.bin', bytes, { idempotencyKey: 'put-1' })).body).toEqual(first.body);
  });

  test('a key is forgotten after 24 hours', async () => {
    const requestId = await newRequest();
    const create = () => api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Daily' }, headers: { 'Idempotency-Key': 'daily' } });
    const first = await create();
    app.clock.advance(24 * 3600 * 1000 + 1);
    await refreshAll();
    const later = await create();
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
  });
});

describe('Key Vault economy (DESIGN §8)', () => {
  test('uploads make no master-key call once the organization key is cached; a download makes one when it is cold, none when warm', async () => {
    const draft = await newDraft();
    await putItem(app, world.mia, draft, 'warm-up.bin', randomBytes(10)); // caches the organization KEK
    counting.counts.unwrap = 0;
    const items: string[] = [];
    for (let i = 0; i < 5; i++) items.push((await putItem(app, world.mia, draft, `item-${i}.bin`, randomBytes(70_000))).body.id);
    await api(app, 'POST', `/v1/deliveries/${draft}/submit`, { token: world.mia.token });
    expect(counting.counts.unwrap).toBe(0);

    // Cold: forget every cached key, then load the column key again (it is cached for the life of the process;
    // the KEK only for 5 minutes), so what is counted is the download's own cost.
    app.services.keyHierarchy.forgetCachedKeys();
    await app.services.keyHierarchy.columnCipher();
    counting.counts.unwrap = 0;
    expect((await download(app, world.ada, draft, items[0]!)).status).toBe(200);
    expect(counting.counts.unwrap).toBe(1);
    expect((await download(app, world.ada, draft, items[1]!, { Range: 'bytes=65000-66000' })).status).toBe(206);
    expect(counting.counts.unwrap).toBe(1);

    // The KEK cache expires after its TTL: the next download pays one unwrap again, and only one.
    app.clock.advance(301_000);
    counting.counts.unwrap = 0;
    await Promise.all([download(app, world.ada, draft, items[2]!), download(app, world.ada, draft, items[3]!)]);
    expect(counting.counts.unwrap).toBe(1);
  });
});
