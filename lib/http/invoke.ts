/**
 * Runs one route for either host: guard, handler, problem+json, security headers. Hosts only translate
 * transport; everything a client can observe is decided here.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { Services } from '../app/services';
import type { Logger } from '../ports';
import { guard } from './guard';
import { problemResponse } from './problem';
import { SECURITY_HEADERS } from './reply';
import type { RouteDefinition } from './route';

export async function invokeRoute(
  definition: RouteDefinition,
  request: HttpRequest,
  services: Services,
  correlationId: string,
  log: Logger = services.log,
): Promise<HttpResponseInit> {
  let response: HttpResponseInit;
  try {
    const principal = await guard(definition.auth, request, services.authenticator, services.clock);
    response = await definition.handler(request, { services, principal, params: request.params, correlationId, log });
  } catch (error) {
    response = problemResponse(error, correlationId, log);
  }
  // A plain object (lower-case names, so a handler's header replaces a default of any casing): building undici
  // Headers twice per response was a measurable share of every request.
  const headers: Record<string, string> = { ...LOWER_CASE_SECURITY_HEADERS };
  for (const [name, value] of headerEntries(response.headers)) headers[name.toLowerCase()] = value;
  headers['x-correlation-id'] = correlationId;
  return { ...response, headers };
}

const LOWER_CASE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(SECURITY_HEADERS).map(([name, value]) => [name.toLowerCase(), value])),
);

function headerEntries(headers: HttpResponseInit['headers']): Iterable<[string, string]> {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers as [string, string][];
  // A Headers object, from whichever copy of undici made it.
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).forEach === 'function') {
    const entries: [string, string][] = [];
    (headers as Headers).forEach((value, name) => entries.push([name, value]));
    return entries;
  }
  return Object.entries(headers as Record<string, string>);
}
