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
  const headers = new Headers(SECURITY_HEADERS);
  new Headers(response.headers as HeadersInit | undefined).forEach((value, name) => headers.set(name, value));
  headers.set('X-Correlation-Id', correlationId);
  return { ...response, headers };
}
