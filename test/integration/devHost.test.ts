import http from 'node:http';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { routes } from '../../lib/app/routeTable';
import { defineRoute, type RouteDefinition } from '../../lib/http/route';
import { startTestApp, type TestApp } from '../helpers/testApp';

/** A test-only route that streams the request body straight back, so streaming both ways can be observed. */
const echo: RouteDefinition = defineRoute({
  name: 'testEcho',
  methods: ['PUT'],
  route: 'test/echo',
  auth: 'public',
  openapi: false,
  handler: async (request) => ({ status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: request.body ?? undefined }),
});

/** A test-only route whose streamed body disagrees with its Content-Length (?declared=N&sent=M). */
const liar: RouteDefinition = defineRoute({
  name: 'testLiar',
  methods: ['GET'],
  route: 'test/liar',
  auth: 'public',
  openapi: false,
  handler: async (request) => ({
    status: 200,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': request.query.get('declared')! },
    body: Readable.from([Buffer.alloc(Number(request.query.get('sent')), 65)]),
  }),
});

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ routes: [...routes, echo, liar] });
});
afterAll(async () => app.close());

describe('the dev host serves the route table', () => {
  test('GET /health answers ok with security headers and a correlation id', async () => {
    const response = await fetch(`${app.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect(response.headers.get('permissions-policy')).toContain('camera=()');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-correlation-id')).toMatch(/^[0-9a-f]{16}$/);
  });

  test('an unknown path is a 404 problem+json', async () => {
    const response = await fetch(`${app.url}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = await response.json();
    expect(problem).toMatchObject({ status: 404, code: 'not_found' });
    expect(problem.correlationId).toBe(response.headers.get('x-correlation-id'));
  });

  test('a known path with the wrong method is a 405 that says what is allowed', async () => {
    const response = await fetch(`${app.url}/health`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect((await response.json()).code).toBe('method_not_allowed');
  });

  test('request and response bodies stream: the reply starts before the upload ends', async () => {
    const url = new URL(`${app.url}/test/echo`);
    const first = randomBytes(256 * 1024);
    const rest = randomBytes(4 * 1024 * 1024);
    const received: Buffer[] = [];
    const digest = await new Promise<string>((resolve, reject) => {
      const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
      request.on('error', reject);
      request.on('response', (response) => {
        let sentRest = false;
        response.on('data', (chunk: Buffer) => {
          received.push(chunk);
          // Only once echoed bytes come back is the rest sent: a buffering host would never answer.
          if (!sentRest) {
            sentRest = true;
            request.end(rest);
          }
        });
        response.on('end', () => resolve(createHash('sha256').update(Buffer.concat(received)).digest('hex')));
        response.on('error', reject);
      });
      request.write(first);
    });
    expect(digest).toBe(createHash('sha256').update(Buffer.concat([first, rest])).digest('hex'));
  });
});

describe('a streamed body that disagrees with its Content-Length', () => {
  test('shorter or longer than declared: the connection breaks instead of a body that lies about its size', async () => {
    for (const [declared, sent] of [[10, 5], [3, 5]] as const) {
      // Broken before the headers arrive or while the body is read: either way never a complete answer.
      const outcome = await fetch(`${app.url}/test/liar?declared=${declared}&sent=${sent}`)
        .then((response) => response.arrayBuffer())
        .then(
          () => 'complete',
          () => 'broken',
        );
      expect({ declared, sent, outcome }).toEqual({ declared, sent, outcome: 'broken' });
    }
    const honest = await fetch(`${app.url}/test/liar?declared=5&sent=5`);
    expect(Buffer.from(await honest.arrayBuffer()).toString()).toBe('AAAAA');
  });
});

describe('API documentation', () => {
  test('GET /openapi.json is an OpenAPI 3.1 document describing the routes', async () => {
    const response = await fetch(`${app.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: '/' }]);
    expect(document.paths['/health'].get.operationId).toBe('health');
    expect(document.paths['/schemas/{name}.json'].get.parameters[0]).toMatchObject({ name: 'name', in: 'path' });
    expect(document.components.schemas.Problem.properties.code).toBeDefined();
    expect(document.paths['/test/echo']).toBeUndefined();
  });

  test('every $ref in the OpenAPI document resolves, and every operation has a summary and a 2xx answer (a 303 for redirect-only ones)', async () => {
    const document = await (await fetch(`${app.url}/openapi.json`)).json();
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) expect({ ref, known: ref in document.components.schemas }).toEqual({ ref, known: true });
    for (const [path, operations] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        expect({ path, method, summary: typeof operation.summary }).toEqual({ path, method, summary: 'string' });
        // The eID callback only ever redirects the person's browser on (303), like any OAuth redirect_uri.
        const success = Object.keys(operation.responses).some((status) => status.startsWith('2') || status === '303');
        expect({ path, method, success }).toEqual({ path, method, success: true });
      }
    }
  });

  test('GET /schemas/{name}.json publishes a JSON Schema with an absolute $id', async () => {
    const response = await fetch(`${app.url}/schemas/Problem.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/schema+json');
    const schema = await response.json();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/\/schemas\/Problem\.json$/);
    expect(schema.additionalProperties).toBe(false);
  });

  test('an unknown schema, or a name that tries to reach the prototype, is a 404', async () => {
    for (const name of ['Nope', '__proto__', 'constructor']) {
      const response = await fetch(`${app.url}/schemas/${name}.json`);
      expect(response.status).toBe(404);
      expect((await response.json()).code).toBe('not_found');
    }
  });

  test('GET /docs serves Swagger UI from this host under a strict CSP with no inline script', async () => {
    const page = await fetch(`${app.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    expect(html).not.toMatch(/https?:\/\//);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    const init = await (await fetch(`${app.url}/docs/init.js`)).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
    const bundle = await fetch(`${app.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  test('docs assets outside the allow-list are not served, including path tricks', async () => {
    for (const asset of ['package.json', '..%2F..%2Fpackage.json', '%2e%2e/%2e%2e/package.json', 'swagger-ui-bundle.js.map', 'oauth2-redirect.html']) {
      const response = await fetch(`${app.url}/docs/${asset}`);
      expect(response.status).toBe(404);
    }
  });
});
