import { verifyFactor } from '../lib/domain/mfa/enrollment';
import { HUMAN_ROLES } from '../lib/domain/mfa/routes';
import { VerifyFactorRequest } from '../lib/domain/mfa/schemas';
import { readJson } from '../lib/http/body';
import { clientIp } from '../lib/http/clientIp';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'verifyFactor',
  methods: ['POST'],
  route: 'v1/me/factors/{factorId}/verify',
  auth: { roles: HUMAN_ROLES, stepUp: true, enrollment: true },
  openapi: {
    summary: 'Activate a pending factor with its first code (TOTP, email, SMS) or the new passkey (WebAuthn); for an eID factor, read how its provider answered',
    description:
      'Wrong answers are throttled like sign-in (429 with Retry-After); an email or SMS code dies after 5 wrong answers. ' +
      'After the first factor, sign in again: the login answers mfa_required and the MFA grant issues full tokens.',
    tags: ['mfa'],
    request: { contentType: 'application/json', schema: 'VerifyFactorRequest' },
    responses: {
      200: { description: 'Active', schema: 'VerifiedFactor' },
      400: { description: 'invalid_code: wrong or expired; eID: eid_cancelled or eid_failed (the link ended, and its pending factor was discarded)', schema: 'Problem' },
      404: { description: 'No such factor', schema: 'Problem' },
      409: { description: 'Already active; eID: eid_pending (not answered yet) or eid_subject_in_use (bound to an account already; the pending factor was discarded)', schema: 'Problem' },
      429: { description: 'Too many wrong answers; see Retry-After', schema: 'Problem', headers: { 'Retry-After': 'Seconds to wait' } },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const input = await readJson(request, VerifyFactorRequest, services.config.maxJsonBodyBytes);
    return json(200, await verifyFactor(services, principal!, params.factorId!, input, clientIp(request)));
  },
});
