import { getConsentReceipt } from '../lib/domain/requests/requests';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'getConsentReceipt',
  methods: ['GET'],
  route: 'v1/requests/{id}/consent',
  auth: { roles: ['requester', 'org_admin', 'org_member', 'service'] },
  openapi: {
    summary: 'The signed consent receipt of a request, as it stands now',
    description: 'Verify `receipt` (compact JWS, ES256) with the keys at `jwksUri`; `payload` is its content, decoded for display.',
    tags: ['requests'],
    responses: {
      200: { description: 'The receipt', schema: 'ConsentReceipt' },
      404: { description: 'No such request, or not one you may see', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => json(200, await getConsentReceipt(services, principal!, params.id!)),
});
