/**
 * Walks the route table: every non-public route refuses no token, an expired token, a token signed by a
 * foreign key, an unsigned (`alg: none`) token, and every role its policy does not name. Every sensitive route
 * demands a recent MFA (RFC 9470 step-up), and an enrollment-only token opens the factor routes and nothing else.
 */
import { generateKeyPair, SignJWT, UnsecuredJWT, decodeProtectedHeader } from 'jose';
import { routes } from '../../lib/app/routeTable';
import type { AuthPolicy, HttpMethod, Role, RouteDefinition } from '../../lib/http/route';
import { ROLES } from '../../lib/http/route';
import { startTestApp, type TestApp } from '../helpers/testApp';
import { api, basic, bootstrapOperator, createApiKey, createOrganizationWithAdmin, inviteAndJoin, login, mailedToken, PASSWORD, tokenRequest } from '../helpers/identity';

/** GET, HEAD and DELETE carry no body (fetch refuses one on GET and HEAD). */
const bodyFor = (method: string) => (['GET', 'HEAD', 'DELETE'].includes(method) ? undefined : {});

type GuardedRoute = RouteDefinition & { auth: Exclude<AuthPolicy, 'public'> };
const guarded = routes.filter((route): route is GuardedRoute => route.auth !== 'public');

function pathOf(route: RouteDefinition, organizationId: string): string {
  return `/${route.route.replace('{orgId}', organizationId).replace(/\{\*?([A-Za-z0-9_]+)\??\}/g, 'probe')}`;
}

function callsOf(organizationId: string): { method: HttpMethod; path: string; route: GuardedRoute }[] {
  return guarded.flatMap((route) => route.methods.map((method) => ({ method, path: pathOf(route, organizationId), route })));
}

/**
 * Routes that must demand step-up (MFA within 15 minutes): downloads, API key create/rotate/revoke, member role
 * changes, factor changes and resets. Removing the flag from any of them fails this test.
 */
const SENSITIVE_ROUTES = [
  'createApiKey',
  'rotateApiKey',
  'revokeApiKey',
  'updateMember',
  'createFactor',
  'verifyFactor',
  'deleteFactor',
  'createRecoveryCodes',
  'resetMemberFactors',
  'resetUserFactors',
  // The delivery download joins the list once its route exists (deliveries issue).
  ...(routes.some((route) => route.name === 'downloadDeliveryItem') ? ['downloadDeliveryItem'] : []),
];
const stepUpRoutes = guarded.filter((route) => route.auth.stepUp);

let app: TestApp;
let organizationId: string;
const tokenFor = {} as Record<Role, string>;
const refreshTokenFor = {} as Record<Exclude<Role, 'service'>, string>;

beforeAll(async () => {
  app = await startTestApp();
  const operator = await bootstrapOperator(app);
  const acme = await createOrganizationWithAdmin(app, operator, 'Acme', 'admin@acme.example');
  organizationId = acme.organizationId;
  await inviteAndJoin(app, acme.admin, organizationId, 'member@acme.example');
  const key = await createApiKey(app, acme.admin, organizationId);
  await api(app, 'POST', '/v1/requesters', { body: { email: 'req@example.org', password: PASSWORD, name: 'Req' } });
  await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, 'req@example.org', 'verify-email') } });
  const member = await login(app, 'member@acme.example');
  const requester = await login(app, 'req@example.org');
  tokenFor.operator = operator.access_token;
  tokenFor.org_admin = acme.admin.access_token;
  tokenFor.org_member = member.access_token;
  tokenFor.requester = requester.access_token;
  tokenFor.service = (await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).body.access_token;
  refreshTokenFor.operator = operator.refresh_token!;
  refreshTokenFor.org_admin = acme.admin.refresh_token!;
  refreshTokenFor.org_member = member.refresh_token!;
  refreshTokenFor.requester = requester.refresh_token!;
});
afterAll(async () => app.close());

test('there are guarded routes to walk, and every role has a token', () => {
  expect(guarded.length).toBeGreaterThan(5);
  for (const role of ROLES) expect(tokenFor[role]).toMatch(/^ey/);
});

test('every guarded route refuses a call without a token with 401 and a Bearer challenge', async () => {
  for (const { method, path } of callsOf(organizationId)) {
    const response = await api(app, method, path, { body: bodyFor(method) });
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
      const response = await api(app, method, path, { token, body: bodyFor(method) });
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
    }
  }
});

test('every guarded route refuses each role its policy does not name with 403', async () => {
  for (const { method, path, route } of callsOf(organizationId)) {
    for (const role of ROLES.filter((r) => !route.auth.roles.includes(r))) {
      const response = await api(app, method, path, { token: tokenFor[role], body: bodyFor(method) });
      expect({ method, path, role, status: response.status }).toEqual({ method, path, role, status: 403 });
      // A HEAD answer has no body to carry the problem's code; its status says it.
      if (method !== 'HEAD') expect(response.body.code).toBe('forbidden');
    }
  }
});

test('every guarded route refuses an expired token', async () => {
  app.clock.advance(601_000);
  for (const { method, path, route } of callsOf(organizationId)) {
    const response = await api(app, method, path, { token: tokenFor[route.auth.roles[0]!], body: bodyFor(method) });
    expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
  }
});

test('every sensitive route declares step-up, and only routes people call do', () => {
  for (const name of SENSITIVE_ROUTES) {
    const route = routes.find((candidate) => candidate.name === name);
    expect({ name, exists: route !== undefined }).toEqual({ name, exists: true });
    expect({ name, stepUp: route!.auth !== 'public' && route!.auth.stepUp === true }).toEqual({ name, stepUp: true });
  }
  // A service principal never has an MFA: a step-up route open to it could never be called by it.
  for (const route of stepUpRoutes) expect({ name: route.name, service: route.auth.roles.includes('service') }).toEqual({ name: route.name, service: false });
});

test('every step-up route answers 401 insufficient_user_authentication with max_age=900 when the last MFA is older than 15 minutes', async () => {
  expect(stepUpRoutes.length).toBeGreaterThanOrEqual(SENSITIVE_ROUTES.length);
  app.clock.advance(16 * 60 * 1000);
  // Refreshed tokens: valid access tokens of the same sessions, whose MFA is now 16 minutes old.
  const staleFor = {} as Record<string, string>;
  for (const [role, refreshToken] of Object.entries(refreshTokenFor)) {
    const refreshed = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refreshed.status).toBe(200);
    staleFor[role] = refreshed.body.access_token;
  }
  for (const route of stepUpRoutes) {
    for (const method of route.methods) {
      for (const role of route.auth.roles) {
        const path = pathOf(route, organizationId);
        const response = await api(app, method, path, { token: staleFor[role], body: bodyFor(method) });
        expect({ method, path, role, status: response.status, code: response.body.code }).toEqual({ method, path, role, status: 401, code: 'insufficient_user_authentication' });
        const challenge = response.headers.get('www-authenticate') ?? '';
        expect(challenge).toMatch(/^Bearer /);
        expect(challenge).toContain('error="insufficient_user_authentication"');
        expect(challenge).toContain('max_age=900');
      }
    }
  }
});

test('an enrollment-only token is refused with mfa_enrollment_required on every route but the factor routes', async () => {
  await api(app, 'POST', '/v1/requesters', { body: { email: 'enrolling@example.org', password: PASSWORD, name: 'New' } });
  await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, 'enrolling@example.org', 'verify-email') } });
  const answer = await tokenRequest(app, { grant_type: 'password', username: 'enrolling@example.org', password: PASSWORD });
  expect(answer.body.error).toBe('mfa_enrollment_required');
  const token = answer.body.enrollment_token as string;
  const enrollmentRoutes = guarded.filter((route) => route.auth.enrollment).map((route) => route.name).sort();
  expect(enrollmentRoutes).toEqual(['createFactor', 'deleteFactor', 'listFactors', 'verifyFactor']);
  for (const { method, path, route } of callsOf(organizationId)) {
    const response = await api(app, method, path, { token, body: bodyFor(method) });
    // Past the guard: the factor routes answer for themselves (200, 400 for the empty body, 404 for the probe id).
    if (route.auth.enrollment) expect({ method, path, passed: ![401, 403].includes(response.status) }).toEqual({ method, path, passed: true });
    else if (method === 'HEAD') expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 });
    else expect({ method, path, status: response.status, code: response.body.code }).toEqual({ method, path, status: 403, code: 'mfa_enrollment_required' });
  }
});
