import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { errors } from '../lib/errors';
import { defineRoute } from '../lib/http/route';

/**
 * Swagger UI from the pinned swagger-ui-dist package, served by this host: no CDN, no calls to outside hosts
 * (validatorUrl off), and no inline script, so a strict Content-Security-Policy holds.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Connectid API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true
  });
});
`;

const PACKAGE_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const definition = defineRoute({
  name: 'docs',
  methods: ['GET'],
  route: 'docs/{*asset}',
  auth: 'public',
  openapi: false,
  handler: async (_request, { params }) => {
    const asset = params.asset ?? '';
    const headers = { 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' };
    if (asset === '' || asset === 'index.html') {
      return { status: 200, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' }, body: PAGE };
    }
    if (asset === 'init.js') {
      return { status: 200, headers: { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' }, body: INIT };
    }
    // A fixed allow-list: the asset name never reaches the file system unless it is one of these.
    const contentType = Object.hasOwn(PACKAGE_ASSETS, asset) ? PACKAGE_ASSETS[asset] : undefined;
    if (!contentType) throw errors.notFound();
    const file = path.join(swaggerUiDirectory(), asset);
    return {
      status: 200,
      headers: { ...headers, 'Content-Type': contentType, 'Cache-Control': 'public, max-age=3600' },
      body: Readable.from(fs.createReadStream(file)),
    };
  },
});

function swaggerUiDirectory(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}
