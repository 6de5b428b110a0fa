/**
 * The identity door, over HTTP against the dev host: API keys that die at once, tokens bound to them,
 * refresh-token reuse, organization isolation, lockout, and the audit trail of it all.
 */
import { cli } from '../helpers/cli';
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

let app: TestApp;
let operator: Tokens;
let acme: { organizationId: string; admin: Tokens };
let globex: { organizationId: string; admin: Tokens };

beforeAll(async () => {
  app = await startTestApp();
  operator = await bootstrapOperator(app);
  acme = await createOrganizationWithAdmin(app, operator, 'Acme Insurance', 'admin@acme.example');
  globex = await createOrganizationWithAdmin(app, operator, 'Globex Bank', 'admin@globex.example');
});
afterAll(async () => app.close());

describe('sign-in and tokens', () => {
  test('an invited admin signs in and the token says who they are', async () => {
    const me = await api(app, 'GET', '/v1/me', { token: acme.admin.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: 'admin@acme.example', role: 'org_admin', organizationId: acme.organizationId, apiKeyId: null });
  });

  test('a wrong password is invalid_grant in RFC 6749 form, the same as an unknown account', async () => {
    const wrong = await tokenRequest(app, { grant_type: 'password', username: 'admin@acme.example', password: 'not the password at all' });
    const unknown = await tokenRequest(app, { grant_type: 'password', username: 'nobody@acme.example', password: 'not the password at all' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual(wrong.body);
  });

  test('the JWKS and discovery document describe the issuer', async () => {
    const discovery = await api(app, 'GET', '/.well-known/openid-configuration');
    expect(discovery.body.issuer).toBe(app.services.config.publicBaseUrl);
    const jwks = await api(app, 'GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.length).toBeGreaterThan(0);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
  });

  test('an unsupported grant and a repeated parameter are refused', async () => {
    expect((await tokenRequest(app, { grant_type: 'implicit' })).body.error).toBe('unsupported_grant_type');
    const repeated = await fetch(`${app.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&username=a&username=b&password=x',
    });
    expect((await repeated.json()).error).toBe('invalid_request');
  });
});

describe('refresh tokens rotate, and reuse kills the family', () => {
  test('a refresh token works once; presenting it again revokes the whole session', async () => {
    const first = await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` });
    const second = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);

    const replay = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');

    // The family is dead: the successor refresh token and the access tokens of the session fail too.
    expect((await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: second.body.refresh_token })).status).toBe(400);
    expect((await api(app, 'GET', '/v1/me', { token: second.body.access_token })).status).toBe(401);
    expect((await api(app, 'GET', '/v1/me', { token: first.access_token })).status).toBe(401);

    const audit = await app.services.store.query<{ action: string }>({
      text: `SELECT action FROM audit_events WHERE chain = @chain AND action = 'token_family.revoked'`,
      params: { chain: { type: 'text', value: `org:${acme.organizationId}` } },
    });
    expect(audit.length).toBeGreaterThan(0);
  });

  test('revoking a refresh token (RFC 7009) ends its session', async () => {
    const tokens = await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` });
    const revoked = await fetch(`${app.url}/v1/oauth/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token! }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect((await api(app, 'GET', '/v1/me', { token: tokens.access_token })).status).toBe(401);
  });
});

describe('API keys: company systems call with the key and a member login', () => {
  test('the secret is shown once; the list shows the prefix and never the secret', async () => {
    const key = await createApiKey(app, acme.admin, acme.organizationId, 'listing');
    expect(key.key).toMatch(/^cid_[A-Za-z0-9_-]{43}$/);
    const list = await api(app, 'GET', `/v1/organizations/${acme.organizationId}/api-keys`, { token: acme.admin.access_token });
    const listed = list.body.items.find((item: { id: string }) => item.id === key.id);
    expect(listed).toMatchObject({ prefix: key.prefix, status: 'active', createdBy: expect.any(String) });
    expect(JSON.stringify(list.body)).not.toContain(key.key);
  });

  test("a member cannot call with the organization's key alone: that is a service principal, not the member", async () => {
    const key = await createApiKey(app, acme.admin, acme.organizationId, 'key-alone');
    const service = await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key));
    expect(service.status).toBe(200);
    expect(service.body.scope).toBe('service');
    // A service principal may not act as a member or admin.
    expect((await api(app, 'GET', '/v1/me', { token: service.body.access_token })).status).toBe(403);
    expect((await api(app, 'GET', `/v1/organizations/${acme.organizationId}/members`, { token: service.body.access_token })).status).toBe(403);
  });

  test('a member token minted with a key dies with the key when it is rotated, and the new key works', async () => {
    await inviteAndJoin(app, acme.admin, acme.organizationId, 'grace@acme.example');
    const key = await createApiKey(app, acme.admin, acme.organizationId, 'rotating');
    const member = await login(app, 'grace@acme.example', { apiKey: key });
    expect((await api(app, 'GET', '/v1/me', { token: member.access_token })).body.apiKeyId).toBe(key.id);

    const rotated = await api(app, 'POST', `/v1/organizations/${acme.organizationId}/api-keys/${key.id}/rotate`, { token: acme.admin.access_token, body: {} });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).not.toBe(key.key);

    // The very next request with anything minted under the old key fails.
    expect((await api(app, 'GET', '/v1/me', { token: member.access_token })).status).toBe(401);
    expect((await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: member.refresh_token! }, basic(key.id, key.key))).status).toBe(401);
    const oldKeyLogin = await tokenRequest(app, { grant_type: 'password', username: 'grace@acme.example', password: PASSWORD }, basic(key.id, key.key));
    expect(oldKeyLogin.status).toBe(401);
    expect(oldKeyLogin.body.error).toBe('invalid_client');

    const fresh = await login(app, 'grace@acme.example', { apiKey: { id: rotated.body.id, key: rotated.body.key } });
    expect((await api(app, 'GET', '/v1/me', { token: fresh.access_token })).status).toBe(200);
  });

  test('with graceSeconds, the old key keeps working until the grace ends, then stops', async () => {
    const key = await createApiKey(app, acme.admin, acme.organizationId, 'graceful');
    const rotated = await api(app, 'POST', `/v1/organizations/${acme.organizationId}/api-keys/${key.id}/rotate`, {
      token: acme.admin.access_token,
      body: { graceSeconds: 300 },
    });
    expect(rotated.status).toBe(201);
    const during = await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key));
    expect(during.status).toBe(200);
    app.clock.advance(301_000);
    expect((await api(app, 'GET', `/v1/organizations/${acme.organizationId}/api-keys`, { token: (await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` })).access_token })).status).toBe(200);
    expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).status).toBe(401);
  });

  test('a revoked key fails on the next request', async () => {
    const admin = await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` });
    const key = await createApiKey(app, admin, acme.organizationId, 'revoked');
    const service = await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key));
    const revoked = await api(app, 'DELETE', `/v1/organizations/${acme.organizationId}/api-keys/${key.id}`, { token: admin.access_token });
    expect(revoked.status).toBe(204);
    expect((await api(app, 'GET', '/v1/organizations', { token: service.body.access_token })).status).toBe(401);
    expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).status).toBe(401);
  });
});

describe('organization isolation', () => {
  test("another organization's ids answer 404, exactly like ids that do not exist", async () => {
    const admin = await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` });
    const globexAdmin = await login(app, 'admin@globex.example', { scope: `org:${globex.organizationId}` });
    const globexKey = await createApiKey(app, globexAdmin, globex.organizationId, 'theirs');
    const attempts = [
      await api(app, 'GET', `/v1/organizations/${globex.organizationId}/api-keys`, { token: admin.access_token }),
      await api(app, 'GET', `/v1/organizations/${globex.organizationId}/members`, { token: admin.access_token }),
      await api(app, 'POST', `/v1/organizations/${globex.organizationId}/api-keys/${globexKey.id}/rotate`, { token: admin.access_token, body: {} }),
      await api(app, 'DELETE', `/v1/organizations/${acme.organizationId}/api-keys/${globexKey.id}`, { token: admin.access_token }),
      await api(app, 'POST', `/v1/organizations/${acme.organizationId}/api-keys/${globexKey.id}/rotate`, { token: admin.access_token, body: {} }),
      await api(app, 'GET', `/v1/organizations/doesnotexist/api-keys`, { token: admin.access_token }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(404);
      expect(attempt.body.code).toBe('not_found');
    }
    // And the key of the other organization still works for its owner.
    expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(globexKey.id, globexKey.key))).status).toBe(200);
  });

  test('disabling a member ends their sessions at once', async () => {
    const admin = await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` });
    const userId = await inviteAndJoin(app, admin, acme.organizationId, 'leaver@acme.example');
    const leaver = await login(app, 'leaver@acme.example');
    expect((await api(app, 'GET', '/v1/me', { token: leaver.access_token })).status).toBe(200);
    const disabled = await api(app, 'PATCH', `/v1/organizations/${acme.organizationId}/members/${userId}`, { token: admin.access_token, body: { disabled: true } });
    expect(disabled.status).toBe(204);
    expect((await api(app, 'GET', '/v1/me', { token: leaver.access_token })).status).toBe(401);
    expect((await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: leaver.refresh_token! })).status).toBe(400);
  });
});

describe('requester sign-up', () => {
  test('sign up, confirm by mail, sign in as a requester', async () => {
    const signUp = await api(app, 'POST', '/v1/requesters', { body: { email: 'ada@example.org', password: PASSWORD, name: 'Ada Lovelace' } });
    expect(signUp.status).toBe(201);
    // Before confirming, the password does not work.
    expect((await tokenRequest(app, { grant_type: 'password', username: 'ada@example.org', password: PASSWORD })).status).toBe(400);
    const token = await mailedToken(app, 'ada@example.org', 'verify-email');
    expect((await api(app, 'POST', '/v1/auth/verify-email', { body: { token } })).status).toBe(204);
    expect((await api(app, 'POST', '/v1/auth/verify-email', { body: { token } })).body.code).toBe('invalid_token');
    const ada = await login(app, 'ada@example.org');
    expect(ada.scope).toBe('requester');
    const directory = await api(app, 'GET', '/v1/organizations', { token: ada.access_token });
    expect(directory.body.items.map((o: { name: string }) => o.name)).toEqual(expect.arrayContaining(['Acme Insurance', 'Globex Bank']));
  });

  test('signing up with a known address answers the same and cannot take the account over', async () => {
    const again = await api(app, 'POST', '/v1/requesters', { body: { email: 'admin@acme.example', password: 'an attacker password', name: 'Mallory' } });
    expect(again.status).toBe(201);
    expect(Object.keys(again.body)).toEqual(['id']);
    // Even the confirmation link does not change the existing password.
    const token = await mailedToken(app, 'admin@acme.example', 'verify-email');
    await api(app, 'POST', '/v1/auth/verify-email', { body: { token } });
    expect((await tokenRequest(app, { grant_type: 'password', username: 'admin@acme.example', password: 'an attacker password', scope: 'requester' })).status).toBe(400);
    expect((await login(app, 'admin@acme.example', { scope: 'requester' })).scope).toBe('requester');
  });

  test('a bad body is a 400 problem that names the field, and an unknown field is refused', async () => {
    const bad = await api(app, 'POST', '/v1/requesters', { body: { email: 'not-an-email', password: 'short', name: '' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['email', 'name', 'password']);
    const extra = await api(app, 'POST', '/v1/requesters', { body: { email: 'x@example.org', password: PASSWORD, name: 'X', isOperator: true } });
    expect(extra.status).toBe(400);
  });

  test('password reset by mail signs every session out', async () => {
    const before = await login(app, 'ada@example.org');
    expect((await api(app, 'POST', '/v1/auth/password-reset', { body: { email: 'ada@example.org' } })).status).toBe(202);
    expect((await api(app, 'POST', '/v1/auth/password-reset', { body: { email: 'nobody@example.org' } })).status).toBe(202);
    const token = await mailedToken(app, 'ada@example.org', 'reset-password');
    expect((await api(app, 'POST', '/v1/auth/password-reset/confirm', { body: { token, password: 'a brand new passphrase' } })).status).toBe(204);
    expect((await api(app, 'GET', '/v1/me', { token: before.access_token })).status).toBe(401);
    expect((await login(app, 'ada@example.org', { password: 'a brand new passphrase' })).scope).toBe('requester');
  });
});

describe('brute force', () => {
  test('failed logins engage a lockout with 429 + Retry-After and a mail to the owner; it releases after the delay', async () => {
    const email = 'admin@globex.example';
    // Sixteen wrong passwords, waiting out each growing delay as a patient attacker would.
    let wrongAnswers = 0;
    for (let attempt = 0; wrongAnswers < 16 && attempt < 40; attempt++) {
      const answer = await tokenRequest(app, { grant_type: 'password', username: email, password: `wrong guess ${attempt}` });
      if (answer.status === 429) app.clock.advance(Number(answer.headers.get('retry-after')) * 1000);
      else wrongAnswers++;
    }
    expect(wrongAnswers).toBe(16);
    // Locked: even the right password is refused without being checked.
    const locked = await tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD, scope: `org:${globex.organizationId}` });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(60);
    const mails = await (app.services.mailer as unknown as { list(): Promise<{ to: string; subject: string }[]> }).list();
    expect(mails.filter((m) => m.to === email && /paused/.test(m.subject))).toHaveLength(1);

    app.clock.advance(15 * 60 * 1000 + 1000);
    const released = await tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD, scope: `org:${globex.organizationId}` });
    // The password is accepted again; the login goes on to its second factor.
    expect(released.status).toBe(403);
    expect(released.body.error).toBe('mfa_required');
  });
});

describe('the audit trail', () => {
  test('an admin reads their organization log newest first, filters it, pages it, and exports CSV', async () => {
    const admin = await login(app, 'admin@acme.example', { scope: `org:${acme.organizationId}` });
    const page = await api(app, 'GET', `/v1/organizations/${acme.organizationId}/audit?limit=2`, { token: admin.access_token });
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.items[0].seq).toBeGreaterThan(page.body.items[1].seq);
    const next = await api(app, 'GET', `/v1/organizations/${acme.organizationId}/audit?limit=2&cursor=${page.body.nextCursor}`, { token: admin.access_token });
    expect(next.body.items[0].seq).toBeLessThan(page.body.items[1].seq);

    const rotations = await api(app, 'GET', `/v1/organizations/${acme.organizationId}/audit?action=api_key.rotated`, { token: admin.access_token });
    expect(rotations.body.items.length).toBeGreaterThan(0);
    expect(rotations.body.items.every((item: { action: string }) => item.action === 'api_key.rotated')).toBe(true);

    const csv = await fetch(`${app.url}/v1/organizations/${acme.organizationId}/audit?format=csv&action=api_key.created`, { headers: { Authorization: `Bearer ${admin.access_token}` } });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('"id","seq","occurredAt","actorType","actorId","action","targetType","targetId","details"');
    expect(lines.length).toBeGreaterThan(1);

    expect((await api(app, 'GET', `/v1/organizations/${acme.organizationId}/audit?from=yesterday`, { token: admin.access_token })).status).toBe(400);
    expect((await api(app, 'GET', `/v1/organizations/${globex.organizationId}/audit`, { token: admin.access_token })).status).toBe(404);
  });

  test('key and member events are chained, and verify-audit detects an edited entry', async () => {
    const env = { DATA_DIR: app.dataDir, BLOB_CONNECTION_STRING: process.env.TEST_AZURITE_CONNECTION_STRING };
    const verified = await cli(['verify-audit', '--json'], env);
    expect(verified.code).toBe(0);
    const intact = JSON.parse(verified.stdout);
    expect(intact.problems).toEqual([]);
    expect(intact.eventsChecked).toBeGreaterThan(10);

    const actions = await app.services.store.query<{ action: string }>({
      text: 'SELECT action FROM audit_events WHERE chain = @chain',
      params: { chain: { type: 'text', value: `org:${acme.organizationId}` } },
    });
    expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(['organization.created', 'api_key.created', 'api_key.rotated', 'api_key.revoked', 'member.disabled', 'auth.login.succeeded']));

    await app.services.store.execute({
      text: `UPDATE audit_events SET action = 'api_key.created' WHERE chain = @chain AND action = 'api_key.revoked'`,
      params: { chain: { type: 'text', value: `org:${acme.organizationId}` } },
    });
    const tampered = await cli(['verify-audit', '--json'], env);
    expect(tampered.code).toBe(3);
    expect(JSON.parse(tampered.stdout).problems[0]).toMatchObject({ chain: `org:${acme.organizationId}`, problem: 'mac_mismatch' });
  });
});

