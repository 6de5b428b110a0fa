import { declineRequest } from '../lib/domain/requests/requests';
import { DeclineRequestRequestSchema } from '../lib/domain/requests/schemas';
import { readOptionalJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'declineRequest',
  methods: ['POST'],
  route: 'v1/requests/{id}/decline',
  auth: { roles: ['org_admin'] },
  openapi: {
    summary: 'Decline an open request; its consent receipt is re-issued with status declined',
    description: 'The optional reason is shown to the requester. The body may be empty.',
    tags: ['requests'],
    request: { contentType: 'application/json', schema: 'DeclineRequestRequest' },
    responses: {
      200: { description: 'Declined', schema: 'Request' },
      400: { description: 'Not valid (see `errors`)', schema: 'Problem' },
      404: { description: 'No such request in your organization', schema: 'Problem' },
      409: { description: 'The request is no longer open', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const input = await readOptionalJson(request, DeclineRequestRequestSchema, services.config.maxJsonBodyBytes);
    return json(200, await declineRequest(services, principal!, params.id!, input));
  },
});
