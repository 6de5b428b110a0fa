import { requestPasswordReset } from '../lib/domain/accounts/passwordReset';
import { PasswordResetRequest } from '../lib/domain/accounts/schemas';
import { readJson } from '../lib/http/body';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'requestPasswordReset',
  methods: ['POST'],
  route: 'v1/auth/password-reset',
  auth: 'public',
  openapi: {
    summary: 'Mail a password-reset link',
    description: 'Always answers 202, whether or not the address has an account.',
    tags: ['accounts'],
    request: { contentType: 'application/json', schema: 'PasswordResetRequest' },
    responses: { 202: { description: 'If the address has an account, a link is on its way' }, 400: { description: 'Invalid input', schema: 'Problem' } },
  },
  handler: async (request, { services }) => {
    await requestPasswordReset(services, await readJson(request, PasswordResetRequest, services.config.maxJsonBodyBytes));
    return { status: 202 };
  },
});
