/**
 * What MFA means here, in one place: who needs it, what a factor says about the login (RFC 8176 `amr`, the `acr`),
 * and how wrong answers are throttled and recorded.
 */
import type { Services } from '../../app/services';
import type { Role } from '../../http/route';
import { appendAudit, requesterChain } from '../audit/audit';
import { mail } from '../mail/templates';
import { createThrottleSubjects, recordFailure } from '../throttle/throttle';
import { assertNever, type FactorType } from './factors';

/** The `acr` of a token whose session used a second factor. */
export const ACR_MFA = 'urn:connectid:acr:mfa';

/** Every person signs in with a second factor (DESIGN §1); only service principals (API keys) do not. */
export function requiresMfa(role: Role): boolean {
  return role !== 'service';
}

export type AnsweredFactor = FactorType | 'recovery';

/**
 * RFC 8176 authentication method references for a password plus this factor. `mfa` says two factors were used;
 * `otp` covers TOTP, emailed and texted codes and recovery codes (all one-time passwords), with `sms` added for
 * SMS; a passkey with user verification is a hardware-bound key (`hwk`) plus a user check on the device (`user`).
 * An eID is `fed`: the person authenticated at a federated identity provider. RFC 8176 registers no value for that;
 * `fed` is the one Microsoft Entra ID and others emit. What the provider itself reports is added by `amrForEid`.
 */
export function amrFor(factor: AnsweredFactor): string[] {
  switch (factor) {
    case 'totp':
    case 'email':
    case 'recovery':
      return ['pwd', 'otp', 'mfa'];
    case 'sms':
      return ['pwd', 'otp', 'sms', 'mfa'];
    case 'webauthn':
      return ['pwd', 'hwk', 'user', 'mfa'];
    case 'eid':
      return ['pwd', 'fed', 'mfa'];
    default:
      return assertNever(factor);
  }
}

/** The values registered by RFC 8176 §2 (IANA "Authentication Method Reference Values"). */
const RFC8176_AMR_VALUES: ReadonlySet<string> = new Set([
  'face', 'fpt', 'geo', 'hwk', 'iris', 'kba', 'mca', 'mfa', 'otp', 'pin', 'pop', 'pwd', 'rba', 'retina', 'sc', 'sms', 'swk', 'tel', 'user', 'vbm', 'wia',
]);

/** The provider's `amr` values that mean something to our relying parties: registered ones only (not e.g. "external"). */
export function registeredAmrValues(providerAmr: readonly string[]): string[] {
  return [...new Set(providerAmr.filter((value) => RFC8176_AMR_VALUES.has(value)))];
}

/** A password plus an eID: `pwd fed`, what the provider reports it checked (e.g. `sc pin` for a smart card), `mfa`. */
export function amrForEid(providerAmr: readonly string[]): string[] {
  const reported = registeredAmrValues(providerAmr).filter((value) => value !== 'pwd' && value !== 'mfa' && value !== 'fed');
  return ['pwd', 'fed', ...reported, 'mfa'];
}

/** Throttle subjects for answering a second factor: per account and per client address (kind `mfa`). */
export async function mfaThrottleSubjects(services: Services, userId: string, ip: string): Promise<string[]> {
  const cipher = await services.keyHierarchy.columnCipher();
  const subjects = createThrottleSubjects((value) => cipher.blindIndex(value, 'throttle'));
  return [subjects.accountSubject('mfa', userId), subjects.ipSubject('mfa', ip)];
}

/** A wrong answer: counted by the throttle, audited in the person's chain, and the owner mailed at lockout. */
export async function recordWrongAnswer(
  services: Services,
  user: { id: string; email: string },
  subjects: readonly string[],
  details: { factorType: AnsweredFactor; purpose: string },
): Promise<void> {
  const { lockoutEngaged } = await recordFailure(services.store, services.clock, subjects);
  await services.store.transaction(async (tx) => {
    await appendAudit(tx, services, { chain: requesterChain(user.id), action: 'auth.mfa.failed', actor: { type: 'user', id: user.id }, details });
    if (lockoutEngaged) {
      await appendAudit(tx, services, {
        chain: requesterChain(user.id),
        action: 'auth.lockout',
        actor: { type: 'system', id: null },
        target: { type: 'user', id: user.id },
        details: { kind: 'mfa' },
      });
    }
  });
  if (lockoutEngaged) await services.mailer.send(mail.lockout(user.email));
}
