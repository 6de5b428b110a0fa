import { tokenAudience } from '../lib/domain/auth/login';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'openidConfiguration',
  methods: ['GET'],
  route: '.well-known/openid-configuration',
  auth: 'public',
  openapi: {
    summary: 'Issuer metadata (RFC 8414 / OpenID Discovery)',
    tags: ['meta'],
    responses: { 200: { description: 'Metadata', schema: { type: 'object' } } },
  },
  handler: async (_request, { services }) => {
    const issuer = services.config.publicBaseUrl;
    return json(
      200,
      {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        token_endpoint: `${issuer}/v1/oauth/token`,
        revocation_endpoint: `${issuer}/v1/oauth/revoke`,
        grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        scopes_supported: ['requester', 'operator', 'org:<organizationId>'],
        response_types_supported: [],
        id_token_signing_alg_values_supported: ['ES256'],
        access_token_audience: tokenAudience(services),
      },
      { 'Cache-Control': 'public, max-age=300' },
    );
  },
});
