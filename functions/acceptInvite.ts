import { acceptInvite } from '../lib/domain/accounts/invitations';
import { AcceptInviteRequest } from '../lib/domain/accounts/schemas';
import { guardedTokenUse } from '../lib/domain/auth/guessing';
import { readJson } from '../lib/http/body';
import { clientIp } from '../lib/http/clientIp';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'acceptInvite',
  methods: ['POST'],
  route: 'v1/auth/accept-invite',
  auth: 'public',
  openapi: {
    summary: 'Accept an invitation with a password',
    description: 'For a new account the password is set; for an address that already has an account, its current password must be given.',
    tags: ['accounts'],
    request: { contentType: 'application/json', schema: 'AcceptInviteRequest' },
    responses: {
      200: { description: 'The account is active', schema: 'AcceptInviteResponse' },
      400: { description: 'invalid_token: wrong, expired or used', schema: 'Problem' },
      403: { description: 'The address has an account and the password is not its password', schema: 'Problem' },
    },
  },
  handler: async (request, { services }) => {
    const input = await readJson(request, AcceptInviteRequest, services.config.maxJsonBodyBytes);
    return json(200, await guardedTokenUse(services, clientIp(request), () => acceptInvite(services, input)));
  },
});
