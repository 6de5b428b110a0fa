/**
 * POST /v1/auth/mfa/challenge: start answering a factor.
 *
 *   {mfa_token, factor_id}      email / SMS: a fresh 6-digit code is sent (202 {sent: true}); WebAuthn: the
 *                               authentication options for navigator.credentials.get (200 {options}); TOTP and
 *                               recovery codes: nothing to send (200 {sent: false}).
 *   {refresh_token, factor_id?} step-up (RFC 9470) of the session behind the refresh token: a new mfa_token bound to
 *                               that session, the factors to choose from, and — with factor_id — the factor started
 *                               as above. The MFA grant with this token raises the same session.
 *
 *   eID factors                 200 {authorization_url}: send the person's user agent there. The provider redirects
 *                               back to /v1/auth/eid/callback, which records the answer on this mfa_token (which now
 *                               lives as long as the eID flow, 10 minutes); then the MFA grant with mfa_token and
 *                               factor_id (no code) completes the login or step-up.
 */
import type { Services } from '../../app/services';
import { getUser } from '../accounts/users';
import { findLiveSessionByRefreshToken, hashRefreshToken } from '../auth/sessions';
import { ApiError, errors } from '../../errors';
import { mail } from '../mail/templates';
import { assertNotThrottled } from '../throttle/throttle';
import { armChallenge, createMfaToken, findLiveChallenge, findLiveChallengeById, challengeIdOf, MFA_TOKEN_TTL_IN_SECONDS, type Challenge } from './challenges';
import { assertNever, getFactor, RECOVERY_FACTOR_ID } from './factors';
import { offeredFactors, type OfferedFactor } from './loginGate';
import { CODE_TTL_IN_SECONDS, hashOneTimeCode, MAX_SENDS_PER_CHALLENGE, newOneTimeCode, smsText } from './oneTimeCodes';
import { mfaThrottleSubjects, requiresMfa } from './policy';
import { authenticationOptions, newWebAuthnChallenge, type StoredCredential } from './webauthn';
import { findEidProvider } from '../eid/runtime';
import { parseEidFactorSecret, persistEidFlow, prepareEidFlow } from '../eid/start';

export interface ChallengeStarted {
  /** Step-up only: the new mfa_token and what it may be answered with. */
  readonly mfa_token?: string;
  readonly expires_in?: number;
  readonly factors?: OfferedFactor[];
  /** Whether a code went out by email or SMS. */
  readonly sent?: boolean;
  readonly code_expires_in?: number;
  /** WebAuthn: PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get. */
  readonly options?: Record<string, unknown>;
  /** eID: where to send the person's user agent (the provider's authorization endpoint). */
  readonly authorization_url?: string;
}

export interface ChallengeReply {
  readonly status: 200 | 202;
  readonly body: ChallengeStarted;
}

function invalidToken(what: string): ApiError {
  return new ApiError(400, 'invalid_token', `The ${what} is invalid, expired or already used`);
}

export async function startMfaChallenge(
  services: Services,
  input: { mfaToken?: string | undefined; refreshToken?: string | undefined; factorId?: string | undefined; ip: string },
): Promise<ChallengeReply> {
  const now = services.clock.now().getTime();
  if (input.mfaToken !== undefined) {
    const challenge = await findLiveChallenge(services.store, now, input.mfaToken);
    if (!challenge || challenge.purpose === 'enroll') throw invalidToken('mfa_token');
    if (input.factorId === undefined) throw errors.invalidRequest('Name the factor to start', [{ path: 'factor_id', message: 'Required with mfa_token' }]);
    return startFactor(services, challenge, input.factorId, input.ip);
  }
  if (input.refreshToken === undefined) throw errors.invalidRequest('Give mfa_token or refresh_token');

  const refreshToken = input.refreshToken;
  const session = await findLiveSessionByRefreshToken(services.store, now, refreshToken);
  if (!session || !requiresMfa(session.role)) throw invalidToken('refresh_token');
  const cipher = await services.keyHierarchy.columnCipher();
  const user = await getUser(services.store, cipher, session.userId);
  if (!user || user.disabledAt !== null) throw invalidToken('refresh_token');
  const factors = await offeredFactors(services, user.id);
  if (factors.length === 0) throw errors.conflict('The account has no second factor to step up with; sign in again to enroll one');
  const mfaToken = await services.store.transaction((tx) =>
    createMfaToken(tx, services, {
      userId: user.id,
      purpose: 'step_up',
      role: session.role,
      organizationId: session.organizationId,
      apiKeyId: session.apiKeyId,
      scope: session.organizationId ? `org:${session.organizationId}` : session.role,
      sessionId: session.id,
      refreshTokenHash: hashRefreshToken(refreshToken),
    }),
  );
  const base = { mfa_token: mfaToken, expires_in: MFA_TOKEN_TTL_IN_SECONDS, factors };
  if (input.factorId === undefined) return { status: 200, body: base };
  const challenge = await findLiveChallengeById(services.store, now, challengeIdOf(mfaToken));
  const started = await startFactor(services, challenge!, input.factorId, input.ip);
  return { status: started.status, body: { ...base, ...started.body } };
}

async function startFactor(services: Services, challenge: Challenge, factorId: string, ip: string): Promise<ChallengeReply> {
  await assertNotThrottled(services.store, services.clock, await mfaThrottleSubjects(services, challenge.userId, ip));
  if (factorId === RECOVERY_FACTOR_ID) return { status: 200, body: { sent: false } };
  const cipher = await services.keyHierarchy.columnCipher();
  const factor = await getFactor(services.store, cipher, challenge.userId, factorId);
  if (!factor || factor.status !== 'active') throw errors.notFound('No such factor on this account');
  const now = services.clock.now().getTime();
  switch (factor.type) {
    case 'totp':
      // Nothing to send; pointing the challenge at the factor also voids any code sent for another one.
      await services.store.transaction((tx) => armChallenge(tx, challenge, { factorId: factor.id, codeHash: null, codeExpiresAt: null, webauthnChallenge: null, maxSends: MAX_SENDS_PER_CHALLENGE }));
      return { status: 200, body: { sent: false } };
    case 'email':
    case 'sms': {
      if (factor.type === 'sms' && services.config.sms.kind === 'disabled') throw errors.conflict('SMS is not available on this installation; choose another factor');
      const code = newOneTimeCode(services.random);
      const armed = await services.store.transaction((tx) =>
        armChallenge(tx, challenge, {
          factorId: factor.id,
          codeHash: hashOneTimeCode(cipher, challenge.id, code),
          codeExpiresAt: now + CODE_TTL_IN_SECONDS * 1000,
          webauthnChallenge: null,
          maxSends: MAX_SENDS_PER_CHALLENGE,
        }),
      );
      if (!armed) throw errors.conflict(`This sign-in already sent ${MAX_SENDS_PER_CHALLENGE} codes; sign in again for a new one`);
      if (factor.type === 'email') {
        const user = await getUser(services.store, cipher, challenge.userId);
        if (!user) throw errors.notFound('No such factor on this account');
        await services.mailer.send(mail.mfaCode(user.email, code));
      } else {
        await services.sms.send({ to: factor.secret ?? '', text: smsText(code) });
      }
      return { status: 202, body: { sent: true, code_expires_in: CODE_TTL_IN_SECONDS } };
    }
    case 'webauthn': {
      const stored = JSON.parse(factor.secret ?? '{}') as StoredCredential;
      const { options, challenge: webauthnChallenge } = await authenticationOptions(services.config.webauthn, {
        challenge: newWebAuthnChallenge(services.random),
        allow: [stored],
      });
      await services.store.transaction((tx) => armChallenge(tx, challenge, { factorId: factor.id, codeHash: null, codeExpiresAt: null, webauthnChallenge, maxSends: MAX_SENDS_PER_CHALLENGE }));
      return { status: 200, body: { options } };
    }
    case 'eid': {
      const provider = findEidProvider(services, parseEidFactorSecret(factor.secret)?.provider ?? '');
      if (!provider) throw errors.conflict('This eID provider is not offered on this installation any more; choose another factor');
      const prepared = await prepareEidFlow(services, provider);
      const purpose = challenge.purpose === 'step_up' ? 'step_up' : 'login';
      await services.store.transaction(async (tx) => {
        // Pointing the challenge at the factor voids codes sent for another; the token lives as long as the eID flow.
        await armChallenge(tx, challenge, { factorId: factor.id, codeHash: null, codeExpiresAt: prepared.expiresAt, webauthnChallenge: null, maxSends: MAX_SENDS_PER_CHALLENGE });
        await persistEidFlow(tx, cipher, prepared, { purpose, userId: challenge.userId, factorId: factor.id, challengeId: challenge.id });
      });
      return { status: 200, body: { authorization_url: prepared.authorizationUrl } };
    }
    default:
      return assertNever(factor.type);
  }
}
