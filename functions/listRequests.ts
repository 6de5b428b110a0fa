import { listRequests } from '../lib/domain/requests/requests';
import { RequestStatusSchema } from '../lib/domain/requests/schemas';
import { parsePage } from '../lib/domain/paging';
import { validate } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listRequests',
  methods: ['GET'],
  route: 'v1/requests',
  auth: { roles: ['requester', 'org_admin', 'org_member', 'service'] },
  openapi: {
    summary: 'The requests you may see, newest first',
    description:
      'A requester sees the requests they opened; an org admin those to their organization; a member only those assigned to them ' +
      '(a new member sees none); a service principal only those assigned to it. ' +
      "Showing an organization a requester's verified identity is recorded in the requester's audit log (identity.viewed, once per viewer and requester per hour).",
    tags: ['requests'],
    query: [
      { name: 'status', description: 'Only requests in this state', schema: { type: 'string', enum: ['open', 'declined', 'withdrawn'] } },
      { name: 'limit', description: 'Page size, 1–200', schema: { type: 'integer' } },
      { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string' } },
    ],
    responses: {
      200: { description: 'A page of requests', schema: 'RequestList' },
      400: { description: 'A bad status, limit or cursor', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal }) => {
    const status = request.query.get('status');
    const page = parsePage(request.query);
    return json(200, await listRequests(services, principal!, { status: status === null ? undefined : validate(RequestStatusSchema, status, 'status'), page }));
  },
});
