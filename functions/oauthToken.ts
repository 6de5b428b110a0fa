import { OAuthError } from '../lib/domain/auth/oauthError';
import { authenticateClient, clientCredentialsGrant, passwordGrant, refreshTokenGrant } from '../lib/domain/auth/login';
// Registers TokenRequest, TokenResponse, OAuthErrorResponse and the MFA error shapes for the OpenAPI document.
import '../lib/domain/auth/schemas';
import '../lib/domain/mfa/schemas';
import { MFA_GRANT_TYPE, mfaGrant } from '../lib/domain/mfa/mfaGrant';
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
    summary: 'Issue tokens (password, MFA, refresh_token, client_credentials)',
    description:
      'Members calling from company systems add the organization API key as client credentials (client_id = key id, client_secret = the key; HTTP Basic with RFC 6749 §2.3.1 form-encoding, or in the body); the token is then bound to that key and dies with it. `client_credentials` with an API key yields a service-principal token. Errors are in RFC 6749 form.\n\n' +
      'Every person needs a second factor: a right password answers 403 `mfa_required` (with an `mfa_token` and the factors) or, for an account without a factor, 403 `mfa_enrollment_required` (with an `enrollment_token` for /v1/me/factors). ' +
      'Finish with `grant_type=urn:connectid:params:oauth:grant-type:mfa`, `mfa_token`, `factor_id` and `code` (TOTP, email, SMS, recovery) or `credential` (WebAuthn, the PublicKeyCredential as JSON); start email, SMS and WebAuthn factors first with POST /v1/auth/mfa/challenge. ' +
      'An eID factor is started there too (its `authorization_url` goes to the person\'s browser) and finished with no answer at all: `authorization_pending` until the provider has redirected back, `invalid_grant` with error_description `eid_cancelled` or `eid_failed` when the person cancelled or the answer failed verification. ' +
      'A login that began with an API key must be finished with the same key. The tokens then carry `amr`, `acr` (`urn:connectid:acr:mfa`) and `auth_time`. ' +
      'Step-up (RFC 9470): POST /v1/auth/mfa/challenge with the refresh token gives an mfa_token for the same session; the MFA grant with it refreshes that session\'s MFA time and returns rotated tokens.',
    tags: ['auth'],
    request: { contentType: 'application/x-www-form-urlencoded', schema: 'TokenRequest' },
    responses: {
      200: { description: 'Tokens', schema: 'TokenResponse' },
      400: { description: 'invalid_request, invalid_grant, invalid_scope, unsupported_grant_type', contentType: 'application/json', schema: 'OAuthErrorResponse' },
      401: { description: 'invalid_client', contentType: 'application/json', schema: 'OAuthErrorResponse' },
      403: {
        description: 'mfa_required (MfaRequiredError) or mfa_enrollment_required (MfaEnrollmentRequiredError): the password was right, a second factor is needed',
        contentType: 'application/json',
        schema: { oneOf: [{ $ref: '#/components/schemas/MfaRequiredError' }, { $ref: '#/components/schemas/MfaEnrollmentRequiredError' }] },
      },
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
        case MFA_GRANT_TYPE: {
          const code = parameters.code ?? null;
          const credential = parameters.credential ?? null;
          // One answer at most: code (TOTP, email, SMS, recovery) or credential (WebAuthn); none for an eID factor.
          if (code !== null && credential !== null) throw new OAuthError('invalid_request', 'Give code or credential, not both');
          tokens = await mfaGrant(services, { mfaToken: required('mfa_token'), factorId: required('factor_id'), code, credential, client, ip: clientIp(request) });
          break;
        }
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
