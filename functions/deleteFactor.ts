import { deleteFactor } from '../lib/domain/mfa/enrollment';
import { HUMAN_ROLES } from '../lib/domain/mfa/routes';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'deleteFactor',
  methods: ['DELETE'],
  route: 'v1/me/factors/{factorId}',
  auth: { roles: HUMAN_ROLES, stepUp: true, enrollment: true },
  openapi: {
    summary: 'Remove a factor (never the last active one)',
    description:
      'Recovery codes do not count as a factor. An enrollment token may remove only pending factors. ' +
      'A pending eID factor need not be removed: a link cancelled or failed at the provider discards it, and so does its expiry.',
    tags: ['mfa'],
    responses: {
      204: { description: 'Removed' },
      404: { description: 'No such factor', schema: 'Problem' },
      409: { description: 'It is the last active factor', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => {
    await deleteFactor(services, principal!, params.factorId!);
    return noContent();
  },
});
