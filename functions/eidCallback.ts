import { completeEidCallback, eidResultUrl } from '../lib/domain/eid/callback';
import { clientIp } from '../lib/http/clientIp';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'eidCallback',
  methods: ['GET'],
  route: 'v1/auth/eid/callback',
  // Public: the provider redirects the person's user agent here; the single-use state is the credential.
  auth: 'public',
  openapi: {
    summary: 'Where an eID provider sends the person back (the redirect_uri to register: PUBLIC_BASE_URL/v1/auth/eid/callback)',
    description:
      'Finishes the OpenID Connect code flow of an eID enrollment, login or step-up: the state names the pending flow (once), the code is exchanged with the PKCE verifier, ' +
      "the ID token is verified against the provider's JWKS (iss, aud, exp, nonce) and UserInfo is read in the provider's configured form (JSON, signed JWT, encrypted JWT). " +
      'Always answers 303 to PUBLIC_BASE_URL/portal/#/eid-result?status=ok|cancelled|failed&flow=enroll|login|step_up&error=<code>; ' +
      'error is eid_cancelled, eid_failed, eid_subject_mismatch, eid_subject_in_use, invalid_state (unknown, used or expired state: nothing changed) or too_many_requests.',
    tags: ['mfa'],
    query: [
      { name: 'code', description: 'The authorization code', schema: { type: 'string' } },
      { name: 'state', description: 'The state of the authorization request', schema: { type: 'string' } },
      { name: 'error', description: 'The provider\'s error (access_denied = cancelled)', schema: { type: 'string' } },
    ],
    responses: { 303: { description: 'To the portal page that shows the result', headers: { Location: 'PUBLIC_BASE_URL/portal/#/eid-result?status=…' } } },
  },
  handler: async (request, { services }) => {
    const result = await completeEidCallback(services, new URLSearchParams(request.query), clientIp(request));
    return { status: 303, headers: { Location: eidResultUrl(services, result) } };
  },
});
