/**
 * OAuth request parameters: application/x-www-form-urlencoded (RFC 6749) or, for convenience, a flat JSON
 * object of strings. A parameter sent twice is refused (RFC 6749 §3.1).
 */
import type { HttpRequest } from '@azure/functions';
import { OAuthError } from '../domain/auth/oauthError';
import { mediaTypeOf, readBytes } from './body';

const LIMIT_IN_BYTES = 16 * 1024;

export async function readOAuthParameters(request: HttpRequest): Promise<Record<string, string>> {
  const type = mediaTypeOf(request);
  let bytes: Buffer;
  try {
    bytes = await readBytes(request, LIMIT_IN_BYTES);
  } catch {
    throw new OAuthError('invalid_request', `The request body is larger than ${LIMIT_IN_BYTES} bytes`);
  }
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  if (type === 'application/x-www-form-urlencoded') {
    for (const [name, value] of new URLSearchParams(bytes.toString('utf8'))) {
      if (name in parameters) throw new OAuthError('invalid_request', `The parameter ${name} is repeated`);
      parameters[name] = value;
    }
    return parameters;
  }
  if (type === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new OAuthError('invalid_request', 'The body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OAuthError('invalid_request', 'The body must be a JSON object');
    for (const [name, value] of Object.entries(body)) {
      if (typeof value !== 'string') throw new OAuthError('invalid_request', `The parameter ${name} must be a string`);
      parameters[name] = value;
    }
    return parameters;
  }
  throw new OAuthError('invalid_request', 'Send application/x-www-form-urlencoded (or application/json)');
}

export function oauthErrorResponse(error: OAuthError): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: error.status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', Pragma: 'no-cache', ...error.headers },
    body: JSON.stringify({ error: error.error, error_description: error.description, ...error.extra }),
  };
}
