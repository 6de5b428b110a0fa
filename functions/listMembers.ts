import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { listMembers } from '../lib/domain/organizations/members';
import { parsePage } from '../lib/domain/paging';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listMembers',
  methods: ['GET'],
  route: 'v1/organizations/{orgId}/members',
  auth: { roles: ['org_admin'] },
  openapi: {
    summary: 'List the members of my organization',
    tags: ['members'],
    query: [
      { name: 'limit', description: 'Page size, 1–200', schema: { type: 'integer' } },
      { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string' } },
    ],
    responses: { 200: { description: 'A page of members', schema: 'MemberList' } },
  },
  handler: async (request, { services, principal, params }) => {
    requireOwnOrganization(principal, params.orgId!);
    return json(200, await listMembers(services, params.orgId!, parsePage(request.query, /^[a-z0-9]{1,64}$/)));
  },
});
