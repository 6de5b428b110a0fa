/**
 * MFA around the organization: step-up (RFC 9470) on sensitive routes, logins bound to an API key, brute-force
 * protection of second factors, and resets by an org admin or an operator when someone lost every factor.
 */
import { decodeJwt } from 'jose';
import type { OutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import { startTestApp, type TestApp } from '../helpers/testApp';
import {
  answerWithTotp,
  api,
  basic,
  bootstrapOperator,
  createApiKey,
  createOrganizationWithAdmin,
  inviteAndJoin,
  login,
  MFA_GRANT_TYPE,
  nextTotpCode,
  PASSWORD,
  stepUp,
  tokenRequest,
  totpCodeAt,
  totpEnrollmentOf,
  type Tokens,
} from '../helpers/identity';

const SIXTEEN_MINUTES = 16 * 60_000;

let app: TestApp;
let operator: Tokens;
let acme: { organizationId: string; admin: Tokens };
let globex: { organizationId: string; admin: Tokens };
beforeAll(async () => {
  app = await startTestApp();
  operator = await bootstrapOperator(app);
  acme = await createOrganizationWithAdmin(app, operator, 'Acme', 'admin@acme.example');
  globex = await createOrganizationWithAdmin(app, operator, 'Globex', 'admin@globex.example');
});
afterAll(async () => app.close());

function refresh(tokens: Tokens, client: Record<string, string> = {}) {
  return tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
}

async function staleAdmin(): Promise<Tokens> {
  const fresh = await login(app, 'admin@acme.example');
  app.clock.advance(SIXTEEN_MINUTES);
  // The access token expired meanwhile; the refreshed one belongs to the same session and its old MFA.
  const refreshed = await refresh(fresh);
  expect(refreshed.status).toBe(200);
  return refreshed.body as Tokens;
}

describe('step-up on sensitive routes', () => {
  test('a key rotation with an MFA older than 15 minutes answers 401 insufficient_user_authentication with max_age', async () => {
    const key = await createApiKey(app, await login(app, 'admin@acme.example'), acme.organizationId, 'to rotate');
    const stale = await staleAdmin();
    const refused = await api(app, 'POST', `/v1/organizations/${acme.organizationId}/api-keys/${key.id}/rotate`, { token: stale.access_token, body: {} });
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('insufficient_user_authentication');
    const challenge = refused.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="insufficient_user_authentication"');
    expect(challenge).toContain('max_age=900');
    // Routes that are not sensitive still answer.
    expect((await api(app, 'GET', `/v1/organizations/${acme.organizationId}/api-keys`, { token: stale.access_token })).status).toBe(200);
  });

  test('the client steps up with its refresh token: the same session gets a fresh MFA, and the rotation goes through', async () => {
    const key = await createApiKey(app, await login(app, 'admin@acme.example'), acme.organizationId, 'rotated after step-up');
    const stale = await staleAdmin();
    const before = decodeJwt(stale.access_token);

    const started = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { refresh_token: stale.refresh_token } });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ mfa_token: expect.stringMatching(/^mfa_/), expires_in: 300 });
    expect(started.body.factors.map((f: { type: string }) => f.type)).toEqual(['totp']);
    const answered = await answerWithTotp(app, 'admin@acme.example', started.body);
    expect(answered.status).toBe(200);
    const after = decodeJwt(answered.body.access_token);
    expect(after.sid).toBe(before.sid);
    expect(after.auth_time).toBe(Math.floor(app.clock.now().getTime() / 1000));
    expect(after.auth_time).toBeGreaterThan(before.auth_time as number);
    expect(after).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:connectid:acr:mfa' });
    expect(answered.body.refresh_token).not.toBe(stale.refresh_token);

    const rotated = await api(app, 'POST', `/v1/organizations/${acme.organizationId}/api-keys/${key.id}/rotate`, { token: answered.body.access_token, body: {} });
    expect(rotated.status).toBe(201);
    // The refresh token the step-up began with was spent by it: the session continues with the new one.
    expect((await refresh(answered.body as Tokens)).status).toBe(200);
  });

  test('a step-up token raises only its own session, once; a spent refresh token cannot start one', async () => {
    const stale = await staleAdmin();
    const started = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { refresh_token: stale.refresh_token } });
    const answered = await answerWithTotp(app, 'admin@acme.example', started.body);
    expect(answered.status).toBe(200);
    const again = await tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: started.body.mfa_token, factor_id: started.body.factors[0].id, code: nextTotpCode(app, 'admin@acme.example') });
    expect(again.body.error).toBe('invalid_grant');
    const spent = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { refresh_token: stale.refresh_token } });
    expect(spent.status).toBe(400);
    expect(spent.body.code).toBe('invalid_token');
  });

  test('a member role change and the factor routes need a recent MFA too', async () => {
    const memberId = await inviteAndJoin(app, await login(app, 'admin@acme.example'), acme.organizationId, 'role@acme.example');
    const stale = await staleAdmin();
    const change = await api(app, 'PATCH', `/v1/organizations/${acme.organizationId}/members/${memberId}`, { token: stale.access_token, body: { role: 'org_admin' } });
    expect(change.status).toBe(401);
    const factor = await api(app, 'POST', '/v1/me/factors', { token: stale.access_token, body: { type: 'totp', label: 'Another' } });
    expect(factor.status).toBe(401);
    expect(factor.body.code).toBe('insufficient_user_authentication');
    const raised = await stepUp(app, 'admin@acme.example', stale);
    expect((await api(app, 'PATCH', `/v1/organizations/${acme.organizationId}/members/${memberId}`, { token: raised.access_token, body: { role: 'org_admin' } })).status).toBe(204);
  });
});

describe('a member signing in from company systems', () => {
  let key: { id: string; key: string };
  let otherKey: { id: string; key: string };
  beforeAll(async () => {
    const admin = await login(app, 'admin@acme.example');
    await inviteAndJoin(app, admin, acme.organizationId, 'worker@acme.example');
    key = await createApiKey(app, admin, acme.organizationId, 'company systems');
    otherKey = await createApiKey(app, admin, acme.organizationId, 'another system');
    await login(app, 'worker@acme.example'); // enrolls the worker's TOTP factor
  });

  test('finishes the MFA with the same API key it began with, and the tokens are bound to it', async () => {
    const begun = await tokenRequest(app, { grant_type: 'password', username: 'worker@acme.example', password: PASSWORD }, basic(key.id, key.key));
    expect(begun.body.error).toBe('mfa_required');
    const factorId = totpEnrollmentOf(app, 'worker@acme.example')!.factorId;
    const answer = (client: Record<string, string>) =>
      tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: begun.body.mfa_token, factor_id: factorId, code: nextTotpCode(app, 'worker@acme.example') }, client);

    const withoutKey = await answer({});
    expect(withoutKey.status).toBe(401);
    expect(withoutKey.body.error).toBe('invalid_client');
    expect((await answer(basic(otherKey.id, otherKey.key))).body.error).toBe('invalid_client');
    const bound = await answer(basic(key.id, key.key));
    expect(bound.status).toBe(200);
    expect(decodeJwt(bound.body.access_token)).toMatchObject({ akid: key.id, acr: 'urn:connectid:acr:mfa' });
  });

  test('a key revoked between the password and the second factor ends the login', async () => {
    const doomed = await createApiKey(app, await login(app, 'admin@acme.example'), acme.organizationId, 'doomed');
    const begun = await tokenRequest(app, { grant_type: 'password', username: 'worker@acme.example', password: PASSWORD }, basic(doomed.id, doomed.key));
    expect(begun.body.error).toBe('mfa_required');
    expect((await api(app, 'DELETE', `/v1/organizations/${acme.organizationId}/api-keys/${doomed.id}`, { token: (await login(app, 'admin@acme.example')).access_token })).status).toBe(204);
    const answered = await answerWithTotp(app, 'worker@acme.example', begun.body, basic(doomed.id, doomed.key));
    expect(answered.status).toBe(401);
    expect(answered.body.error).toBe('invalid_client');
  });

  test('a login that began without a key cannot be finished with one', async () => {
    const begun = await tokenRequest(app, { grant_type: 'password', username: 'worker@acme.example', password: PASSWORD });
    const answered = await answerWithTotp(app, 'worker@acme.example', begun.body, basic(key.id, key.key));
    expect(answered.body.error).toBe('invalid_grant');
  });
});

describe('brute force on second factors', () => {
  test('wrong answers are throttled per account: after five, 429 with Retry-After, even for the right code', async () => {
    await inviteAndJoin(app, await login(app, 'admin@acme.example'), acme.organizationId, 'target@acme.example');
    await login(app, 'target@acme.example');
    const { factorId, secret } = totpEnrollmentOf(app, 'target@acme.example')!;
    // A code matching no step of the window, without spending any of the account's real codes.
    const now = app.clock.now().getTime();
    const window = [-30_000, 0, 30_000].map((offset) => totpCodeAt(secret, now + offset));
    const wrong = ['000000', '111111', '222222', '333333'].find((code) => !window.includes(code))!;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const begun = await tokenRequest(app, { grant_type: 'password', username: 'target@acme.example', password: PASSWORD });
      statuses.push((await tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: begun.body.mfa_token, factor_id: factorId, code: wrong })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400]);
    const begun = await tokenRequest(app, { grant_type: 'password', username: 'target@acme.example', password: PASSWORD });
    const blocked = await answerWithTotp(app, 'target@acme.example', begun.body);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Starting a factor is refused too while blocked.
    expect((await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: begun.body.mfa_token, factor_id: factorId } })).status).toBe(429);
    app.clock.advance(2_000);
    expect((await answerWithTotp(app, 'target@acme.example', begun.body)).status).toBe(200);
  });
});

describe('resetting the factors of someone who lost them all', () => {
  test('an org admin resets a member: factors gone, sessions ended, audited, mailed; the next login enrolls again', async () => {
    const admin = await login(app, 'admin@acme.example');
    const memberId = await inviteAndJoin(app, admin, acme.organizationId, 'lost@acme.example');
    const member = await login(app, 'lost@acme.example');
    expect((await api(app, 'GET', '/v1/me', { token: member.access_token })).status).toBe(200);

    const reset = await api(app, 'POST', `/v1/organizations/${acme.organizationId}/members/${memberId}/reset-factors`, { token: admin.access_token });
    expect(reset.status).toBe(204);
    expect((await api(app, 'GET', '/v1/me', { token: member.access_token })).status).toBe(401);
    expect((await refresh(member)).status).toBe(400);
    const mails = await (app.services.mailer as OutboxMailer).list();
    expect(mails.filter((m) => m.to === 'lost@acme.example' && /sign-in methods were reset/.test(m.subject))).toHaveLength(1);
    for (const chain of [`org:${acme.organizationId}`, `requester:${memberId}`]) {
      const events = await app.services.store.query<{ action: string; actor_id: string; target_id: string }>({
        text: `SELECT action, actor_id, target_id FROM audit_events WHERE chain = @chain AND action = 'mfa.factors.reset'`,
        params: { chain: { type: 'text', value: chain } },
      });
      expect(events).toEqual([{ action: 'mfa.factors.reset', actor_id: decodeJwt(admin.access_token).sub, target_id: memberId }]);
    }
    const next = await tokenRequest(app, { grant_type: 'password', username: 'lost@acme.example', password: PASSWORD });
    expect(next.body.error).toBe('mfa_enrollment_required');
    // login() enrolls a new factor and signs in.
    expect((await login(app, 'lost@acme.example')).scope).toBe(`org:${acme.organizationId}`);
  });

  test('an admin cannot reset themselves, nor anyone outside their organization, nor someone with roles elsewhere', async () => {
    const admin = await login(app, 'admin@acme.example');
    const adminId = decodeJwt(admin.access_token).sub!;
    expect((await api(app, 'POST', `/v1/organizations/${acme.organizationId}/members/${adminId}/reset-factors`, { token: admin.access_token })).status).toBe(409);
    const globexAdminId = decodeJwt(globex.admin.access_token).sub!;
    expect((await api(app, 'POST', `/v1/organizations/${acme.organizationId}/members/${globexAdminId}/reset-factors`, { token: admin.access_token })).status).toBe(404);
    expect((await api(app, 'POST', `/v1/organizations/${globex.organizationId}/members/${globexAdminId}/reset-factors`, { token: admin.access_token })).status).toBe(404);
    const both = await inviteAndJoin(app, admin, acme.organizationId, 'both@example.org');
    await inviteAndJoin(app, await login(app, 'admin@globex.example'), globex.organizationId, 'both@example.org');
    expect((await api(app, 'POST', `/v1/organizations/${acme.organizationId}/members/${both}/reset-factors`, { token: admin.access_token })).status).toBe(409);
  });

  test('an operator resets anyone, audited in the platform chain', async () => {
    const fresh = await login(app, 'operator@connectid.example', { scope: 'operator' });
    const adminId = decodeJwt(globex.admin.access_token).sub!;
    expect((await api(app, 'POST', `/v1/operator/users/${adminId}/reset-factors`, { token: fresh.access_token })).status).toBe(204);
    expect((await api(app, 'POST', `/v1/operator/users/nobody/reset-factors`, { token: fresh.access_token })).status).toBe(404);
    expect((await api(app, 'POST', `/v1/operator/users/${decodeJwt(fresh.access_token).sub}/reset-factors`, { token: fresh.access_token })).status).toBe(409);
    const platform = await app.services.store.query<{ target_id: string }>({
      text: `SELECT target_id FROM audit_events WHERE chain = 'platform' AND action = 'mfa.factors.reset'`,
      params: {},
    });
    expect(platform.map((row) => row.target_id)).toEqual([adminId]);
    expect((await tokenRequest(app, { grant_type: 'password', username: 'admin@globex.example', password: PASSWORD })).body.error).toBe('mfa_enrollment_required');
    void operator;
  });
});
