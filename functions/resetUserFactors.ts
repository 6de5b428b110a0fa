import { resetFactors } from '../lib/domain/mfa/resets';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'resetUserFactors',
  methods: ['POST'],
  route: 'v1/operator/users/{userId}/reset-factors',
  auth: { roles: ['operator'], stepUp: true },
  openapi: {
    summary: "Operator: reset anyone's MFA (every factor and recovery code removed, sessions ended)",
    description: 'Audited in the person and the platform chain, and mailed to the person. Not for yourself.',
    tags: ['operator', 'mfa'],
    responses: {
      204: { description: 'Reset' },
      404: { description: 'No such user', schema: 'Problem' },
      409: { description: 'Yourself', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => {
    await resetFactors(services, principal!, params.userId!, { kind: 'operator' });
    return noContent();
  },
});
