/**
 * Throttles guessing of mailed tokens (invitations, confirmations, resets) and API-key secrets: failures are
 * counted per client address (and per key id for API keys) in the database, shared by every instance.
 * A 256-bit token cannot be guessed, but an endpoint that answers unlimited wrong guesses is still a free
 * oracle and a load vector.
 */
import type { Services } from '../../app/services';
import { ApiError } from '../../errors';
import { assertNotThrottled, createThrottleSubjects, recordFailure, recordSuccess } from '../throttle/throttle';

async function subjectsFor(services: Services, ip: string, accountKey: string | null): Promise<string[]> {
  const cipher = await services.keyHierarchy.columnCipher();
  const subjects = createThrottleSubjects((value) => cipher.blindIndex(value, 'throttle'));
  return [subjects.ipSubject('token', ip), ...(accountKey === null ? [] : [subjects.accountSubject('token', accountKey)])];
}

/**
 * Runs a use case that consumes a mailed token. A wrong token (`invalid_token`) or, for an invitation to an
 * existing account, a wrong password (`forbidden`) counts as a failed guess.
 */
export async function guardedTokenUse<T>(services: Services, ip: string, use: () => Promise<T>): Promise<T> {
  const subjects = await subjectsFor(services, ip, null);
  await assertNotThrottled(services.store, services.clock, subjects);
  try {
    return await use();
  } catch (error) {
    if (error instanceof ApiError && (error.code === 'invalid_token' || error.code === 'forbidden')) await recordFailure(services.store, services.clock, subjects);
    throw error;
  }
}

/** For API-key client authentication: throttled per address and per key id. */
export async function guardedClientAuthentication<T>(services: Services, ip: string, clientId: string, authenticate: () => Promise<T | null>): Promise<T | null> {
  const subjects = await subjectsFor(services, ip, clientId);
  await assertNotThrottled(services.store, services.clock, subjects);
  const result = await authenticate();
  if (result === null) await recordFailure(services.store, services.clock, subjects);
  else await recordSuccess(services.store, subjects);
  return result;
}
