/**
 * Starting an eID flow: the authorization URL for the person's user agent, and the row that remembers what the
 * callback must find (the state's hash, the nonce, the PKCE verifier). Used by enrollment (POST /v1/me/factors with
 * type eid) and by a login or step-up challenge (POST /v1/auth/mfa/challenge with an eID factor).
 */
import type { Services } from '../../app/services';
import type { ColumnCipher } from '../../crypto/columnCipher';
import { ApiError } from '../../errors';
import type { SqlExecutor } from '../../ports';
import { EID_FLOW_TTL_IN_SECONDS, insertFlow, type EidFlowPurpose } from './flows';
import { eidRuntime } from './runtime';
import type { EidProviderConfig } from './settings';

export interface PreparedEidFlow {
  readonly providerId: string;
  readonly authorizationUrl: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly now: number;
  readonly expiresAt: number;
}

/** What an eID factor keeps (column-encrypted as its secret): the provider, and once enrolled the issuer and subject. */
export interface EidFactorSecret {
  readonly provider: string;
  readonly issuer?: string;
  readonly subject?: string;
}

export function parseEidFactorSecret(secret: string | null): EidFactorSecret | null {
  if (secret === null) return null;
  try {
    const parsed = JSON.parse(secret) as Partial<EidFactorSecret>;
    if (typeof parsed.provider !== 'string') return null;
    return {
      provider: parsed.provider,
      ...(typeof parsed.issuer === 'string' ? { issuer: parsed.issuer } : {}),
      ...(typeof parsed.subject === 'string' ? { subject: parsed.subject } : {}),
    };
  } catch {
    return null;
  }
}

/** Builds the authorization request (discovery on first use). A provider that cannot be reached is a 503. */
export async function prepareEidFlow(services: Services, provider: EidProviderConfig): Promise<PreparedEidFlow> {
  let request;
  try {
    request = await eidRuntime(services).clients.authorizationRequest(provider);
  } catch (error) {
    services.log.warn('eid provider unavailable', { provider: provider.id, code: errorCodeOf(error) });
    throw new ApiError(503, 'service_unavailable', 'The eID provider cannot be reached; try again later');
  }
  const now = services.clock.now().getTime();
  return {
    providerId: provider.id,
    authorizationUrl: request.url,
    state: request.state,
    nonce: request.nonce,
    codeVerifier: request.codeVerifier,
    now,
    expiresAt: now + EID_FLOW_TTL_IN_SECONDS * 1000,
  };
}

export async function persistEidFlow(
  tx: SqlExecutor,
  cipher: ColumnCipher,
  prepared: PreparedEidFlow,
  binding: { purpose: EidFlowPurpose; userId: string; factorId: string; challengeId: string | null },
): Promise<void> {
  await insertFlow(tx, cipher, {
    state: prepared.state,
    purpose: binding.purpose,
    userId: binding.userId,
    factorId: binding.factorId,
    challengeId: binding.challengeId,
    providerId: prepared.providerId,
    nonce: prepared.nonce,
    codeVerifier: prepared.codeVerifier,
    now: prepared.now,
    expiresAt: prepared.expiresAt,
  });
}

/**
 * A loggable name for an error from the provider exchange: openid-client's stable `code` (e.g.
 * OAUTH_JWT_CLAIM_COMPARISON_FAILED) or the error's class. Never its message or cause, which may quote token bodies.
 */
export function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,80}$/.test(code)) return code;
  return error instanceof Error ? error.name : typeof error;
}
