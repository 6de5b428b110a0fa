/**
 * Enrolling and removing factors under /v1/me/factors (DESIGN §5.1).
 *
 *   create  → a pending factor and what proves it works: TOTP returns the otpauth:// URI and its QR code; email and
 *             SMS send a code; WebAuthn returns registration options for navigator.credentials.create; an eID returns
 *             the provider's authorization URL (the provider's redirect to /v1/auth/eid/callback activates it).
 *   verify  → the code (or the new credential) makes the factor active. Wrong answers are throttled like sign-in.
 *             For an eID factor it reports how the provider answered (active, cancelled, failed, subject in use).
 *   delete  → refused for the last active factor (409): recovery codes let you in, but do not count as a factor.
 *
 * A pending eID factor never lingers: a link cancelled or failed at the provider discards it in the callback (verify
 * still reports how it ended, from the flow), and one nobody finished is discarded once its flow expired (when the
 * account's factors are listed or a factor is created, and by the hourly sweep).
 *
 * An enrollment token (password proven, no factor yet) may create and verify factors only while the account has
 * no active one, and delete only pending ones: it can set up the first factor, never change an existing set-up.
 * Ordinary tokens need a recent MFA for every change (the routes are step-up).
 */
import type { Services } from '../../app/services';
import { errors, ApiError } from '../../errors';
import type { Principal } from '../../http/route';
import { getUser, type User } from '../accounts/users';
import { appendAudit, requesterChain } from '../audit/audit';
import { mail } from '../mail/templates';
import { assertNotThrottled, recordSuccess } from '../throttle/throttle';
import { p, sql } from '../../adapters/sql/params';
import { countWrongAnswer, createEnrollmentChallenge, findEnrollmentChallenge, spendChallenge } from './challenges';
import {
  activateFactor,
  assertNever,
  countActiveFactors,
  deleteFactorRow,
  getFactor,
  insertFactor,
  listFactors,
  MAX_FACTORS_PER_ACCOUNT,
  PENDING_FACTOR_TTL_IN_SECONDS,
  summarize,
  type Factor,
  type FactorSummary,
  type FactorType,
} from './factors';
import { CODE_TTL_IN_SECONDS, hashOneTimeCode, newOneTimeCode, oneTimeCodeMatches, smsText } from './oneTimeCodes';
import { mfaThrottleSubjects, recordWrongAnswer } from './policy';
import { remainingRecoveryCodes, replaceRecoveryCodes } from './recoveryCodes';
import { matchTotp, newTotpSecret, qrCodeDataUrl, totpUri } from './totp';
import { newWebAuthnChallenge, registrationOptions, verifyRegistration, WebAuthnAnswerError, type StoredCredential } from './webauthn';
import { discardAbandonedEidFactors, latestEnrollmentFlow, type EidFlow } from '../eid/flows';
import { requireEidProvider } from '../eid/runtime';
import { persistEidFlow, prepareEidFlow, type PreparedEidFlow } from '../eid/start';

/** How long a WebAuthn registration ceremony may take before the factor must be created again. */
const REGISTRATION_TTL_IN_SECONDS = 10 * 60;

export interface CreateFactorInput {
  readonly type: FactorType;
  readonly label: string;
  readonly phone?: string | undefined;
  /** eID only: the provider's id. */
  readonly provider?: string | undefined;
}

export interface CreatedFactor extends FactorSummary {
  readonly otpauthUri?: string;
  readonly qrCode?: string;
  readonly sent?: boolean;
  readonly options?: Record<string, unknown>;
  readonly authorizationUrl?: string;
}

async function currentUser(services: Services, principal: Principal): Promise<User> {
  const user = await getUser(services.store, await services.keyHierarchy.columnCipher(), principal.subject);
  if (!user) throw errors.notFound('No such account');
  return user;
}

function refuseEnrollmentTokenOnceEnrolled(principal: Principal, activeFactors: number): void {
  if (principal.enrollmentOnly && activeFactors > 0) {
    throw errors.forbidden('This enrollment token only sets up a first factor; sign in with your factor to change them');
  }
}

export async function listMyFactors(services: Services, principal: Principal): Promise<{ items: FactorSummary[]; nextCursor: null; recoveryCodesRemaining: number }> {
  const cipher = await services.keyHierarchy.columnCipher();
  await discardAbandonedEidFactors(services.store, principal.subject, services.clock.now().getTime());
  const factors = await listFactors(services.store, cipher, principal.subject);
  return { items: factors.map(summarize), nextCursor: null, recoveryCodesRemaining: await remainingRecoveryCodes(services.store, principal.subject) };
}

export async function createFactor(services: Services, principal: Principal, input: CreateFactorInput): Promise<CreatedFactor> {
  const user = await currentUser(services, principal);
  const cipher = await services.keyHierarchy.columnCipher();
  const now = services.clock.now().getTime();
  if (input.type === 'sms' && services.config.sms.kind === 'disabled') throw errors.invalidRequest('SMS is not available on this installation', [{ path: 'type', message: 'sms is not offered' }]);
  if ((input.type === 'sms') !== (input.phone !== undefined)) {
    throw errors.invalidRequest('phone is required for an SMS factor, and only for it', [{ path: 'phone', message: input.type === 'sms' ? 'Required' : 'Only for type sms' }]);
  }
  if (input.type !== 'eid' && input.provider !== undefined) {
    throw errors.invalidRequest('provider names the eID provider of an eID factor, and only of one', [{ path: 'provider', message: 'Only for type eid' }]);
  }

  const id = services.random.id();
  let secret: string | null = null;
  let reply: Omit<CreatedFactor, keyof FactorSummary> = {};
  let enrollment: { codeHash: string | null; webauthnChallenge: string | null; ttlInSeconds: number; code?: string } | null = null;
  let eidFlow: PreparedEidFlow | null = null;
  const challengeId = services.random.id();
  switch (input.type) {
    case 'totp': {
      secret = newTotpSecret(services.random);
      const otpauthUri = totpUri(secret, user.email);
      reply = { otpauthUri, qrCode: await qrCodeDataUrl(otpauthUri) };
      break;
    }
    case 'email':
    case 'sms': {
      secret = input.type === 'sms' ? input.phone! : null;
      const code = newOneTimeCode(services.random);
      enrollment = { codeHash: hashOneTimeCode(cipher, challengeId, code), webauthnChallenge: null, ttlInSeconds: CODE_TTL_IN_SECONDS, code };
      reply = { sent: true };
      break;
    }
    case 'webauthn': {
      const existing = (await listFactors(services.store, cipher, user.id))
        .filter((factor) => factor.type === 'webauthn' && factor.status === 'active' && factor.secret)
        .map((factor) => JSON.parse(factor.secret!) as StoredCredential);
      const { options, challenge } = await registrationOptions(services.config.webauthn, {
        userId: user.id,
        userName: user.email,
        challenge: newWebAuthnChallenge(services.random),
        exclude: existing,
      });
      enrollment = { codeHash: null, webauthnChallenge: challenge, ttlInSeconds: REGISTRATION_TTL_IN_SECONDS };
      reply = { options };
      break;
    }
    case 'eid': {
      const provider = requireEidProvider(services, input.provider);
      eidFlow = await prepareEidFlow(services, provider);
      secret = JSON.stringify({ provider: provider.id });
      reply = { authorizationUrl: eidFlow.authorizationUrl };
      break;
    }
    default:
      return assertNever(input.type);
  }

  await services.store.transaction(async (tx) => {
    refuseEnrollmentTokenOnceEnrolled(principal, await countActiveFactors(tx, user.id));
    // Factors never verified are dropped after an hour, so abandoned attempts do not fill the account's quota.
    const stale = await tx.query<{ id: string }>(
      sql(`SELECT id FROM mfa_factors WHERE user_id = @user AND status = 'pending' AND created_at <= @before`, {
        user: p.text(user.id),
        before: p.bigint(now - PENDING_FACTOR_TTL_IN_SECONDS * 1000),
      }),
    );
    for (const row of stale) await deleteFactorRow(tx, row.id);
    await discardAbandonedEidFactors(tx, user.id, now);
    const [count] = await tx.query<{ n: number | string }>(sql('SELECT COUNT(*) AS n FROM mfa_factors WHERE user_id = @user', { user: p.text(user.id) }));
    if (Number(count?.n ?? 0) >= MAX_FACTORS_PER_ACCOUNT) throw errors.conflict(`An account holds at most ${MAX_FACTORS_PER_ACCOUNT} factors; remove one first`);
    await insertFactor(tx, cipher, { id, userId: user.id, type: input.type, label: input.label, secret, now });
    if (enrollment) {
      await createEnrollmentChallenge(tx, services, {
        id: challengeId,
        userId: user.id,
        factorId: id,
        codeHash: enrollment.codeHash,
        webauthnChallenge: enrollment.webauthnChallenge,
        ttlInSeconds: enrollment.ttlInSeconds,
      });
    }
    if (eidFlow) await persistEidFlow(tx, cipher, eidFlow, { purpose: 'enroll', userId: user.id, factorId: id, challengeId: null });
  });

  if (enrollment?.code !== undefined) {
    if (input.type === 'email') await services.mailer.send(mail.mfaCode(user.email, enrollment.code));
    else await services.sms.send({ to: input.phone!, text: smsText(enrollment.code) });
  }
  const factor: Factor = {
    id,
    userId: user.id,
    type: input.type,
    label: input.label,
    status: 'pending',
    secret,
    lastUsedAt: null,
    lastTotpStep: null,
    createdAt: now,
    activatedAt: null,
  };
  return { ...summarize(factor), ...reply };
}

export async function verifyFactor(
  services: Services,
  principal: Principal,
  factorId: string,
  answer: { code?: string | undefined; credential?: unknown },
  ip: string,
): Promise<{ id: string; status: 'active' }> {
  const user = await currentUser(services, principal);
  const cipher = await services.keyHierarchy.columnCipher();
  const factor = await getFactor(services.store, cipher, user.id, factorId);
  if (!factor) {
    // An eID factor whose link was cancelled or failed is gone, but its flow still tells how that ended.
    const flow = await latestEnrollmentFlow(services.store, cipher, factorId);
    if (flow && flow.userId === user.id && flow.outcome !== null && flow.outcome !== 'ok') return refuseEndedEidLink(flow);
    throw errors.notFound('No such factor');
  }
  if (factor.type === 'eid') return eidEnrollmentOutcome(services, factor);
  if (factor.status === 'active') throw errors.conflict('The factor is already active');
  refuseEnrollmentTokenOnceEnrolled(principal, await countActiveFactors(services.store, user.id));
  const subjects = await mfaThrottleSubjects(services, user.id, ip);
  await assertNotThrottled(services.store, services.clock, subjects);

  const now = services.clock.now().getTime();
  const challenge = factor.type === 'totp' ? null : await findEnrollmentChallenge(services.store, now, factor.id);
  let activation: { secret?: string; credentialId?: string; totpStep?: number } | null = null;
  switch (factor.type) {
    case 'totp': {
      if (answer.code === undefined) throw errors.invalidRequest('Answer a TOTP factor with code', [{ path: 'code', message: 'Required' }]);
      const step = matchTotp(factor.secret ?? '', answer.code, now, null);
      if (step !== null) activation = { totpStep: step };
      break;
    }
    case 'email':
    case 'sms': {
      if (answer.code === undefined) throw errors.invalidRequest('Answer with the code that was sent', [{ path: 'code', message: 'Required' }]);
      if (challenge?.codeHash && oneTimeCodeMatches(cipher, challenge.id, answer.code, challenge.codeHash)) activation = {};
      break;
    }
    case 'webauthn': {
      if (answer.credential === undefined) throw errors.invalidRequest('Answer a passkey with credential', [{ path: 'credential', message: 'Required' }]);
      if (challenge?.webauthnChallenge) {
        const json = typeof answer.credential === 'string' ? answer.credential : JSON.stringify(answer.credential);
        try {
          const credential = await verifyRegistration(services.config.webauthn, json, challenge.webauthnChallenge);
          activation = { secret: JSON.stringify(credential), credentialId: credential.id };
        } catch (error) {
          if (!(error instanceof WebAuthnAnswerError)) throw error;
        }
      }
      break;
    }
    default:
      return assertNever(factor.type);
  }

  const activated =
    activation !== null &&
    (await services.store.transaction(async (tx) => {
      if (challenge && !(await spendChallenge(tx, challenge.id, now))) return false;
      if (!(await activateFactor(tx, cipher, factor.id, { now, ...activation }))) return false;
      await appendAudit(tx, services, {
        chain: requesterChain(user.id),
        action: 'mfa.factor.enrolled',
        actor: { type: 'user', id: user.id },
        target: { type: 'mfa_factor', id: factor.id },
        details: { factorType: factor.type },
      });
      return true;
    }));
  if (!activated) {
    if (challenge) await services.store.transaction((tx) => countWrongAnswer(tx, challenge.id));
    await recordWrongAnswer(services, user, subjects, { factorType: factor.type, purpose: 'enroll' });
    throw new ApiError(400, 'invalid_code', 'The answer is wrong or expired; for an email, SMS or passkey factor that failed 5 times, create the factor again');
  }
  await recordSuccess(services.store, subjects);
  return { id: factor.id, status: 'active' };
}

/**
 * An eID factor is activated by the provider's redirect to /v1/auth/eid/callback. Verifying it only reports how that
 * went, for clients that cannot read the redirect: 200 active, 409 eid_pending while the provider has not answered,
 * or the error of the link (whose factor the callback discarded: create the factor again to retry).
 */
async function eidEnrollmentOutcome(services: Services, factor: Factor): Promise<{ id: string; status: 'active' }> {
  if (factor.status === 'active') return { id: factor.id, status: 'active' };
  const flow = await latestEnrollmentFlow(services.store, await services.keyHierarchy.columnCipher(), factor.id);
  if (flow && flow.outcome !== null && flow.outcome !== 'ok') return refuseEndedEidLink(flow);
  throw new ApiError(409, 'eid_pending', 'The eID provider has not answered yet: finish at the authorization URL');
}

function refuseEndedEidLink(flow: EidFlow): never {
  if (flow.outcomeError === 'eid_subject_in_use') throw new ApiError(409, 'eid_subject_in_use', 'This eID is already bound to an account');
  if (flow.outcome === 'cancelled') throw new ApiError(400, 'eid_cancelled', 'The eID login was cancelled at the provider; create the factor again to retry');
  throw new ApiError(400, 'eid_failed', 'The eID provider\'s answer could not be verified; create the factor again to retry');
}

export async function deleteFactor(services: Services, principal: Principal, factorId: string): Promise<void> {
  const cipher = await services.keyHierarchy.columnCipher();
  await services.store.transaction(async (tx) => {
    const factor = await getFactor(tx, cipher, principal.subject, factorId);
    if (!factor) throw errors.notFound('No such factor');
    if (factor.status === 'active') {
      if (principal.enrollmentOnly) throw errors.forbidden('This enrollment token only sets up a first factor; sign in with your factor to change them');
      // Recovery codes are a way back in, not a factor: the last active factor stays.
      if ((await countActiveFactors(tx, principal.subject)) <= 1) throw errors.conflict('This is your last factor: add another one before removing it');
    }
    await deleteFactorRow(tx, factor.id);
    await appendAudit(tx, services, {
      chain: requesterChain(principal.subject),
      action: 'mfa.factor.removed',
      actor: { type: 'user', id: principal.subject },
      target: { type: 'mfa_factor', id: factor.id },
      details: { factorType: factor.type, status: factor.status },
    });
  });
}

/** Ten new recovery codes, replacing the old ones; shown once. */
export async function createRecoveryCodes(services: Services, principal: Principal): Promise<{ codes: string[] }> {
  await services.keyHierarchy.columnCipher();
  const codes = await services.store.transaction(async (tx) => {
    if ((await countActiveFactors(tx, principal.subject)) === 0) throw errors.conflict('Enroll a factor before creating recovery codes');
    const created = await replaceRecoveryCodes(tx, services, principal.subject);
    await appendAudit(tx, services, {
      chain: requesterChain(principal.subject),
      action: 'mfa.recovery_codes.created',
      actor: { type: 'user', id: principal.subject },
      details: { count: created.length },
    });
    return created;
  });
  return { codes };
}
