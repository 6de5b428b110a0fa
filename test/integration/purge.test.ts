/**
 * The whole life of a delivery through the HTTP API, to its end: readable until expiresAt, 410 from then on, and
 * purged by the timer's use case — keys destroyed, blob gone, a signed receipt the requester sees in their audit.
 */
import { p, sql } from '../../lib/adapters/sql/params';
import { containerOf } from '../../lib/domain/organizations/organizations';
import { purgeExpired, readDeletionReceipt } from '../../lib/domain/retention/purge';
import { verifyJws } from '../../lib/domain/tokens/accessTokens';
import { buildWorld, download, insertRequest, putItem, type World } from '../helpers/deliveries';
import { api } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let world: World;
beforeAll(async () => {
  app = await startTestApp();
  world = await buildWorld(app);
});
afterAll(async () => app.close());

test('a delivery is readable until its expiresAt, answers 410 from then on, and the purge leaves the requester a signed receipt', async () => {
  const { organizationId } = world.acme;
  const requestId = await insertRequest(app, { organizationId, requesterId: world.ada.id, assignee: { type: 'member', id: world.mia.id } });
  const created = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Your data' } });
  const item = (await putItem(app, world.mia, created.body.id, 'data.txt', Buffer.from('hello'), { contentType: 'text/plain' })).body;
  const released = await api(app, 'POST', `/v1/deliveries/${created.body.id}/submit`, { token: world.mia.token });
  const expiresAt = new Date(released.body.expiresAt);
  const [row] = await app.services.store.query<{ blob_name: string }>(sql('SELECT blob_name FROM delivery_items WHERE id = @id', { id: p.text(item.id) }));
  const blobName = row!.blob_name;

  app.clock.set(new Date(expiresAt.getTime() - 60_000));
  await world.ada.refresh();
  expect((await download(app, world.ada, created.body.id, item.id)).status).toBe(200);
  expect(await purgeExpired(app.services)).toMatchObject({ deliveriesPurged: 0 });

  app.clock.set(expiresAt);
  await world.ada.refresh();
  expect((await download(app, world.ada, created.body.id, item.id)).status).toBe(410);

  expect(await purgeExpired(app.services)).toMatchObject({ deliveriesPurged: 1, itemsShredded: 1, blobsDeleted: 1, complete: true });

  expect(await app.services.blobs.getProperties(containerOf(organizationId), blobName)).toBeNull();
  expect((await download(app, world.ada, created.body.id, item.id)).status).toBe(410);
  const receipt = await readDeletionReceipt(app.services, created.body.id);
  expect((await verifyJws(app.services.signingKeys, receipt!)).payload).toMatchObject({
    receiptType: 'deletion',
    deliveryId: created.body.id,
    requestId,
    requesterId: world.ada.id,
    items: 1,
    expiresAt: expiresAt.toISOString(),
  });
  const audit = await api(app, 'GET', '/v1/me/audit', { token: world.ada.token });
  const purged = audit.body.items.find((event: any) => event.action === 'delivery.purged');
  expect(purged).toMatchObject({ target: { type: 'delivery', id: created.body.id }, details: { receipt } });
});
