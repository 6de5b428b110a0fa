/**
 * The MFA grant (`urn:connectid:params:oauth:grant-type:mfa`, DESIGN §5.1): an mfa_token, the factor chosen and
 * its answer (`code`, or `credential` for WebAuthn as the JSON of the PublicKeyCredential; nothing for an eID, whose
 * answer the provider delivered to /v1/auth/eid/callback: `authorization_pending` until it has, `invalid_grant` with
 * error_description `eid_cancelled` or `eid_failed` when it was cancelled or failed). A login challenge
 * ends in a new session with `amr`, `acr` and `auth_time`; a step-up challenge raises the session it began from
 * (same session, fresh mfa_at, amr and auth_time) and returns its rotated tokens.
 *
 * Order of checks: the token (dead tokens cost nothing), the throttle (before any secret is compared), the API
 * key binding, then the answer. A wrong answer counts against the token (5 and it is dead), the account and
 * the client address (kind `mfa`), and is audited.
 */
import type { Services } from '../../app/services';
import type { AuthenticatedApiKey } from '../apiKeys/apiKeys';
import { getUser, type User } from '../accounts/users';
import { appendAudit, requesterChain } from '../audit/audit';
import { chooseRole, recordLogin, tokensFor, type TokenResponse } from '../auth/login';
import { OAuthError } from '../auth/oauthError';
import { stepUpSession } from '../auth/sessions';
import { mail } from '../mail/templates';
import { assertNotThrottled, recordSuccess } from '../throttle/throttle';
import { countWrongAnswer, findLiveChallenge, spendChallenge, type Challenge } from './challenges';
import { assertNever, getFactor, markFactorUsed, rawSecret, RECOVERY_FACTOR_ID, SECRET_CONTEXT, updateWebAuthnCredential, type Factor } from './factors';
import { oneTimeCodeMatches } from './oneTimeCodes';
import { amrFor, amrForEid, mfaThrottleSubjects, recordWrongAnswer, type AnsweredFactor } from './policy';
import { flowsOfChallenge, spendFlow } from '../eid/flows';
import { consumeRecoveryCode, remainingRecoveryCodes } from './recoveryCodes';
import { matchTotp } from './totp';
import { verifyAuthentication, WebAuthnAnswerError, type StoredCredential } from './webauthn';
import type { SqlExecutor } from '../../ports';

export const MFA_GRANT_TYPE = 'urn:connectid:params:oauth:grant-type:mfa';

export interface MfaGrantInput {
  readonly mfaToken: string;
  readonly factorId: string;
  readonly code: string | null;
  readonly credential: string | null;
  readonly client: AuthenticatedApiKey | null;
  readonly ip: string;
}

/** Thrown inside the transaction to undo a spent challenge when the answer's own write says "wrong". */
class WrongAnswer extends Error {}

/** What an answer needs written to count (single use): false means it was wrong or already used after all. */
type Commit = (tx: SqlExecutor) => Promise<boolean>;

export async function mfaGrant(services: Services, input: MfaGrantInput): Promise<TokenResponse> {
  const now = services.clock.now().getTime();
  const challenge = await findLiveChallenge(services.store, now, input.mfaToken);
  if (!challenge || challenge.purpose === 'enroll') throw new OAuthError('invalid_grant', 'The mfa_token is invalid, expired or already used');

  const subjects = await mfaThrottleSubjects(services, challenge.userId, input.ip);
  await assertNotThrottled(services.store, services.clock, subjects);

  // The attempt is bound to the API key it began with (members calling from company systems): the same key, still usable.
  if (challenge.apiKeyId !== null && input.client?.id !== challenge.apiKeyId) {
    throw new OAuthError('invalid_client', 'Finish this login with the API key it began with', 401, {}, { 'WWW-Authenticate': 'Basic realm="connectid"' });
  }
  if (challenge.apiKeyId === null && input.client !== null) throw new OAuthError('invalid_grant', 'This login began without an API key');

  const cipher = await services.keyHierarchy.columnCipher();
  const user = await getUser(services.store, cipher, challenge.userId);
  if (!user || user.disabledAt !== null) throw new OAuthError('invalid_grant', 'The account is not active');

  const answered = await evaluateAnswer(services, challenge, user, input);
  if (!answered.commit) {
    await services.store.transaction((tx) => countWrongAnswer(tx, challenge.id));
    await recordWrongAnswer(services, user, subjects, { factorType: answered.type, purpose: challenge.purpose });
    throw new OAuthError('invalid_grant', 'The answer is wrong, expired or already used');
  }
  const commit = answered.commit;
  const amr = answered.amr ?? amrFor(answered.type);
  const acr = answered.acr ?? null;
  const usedDetails = { factorType: answered.type, purpose: challenge.purpose, ...(answered.factorId ? { factorId: answered.factorId } : {}) };

  let outcome: { tokens: () => Promise<TokenResponse> };
  try {
    if (challenge.purpose === 'login') {
      const choice = await rechooseRole(services, user, challenge, input.client);
      const started = await services.store.transaction(async (tx) => {
        if (!(await spendChallenge(tx, challenge.id, now))) return null;
        if (!(await commit(tx))) throw new WrongAnswer();
        await auditFactorUse(tx, services, user, usedDetails);
        return recordLogin(tx, services, user, choice, { apiKeyId: challenge.apiKeyId, amr, mfaAt: now, acr, details: usedDetails });
      });
      if (!started) throw new OAuthError('invalid_grant', 'The mfa_token is invalid, expired or already used');
      outcome = { tokens: () => tokensFor(services, started.session, started.refreshToken, choice.scope) };
    } else {
      const raised = await services.store.transaction(async (tx) => {
        if (!(await spendChallenge(tx, challenge.id, now))) return null;
        if (!(await commit(tx))) throw new WrongAnswer();
        const stepped = await stepUpSession(tx, services, { sessionId: challenge.sessionId!, refreshTokenHash: challenge.refreshTokenHash!, amr, acr });
        if (!stepped) return null;
        await auditFactorUse(tx, services, user, usedDetails);
        return stepped;
      });
      if (!raised) throw new OAuthError('invalid_grant', 'The session or its refresh token changed since the step-up began; start again');
      const scope = raised.session.organizationId ? `org:${raised.session.organizationId}` : raised.session.role;
      outcome = { tokens: () => tokensFor(services, raised.session, raised.refreshToken, scope) };
    }
  } catch (error) {
    if (!(error instanceof WrongAnswer)) throw error;
    await services.store.transaction((tx) => countWrongAnswer(tx, challenge.id));
    await recordWrongAnswer(services, user, subjects, { factorType: answered.type, purpose: challenge.purpose });
    throw new OAuthError('invalid_grant', 'The answer is wrong, expired or already used');
  }

  await recordSuccess(services.store, subjects);
  if (answered.type === 'recovery') {
    const remaining = await remainingRecoveryCodes(services.store, user.id);
    await services.mailer.send(mail.recoveryCodeUsed(user.email, remaining));
  }
  return outcome.tokens();
}

async function auditFactorUse(tx: SqlExecutor, services: Services, user: User, details: { factorType: AnsweredFactor; purpose: string; factorId?: string }) {
  await appendAudit(tx, services, {
    chain: requesterChain(user.id),
    action: details.factorType === 'recovery' ? 'mfa.recovery_code_used' : 'mfa.factor.used',
    actor: { type: 'user', id: user.id },
    ...(details.factorId ? { target: { type: 'mfa_factor', id: details.factorId } } : {}),
    details,
  });
}

/** The role the attempt chose, still held (a membership disabled in the meantime ends the login here). */
async function rechooseRole(services: Services, user: User, challenge: Challenge, client: AuthenticatedApiKey | null) {
  const choice = await chooseRole(services, user, challenge.scope, client);
  if (choice.role !== challenge.role || choice.organizationId !== challenge.organizationId) {
    throw new OAuthError('invalid_grant', 'The account no longer holds the role this login chose');
  }
  return choice;
}

/**
 * Checks the answer without writing; returns the write that makes it count (null when it is already known to be
 * wrong). Checks that need the database to decide (a TOTP step or recovery code not used before) are in the write.
 */
async function evaluateAnswer(
  services: Services,
  challenge: Challenge,
  user: User,
  input: MfaGrantInput,
): Promise<{ type: AnsweredFactor; factorId: string | null; commit: Commit | null; amr?: string[]; acr?: string | null }> {
  const now = services.clock.now().getTime();
  if (input.factorId === RECOVERY_FACTOR_ID) {
    const code = input.code;
    if (code === null) throw new OAuthError('invalid_request', 'A recovery code is answered with code');
    return { type: 'recovery', factorId: null, commit: (tx) => consumeRecoveryCode(tx, now, user.id, code) };
  }
  const cipher = await services.keyHierarchy.columnCipher();
  const factor = await getFactor(services.store, cipher, user.id, input.factorId);
  if (!factor || factor.status !== 'active') throw new OAuthError('invalid_grant', 'No such factor on this account');
  if (factor.type === 'eid') return { type: 'eid', factorId: factor.id, ...(await eidAnswer(services, challenge, factor, input, now)) };
  return { type: factor.type, factorId: factor.id, commit: await answerCommit(services, challenge, factor, input, now) };
}

/**
 * An eID factor was answered at its provider, and the callback recorded how (lib/domain/eid/callback.ts). The grant
 * spends an `ok` answer once; a cancelled or failed one (counted as a wrong answer when it failed, by the callback)
 * is reported, not counted again; no answer yet is `authorization_pending` (RFC 8628 §3.5), so clients may poll.
 */
async function eidAnswer(
  services: Services,
  challenge: Challenge,
  factor: Factor,
  input: MfaGrantInput,
  now: number,
): Promise<{ commit: Commit; amr: string[]; acr: string | null }> {
  if (input.code !== null || input.credential !== null) throw new OAuthError('invalid_request', 'An eID factor is answered at its provider: send mfa_token and factor_id only');
  if (challenge.factorId !== factor.id) throw new OAuthError('invalid_grant', 'Start this eID factor first with POST /v1/auth/mfa/challenge');
  const flows = await flowsOfChallenge(services.store, await services.keyHierarchy.columnCipher(), challenge.id, factor.id);
  const answered = flows.find((flow) => flow.outcome === 'ok' && flow.usedAt === null);
  if (answered) {
    return {
      commit: async (tx) => (await spendFlow(tx, answered.id, now)) && markFactorUsed(tx, factor.id, now, null),
      amr: amrForEid(answered.amr),
      acr: answered.acr,
    };
  }
  const latest = flows[0];
  if (!latest || latest.outcome === null) throw new OAuthError('authorization_pending', 'The eID provider has not answered yet');
  throw new OAuthError('invalid_grant', latest.outcome === 'cancelled' ? 'eid_cancelled' : 'eid_failed');
}

async function answerCommit(services: Services, challenge: Challenge, factor: Factor, input: MfaGrantInput, now: number): Promise<Commit | null> {
  const cipher = await services.keyHierarchy.columnCipher();
  switch (factor.type) {
    case 'totp': {
      if (input.code === null) throw new OAuthError('invalid_request', 'A TOTP factor is answered with code');
      const step = matchTotp(factor.secret ?? '', input.code, now, factor.lastTotpStep);
      return step === null ? null : (tx) => markFactorUsed(tx, factor.id, now, step);
    }
    case 'email':
    case 'sms': {
      if (input.code === null) throw new OAuthError('invalid_request', 'An email or SMS factor is answered with code');
      // The code must have been sent for this factor, under this token, and still be fresh.
      const fresh = challenge.factorId === factor.id && challenge.codeHash !== null && challenge.codeExpiresAt !== null && challenge.codeExpiresAt > now;
      if (!fresh || !oneTimeCodeMatches(cipher, challenge.id, input.code, challenge.codeHash!)) return null;
      return (tx) => markFactorUsed(tx, factor.id, now, null);
    }
    case 'webauthn': {
      if (input.credential === null) throw new OAuthError('invalid_request', 'A passkey is answered with credential (the PublicKeyCredential as JSON)');
      if (challenge.factorId !== factor.id || challenge.webauthnChallenge === null) return null;
      // Decrypted from the very bytes the commit compares against, so the counter checked is the counter replaced.
      const previous = await rawSecret(services.store, factor.id);
      if (!previous) return null;
      const stored = JSON.parse(cipher.decrypt(previous, SECRET_CONTEXT)) as StoredCredential;
      let counter: number;
      try {
        counter = await verifyAuthentication(services.config.webauthn, input.credential, challenge.webauthnChallenge, stored);
      } catch (error) {
        if (error instanceof WebAuthnAnswerError) return null;
        throw error;
      }
      const credentialJson = JSON.stringify({ ...stored, counter });
      return (tx) => updateWebAuthnCredential(tx, cipher, factor.id, { now, previousSecret: previous, credentialJson });
    }
    case 'eid':
      throw new TypeError('eID answers are evaluated by eidAnswer');
    default:
      return assertNever(factor.type);
  }
}
