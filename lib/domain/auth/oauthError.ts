/**
 * The token and revocation endpoints answer in RFC 6749 §5.2 form ({error, error_description}), not
 * problem+json. Everything else in the API uses problem+json.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'mfa_required'
  | 'mfa_enrollment_required'
  | 'slow_down'
  /** RFC 8628 §3.5: the MFA grant of an eID factor whose provider has not answered yet. */
  | 'authorization_pending';

export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}
