/**
 * One error type for everything a client may be told. `code` is stable and documented; message text is not.
 * Anything that is not an ApiError becomes a bare 500 with a correlation id (see lib/http/problem.ts).
 */
export type ApiErrorCode =
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'length_required'
  | 'unauthorized'
  | 'invalid_token'
  | 'insufficient_user_authentication'
  | 'mfa_enrollment_required'
  | 'invalid_code'
  | 'eid_cancelled'
  | 'eid_failed'
  | 'eid_pending'
  | 'eid_subject_in_use'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'gone'
  | 'precondition_failed'
  | 'range_not_satisfiable'
  | 'too_many_requests'
  | 'internal_error'
  | 'service_unavailable';

export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

export class ApiError extends Error {
  readonly expose: boolean;
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: {
      readonly errors?: readonly FieldProblem[];
      readonly headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.expose = status < 500;
  }
}

/** The usual ones, so call sites read as sentences. */
export const errors = {
  invalidRequest: (message: string, fieldProblems?: readonly FieldProblem[]) =>
    new ApiError(400, 'invalid_request', message, fieldProblems ? { errors: fieldProblems } : {}),
  unauthorized: (message = 'Authentication is required') =>
    new ApiError(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': 'Bearer' } }),
  forbidden: (message = 'Not allowed') => new ApiError(403, 'forbidden', message),
  notFound: (message = 'Not found') => new ApiError(404, 'not_found', message),
  methodNotAllowed: (allowed: readonly string[]) =>
    new ApiError(405, 'method_not_allowed', 'This method is not allowed here', { headers: { Allow: [...new Set(allowed)].join(', ') } }),
  conflict: (message: string) => new ApiError(409, 'conflict', message),
  gone: (message: string) => new ApiError(410, 'gone', message),
  payloadTooLarge: (limitInBytes: number) =>
    new ApiError(413, 'payload_too_large', `The body is larger than the limit of ${limitInBytes} bytes`),
  unsupportedMediaType: (expected: string) =>
    new ApiError(415, 'unsupported_media_type', `The body must be ${expected}`),
  tooManyRequests: (retryAfterInSeconds: number) =>
    new ApiError(429, 'too_many_requests', 'Too many attempts; try again later', {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterInSeconds))) },
    }),
};
