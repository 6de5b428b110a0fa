import { INBOX_CURSOR_KEY, listInbox } from '../lib/domain/deliveries/deliveries';
import { parsePage } from '../lib/domain/paging';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listDeliveries',
  methods: ['GET'],
  route: 'v1/deliveries',
  auth: { roles: ['requester'] },
  openapi: {
    summary: 'My inbox: deliveries released to me, newest first, with how long each stays available',
    tags: ['deliveries'],
    query: [
      { name: 'limit', description: 'Page size, 1–200 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 200 } },
      { name: 'cursor', description: 'nextCursor from the previous page', schema: { type: 'string' } },
    ],
    responses: { 200: { description: 'A page of deliveries', schema: 'DeliveryInbox' }, 400: { description: 'A bad limit or cursor', schema: 'Problem' } },
  },
  handler: async (request, { services, principal }) => json(200, await listInbox(services, principal!, parsePage(request.query, INBOX_CURSOR_KEY))),
});
