import { createFactor } from '../lib/domain/mfa/enrollment';
import { HUMAN_ROLES } from '../lib/domain/mfa/routes';
import { CreateFactorRequest } from '../lib/domain/mfa/schemas';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'createFactor',
  methods: ['POST'],
  route: 'v1/me/factors',
  auth: { roles: HUMAN_ROLES, stepUp: true, enrollment: true },
  openapi: {
    summary: 'Enroll a second factor (TOTP, email code, SMS code, WebAuthn passkey, third-party eID); it is pending until verified',
    description:
      'TOTP: the reply carries the otpauth:// URI and its QR code (a data: URL of a PNG). Email and SMS (`phone` in E.164): a 6-digit code is sent, valid 10 minutes. ' +
      'WebAuthn: the reply carries `options` for navigator.credentials.create (user verification required). Then POST …/{factorId}/verify.\n\n' +
      'eID (`provider` from GET /v1/auth/eid/providers): the reply carries `authorizationUrl` for the person\'s browser; the provider\'s redirect to /v1/auth/eid/callback activates the factor, and POST …/{factorId}/verify reports the outcome.\n\n' +
      'An enrollment token (from mfa_enrollment_required) may enroll only while the account has no active factor; otherwise a recent MFA is required.',
    tags: ['mfa'],
    request: { contentType: 'application/json', schema: 'CreateFactorRequest', example: { type: 'sms', label: 'My phone', phone: '+46701234567' } },
    responses: {
      201: { description: 'The pending factor and what proves it works', schema: 'CreatedFactor' },
      400: { description: 'Invalid body (e.g. sms without phone)', schema: 'Problem' },
      403: { description: 'An enrollment token, but the account already has a factor', schema: 'Problem' },
      409: { description: 'Too many factors', schema: 'Problem' },
      503: { description: 'The eID provider cannot be reached', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal }) => {
    const input = await readJson(request, CreateFactorRequest, services.config.maxJsonBodyBytes);
    return json(201, await createFactor(services, principal!, input));
  },
});
