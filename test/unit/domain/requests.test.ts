/**
 * The requests use cases on the real stack (SQLite, local keys), called directly with principals: the data
 * categories, the consent receipt, who sees what, what may be delivered to, and the life of a consent.
 */
import { p, sql } from '../../../lib/adapters/sql/params';
import type { Services } from '../../../lib/app/services';
import { findOrCreateUser } from '../../../lib/domain/accounts/users';
import { createApiKey, revokeApiKey, rotateApiKey } from '../../../lib/domain/apiKeys/apiKeys';
import { listAudit, orgChain } from '../../../lib/domain/audit/audit';
import { CATEGORIES, CATEGORY_CODES, categorySchema } from '../../../lib/domain/requests/categories';
import { buildConsentReceipt } from '../../../lib/domain/requests/consentReceipt';
import {
  assignRequest,
  declineRequest,
  getConsentReceipt,
  getRequest,
  listRequests,
  loadDeliverableRequest,
  openRequest,
  PURPOSE_CONTEXT,
  withdrawConsent,
  type OpenRequestInput,
} from '../../../lib/domain/requests/requests';
import { ConsentReceiptPayloadSchema, ConsentReceiptSchema, OpenRequestRequestSchema } from '../../../lib/domain/requests/schemas';
import { verifyJws } from '../../../lib/domain/tokens/accessTokens';
import { ApiError } from '../../../lib/errors';
import type { Principal, Role } from '../../../lib/http/route';
import { jsonSchemas } from '../../../lib/http/schemas';
import { buildOpenApiDocument } from '../../../lib/http/openapi';
import { routes, validateRoutes } from '../../../lib/app/routeTable';
import { definition as assignRequestRoute } from '../../../functions/assignRequest';
import { definition as createRequestRoute } from '../../../functions/createRequest';
import { definition as declineRequestRoute } from '../../../functions/declineRequest';
import { definition as getConsentReceiptRoute } from '../../../functions/getConsentReceipt';
import { definition as getMyAuditRoute } from '../../../functions/getMyAudit';
import { definition as getRequestRoute } from '../../../functions/getRequest';
import { definition as listRequestsRoute } from '../../../functions/listRequests';
import { definition as withdrawConsentRoute } from '../../../functions/withdrawConsent';
import { startTestApp, type TestApp } from '../../helpers/testApp';

const DAY = 86_400_000;

let app: TestApp;
let services: Services;

beforeAll(async () => {
  app = await startTestApp({ routes: [] });
  services = app.services;
});
afterAll(async () => app.close());
beforeEach(() => app.clock.set(new Date('2026-11-21T10:00:00Z')));

// ---------------------------------------------------------------------------------------------
// Fixtures: rows written the way the identity use cases write them, principals as the guard makes them.

function principal(role: Role, subject: string, organizationId: string | null = null): Principal {
  return { subject, role, organizationId, apiKeyId: null, sessionId: null, mfaAt: null, amr: ['pwd'] };
}

async function newOrganization(name: string): Promise<string> {
  const id = services.random.id();
  await services.store.execute(
    sql('INSERT INTO organizations (id, name, created_at) VALUES (@id, @name, @now)', { id: p.text(id), name: p.text(name), now: p.bigint(0) }),
  );
  return id;
}

async function newUser(email: string): Promise<string> {
  const cipher = await services.keyHierarchy.columnCipher();
  const { user } = await services.store.transaction((tx) => findOrCreateUser(tx, { cipher, clock: services.clock, random: services.random }, { email }));
  return user.id;
}

async function newRequester(email: string): Promise<Principal> {
  return principal('requester', await newUser(email));
}

async function newMember(organizationId: string, email: string, role: 'org_admin' | 'org_member' = 'org_member'): Promise<Principal> {
  const id = await newUser(email);
  await services.store.execute(
    sql('INSERT INTO memberships (organization_id, user_id, role, created_at, disabled_at) VALUES (@org, @user, @role, 0, NULL)', {
      org: p.text(organizationId),
      user: p.text(id),
      role: p.text(role),
    }),
  );
  return principal(role, id, organizationId);
}

async function newServicePrincipal(organizationId: string): Promise<{ principal: Principal; keyId: string }> {
  const key = await services.store.transaction((tx) => createApiKey(tx, services, { organizationId, name: 'backend', createdBy: 'admin' }));
  return { principal: { ...principal('service', key.servicePrincipalId, organizationId), apiKeyId: key.id, sessionId: null }, keyId: key.id };
}

function open(requester: Principal, organizationId: string, input: Partial<OpenRequestInput> = {}) {
  return openRequest(services, requester, { organizationId, purpose: 'A copy of my data, please', categories: ['contact'], ...input });
}

async function rejection(work: Promise<unknown>): Promise<ApiError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('Expected an ApiError, but it resolved');
}

async function visibleIds(viewer: Principal): Promise<string[]> {
  return (await listRequests(services, viewer, { page: { limit: 200, after: null } })).items.map((item) => item.id).sort();
}

// ---------------------------------------------------------------------------------------------

describe('data categories', () => {
  test('there are six codes, and only health is a special category (GDPR art. 9)', () => {
    expect(CATEGORY_CODES).toEqual(['contact', 'identity', 'financial', 'employment', 'health', 'other']);
    expect(CATEGORY_CODES.filter((code) => CATEGORIES[code].sensitive)).toEqual(['health']);
    for (const code of CATEGORY_CODES) expect(CATEGORIES[code].label).toEqual(expect.any(String));
  });

  test('every category but other has a schema, published under its name', () => {
    const published = jsonSchemas((name) => name);
    for (const name of ['CategoryContact', 'CategoryIdentity', 'CategoryFinancial', 'CategoryEmployment', 'CategoryHealth']) {
      expect(published[name]).toMatchObject({ type: 'object', additionalProperties: false });
    }
    expect(categorySchema('other')).toBeNull();
    expect(categorySchema('dna')).toBeNull();
    expect(categorySchema('__proto__')).toBeNull();
  });

  test.each(CATEGORY_CODES.filter((code) => code !== 'other'))('the %s schema accepts its own example and refuses an unknown field', (code) => {
    const schema = categorySchema(code)!;
    const example = (schema.meta() as { example: Record<string, unknown> }).example;
    expect(schema.safeParse(example).success).toBe(true);
    expect(schema.safeParse({ ...example, socialSecurityNumber: '078-05-1120' }).success).toBe(false);
    expect(schema.safeParse({}).success).toBe(true);
  });

  test('a contact item with a malformed email or a lower-case country is refused', () => {
    const contact = categorySchema('contact')!;
    expect(contact.safeParse({ emails: ['not an email'] }).success).toBe(false);
    expect(contact.safeParse({ addresses: [{ country: 'gb' }] }).success).toBe(false);
  });

  test('financial amounts are decimal strings, never floats', () => {
    const financial = categorySchema('financial')!;
    expect(financial.safeParse({ transactions: [{ date: '2026-11-02', amount: '-42.50', currency: 'GBP' }] }).success).toBe(true);
    expect(financial.safeParse({ transactions: [{ date: '2026-11-02', amount: -42.5, currency: 'GBP' }] }).success).toBe(false);
  });
});

describe('consent receipts', () => {
  const facts = {
    requestId: 'req-1',
    requesterId: 'user-1',
    organization: { id: 'org-1', name: 'Acme Insurance' },
    purpose: 'Claims history',
    categories: ['contact', 'health'] as const,
    givenAt: new Date('2026-11-21T10:00:00Z'),
    validUntil: new Date('2027-02-19T10:00:00Z'),
    status: 'active' as const,
  };

  test('carry the Kantara v1.1 fields, match the published payload schema, and flag health as sensitive', () => {
    const payload = buildConsentReceipt(services, { ...facts, categories: [...facts.categories] });

    expect(ConsentReceiptPayloadSchema.parse(payload)).toEqual(payload);
    expect(payload).toMatchObject({
      version: 'KI-CR-v1.1.0',
      consentTimestamp: 1795255200,
      piiPrincipalId: 'user-1',
      piiControllers: [{ piiController: 'Acme Insurance', organizationId: 'org-1' }],
      sensitive: true,
      spiCat: ['health'],
      status: 'active',
      validUntil: '2027-02-19T10:00:00.000Z',
    });
    expect(payload.services[0]!.purposes[0]!.termination).toBe(
      'valid until 2027-02-19T10:00:00.000Z or withdrawal; delivered data is destroyed 32 days after release',
    );
    expect(payload).not.toHaveProperty('withdrawnAt');
  });

  test('are not sensitive without a special category, and each gets its own id', () => {
    const a = buildConsentReceipt(services, { ...facts, categories: ['contact'] });
    const b = buildConsentReceipt(services, { ...facts, categories: ['contact'] });
    expect(a).toMatchObject({ sensitive: false, spiCat: [] });
    expect(a.consentReceiptID).not.toBe(b.consentReceiptID);
  });

  test('the documented example matches the schema it documents', () => {
    const example = (ConsentReceiptSchema.meta() as { example: unknown }).example;
    expect(ConsentReceiptSchema.safeParse(example).success).toBe(true);
    expect(OpenRequestRequestSchema.safeParse((OpenRequestRequestSchema.meta() as { example: unknown }).example).success).toBe(true);
  });
});

describe('opening a request', () => {
  let organizationId: string;
  let requester: Principal;
  beforeAll(async () => {
    organizationId = await newOrganization('Acme Insurance');
    requester = await newRequester('opener@example.org');
  });

  test('records consent for 90 days by default and signs a receipt that verifies with the service keys', async () => {
    const opened = await open(requester, organizationId, { categories: ['identity', 'health'] });

    expect(opened.consent).toMatchObject({ givenAt: '2026-11-21T10:00:00.000Z', validUntil: '2027-02-19T10:00:00.000Z', withdrawnAt: null });
    const { payload } = await verifyJws(services.signingKeys, opened.consent.receipt);
    expect(payload).toMatchObject({ requestId: opened.id, piiPrincipalId: requester.subject, status: 'active', spiCat: ['health'] });
  });

  test('accepts a consent of exactly 365 days, and refuses one a millisecond longer or not in the future', async () => {
    const now = app.clock.now().getTime();
    await expect(open(requester, organizationId, { validUntil: new Date(now + 365 * DAY).toISOString() })).resolves.toBeDefined();
    for (const validUntil of [new Date(now + 365 * DAY + 1).toISOString(), new Date(now).toISOString()]) {
      const error = await rejection(open(requester, organizationId, { validUntil }));
      expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
      expect(error.extra.errors).toEqual([{ path: 'validUntil', message: expect.any(String) }]);
    }
  });

  test('refuses an organization that does not exist with 404', async () => {
    expect(await rejection(open(requester, 'no-such-organization'))).toMatchObject({ status: 404, code: 'not_found' });
  });

  test('refuses anyone but a requester, even if a route were miswired', async () => {
    const admin = await newMember(organizationId, 'admin-opener@acme.example', 'org_admin');
    expect(await rejection(open(admin, organizationId))).toMatchObject({ status: 403, code: 'forbidden' });
  });

  test('stores categories as a JSON array and the purpose sealed to its own column', async () => {
    const opened = await open(requester, organizationId, { categories: ['financial', 'contact'], purpose: 'Mortgage switch' });
    const [row] = await services.store.query<{ categories: string; purpose: Buffer; message: Buffer | null }>(
      sql('SELECT categories, purpose, message FROM requests WHERE id = @id', { id: p.text(opened.id) }),
    );
    expect(row!.categories).toBe('["financial","contact"]');
    expect(row!.message).toBeNull();
    const cipher = await services.keyHierarchy.columnCipher();
    expect(cipher.decrypt(row!.purpose, PURPOSE_CONTEXT)).toBe('Mortgage switch');
    expect(() => cipher.decrypt(row!.purpose, 'requests.message')).toThrow();
  });

  test('is audited in the organization chain and the requester chain, in one transaction with the row', async () => {
    const opened = await open(requester, organizationId);
    const events = await services.store.query<{ chain: string; action: string; actor_id: string }>(
      sql('SELECT chain, action, actor_id FROM audit_events WHERE target_id = @id ORDER BY chain', { id: p.text(opened.id) }),
    );
    expect(events).toEqual([
      { chain: `org:${organizationId}`, action: 'request.opened', actor_id: requester.subject },
      { chain: `requester:${requester.subject}`, action: 'request.opened', actor_id: requester.subject },
    ]);
  });
});

describe('who sees which request', () => {
  let acme: string;
  let globex: string;
  const who = {} as Record<'ada' | 'bob' | 'acmeAdmin' | 'grace' | 'henry' | 'globexAdmin' | 'service' | 'otherService' | 'operator', Principal>;
  const request = {} as Record<'adaAssignedToGrace' | 'adaAssignedToService' | 'bobUnassigned' | 'adaToGlobex', string>;

  beforeAll(async () => {
    acme = await newOrganization('Acme');
    globex = await newOrganization('Globex');
    who.ada = await newRequester('ada-v@example.org');
    who.bob = await newRequester('bob-v@example.org');
    who.acmeAdmin = await newMember(acme, 'admin-v@acme.example', 'org_admin');
    who.grace = await newMember(acme, 'grace-v@acme.example');
    who.henry = await newMember(acme, 'henry-v@acme.example');
    who.globexAdmin = await newMember(globex, 'admin-v@globex.example', 'org_admin');
    who.service = (await newServicePrincipal(acme)).principal;
    who.otherService = (await newServicePrincipal(acme)).principal;
    who.operator = principal('operator', await newUser('operator-v@connectid.example'));

    request.adaAssignedToGrace = (await open(who.ada, acme)).id;
    request.adaAssignedToService = (await open(who.ada, acme)).id;
    request.bobUnassigned = (await open(who.bob, acme)).id;
    request.adaToGlobex = (await open(who.ada, globex)).id;
    await assignRequest(services, who.acmeAdmin, request.adaAssignedToGrace, { assigneeId: who.grace.subject });
    await assignRequest(services, who.acmeAdmin, request.adaAssignedToService, { assigneeId: who.service.subject });
  });

  test.each([
    ['ada (requester) sees the requests she opened', 'ada', ['adaAssignedToGrace', 'adaAssignedToService', 'adaToGlobex']],
    ['bob (requester) sees only his own', 'bob', ['bobUnassigned']],
    ["acme's admin sees every request to acme", 'acmeAdmin', ['adaAssignedToGrace', 'adaAssignedToService', 'bobUnassigned']],
    ['grace (member) sees only the one assigned to her', 'grace', ['adaAssignedToGrace']],
    ['henry (member, nothing assigned) sees nothing', 'henry', []],
    ['the service principal sees only the one assigned to it', 'service', ['adaAssignedToService']],
    ["another key's service principal sees nothing", 'otherService', []],
    ["globex's admin sees only globex's", 'globexAdmin', ['adaToGlobex']],
    ['an operator sees nothing', 'operator', []],
  ] as const)('%s', async (_case, viewer, expected) => {
    expect(await visibleIds(who[viewer])).toEqual(expected.map((name) => request[name]).sort());
    // And every other request is 404, for the request and for its receipt alike.
    for (const [name, id] of Object.entries(request)) {
      if ((expected as readonly string[]).includes(name)) {
        await expect(getRequest(services, who[viewer], id)).resolves.toMatchObject({ id });
      } else {
        expect(await rejection(getRequest(services, who[viewer], id))).toMatchObject({ status: 404, code: 'not_found' });
        expect(await rejection(getConsentReceipt(services, who[viewer], id))).toMatchObject({ status: 404, code: 'not_found' });
      }
    }
  });

  test('a member token without an organization sees nothing', async () => {
    expect(await visibleIds({ ...who.grace, organizationId: null })).toEqual([]);
  });

  test('pages newest first, breaking ties by id, and the cursor walks every request once', async () => {
    const requester = await newRequester('pager@example.org');
    const opened: string[] = [];
    for (let i = 0; i < 5; i++) {
      opened.push((await open(requester, acme)).id);
      // Two requests in the same millisecond, then time moves on.
      if (i % 2 === 1) app.clock.advance(1000);
    }
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof listRequests>> = await listRequests(services, requester, { page: { limit: 2, after } });
      seen.push(...page.items.map((item) => item.id));
      after = page.nextCursor === null ? null : Buffer.from(page.nextCursor, 'base64url').toString('utf8');
    } while (after !== null);

    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(opened));
    const created = await Promise.all(seen.map(async (id) => Date.parse((await getRequest(services, requester, id)).createdAt)));
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  test('a forged cursor is 400', async () => {
    const error = await rejection(listRequests(services, who.ada, { page: { limit: 2, after: 'not-a-key' } }));
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  test('filters by status', async () => {
    await declineRequest(services, who.acmeAdmin, request.bobUnassigned, {});
    const declined = await listRequests(services, who.acmeAdmin, { status: 'declined', page: { limit: 200, after: null } });
    const open = await listRequests(services, who.acmeAdmin, { status: 'open', page: { limit: 200, after: null } });
    expect(declined.items.map((item) => item.id)).toEqual([request.bobUnassigned]);
    expect(open.items.map((item) => item.id)).toEqual(expect.arrayContaining([request.adaAssignedToGrace, request.adaAssignedToService]));
    expect(open.items.every((item) => item.status === 'open')).toBe(true);
    expect(open.items.map((item) => item.id)).not.toContain(request.bobUnassigned);
  });
});

describe('assigning', () => {
  let acme: string;
  let admin: Principal;
  let requester: Principal;
  beforeAll(async () => {
    acme = await newOrganization('Acme assign');
    admin = await newMember(acme, 'admin-a@acme.example', 'org_admin');
    requester = await newRequester('assign@example.org');
  });

  test("a service principal stays assignable across its key's rotation, and not after its last key is revoked", async () => {
    const { principal: service, keyId } = await newServicePrincipal(acme);
    const rotated = await services.store.transaction((tx) => rotateApiKey(tx, services, { organizationId: acme, keyId, rotatedBy: admin.subject }));
    const { id } = await open(requester, acme);
    await expect(assignRequest(services, admin, id, { assigneeId: service.subject })).resolves.toMatchObject({ assigneeType: 'service' });

    await services.store.transaction((tx) => revokeApiKey(tx, services, { organizationId: acme, keyId: rotated.id }));
    const error = await rejection(assignRequest(services, admin, id, { assigneeId: service.subject }));
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(error.extra.errors).toEqual([{ path: 'assigneeId', message: expect.any(String) }]);
  });

  test('a member whose account is disabled is not assignable', async () => {
    const member = await newMember(acme, 'disabled-account@acme.example');
    await services.store.execute(sql('UPDATE users SET disabled_at = 1 WHERE id = @id', { id: p.text(member.subject) }));
    const { id } = await open(requester, acme);
    expect(await rejection(assignRequest(services, admin, id, { assigneeId: member.subject }))).toMatchObject({ status: 400 });
  });

  test('reassignment is audited with the previous assignee', async () => {
    const first = await newMember(acme, 'first@acme.example');
    const second = await newMember(acme, 'second@acme.example');
    const { id } = await open(requester, acme);
    await assignRequest(services, admin, id, { assigneeId: first.subject });
    await assignRequest(services, admin, id, { assigneeId: second.subject });

    const page = await listAudit(services.store, services, orgChain(acme), { action: 'request.assigned', limit: 1 });
    expect(page.items[0]).toMatchObject({ target: { id }, details: { assigneeId: second.subject, previousAssigneeId: first.subject } });
  });
});

describe('what may be delivered to (loadDeliverableRequest)', () => {
  let acme: string;
  let globex: string;
  let admin: Principal;
  let grace: Principal;
  let henry: Principal;
  let otto: Principal;
  let service: Principal;
  let requester: Principal;

  beforeAll(async () => {
    acme = await newOrganization('Acme deliver');
    globex = await newOrganization('Globex deliver');
    admin = await newMember(acme, 'admin-d@acme.example', 'org_admin');
    grace = await newMember(acme, 'grace-d@acme.example');
    henry = await newMember(acme, 'henry-d@acme.example');
    otto = await newMember(globex, 'otto-d@globex.example', 'org_admin');
    service = (await newServicePrincipal(acme)).principal;
    requester = await newRequester('deliver@example.org');
  });

  async function assignedTo(assignee: Principal, categories: OpenRequestInput['categories'] = ['contact']) {
    const { id } = await open(requester, acme, { categories });
    await assignRequest(services, admin, id, { assigneeId: assignee.subject });
    return id;
  }

  const load = (who: Principal, id: string) => loadDeliverableRequest(services.store, who, id, app.clock.now());

  test('gives the assigned member and the assigned service principal what a delivery needs', async () => {
    const toGrace = await assignedTo(grace, ['contact', 'financial']);
    await expect(load(grace, toGrace)).resolves.toEqual({ id: toGrace, organizationId: acme, requesterId: requester.subject, categories: ['contact', 'financial'] });
    const toService = await assignedTo(service);
    await expect(load(service, toService)).resolves.toMatchObject({ id: toService });
  });

  test('works inside the transaction that writes the delivery', async () => {
    const id = await assignedTo(grace);
    await expect(services.store.transaction((tx) => loadDeliverableRequest(tx, grace, id, app.clock.now()))).resolves.toMatchObject({ id });
  });

  test('is 404 for whoever may not see the request: another member, another organization, another service, an operator', async () => {
    const id = await assignedTo(grace);
    const otherService = (await newServicePrincipal(acme)).principal;
    for (const who of [henry, otto, otherService, principal('operator', 'op')]) {
      expect(await rejection(load(who, id))).toMatchObject({ status: 404, code: 'not_found' });
    }
    expect(await rejection(load(grace, 'no-such-request'))).toMatchObject({ status: 404 });
  });

  test('is 409 for an admin who sees it but is not the assignee; an admin who assigned it to themselves may deliver', async () => {
    const id = await assignedTo(grace);
    expect(await rejection(load(admin, id))).toMatchObject({ status: 409, code: 'conflict' });
    const own = await assignedTo(admin);
    await expect(load(admin, own)).resolves.toMatchObject({ id: own });
  });

  test('is 409 once consent is withdrawn or the request declined', async () => {
    const withdrawn = await assignedTo(grace);
    await withdrawConsent(services, requester, withdrawn);
    expect(await rejection(load(grace, withdrawn))).toMatchObject({ status: 409, code: 'conflict' });

    const declined = await assignedTo(grace);
    await declineRequest(services, admin, declined, {});
    expect(await rejection(load(grace, declined))).toMatchObject({ status: 409, code: 'conflict' });
  });

  test('is allowed until the last millisecond of consent, and 409 from validUntil on', async () => {
    const validUntil = new Date(app.clock.now().getTime() + 10 * DAY);
    const { id } = await open(requester, acme, { validUntil: validUntil.toISOString() });
    await assignRequest(services, admin, id, { assigneeId: grace.subject });

    app.clock.set(new Date(validUntil.getTime() - 1));
    await expect(load(grace, id)).resolves.toMatchObject({ id });
    app.clock.set(validUntil);
    expect(await rejection(load(grace, id))).toMatchObject({ status: 409, code: 'conflict' });
  });
});

describe('withdrawing consent', () => {
  let acme: string;
  let requester: Principal;
  beforeAll(async () => {
    acme = await newOrganization('Acme withdraw');
    requester = await newRequester('withdraw@example.org');
  });

  test('replaces the receipt with a signed one that says withdrawn, and is idempotent', async () => {
    const { id, consent } = await open(requester, acme);
    app.clock.advance(60_000);
    const first = await withdrawConsent(services, requester, id);
    const receipt = await getConsentReceipt(services, requester, id);

    expect(first).toMatchObject({ status: 'withdrawn', consent: { withdrawnAt: '2026-11-21T10:01:00.000Z', givenAt: '2026-11-21T10:00:00.000Z' } });
    expect(receipt.receipt).not.toBe(consent.receipt);
    const { payload } = await verifyJws(services.signingKeys, receipt.receipt);
    expect(payload).toMatchObject({ status: 'withdrawn', withdrawnAt: '2026-11-21T10:01:00.000Z', consentTimestamp: 1795255200 });

    app.clock.advance(60_000);
    await expect(withdrawConsent(services, requester, id)).resolves.toEqual(first);
    expect((await getConsentReceipt(services, requester, id)).receipt).toBe(receipt.receipt);
  });

  test("is 404 for another requester's request", async () => {
    const { id } = await open(requester, acme);
    const other = await newRequester('other-withdraw@example.org');
    expect(await rejection(withdrawConsent(services, other, id))).toMatchObject({ status: 404, code: 'not_found' });
  });

  test('is refused to an org admin even when they opened the request with their requester account', async () => {
    // One person, two roles: their admin token must not act as their requester self.
    const admin = await newMember(acme, 'withdraw@example.org', 'org_admin');
    const { id } = await open(requester, acme);
    expect(admin.subject).toBe(requester.subject);
    expect(await rejection(withdrawConsent(services, admin, id))).toMatchObject({ status: 403, code: 'forbidden' });
  });
});

describe('receipts outlive a signing-key rotation', () => {
  test('a stored receipt still verifies 16 minutes after a normal rotation, and not after a compromised one', async () => {
    const acme = await newOrganization('Acme receipts');
    const requester = await newRequester('receipts@example.org');
    const { id } = await open(requester, acme);

    await services.signingKeys.rotate();
    app.clock.advance(16 * 60_000);
    const { receipt } = await getConsentReceipt(services, requester, id);
    await expect(verifyJws(services.signingKeys, receipt)).resolves.toMatchObject({ payload: { requestId: id } });

    await services.signingKeys.rotate({ compromised: true });
    await expect(verifyJws(services.signingKeys, receipt)).rejects.toMatchObject({ code: 'invalid_jws' });
  });
});

describe('the request routes', () => {
  const requestRoutes = [
    createRequestRoute,
    listRequestsRoute,
    getRequestRoute,
    assignRequestRoute,
    declineRequestRoute,
    withdrawConsentRoute,
    getConsentReceiptRoute,
    getMyAuditRoute,
  ];
  // Before they are registered, the table is routes + these; after, `routes` already holds them.
  const table = [...routes, ...requestRoutes.filter((route) => !routes.some((known) => known.name === route.name))];

  test('fit into the route table without clashing, and none is public', () => {
    expect(() => validateRoutes(table)).not.toThrow();
    for (const route of requestRoutes) expect(route.auth).not.toBe('public');
    expect(requestRoutes.filter((route) => route.auth !== 'public' && route.auth.roles.includes('operator')).map((route) => route.name)).toEqual(['getMyAudit']);
  });

  test('are documented, and every schema they name is in the OpenAPI document', () => {
    const document = buildOpenApiDocument(table, 'test') as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/requests', '/v1/requests/{id}', '/v1/requests/{id}/assign', '/v1/requests/{id}/decline', '/v1/requests/{id}/withdraw', '/v1/requests/{id}/consent', '/v1/me/audit']),
    );
    const ours = requestRoutes.map((route) => document.paths[`/${route.route}`]);
    const references = [...JSON.stringify(ours).matchAll(/"#\/components\/schemas\/([A-Za-z0-9]+)"/g)].map((match) => match[1]!);
    for (const name of new Set(references)) expect(document.components.schemas).toHaveProperty(name);
    expect(references).toEqual(expect.arrayContaining(['OpenRequestRequest', 'OpenedRequest', 'Request', 'RequestList', 'AssignRequestRequest', 'AssignedRequest', 'DeclineRequestRequest', 'ConsentReceipt']));
  });
});
