/**
 * The item size limit and Content-Length, on a host with a tiny MAX_ITEM_BYTES: refusals come from the headers
 * alone, before a byte of the body is read, and close the connection instead of draining an unread body.
 */
import net from 'node:net';
import { buildWorld, deliveryRoutes, insertRequest, itemPath, putItem, rawRequest, type World } from '../helpers/deliveries';
import { api } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let world: World;
let draftId: string;
beforeAll(async () => {
  app = await startTestApp({ env: { MAX_ITEM_BYTES: '1000' }, extraRoutes: deliveryRoutes });
  world = await buildWorld(app);
  const requestId = await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.ada.id, assignee: { type: 'member', id: world.mia.id } });
  draftId = (await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Small' } })).body.id;
});
afterAll(async () => app.close());

test('an item of exactly the limit is taken; one byte more is 413', async () => {
  expect((await putItem(app, world.mia, draftId, 'exact.bin', Buffer.alloc(1000, 7))).status).toBe(201);
  const over = await putItem(app, world.mia, draftId, 'over.bin', Buffer.alloc(1001, 7));
  expect(over.status).toBe(413);
  expect(over.body.code).toBe('payload_too_large');
});

test('a Content-Length over the limit is 413 before the body is read: the client has sent none of it', async () => {
  const response = await rawRequest(
    app,
    { method: 'PUT', path: itemPath(draftId, 'huge.bin'), headers: { Authorization: `Bearer ${world.mia.token}`, 'Content-Length': 50_000_000_000 } },
    (request) => request.flushHeaders(),
  );
  expect(response).toMatchObject({ status: 413, headers: { connection: 'close' }, body: { code: 'payload_too_large' } });
});

test('no Content-Length at all is 411', async () => {
  const port = new URL(app.url).port;
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(`PUT ${itemPath(draftId, 'nolength.bin')} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${world.mia.token}\r\n\r\n`);
    });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
  expect(answer).toMatch(/^HTTP\/1\.1 411 /);
  expect(answer).toContain('"code":"length_required"');
});

test('a Content-Length that is not a number is 400', async () => {
  const response = await rawRequest(
    app,
    { method: 'PUT', path: itemPath(draftId, 'nan.bin'), headers: { Authorization: `Bearer ${world.mia.token}`, 'Content-Length': '12abc' } },
    (request) => {
      request.end();
    },
  );
  // Node's parser refuses a malformed Content-Length itself; either way nothing is stored.
  expect('error' in response || [400].includes(response.status)).toBe(true);
});
