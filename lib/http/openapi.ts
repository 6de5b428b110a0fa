/**
 * The OpenAPI 3.1 document, generated from the route table and the schema registry so it cannot drift from
 * what the code validates. Servers is relative ("/"), so Swagger UI's "try it out" calls the host serving it.
 */
import { jsonSchemas } from './schemas';
import type { OperationDoc, RouteDefinition } from './route';

type Json = Record<string, unknown>;

export function buildOpenApiDocument(routes: readonly RouteDefinition[], version: string): Json {
  const components = jsonSchemas((name) => `#/components/schemas/${name}`);
  for (const schema of Object.values(components)) {
    delete schema.$schema;
    delete schema.$id;
  }
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    if (route.openapi === false) continue;
    const path = `/${route.route.replace(/\{\*?([A-Za-z0-9_]+)\??(?::[^}]*)?\}/g, '{$1}')}`;
    const parameters = [...route.route.matchAll(/\{\*?([A-Za-z0-9_]+)\??(?::[^}]*)?\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    for (const method of route.methods) {
      if (method === 'HEAD') continue;
      (paths[path] ??= {})[method.toLowerCase()] = operation(route, route.openapi, parameters);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Connectid API',
      version,
      description:
        'Consent and data-vault API: organizations deliver personal data to the person it is about, who downloads it within 32 days. ' +
        'Errors are RFC 9457 problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

function schemaRef(schema: string | Json): Json {
  return typeof schema === 'string' ? { $ref: `#/components/schemas/${schema}` } : schema;
}

function operation(route: RouteDefinition, doc: OperationDoc, parameters: Json[]): Json {
  const op: Json = {
    operationId: route.name,
    summary: doc.summary,
    tags: doc.tags ?? [],
    parameters: [
      ...parameters,
      ...(doc.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema })),
    ],
    responses: Object.fromEntries(
      Object.entries(doc.responses).map(([status, response]) => [
        status,
        {
          description: response.description,
          ...(response.headers && {
            headers: Object.fromEntries(Object.entries(response.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])),
          }),
          ...(response.schema !== undefined && {
            content: {
              [response.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json')]: {
                schema: schemaRef(response.schema),
                ...(response.example !== undefined && { example: response.example }),
              },
            },
          }),
        },
      ]),
    ),
  };
  if (doc.description) op.description = doc.description;
  if (doc.request) {
    op.requestBody = {
      required: true,
      content: {
        [doc.request.contentType]: {
          schema: schemaRef(doc.request.schema),
          ...(doc.request.example !== undefined && { example: doc.request.example }),
        },
      },
    };
  }
  if (route.auth !== 'public') {
    op.security = [{ bearerAuth: [] }];
    const roles = route.auth.roles.join(', ');
    op.description = `${doc.description ? `${doc.description}\n\n` : ''}Who may call: ${roles}${route.auth.stepUp ? ' (step-up: MFA within the last 15 minutes)' : ''}.`;
  }
  return op;
}
