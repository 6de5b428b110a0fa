/**
 * Schemas are written once in zod: they validate requests, type the code, and produce the OpenAPI document and
 * the published JSON Schemas (GET /schemas/{name}.json). Register a schema under a stable name to publish it.
 */
import { z, type ZodType } from 'zod';

export const schemaRegistry = z.registry<{ id: string }>();

export function named<S extends ZodType>(id: string, schema: S): S {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(id)) throw new TypeError(`Schema name "${id}" must be PascalCase`);
  if (schemaRegistry.has(schema)) throw new TypeError(`Schema "${id}" is registered twice`);
  schemaRegistry.add(schema, { id });
  return schema;
}

/** JSON Schemas (2020-12) of every registered schema, references pointing at `uri(name)`. */
export function jsonSchemas(uri: (name: string) => string): Record<string, Record<string, unknown>> {
  const { schemas } = z.toJSONSchema(schemaRegistry, { uri, unrepresentable: 'any' }) as { schemas: Record<string, Record<string, unknown>> };
  return schemas;
}

export const ProblemSchema = named(
  'Problem',
  z
    .strictObject({
      type: z.string().describe('A URN naming the problem type: urn:connectid:problem:<code>'),
      title: z.string(),
      status: z.number().int(),
      code: z.string().describe('Stable machine-readable error code'),
      detail: z.string().optional(),
      errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
      correlationId: z.string().describe('Quote this when reporting a problem'),
    })
    .meta({
      description: 'RFC 9457 problem details',
      example: {
        type: 'urn:connectid:problem:invalid_request',
        title: 'Bad Request',
        status: 400,
        code: 'invalid_request',
        detail: 'The request does not match the schema',
        errors: [{ path: 'name', message: 'Required' }],
        correlationId: '7c0f3a1e9b2d4c5f',
      },
    }),
);

export const HealthSchema = named(
  'Health',
  z.strictObject({ status: z.literal('ok') }).meta({ description: 'Liveness only: no details', example: { status: 'ok' } }),
);
