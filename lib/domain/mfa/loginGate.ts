/**
 * The second step of a password login (DESIGN §5.1). The password is right and the role chosen; now:
 *
 *   - the account has an active factor → 403 `mfa_required` with an mfa_token bound to this attempt and the
 *     factors to choose from (recovery codes appear as the pseudo-factor `recovery` while some are left);
 *   - it has none → 403 `mfa_enrollment_required` with an enrollment token: a Bearer token for the factor routes
 *     only (`scp: mfa_enrollment`), on a session that never counts as MFA'd and has no refresh token. Having
 *     enrolled, the client signs in again and answers `mfa_required` like everyone else.
 */
import type { Services } from '../../app/services';
import type { User } from '../accounts/users';
import { tokenAudience } from '../auth/audience';
import { OAuthError } from '../auth/oauthError';
import { startSession } from '../auth/sessions';
import { issueAccessToken } from '../tokens/accessTokens';
import { createMfaToken, MFA_TOKEN_TTL_IN_SECONDS } from './challenges';
import { listFactors, RECOVERY_FACTOR_ID, type FactorType } from './factors';
import { remainingRecoveryCodes } from './recoveryCodes';
import type { Role } from '../../http/route';

export interface OfferedFactor {
  readonly id: string;
  readonly type: FactorType | 'recovery';
  readonly label: string;
}

/** The active factors a login may answer with, recovery codes last. */
export async function offeredFactors(services: Services, userId: string): Promise<OfferedFactor[]> {
  const cipher = await services.keyHierarchy.columnCipher();
  const factors: OfferedFactor[] = (await listFactors(services.store, cipher, userId))
    .filter((factor) => factor.status === 'active')
    .map((factor) => ({ id: factor.id, type: factor.type, label: factor.label }));
  if (factors.length > 0 && (await remainingRecoveryCodes(services.store, userId)) > 0) {
    factors.push({ id: RECOVERY_FACTOR_ID, type: 'recovery', label: 'Recovery code' });
  }
  return factors;
}

export async function requireSecondFactor(
  services: Services,
  user: User,
  choice: { role: Role; organizationId: string | null; scope: string },
  apiKeyId: string | null,
): Promise<never> {
  const factors = await offeredFactors(services, user.id);
  if (factors.length === 0) {
    const { session } = await services.store.transaction((tx) =>
      startSession(tx, services, { userId: user.id, role: choice.role, organizationId: choice.organizationId, apiKeyId, amr: ['pwd'], mfaAt: null, enrollmentOnly: true }),
    );
    const access = await issueAccessToken(
      services.signingKeys,
      { issuer: services.config.publicBaseUrl, audience: tokenAudience(services), clock: services.clock, random: services.random },
      {
        sub: user.id,
        role: choice.role,
        org: choice.organizationId,
        akid: apiKeyId,
        sid: session.id,
        amr: session.amr,
        authTime: session.authTime,
        scp: 'mfa_enrollment',
      },
    );
    throw new OAuthError('mfa_enrollment_required', 'Enroll a second factor with enrollment_token at /v1/me/factors, then sign in again', 403, {
      enrollment_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
    });
  }
  const mfaToken = await services.store.transaction((tx) =>
    createMfaToken(tx, services, {
      userId: user.id,
      purpose: 'login',
      role: choice.role,
      organizationId: choice.organizationId,
      apiKeyId,
      scope: choice.scope,
    }),
  );
  throw new OAuthError('mfa_required', 'A second factor is required: answer it with the MFA grant', 403, {
    mfa_token: mfaToken,
    expires_in: MFA_TOKEN_TTL_IN_SECONDS,
    factors,
  });
}
