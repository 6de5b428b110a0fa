import { confirmPasswordReset } from '../lib/domain/accounts/passwordReset';
import { PasswordResetConfirmRequest } from '../lib/domain/accounts/schemas';
import { guardedTokenUse } from '../lib/domain/auth/guessing';
import { readJson } from '../lib/http/body';
import { clientIp } from '../lib/http/clientIp';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'confirmPasswordReset',
  methods: ['POST'],
  route: 'v1/auth/password-reset/confirm',
  auth: 'public',
  openapi: {
    summary: 'Set a new password with the mailed token; every session is signed out',
    tags: ['accounts'],
    request: { contentType: 'application/json', schema: 'PasswordResetConfirmRequest' },
    responses: { 204: { description: 'Password changed' }, 400: { description: 'invalid_token or invalid password', schema: 'Problem' } },
  },
  handler: async (request, { services }) => {
    const input = await readJson(request, PasswordResetConfirmRequest, services.config.maxJsonBodyBytes);
    await guardedTokenUse(services, clientIp(request), () => confirmPasswordReset(services, input));
    return noContent();
  },
});
