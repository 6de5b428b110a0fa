/**
 * The one place errors become responses: RFC 9457 problem+json with a stable `code`. Anything that is not an
 * exposed ApiError becomes a bare 500 with a correlation id and is logged once (without request data).
 */
import type { HttpResponseInit } from '@azure/functions';
import { ApiError } from '../errors';
import type { Logger } from '../ports';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: readonly { path: string; message: string }[];
  correlationId: string;
}

export function problemResponse(error: unknown, correlationId: string, log: Logger): HttpResponseInit {
  if (error instanceof ApiError && error.expose) {
    const body: Problem = {
      type: `urn:connectid:problem:${error.code}`,
      title: titleOf(error.status),
      status: error.status,
      code: error.code,
      detail: error.message,
      correlationId,
    };
    if (error.extra.errors) body.errors = error.extra.errors;
    return {
      status: error.status,
      headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...error.extra.headers },
      body: JSON.stringify(body),
    };
  }
  const status = error instanceof ApiError ? error.status : 500;
  log.error('request failed', {
    correlationId,
    errorName: error instanceof Error ? error.name : typeof error,
    // The stack points at code, not data; messages of unknown errors may carry data, so they stay out.
    stack: error instanceof Error ? error.stack?.split('\n').slice(1, 6).join('\n') : undefined,
  });
  const code = status === 503 ? 'service_unavailable' : 'internal_error';
  const body: Problem = { type: `urn:connectid:problem:${code}`, title: titleOf(status), status, code, correlationId };
  return { status, headers: { 'Content-Type': PROBLEM_CONTENT_TYPE }, body: JSON.stringify(body) };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function titleOf(status: number): string {
  return TITLES[status] ?? 'Error';
}
