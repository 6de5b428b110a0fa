/**
 * Step-up on the download route (DESIGN §2: "streamed, decrypted, audited (step-up MFA required)"): a requester
 * whose last MFA is older than 15 minutes is asked to re-authenticate, and can download again once they have.
 */
import { definition as downloadDeliveryItem } from '../../functions/downloadDeliveryItem';
import { buildWorld, deliveryRoutes, download, insertRequest, putItem, type World } from '../helpers/deliveries';
import { api, login, stepUp, tokenRequest, type Tokens } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let world: World;
beforeAll(async () => {
  app = await startTestApp({ extraRoutes: deliveryRoutes });
  world = await buildWorld(app);
});
afterAll(async () => app.close());

test('the download route declares step-up', () => {
  expect(downloadDeliveryItem.auth).toMatchObject({ roles: ['requester'], stepUp: true });
});

test('a download with an MFA older than 15 minutes answers 401 insufficient_user_authentication; after a step-up it streams', async () => {
  const requestId = await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.ada.id, assignee: { type: 'member', id: world.mia.id } });
  const created = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Your data' } });
  const put = await putItem(app, world.mia, created.body.id, 'data.txt', Buffer.from('hello'), { contentType: 'text/plain' });
  expect((await api(app, 'POST', `/v1/deliveries/${created.body.id}/submit`, { token: world.mia.token })).status).toBe(200);

  const ada: Tokens = await login(app, 'ada@example.org', { scope: 'requester' });
  const asAda = (token: string) => ({ ...world.ada, token });
  expect((await download(app, asAda(ada.access_token), created.body.id, put.body.id)).status).toBe(200);

  app.clock.advance(16 * 60_000);
  const refreshed = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: ada.refresh_token! });
  const stale = await download(app, asAda(refreshed.body.access_token), created.body.id, put.body.id);
  expect(stale.status).toBe(401);
  expect(stale.json().code).toBe('insufficient_user_authentication');
  expect(stale.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
  expect(stale.headers.get('www-authenticate')).toContain('max_age=900');
  // Listing and metadata are not sensitive: they still answer.
  expect((await api(app, 'GET', `/v1/deliveries/${created.body.id}`, { token: refreshed.body.access_token })).status).toBe(200);

  const raised = await stepUp(app, 'ada@example.org', refreshed.body as Tokens);
  const fresh = await download(app, asAda(raised.access_token), created.body.id, put.body.id);
  expect(fresh.status).toBe(200);
  expect(fresh.bytes.toString()).toBe('hello');
});
