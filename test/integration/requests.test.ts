/**
 * Requests and consent over HTTP against the dev host: a requester opens a request and gets a receipt anyone can
 * verify; an admin assigns or declines; the requester withdraws. Privacy by default is checked from every side:
 * new members, other members, service principals, other organizations, other requesters and operators.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { definition as assignRequest } from '../../functions/assignRequest';
import { definition as createRequest } from '../../functions/createRequest';
import { definition as declineRequest } from '../../functions/declineRequest';
import { definition as getConsentReceipt } from '../../functions/getConsentReceipt';
import { definition as getMyAudit } from '../../functions/getMyAudit';
import { definition as getRequest } from '../../functions/getRequest';
import { definition as listRequests } from '../../functions/listRequests';
import { definition as withdrawConsent } from '../../functions/withdrawConsent';
import { p, sql } from '../../lib/adapters/sql/params';
import { verifyAudit } from '../../lib/domain/audit/audit';
import { startTestApp, type TestApp } from '../helpers/testApp';
import {
  api,
  basic,
  bootstrapOperator,
  createApiKey,
  createOrganizationWithAdmin,
  inviteAndJoin,
  login,
  mailedToken,
  PASSWORD,
  tokenRequest,
  type Tokens,
} from '../helpers/identity';

const REQUEST_ROUTES = [createRequest, listRequests, getRequest, assignRequest, declineRequest, withdrawConsent, getConsentReceipt, getMyAudit];

const PURPOSE = 'Switching insurers: I need my claims history — PURPOSE-MARKER-7f3a';
const MESSAGE = 'My policy number is AC-2291-0045 — MESSAGE-MARKER-9c1d';

let app: TestApp;
let operator: Tokens;
let acme: { organizationId: string; admin: Tokens };
let globex: { organizationId: string; admin: Tokens };
let ada: Person;
let bob: Person;
let grace: Person;
let henry: Person;
let otto: Person;
let backend: { key: { id: string; key: string }; servicePrincipalId: string; token: string };

interface Person {
  readonly id: string;
  readonly email: string;
  readonly tokens: Tokens;
}

async function signUpRequester(email: string, name: string): Promise<Person> {
  await api(app, 'POST', '/v1/requesters', { body: { email, password: PASSWORD, name } });
  await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, email, 'verify-email') } });
  const tokens = await login(app, email);
  return { id: (await api(app, 'GET', '/v1/me', { token: tokens.access_token })).body.id, email, tokens };
}

async function joinAsMember(organization: { organizationId: string; admin: Tokens }, email: string): Promise<Person> {
  const id = await inviteAndJoin(app, organization.admin, organization.organizationId, email);
  return { id, email, tokens: await login(app, email) };
}

async function servicePrincipalOf(organization: { organizationId: string; admin: Tokens }, keyId: string): Promise<string> {
  const keys = await api(app, 'GET', `/v1/organizations/${organization.organizationId}/api-keys?limit=100`, { token: organization.admin.access_token });
  return keys.body.items.find((key: { id: string }) => key.id === keyId).servicePrincipalId;
}

async function newServicePrincipal(organization: { organizationId: string; admin: Tokens }, name: string) {
  const key = await createApiKey(app, organization.admin, organization.organizationId, name);
  const token = (await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).body.access_token as string;
  return { key, servicePrincipalId: await servicePrincipalOf(organization, key.id), token };
}

async function open(requester: Person, body: Record<string, unknown> = {}) {
  const opened = await api(app, 'POST', '/v1/requests', {
    token: requester.tokens.access_token,
    body: { organizationId: acme.organizationId, purpose: PURPOSE, categories: ['contact', 'financial'], ...body },
  });
  if (opened.status !== 201) throw new Error(`open failed: ${opened.status} ${JSON.stringify(opened.body)}`);
  return opened.body as { id: string; status: string; consent: { givenAt: string; validUntil: string; withdrawnAt: null; receipt: string } };
}

async function assign(requestId: string, assigneeId: string, admin = acme.admin) {
  return api(app, 'POST', `/v1/requests/${requestId}/assign`, { token: admin.access_token, body: { assigneeId } });
}

async function listedIds(token: string): Promise<string[]> {
  const list = await api(app, 'GET', '/v1/requests?limit=200', { token });
  expect(list.status).toBe(200);
  return list.body.items.map((item: { id: string }) => item.id);
}

async function verifyWithPublishedKeys(receipt: string) {
  const jwks = (await api(app, 'GET', '/.well-known/jwks.json')).body as JSONWebKeySet;
  const { payload } = await jwtVerify(receipt, createLocalJWKSet(jwks), {
    algorithms: ['ES256'],
    issuer: app.services.config.publicBaseUrl,
    typ: 'JWT',
    currentDate: app.clock.now(),
  });
  return payload as Record<string, any>;
}

function withoutCorrelation(body: Record<string, unknown>) {
  const { correlationId: _correlationId, ...rest } = body;
  return rest;
}

beforeAll(async () => {
  app = await startTestApp({ extraRoutes: REQUEST_ROUTES });
  operator = await bootstrapOperator(app);
  acme = await createOrganizationWithAdmin(app, operator, 'Acme Insurance', 'admin@acme.example');
  globex = await createOrganizationWithAdmin(app, operator, 'Globex Bank', 'admin@globex.example');
  ada = await signUpRequester('ada@example.org', 'Ada Lovelace');
  bob = await signUpRequester('bob@example.org', 'Bob Bobson');
  grace = await joinAsMember(acme, 'grace@acme.example');
  henry = await joinAsMember(acme, 'henry@acme.example');
  otto = await joinAsMember(globex, 'otto@globex.example');
  backend = await newServicePrincipal(acme, 'claims-backend');
});
afterAll(async () => app.close());

describe('opening a request records consent and signs a receipt', () => {
  test('a requester opens a request: 201, open, and a receipt that verifies with the published JWKS', async () => {
    const opened = await api(app, 'POST', '/v1/requests', {
      token: ada.tokens.access_token,
      body: { organizationId: acme.organizationId, purpose: PURPOSE, categories: ['contact', 'health'], message: MESSAGE },
    });

    expect(opened.status).toBe(201);
    expect(opened.headers.get('location')).toBe(`/v1/requests/${opened.body.id}`);
    expect(opened.body).toEqual({
      id: expect.any(String),
      status: 'open',
      consent: { givenAt: '2026-11-21T10:00:00.000Z', validUntil: '2027-02-19T10:00:00.000Z', withdrawnAt: null, receipt: expect.any(String) },
    });
    const payload = await verifyWithPublishedKeys(opened.body.consent.receipt);
    expect(payload).toMatchObject({
      version: 'KI-CR-v1.1.0',
      requestId: opened.body.id,
      piiPrincipalId: ada.id,
      piiControllers: [{ piiController: 'Acme Insurance', organizationId: acme.organizationId }],
      sensitive: true,
      spiCat: ['health'],
      status: 'active',
      validUntil: '2027-02-19T10:00:00.000Z',
      consentTimestamp: Date.parse('2026-11-21T10:00:00Z') / 1000,
    });
    expect(payload.services[0].purposes[0]).toMatchObject({ purpose: PURPOSE, piiCategory: ['contact', 'health'], consentType: 'EXPLICIT', thirdPartyDisclosure: false });
    // The receipt names the person by opaque id only, and the message is for the organization, not the receipt.
    const text = JSON.stringify(payload);
    expect(text).not.toContain(ada.email);
    expect(text).not.toContain('MESSAGE-MARKER');
  });

  test('the receipt endpoint gives the stored receipt, the JWKS address and the decoded payload', async () => {
    const opened = await open(ada);
    const receipt = await api(app, 'GET', `/v1/requests/${opened.id}/consent`, { token: ada.tokens.access_token });

    expect(receipt.status).toBe(200);
    expect(receipt.body.receipt).toBe(opened.consent.receipt);
    expect(receipt.body.jwksUri).toBe(`${app.services.config.publicBaseUrl}/.well-known/jwks.json`);
    expect(receipt.body.payload).toEqual(await verifyWithPublishedKeys(opened.consent.receipt));
  });

  test('a chosen validUntil is kept; one in the past or more than 365 days ahead is refused at its path', async () => {
    expect((await open(ada, { validUntil: '2027-01-01T00:00:00+01:00' })).consent.validUntil).toBe('2026-12-31T23:00:00.000Z');
    for (const validUntil of ['2026-11-21T09:59:59Z', '2027-11-22T10:00:00Z']) {
      const refused = await api(app, 'POST', '/v1/requests', {
        token: ada.tokens.access_token,
        body: { organizationId: acme.organizationId, purpose: PURPOSE, categories: ['contact'], validUntil },
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'invalid_request', errors: [{ path: 'validUntil' }] });
    }
  });

  test.each([
    ['an unknown field', { extra: true }, ['extra']],
    ['an unknown category', { categories: ['contact', 'dna'] }, ['categories.1']],
    ['a category named twice', { categories: ['contact', 'contact'] }, ['categories']],
    ['no category', { categories: [] }, ['categories']],
    ['a blank purpose', { purpose: '   ' }, ['purpose']],
    ['a purpose over 2000 characters', { purpose: 'x'.repeat(2001) }, ['purpose']],
    ['a message over 4000 characters', { message: 'x'.repeat(4001) }, ['message']],
    ['a validUntil that is not a time', { validUntil: 'next year' }, ['validUntil']],
  ])('%s is refused with 400 at its field path', async (_case, change, paths) => {
    const refused = await api(app, 'POST', '/v1/requests', {
      token: ada.tokens.access_token,
      body: { organizationId: acme.organizationId, purpose: PURPOSE, categories: ['contact'], ...change },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('invalid_request');
    expect(refused.body.errors.map((error: { path: string }) => error.path)).toEqual(paths);
  });

  test('an organization that does not exist is 404', async () => {
    const refused = await api(app, 'POST', '/v1/requests', {
      token: ada.tokens.access_token,
      body: { organizationId: 'no-such-organization', purpose: PURPOSE, categories: ['contact'] },
    });
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('not_found');
  });

  test('only requesters open requests: an org admin, a member and an operator are refused with 403', async () => {
    for (const token of [acme.admin.access_token, grace.tokens.access_token, operator.access_token]) {
      const refused = await api(app, 'POST', '/v1/requests', { token, body: { organizationId: acme.organizationId, purpose: PURPOSE, categories: ['contact'] } });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('forbidden');
    }
  });

  test('the category schemas are published for pre-validating deliveries', async () => {
    const contact = await api(app, 'GET', '/schemas/CategoryContact.json');
    expect(contact.status).toBe(200);
    expect(contact.body).toMatchObject({ type: 'object', additionalProperties: false });
    for (const name of ['CategoryIdentity', 'CategoryFinancial', 'CategoryEmployment', 'CategoryHealth', 'OpenRequestRequest', 'ConsentReceipt']) {
      expect((await api(app, 'GET', `/schemas/${name}.json`)).status).toBe(200);
    }
  });
});

describe('privacy by default: who sees a request', () => {
  let request: { id: string };

  beforeAll(async () => {
    request = await open(ada, { message: MESSAGE });
  });

  test('A NEW MEMBER LISTS NO REQUESTS, and cannot open one by id', async () => {
    const newcomer = await joinAsMember(acme, 'newcomer@acme.example');
    const list = await api(app, 'GET', '/v1/requests', { token: newcomer.tokens.access_token });

    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [], nextCursor: null });
    const direct = await api(app, 'GET', `/v1/requests/${request.id}`, { token: newcomer.tokens.access_token });
    expect(direct.status).toBe(404);
    expect(direct.body.code).toBe('not_found');
  });

  test('the org admin sees every request to the organization', async () => {
    expect(await listedIds(acme.admin.access_token)).toContain(request.id);
    const seen = await api(app, 'GET', `/v1/requests/${request.id}`, { token: acme.admin.access_token });
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: request.id, organizationName: 'Acme Insurance', purpose: PURPOSE, message: MESSAGE, assignee: null, status: 'open' });
  });

  test('after assignment the member sees exactly that request; another member still sees none and gets 404', async () => {
    const assigned = await assign(request.id, grace.id);
    expect(assigned.status).toBe(200);
    expect(assigned.body).toEqual({ id: request.id, assigneeId: grace.id, assigneeType: 'member' });

    expect(await listedIds(grace.tokens.access_token)).toEqual([request.id]);
    const seen = await api(app, 'GET', `/v1/requests/${request.id}`, { token: grace.tokens.access_token });
    expect(seen.body).toMatchObject({ id: request.id, assignee: { type: 'member', id: grace.id }, purpose: PURPOSE });
    expect((await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: grace.tokens.access_token })).status).toBe(200);

    expect(await listedIds(henry.tokens.access_token)).toEqual([]);
    expect((await api(app, 'GET', `/v1/requests/${request.id}`, { token: henry.tokens.access_token })).status).toBe(404);
    expect((await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: henry.tokens.access_token })).status).toBe(404);
  });

  test('reassigning moves the request: the previous assignee no longer sees it', async () => {
    const moved = await open(ada);
    await assign(moved.id, grace.id);
    expect(await listedIds(grace.tokens.access_token)).toContain(moved.id);

    expect((await assign(moved.id, henry.id)).status).toBe(200);

    expect(await listedIds(grace.tokens.access_token)).not.toContain(moved.id);
    expect((await api(app, 'GET', `/v1/requests/${moved.id}`, { token: grace.tokens.access_token })).status).toBe(404);
    expect(await listedIds(henry.tokens.access_token)).toEqual([moved.id]);
  });

  test('a service principal sees only the requests assigned to it', async () => {
    const forBackend = await open(ada);
    expect(await listedIds(backend.token)).toEqual([]);

    const assigned = await assign(forBackend.id, backend.servicePrincipalId);
    expect(assigned.body).toEqual({ id: forBackend.id, assigneeId: backend.servicePrincipalId, assigneeType: 'service' });

    expect(await listedIds(backend.token)).toEqual([forBackend.id]);
    expect((await api(app, 'GET', `/v1/requests/${forBackend.id}`, { token: backend.token })).status).toBe(200);
    expect((await api(app, 'GET', `/v1/requests/${request.id}`, { token: backend.token })).status).toBe(404);
    // Another key of the same organization is another principal, and sees nothing.
    const other = await newServicePrincipal(acme, 'other-backend');
    expect(await listedIds(other.token)).toEqual([]);
    expect((await api(app, 'GET', `/v1/requests/${forBackend.id}`, { token: other.token })).status).toBe(404);
  });

  test("another organization's admin gets 404 on the request, its receipt, assign and decline", async () => {
    const token = globex.admin.access_token;
    expect(await listedIds(token)).not.toContain(request.id);
    const answers = [
      await api(app, 'GET', `/v1/requests/${request.id}`, { token }),
      await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token }),
      await assign(request.id, otto.id, globex.admin),
      await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token, body: {} }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('not_found');
    }
    // Nothing changed.
    expect((await api(app, 'GET', `/v1/requests/${request.id}`, { token: acme.admin.access_token })).body).toMatchObject({ status: 'open', assignee: { id: grace.id } });
  });

  test("an id that does not exist answers exactly like another organization's request", async () => {
    const missing = await api(app, 'GET', '/v1/requests/does-not-exist', { token: acme.admin.access_token });
    const foreign = await api(app, 'GET', `/v1/requests/${request.id}`, { token: globex.admin.access_token });
    expect(missing.status).toBe(404);
    expect(withoutCorrelation(foreign.body)).toEqual(withoutCorrelation(missing.body));
  });

  test("requester B cannot see requester A's request, nor its receipt", async () => {
    const own = await open(bob);
    expect(await listedIds(bob.tokens.access_token)).toEqual([own.id]);
    expect((await api(app, 'GET', `/v1/requests/${request.id}`, { token: bob.tokens.access_token })).status).toBe(404);
    expect((await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: bob.tokens.access_token })).status).toBe(404);
    expect(await listedIds(ada.tokens.access_token)).not.toContain(own.id);
  });

  test('operators do not see requests: 403 on the list, a request and its receipt', async () => {
    for (const suffix of ['', `/${request.id}`, `/${request.id}/consent`]) {
      const refused = await api(app, 'GET', `/v1/requests${suffix}`, { token: operator.access_token });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('forbidden');
    }
  });

  test('members and service principals may not assign or decline: 403', async () => {
    for (const token of [grace.tokens.access_token, backend.token, ada.tokens.access_token]) {
      expect((await api(app, 'POST', `/v1/requests/${request.id}/assign`, { token, body: { assigneeId: grace.id } })).status).toBe(403);
      expect((await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token, body: {} })).status).toBe(403);
    }
  });

  test('the list pages newest first with a cursor, and filters by status', async () => {
    const first = await api(app, 'GET', '/v1/requests?limit=2', { token: ada.tokens.access_token });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await api(app, 'GET', `/v1/requests?limit=200&cursor=${first.body.nextCursor}`, { token: ada.tokens.access_token });
    const all = [...first.body.items, ...rest.body.items].map((item: { id: string }) => item.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual((await listedIds(ada.tokens.access_token)).sort());

    const open = await api(app, 'GET', '/v1/requests?status=open&limit=200', { token: ada.tokens.access_token });
    expect(open.body.items.every((item: { status: string }) => item.status === 'open')).toBe(true);
    const bad = await api(app, 'GET', '/v1/requests?status=closed', { token: ada.tokens.access_token });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_request', errors: [{ path: 'status' }] });
    expect((await api(app, 'GET', '/v1/requests?cursor=Zm9yZ2Vk', { token: ada.tokens.access_token })).status).toBe(400);
  });
});

describe('assignment takes only active members and service principals of the organization', () => {
  let request: { id: string };
  beforeAll(async () => {
    request = await open(ada);
  });

  test('a member of another organization, a disabled member, a revoked key, a requester and an unknown id are all 400, alike', async () => {
    const disabled = await joinAsMember(acme, 'leaver@acme.example');
    expect((await api(app, 'PATCH', `/v1/organizations/${acme.organizationId}/members/${disabled.id}`, { token: acme.admin.access_token, body: { disabled: true } })).status).toBe(204);
    const revoked = await newServicePrincipal(acme, 'retired-backend');
    expect((await api(app, 'DELETE', `/v1/organizations/${acme.organizationId}/api-keys/${revoked.key.id}`, { token: acme.admin.access_token })).status).toBe(204);
    const globexBackend = await newServicePrincipal(globex, 'globex-backend');

    const refusals = [];
    for (const assigneeId of [otto.id, disabled.id, revoked.servicePrincipalId, globexBackend.servicePrincipalId, ada.id, 'nobody-at-all']) {
      const refused = await assign(request.id, assigneeId);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'invalid_request', errors: [{ path: 'assigneeId' }] });
      refusals.push(withoutCorrelation(refused.body));
    }
    // The same words for every one: a foreign id is not revealed as existing elsewhere.
    expect(new Set(refusals.map((body) => JSON.stringify(body))).size).toBe(1);
    expect((await api(app, 'GET', `/v1/requests/${request.id}`, { token: acme.admin.access_token })).body.assignee).toBeNull();
  });

  test('an admin may assign a request to themselves', async () => {
    const me = (await api(app, 'GET', '/v1/me', { token: acme.admin.access_token })).body.id;
    expect((await assign(request.id, me)).body).toEqual({ id: request.id, assigneeId: me, assigneeType: 'member' });
  });

  test('an assignment body with an unknown field is 400 at its path', async () => {
    const refused = await api(app, 'POST', `/v1/requests/${request.id}/assign`, { token: acme.admin.access_token, body: { assigneeId: grace.id, role: 'x' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: 'role', message: expect.any(String) }]);
  });
});

describe('the organization declines', () => {
  test('decline: status declined, the reason shown to the requester, the receipt re-issued as declined', async () => {
    const request = await open(ada);
    const declined = await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token: acme.admin.access_token, body: { reason: 'We hold no claims for you.' } });

    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ id: request.id, status: 'declined', decline: { declinedAt: '2026-11-21T10:00:00.000Z', reason: 'We hold no claims for you.' } });
    const seen = await api(app, 'GET', `/v1/requests/${request.id}`, { token: ada.tokens.access_token });
    expect(seen.body.decline.reason).toBe('We hold no claims for you.');
    const receipt = await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: ada.tokens.access_token });
    expect(await verifyWithPublishedKeys(receipt.body.receipt)).toMatchObject({ status: 'declined', declinedAt: '2026-11-21T10:00:00.000Z' });
  });

  test('decline then assign is 409, and so is declining twice', async () => {
    const request = await open(ada);
    expect((await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token: acme.admin.access_token })).status).toBe(200);

    const assigned = await assign(request.id, grace.id);
    expect(assigned.status).toBe(409);
    expect(assigned.body.code).toBe('conflict');
    const again = await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token: acme.admin.access_token, body: {} });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
  });

  test('a decline body with an unknown field is 400', async () => {
    const request = await open(ada);
    const refused = await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token: acme.admin.access_token, body: { why: 'no' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: 'why', message: expect.any(String) }]);
  });
});

describe('the requester withdraws consent', () => {
  test('withdraw: status withdrawn, and the new receipt says so and verifies', async () => {
    const request = await open(ada);
    await assign(request.id, grace.id);

    const withdrawn = await api(app, 'POST', `/v1/requests/${request.id}/withdraw`, { token: ada.tokens.access_token });

    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body).toMatchObject({ id: request.id, status: 'withdrawn', consent: { withdrawnAt: '2026-11-21T10:00:00.000Z' } });
    const receipt = await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: ada.tokens.access_token });
    expect(receipt.body.receipt).not.toBe(request.consent.receipt);
    const payload = await verifyWithPublishedKeys(receipt.body.receipt);
    expect(payload).toMatchObject({ status: 'withdrawn', withdrawnAt: '2026-11-21T10:00:00.000Z', requestId: request.id, piiPrincipalId: ada.id });
    expect(payload.consentReceiptID).not.toBe((await verifyWithPublishedKeys(request.consent.receipt)).consentReceiptID);
    // The organization sees the withdrawal too, and can no longer reassign.
    expect((await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: grace.tokens.access_token })).body.payload.status).toBe('withdrawn');
    expect((await assign(request.id, henry.id)).status).toBe(409);
  });

  test('withdrawing twice answers the same state and records one withdrawal', async () => {
    const request = await open(ada);
    const first = await api(app, 'POST', `/v1/requests/${request.id}/withdraw`, { token: ada.tokens.access_token });
    const receiptAfterFirst = (await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: ada.tokens.access_token })).body.receipt;
    const second = await api(app, 'POST', `/v1/requests/${request.id}/withdraw`, { token: ada.tokens.access_token });

    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect((await api(app, 'GET', `/v1/requests/${request.id}/consent`, { token: ada.tokens.access_token })).body.receipt).toBe(receiptAfterFirst);
    const events = await app.services.store.query(
      sql(`SELECT seq FROM audit_events WHERE chain = @chain AND action = 'consent.withdrawn' AND target_id = @id`, {
        chain: p.text(`requester:${ada.id}`),
        id: p.text(request.id),
      }),
    );
    expect(events).toHaveLength(1);
  });

  test("withdrawing another requester's request is 404 and changes nothing", async () => {
    const request = await open(ada);
    const refused = await api(app, 'POST', `/v1/requests/${request.id}/withdraw`, { token: bob.tokens.access_token });
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('not_found');
    expect((await api(app, 'GET', `/v1/requests/${request.id}`, { token: ada.tokens.access_token })).body.status).toBe('open');
  });

  test('only the requester withdraws: admins, members and services get 403', async () => {
    const request = await open(ada);
    await assign(request.id, grace.id);
    for (const token of [acme.admin.access_token, grace.tokens.access_token, backend.token]) {
      expect((await api(app, 'POST', `/v1/requests/${request.id}/withdraw`, { token })).status).toBe(403);
    }
  });

  test('a declined request can still have its consent withdrawn', async () => {
    const request = await open(ada);
    await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token: acme.admin.access_token });
    const withdrawn = await api(app, 'POST', `/v1/requests/${request.id}/withdraw`, { token: ada.tokens.access_token });
    expect(withdrawn.body).toMatchObject({ status: 'withdrawn', decline: { declinedAt: expect.any(String) }, consent: { withdrawnAt: expect.any(String) } });
  });
});

describe('free text is encrypted at rest', () => {
  test('purpose, message and decline reason never appear in plaintext in the columns or the SQLite files', async () => {
    const request = await open(ada, { message: MESSAGE });
    await api(app, 'POST', `/v1/requests/${request.id}/decline`, { token: acme.admin.access_token, body: { reason: 'REASON-MARKER-51b2' } });

    const [row] = await app.services.store.query<{ purpose: Buffer; message: Buffer; decline_reason: Buffer; consent_receipt: Buffer; categories: string }>(
      sql('SELECT purpose, message, decline_reason, consent_receipt, categories FROM requests WHERE id = @id', { id: p.text(request.id) }),
    );
    const raw = Buffer.concat([row!.purpose, row!.message, row!.decline_reason, row!.consent_receipt]);
    for (const marker of ['PURPOSE-MARKER-7f3a', 'MESSAGE-MARKER-9c1d', 'REASON-MARKER-51b2']) expect(raw.includes(Buffer.from(marker))).toBe(false);
    // Inside a receipt the purpose is base64url: that form must not show either.
    expect(raw.includes(Buffer.from(Buffer.from(PURPOSE).toString('base64url').slice(0, 24)))).toBe(false);
    expect(JSON.parse(row!.categories)).toEqual(['contact', 'financial']);

    const files = fs.readdirSync(app.dataDir).filter((name) => name.startsWith('connectid.sqlite'));
    expect(files).toContain('connectid.sqlite');
    for (const file of files) {
      const bytes = fs.readFileSync(path.join(app.dataDir, file));
      for (const marker of ['PURPOSE-MARKER-7f3a', 'MESSAGE-MARKER-9c1d', 'REASON-MARKER-51b2']) expect(bytes.includes(Buffer.from(marker))).toBe(false);
    }
  });
});

describe('every change is audited, in the organization chain and the requester chain', () => {
  test('open, assign, decline and withdraw appear in both chains, without free text', async () => {
    const assigned = await open(ada);
    await assign(assigned.id, grace.id);
    await api(app, 'POST', `/v1/requests/${assigned.id}/withdraw`, { token: ada.tokens.access_token });
    const declined = await open(ada);
    await api(app, 'POST', `/v1/requests/${declined.id}/decline`, { token: acme.admin.access_token, body: { reason: 'REASON-MARKER-51b2' } });

    const orgAudit = await api(app, 'GET', `/v1/organizations/${acme.organizationId}/audit?limit=200`, { token: acme.admin.access_token });
    const mine = await api(app, 'GET', '/v1/me/audit?limit=200', { token: ada.tokens.access_token });
    expect(mine.status).toBe(200);
    for (const log of [orgAudit.body.items, mine.body.items]) {
      const about = (id: string) => log.filter((event: { target: { id: string } | null }) => event.target?.id === id).map((event: { action: string }) => event.action);
      expect(about(assigned.id)).toEqual(['consent.withdrawn', 'request.assigned', 'request.opened']);
      expect(about(declined.id)).toEqual(['request.declined', 'request.opened']);
      const text = JSON.stringify(log);
      expect(text).not.toContain('PURPOSE-MARKER');
      expect(text).not.toContain('REASON-MARKER');
    }
    const assignment = mine.body.items.find((event: { action: string; target: { id: string } }) => event.action === 'request.assigned' && event.target.id === assigned.id);
    expect(assignment).toMatchObject({ actor: { type: 'user' }, details: { assigneeType: 'member', assigneeId: grace.id } });

    const verification = await verifyAudit(app.services.store, app.services);
    expect(verification.problems).toEqual([]);
  });

  test("GET /v1/me/audit shows the requester's own events only", async () => {
    const adas = await open(ada);
    const bobs = await open(bob);

    const forBob = await api(app, 'GET', '/v1/me/audit?limit=200', { token: bob.tokens.access_token });
    const targets = forBob.body.items.map((event: { target: { id: string } | null }) => event.target?.id);
    expect(targets).toContain(bobs.id);
    expect(targets).not.toContain(adas.id);
    // A member's own chain holds nothing about requests they were assigned: those are in the org and requester chains.
    const forGrace = await api(app, 'GET', '/v1/me/audit', { token: grace.tokens.access_token });
    expect(forGrace.status).toBe(200);
    expect(forGrace.body.items.some((event: { action: string }) => event.action.startsWith('request.'))).toBe(false);
  });

  test('/v1/me/audit pages with a cursor and refuses a service principal', async () => {
    const page = await api(app, 'GET', '/v1/me/audit?limit=1', { token: ada.tokens.access_token });
    expect(page.body.items).toHaveLength(1);
    const next = await api(app, 'GET', `/v1/me/audit?limit=1&cursor=${page.body.nextCursor}`, { token: ada.tokens.access_token });
    expect(next.body.items[0].seq).toBeLessThan(page.body.items[0].seq);
    expect((await api(app, 'GET', '/v1/me/audit?limit=0', { token: ada.tokens.access_token })).status).toBe(400);
    expect((await api(app, 'GET', '/v1/me/audit', { token: backend.token })).status).toBe(403);
    expect((await api(app, 'GET', '/v1/me/audit')).status).toBe(401);
  });
});

test('a receipt names its signing key in the header, and that key is in the JWKS', async () => {
  const request = await open(ada);
  const { kid } = decodeProtectedHeader(request.consent.receipt);
  const jwks = await api(app, 'GET', '/.well-known/jwks.json');
  expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toContain(kid);
});
