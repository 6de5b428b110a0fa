import { errors } from '../lib/errors';
import { jsonSchemas } from '../lib/http/schemas';
import { defineRoute } from '../lib/http/route';

let cached: Record<string, Record<string, unknown>> | undefined;

/** JSON Schemas for pre-validating data before it is sent; references between them are relative URLs. */
export const definition = defineRoute({
  name: 'jsonSchema',
  methods: ['GET'],
  route: 'schemas/{name}.json',
  auth: 'public',
  openapi: {
    summary: 'A published JSON Schema (draft 2020-12)',
    tags: ['meta'],
    responses: {
      200: { description: 'The schema', contentType: 'application/schema+json', schema: { type: 'object' } },
      404: { description: 'No schema of that name', schema: 'Problem' },
    },
  },
  handler: async (_request, { params, services }) => {
    cached ??= jsonSchemas((name) => `${name}.json`);
    const name = params.name ?? '';
    const schema = Object.hasOwn(cached, name) ? cached[name] : undefined;
    if (!schema) throw errors.notFound('No schema of that name');
    const body = { ...schema, $id: `${services.config.publicBaseUrl}/schemas/${name}.json` };
    return {
      status: 200,
      headers: { 'Content-Type': 'application/schema+json', 'Cache-Control': 'no-cache' },
      body: JSON.stringify(body),
    };
  },
});
