import { getDelivery } from '../lib/domain/deliveries/deliveries';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'getDelivery',
  methods: ['GET'],
  route: 'v1/deliveries/{id}',
  auth: { roles: ['requester', 'org_member', 'org_admin', 'service'] },
  openapi: {
    summary: 'A delivery and its items',
    description:
      'The requester sees their released deliveries; the organization side (the creator and the assignee of the request) sees its drafts and releases, plus whether the requester downloaded anything. From expiresAt on, `expired` is true and no items are listed.',
    tags: ['deliveries'],
    responses: { 200: { description: 'The delivery', schema: 'Delivery' }, 404: { description: 'No such delivery, or not mine', schema: 'Problem' } },
  },
  handler: async (_request, { services, principal, params }) => json(200, await getDelivery(services, principal!, params.id!)),
});
