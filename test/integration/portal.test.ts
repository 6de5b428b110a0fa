/**
 * The portal's static files: served from an allow-list under the strict CSP, found both from the TypeScript
 * (functions/ → ../portal) and from the compiled app (dist/functions/ → ../../portal), and shipped with the app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PORTAL_CSP, portalAssets, portalDirectory } from '../../functions/portal';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => app.close());

const ROOT = path.resolve(__dirname, '../..');

test('every portal asset is served with its type, the strict CSP and the usual headers', async () => {
  const files = fs.readdirSync(path.join(ROOT, 'portal'));
  const types: Record<string, string> = { '': 'text/html' };
  for (const file of files) types[file] = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
  expect([...portalAssets().keys()].sort()).toEqual([...files].sort());
  const etags = new Set([...portalAssets().values()].map((asset) => asset.etag));
  expect(etags.size).toBe(files.length);
  expect(files).toEqual(expect.arrayContaining(['index.html', 'app.js', 'api.js', 'dom.js', 'signin.js', 'styles.css']));
  for (const [asset, type] of Object.entries(types)) {
    const response = await fetch(`${app.url}/portal/${asset}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain(type);
    expect(response.headers.get('content-security-policy')).toBe(PORTAL_CSP);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect(response.headers.get('permissions-policy')).toBe('camera=(), microphone=(), geolocation=(), payment=(), usb=()');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const body = await response.text();
    expect(body).toBe(fs.readFileSync(path.join(ROOT, 'portal', asset || 'index.html'), 'utf8'));
  }
  expect(PORTAL_CSP).toMatch(/script-src 'self';/);
  expect(PORTAL_CSP).toMatch(/frame-ancestors 'none'/);
  expect(PORTAL_CSP).not.toMatch(/unsafe-(inline|eval)/);
});

test('a revalidation with the current ETag is a 304 with no body; an old or foreign one gets the file', async () => {
  const first = await fetch(`${app.url}/portal/app.js`);
  const etag = first.headers.get('etag')!;
  expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  await first.arrayBuffer();
  for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await fetch(`${app.url}/portal/app.js`, { headers: { 'If-None-Match': ifNoneMatch } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('content-security-policy')).toBe(PORTAL_CSP);
    expect(await again.text()).toBe('');
  }
  const stale = await fetch(`${app.url}/portal/app.js`, { headers: { 'If-None-Match': '"stale"' } });
  expect(stale.status).toBe(200);
  expect(await stale.text()).toBe(fs.readFileSync(path.join(ROOT, 'portal/app.js'), 'utf8'));
  const other = await fetch(`${app.url}/portal/api.js`, { headers: { 'If-None-Match': etag } });
  expect(other.status).toBe(200);
});

test('anything not on the list is a 404, including paths that try to leave portal/', async () => {
  for (const asset of ['nothing.js', '..%2Fpackage.json', '%2e%2e/package.json', 'app.js.map', 'APP.JS', '.hidden.js', 'app.js%00.png', 'index.html/']) {
    expect((await fetch(`${app.url}/portal/${asset}`)).status).toBe(404);
  }
});

test('the directory is found from the sources, and the compiled layout resolves to the same place', () => {
  expect(portalDirectory()).toBe(path.join(ROOT, 'portal'));
  expect(path.resolve(ROOT, 'dist/functions', '../../portal')).toBe(path.join(ROOT, 'portal'));
});

test('the deployment package keeps portal/ (not in .funcignore), and the pages use no inline script or style', () => {
  const ignored = fs.readFileSync(path.join(ROOT, '.funcignore'), 'utf8').split('\n').map((line) => line.trim());
  expect(ignored.some((line) => /^\/?portal\/?/.test(line))).toBe(false);
  const html = fs.readFileSync(path.join(ROOT, 'portal/index.html'), 'utf8');
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  for (const file of fs.readdirSync(path.join(ROOT, 'portal')).filter((name) => name.endsWith('.js'))) {
    const source = fs.readFileSync(path.join(ROOT, 'portal', file), 'utf8');
    expect(source).not.toMatch(/localStorage|sessionStorage|document\.cookie|innerHTML|eval\(/);
  }
});
