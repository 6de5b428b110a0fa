/**
 * Proves who calls: the bearer token's signature and claims (jose, pinned algorithm, issuer, audience), then the
 * live state behind it in one query — session not revoked or expired, account not disabled, membership still
 * active, API key (`akid`) not revoked or past its grace. No cache: a revocation bites on the very next request,
 * on every instance (DESIGN §5).
 */
import type { HttpRequest } from '@azure/functions';
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { ApiError } from '../../errors';
import type { Authenticator } from '../../http/guard';
import type { Principal } from '../../http/route';
import { isApiKeyUsable } from '../apiKeys/apiKeys';
import { verifyAccessToken } from '../tokens/accessTokens';
import { tokenAudience } from './login';

function invalidToken(): ApiError {
  return new ApiError(401, 'unauthorized', 'The access token is not valid', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
}

export function createTokenAuthenticator(services: Services): Authenticator {
  return {
    async authenticate(request: HttpRequest): Promise<Principal | null> {
      const header = request.headers.get('authorization');
      if (header === null) return null;
      const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
      if (!match) throw invalidToken();
      const claims = await verifyAccessToken(
        services.signingKeys,
        { issuer: services.config.publicBaseUrl, audience: tokenAudience(services), clock: services.clock },
        match[1]!,
      );
      const now = services.clock.now().getTime();

      if (claims.akid !== null && !(await isApiKeyUsable(services.store, services.clock, claims.akid))) throw invalidToken();

      let mfaAt: number | null = null;
      if (claims.sid !== null) {
        const [row] = await services.store.query<{ mfa_at: number | null; membership_ok: number }>(
          sql(
            `SELECT s.mfa_at,
                    CASE WHEN s.organization_id IS NULL THEN 1
                         WHEN EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = s.organization_id AND m.user_id = s.user_id
                                      AND m.disabled_at IS NULL AND m.role = s.role) THEN 1 ELSE 0 END AS membership_ok
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = @sid AND s.user_id = @sub AND s.revoked_at IS NULL AND u.disabled_at IS NULL
               AND s.idle_expires_at > @now AND s.absolute_expires_at > @now`,
            { sid: p.text(claims.sid), sub: p.text(claims.sub), now: p.bigint(now) },
          ),
        );
        if (!row || Number(row.membership_ok) !== 1) throw invalidToken();
        mfaAt = row.mfa_at === null ? null : Math.floor(Number(row.mfa_at) / 1000);
      } else if (claims.role !== 'service') {
        // Only service principals hold session-less tokens.
        throw invalidToken();
      }
      return {
        subject: claims.sub,
        role: claims.role,
        organizationId: claims.org,
        apiKeyId: claims.akid,
        sessionId: claims.sid,
        mfaAt,
        amr: claims.amr,
        enrollmentOnly: claims.scp === 'mfa_enrollment',
      };
    },
  };
}
