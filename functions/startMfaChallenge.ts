import { startMfaChallenge } from '../lib/domain/mfa/challengeStart';
import { MfaChallengeRequest } from '../lib/domain/mfa/schemas';
import { readJson } from '../lib/http/body';
import { clientIp } from '../lib/http/clientIp';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'startMfaChallenge',
  methods: ['POST'],
  route: 'v1/auth/mfa/challenge',
  // Public: the mfa_token (or, for step-up, the refresh token) in the body is the credential.
  auth: 'public',
  openapi: {
    summary: 'Start answering a second factor (send an email/SMS code, get WebAuthn options or an eID authorization URL), or begin a step-up',
    description:
      '`{mfa_token, factor_id}` after a 403 mfa_required: email and SMS factors get a fresh 6-digit code (202, valid 10 minutes, at most 3 sends per mfa_token); ' +
      'a WebAuthn factor gets the authentication options for navigator.credentials.get; an eID factor gets `authorization_url` for the person\'s browser (the mfa_token then lives 10 minutes); TOTP and recovery codes need nothing (200 {sent: false}).\n\n' +
      'Step-up (RFC 9470) when a route answered 401 insufficient_user_authentication: `{refresh_token, factor_id?}` returns a new mfa_token bound to that session and the factors to choose from ' +
      '(and starts factor_id when given); the MFA grant with that mfa_token updates the same session and returns rotated tokens.',
    tags: ['auth'],
    request: { contentType: 'application/json', schema: 'MfaChallengeRequest' },
    responses: {
      200: { description: 'Started (WebAuthn options, or nothing to send); for step-up also the mfa_token', schema: 'MfaChallengeResponse', example: { sent: false } },
      202: { description: 'A code was sent by email or SMS', schema: 'MfaChallengeResponse', example: { sent: true, code_expires_in: 600 } },
      400: { description: 'invalid_token: the mfa_token or refresh token is invalid, expired or used', schema: 'Problem' },
      404: { description: 'No such factor on this account', schema: 'Problem' },
      409: { description: 'This mfa_token already sent its codes, or the eID provider of the factor is no longer offered', schema: 'Problem' },
      503: { description: 'The eID provider cannot be reached', schema: 'Problem' },
      429: { description: 'Too many wrong answers; see Retry-After', schema: 'Problem', headers: { 'Retry-After': 'Seconds to wait' } },
    },
  },
  handler: async (request, { services }) => {
    const input = await readJson(request, MfaChallengeRequest, services.config.maxJsonBodyBytes);
    const reply = await startMfaChallenge(services, { mfaToken: input.mfa_token, refreshToken: input.refresh_token, factorId: input.factor_id, ip: clientIp(request) });
    return json(reply.status, reply.body, { Pragma: 'no-cache' });
  },
});
