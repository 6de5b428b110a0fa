import { OAuthError } from '../lib/domain/auth/oauthError';
import { authenticateClient, clientCredentialsGrant, passwordGrant, refreshTokenGrant } from '../lib/domain/auth/login';
import { parseClientCredentials } from '../lib/domain/apiKeys/apiKeys';
import { ApiError } from '../lib/errors';
import { clientIp } from '../lib/http/clientIp';
import { oauthErrorResponse, readOAuthParameters } from '../lib/http/form';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'oauthToken',
  methods: ['POST'],
  route: 'v1/oauth/token',
  auth: 'public',
  openapi: {
    summary: 'Issue tokens (password, refresh_token, client_credentials)',
    description:
      'Members calling from company systems add the organization API key as client credentials (client_id = key id, client_secret = the key; HTTP Basic with RFC 6749 §2.3.1 form-encoding, or in the body); the token is then bound to that key and dies with it. `client_credentials` with an API key yields a service-principal token. Errors are in RFC 6749 form.',
    tags: ['auth'],
    request: { contentType: 'application/x-www-form-urlencoded', schema: 'TokenRequest' },
    responses: {
      200: { description: 'Tokens', schema: 'TokenResponse' },
      400: { description: 'invalid_request, invalid_grant, invalid_scope, unsupported_grant_type', contentType: 'application/json', schema: 'OAuthErrorResponse' },
      401: { description: 'invalid_client', contentType: 'application/json', schema: 'OAuthErrorResponse' },
      429: { description: 'Too many failed attempts; see Retry-After', schema: 'Problem', headers: { 'Retry-After': 'Seconds to wait' } },
    },
  },
  handler: async (request, { services }) => {
    try {
      const parameters = await readOAuthParameters(request);
      let credentials;
      try {
        credentials = parseClientCredentials(request.headers.get('authorization'), parameters);
      } catch (error) {
        if (error instanceof ApiError) throw new OAuthError('invalid_request', error.message);
        throw error;
      }
      const client = await authenticateClient(services, credentials, clientIp(request));
      const required = (name: string): string => {
        const value = parameters[name];
        if (!value) throw new OAuthError('invalid_request', `The parameter ${name} is required`);
        return value;
      };
      let tokens;
      switch (parameters.grant_type) {
        case 'password':
          tokens = await passwordGrant(services, {
            username: required('username'),
            password: required('password'),
            scope: parameters.scope ?? null,
            client,
            ip: clientIp(request),
          });
          break;
        case 'refresh_token':
          tokens = await refreshTokenGrant(services, { refreshToken: required('refresh_token'), client });
          break;
        case 'client_credentials':
          tokens = await clientCredentialsGrant(services, client);
          break;
        case undefined:
          throw new OAuthError('invalid_request', 'The parameter grant_type is required');
        default:
          throw new OAuthError('unsupported_grant_type', 'This grant type is not supported');
      }
      return { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8', Pragma: 'no-cache' }, body: JSON.stringify(tokens) };
    } catch (error) {
      if (error instanceof OAuthError) return oauthErrorResponse(error);
      throw error;
    }
  },
});
