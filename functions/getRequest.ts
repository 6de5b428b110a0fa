import { getRequest } from '../lib/domain/requests/requests';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'getRequest',
  methods: ['GET'],
  route: 'v1/requests/{id}',
  auth: { roles: ['requester', 'org_admin', 'org_member', 'service'] },
  openapi: {
    summary: 'One request you may see',
    description: "Showing an organization a requester's verified identity is recorded in the requester's audit log (identity.viewed, once per viewer and requester per hour).",
    tags: ['requests'],
    responses: {
      200: { description: 'The request', schema: 'Request' },
      404: { description: 'No such request, or not one you may see', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => json(200, await getRequest(services, principal!, params.id!)),
});
