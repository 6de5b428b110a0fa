/**
 * Guessing mailed tokens and API-key secrets is throttled in the database: per key id, and per client address
 * across every kind of guess. A fresh app, so this address starts with no failures.
 */
import { startTestApp, type TestApp } from '../helpers/testApp';
import { api, basic, bootstrapOperator, createApiKey, createOrganizationWithAdmin, PASSWORD, tokenRequest } from '../helpers/identity';

let app: TestApp;
let key: { id: string; key: string };
beforeAll(async () => {
  app = await startTestApp();
  const acme = await createOrganizationWithAdmin(app, await bootstrapOperator(app), 'Acme', 'admin@acme.example');
  key = await createApiKey(app, acme.admin, acme.organizationId, 'guessed');
});
afterAll(async () => app.close());

test('wrong secrets for one API key id are throttled after five, and then even the right secret waits', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    statuses.push((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, `cid_${'A'.repeat(42)}${i}`))).status);
  }
  expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
  expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).status).toBe(429);
  app.clock.advance(2_000);
  expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key))).status).toBe(200);
});

test('wrong mailed tokens from one address are throttled once the address has failed twenty times', async () => {
  // The six key guesses above came from this address too: fourteen more are free.
  const statuses: number[] = [];
  for (let i = 0; i < 16; i++) {
    const guess = await api(app, 'POST', '/v1/auth/accept-invite', { body: { token: `guessedtoken${String(i).padStart(20, '0')}`, password: PASSWORD } });
    statuses.push(guess.status);
  }
  expect(statuses.slice(0, 14).every((status) => status === 400)).toBe(true);
  expect(statuses.slice(14)).toEqual([400, 429]);
});
