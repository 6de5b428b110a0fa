import { listMyFactors } from '../lib/domain/mfa/enrollment';
import { HUMAN_ROLES } from '../lib/domain/mfa/routes';
import '../lib/domain/mfa/schemas';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listFactors',
  methods: ['GET'],
  route: 'v1/me/factors',
  auth: { roles: HUMAN_ROLES, enrollment: true },
  openapi: {
    summary: 'My second factors, with their labels and when each was last used',
    description: 'Never shows a secret; an SMS factor shows only the last two digits of its number. Also accepts an enrollment token.',
    tags: ['mfa'],
    responses: { 200: { description: 'Every factor, pending and active, and how many recovery codes are left', schema: 'FactorList' } },
  },
  handler: async (_request, { services, principal }) => json(200, await listMyFactors(services, principal!)),
});
