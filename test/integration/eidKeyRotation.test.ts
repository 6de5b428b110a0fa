/**
 * Rotating the eID encryption keys, end to end over HTTP with a real OpenID provider (panva/oidc-provider on
 * loopback, test/helpers/eidProvider.ts) configured for encrypted UserInfo to our /.well-known/eid-jwks.json.
 *
 * The provider caches a client's copy of our JWKS (for the 300 s our Cache-Control allows, in real time), so:
 *   - a client that read our JWKS before the rotation goes on encrypting to the OLD key, which still opens answers
 *     within the grace, and no more once it ended (on the app's FakeClock);
 *   - a client that reads our JWKS after the rotation gets the new keys first and encrypts to the NEW key.
 * The rotation is made by another EidEncryptionKeys instance over the same database, as `npx connectid
 * rotate-eid-keys` would: the running app takes it up within its 30 s refresh interval. Which key an answer was
 * encrypted to is read from the kid in the JWE header of the provider's UserInfo answer, seen on its way to the app.
 */
import { decodeProtectedHeader } from 'jose';
import { EID_KEYS_REFRESH_INTERVAL_IN_SECONDS, EidEncryptionKeys, RETIRED_EID_KEY_GRACE_IN_DAYS } from '../../lib/domain/eid/encryptionKeys';
import { freePort, startEidProvider, UserAgent, type TestEidProvider, type TestOpClient } from '../helpers/eidProvider';
import { api, mailedToken, MFA_GRANT_TYPE, PASSWORD, tokenRequest } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

const CLIENT_SECRET = 'rotation-test-secret';
const SCOPES = 'openid profile';
const DAY = 86_400_000;

const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'rot-alice': { name: 'Alice Peeters', given_name: 'Alice', family_name: 'Peeters', birthdate: '1980-01-02' },
  'rot-bob': { name: 'Bob Claes', given_name: 'Bob', family_name: 'Claes', birthdate: '1981-02-03' },
  'rot-carol': { name: 'Carol Maes', given_name: 'Carol', family_name: 'Maes', birthdate: '1982-03-04' },
};

let app: TestApp;
let op: TestEidProvider;
const logged: { message: string; fields?: Record<string, unknown> }[] = [];
const recordingLogger = {
  info: () => undefined,
  warn: (message: string, fields?: Record<string, unknown>) => void logged.push({ message, ...(fields ? { fields } : {}) }),
  error: (message: string, fields?: Record<string, unknown>) => void logged.push({ message, ...(fields ? { fields } : {}) }),
};

/** The kid of every encrypted UserInfo answer the app fetched from the provider, in order. */
const encryptedTo: string[] = [];
const originalFetch = globalThis.fetch;

beforeAll(async () => {
  const [appPort, opPort] = [await freePort(), await freePort()];
  const appUrl = `http://127.0.0.1:${appPort}`;
  const client = (id: string, alg: string): TestOpClient => ({
    client_id: id,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [`${appUrl}/v1/auth/eid/callback`],
    userinfo_signed_response_alg: 'RS256',
    userinfo_encrypted_response_alg: alg,
    userinfo_encrypted_response_enc: 'A256GCM',
    jwks_uri: `${appUrl}/.well-known/eid-jwks.json`,
  });
  op = await startEidProvider({
    port: opPort,
    accounts: ACCOUNTS,
    clients: [client('rot-before', 'RSA-OAEP-256'), client('rot-after', 'RSA-OAEP-256'), client('rot-after-ec', 'ECDH-ES')],
  });
  const provider = (id: string, clientId: string) => ({ id, label: id, issuer: op.issuer, clientId, scopes: SCOPES, userinfo: 'encrypted-jwt' });
  const providers = [provider('hub-before', 'rot-before'), provider('hub-after', 'rot-after'), provider('hub-after-ec', 'rot-after-ec')];
  app = await startTestApp({
    port: appPort,
    overrides: { log: recordingLogger },
    env: {
      PORT: String(appPort),
      PUBLIC_BASE_URL: appUrl,
      EID_PROVIDERS: JSON.stringify(providers),
      EID_CLIENT_SECRETS: JSON.stringify(Object.fromEntries(providers.map((entry) => [entry.id, CLIENT_SECRET]))),
    },
  });
  // The app's requests to the provider go through the global fetch: note the kid of each encrypted UserInfo answer.
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const response = await originalFetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(`${op.issuer}/me`) && response.status === 200) {
      const body = (await response.clone().text()).trim();
      if (body.split('.').length === 5) encryptedTo.push(String(decodeProtectedHeader(body).kid));
    }
    return response;
  });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await app?.close();
  await op?.stop();
});

async function publishedKids(): Promise<{ kty: string; kid: string }[]> {
  const jwks = await api(app, 'GET', '/.well-known/eid-jwks.json');
  expect(jwks.status).toBe(200);
  return jwks.body.keys.map((key: { kty: string; kid: string }) => ({ kty: key.kty, kid: key.kid }));
}

function resultOf(landing: string): Record<string, string> {
  const url = new URL(landing);
  expect(url.hash.startsWith('#/eid-result?')).toBe(true);
  return Object.fromEntries(new URLSearchParams(url.hash.slice('#/eid-result?'.length)));
}

/** Signs up and starts enrolling an eID at `provider` as the account's first factor (the app is then set up for it). */
async function startEnrollment(email: string, provider: string): Promise<{ id: string; authorizationUrl: string }> {
  expect((await api(app, 'POST', '/v1/requesters', { body: { email, password: PASSWORD, name: 'Test Person' } })).status).toBe(201);
  expect((await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, email, 'verify-email') } })).status).toBe(204);
  const answer = await tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD });
  expect(answer.body.error).toBe('mfa_enrollment_required');
  const started = await api(app, 'POST', '/v1/me/factors', { token: answer.body.enrollment_token, body: { type: 'eid', label: 'My eID', provider } });
  expect(started.status).toBe(201);
  return started.body;
}

async function finishEnrollment(started: { id: string; authorizationUrl: string }, account: string): Promise<string> {
  expect(resultOf(await new UserAgent(app.url).drive(started.authorizationUrl, { account }))).toEqual({ status: 'ok', flow: 'enroll' });
  return started.id;
}

/** Signs up and enrolls an eID at `provider` as the account's first factor; returns the factor id. */
async function accountWithEid(email: string, provider: string, account: string): Promise<string> {
  return finishEnrollment(await startEnrollment(email, provider), account);
}

/** Password, then the eID at the provider; returns the portal result and, when ok, the MFA grant's status. */
async function loginWithEid(email: string, factorId: string, account: string): Promise<{ result: Record<string, string>; grant?: number }> {
  const required = await tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD });
  expect(required.body.error).toBe('mfa_required');
  const started = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.body.mfa_token, factor_id: factorId } });
  expect(started.status).toBe(200);
  const result = resultOf(await new UserAgent(app.url).drive(started.body.authorization_url, { account }));
  if (result.status !== 'ok') return { result };
  const granted = await tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: required.body.mfa_token, factor_id: factorId });
  return { result, grant: granted.status };
}

describe('rotating the eID encryption keys under a running app and a real provider', () => {
  let oldKeys: { kty: string; kid: string }[];
  let newKids: string[];
  let aliceFactor: string;
  let bobFactor: string;
  let carolEnrollment: { id: string; authorizationUrl: string };

  test('before the rotation: a provider reads our JWKS and encrypts UserInfo to the first keys', async () => {
    oldKeys = await publishedKids();
    expect(oldKeys.map((key) => key.kty).sort()).toEqual(['EC', 'RSA']);
    aliceFactor = await accountWithEid('rot-alice@example.org', 'hub-before', 'rot-alice');
    expect(encryptedTo).toEqual([oldKeys.find((key) => key.kty === 'RSA')!.kid]);
    // Carol's enrollment starts now, so the app's client for hub-after-ec is set up with the old keys only; that
    // provider has not read our JWKS yet (it does when it first encrypts an answer).
    carolEnrollment = await startEnrollment('rot-carol@example.org', 'hub-after-ec');
  });

  test('a rotation by another process (the CLI) reaches the running app within the refresh interval', async () => {
    const rotated = await new EidEncryptionKeys(app.services).rotate();
    newKids = rotated.kids;
    expect(rotated.previousKids.slice().sort()).toEqual(oldKeys.map((key) => key.kid).sort());
    // The app's view of the keys is at most 30 s old…
    expect(await publishedKids()).toEqual(oldKeys);
    app.clock.advance(EID_KEYS_REFRESH_INTERVAL_IN_SECONDS * 1000);
    // …then it publishes the new keys first, and the old ones still.
    const after = await publishedKids();
    expect(after.slice(0, 2).map((key) => key.kid).sort()).toEqual(newKids.slice().sort());
    expect(after.slice(2)).toEqual(oldKeys);
  });

  test('within the grace, an answer encrypted to the OLD key (the provider cached our JWKS) still opens', async () => {
    const before = encryptedTo.length;
    expect(await loginWithEid('rot-alice@example.org', aliceFactor, 'rot-alice')).toEqual({ result: { status: 'ok', flow: 'login' }, grant: 200 });
    expect(encryptedTo.slice(before)).toEqual([oldKeys.find((key) => key.kty === 'RSA')!.kid]);
  });

  test('an answer encrypted to the NEW keys (RSA and EC) works: a provider reading our JWKS now picks the new ones', async () => {
    const before = encryptedTo.length;
    bobFactor = await accountWithEid('rot-bob@example.org', 'hub-after', 'rot-bob');
    expect(await loginWithEid('rot-bob@example.org', bobFactor, 'rot-bob')).toEqual({ result: { status: 'ok', flow: 'login' }, grant: 200 });
    // A flow started before the rotation, answered with the new key: the app's client took up the new keys.
    await finishEnrollment(carolEnrollment, 'rot-carol');
    const [newRsa, newEc] = [newKids.find((kid) => kid.startsWith('eid-enc-rsa-'))!, newKids.find((kid) => kid.startsWith('eid-enc-ec-'))!];
    expect(encryptedTo.slice(before)).toEqual([newRsa, newRsa, newEc]);
  });

  test('once the grace has passed, the old keys are unpublished and an answer encrypted to them no longer opens', async () => {
    app.clock.advance(RETIRED_EID_KEY_GRACE_IN_DAYS * DAY);
    expect((await publishedKids()).map((key) => key.kid).sort()).toEqual(newKids.slice().sort());

    // The provider still holds its cached copy (real time has hardly moved): it encrypts to the old RSA key.
    const before = encryptedTo.length;
    logged.length = 0;
    expect(await loginWithEid('rot-alice@example.org', aliceFactor, 'rot-alice')).toEqual({ result: { status: 'failed', flow: 'login', error: 'eid_failed' } });
    expect(encryptedTo.slice(before)).toEqual([oldKeys.find((key) => key.kty === 'RSA')!.kid]);
    expect(logged).toContainEqual({ message: 'eid answer refused', fields: expect.objectContaining({ provider: 'hub-before', code: 'OAUTH_DECRYPTION_FAILED' }) });

    // The new key goes on.
    expect(await loginWithEid('rot-bob@example.org', bobFactor, 'rot-bob')).toEqual({ result: { status: 'ok', flow: 'login' }, grant: 200 });
  });
});
