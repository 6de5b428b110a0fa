import { submitDelivery } from '../lib/domain/deliveries/deliveries';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'submitDelivery',
  methods: ['POST'],
  route: 'v1/deliveries/{id}/submit',
  auth: { roles: ['org_member', 'org_admin', 'service'] },
  openapi: {
    summary: 'Release a draft delivery to the requester',
    description: 'The requester can read it from now until expiresAt = releasedAt + 32 days, and is emailed a link (no content). Needs at least one item.',
    tags: ['deliveries'],
    responses: {
      200: { description: 'Released', schema: 'DeliveryReleased' },
      404: { description: 'No such delivery, or not mine', schema: 'Problem' },
      409: { description: 'Not a draft, no items, or the request accepts no delivery any more', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => json(200, await submitDelivery(services, principal!, params.id!)),
});
