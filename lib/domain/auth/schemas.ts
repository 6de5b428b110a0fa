import { z } from 'zod';
import { named } from '../../http/schemas';

export const TokenRequest = named(
  'TokenRequest',
  z
    .object({
      grant_type: z.enum(['password', 'refresh_token', 'client_credentials', 'urn:connectid:params:oauth:grant-type:mfa']),
      username: z.string().optional(),
      password: z.string().optional(),
      refresh_token: z.string().optional(),
      mfa_token: z.string().optional().describe('MFA grant: from the 403 mfa_required answer, or from POST /v1/auth/mfa/challenge (step-up)'),
      factor_id: z.string().optional().describe('MFA grant: the factor answered ("recovery" for a recovery code)'),
      code: z.string().optional().describe('MFA grant: the TOTP, email, SMS or recovery code'),
      credential: z.string().optional().describe('MFA grant, WebAuthn: the PublicKeyCredential from navigator.credentials.get, JSON-encoded'),
      scope: z.string().optional().describe('requester | operator | org:<organizationId> — when the account holds several roles'),
      client_id: z.string().optional().describe('API key id (or use HTTP Basic)'),
      client_secret: z.string().optional().describe('The API key (or use HTTP Basic)'),
    })
    .meta({ example: { grant_type: 'password', username: 'ada@example.org', password: 'correct horse battery staple' } }),
);

export const TokenResponse = named(
  'TokenResponse',
  z
    .strictObject({
      access_token: z.string(),
      token_type: z.literal('Bearer'),
      expires_in: z.number().int(),
      refresh_token: z.string().optional(),
      scope: z.string(),
    })
    .meta({ example: { access_token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9…', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt_…', scope: 'requester' } }),
);

export const OAuthErrorResponse = named(
  'OAuthErrorResponse',
  z
    .object({ error: z.string(), error_description: z.string().optional() })
    .meta({ description: 'RFC 6749 §5.2 error', example: { error: 'invalid_grant', error_description: 'The username or password is wrong, or the account is not active' } }),
);
