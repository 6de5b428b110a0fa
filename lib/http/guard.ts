/**
 * Enforces a route's declared policy before its handler runs. The Authenticator proves who is calling
 * (lib/domain/auth supplies the real one); the guard only decides whether that caller may pass.
 */
import type { HttpRequest } from '@azure/functions';
import { ApiError, errors } from '../errors';
import type { Clock } from '../ports';
import type { AuthPolicy, Principal } from './route';

/** RFC 9470: how recent the last strong authentication must be for a step-up route. */
export const STEP_UP_MAX_AGE_IN_SECONDS = 15 * 60;

export interface Authenticator {
  /** null when the request carries no credentials; throws 401 ApiError when it carries bad ones. */
  authenticate(request: HttpRequest): Promise<Principal | null>;
}

export async function guard(policy: AuthPolicy, request: HttpRequest, authenticator: Authenticator, clock: Clock): Promise<Principal | null> {
  if (policy === 'public') return null;
  const principal = await authenticator.authenticate(request);
  if (!principal) throw errors.unauthorized();
  if (principal.enrollmentOnly && !policy.enrollment) {
    throw new ApiError(403, 'mfa_enrollment_required', 'Enroll a second factor under /v1/me/factors, then sign in again');
  }
  if (!policy.roles.includes(principal.role)) throw errors.forbidden('Your role may not call this operation');
  // An enrollment token has, by definition, no MFA to be recent; the enrollment routes themselves only let it
  // act while the account has no active factor, so it cannot be used to change an account that already has one.
  if (policy.stepUp && !principal.enrollmentOnly) {
    const ageInSeconds = principal.mfaAt === null ? Infinity : clock.now().getTime() / 1000 - principal.mfaAt;
    if (ageInSeconds > STEP_UP_MAX_AGE_IN_SECONDS) {
      throw new ApiError(401, 'insufficient_user_authentication', 'A recent multi-factor authentication is required', {
        headers: {
          'WWW-Authenticate': `Bearer error="insufficient_user_authentication", error_description="A recent multi-factor authentication is required", max_age=${STEP_UP_MAX_AGE_IN_SECONDS}`,
        },
      });
    }
  }
  return principal;
}
