/**
 * Walks the route table: every non-public route refuses no token, an expired token, a token signed by a
 * foreign key, an unsigned (`alg: none`) token, and every role its policy does not name.
 */
import { generateKeyPair, SignJWT, UnsecuredJWT, decodeProtectedHeader } from 'jose';
import { routes } from '../../lib/app/routeTable';
import type { HttpMethod, Role, RouteDefinition } from '../../lib/http/route';
import { ROLES } from '../../lib/http/route';
import { startTestApp, type TestApp } from '../helpers/testApp';
import { api, basic, bootstrapOperator, createApiKey, createOrganizationWithAdmin, inviteAndJoin, login, mailedToken, PASSWORD, tokenRequest } from '../helpers/identity';

type GuardedRoute = RouteDefinition & { auth: { roles: readonly Role[] } };
const guarded = routes.filter((route): route is GuardedRoute => route.auth !== 'public');

function pathOf(route: RouteDefinition, organizationId: string): string {
  return `/${route.route.replace('{orgId}', organizationId).replace(/\{\*?([A-Za-z0-9_]+)\??\}/g, 'probe')}`;
}

function callsOf(organizationId: string): { method: HttpMethod; path: string; route: GuardedRoute }[] {
  return guarded.flatMap((route) => route.methods.map((method) => ({ method, path: pathOf(route, organizationId), route })));
}

let app: TestApp;
let organizationId: string;
const tokenFor = {} as Record<Role, string>;

beforeAll(async () => {
  app = await startTestApp();
  const operator = await bootstrapOperator(app);
  const acme = await createOrganizationWithAdmin(app, operator, 'Acme', 'admin@acme.example');
  organizationId = acme.organizationId;
  await inviteAndJoin(app, acme.admin, organizationId, 'member@acme.example');
  const key = await createApiKey(app, acme.admin, organizationId);
  await api(app, 'POST', '/v1/requesters', { body: { email: 'req@example.org', password: PASSWORD, name: 'Req' } });
  await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, 'req@example.org', 'verify-email') } });
  tokenFor.operator = operator.access_token;
  tokenFor.org_admin = acme.admin.access_token;
  tokenFor.org_member = (await login(app, 'member@acme.example')).access_token;
  tokenFor.requester = (await login(app, 'req@example.org')).access_token;
  tokenFor.service = (await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).body.access_token;
});
afterAll(async () => app.close());

test('there are guarded routes to walk, and every role has a token', () => {
  expect(guarded.length).toBeGreaterThan(5);
  for (const role of ROLES) expect(tokenFor[role]).toMatch(/^ey/);
});

test('every guarded route refuses a call without a token with 401 and a Bearer challenge', async () => {
  for (const { method, path } of callsOf(organizationId)) {
    const response = await api(app, method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  }
});

test('every guarded route refuses a token signed by a foreign key, an unsigned token, and garbage', async () => {
  const realKid = decodeProtectedHeader(tokenFor.org_admin).kid!;
  const foreign = await generateKeyPair('ES256');
  const claims = { role: 'org_admin', org: organizationId, akid: null, sid: null, amr: ['pwd'], auth_time: Math.floor(app.clock.now().getTime() / 1000) };
  const now = Math.floor(app.clock.now().getTime() / 1000);
  const forged = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: realKid })
    .setIssuer(app.services.config.publicBaseUrl)
    .setAudience(`${app.services.config.publicBaseUrl}/v1`)
    .setSubject('someone')
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .setJti('forged')
    .sign(foreign.privateKey);
  const unsigned = new UnsecuredJWT(claims)
    .setIssuer(app.services.config.publicBaseUrl)
    .setAudience(`${app.services.config.publicBaseUrl}/v1`)
    .setSubject('someone')
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .encode();
  for (const token of [forged, unsigned, 'not.a.token', `${tokenFor.org_admin}x`]) {
    for (const { method, path } of callsOf(organizationId)) {
      const response = await api(app, method, path, { token, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
    }
  }
});

test('every guarded route refuses each role its policy does not name with 403', async () => {
  for (const { method, path, route } of callsOf(organizationId)) {
    for (const role of ROLES.filter((r) => !route.auth.roles.includes(r))) {
      const response = await api(app, method, path, { token: tokenFor[role], body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect({ method, path, role, status: response.status }).toEqual({ method, path, role, status: 403 });
      expect(response.body.code).toBe('forbidden');
    }
  }
});

test('every guarded route refuses an expired token', async () => {
  app.clock.advance(601_000);
  for (const { method, path, route } of callsOf(organizationId)) {
    const response = await api(app, method, path, { token: tokenFor[route.auth.roles[0]!], body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
  }
});
