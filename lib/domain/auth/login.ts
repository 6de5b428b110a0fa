/**
 * The token grants of DESIGN §5. A password login proves the person; the role comes from what they are:
 * a member calling from company systems adds the organization's API key (the token is then bound to it),
 * anyone else picks with `scope` when they hold more than one role. Every person then needs a second factor:
 * `requireSecondFactor` (lib/domain/mfa/loginGate.ts) answers `mfa_required` with an mfa_token bound to this
 * attempt, or `mfa_enrollment_required` when the account has no factor yet; the MFA grant
 * (lib/domain/mfa/mfaGrant.ts) finishes the login through `recordLogin` and `tokensFor`.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { normalizeEmail } from '../../crypto/columnCipher';
import type { Role } from '../../http/route';
import { authenticateApiKey, type AuthenticatedApiKey, type ClientCredentials } from '../apiKeys/apiKeys';
import { appendAudit, orgChain, requesterChain } from '../audit/audit';
import { verifyPassword } from '../accounts/passwords';
import { findUserByEmail, type User } from '../accounts/users';
import { mail } from '../mail/templates';
import { assertNotThrottled, createThrottleSubjects, recordFailure, recordSuccess } from '../throttle/throttle';
import { requireSecondFactor } from '../mfa/loginGate';
import { ACR_MFA, requiresMfa } from '../mfa/policy';
import type { SqlExecutor } from '../../ports';
import { issueAccessToken } from '../tokens/accessTokens';
import { guardedClientAuthentication } from './guessing';
import { OAuthError } from './oauthError';
import { tokenAudience } from './audience';
import { rotateRefreshToken, startSession, type Session } from './sessions';

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope: string;
}

export interface RoleChoice {
  readonly role: Role;
  readonly organizationId: string | null;
  readonly scope: string;
}

export { tokenAudience };

async function throttleSubjects(services: Services) {
  const cipher = await services.keyHierarchy.columnCipher();
  return createThrottleSubjects((value) => cipher.blindIndex(value, 'throttle'));
}

export async function authenticateClient(services: Services, credentials: ClientCredentials | null, ip: string): Promise<AuthenticatedApiKey | null> {
  if (!credentials) return null;
  const key = await guardedClientAuthentication(services, ip, credentials.clientId, () =>
    authenticateApiKey(services.store, services, credentials.clientId, credentials.clientSecret),
  );
  if (!key) throw new OAuthError('invalid_client', 'Client authentication failed', 401, {}, { 'WWW-Authenticate': 'Basic realm="connectid"' });
  return key;
}

export async function passwordGrant(
  services: Services,
  input: { username: string; password: string; scope: string | null; client: AuthenticatedApiKey | null; ip: string },
): Promise<TokenResponse> {
  const subjects = await throttleSubjects(services);
  const accountSubject = subjects.accountSubject('login', normalizeEmail(input.username));
  const throttled = [accountSubject, subjects.ipSubject('login', input.ip)];
  await assertNotThrottled(services.store, services.clock, throttled);

  const cipher = await services.keyHierarchy.columnCipher();
  const user = await findUserByEmail(services.store, cipher, input.username);
  const passwordMatches = await verifyPassword(user?.passwordHash ?? null, input.password);
  if (!user || !passwordMatches || user.disabledAt !== null || user.emailVerifiedAt === null) {
    const { lockoutEngaged } = await recordFailure(services.store, services.clock, throttled);
    if (user) {
      await services.store.transaction((tx) =>
        appendAudit(tx, services, { chain: requesterChain(user.id), action: 'auth.login.failed', actor: { type: 'user', id: user.id } }),
      );
      if (lockoutEngaged) {
        await services.store.transaction((tx) =>
          appendAudit(tx, services, { chain: requesterChain(user.id), action: 'auth.lockout', actor: { type: 'system', id: null }, target: { type: 'user', id: user.id } }),
        );
        await services.mailer.send(mail.lockout(user.email));
      }
    }
    throw new OAuthError('invalid_grant', 'The username or password is wrong, or the account is not active');
  }
  await recordSuccess(services.store, [accountSubject]);

  const choice = await chooseRole(services, user, input.scope, input.client);
  const apiKeyId = input.client?.id ?? null;
  // Throws mfa_required or mfa_enrollment_required: the login continues with the MFA grant.
  if (requiresMfa(choice.role)) await requireSecondFactor(services, user, choice, apiKeyId);
  return completeLogin(services, user, choice, { apiKeyId, amr: ['pwd'], mfaAt: null });
}

/**
 * What a login may become. With an API key: a membership in the key's organization, nothing else.
 * Without: the roles the account holds, narrowed by `scope` (`requester`, `operator`, `org:<id>`).
 */
export async function chooseRole(services: Services, user: User, scope: string | null, client: AuthenticatedApiKey | null): Promise<RoleChoice> {
  const memberships = await services.store.query<{ organization_id: string; role: string }>(
    sql('SELECT organization_id, role FROM memberships WHERE user_id = @user AND disabled_at IS NULL ORDER BY organization_id', { user: p.text(user.id) }),
  );
  const choices: RoleChoice[] = [
    ...(user.isRequester ? [{ role: 'requester' as const, organizationId: null, scope: 'requester' }] : []),
    ...(user.isOperator ? [{ role: 'operator' as const, organizationId: null, scope: 'operator' }] : []),
    ...memberships.map((m) => ({ role: m.role as Role, organizationId: m.organization_id, scope: `org:${m.organization_id}` })),
  ];
  if (client) {
    const member = choices.find((c) => c.organizationId === client.organizationId);
    if (!member) throw new OAuthError('invalid_grant', 'The account is not a member of the API key’s organization');
    if (scope !== null && scope !== member.scope) throw new OAuthError('invalid_scope', `With this API key the only scope is ${member.scope}`);
    return member;
  }
  if (scope !== null) {
    const chosen = choices.find((c) => c.scope === scope);
    if (!chosen) throw new OAuthError('invalid_scope', 'The account does not hold that scope');
    return chosen;
  }
  if (choices.length === 1) return choices[0]!;
  if (choices.length === 0) throw new OAuthError('invalid_grant', 'The account holds no role yet');
  throw new OAuthError('invalid_scope', `Choose a scope: ${choices.map((c) => c.scope).join(' ')}`, 400, { scopes: choices.map((c) => c.scope) });
}

/** Starts the session and issues tokens (for roles without MFA; the MFA grant uses `recordLogin` in its own transaction). */
export async function completeLogin(
  services: Services,
  user: User,
  choice: RoleChoice,
  auth: { apiKeyId: string | null; amr: readonly string[]; mfaAt: number | null },
): Promise<TokenResponse> {
  await services.keyHierarchy.columnCipher();
  const { session, refreshToken } = await services.store.transaction((tx) => recordLogin(tx, services, user, choice, auth));
  return tokensFor(services, session, refreshToken, choice.scope);
}

/** Starts the session and audits the login, inside the caller's transaction. */
export async function recordLogin(
  tx: SqlExecutor,
  services: Services,
  user: User,
  choice: RoleChoice,
  auth: { apiKeyId: string | null; amr: readonly string[]; mfaAt: number | null; acr?: string | null; details?: Record<string, unknown> },
): Promise<{ session: Session; refreshToken: string | undefined }> {
  const started = await startSession(tx, services, {
    userId: user.id,
    role: choice.role,
    organizationId: choice.organizationId,
    apiKeyId: auth.apiKeyId,
    amr: auth.amr,
    mfaAt: auth.mfaAt,
    acr: auth.acr ?? null,
  });
  await appendAudit(tx, services, {
    chain: choice.organizationId ? orgChain(choice.organizationId) : requesterChain(user.id),
    action: 'auth.login.succeeded',
    actor: { type: 'user', id: user.id },
    details: { role: choice.role, ...(auth.apiKeyId ? { apiKeyId: auth.apiKeyId } : {}), amr: [...auth.amr], ...auth.details },
  });
  return started;
}

/**
 * Access token (and refresh token, when one was issued) for a session. `acr` says whether a second factor was used:
 * ours (urn:connectid:acr:mfa), or the one an eID provider reported when the second factor was that eID.
 */
export async function tokensFor(services: Services, session: Session, refreshToken: string | undefined, scope: string): Promise<TokenResponse> {
  const access = await issueAccessToken(
    services.signingKeys,
    { issuer: services.config.publicBaseUrl, audience: tokenAudience(services), clock: services.clock, random: services.random },
    {
      sub: session.userId,
      role: session.role,
      org: session.organizationId,
      akid: session.apiKeyId,
      sid: session.id,
      amr: session.amr,
      ...(session.mfaAt !== null ? { acr: session.acr ?? ACR_MFA } : {}),
      authTime: session.authTime,
    },
  );
  return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, ...(refreshToken ? { refresh_token: refreshToken } : {}), scope };
}

export async function refreshTokenGrant(services: Services, input: { refreshToken: string; client: AuthenticatedApiKey | null }): Promise<TokenResponse> {
  const { session, refreshToken } = await rotateRefreshToken(services, input.refreshToken, { apiKeyId: input.client?.id ?? null });
  const scope = session.organizationId ? `org:${session.organizationId}` : session.role;
  return tokensFor(services, session, refreshToken, scope);
}

/** A company backend: the API key alone yields a service-principal token, bound to the key, without refresh. */
export async function clientCredentialsGrant(services: Services, client: AuthenticatedApiKey | null): Promise<TokenResponse> {
  if (!client) throw new OAuthError('invalid_client', 'client_credentials needs an API key as client credentials', 401, {}, { 'WWW-Authenticate': 'Basic realm="connectid"' });
  const access = await issueAccessToken(
    services.signingKeys,
    { issuer: services.config.publicBaseUrl, audience: tokenAudience(services), clock: services.clock, random: services.random },
    {
      sub: client.servicePrincipalId,
      role: 'service',
      org: client.organizationId,
      akid: client.id,
      sid: null,
      amr: [],
      authTime: Math.floor(services.clock.now().getTime() / 1000),
    },
  );
  return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope: 'service' };
}
