/**
 * Third-party eID over OpenID Connect, end to end: a real OpenID provider (panva/oidc-provider, in a child process on
 * loopback) stands in for an eID hub, and a small user agent walks its login and consent pages. Covered: enrollment,
 * login MFA and step-up for JSON, signed-JWT and encrypted-JWT UserInfo (RSA-OAEP-256 and ECDH-ES), with
 * client_secret_basic (a secret whose characters RFC 6749 §2.3.1 form-encoding changes) and client_secret_post; a
 * wrong state, a wrong nonce, an ID token signed by another key, a person who cancels, a subject bound twice, another
 * person's eID; and the verified identity organizations see on requests, which the database holds only encrypted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { p, sql } from '../../lib/adapters/sql/params';
import { sweepMfaChallenges } from '../../lib/domain/mfa/challenges';
import { startTestApp, type TestApp } from '../helpers/testApp';
import { freePort, startEidProvider, UserAgent, type TestEidProvider, type TestOpClient } from '../helpers/eidProvider';
import {
  api,
  bootstrapOperator,
  createOrganizationWithAdmin,
  enrollTotp,
  login,
  mailedToken,
  MFA_GRANT_TYPE,
  PASSWORD,
  tokenRequest,
  type Tokens,
} from '../helpers/identity';

/** Printable ASCII (RFC 6749 Appendix A) with every character that §2.3.1's form-encoding before Base64 changes. */
const CLIENT_SECRET = 's3cr3t:+/%=& ~';
const NATIONAL_ID_CLAIM = 'http://ids.connective.eu/beid/national_number';
const SCOPES = 'openid profile connective:beid_nationalnumber';

function person(given: string, family: string, birthdate: string, nationalId: string) {
  return { name: `${given} ${family}`, given_name: given, family_name: family, birthdate, [NATIONAL_ID_CLAIM]: nationalId };
}

// The provider's accounts; each test signs in as its own people (a subject binds to one account only).
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'person-beid': person('Bea', 'Janssens', '1981-02-03', '81020312301'),
  'person-itsme': person('Ivo', 'Maes', '1982-03-04', '82030412302'),
  'person-hub-rsa': person('Rita', 'Claes', '1983-04-05', '83040512303'),
  'person-hub-ec': person('Emma', 'Wouters', '1984-05-06', '84050612304'),
  'state-person': person('Stan', 'Goossens', '1985-06-07', '85060712305'),
  'state-person-late': person('Lotte', 'Segers', '1985-07-08', '85070812313'),
  'nonce-person': person('Nora', 'Jacobs', '1986-07-08', '86070812306'),
  'forged-person': person('Fien', 'Mertens', '1987-08-09', '87080912307'),
  'cancel-person': person('Cas', 'Willems', '1988-09-10', '88091012308'),
  'shared-person': person('Sam', 'Dubois', '1989-10-11', '89101112309'),
  'frank': person('Frank', 'Lambert', '1990-11-12', '90111212310'),
  'grace': person('Grace', 'Dupont', '1991-12-13', '91121312311'),
  'last-factor-person': person('Lars', 'Martens', '1992-01-14', '92011412312'),
  'ada-peeters': person('Ada', 'Peeters', '1990-05-04', '90050412345'),
  'first-factor-person': person('Fleur', 'Vermeulen', '1993-02-15', '93021512314'),
  'abandon-person': person('Arne', 'Smets', '1994-03-16', '94031612315'),
};

let app: TestApp;
let op: TestEidProvider;
let callbackUrl: string;
/** Everything the app logged, to prove no code, token, secret or claim is among it. */
const logged: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
const recordingLogger = {
  info: (message: string, fields?: Record<string, unknown>) => void logged.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
  warn: (message: string, fields?: Record<string, unknown>) => void logged.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
  error: (message: string, fields?: Record<string, unknown>) => void logged.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
};

beforeAll(async () => {
  const [appPort, opPort, closedPort] = [await freePort(), await freePort(), await freePort()];
  const appUrl = `http://127.0.0.1:${appPort}`;
  callbackUrl = `${appUrl}/v1/auth/eid/callback`;
  const client = (id: string, extra: Partial<TestOpClient> = {}): TestOpClient => ({
    client_id: id,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [callbackUrl],
    ...extra,
  });
  const encrypted = { userinfo_signed_response_alg: 'RS256', userinfo_encrypted_response_enc: 'A256GCM', jwks_uri: `${appUrl}/.well-known/eid-jwks.json` };
  op = await startEidProvider({
    port: opPort,
    accounts: ACCOUNTS,
    acrValues: ['idp:ids', 'idp:itsme'],
    clients: [
      client('connectid:beid+json'),
      client('connectid-itsme-signed', { token_endpoint_auth_method: 'client_secret_post', userinfo_signed_response_alg: 'ES256' }),
      client('connectid-rsa-encrypted', { ...encrypted, userinfo_encrypted_response_alg: 'RSA-OAEP-256' }),
      client('connectid-ec-encrypted', { ...encrypted, token_endpoint_auth_method: 'client_secret_post', userinfo_encrypted_response_alg: 'ECDH-ES' }),
      client('connectid-forged'),
    ],
    forgeIdTokenClients: ['connectid-forged'],
  });
  const nationalId = { nationalId: NATIONAL_ID_CLAIM };
  const providers = [
    { id: 'beid', label: 'Belgian eID', issuer: op.issuer, clientId: 'connectid:beid+json', scopes: SCOPES, acrValues: 'idp:ids', userinfo: 'json', claims: nationalId },
    {
      id: 'itsme',
      label: 'itsme',
      issuer: op.issuer,
      clientId: 'connectid-itsme-signed',
      scopes: SCOPES,
      acrValues: 'idp:itsme',
      tokenEndpointAuthMethod: 'client_secret_post',
      userinfo: 'jwt',
      userinfoSigningAlg: 'ES256',
      claims: nationalId,
      assuranceLevel: 'substantial',
    },
    { id: 'hub-rsa', label: 'eID hub (RSA)', issuer: op.issuer, clientId: 'connectid-rsa-encrypted', scopes: SCOPES, userinfo: 'encrypted-jwt', claims: nationalId, assuranceLevel: 'high' },
    {
      id: 'hub-ec',
      label: 'eID hub (EC)',
      issuer: op.issuer,
      clientId: 'connectid-ec-encrypted',
      scopes: SCOPES,
      tokenEndpointAuthMethod: 'client_secret_post',
      userinfo: 'encrypted-jwt',
      claims: nationalId,
      assuranceLevel: 'high',
    },
    { id: 'forged', label: 'Forged tokens', issuer: op.issuer, clientId: 'connectid-forged', scopes: SCOPES, userinfo: 'json', claims: nationalId },
    // Nobody listens there: the provider is down.
    { id: 'down', label: 'Unreachable', issuer: `http://127.0.0.1:${closedPort}`, clientId: 'connectid' },
  ];
  const secrets = Object.fromEntries(providers.map((provider) => [provider.id, CLIENT_SECRET]));
  app = await startTestApp({
    port: appPort,
    overrides: { log: recordingLogger },
    env: { PORT: String(appPort), PUBLIC_BASE_URL: appUrl, EID_PROVIDERS: JSON.stringify(providers), EID_CLIENT_SECRETS: JSON.stringify(secrets) },
  });
});
afterAll(async () => {
  await app?.close();
  await op?.stop();
});

// ---------------------------------------------------------------------------------------------------------------
// The way a person and a client use it

async function signUp(email: string): Promise<void> {
  expect((await api(app, 'POST', '/v1/requesters', { body: { email, password: PASSWORD, name: 'Test Person' } })).status).toBe(201);
  expect((await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, email, 'verify-email') } })).status).toBe(204);
}

function passwordLogin(email: string) {
  return tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD });
}

async function enrollmentToken(email: string): Promise<string> {
  const answer = await passwordLogin(email);
  expect(answer.body.error).toBe('mfa_enrollment_required');
  return answer.body.enrollment_token as string;
}

async function startEnrollment(token: string, provider: string): Promise<{ id: string; authorizationUrl: string }> {
  const created = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'eid', label: `My ${provider}`, provider } });
  expect(created.status).toBe(201);
  return created.body;
}

/** The portal result a browser lands on: ?status=…&flow=…&error=… after the fragment's path. */
function resultOf(landing: string): Record<string, string> {
  const url = new URL(landing);
  expect(url.pathname).toBe('/portal/');
  expect(url.hash.startsWith('#/eid-result?')).toBe(true);
  return Object.fromEntries(new URLSearchParams(url.hash.slice('#/eid-result?'.length)));
}

/** Signs up and enrolls an eID as the account's first factor. */
async function accountWithEid(email: string, provider: string, account: string): Promise<string> {
  await signUp(email);
  const started = await startEnrollment(await enrollmentToken(email), provider);
  expect(resultOf(await new UserAgent(app.url).drive(started.authorizationUrl, { account }))).toEqual({ status: 'ok', flow: 'enroll' });
  return started.id;
}

async function mfaRequired(email: string): Promise<{ mfa_token: string; factors: { id: string; type: string }[] }> {
  const answer = await passwordLogin(email);
  expect(answer.body.error).toBe('mfa_required');
  return answer.body;
}

async function startEidChallenge(body: Record<string, string>): Promise<Record<string, any>> {
  const started = await api(app, 'POST', '/v1/auth/mfa/challenge', { body });
  expect(started.status).toBe(200);
  expect(started.body.authorization_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\?/);
  return started.body;
}

function grant(mfaToken: string, factorId: string) {
  return tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: mfaToken, factor_id: factorId });
}

/** Password, then the eID at the provider, then the MFA grant. */
async function loginWithEid(email: string, factorId: string, account: string): Promise<Tokens> {
  const { mfa_token: mfaToken } = await mfaRequired(email);
  const { authorization_url: url } = await startEidChallenge({ mfa_token: mfaToken, factor_id: factorId });
  expect(resultOf(await new UserAgent(app.url).drive(url, { account }))).toEqual({ status: 'ok', flow: 'login' });
  const tokens = await grant(mfaToken, factorId);
  expect(tokens.status).toBe(200);
  return tokens.body as Tokens;
}

async function auditActions(userId: string): Promise<string[]> {
  const rows = await app.services.store.query<{ action: string }>(sql('SELECT action FROM audit_events WHERE chain = @chain ORDER BY seq', { chain: p.text(`requester:${userId}`) }));
  return rows.map((row) => row.action);
}

function challengeIdOf(mfaToken: string): string {
  return createHash('sha256').update(mfaToken, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------

describe('what the installation offers', () => {
  test('the configured providers are listed, and /.well-known/eid-jwks.json publishes public EC and RSA encryption keys', async () => {
    const listed = await api(app, 'GET', '/v1/auth/eid/providers');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((provider: { id: string }) => provider.id)).toEqual(['beid', 'itsme', 'hub-rsa', 'hub-ec', 'forged', 'down']);
    expect(listed.body.items[1]).toEqual({ id: 'itsme', label: 'itsme', assuranceLevel: 'substantial' });

    const jwks = await api(app, 'GET', '/.well-known/eid-jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(jwks.body.keys.map((key: { kty: string }) => key.kty).sort()).toEqual(['EC', 'RSA']);
    for (const key of jwks.body.keys) {
      expect(key.use).toBe('enc');
      expect(key.d).toBeUndefined();
      expect(key.kid).toMatch(/^eid-enc-/);
    }
    // The same keys on the next read (created once, stored wrapped).
    expect((await api(app, 'GET', '/.well-known/eid-jwks.json')).body).toEqual(jwks.body);
  });

  test('an unknown provider, or a provider on another factor type, is refused', async () => {
    await signUp('no-such-provider@example.org');
    const token = await enrollmentToken('no-such-provider@example.org');
    const unknown = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'eid', label: 'x', provider: 'nope' } });
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 400, code: 'invalid_request' });
    const missing = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'eid', label: 'x' } });
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 400, code: 'invalid_request' });
    const onTotp = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'totp', label: 'x', provider: 'beid' } });
    expect({ status: onTotp.status, code: onTotp.body.code }).toEqual({ status: 400, code: 'invalid_request' });
    // A provider that cannot be reached: 503, and no factor is left behind.
    const down = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'eid', label: 'x', provider: 'down' } });
    expect({ status: down.status, code: down.body.code }).toEqual({ status: 503, code: 'service_unavailable' });
    expect((await api(app, 'GET', '/v1/me/factors', { token })).body.items).toEqual([]);
  });

  test('an installation without EID_PROVIDERS offers no eID', async () => {
    const plain = await startTestApp();
    try {
      expect((await api(plain, 'GET', '/v1/auth/eid/providers')).body).toEqual({ items: [], nextCursor: null });
      expect((await api(plain, 'GET', '/.well-known/eid-jwks.json')).status).toBe(404);
      const callback = await fetch(`${plain.url}/v1/auth/eid/callback?code=x&state=y`, { redirect: 'manual' });
      expect(callback.status).toBe(303);
      expect(resultOf(callback.headers.get('location')!)).toEqual({ status: 'failed', error: 'invalid_state' });
    } finally {
      await plain.close();
    }
  });
});

describe.each([
  ['beid', 'JSON UserInfo, client_secret_basic', { acr: 'idp:ids', amr: ['pwd', 'fed', 'sc', 'pin', 'mfa'], assuranceLevel: 'idp:ids' }],
  ['itsme', 'a signed JWT UserInfo (ES256), client_secret_post', { acr: 'idp:itsme', amr: ['pwd', 'fed', 'sc', 'pin', 'mfa'], assuranceLevel: 'substantial' }],
  ['hub-rsa', 'an encrypted JWT UserInfo (RS256 inside RSA-OAEP-256 + A256GCM)', { acr: 'urn:connectid:acr:mfa', amr: ['pwd', 'fed', 'mfa'], assuranceLevel: 'high' }],
  ['hub-ec', 'an encrypted JWT UserInfo (RS256 inside ECDH-ES + A256GCM), client_secret_post', { acr: 'urn:connectid:acr:mfa', amr: ['pwd', 'fed', 'mfa'], assuranceLevel: 'high' }],
])('provider %s: %s', (providerId, _what, expected) => {
  const email = `${providerId}@example.org`;
  const account = `person-${providerId}`;
  let factorId: string;
  let tokens: Tokens;

  test('enrolling sends the person to the provider (code flow, PKCE S256, state, nonce) and its callback activates the factor', async () => {
    await signUp(email);
    const token = await enrollmentToken(email);
    const started = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'eid', label: 'My eID', provider: providerId } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ type: 'eid', label: 'My eID', status: 'pending', provider: providerId });
    factorId = started.body.id;
    const request = new URL(started.body.authorizationUrl);
    expect(request.origin).toBe(op.issuer);
    expect(Object.fromEntries(request.searchParams)).toMatchObject({
      response_type: 'code',
      redirect_uri: callbackUrl,
      scope: SCOPES,
      code_challenge_method: 'S256',
      prompt: 'login',
      ...(expected.acr.startsWith('idp:') ? { acr_values: expected.acr } : {}),
    });
    for (const parameter of ['state', 'nonce', 'code_challenge']) expect(request.searchParams.get(parameter)).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    // Before the person is back, verifying reports that the provider has not answered yet.
    const early = await api(app, 'POST', `/v1/me/factors/${factorId}/verify`, { token, body: {} });
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'eid_pending' });

    const landing = await new UserAgent(app.url).drive(started.body.authorizationUrl, { account });
    expect(resultOf(landing)).toEqual({ status: 'ok', flow: 'enroll' });
    expect((await api(app, 'POST', `/v1/me/factors/${factorId}/verify`, { token, body: {} })).body).toEqual({ id: factorId, status: 'active' });
    const listed = await api(app, 'GET', '/v1/me/factors', { token });
    expect(listed.body.items).toEqual([expect.objectContaining({ id: factorId, type: 'eid', status: 'active', provider: providerId })]);
  });

  test('signing in: password, then the eID, then the MFA grant with no code', async () => {
    const required = await mfaRequired(email);
    expect(required.factors).toEqual([{ id: factorId, type: 'eid', label: 'My eID' }]);
    tokens = await loginWithEid(email, factorId, account);
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ amr: expected.amr, acr: expected.acr });
    expect(tokens.refresh_token).toMatch(/^rt_/);
    const userId = claims.sub!;
    const [identity] = await app.services.store.query<{ provider_id: string; assurance_level: string | null }>(
      sql('SELECT provider_id, assurance_level FROM verified_identities WHERE user_id = @user', { user: p.text(userId) }),
    );
    expect(identity).toEqual({ provider_id: providerId, assurance_level: expected.assuranceLevel });
    expect(await auditActions(userId)).toEqual(expect.arrayContaining(['mfa.factor.enrolled', 'eid.identity.verified', 'mfa.factor.used', 'auth.login.succeeded']));
  });

  test('stepping up the same session through the eID', async () => {
    app.clock.advance(16 * 60_000);
    const refreshed = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refreshed.status).toBe(200);
    const stale = refreshed.body as Tokens;
    const refused = await api(app, 'POST', '/v1/me/recovery-codes', { token: stale.access_token });
    expect(refused.status).toBe(401);

    const started = await startEidChallenge({ refresh_token: stale.refresh_token!, factor_id: factorId });
    expect(started.mfa_token).toMatch(/^mfa_/);
    expect(resultOf(await new UserAgent(app.url).drive(started.authorization_url, { account }))).toEqual({ status: 'ok', flow: 'step_up' });
    const raised = await grant(started.mfa_token, factorId);
    expect(raised.status).toBe(200);
    const claims = decodeJwt(raised.body.access_token);
    expect(claims.sid).toBe(decodeJwt(tokens.access_token).sid);
    expect(claims).toMatchObject({ amr: expected.amr, acr: expected.acr, auth_time: Math.floor(app.clock.now().getTime() / 1000) });
    expect((await api(app, 'POST', '/v1/me/recovery-codes', { token: raised.body.access_token })).status).toBe(201);
    // The answered flow was spent by that grant: the same mfa_token cannot be used again.
    expect((await grant(started.mfa_token, factorId)).body.error).toBe('invalid_grant');
  });
});

describe('what is refused', () => {
  test('a wrong state changes nothing (status=failed, invalid_state); the right state then works, once', async () => {
    await signUp('state@example.org');
    const started = await startEnrollment(await enrollmentToken('state@example.org'), 'beid');
    const agent = new UserAgent(app.url);
    const callback = new URL(await agent.drive(started.authorizationUrl, { account: 'state-person', stopAtCallback: true }));
    expect(callback.href.startsWith(callbackUrl)).toBe(true);

    const forged = new URL(callback);
    forged.searchParams.set('state', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const refused = await agent.request(forged.href);
    expect(refused.status).toBe(303);
    expect(resultOf(refused.headers.get('location')!)).toEqual({ status: 'failed', error: 'invalid_state' });
    const withoutState = new URL(callback);
    withoutState.searchParams.delete('state');
    expect(resultOf((await agent.request(withoutState.href)).headers.get('location')!)).toEqual({ status: 'failed', error: 'invalid_state' });

    const accepted = await agent.request(callback.href);
    expect(resultOf(accepted.headers.get('location')!)).toEqual({ status: 'ok', flow: 'enroll' });
    const replayed = await agent.request(callback.href);
    expect(resultOf(replayed.headers.get('location')!)).toEqual({ status: 'failed', error: 'invalid_state' });
  });

  test('a login whose eID flow expired is refused: its state works no more and its mfa_token is dead', async () => {
    const email = 'late@example.org';
    const factorId = await accountWithEid(email, 'hub-ec', 'state-person-late');
    const { mfa_token: mfaToken } = await mfaRequired(email);
    const { authorization_url: url } = await startEidChallenge({ mfa_token: mfaToken, factor_id: factorId });
    const agent = new UserAgent(app.url);
    const callback = await agent.drive(url, { account: 'state-person-late', stopAtCallback: true });
    app.clock.advance(10 * 60_000 + 1);
    expect(resultOf((await agent.request(callback)).headers.get('location')!)).toEqual({ status: 'failed', error: 'invalid_state' });
    expect((await grant(mfaToken, factorId)).body.error).toBe('invalid_grant');
  });

  test('an ID token whose nonce is not the one we sent is refused; the login cannot be finished with it', async () => {
    const email = 'nonce@example.org';
    const factorId = await accountWithEid(email, 'beid', 'nonce-person');
    const { mfa_token: mfaToken } = await mfaRequired(email);
    const { authorization_url: url } = await startEidChallenge({ mfa_token: mfaToken, factor_id: factorId });
    const agent = new UserAgent(app.url);
    const callback = await agent.drive(url, { account: 'nonce-person', stopAtCallback: true });
    // The provider put our nonce in its ID token; as far as we remember, we sent another one.
    const tampered = await app.services.store.execute(
      sql('UPDATE eid_flows SET nonce = @nonce WHERE challenge_id = @challenge', { nonce: p.text('a-nonce-we-never-sent'), challenge: p.text(challengeIdOf(mfaToken)) }),
    );
    expect(tampered.rowsAffected).toBe(1);
    const answered = await agent.request(callback);
    expect(resultOf(answered.headers.get('location')!)).toEqual({ status: 'failed', flow: 'login', error: 'eid_failed' });
    const refused = await grant(mfaToken, factorId);
    expect(refused.body).toMatchObject({ error: 'invalid_grant', error_description: 'eid_failed' });
    const [attempts] = await app.services.store.query<{ attempts: number }>(sql('SELECT attempts FROM mfa_challenges WHERE id = @id', { id: p.text(challengeIdOf(mfaToken)) }));
    expect(Number(attempts!.attempts)).toBe(1);
    const userId = (await app.services.store.query<{ user_id: string }>(sql('SELECT user_id FROM mfa_factors WHERE id = @id', { id: p.text(factorId) })))[0]!.user_id;
    expect(await auditActions(userId)).toContain('auth.mfa.failed');
  });

  test("an ID token signed by a key that is not in the provider's JWKS is refused", async () => {
    await signUp('forged@example.org');
    const token = await enrollmentToken('forged@example.org');
    const started = await startEnrollment(token, 'forged');
    const landing = await new UserAgent(app.url).drive(started.authorizationUrl, { account: 'forged-person' });
    expect(resultOf(landing)).toEqual({ status: 'failed', flow: 'enroll', error: 'eid_failed' });
    const verify = await api(app, 'POST', `/v1/me/factors/${started.id}/verify`, { token, body: {} });
    expect({ status: verify.status, code: verify.body.code }).toEqual({ status: 400, code: 'eid_failed' });
    // The failed link left no pending factor behind.
    expect((await api(app, 'GET', '/v1/me/factors', { token })).body.items).toEqual([]);
  });

  test('a person who cancels at the provider: the enrollment reports eid_cancelled, and so does the login, which a new attempt then finishes', async () => {
    await signUp('cancel@example.org');
    const token = await enrollmentToken('cancel@example.org');
    const cancelled = await startEnrollment(token, 'itsme');
    expect(resultOf(await new UserAgent(app.url).drive(cancelled.authorizationUrl, { cancel: true }))).toEqual({ status: 'cancelled', flow: 'enroll', error: 'eid_cancelled' });
    const verify = await api(app, 'POST', `/v1/me/factors/${cancelled.id}/verify`, { token, body: {} });
    expect({ status: verify.status, code: verify.body.code }).toEqual({ status: 400, code: 'eid_cancelled' });
    expect((await api(app, 'GET', '/v1/me/factors', { token })).body.items).toEqual([]);

    const started = await startEnrollment(token, 'itsme');
    expect(resultOf(await new UserAgent(app.url).drive(started.authorizationUrl, { account: 'cancel-person' }))).toEqual({ status: 'ok', flow: 'enroll' });

    const { mfa_token: mfaToken } = await mfaRequired('cancel@example.org');
    const first = await startEidChallenge({ mfa_token: mfaToken, factor_id: started.id });
    expect(resultOf(await new UserAgent(app.url).drive(first.authorization_url, { cancel: true }))).toEqual({ status: 'cancelled', flow: 'login', error: 'eid_cancelled' });
    const refused = await grant(mfaToken, started.id);
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'eid_cancelled' } });
    // Cancelling is not a wrong answer: the mfa_token lives on, and a second attempt finishes the login.
    const second = await startEidChallenge({ mfa_token: mfaToken, factor_id: started.id });
    expect(resultOf(await new UserAgent(app.url).drive(second.authorization_url, { account: 'cancel-person' }))).toEqual({ status: 'ok', flow: 'login' });
    expect((await grant(mfaToken, started.id)).status).toBe(200);
  });

  test('the MFA grant before the provider answered is authorization_pending; a code is not an answer to an eID', async () => {
    const email = 'pending@example.org';
    const factorId = await accountWithEid(email, 'hub-rsa', 'frank');
    const { mfa_token: mfaToken } = await mfaRequired(email);
    const unstarted = await grant(mfaToken, factorId);
    expect(unstarted.body.error).toBe('invalid_grant');
    await startEidChallenge({ mfa_token: mfaToken, factor_id: factorId });
    const pending = await grant(mfaToken, factorId);
    expect({ status: pending.status, error: pending.body.error }).toEqual({ status: 400, error: 'authorization_pending' });
    const withCode = await tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: mfaToken, factor_id: factorId, code: '123456' });
    expect(withCode.body.error).toBe('invalid_request');
  });

  test("a login answered with another person's eID is refused (eid_subject_mismatch) and counted", async () => {
    const email = 'frank@example.org';
    // 'frank' at the provider is bound to pending@example.org; this account binds 'grace'.
    const factorId = await accountWithEid(email, 'beid', 'grace');
    const { mfa_token: mfaToken } = await mfaRequired(email);
    const { authorization_url: url } = await startEidChallenge({ mfa_token: mfaToken, factor_id: factorId });
    expect(resultOf(await new UserAgent(app.url).drive(url, { account: 'frank' }))).toEqual({ status: 'failed', flow: 'login', error: 'eid_subject_mismatch' });
    expect((await grant(mfaToken, factorId)).body).toMatchObject({ error: 'invalid_grant', error_description: 'eid_failed' });
    const [row] = await app.services.store.query<{ attempts: number }>(sql('SELECT attempts FROM mfa_challenges WHERE id = @id', { id: p.text(challengeIdOf(mfaToken)) }));
    expect(Number(row!.attempts)).toBe(1);
  });

  test('one eID is bound to one account: a second account enrolling it gets eid_subject_in_use (409)', async () => {
    await accountWithEid('shared-1@example.org', 'beid', 'shared-person');
    await signUp('shared-2@example.org');
    const token = await enrollmentToken('shared-2@example.org');
    // Another provider entry of the same issuer: the subject is the same eID.
    const started = await startEnrollment(token, 'hub-ec');
    expect(resultOf(await new UserAgent(app.url).drive(started.authorizationUrl, { account: 'shared-person' }))).toEqual({
      status: 'failed',
      flow: 'enroll',
      error: 'eid_subject_in_use',
    });
    const verify = await api(app, 'POST', `/v1/me/factors/${started.id}/verify`, { token, body: {} });
    expect({ status: verify.status, code: verify.body.code }).toEqual({ status: 409, code: 'eid_subject_in_use' });
    expect((await api(app, 'GET', '/v1/me/factors', { token })).body.items).toEqual([]);
  });
});

describe('an eID as the first factor, and links that do not finish', () => {
  test('an enrollment token links an eID as the first factor; the next password step answers mfa_required with it; the token opens nothing else', async () => {
    const email = 'first-factor@example.org';
    await signUp(email);
    const token = await enrollmentToken(email);
    expect((await api(app, 'GET', '/v1/me', { token })).body.code).toBe('mfa_enrollment_required');
    const started = await startEnrollment(token, 'beid');

    // Pending, it is no factor: the password step still asks for an enrollment.
    expect((await passwordLogin(email)).body.error).toBe('mfa_enrollment_required');
    const early = await api(app, 'POST', `/v1/me/factors/${started.id}/verify`, { token, body: {} });
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'eid_pending' });

    expect(resultOf(await new UserAgent(app.url).drive(started.authorizationUrl, { account: 'first-factor-person' }))).toEqual({ status: 'ok', flow: 'enroll' });
    expect((await api(app, 'POST', `/v1/me/factors/${started.id}/verify`, { token, body: {} })).body).toEqual({ id: started.id, status: 'active' });
    const required = await mfaRequired(email);
    expect(required.factors).toEqual([{ id: started.id, type: 'eid', label: 'My beid' }]);

    // The enrollment token stays an enrollment token: no other route, no second factor, no removal, no session.
    for (const [method, path] of [
      ['GET', '/v1/me'],
      ['GET', '/v1/me/audit'],
      ['POST', '/v1/me/recovery-codes'],
      ['GET', '/v1/requests'],
    ] as const) {
      const refused = await api(app, method, path, { token });
      expect({ path, status: refused.status, code: refused.body.code }).toEqual({ path, status: 403, code: 'mfa_enrollment_required' });
    }
    const another = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'eid', label: 'Second', provider: 'itsme' } });
    expect(another.status).toBe(403);
    expect((await api(app, 'DELETE', `/v1/me/factors/${started.id}`, { token })).status).toBe(403);

    // Signing in takes the eID once more, and ends in a real session.
    const tokens = await loginWithEid(email, started.id, 'first-factor-person');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ amr: ['pwd', 'fed', 'sc', 'pin', 'mfa'] });
    expect(decodeJwt(tokens.access_token).scp).toBeUndefined();
    expect((await api(app, 'GET', '/v1/me', { token: tokens.access_token })).status).toBe(200);
  });

  test('a pending eID factor is never a login factor; a link cancelled from "My factors" leaves nothing behind', async () => {
    const email = 'pending-link@example.org';
    await signUp(email);
    const totp = await enrollTotp(app, email, await enrollmentToken(email));
    const tokens = await login(app, email);
    const created = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'eid', label: 'My eID', provider: 'itsme' } });
    expect(created.status).toBe(201);

    const required = await mfaRequired(email);
    expect(required.factors.map((factor) => factor.id)).toEqual([totp.factorId]);
    const challenge = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: created.body.id } });
    expect(challenge.status).toBe(404);
    expect((await grant(required.mfa_token, created.body.id)).body.error).toBe('invalid_grant');

    expect(resultOf(await new UserAgent(app.url).drive(created.body.authorizationUrl, { cancel: true }))).toEqual({ status: 'cancelled', flow: 'enroll', error: 'eid_cancelled' });
    // The client still learns how the link ended; the factor itself is gone.
    const verify = await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: tokens.access_token, body: {} });
    expect({ status: verify.status, code: verify.body.code }).toEqual({ status: 400, code: 'eid_cancelled' });
    const listed = await api(app, 'GET', '/v1/me/factors', { token: tokens.access_token });
    expect(listed.body.items.map((factor: { id: string; status: string }) => [factor.id, factor.status])).toEqual([[totp.factorId, 'active']]);
    expect((await api(app, 'DELETE', `/v1/me/factors/${created.body.id}`, { token: tokens.access_token })).status).toBe(404);
    // Another account cannot read the outcome of this one's link.
    await signUp('pending-link-other@example.org');
    const other = await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: await enrollmentToken('pending-link-other@example.org'), body: {} });
    expect(other.status).toBe(404);
  });

  test('a link nobody finishes is discarded once it expired; one removed while waiting cannot be finished', async () => {
    const email = 'abandon@example.org';
    await signUp(email);
    const token = await enrollmentToken(email);
    const removed = await startEnrollment(token, 'beid');
    // The portal removes the link it stops waiting for (the person left, or chose another factor).
    expect((await api(app, 'DELETE', `/v1/me/factors/${removed.id}`, { token })).status).toBe(204);
    expect(resultOf(await new UserAgent(app.url).drive(removed.authorizationUrl, { account: 'abandon-person' }))).toEqual({ status: 'failed', error: 'invalid_state' });

    const abandoned = await startEnrollment(token, 'beid');
    const agent = new UserAgent(app.url);
    const callback = await agent.drive(abandoned.authorizationUrl, { account: 'abandon-person', stopAtCallback: true });
    expect((await api(app, 'GET', '/v1/me/factors', { token })).body.items).toEqual([expect.objectContaining({ id: abandoned.id, status: 'pending' })]);

    app.clock.advance(10 * 60_000 + 1);
    // The hourly sweep drops it (listing the factors, or creating one, would too).
    await sweepMfaChallenges(app.services.store, app.clock.now().getTime());
    const rows = await app.services.store.query<{ id: string }>(sql('SELECT id FROM mfa_factors WHERE id = @id', { id: p.text(abandoned.id) }));
    expect(rows).toEqual([]);
    expect(resultOf((await agent.request(callback)).headers.get('location')!)).toEqual({ status: 'failed', error: 'invalid_state' });
    const fresh = await enrollmentToken(email);
    expect((await api(app, 'GET', '/v1/me/factors', { token: fresh })).body.items).toEqual([]);
    expect((await api(app, 'POST', `/v1/me/factors/${abandoned.id}/verify`, { token: fresh, body: {} })).status).toBe(404);
  });

  test('listing the factors discards a link whose flow expired unanswered', async () => {
    const email = 'abandon-listed@example.org';
    await signUp(email);
    const started = await startEnrollment(await enrollmentToken(email), 'itsme');
    app.clock.advance(10 * 60_000 + 1);
    const token = await enrollmentToken(email);
    expect((await api(app, 'GET', '/v1/me/factors', { token })).body.items).toEqual([]);
    expect((await api(app, 'POST', `/v1/me/factors/${started.id}/verify`, { token, body: {} })).status).toBe(404);
  });
});

describe('the eID as a factor among others', () => {
  test('it counts for the last-factor rule; removing it frees the eID for another account', async () => {
    const email = 'last@example.org';
    const factorId = await accountWithEid(email, 'itsme', 'last-factor-person');
    const tokens = await loginWithEid(email, factorId, 'last-factor-person');
    const last = await api(app, 'DELETE', `/v1/me/factors/${factorId}`, { token: tokens.access_token });
    expect({ status: last.status, code: last.body.code }).toEqual({ status: 409, code: 'conflict' });

    const totp = await enrollTotp(app, email, tokens.access_token);
    expect((await api(app, 'DELETE', `/v1/me/factors/${factorId}`, { token: tokens.access_token })).status).toBe(204);
    const nowLast = await api(app, 'DELETE', `/v1/me/factors/${totp.factorId}`, { token: tokens.access_token });
    expect(nowLast.status).toBe(409);

    await accountWithEid('last-2@example.org', 'itsme', 'last-factor-person');
  });
});

describe('what is logged', () => {
  // Runs after the refusals above (a file's tests run in order).
  test('refused answers are logged by provider, flow and error code; no secret, token, code or claim ever is', () => {
    expect(logged.filter((entry) => entry.message === 'eid answer refused').map((entry) => entry.fields)).toEqual(
      expect.arrayContaining([
        { provider: 'forged', flow: 'enroll', code: 'OAUTH_INVALID_RESPONSE' },
        { provider: 'beid', flow: 'login', code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' },
      ]),
    );
    const everything = JSON.stringify(logged);
    for (const value of [CLIENT_SECRET, ...Object.keys(ACCOUNTS), ...Object.values(ACCOUNTS).flatMap((claims) => Object.values(claims) as string[])]) {
      expect({ value, logged: everything.includes(value) }).toEqual({ value, logged: false });
    }
    expect(everything).not.toMatch(/eyJ|code=|state=/);
  });
});

describe('identity proof on requests', () => {
  test("the organization sees the requester's verified identity; the database holds its claims only encrypted", async () => {
    const operator = await bootstrapOperator(app);
    const acme = await createOrganizationWithAdmin(app, operator, 'Acme Insurance', 'admin@acme.example');
    const email = 'ada@example.org';
    const factorId = await accountWithEid(email, 'beid', 'ada-peeters');
    const ada = await loginWithEid(email, factorId, 'ada-peeters');
    const opened = await api(app, 'POST', '/v1/requests', {
      token: ada.access_token,
      body: { organizationId: acme.organizationId, purpose: 'A copy of my policy data', categories: ['contact'] },
    });
    expect(opened.status).toBe(201);

    const identity = { name: 'Ada Peeters', birthDate: '1990-05-04', nationalId: '90050412345', provider: 'beid', assuranceLevel: 'idp:ids', verifiedAt: expect.any(String) };
    const seenByOrganization = await api(app, 'GET', `/v1/requests/${opened.body.id}`, { token: acme.admin.access_token });
    expect(seenByOrganization.status).toBe(200);
    expect(seenByOrganization.body.requester).toEqual({ verifiedIdentity: identity });
    const listed = await api(app, 'GET', '/v1/requests', { token: acme.admin.access_token });
    expect(listed.body.items.find((item: { id: string }) => item.id === opened.body.id).requester).toEqual({ verifiedIdentity: identity });
    expect((await api(app, 'GET', `/v1/requests/${opened.body.id}`, { token: ada.access_token })).body.requester).toEqual({ verifiedIdentity: identity });

    // A requester who never used an eID shows none.
    await signUp('plain@example.org');
    const plain = await login(app, 'plain@example.org');
    const plainRequest = await api(app, 'POST', '/v1/requests', {
      token: plain.access_token,
      body: { organizationId: acme.organizationId, purpose: 'My data, please', categories: ['contact'] },
    });
    expect((await api(app, 'GET', `/v1/requests/${plainRequest.body.id}`, { token: acme.admin.access_token })).body.requester).toEqual({ verifiedIdentity: null });

    // Close so the WAL is checkpointed, then read every byte SQLite keeps on disk.
    await app.services.store.close();
    const files = fs.readdirSync(app.dataDir).filter((name) => name.startsWith('connectid.sqlite'));
    expect(files).toContain('connectid.sqlite');
    for (const file of files) {
      const bytes = fs.readFileSync(path.join(app.dataDir, file));
      for (const secret of ['Ada Peeters', 'Peeters', '90050412345', '1990-05-04', 'ada-peeters']) {
        expect({ file, secret, found: bytes.includes(Buffer.from(secret, 'utf8')) }).toEqual({ file, secret, found: false });
      }
    }
  });
});
