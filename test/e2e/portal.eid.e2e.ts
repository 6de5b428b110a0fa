/**
 * The portal's eID hand-off in headless Chromium, against a real OpenID provider on loopback
 * (test/helpers/eidProvider.ts): a requester with an authenticator app and an eID chooses "Continue with Belgian eID",
 * finishes at the provider in the popup the portal opened, and the portal tab ends signed in (a later step-up goes the
 * same way); a requester who cancels
 * at the provider sees a clear error and the factor chooser again; a signed-in requester links an eID under
 * "My factors"; a new requester links an eID as her first factor on the forced set-up page and signs in with it; and
 * an eID link cancelled, or left for another factor or page, leaves no pending factor. The popup's result page reports
 * on a BroadcastChannel and closes itself. No portal page logs an error.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PORTAL_CSP } from '../../functions/portal';
import { sql } from '../../lib/adapters/sql/params';
import { expectCleanAndProtected, launchChromium, openPortal } from '../helpers/browser';
import { freePort, startEidProvider, UserAgent, type TestEidProvider } from '../helpers/eidProvider';
import { api, enrollTotp, login, mailedToken, nextTotpCode, PASSWORD, tokenRequest } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

/**
 * Besides the sign-in protocol's 401/403, the portal waits for the provider by asking the MFA grant (400
 * authorization_pending, 400 invalid_grant eid_cancelled) or the factor's verify (409 eid_pending): answers by design.
 */
const EID_WAIT_STATUSES = [400, 401, 403, 409];

const CLIENT_SECRET = 'e2e-eid-secret';
const NATIONAL_ID_CLAIM = 'http://ids.connective.eu/beid/national_number';
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'hanna-eid': { name: 'Hanna Peeters', given_name: 'Hanna', family_name: 'Peeters', birthdate: '1980-01-02', [NATIONAL_ID_CLAIM]: '80010212345' },
  'ivo-eid': { name: 'Ivo Claes', given_name: 'Ivo', family_name: 'Claes', birthdate: '1981-02-03', [NATIONAL_ID_CLAIM]: '81020312346' },
  'jan-eid': { name: 'Jan Maes', given_name: 'Jan', family_name: 'Maes', birthdate: '1982-03-04', [NATIONAL_ID_CLAIM]: '82030412347' },
  'kim-eid': { name: 'Kim Wouters', given_name: 'Kim', family_name: 'Wouters', birthdate: '1983-04-05', [NATIONAL_ID_CLAIM]: '83040512348' },
  'lea-eid': { name: 'Lea Jacobs', given_name: 'Lea', family_name: 'Jacobs', birthdate: '1984-05-06', [NATIONAL_ID_CLAIM]: '84050612349' },
};

let app: TestApp;
let op: TestEidProvider;
let browser: Browser;
let base: string;

beforeAll(async () => {
  const [appPort, opPort] = [await freePort(), await freePort()];
  // The portal's origin is the app's public URL: the provider's callback sends the popup back there.
  base = `http://localhost:${appPort}`;
  op = await startEidProvider({
    port: opPort,
    accounts: ACCOUNTS,
    acrValues: ['idp:ids'],
    clients: [{ client_id: 'connectid-e2e', client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [`${base}/v1/auth/eid/callback`] }],
  });
  const providers = [
    { id: 'beid', label: 'Belgian eID', issuer: op.issuer, clientId: 'connectid-e2e', scopes: 'openid profile connective:beid_nationalnumber', acrValues: 'idp:ids', userinfo: 'json', claims: { nationalId: NATIONAL_ID_CLAIM } },
  ];
  app = await startTestApp({
    port: appPort,
    env: { PORT: String(appPort), PUBLIC_BASE_URL: base, EID_PROVIDERS: JSON.stringify(providers), EID_CLIENT_SECRETS: JSON.stringify({ beid: CLIENT_SECRET }) },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await op?.stop();
});

/** A verified requester without any factor yet. */
async function newRequester(email: string): Promise<void> {
  expect((await api(app, 'POST', '/v1/requesters', { body: { email, password: PASSWORD, name: 'Test Person' } })).status).toBe(201);
  expect((await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, email, 'verify-email') } })).status).toBe(204);
}

/** ...with an authenticator app (enrolled through the API); answers her fresh tokens. */
async function requesterWithTotp(email: string): Promise<{ access_token: string }> {
  await newRequester(email);
  const first = await tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD });
  expect(first.body.error).toBe('mfa_enrollment_required');
  await enrollTotp(app, email, first.body.enrollment_token as string);
  return login(app, email);
}

/** ...and an eID bound through the API, the way eid.test.ts enrolls one. */
async function requesterWithTotpAndEid(email: string, account: string): Promise<void> {
  const tokens = await requesterWithTotp(email);
  const created = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'eid', provider: 'beid', label: 'Belgian eID' } });
  expect(created.status).toBe(201);
  const landing = new URL(await new UserAgent(base).drive(created.body.authorizationUrl as string, { account }));
  expect(landing.hash).toBe('#/eid-result?status=ok&flow=enroll');
}




async function passwordStep(page: Page, email: string, next = 'Second factor'): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: next }).waitFor();
}

/** Clicks `button` and cancels at the provider in the popup it opens; waits until the popup closed. */
async function cancelInPopup(context: BrowserContext, button: () => Promise<void>): Promise<void> {
  const [popup] = await Promise.all([context.waitForEvent('page'), button()]);
  await popup.locator('a[href*="/abort"]').click();
  await popup.waitForEvent('close', { timeout: 15_000 });
}

/** The eID factors of every account that are still pending (none should linger). */
async function pendingEidFactors(): Promise<number> {
  const [row] = await app.services.store.query<{ n: number | string }>(sql(`SELECT COUNT(*) AS n FROM mfa_factors WHERE type = 'eid' AND status = 'pending'`));
  return Number(row?.n ?? 0);
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Clicks `button` and answers the provider's login and consent forms in the popup it opens; waits until it closed. */
async function finishInPopup(context: BrowserContext, button: () => Promise<void>, account: string): Promise<void> {
  const [popup] = await Promise.all([context.waitForEvent('page'), button()]);
  await popup.locator('input[name="login"]').fill(account);
  await popup.locator('input[name="password"]').fill('any');
  const closed = popup.waitForEvent('close', { timeout: 15_000 });
  await popup.getByRole('button', { name: 'Sign-in' }).click();
  // The provider asks for consent once per account; the result page then reports on the channel and closes the popup.
  const consent = popup.getByRole('button', { name: 'Continue' });
  await Promise.race([closed, consent.waitFor({ timeout: 15_000 }).then(() => consent.click())]).catch(() => undefined);
  await closed;
}


test('a requester signs in with her eID in the popup, the portal tab ends signed in, and a step-up takes the eID too', async () => {
  await requesterWithTotpAndEid('hanna@example.org', 'hanna-eid');
  const watched = await openPortal(browser, base, { expectedStatuses: EID_WAIT_STATUSES });
  const { page, context } = watched;
  await passwordStep(page, 'hanna@example.org');
  await page.getByRole('button', { name: /^Authenticator app code/ }).waitFor();

  await finishInPopup(context, () => page.getByRole('button', { name: 'Continue with Belgian eID' }).click(), 'hanna-eid');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByRole('link', { name: 'My factors' }).click();
  await page.locator('tr', { hasText: 'Belgian eID' }).waitFor();

  // 16 minutes later her MFA is too old to create recovery codes: the step-up dialog offers the eID too.
  app.clock.advance(16 * 60_000);
  await page.getByRole('button', { name: 'Create recovery codes' }).click();
  const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
  await stepUp.waitFor();
  await finishInPopup(context, () => stepUp.getByRole('button', { name: 'Continue with Belgian eID' }).click(), 'hanna-eid');
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();

  expectCleanAndProtected(watched, PORTAL_CSP);
  await context.close();
});

test('a requester who cancels at the provider sees a clear error and the factors again, then a new attempt signs her in', async () => {
  await requesterWithTotpAndEid('ivo@example.org', 'ivo-eid');
  const watched = await openPortal(browser, base, { expectedStatuses: EID_WAIT_STATUSES });
  const { page, context } = watched;
  await passwordStep(page, 'ivo@example.org');

  const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Continue with Belgian eID' }).click()]);
  await popup.locator('a[href*="/abort"]').click();
  await popup.waitForEvent('close', { timeout: 15_000 });
  await page.getByText('The eID sign-in was cancelled at the provider. Choose a factor to try again.').waitFor();
  await expect(page.getByRole('button', { name: /^Authenticator app code/ }).isVisible()).resolves.toBe(true);

  // A new attempt with the same eID succeeds.
  await finishInPopup(context, () => page.getByRole('button', { name: 'Continue with Belgian eID' }).click(), 'ivo-eid');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();

  expectCleanAndProtected(watched, PORTAL_CSP);
  await context.close();
});

test('a signed-in requester links an eID under "My factors" through the popup', async () => {
  await requesterWithTotp('jan@example.org');
  const watched = await openPortal(browser, base, { expectedStatuses: EID_WAIT_STATUSES });
  const { page, context } = watched;
  await passwordStep(page, 'jan@example.org');
  await page.getByRole('button', { name: /^Authenticator app code/ }).click();
  await page.getByLabel('Code').fill(nextTotpCode(app, 'jan@example.org'));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByRole('link', { name: 'My factors' }).click();

  await finishInPopup(context, () => page.getByRole('button', { name: 'Link Belgian eID' }).click(), 'jan-eid');
  await page.getByText('Belgian eID linked.').waitFor();
  const row = page.locator('tr', { hasText: 'Belgian eID' });
  await row.waitFor();
  await expect(row.innerText()).resolves.toContain('active');

  expectCleanAndProtected(watched, PORTAL_CSP);
  await context.close();
});

test('a new requester without a factor links her eID on the set-up page (after a cancel), then signs in with it', async () => {
  await newRequester('kim@example.org');
  const watched = await openPortal(browser, base, { expectedStatuses: EID_WAIT_STATUSES });
  const { page, context } = watched;
  await passwordStep(page, 'kim@example.org', 'Set up a second factor');
  await page.getByRole('button', { name: 'Set up an authenticator app' }).waitFor();
  const link = page.getByRole('button', { name: 'Link Belgian eID' });

  // Cancelled at the provider: a clear error, the choices stay, and no pending factor is left.
  await cancelInPopup(context, () => link.click());
  await page.getByText('The eID link was cancelled at the provider. Try again, or choose another factor.').waitFor();
  expect(await pendingEidFactors()).toBe(0);

  // Linked: the sign-in goes on with the new eID, once more at the provider, and ends signed in.
  await finishInPopup(context, () => link.click(), 'kim-eid');
  await page.getByRole('heading', { name: 'Second factor' }).waitFor();
  await finishInPopup(context, () => page.getByRole('button', { name: 'Continue with Belgian eID' }).click(), 'kim-eid');
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByRole('link', { name: 'My factors' }).click();
  const row = page.locator('tr', { hasText: 'Belgian eID' });
  await row.waitFor();
  await expect(row.innerText()).resolves.toContain('active');

  expectCleanAndProtected(watched, PORTAL_CSP);
  await context.close();
});

test('an eID link cancelled in "My factors", or left for another factor or page, leaves no pending factor', async () => {
  await requesterWithTotp('lea@example.org');
  const watched = await openPortal(browser, base, { expectedStatuses: EID_WAIT_STATUSES });
  const { page, context } = watched;
  await passwordStep(page, 'lea@example.org');
  await page.getByRole('button', { name: /^Authenticator app code/ }).click();
  await page.getByLabel('Code').fill(nextTotpCode(app, 'lea@example.org'));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByRole('link', { name: 'My factors' }).click();
  await page.locator('tr', { hasText: 'Authenticator app' }).waitFor();

  await cancelInPopup(context, () => page.getByRole('button', { name: 'Link Belgian eID' }).click());
  await page.getByText('The eID link was cancelled at the provider. Try again, or choose another factor.').waitFor();
  await expect(page.locator('tr', { hasText: 'Belgian eID' }).count()).resolves.toBe(0);
  expect(await pendingEidFactors()).toBe(0);

  // Waiting for the provider, she chooses an authenticator app instead: the pending eID goes.
  const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Link Belgian eID' }).click()]);
  await page.getByText('Continue in the Belgian eID window that opened.', { exact: false }).waitFor();
  expect(await pendingEidFactors()).toBe(1);
  await page.getByRole('button', { name: 'Add authenticator app' }).click();
  await page.getByLabel('Code from the app').waitFor();
  await eventually(async () => (await pendingEidFactors()) === 0, 'the left eID link is removed');
  await popup.close();
  await expect(page.locator('tr', { hasText: 'Belgian eID' }).count()).resolves.toBe(0);

  // ...or she leaves the page while waiting: the pending eID goes too.
  const [another] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Link Belgian eID' }).click()]);
  await page.getByText('Continue in the Belgian eID window that opened.', { exact: false }).waitFor();
  expect(await pendingEidFactors()).toBe(1);
  await page.getByRole('link', { name: 'Inbox' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await eventually(async () => (await pendingEidFactors()) === 0, 'the eID link of the page she left is removed');
  await another.close();

  expectCleanAndProtected(watched, PORTAL_CSP);
  await context.close();
});
