import { listAudit, requesterChain } from '../lib/domain/audit/audit';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'getMyAudit',
  methods: ['GET'],
  route: 'v1/me/audit',
  auth: { roles: ['requester', 'org_admin', 'org_member', 'operator'] },
  openapi: {
    summary: 'Who touched my data: the audit log of events about me, newest first',
    description: 'Your own hash-chained audit chain: sign-ins, your requests and what organizations did with them.',
    tags: ['me', 'audit'],
    query: [
      { name: 'limit', description: 'Page size, 1–200', schema: { type: 'integer' } },
      { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string' } },
    ],
    responses: {
      200: { description: 'A page of events', schema: { type: 'object' } },
      400: { description: 'A bad limit or cursor', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal }) => {
    const limit = request.query.get('limit');
    return json(
      200,
      await listAudit(services.store, services, requesterChain(principal!.subject), {
        limit: limit === null ? undefined : Number(limit),
        cursor: request.query.get('cursor'),
      }),
    );
  },
});
