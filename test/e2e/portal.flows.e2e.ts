/**
 * The rest of the portal in headless Chromium, against the real API of its own test app: an admin manages members
 * with the keyboard only (invite, change a role, reset factors, disable); sign-in with an email code, an SMS code
 * and a recovery code; the pages mail links open (accept an invitation, reset a password), also with a wrong or
 * used link; a list longer than a page; and a purged delivery's signed deletion receipt, verified with the JWKS.
 * Every page visited is checked for accessibility (names, ids, one h1, contrast), the admin pages and the inbox
 * for horizontal scrolling at phone width, and every portal response for the strict CSP; no page logs an error.
 */
import fs from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, Locator, Page } from 'playwright-core';
import { PORTAL_CSP } from '../../functions/portal';
import type { OutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import type { OutboxSmsSender } from '../../lib/adapters/sms/outboxSmsSender';
import { purgeExpired } from '../../lib/domain/retention/purge';
import { expectAccessible, expectCleanAndProtected, expectNoHorizontalScroll, expectVisibleFocus, launchChromium, openPortal, tabTo } from '../helpers/browser';
import { freePort } from '../../lib/adapters/blob/azurite';
import { buildWorld, putItem, signUpRequester, type World } from '../helpers/deliveries';
import { api, inviteAndJoin, login, mailedToken, nextTotpCode, PASSWORD, tokenRequest, type Tokens } from '../helpers/identity';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let browser: Browser;
let world: World;
let base: string;
let doraId: string;

const NEW_PASSWORD = 'a brand new passphrase for carol';
const PHONE = '+46701234567';


beforeAll(async () => {
  const port = await freePort();
  base = `http://localhost:${port}`;
  app = await startTestApp({ port, env: { PUBLIC_BASE_URL: base } });
  world = await buildWorld(app);
  // Dora is an active Acme member with a factor: the admin disables her.
  doraId = await inviteAndJoin(app, { access_token: world.acme.admin.token } as Tokens, world.acme.organizationId, 'dora@acme.example');
  await login(app, 'dora@acme.example');
  // Carol forgets her password.
  await signUpRequester(app, 'carol@example.org', 'Carol Shaw');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});






/** Waits for a heading, with the page's text in the failure. */
async function heading(page: Page, name: string): Promise<void> {
  await page
    .getByRole('heading', { name, exact: true })
    .first()
    .waitFor({ timeout: 5000 })
    .catch(async (error) => {
      throw new Error(`${error.message}\n${await page.locator('body').innerText()}`);
    });
}

async function signInWithTotp(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: /^Authenticator app code/ }).click();
  await page.getByLabel('Code').fill(nextTotpCode(app, email));
  await page.getByRole('button', { name: 'Verify' }).click();
}

/** Tabs to `target` (see tabTo), and checks that the focus on it is visible: a keyboard user sees where they are. */
async function keyTo(page: Page, target: Locator, options: { max?: number; backwards?: boolean } = {}): Promise<void> {
  await tabTo(page, target, options);
  await expectVisibleFocus(page, String(target));
}

/** The aria-label (else the text) of the focused element. */
function focusedName(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? null);
}

function passwordGrant(email: string, password = PASSWORD) {
  return tokenRequest(app, { grant_type: 'password', username: email, password });
}

async function memberRole(email: string): Promise<{ id: string; role: string; status: string }> {
  await world.acme.admin.refresh();
  const members = await api(app, 'GET', `/v1/organizations/${world.acme.organizationId}/members?limit=100`, { token: world.acme.admin.token });
  expect(members.status).toBe(200);
  return members.body.items.find((member: any) => member.email === email);
}

test('an admin manages members with the keyboard only: invite, change a role, reset factors, disable', async () => {
  const watched = await openPortal(browser, base);
  const { page } = watched;
  await expectAccessible(page, 'sign-in');

  // Sign in: the email field has focus; Tab, Enter; Tab to the first factor, Enter, the code, Enter.
  await page.keyboard.type('admin@acme.example');
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await heading(page, 'Second factor');
  await expectAccessible(page, 'second factor');
  await keyTo(page, page.getByRole('button', { name: /^Authenticator app code/ }));
  await page.keyboard.press('Enter');
  await page.getByLabel('Code').waitFor();
  await page.keyboard.type(nextTotpCode(app, 'admin@acme.example'));
  await page.keyboard.press('Enter');
  await heading(page, 'API keys');
  await page.locator('tbody tr').first().waitFor();
  await expectAccessible(page, 'API keys');

  // A key created and revoked with the keyboard; after each step focus stays on the key's row, not the page body.
  await keyTo(page, page.getByLabel('Key name'));
  await page.keyboard.type('keyboard-key');
  await page.keyboard.press('Enter');
  await heading(page, 'API key "keyboard-key" created');
  await expect(focusedName(page)).resolves.toBe('API key "keyboard-key" created');
  await expectVisibleFocus(page, 'new key');
  await expectAccessible(page, 'API keys, secret shown');
  await keyTo(page, page.getByRole('button', { name: 'I have stored the key' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('new-secret').count()).resolves.toBe(0);
  const keyRow = page.locator('tbody tr', { hasText: 'keyboard-key' });
  expect(await keyRow.evaluate((row) => row === document.activeElement)).toBe(true);
  await expectVisibleFocus(page, 'the new key\'s row');
  page.once('dialog', (dialog) => void dialog.accept());
  await keyTo(page, keyRow.getByRole('button', { name: 'Revoke key' }));
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'API key "keyboard-key" revoked.' }).waitFor();
  await keyRow.getByRole('cell', { name: 'revoked' }).waitFor();
  expect(await keyRow.evaluate((row) => row === document.activeElement)).toBe(true);

  // Members, from the navigation.
  await keyTo(page, page.getByRole('link', { name: 'Members' }));
  await page.keyboard.press('Enter');
  await heading(page, 'Members');
  await page.getByRole('button', { name: 'Reset factors of otto@acme.example' }).waitFor();
  await expectAccessible(page, 'members');

  // The skip link (the first stop of the page) moves focus to the content and leaves the page where it is.
  await keyTo(page, page.getByRole('link', { name: 'Skip to content' }), { backwards: true });
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => [location.hash, document.activeElement?.id])).toEqual(['#/members', 'main']);
  await heading(page, 'Members');

  // Invite: type the address, Tab to the role, pick Admin with the arrow keys, Tab to the button, Enter.
  await keyTo(page, page.getByLabel('Email of the new member'));
  await page.keyboard.type('keyboard@acme.example');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => (document.activeElement as HTMLSelectElement).name)).toBe('role');
  await page.keyboard.press('ArrowDown');
  await keyTo(page, page.getByRole('button', { name: 'Invite member' }));
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Invitation sent to keyboard@acme.example.' }).waitFor();
  // Invited as an admin: once accepted, the member list says so.
  const invited = await mailedToken(app, 'keyboard@acme.example', 'accept-invite');
  expect((await api(app, 'POST', '/v1/auth/accept-invite', { body: { token: invited, password: PASSWORD } })).status).toBe(200);
  expect(await memberRole('keyboard@acme.example')).toMatchObject({ role: 'org_admin', status: 'active' });

  // Otto's role: the select in his row, changed with the arrow keys (Member → Admin).
  expect(await memberRole('otto@acme.example')).toMatchObject({ role: 'org_member', status: 'active' });
  const ottoRole = page.getByRole('combobox', { name: 'Role of otto@acme.example' });
  await keyTo(page, ottoRole);
  await page.keyboard.press('ArrowUp');
  await page.getByRole('status').filter({ hasText: 'otto@acme.example is now Admin.' }).waitFor();
  expect(await memberRole('otto@acme.example')).toMatchObject({ role: 'org_admin' });
  expect(await ottoRole.inputValue()).toBe('org_admin');
  // The list is drawn anew; the keyboard user stays where they were, on Otto's role.
  await expect(focusedName(page)).resolves.toBe('Role of otto@acme.example');

  // Otto's factors: Enter on "Reset factors", the confirmation accepted; his next sign-in must enroll a factor.
  const confirmations: string[] = [];
  page.on('dialog', (dialog) => {
    confirmations.push(dialog.message());
    void dialog.accept();
  });
  await keyTo(page, page.getByRole('button', { name: 'Reset factors of otto@acme.example' }));
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Factors of otto@acme.example reset.' }).waitFor();
  expect(confirmations).toEqual([expect.stringContaining('Reset the second factors of otto@acme.example?')]);
  const otto = await passwordGrant('otto@acme.example');
  expect(otto.status).toBe(403);
  expect(otto.body.error).toBe('mfa_enrollment_required');

  // Dora: Space on "Disable"; her password no longer signs her in.
  expect((await passwordGrant('dora@acme.example')).body.error).toBe('mfa_required');
  await keyTo(page, page.getByRole('button', { name: 'Disable dora@acme.example' }));
  await page.keyboard.press('Space');
  await page.getByRole('status').filter({ hasText: 'dora@acme.example disabled.' }).waitFor();
  await page.getByRole('button', { name: 'Enable dora@acme.example' }).waitFor();
  await expect(focusedName(page)).resolves.toBe('Enable dora@acme.example');
  expect(await memberRole('dora@acme.example')).toMatchObject({ id: doraId, status: 'disabled' });
  const dora = await passwordGrant('dora@acme.example');
  expect(dora.status).toBe(400);
  expect(dora.body.error).toBe('invalid_grant');
  expect(dora.body.access_token).toBeUndefined();
  expect(dora.body.mfa_token).toBeUndefined();

  await page.screenshot({ path: 'docs/screenshots/portal-members.png', fullPage: true });

  // The other admin pages, reached from the navigation (Shift+Tab back up to it).
  for (const [link, title] of [
    ['Requests', 'Requests'],
    ['Audit log', 'Audit log'],
  ] as const) {
    await keyTo(page, page.getByRole('link', { name: link, exact: true }), { backwards: true });
    await page.keyboard.press('Enter');
    await heading(page, title);
    await page.locator(title === 'Requests' ? 'main p:text("No open requests.")' : 'main tbody tr').first().waitFor();
    await expectAccessible(page, title);
  }
  expect(await page.locator('tbody').innerText()).toContain('Member disabled');
  await page.screenshot({ path: 'docs/screenshots/portal-audit.png', fullPage: true });

  // At phone width nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [link, title] of [
    ['API keys', 'API keys'],
    ['Members', 'Members'],
    ['Audit log', 'Audit log'],
  ] as const) {
    await keyTo(page, page.getByRole('link', { name: link, exact: true }), { backwards: true });
    await page.keyboard.press('Enter');
    await heading(page, title);
    await page.locator('main tbody tr').first().waitFor();
    await expectNoHorizontalScroll(page, title);
    await expectAccessible(page, `${title} (phone)`);
  }

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

async function codeMailedTo(email: string, after: number): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const mails = (await (app.services.mailer as OutboxMailer).list()).filter((mail) => mail.to === email && /is your Connectid code/.test(mail.subject));
    if (mails.length > after) return /\b(\d{6})\b/.exec(mails[mails.length - 1]!.text)![1]!;
    if (Date.now() > deadline) throw new Error(`no new code mailed to ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function codeTextedTo(phone: string, after: number): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const texts = (await (app.services.sms as OutboxSmsSender).list()).filter((text) => text.to === phone);
    if (texts.length > after) return /\b(\d{6})\b/.exec(texts[texts.length - 1]!.text)![1]!;
    if (Date.now() > deadline) throw new Error(`no new code texted to ${phone}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function mailedCodeCount(email: string): Promise<number> {
  return (await (app.services.mailer as OutboxMailer).list()).filter((mail) => mail.to === email && /is your Connectid code/.test(mail.subject)).length;
}

async function textCount(phone: string): Promise<number> {
  return (await (app.services.sms as OutboxSmsSender).list()).filter((text) => text.to === phone).length;
}

test('a requester signs in with a mailed code, a texted code and a recovery code', async () => {
  // Bob adds an email factor, an SMS factor and recovery codes over the API.
  const tokens = await login(app, 'bob@example.org');
  const mailFactor = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'email', label: 'My inbox' } });
  expect(mailFactor.status).toBe(201);
  const enrollMail = await codeMailedTo('bob@example.org', 0);
  expect((await api(app, 'POST', `/v1/me/factors/${mailFactor.body.id}/verify`, { token: tokens.access_token, body: { code: enrollMail } })).body.status).toBe('active');
  const smsFactor = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'sms', label: 'Work phone', phone: PHONE } });
  expect(smsFactor.status).toBe(201);
  const enrollText = await codeTextedTo(PHONE, 0);
  expect((await api(app, 'POST', `/v1/me/factors/${smsFactor.body.id}/verify`, { token: tokens.access_token, body: { code: enrollText } })).body.status).toBe('active');
  const recovery = await api(app, 'POST', '/v1/me/recovery-codes', { token: tokens.access_token });
  expect(recovery.status).toBe(201);
  const codes = recovery.body.codes as string[];

  const watched = await openPortal(browser, base);
  const { page } = watched;
  const passwordStep = async () => {
    await page.getByLabel('Email').fill('bob@example.org');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Second factor');
  };
  const signedIn = async () => {
    await heading(page, 'Inbox');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading(page, 'Sign in');
  };

  // Email.
  await passwordStep();
  let before = await mailedCodeCount('bob@example.org');
  await page.getByRole('button', { name: 'Email me a code: My inbox' }).click();
  await page.getByText('We sent a 6-digit code to your email address.').waitFor();
  await expectAccessible(page, 'second factor (email code)');
  await page.getByLabel('Code').fill(await codeMailedTo('bob@example.org', before));
  await page.getByRole('button', { name: 'Verify' }).click();
  await signedIn();

  // SMS.
  await passwordStep();
  before = await textCount(PHONE);
  await page.getByRole('button', { name: 'Text me a code: Work phone' }).click();
  await page.getByText('We sent a 6-digit code by text message.').waitFor();
  await page.getByLabel('Code').fill(await codeTextedTo(PHONE, before));
  await page.getByRole('button', { name: 'Verify' }).click();
  await signedIn();

  // A recovery code.
  await passwordStep();
  await page.getByRole('button', { name: 'Recovery code' }).click();
  await page.getByLabel('Recovery code').fill(codes[0]!);
  await page.getByRole('button', { name: 'Verify' }).click();
  await heading(page, 'Inbox');
  await page.getByRole('link', { name: 'My factors' }).click();
  await heading(page, 'My factors');
  await page.getByText(`Recovery codes left: ${codes.length - 1}`).waitFor();
  await expectAccessible(page, 'my factors');
  const factors = await api(app, 'GET', '/v1/me/factors', { token: (await login(app, 'bob@example.org')).access_token });
  for (const id of [mailFactor.body.id, smsFactor.body.id]) expect(factors.body.items.find((factor: any) => factor.id === id).lastUsedAt).not.toBeNull();

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

test('mail links: accepting an invitation leads to enrollment; a reset password replaces the old one; wrong and used links change nothing', async () => {
  await world.acme.admin.refresh();
  expect((await api(app, 'POST', `/v1/organizations/${world.acme.organizationId}/members`, { token: world.acme.admin.token, body: { email: 'nina@acme.example', role: 'org_member' } })).status).toBe(201);
  const invitation = await mailedToken(app, 'nina@acme.example', 'accept-invite');

  const watched = await openPortal(browser, base, { route: 'sign-up' });
  const { page } = watched;
  await heading(page, 'Create your account');
  await expectAccessible(page, 'sign-up');

  // A wrong invitation link: a clear error, and nothing accepted.
  await page.goto(`${base}/portal/#/accept-invite/${'x'.repeat(43)}`);
  await heading(page, 'Accept your invitation');
  await expectAccessible(page, 'accept-invite');
  await page.getByLabel('Choose a password').fill(PASSWORD);
  watched.provoke(400);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /\S/ }).innerText()).resolves.toMatch(/invalid, expired or already used/);
  await heading(page, 'Accept your invitation');
  expect((await passwordGrant('nina@acme.example')).status).toBe(400);

  // The real link: choose a password, sign in, and be led to set up a second factor.
  await page.goto(`${base}/portal/#/accept-invite/${invitation}`);
  await heading(page, 'Accept your invitation');
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await heading(page, 'Sign in');
  await page.getByRole('status').filter({ hasText: 'Invitation accepted: sign in now.' }).waitFor();
  await page.getByLabel('Email').fill('nina@acme.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Set up a second factor');
  await page.getByRole('button', { name: 'Set up an authenticator app' }).waitFor();
  await expectAccessible(page, 'forced enrollment');
  expect(await memberRole('nina@acme.example')).toMatchObject({ status: 'active' });

  // The same invitation link again: used, so refused.
  await page.goto(`${base}/portal/#/accept-invite/${invitation}`);
  await heading(page, 'Accept your invitation');
  await page.getByLabel('Choose a password').fill(NEW_PASSWORD);
  watched.provoke(400);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /\S/ }).innerText()).resolves.toMatch(/invalid, expired or already used/);
  expect((await passwordGrant('nina@acme.example', NEW_PASSWORD)).status).toBe(400);
  expect((await passwordGrant('nina@acme.example')).body.error).toBe('mfa_enrollment_required');

  // An expired reset link (older than an hour): refused, the old password still works.
  expect((await api(app, 'POST', '/v1/auth/password-reset', { body: { email: 'carol@example.org' } })).status).toBeLessThan(300);
  const expired = await mailedToken(app, 'carol@example.org', 'reset-password');
  app.clock.advance(61 * 60_000);
  await page.goto(`${base}/portal/#/reset-password/${expired}`);
  await heading(page, 'Choose a new password');
  await expectAccessible(page, 'reset-password');
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  watched.provoke(400);
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /\S/ }).innerText()).resolves.toMatch(/invalid, expired or already used/);
  expect((await passwordGrant('carol@example.org', NEW_PASSWORD)).status).toBe(400);
  expect((await passwordGrant('carol@example.org')).body.error).toBe('mfa_required');

  // Forgot password, from the sign-in page: the mailed link sets a new password; the old one stops working.
  await page.goto(`${base}/portal/#/sign-in`);
  await heading(page, 'Sign in');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await heading(page, 'Forgot your password?');
  await expectAccessible(page, 'forgot-password');
  await page.getByLabel('Email').fill('carol@example.org');
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await heading(page, 'Check your mail');
  const reset = await mailedToken(app, 'carol@example.org', 'reset-password');
  expect(reset).not.toBe(expired);
  await page.goto(`${base}/portal/#/reset-password/${reset}`);
  await heading(page, 'Choose a new password');
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set password' }).click();
  await heading(page, 'Sign in');
  await page.getByRole('status').filter({ hasText: 'Password changed: sign in now.' }).waitFor();
  expect((await passwordGrant('carol@example.org')).status).toBe(400);
  expect((await passwordGrant('carol@example.org', NEW_PASSWORD)).body.error).toBe('mfa_required');

  // In the portal too: the old password is refused, the new one leads to the second factor.
  await page.getByLabel('Email').fill('carol@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  watched.provoke(400);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /\S/ }).innerText()).resolves.toMatch(/\S/);
  await signInWithTotp(page, 'carol@example.org', NEW_PASSWORD);
  await heading(page, 'Inbox');

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

/** Signs in with the keyboard alone: the email field has focus; Tab, Enter; Tab to the authenticator, Enter, code, Enter. */
async function keyboardSignIn(page: Page, email: string): Promise<void> {
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await heading(page, 'Second factor');
  await keyTo(page, page.getByRole('button', { name: /^Authenticator app code/ }));
  await page.keyboard.press('Enter');
  await page.getByLabel('Code').waitFor();
  await page.keyboard.type(nextTotpCode(app, email));
  await page.keyboard.press('Enter');
}

test('keyboard alone: a requester opens a request with consent, a member uploads and submits the delivery, the requester downloads it', async () => {
  for (const who of [world.acme.admin, world.mia, world.ada]) await who.refresh();
  const purpose = 'Keyboard-only request';
  const content = Buffer.concat([Buffer.from('keyboard,only\n'), Buffer.alloc(120_000, 66)]);

  // Ada: the directory, the organization's form, two categories and the consent checked with Space, Enter to send.
  const requester = await openPortal(browser, base, { acceptDownloads: true });
  await keyboardSignIn(requester.page, 'ada@example.org');
  await heading(requester.page, 'Inbox');
  await keyTo(requester.page, requester.page.getByRole('link', { name: 'Organizations', exact: true }), { backwards: true });
  await requester.page.keyboard.press('Enter');
  await heading(requester.page, 'Organizations');
  await keyTo(requester.page, requester.page.getByRole('link', { name: 'Ask Acme Insurance for my data' }));
  await requester.page.keyboard.press('Enter');
  await heading(requester.page, 'Ask for my data');
  // The form opens with the purpose field focused.
  expect(await requester.page.getByLabel('Purpose').evaluate((input) => input === document.activeElement)).toBe(true);
  await requester.page.keyboard.type(purpose);
  for (const box of ['Contact details', 'Financial', 'I consent to this organization delivering this data to me through Connectid.']) {
    await keyTo(requester.page, requester.page.getByLabel(box));
    await requester.page.keyboard.press('Space');
    expect(await requester.page.getByLabel(box).isChecked()).toBe(true);
  }
  await keyTo(requester.page, requester.page.getByRole('button', { name: 'Open request' }));
  await requester.page.keyboard.press('Enter');
  await heading(requester.page, 'My requests');
  const requests = await api(app, 'GET', '/v1/requests', { token: world.ada.token });
  const opened = requests.body.items.find((request: { purpose: string }) => request.purpose === purpose);
  expect(opened).toMatchObject({ status: 'open', categories: ['contact', 'financial'] });
  expect((await api(app, 'POST', `/v1/requests/${opened.id}/assign`, { token: world.acme.admin.token, body: { assigneeId: world.mia.id } })).status).toBe(200);

  // Mia: the request, a draft, the file chosen from the file input with Space, uploaded and submitted with Enter.
  const member = await openPortal(browser, base);
  await keyboardSignIn(member.page, 'mia@acme.example');
  await heading(member.page, 'Requests assigned to me');
  await keyTo(member.page, member.page.getByRole('link', { name: `Prepare a delivery for "${purpose}"` }));
  await member.page.keyboard.press('Enter');
  await heading(member.page, 'Prepare a delivery');
  await keyTo(member.page, member.page.getByLabel('Title of the delivery'));
  await member.page.keyboard.press('Control+A');
  await member.page.keyboard.type('Keyboard delivery');
  await member.page.keyboard.press('Enter');
  await heading(member.page, 'Files of "Keyboard delivery"');
  const [chooser] = await Promise.all([member.page.waitForEvent('filechooser'), member.page.keyboard.press('Space')]);
  await chooser.setFiles({ name: 'keyboard.csv', mimeType: 'text/csv', buffer: content });
  await keyTo(member.page, member.page.getByRole('button', { name: 'Upload files' }));
  await member.page.keyboard.press('Enter');
  await member.page.getByRole('status').filter({ hasText: 'Files uploaded.' }).waitFor();
  await keyTo(member.page, member.page.getByRole('button', { name: 'Submit delivery' }));
  await member.page.keyboard.press('Enter');
  await member.page.getByText('Delivery "Keyboard delivery" submitted').waitFor();
  expectCleanAndProtected(member, PORTAL_CSP);
  await member.context.close();

  // Ada: the inbox, the delivery, Download with Enter: the same bytes.
  await keyTo(requester.page, requester.page.getByRole('link', { name: 'Inbox', exact: true }), { backwards: true });
  await requester.page.keyboard.press('Enter');
  await heading(requester.page, 'Inbox');
  await keyTo(requester.page, requester.page.getByRole('link', { name: 'Keyboard delivery' }));
  await requester.page.keyboard.press('Enter');
  await heading(requester.page, 'Keyboard delivery');
  await keyTo(requester.page, requester.page.getByRole('button', { name: 'Download' }));
  const [download] = await Promise.all([requester.page.waitForEvent('download'), requester.page.keyboard.press('Enter')]);
  expect(download.suggestedFilename()).toBe('keyboard.csv');
  expect(fs.readFileSync((await download.path())!).equals(content)).toBe(true);
  expectCleanAndProtected(requester, PORTAL_CSP);
  await requester.context.close();
});

test('an admin declines a request with a reason, by keyboard; it leaves the open list and shows under Declined', async () => {
  for (const who of [world.acme.admin, world.bob]) await who.refresh();
  const purpose = 'Please decline me';
  const opened = await api(app, 'POST', '/v1/requests', { token: world.bob.token, body: { organizationId: world.acme.organizationId, purpose, categories: ['other'] } });
  expect(opened.status).toBe(201);

  const watched = await openPortal(browser, base);
  const { page } = watched;
  await keyboardSignIn(page, 'admin@acme.example');
  await heading(page, 'API keys');
  await keyTo(page, page.getByRole('link', { name: 'Requests', exact: true }), { backwards: true });
  await page.keyboard.press('Enter');
  await heading(page, 'Requests');
  page.once('dialog', (dialog) => void dialog.accept('We hold no data about you.'));
  await keyTo(page, page.getByRole('button', { name: `Decline the request "${purpose}"` }));
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: `Request "${purpose}" declined.` }).waitFor();
  await page.locator('tbody tr', { hasText: purpose }).waitFor({ state: 'detached' });
  await expectAccessible(page, 'requests');

  // Focus stayed on the page (on the list's filter): choose Declined with the arrow keys.
  await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'status', undefined, { timeout: 5000 });
  await page.keyboard.press('ArrowDown');
  const row = page.locator('tbody tr', { hasText: purpose });
  await row.waitFor();
  expect(await row.getByRole('cell', { name: 'declined', exact: true }).count()).toBe(1);

  const seen = await api(app, 'GET', `/v1/requests/${opened.body.id}`, { token: world.bob.token });
  expect(seen.body).toMatchObject({ status: 'declined', decline: { reason: 'We hold no data about you.' } });
  expect((await api(app, 'GET', `/v1/requests/${opened.body.id}/consent`, { token: world.bob.token })).body.payload.status).toBe('declined');
  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

test('an operator creates an organization with its first admin, by keyboard, and the admin is invited', async () => {
  const watched = await openPortal(browser, base);
  const { page } = watched;
  await signInWithTotp(page, 'operator@connectid.example');
  await heading(page, 'Organizations');
  await page.locator('main tbody tr').first().waitFor();
  await expectAccessible(page, 'operator organizations');

  await keyTo(page, page.getByLabel('Organization name'));
  await page.keyboard.type('Initech');
  await page.keyboard.press('Tab');
  await page.keyboard.type('boss@initech.example');
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Organization "Initech" created; the invitation is on its way to boss@initech.example.' }).waitFor();
  expect(await page.getByLabel('Organization name').inputValue()).toBe('');

  // Over the API: the organization exists, and its first admin can accept the mailed invitation.
  const operator = await login(app, 'operator@connectid.example', { scope: 'operator' });
  const listed = await api(app, 'GET', '/v1/organizations?limit=200', { token: operator.access_token });
  expect(listed.body.items.map((organization: { name: string }) => organization.name)).toContain('Initech');
  const invitation = await mailedToken(app, 'boss@initech.example', 'accept-invite');
  expect((await api(app, 'POST', '/v1/auth/accept-invite', { body: { token: invitation, password: PASSWORD } })).status).toBe(200);

  // An address the browser lets through but the API refuses: the reason shows, and nothing is created.
  await page.getByLabel('Organization name').fill('Broken Org');
  await page.getByLabel('Email of its first admin').fill('admin@localhost');
  watched.provoke(400);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.locator('main .error').filter({ hasText: 'adminEmail' }).waitFor();
  const after = await api(app, 'GET', '/v1/organizations?limit=200', { token: operator.access_token });
  expect(after.body.items.map((organization: { name: string }) => organization.name)).not.toContain('Broken Org');

  await page.screenshot({ path: 'docs/screenshots/portal-platform.png', fullPage: true });
  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});

test('a requester pages through 55 organizations with the keyboard, and keeps a verifiable deletion receipt of a purged delivery', async () => {
  // Enough organizations to make 55 (Acme, Globex and any an earlier test created count), through the operator API.
  const operator = await login(app, 'operator@connectid.example', { scope: 'operator' });
  const existing = (await api(app, 'GET', '/v1/organizations?limit=200', { token: operator.access_token })).body.items.length as number;
  const missing = 55 - existing;
  for (let start = 1; start <= missing; start += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, missing + 1 - start) }, async (_, offset) => {
        const n = String(start + offset).padStart(2, '0');
        const created = await api(app, 'POST', '/v1/organizations', { token: operator.access_token, body: { name: `Paging Org ${n}`, adminEmail: `admin@paging-${n}.example` } });
        expect(created.status).toBe(201);
      }),
    );
  }

  // A delivery of two files to Ada, released, expired and purged.
  for (const who of [world.ada, world.acme.admin, world.mia]) await who.refresh();
  const opened = await api(app, 'POST', '/v1/requests', { token: world.ada.token, body: { organizationId: world.acme.organizationId, purpose: 'Claims history', categories: ['financial'] } });
  expect(opened.status).toBe(201);
  expect((await api(app, 'POST', `/v1/requests/${opened.body.id}/assign`, { token: world.acme.admin.token, body: { assigneeId: world.mia.id } })).status).toBe(200);
  const created = await api(app, 'POST', `/v1/requests/${opened.body.id}/deliveries`, { token: world.mia.token, body: { title: 'Your claims history' } });
  expect(created.status).toBe(201);
  const deliveryId = created.body.id as string;
  for (const name of ['claims.csv', 'letters.pdf']) expect((await putItem(app, world.mia, deliveryId, name, Buffer.from(`content of ${name}`))).status).toBe(201);
  const released = await api(app, 'POST', `/v1/deliveries/${deliveryId}/submit`, { token: world.mia.token });
  expect(released.status).toBe(200);
  app.clock.set(new Date(released.body.expiresAt));
  // Deliveries of earlier tests expire with it: at least this one (its two files) is purged.
  const report = await purgeExpired(app.services);
  expect(report.deliveriesPurged).toBeGreaterThanOrEqual(1);
  expect(report.itemsShredded).toBeGreaterThanOrEqual(2);

  const watched = await openPortal(browser, base);
  const { page } = watched;
  await signInWithTotp(page, 'ada@example.org');
  await heading(page, 'Inbox');
  const row = page.locator('tbody tr', { hasText: 'Your claims history' });
  await row.waitFor();
  expect(await row.getByRole('cell').nth(2).innerText()).toBe('deleted');
  await expectAccessible(page, 'inbox');
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoHorizontalScroll(page, 'inbox');
  await page.setViewportSize({ width: 1200, height: 800 });

  // The delivery page: its deletion receipt, whose JWS the app's JWKS verifies.
  await row.getByRole('link', { name: 'Your claims history' }).click();
  await heading(page, 'Your claims history');
  await page.getByText('This delivery was deleted 32 days after it was sent').waitFor();
  await keyTo(page, page.getByRole('button', { name: 'Show deletion receipt' }));
  await page.keyboard.press('Enter');
  const receipt = page.getByRole('region', { name: 'Deletion receipt' });
  await receipt.waitFor();
  expect(await receipt.innerText()).toContain('Files destroyed: 2');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Deletion receipt');
  await expectVisibleFocus(page, 'deletion receipt heading');
  await expectAccessible(page, 'delivery');
  // Open both parts of the receipt with the keyboard and check them too.
  for (const summary of ['All claims', 'Signed receipt (JWS)']) {
    await keyTo(page, receipt.locator('summary', { hasText: summary }));
    await page.keyboard.press('Enter');
  }
  await keyTo(page, receipt.getByTestId('receipt-jws'));
  await expectAccessible(page, 'delivery, receipt opened');
  await page.screenshot({ path: 'docs/screenshots/portal-deletion-receipt.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoHorizontalScroll(page, 'delivery, receipt opened');
  await page.setViewportSize({ width: 1200, height: 800 });
  const jws = (await receipt.getByTestId('receipt-jws').innerText()).trim();
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(jws, jwks, { currentDate: app.clock.now() });
  expect(payload).toMatchObject({ receiptType: 'deletion', deliveryId, requestId: opened.body.id, requesterId: world.ada.id, items: 2 });
  await expect(jwtVerify(`${jws.slice(0, -4)}AAAA`, jwks, { currentDate: app.clock.now() })).rejects.toThrow();
  await world.ada.refresh();
  const fromApi = await api(app, 'GET', `/v1/deliveries/${deliveryId}/deletion-receipt`, { token: world.ada.token });
  expect(fromApi.status).toBe(200);
  expect(fromApi.body.receipt).toBe(jws);

  // "Who accessed my data": the purge, with the same receipt.
  await page.getByRole('link', { name: 'Who accessed my data' }).click();
  await heading(page, 'Who accessed my data');
  const purgedRow = page.locator('tbody tr', { hasText: 'Delivery deleted after 32 days' }).filter({ hasText: 'Your claims history' });
  await purgedRow.waitFor();
  await expectAccessible(page, 'who accessed my data');
  await page.screenshot({ path: 'docs/screenshots/portal-access.png', fullPage: true });
  await purgedRow.getByRole('button', { name: 'Show deletion receipt' }).click();
  const again = page.getByRole('region', { name: 'Deletion receipt' });
  await again.waitFor();
  expect(await again.innerText()).toContain('Files destroyed: 2');
  expect(((await again.getByTestId('receipt-jws').textContent()) ?? '').trim()).toBe(jws);

  // My requests.
  await page.getByRole('link', { name: 'My requests' }).click();
  await heading(page, 'My requests');
  await page.locator('tbody tr', { hasText: 'Claims history' }).waitFor();
  await expectAccessible(page, 'my requests');

  // Organizations: 50 of 55, then the rest with the keyboard; focus lands on the first new row.
  await page.getByRole('link', { name: 'Organizations' }).click();
  await heading(page, 'Organizations');
  const rows = page.locator('main tbody tr');
  await rows.first().waitFor();
  expect(await rows.count()).toBe(50);
  await expectAccessible(page, 'organizations');
  const more = page.getByRole('button', { name: 'Show more organizations' });
  await keyTo(page, more, { max: 120 });
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: '55 organizations shown: that is all of them.' }).waitFor();
  expect(await rows.count()).toBe(55);
  expect(await more.isVisible()).toBe(false);
  expect(await rows.nth(50).evaluate((element) => element === document.activeElement)).toBe(true);
  await expectVisibleFocus(page, 'first new organization');
  const names = await page.locator('main tbody tr td:first-child').allInnerTexts();
  expect(new Set(names).size).toBe(55);
  expect(names).toEqual(expect.arrayContaining(['Acme Insurance', 'Globex Bank', 'Paging Org 01', `Paging Org ${String(missing).padStart(2, '0')}`]));
  await expectAccessible(page, 'organizations, all shown');

  expectCleanAndProtected(watched, PORTAL_CSP);
  await watched.context.close();
});
