import { assignRequest } from '../lib/domain/requests/requests';
import { AssignRequestRequestSchema } from '../lib/domain/requests/schemas';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'assignRequest',
  methods: ['POST'],
  route: 'v1/requests/{id}/assign',
  auth: { roles: ['org_admin'] },
  openapi: {
    summary: 'Assign an open request to a member or a service principal of your organization (or reassign it)',
    description: 'Only the assignee sees the request and may deliver to it. A reassigned request disappears from the previous assignee.',
    tags: ['requests'],
    request: { contentType: 'application/json', schema: 'AssignRequestRequest' },
    responses: {
      200: { description: 'Assigned', schema: 'AssignedRequest' },
      400: { description: 'The assignee is not an active member or service principal of your organization', schema: 'Problem' },
      404: { description: 'No such request in your organization', schema: 'Problem' },
      409: { description: 'The request is no longer open (declined or withdrawn)', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const input = await readJson(request, AssignRequestRequestSchema, services.config.maxJsonBodyBytes);
    return json(200, await assignRequest(services, principal!, params.id!, input));
  },
});
