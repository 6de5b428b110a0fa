/**
 * Reading request bodies safely: a size limit enforced while streaming (a declared Content-Length over the
 * limit is refused before reading), the expected media type, and strict schema validation (unknown fields
 * are rejected, not ignored).
 */
import type { HttpRequest } from '@azure/functions';
import type { z, ZodType } from 'zod';
import { errors, type FieldProblem } from '../errors';

export async function readBytes(request: HttpRequest, limitInBytes: number): Promise<Buffer> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limitInBytes) throw errors.payloadTooLarge(limitInBytes);
  if (!request.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitInBytes) {
      await reader.cancel().catch(() => undefined);
      throw errors.payloadTooLarge(limitInBytes);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, total);
}

export function mediaTypeOf(request: HttpRequest): string {
  return (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

export async function readJson<S extends ZodType>(request: HttpRequest, schema: S, limitInBytes: number): Promise<z.output<S>> {
  if (mediaTypeOf(request) !== 'application/json') throw errors.unsupportedMediaType('application/json');
  const bytes = await readBytes(request, limitInBytes);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw errors.invalidRequest('The body is not valid JSON');
  }
  return validate(schema, value);
}

/**
 * Like readJson, for operations whose fields are all optional: a request with no body and no Content-Type is
 * read as `{}`, so `curl -X POST …` works. A body that is there must still be JSON and match the schema.
 */
export async function readOptionalJson<S extends ZodType>(request: HttpRequest, schema: S, limitInBytes: number): Promise<z.output<S>> {
  if (request.headers.get('content-type') === null) {
    const bytes = await readBytes(request, limitInBytes);
    if (bytes.length === 0) return validate(schema, {});
    throw errors.unsupportedMediaType('application/json');
  }
  return readJson(request, schema, limitInBytes);
}

export function validate<S extends ZodType>(schema: S, value: unknown, where = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const pathOf = (segments: readonly PropertyKey[]) => [where, ...segments.map(String)].filter(Boolean).join('.') || '(root)';
  const problems: FieldProblem[] = result.error.issues.flatMap((issue) =>
    // An unknown field is reported at its own path, so a client can point at it like at any other field.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: pathOf([...issue.path, key]), message: 'Unknown field' }))
      : [{ path: pathOf(issue.path), message: issue.message }],
  );
  throw errors.invalidRequest('The request does not match the schema', problems);
}
