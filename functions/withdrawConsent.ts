import { withdrawConsent } from '../lib/domain/requests/requests';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'withdrawConsent',
  methods: ['POST'],
  route: 'v1/requests/{id}/withdraw',
  auth: { roles: ['requester'] },
  openapi: {
    summary: 'Withdraw your consent: no further delivery is accepted, and the receipt shows the withdrawal',
    description: 'Possible at any time (GDPR art. 7(3)). Idempotent: withdrawing again answers the same state. No body is needed.',
    tags: ['requests'],
    responses: {
      200: { description: 'Consent withdrawn', schema: 'Request' },
      404: { description: 'No such request of yours', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => json(200, await withdrawConsent(services, principal!, params.id!)),
});
