import { revokeRefreshToken } from '../lib/domain/auth/sessions';
import { OAuthError } from '../lib/domain/auth/oauthError';
import { oauthErrorResponse, readOAuthParameters } from '../lib/http/form';
import { defineRoute } from '../lib/http/route';

/** RFC 7009. Revoking a refresh token ends its session; access tokens of that session fail on their next use. */
export const definition = defineRoute({
  name: 'oauthRevoke',
  methods: ['POST'],
  route: 'v1/oauth/revoke',
  auth: 'public',
  openapi: {
    summary: 'Revoke a refresh token (RFC 7009): its whole session ends',
    tags: ['auth'],
    request: { contentType: 'application/x-www-form-urlencoded', schema: { type: 'object', properties: { token: { type: 'string' }, token_type_hint: { type: 'string' } }, required: ['token'] } },
    responses: { 200: { description: 'Revoked, or the token was unknown (RFC 7009 §2.2)' }, 400: { description: 'invalid_request', contentType: 'application/json', schema: 'OAuthErrorResponse' } },
  },
  handler: async (request, { services }) => {
    try {
      const parameters = await readOAuthParameters(request);
      if (!parameters.token) throw new OAuthError('invalid_request', 'The parameter token is required');
      await revokeRefreshToken(services, parameters.token);
      return { status: 200 };
    } catch (error) {
      if (error instanceof OAuthError) return oauthErrorResponse(error);
      throw error;
    }
  },
});
