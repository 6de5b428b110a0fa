/**
 * GET /v1/deliveries/{id}/deletion-receipt: once the purge has destroyed an expired delivery, whoever may see the
 * delivery gets the receipt the purge signed, verifiable with the published keys; anyone else gets the 404 of an
 * id that does not exist, and a delivery not deleted yet answers 409.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { purgeExpired, readDeletionReceipt } from '../../lib/domain/retention/purge';
import { DeletionReceiptSchema } from '../../lib/domain/retention/schemas';
import { buildWorld, insertRequest, putItem, type Caller, type World } from '../helpers/deliveries';
import { api } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let world: World;

function receiptPath(deliveryId: string): string {
  return `/v1/deliveries/${deliveryId}/deletion-receipt`;
}

/** A delivery Mia (assignee of Ada's request to Acme) released to Ada, with one item. */
async function releaseToAda(): Promise<{ id: string; requestId: string; expiresAt: Date }> {
  const requestId = await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.ada.id, assignee: { type: 'member', id: world.mia.id } });
  const created = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Your data' } });
  expect(created.status).toBe(201);
  expect((await putItem(app, world.mia, created.body.id, 'data.txt', Buffer.from('hello'), { contentType: 'text/plain' })).status).toBe(201);
  const released = await api(app, 'POST', `/v1/deliveries/${created.body.id}/submit`, { token: world.mia.token });
  expect(released.status).toBe(200);
  return { id: created.body.id, requestId, expiresAt: new Date(released.body.expiresAt) };
}

/** Moves the fake clock and signs everyone in again (access tokens live 10 minutes). */
async function moveClockTo(at: Date): Promise<void> {
  app.clock.set(at);
  const callers: Caller[] = [world.ada, world.bob, world.mia, world.otto, world.gina, world.acme.admin, world.globex.admin, world.service];
  for (const who of callers) await who.refresh();
}

async function verifyWithPublishedKeys(receipt: string, jwksUri: string) {
  expect(jwksUri).toBe(`${app.services.config.publicBaseUrl}/.well-known/jwks.json`);
  const jwks = (await api(app, 'GET', '/.well-known/jwks.json')).body as JSONWebKeySet;
  const { payload } = await jwtVerify(receipt, createLocalJWKSet(jwks), { algorithms: ['ES256'], typ: 'JWT', currentDate: app.clock.now() });
  return payload as Record<string, unknown>;
}

function withoutCorrelation(body: Record<string, unknown>) {
  const { correlationId: _correlationId, ...rest } = body;
  return rest;
}

beforeAll(async () => {
  app = await startTestApp();
  world = await buildWorld(app);
});
afterAll(async () => app.close());

describe('a purged delivery', () => {
  let purged: { id: string; requestId: string; expiresAt: Date };
  beforeAll(async () => {
    purged = await releaseToAda();
    await moveClockTo(purged.expiresAt);
    expect(await purgeExpired(app.services)).toMatchObject({ deliveriesPurged: 1 });
  });

  test('its requester gets the signed receipt: it verifies with the published keys and names this delivery', async () => {
    const response = await api(app, 'GET', receiptPath(purged.id), { token: world.ada.token });

    expect(response.status).toBe(200);
    expect(DeletionReceiptSchema.safeParse(response.body).success).toBe(true);
    const { receipt, jwksUri, payload } = response.body;
    expect(receipt).toBe(await readDeletionReceipt(app.services, purged.id));
    const verified = await verifyWithPublishedKeys(receipt, jwksUri);
    expect(verified).toEqual(payload);
    expect(payload).toMatchObject({
      receiptType: 'deletion',
      deliveryId: purged.id,
      requestId: purged.requestId,
      organizationId: world.acme.organizationId,
      requesterId: world.ada.id,
      items: 1,
      expiresAt: purged.expiresAt.toISOString(),
      purgedAt: purged.expiresAt.toISOString(),
    });
  });

  test('it is the receipt the requester was given in their audit chain', async () => {
    const receipt = (await api(app, 'GET', receiptPath(purged.id), { token: world.ada.token })).body.receipt;
    const audit = await api(app, 'GET', '/v1/me/audit', { token: world.ada.token });
    const event = audit.body.items.find((entry: any) => entry.action === 'delivery.purged' && entry.target.id === purged.id);
    expect(event.details.receipt).toBe(receipt);
  });

  test('the member who delivered it (creator and assignee) gets the same receipt', async () => {
    const mine = await api(app, 'GET', receiptPath(purged.id), { token: world.ada.token });
    const theirs = await api(app, 'GET', receiptPath(purged.id), { token: world.mia.token });
    expect(theirs.status).toBe(200);
    expect(theirs.body).toEqual(mine.body);
  });

  test('anyone who may not see the delivery gets the 404 of an id that does not exist', async () => {
    const unknown = await api(app, 'GET', receiptPath('no-such-delivery'), { token: world.ada.token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    // Another requester, another organization's admin and member, and on Acme's side whoever neither created the
    // delivery nor is assigned its request (exactly who GET /v1/deliveries/{id} refuses).
    const strangers = { bob: world.bob, globexAdmin: world.globex.admin, gina: world.gina, otto: world.otto, acmeAdmin: world.acme.admin, acmeService: world.service };
    for (const [name, who] of Object.entries(strangers)) {
      const response = await api(app, 'GET', receiptPath(purged.id), { token: who.token });
      expect({ name, status: response.status, body: withoutCorrelation(response.body) }).toEqual({ name, status: 404, body: withoutCorrelation(unknown.body) });
      expect({ name, delivery: (await api(app, 'GET', `/v1/deliveries/${purged.id}`, { token: who.token })).status }).toEqual({ name, delivery: 404 });
    }
  });

  test('without a token the answer is 401', async () => {
    const response = await api(app, 'GET', receiptPath(purged.id));
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('unauthorized');
  });

  test('its requester still sees it, as purged and without items, in the delivery and in the inbox', async () => {
    const delivery = await api(app, 'GET', `/v1/deliveries/${purged.id}`, { token: world.ada.token });
    expect(delivery.status).toBe(200);
    expect(delivery.body).toMatchObject({ id: purged.id, status: 'purged', expired: true, daysLeft: 0, items: [] });
    const inbox = await api(app, 'GET', '/v1/deliveries', { token: world.ada.token });
    expect(inbox.status).toBe(200);
    expect(inbox.body.items.find((entry: { id: string }) => entry.id === purged.id)).toMatchObject({ status: 'purged', expired: true, daysLeft: 0 });
  });
});

describe('a delivery not deleted yet', () => {
  test('a draft answers 409 to the member drafting it', async () => {
    const requestId = await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.ada.id, assignee: { type: 'member', id: world.mia.id } });
    const draft = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Not yet' } });

    const response = await api(app, 'GET', receiptPath(draft.body.id), { token: world.mia.token });

    expect(response.status).toBe(409);
    expect(response.body.code).toBe('conflict');
    // The requester does not see drafts at all.
    expect((await api(app, 'GET', receiptPath(draft.body.id), { token: world.ada.token })).status).toBe(404);
  });

  test('answers 409 while released, still 409 once expired until the purge has run, and the receipt after it', async () => {
    const delivery = await releaseToAda();

    const released = await api(app, 'GET', receiptPath(delivery.id), { token: world.ada.token });
    expect(released.status).toBe(409);
    expect(released.body.code).toBe('conflict');
    expect((await api(app, 'GET', receiptPath(delivery.id), { token: world.mia.token })).status).toBe(409);

    await moveClockTo(delivery.expiresAt);
    const expired = await api(app, 'GET', receiptPath(delivery.id), { token: world.ada.token });
    expect(expired.status).toBe(409);
    expect(expired.body.code).toBe('conflict');

    await purgeExpired(app.services);
    const deleted = await api(app, 'GET', receiptPath(delivery.id), { token: world.ada.token });
    expect(deleted.status).toBe(200);
    expect(deleted.body.payload.deliveryId).toBe(delivery.id);
  });
});

test('the documented example matches the schema it documents', () => {
  const example = (DeletionReceiptSchema.meta() as { example: unknown }).example;
  expect(DeletionReceiptSchema.safeParse(example).success).toBe(true);
});
