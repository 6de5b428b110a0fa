/**
 * GET /v1/auth/eid/callback?code&state (or ?error&state): where an eID provider sends the person back.
 *
 *   1. The state names an open flow (unknown, used and expired states are refused and change nothing). The account
 *      must not be throttled for MFA answers.
 *   2. The flow is claimed (its state now works no more), then:
 *        error=access_denied       → cancelled (eid_cancelled): the person cancelled or refused at the provider
 *        any other error           → failed (eid_failed)
 *        a code                    → exchanged (PKCE verifier), ID token verified (signature against the provider's
 *                                    JWKS, iss, aud, exp, nonce), UserInfo read in its configured form (sub equal to
 *                                    the ID token's); any failure → failed (eid_failed), counted as a wrong MFA answer
 *   3. With a verified answer:
 *        enroll                    → the subject is bound to the factor (one account per subject: else
 *                                    eid_subject_in_use) and the factor becomes active; an enrollment that ends
 *                                    any other way (cancelled, failed, subject in use) discards its pending factor
 *        login / step_up           → the subject must be the one bound to the factor (else eid_subject_mismatch,
 *                                    counted); the flow is marked answered for the MFA grant, with the provider's acr/amr
 *      and every success records the person's verified identity.
 *
 * The person's user agent is then redirected (303) to the portal: PUBLIC_BASE_URL/portal/#/eid-result?status=…
 * Nothing about the answer (codes, tokens, claims) is logged; only provider ids and error codes.
 */
import { UniqueViolationError, p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { ApiError } from '../../errors';
import { getUser } from '../accounts/users';
import { appendAudit, requesterChain } from '../audit/audit';
import { countWrongAnswer, findLiveChallengeById } from '../mfa/challenges';
import { activateFactor, discardPendingFactor, getFactor } from '../mfa/factors';
import type { SqlExecutor } from '../../ports';
import { mfaThrottleSubjects, recordWrongAnswer, registeredAmrValues } from '../mfa/policy';
import { assertNotThrottled, recordSuccess } from '../throttle/throttle';
import { claimFlow, findOpenFlow, recordOutcome, type EidFlow, type EidFlowPurpose, type EidOutcomeError } from './flows';
import { assuranceLevelOf, mapClaims, subjectIndex, upsertVerifiedIdentity } from './identities';
import { eidRuntime, findEidProvider } from './runtime';
import { errorCodeOf, parseEidFactorSecret } from './start';
import type { EidProviderConfig } from './settings';
import type { EidAnswer } from './oidcClient';

export type EidResultStatus = 'ok' | 'cancelled' | 'failed';

/** Codes the redirect may carry besides the flow outcomes: the state was not an open flow, or the account is throttled. */
export type EidCallbackError = EidOutcomeError | 'invalid_state' | 'too_many_requests';

export interface EidCallbackResult {
  readonly status: EidResultStatus;
  readonly flow: EidFlowPurpose | null;
  readonly error: EidCallbackError | null;
}

export const EID_RESULT_PATH = '/portal/#/eid-result';

/** Where the person's user agent goes after the callback. Carries no secret: status, flow kind and error code. */
export function eidResultUrl(services: Pick<Services, 'config'>, result: EidCallbackResult): string {
  const query = new URLSearchParams({ status: result.status });
  if (result.flow) query.set('flow', result.flow);
  if (result.error) query.set('error', result.error);
  return `${services.config.publicBaseUrl}${EID_RESULT_PATH}?${query.toString()}`;
}

const MAX_PARAMETER_LENGTH = 4096;

export async function completeEidCallback(services: Services, query: URLSearchParams, ip: string): Promise<EidCallbackResult> {
  const state = query.get('state');
  if (!state || state.length > MAX_PARAMETER_LENGTH || [...query.values()].some((value) => value.length > MAX_PARAMETER_LENGTH)) {
    return { status: 'failed', flow: null, error: 'invalid_state' };
  }
  const cipher = await services.keyHierarchy.columnCipher();
  const now = services.clock.now().getTime();
  const flow = await findOpenFlow(services.store, cipher, now, state);
  if (!flow) return { status: 'failed', flow: null, error: 'invalid_state' };

  const subjects = await mfaThrottleSubjects(services, flow.userId, ip);
  try {
    await assertNotThrottled(services.store, services.clock, subjects);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'too_many_requests') return { status: 'failed', flow: flow.purpose, error: 'too_many_requests' };
    throw error;
  }
  if (!(await services.store.transaction((tx) => claimFlow(tx, flow.id, now)))) return { status: 'failed', flow: flow.purpose, error: 'invalid_state' };

  const ended = (status: EidResultStatus, error: EidOutcomeError | null): EidCallbackResult => ({ status, flow: flow.purpose, error });
  const providerError = query.get('error');
  if (providerError !== null) {
    const cancelled = providerError === 'access_denied';
    const error = cancelled ? 'eid_cancelled' : 'eid_failed';
    await services.store.transaction((tx) => endUnanswered(tx, flow, { outcome: cancelled ? 'cancelled' : 'failed', error }));
    // An error the provider reports is not a wrong answer: the person cancelled, or the provider failed.
    if (!cancelled) services.log.warn('eid provider answered an error', { provider: flow.providerId, flow: flow.purpose, error: safeCode(providerError) });
    return ended(cancelled ? 'cancelled' : 'failed', error);
  }

  const provider = findEidProvider(services, flow.providerId);
  // A login whose mfa_token died meanwhile (expired, used, or too many wrong answers) has nothing left to answer.
  const challengeAlive = flow.challengeId === null || (await findLiveChallengeById(services.store, now, flow.challengeId)) !== null;
  if (!provider || !challengeAlive) {
    await services.store.transaction((tx) => endUnanswered(tx, flow, { outcome: 'failed', error: 'eid_failed' }));
    return ended('failed', 'eid_failed');
  }

  let answer: EidAnswer;
  try {
    answer = await eidRuntime(services).clients.answer(provider, query, { state, nonce: flow.nonce, codeVerifier: flow.codeVerifier });
  } catch (error) {
    services.log.warn('eid answer refused', { provider: provider.id, flow: flow.purpose, code: errorCodeOf(error) });
    await failAnswer(services, flow, subjects, 'eid_failed');
    return ended('failed', 'eid_failed');
  }

  const index = subjectIndex(cipher, provider.issuer, answer.subject);
  const identity = {
    userId: flow.userId,
    providerId: provider.id,
    subjectIndex: index,
    claims: mapClaims(provider, answer.userinfo),
    assuranceLevel: assuranceLevelOf(provider, answer.acr),
    now,
  };
  const identityAudit = { chain: requesterChain(flow.userId), action: 'eid.identity.verified', actor: { type: 'user' as const, id: flow.userId }, details: { provider: provider.id, assuranceLevel: identity.assuranceLevel } };

  if (flow.purpose === 'enroll') {
    const outcome = await bindSubject(services, flow, provider, answer, identity, identityAudit);
    if (outcome !== null) return ended('failed', outcome);
    await recordSuccess(services.store, subjects);
    return ended('ok', null);
  }

  const factor = await getFactor(services.store, cipher, flow.userId, flow.factorId);
  const bound = factor && factor.status === 'active' && factor.type === 'eid' ? parseEidFactorSecret(factor.secret) : null;
  if (!bound || bound.issuer !== provider.issuer || bound.subject !== answer.subject) {
    await failAnswer(services, flow, subjects, 'eid_subject_mismatch');
    return ended('failed', 'eid_subject_mismatch');
  }
  await services.store.transaction(async (tx) => {
    await recordOutcome(tx, flow.id, { outcome: 'ok', error: null, acr: answer.acr, amr: registeredAmrValues(answer.amr) });
    await upsertVerifiedIdentity(tx, cipher, identity);
    await appendAudit(tx, services, identityAudit);
  });
  return ended('ok', null);
}

/** Enrollment: bind the subject to the factor and activate it. Returns the error code when it could not. */
async function bindSubject(
  services: Services,
  flow: EidFlow,
  provider: EidProviderConfig,
  answer: EidAnswer,
  identity: Parameters<typeof upsertVerifiedIdentity>[2],
  identityAudit: Parameters<typeof appendAudit>[2],
): Promise<EidOutcomeError | null> {
  const cipher = await services.keyHierarchy.columnCipher();
  try {
    const activated = await services.store.transaction(async (tx) => {
      await tx.execute(
        sql(
          `INSERT INTO eid_bindings (subject_index, user_id, factor_id, provider_id, created_at)
           VALUES (@subject, @user, @factor, @provider, @now)`,
          { subject: p.text(identity.subjectIndex), user: p.text(flow.userId), factor: p.text(flow.factorId), provider: p.text(provider.id), now: p.bigint(identity.now) },
        ),
      );
      const secret = JSON.stringify({ provider: provider.id, issuer: provider.issuer, subject: answer.subject });
      // The factor may have been removed (or the account reset) while the person was at the provider.
      if (!(await activateFactor(tx, cipher, flow.factorId, { now: identity.now, secret }))) return false;
      await recordOutcome(tx, flow.id, { outcome: 'ok', error: null, acr: answer.acr, amr: registeredAmrValues(answer.amr) });
      await upsertVerifiedIdentity(tx, cipher, identity);
      await appendAudit(tx, services, {
        chain: requesterChain(flow.userId),
        action: 'mfa.factor.enrolled',
        actor: { type: 'user', id: flow.userId },
        target: { type: 'mfa_factor', id: flow.factorId },
        details: { factorType: 'eid', provider: provider.id },
      });
      await appendAudit(tx, services, identityAudit);
      return true;
    });
    if (activated) return null;
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
    // This eID is bound to an account already (another one, or this one through another factor).
    await services.store.transaction((tx) => endUnanswered(tx, flow, { outcome: 'failed', error: 'eid_subject_in_use' }));
    return 'eid_subject_in_use';
  }
  await services.store.transaction((tx) => endUnanswered(tx, flow, { outcome: 'failed', error: 'eid_failed' }));
  return 'eid_failed';
}

/**
 * Records a flow that ended without a usable answer. An enrollment's factor is then discarded with it (it can never
 * become active: a new link creates a new factor), so no pending factor stays behind; the flow row keeps the outcome
 * for verify to report until the expiry sweep.
 */
async function endUnanswered(tx: SqlExecutor, flow: EidFlow, outcome: { outcome: 'cancelled' | 'failed'; error: EidOutcomeError }): Promise<void> {
  await recordOutcome(tx, flow.id, outcome);
  if (flow.purpose === 'enroll') await discardPendingFactor(tx, flow.factorId);
}

/** A failed answer: recorded on the flow, counted against the login's mfa_token and the MFA throttle, audited. */
async function failAnswer(services: Services, flow: EidFlow, subjects: readonly string[], error: EidOutcomeError): Promise<void> {
  await services.store.transaction(async (tx) => {
    await endUnanswered(tx, flow, { outcome: 'failed', error });
    if (flow.challengeId !== null) await countWrongAnswer(tx, flow.challengeId);
  });
  const user = await getUser(services.store, await services.keyHierarchy.columnCipher(), flow.userId);
  if (user) await recordWrongAnswer(services, user, subjects, { factorType: 'eid', purpose: flow.purpose });
}

/** A provider's error code, if it looks like one (RFC 6749 §4.1.2.1: a short ASCII token); never its description. */
function safeCode(value: string): string {
  return /^[\x21-\x7e]{1,64}$/.test(value) ? value : 'unreadable';
}
