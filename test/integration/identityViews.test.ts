/**
 * "Who accessed my data": an organization shown a requester's eID-verified identity on a request leaves an
 * `identity.viewed` entry in the requester's audit chain — once per viewer and requester per hour — over HTTP.
 */
import { definition as createRequest } from '../../functions/createRequest';
import { listAudit, requesterChain, verifyAudit } from '../../lib/domain/audit/audit';
import { upsertVerifiedIdentity } from '../../lib/domain/eid/identities';
import { IDENTITY_VIEWED } from '../../lib/domain/requests/identityViews';
import { buildWorld, deliveryRoutes, insertRequest, type World } from '../helpers/deliveries';
import { api } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let world: World;
let adaRequest: string;

beforeAll(async () => {
  app = await startTestApp({ extraRoutes: [...deliveryRoutes, createRequest] });
  world = await buildWorld(app);
  // Ada proved who she is with an eID; Bob never did.
  const cipher = await app.services.keyHierarchy.columnCipher();
  await app.services.store.transaction((tx) =>
    upsertVerifiedIdentity(tx, cipher, {
      userId: world.ada.id,
      providerId: 'beid',
      subjectIndex: 'test-subject-index',
      claims: { name: 'Ada Peeters', givenName: 'Ada', familyName: 'Peeters', birthDate: '1990-05-04', nationalId: '90050412345' },
      assuranceLevel: 'high',
      now: app.clock.now().getTime(),
    }),
  );
  adaRequest = await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.ada.id, assignee: { type: 'member', id: world.mia.id } });
  await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.bob.id, assignee: { type: 'member', id: world.mia.id } });
});
afterAll(async () => app.close());

async function viewsOf(requesterId: string) {
  const page = await listAudit(app.services.store, app.services, requesterChain(requesterId), { action: IDENTITY_VIEWED, limit: 200 });
  return page.items;
}

test("an admin listing the requests, and the assignee opening one, leave a line each in the requester's chain", async () => {
  const listed = await api(app, 'GET', '/v1/requests', { token: world.acme.admin.token });
  expect(listed.status).toBe(200);
  expect(listed.body.items.find((request: { id: string }) => request.id === adaRequest).requester.verifiedIdentity.nationalId).toBe('90050412345');
  const opened = await api(app, 'GET', `/v1/requests/${adaRequest}`, { token: world.mia.token });
  expect(opened.status).toBe(200);

  const views = await viewsOf(world.ada.id);
  expect(views.map((view) => [view.actor, view.target])).toEqual(
    expect.arrayContaining([
      [{ type: 'user', id: world.acme.admin.id }, { type: 'request', id: adaRequest }],
      [{ type: 'user', id: world.mia.id }, { type: 'request', id: adaRequest }],
    ]),
  );
  expect(views).toHaveLength(2);
  expect(views[0]!.details).toEqual({ organizationId: world.acme.organizationId });
  // No identity, nothing shown: Bob's chain stays without such a line.
  expect(await viewsOf(world.bob.id)).toEqual([]);
  // Ada sees it in "who accessed my data", and her chain still verifies.
  const mine = await api(app, 'GET', '/v1/me/audit', { token: world.ada.token });
  expect(mine.body.items.filter((item: { action: string }) => item.action === IDENTITY_VIEWED)).toHaveLength(2);
  expect((await verifyAudit(app.services.store, app.services, requesterChain(world.ada.id))).problems).toEqual([]);
});

test('the same viewer again within the hour adds nothing; after the hour, one more line', async () => {
  const before = (await viewsOf(world.ada.id)).length;
  for (let read = 0; read < 3; read++) {
    expect((await api(app, 'GET', '/v1/requests', { token: world.acme.admin.token })).status).toBe(200);
    expect((await api(app, 'GET', `/v1/requests/${adaRequest}`, { token: world.mia.token })).status).toBe(200);
  }
  expect(await viewsOf(world.ada.id)).toHaveLength(before);

  app.clock.advance(61 * 60_000);
  for (const who of [world.acme.admin, world.globex.admin, world.mia, world.otto, world.ada, world.bob]) await who.refresh();
  expect((await api(app, 'GET', `/v1/requests/${adaRequest}`, { token: world.mia.token })).status).toBe(200);
  expect(await viewsOf(world.ada.id)).toHaveLength(before + 1);
});

test('the requester reading her own request, and a stranger refused it, write no such line', async () => {
  const before = (await viewsOf(world.ada.id)).length;
  expect((await api(app, 'GET', `/v1/requests/${adaRequest}`, { token: world.ada.token })).status).toBe(200);
  expect((await api(app, 'GET', '/v1/requests', { token: world.ada.token })).status).toBe(200);
  expect((await api(app, 'GET', `/v1/requests/${adaRequest}`, { token: world.otto.token })).status).toBe(404);
  expect((await api(app, 'GET', `/v1/requests/${adaRequest}`, { token: world.globex.admin.token })).status).toBe(404);
  expect(await viewsOf(world.ada.id)).toHaveLength(before);
});
