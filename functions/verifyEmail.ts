import { verifyEmail } from '../lib/domain/accounts/requesters';
import { VerifyEmailRequest } from '../lib/domain/accounts/schemas';
import { guardedTokenUse } from '../lib/domain/auth/guessing';
import { readJson } from '../lib/http/body';
import { clientIp } from '../lib/http/clientIp';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'verifyEmail',
  methods: ['POST'],
  route: 'v1/auth/verify-email',
  auth: 'public',
  openapi: {
    summary: 'Confirm an email address with the mailed token',
    tags: ['accounts'],
    request: { contentType: 'application/json', schema: 'VerifyEmailRequest' },
    responses: {
      204: { description: 'Confirmed; the account can sign in as a requester' },
      400: { description: 'invalid_token: wrong, expired or used', schema: 'Problem' },
    },
  },
  handler: async (request, { services }) => {
    const input = await readJson(request, VerifyEmailRequest, services.config.maxJsonBodyBytes);
    await guardedTokenUse(services, clientIp(request), () => verifyEmail(services, input));
    return noContent();
  },
});
