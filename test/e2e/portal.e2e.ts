/**
 * The portal in headless Chromium, against the real API of a test app: an admin signs in with TOTP (keyboard only)
 * and rotates an API key (the new secret is shown once; the old key is refused at once); a requester adds a
 * passkey (Chromium's virtual authenticator), signs in with it and downloads a delivery byte for byte. Every portal
 * response carries the strict CSP, and no page logs an error.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { freePort } from '../../lib/adapters/blob/azurite';
import { PORTAL_CSP } from '../../functions/portal';
import { expectCleanAndProtected, launchChromium, openPortal } from '../helpers/browser';
import { buildWorld, itemPath, putItem, type World } from '../helpers/deliveries';
import { api, basic, createApiKey, login, mailedToken, nextTotpCode, PASSWORD, tokenRequest, totpCodeAt } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let browser: Browser;
let world: World;
let base: string;


beforeAll(async () => {
  const port = await freePort();
  base = `http://localhost:${port}`;
  // WebAuthn needs a domain as RP ID (not an IP address): the browser uses localhost, the app listens on 127.0.0.1.
  app = await startTestApp({ port, env: { PUBLIC_BASE_URL: base } });
  world = await buildWorld(app);
  browser = await launchChromium();
  fs.mkdirSync('docs/screenshots', { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});





async function storageIsEmpty(page: Page): Promise<boolean> {
  return page.evaluate(() => localStorage.length === 0 && sessionStorage.length === 0 && document.cookie === '');
}

test('the portal and its assets are served with the strict CSP; unknown assets are 404', async () => {
  for (const asset of ['', 'index.html', 'app.js', 'api.js', 'webauthn.js', 'styles.css']) {
    const response = await fetch(`${app.url}/portal/${asset}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(PORTAL_CSP);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  }
  expect((await fetch(`${app.url}/portal/../package.json`)).status).toBe(404);
  expect((await fetch(`${app.url}/portal/secret.txt`)).status).toBe(404);
  const html = await (await fetch(`${app.url}/portal/`)).text();
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\sstyle=/);
});

test('an admin signs in with TOTP using only the keyboard, rotates a key, sees the secret once, and the old key is refused', async () => {
  const oldKey = await createApiKey(app, (await login(app, 'admin@acme.example')) as any, world.acme.organizationId, 'payroll-export');
  expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(oldKey.id, oldKey.key))).status).toBe(200);

  const watched = await openPortal(browser, base, { acceptDownloads: true });
  const { page } = watched;
  await page.screenshot({ path: 'docs/screenshots/portal-sign-in.png' });

  // Keyboard only: the email field has focus, Tab to the password, Enter submits; Tab reaches the first factor.
  await page.keyboard.type('admin@acme.example');
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Second factor' }).waitFor();
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/^Authenticator app code/);
  await page.keyboard.press('Enter');
  await page.getByLabel('Code').waitFor();
  await page.keyboard.type(nextTotpCode(app, 'admin@acme.example'));
  await page.keyboard.press('Enter');

  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  const row = page.locator('tr', { hasText: 'payroll-export' });
  await row.waitFor({ timeout: 5000 }).catch(async (error) => {
    throw new Error(`${error.message}\n${await page.locator('body').innerText()}`);
  });
  await expect(row.innerText()).resolves.toContain(oldKey.prefix);
  await expect(row.innerText()).resolves.toContain('admin@acme.example');

  page.once('dialog', (dialog) => void dialog.accept());
  await row.getByRole('button', { name: 'Rotate key' }).click();
  const secret = page.getByTestId('new-secret');
  await secret.waitFor();
  const newKey = (await secret.innerText()).trim();
  expect(newKey).not.toBe(oldKey.key);
  await expect(page.getByRole('button', { name: 'Copy key' }).isVisible()).resolves.toBe(true);
  await expect(page.getByText('It is shown only once').isVisible()).resolves.toBe(true);
  await page.screenshot({ path: 'docs/screenshots/portal-api-keys.png', fullPage: true });

  // The old key is refused at once; the new one (same client id) works.
  expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(oldKey.id, oldKey.key))).status).toBe(401);
  const keyId = (await page.locator('.secret p', { hasText: 'Client ID' }).locator('code').innerText()).trim();
  expect((await tokenRequest(app, { grant_type: 'client_credentials' }, basic(keyId, newKey))).status).toBe(200);

  // Shown once: after navigating away and back, the secret is nowhere on the page.
  await page.getByRole('link', { name: 'My factors' }).click();
  await page.getByRole('heading', { name: 'My factors' }).waitFor();
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  expect(await page.getByTestId('new-secret').count()).toBe(0);
  expect(await page.content()).not.toContain(newKey);
  expect(await storageIsEmpty(page)).toBe(true);

  // Create a key in the portal; 16 minutes later (access token expired, MFA too old) revoking it refreshes the
  // session silently, then asks for a step-up with the authenticator app.
  await page.getByLabel('Key name').fill('temporary-import');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await page.getByRole('heading', { name: 'API key "temporary-import" created' }).waitFor();
  await page.getByRole('button', { name: 'I have stored the key' }).click();
  app.clock.advance(16 * 60_000);
  const temporary = page.locator('tr', { hasText: 'temporary-import' });
  page.once('dialog', (dialog) => void dialog.accept());
  await temporary.getByRole('button', { name: 'Revoke key' }).click();
  const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
  await stepUp.waitFor();
  await stepUp.getByRole('button', { name: /^Authenticator app code/ }).click();
  await stepUp.getByLabel('Code').fill(nextTotpCode(app, 'admin@acme.example'));
  await stepUp.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('status').filter({ hasText: 'API key "temporary-import" revoked.' }).waitFor();
  await temporary.getByRole('cell', { name: 'revoked' }).waitFor();

  // Members: invite one, disable another.
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByLabel('Email of the new member').fill('newcomer@acme.example');
  await page.getByRole('button', { name: 'Invite member' }).click();
  await page.getByRole('status').filter({ hasText: 'Invitation sent to newcomer@acme.example.' }).waitFor();
  expect(await mailedToken(app, 'newcomer@acme.example', 'accept-invite')).toBeTruthy();
  await page.getByRole('button', { name: 'Disable otto@acme.example' }).click();
  await page.getByRole('button', { name: 'Enable otto@acme.example' }).waitFor();

  // Audit log: filter by action, and export the CSV.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('api_key.rotated');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('tbody tr').first().waitFor();
  expect(await page.locator('tbody').innerText()).toContain('API key rotated');
  expect(await page.locator('tbody').innerText()).not.toContain('API key revoked');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(csv.suggestedFilename()).toBe('audit.csv');
  expect(fs.readFileSync((await csv.path())!, 'utf8')).toContain('api_key.rotated');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

test('a requester adds a passkey, signs in with it, and downloads a delivery with the same bytes', async () => {
  // The admin test moved the clock: fresh API tokens for the cast.
  for (const who of [world.ada, world.acme.admin, world.mia]) await who.refresh();
  // Ada opens a request with consent; Acme's admin assigns it to Mia, who delivers a file through the API.
  const opened = await api(app, 'POST', '/v1/requests', {
    token: world.ada.token,
    body: { organizationId: world.acme.organizationId, purpose: 'My insurance file', categories: ['contact', 'financial'] },
  });
  expect(opened.status).toBe(201);
  const requestId = opened.body.id as string;
  const assigned = await api(app, 'POST', `/v1/requests/${requestId}/assign`, { token: world.acme.admin.token, body: { assigneeId: world.mia.id } });
  expect(assigned.status).toBe(200);
  const created = await api(app, 'POST', `/v1/requests/${requestId}/deliveries`, { token: world.mia.token, body: { title: 'Your policy documents' } });
  expect(created.status).toBe(201);
  const deliveryId = created.body.id as string;
  const content = Buffer.concat([Buffer.from('%PDF-1.7 portal e2e\n'), Buffer.alloc(300_000, 7)]);
  expect((await putItem(app, world.mia, deliveryId, 'policy.pdf', content, { contentType: 'application/pdf' })).status).toBe(201);
  expect((await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: world.mia.token })).status).toBe(200);
  expect(itemPath(deliveryId, 'policy.pdf')).toContain(deliveryId);

  const watched = await openPortal(browser, base, { acceptDownloads: true });
  const { page } = watched;
  const cdp = await watched.context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });

  // First sign-in with the authenticator app, then add a passkey under "My factors".
  await page.getByLabel('Email').fill('ada@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: /^Authenticator app code/ }).click();
  await page.getByLabel('Code').fill(nextTotpCode(app, 'ada@example.org'));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByRole('link', { name: 'My factors' }).click();
  await page.getByLabel('Passkey name').fill('Laptop passkey');
  await page.getByRole('button', { name: 'Add passkey' }).click();
  await page.getByRole('cell', { name: 'Laptop passkey', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();

  // Second sign-in with the passkey.
  await page.getByLabel('Email').fill('ada@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Passkey: Laptop passkey' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  const me = await api(app, 'GET', '/v1/me/factors', { token: (await login(app, 'ada@example.org')).access_token });
  expect(me.body.items.find((factor: any) => factor.label === 'Laptop passkey').lastUsedAt).not.toBeNull();

  const link = page.getByRole('link', { name: 'Your policy documents' });
  await link.waitFor();
  expect(await page.locator('tbody tr', { hasText: 'Your policy documents' }).innerText()).toMatch(/\b32\b|\b31\b/);
  await page.screenshot({ path: 'docs/screenshots/portal-inbox.png', fullPage: true });
  await link.click();
  await page.getByRole('heading', { name: 'Your policy documents' }).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  expect(download.suggestedFilename()).toBe('policy.pdf');
  const downloaded = fs.readFileSync((await download.path())!);
  expect(createHash('sha256').update(downloaded).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  await page.getByRole('status').filter({ hasText: 'Downloaded policy.pdf' }).waitFor();
  expect(await page.locator('progress').evaluate((element: HTMLProgressElement) => element.value === element.max)).toBe(true);
  await page.getByRole('button', { name: 'Show consent receipt' }).click();
  await page.getByRole('heading', { name: 'Consent receipt' }).waitFor();
  await page.screenshot({ path: 'docs/screenshots/portal-delivery.png', fullPage: true });
  expect(await storageIsEmpty(page)).toBe(true);

  // Ada asks Globex for her data, with consent, and finds the request and its receipt under "My requests".
  await page.getByRole('link', { name: 'Organizations' }).click();
  await page.getByRole('link', { name: 'Ask Globex Bank for my data' }).click();
  await page.getByLabel('Purpose').fill('Mortgage records');
  await page.getByLabel('Financial').check();
  await page.getByLabel('I consent', { exact: false }).check();
  await page.getByRole('button', { name: 'Open request' }).click();
  await page.getByRole('heading', { name: 'My requests' }).waitFor();
  await page.getByRole('button', { name: 'Consent receipt for Globex Bank' }).click();
  await page.getByRole('heading', { name: 'Consent receipt' }).waitFor();
  const consentReceipt = page.getByRole('region', { name: 'Consent receipt' });
  expect(await consentReceipt.innerText()).toContain('Purpose: Mortgage records');
  expect(await consentReceipt.innerText()).toContain('Organization: Globex Bank');

  // Usable on a phone: the inbox at 390 px wide.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('link', { name: 'Inbox' }).click();
  await page.getByRole('link', { name: 'Your policy documents' }).waitFor();
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
  await page.screenshot({ path: 'docs/screenshots/portal-inbox-phone.png', fullPage: true });

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

test('a member uploads files to a delivery with progress and submits it; the requester gets the same bytes', async () => {
  for (const who of [world.ada, world.acme.admin]) await who.refresh();
  const opened = await api(app, 'POST', '/v1/requests', {
    token: world.ada.token,
    body: { organizationId: world.acme.organizationId, purpose: 'Portal upload check', categories: ['contact'] },
  });
  expect(opened.status).toBe(201);
  expect((await api(app, 'POST', `/v1/requests/${opened.body.id}/assign`, { token: world.acme.admin.token, body: { assigneeId: world.mia.id } })).status).toBe(200);

  const watched = await openPortal(browser, base, { acceptDownloads: true });
  const { page } = watched;
  await page.getByLabel('Email').fill('mia@acme.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: /^Authenticator app code/ }).click();
  await page.getByLabel('Code').fill(nextTotpCode(app, 'mia@acme.example'));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Requests assigned to me' }).waitFor();
  await page.locator('tr', { hasText: 'Portal upload check' }).getByRole('link', { name: 'Prepare a delivery for "Portal upload check"' }).click();
  await page.getByLabel('Title of the delivery').fill('Your contact data');
  await page.getByRole('button', { name: 'Create delivery' }).click();
  const content = Buffer.concat([Buffer.from('name,email\nAda,ada@example.org\n'), Buffer.alloc(200_000, 65)]);
  await page.getByLabel('Files').setInputFiles({ name: 'contact.csv', mimeType: 'text/csv', buffer: content });
  await page.getByRole('button', { name: 'Upload files' }).click();
  await page.getByRole('status').filter({ hasText: 'Files uploaded.' }).waitFor();
  expect(await page.getByLabel('Upload progress of contact.csv').evaluate((element: HTMLProgressElement) => element.value === element.max)).toBe(true);
  await page.getByRole('button', { name: 'Submit delivery' }).click();
  await page
    .locator('main')
    .getByText('Delivery "Your contact data" submitted')
    .waitFor({ timeout: 10_000 })
    .catch(async (error) => {
      throw new Error(`${error.message}\n${await page.locator('main').innerText()}`);
    });
  await page.screenshot({ path: 'docs/screenshots/portal-delivery-upload.png', fullPage: true });

  await world.ada.refresh();
  const deliveries = await api(app, 'GET', '/v1/deliveries', { token: world.ada.token });
  const delivery = deliveries.body.items.find((item: any) => item.title === 'Your contact data');
  expect(delivery.status).toBe('released');
  const detail = await api(app, 'GET', `/v1/deliveries/${delivery.id}`, { token: world.ada.token });
  const item = detail.body.items.find((one: any) => one.name === 'contact.csv');
  const response = await fetch(`${app.url}/v1/deliveries/${delivery.id}/items/${item.id}`, { headers: { Authorization: `Bearer ${world.ada.token}` } });
  expect(response.status).toBe(200);
  expect(createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

test('a new requester signs up, verifies the e-mail from the mailed link, and is led through setting up a first factor', async () => {
  const watched = await openPortal(browser, base, { acceptDownloads: true });
  const { page } = watched;
  await page.getByRole('link', { name: 'Create an account to get your data' }).click();
  await page.getByLabel('Full name').fill('Grace Hopper');
  await page.getByLabel('Email').fill('grace@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your mail' }).waitFor();

  // The mail links to the portal's #/verify-email/<token> page.
  const token = await mailedToken(app, 'grace@example.org', 'verify-email');
  await page.goto(`${base}/portal/#/verify-email/${token}`);
  await page.getByRole('heading', { name: 'Email confirmed' }).waitFor();
  await page.getByRole('link', { name: 'Sign in' }).last().click();

  await page.getByLabel('Email').fill('grace@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Set up a second factor' }).waitFor();
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
  const secret = (await page.locator('main p', { hasText: 'Key:' }).locator('code').innerText()).trim();
  const now = app.clock.now().getTime();
  await page.getByLabel('Code from the app').fill(totpCodeAt(secret, now));
  await page.getByRole('button', { name: 'Verify code' }).click();
  // Then the sign-in continues with the new factor (a code is accepted once: the next step's code).
  await page.getByRole('button', { name: /^Authenticator app code/ }).click();
  await page.getByLabel('Code').fill(totpCodeAt(secret, now + 30_000));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();
  await page.getByText('Nothing has been delivered to you yet.').waitFor();

  // Recovery codes from "My factors" get her in once the phone is gone.
  await page.getByRole('link', { name: 'My factors' }).click();
  await page.getByRole('button', { name: 'Create recovery codes' }).click();
  const codes = (await page.locator('.secret pre').innerText()).trim().split('\n');
  expect(codes).toHaveLength(10);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').fill('grace@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Recovery code' }).click();
  await page.getByLabel('Recovery code').fill(codes[0]!);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Inbox' }).waitFor();

  // The page the API's eID callback redirects to renders its outcome.
  await page.goto(`${base}/portal/#/eid-result?status=cancelled&flow=login`);
  await page.getByRole('heading', { name: 'eID not completed' }).waitFor();
  await page.getByText('The eID sign-in was cancelled.').waitFor();

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});
