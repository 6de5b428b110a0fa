import { routes } from '../lib/app/routeTable';
import { buildOpenApiDocument } from '../lib/http/openapi';
import { defineRoute } from '../lib/http/route';

let cached: string | undefined;

export const definition = defineRoute({
  name: 'openapiDocument',
  methods: ['GET'],
  route: 'openapi.json',
  auth: 'public',
  openapi: {
    summary: 'The OpenAPI 3.1 document of this API',
    tags: ['meta'],
    responses: { 200: { description: 'OpenAPI 3.1 document', schema: { type: 'object' } } },
  },
  handler: async () => {
    // The route table is fixed at load time, so the document is built once per instance.
    cached ??= JSON.stringify(buildOpenApiDocument(routes, process.env.npm_package_version ?? '0.1.0'));
    return { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' }, body: cached };
  },
});
