/**
 * Swagger UI in a real browser: it renders under its strict CSP without console errors, never calls another
 * host, and "Try it out" reaches the running host.
 */
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let browser: Browser;
beforeAll(async () => {
  app = await startTestApp();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('Swagger UI renders under its CSP, calls only this host, and "Try it out" runs GET /health', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  const foreignRequests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(app.url) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
  });

  await page.goto(`${app.url}/docs`);
  await page.getByText('Connectid API', { exact: false }).first().waitFor();
  const operation = page.locator('#operations-meta-health');
  await operation.locator('.opblock-summary').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.getByRole('button', { name: 'Execute' }).click();
  const status = operation.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor();
  expect((await status.innerText()).trim()).toBe('200');
  expect(await operation.locator('.live-responses-table .microlight').first().innerText()).toContain('"ok"');

  expect(problems).toEqual([]);
  expect(foreignRequests).toEqual([]);
  await page.screenshot({ path: 'docs/screenshots/api-docs.png', fullPage: false });
});
