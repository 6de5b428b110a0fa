import { listOrganizations } from '../lib/domain/organizations/organizations';
import { parsePage } from '../lib/domain/paging';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listOrganizations',
  methods: ['GET'],
  route: 'v1/organizations',
  auth: { roles: ['requester', 'org_admin', 'org_member', 'operator'] },
  openapi: {
    summary: 'The directory of organizations a requester can address',
    tags: ['organizations'],
    query: [
      { name: 'limit', description: 'Page size, 1–200 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 200 } },
      { name: 'cursor', description: 'nextCursor from the previous page', schema: { type: 'string' } },
    ],
    responses: { 200: { description: 'A page of organizations', schema: 'OrganizationList' } },
  },
  handler: async (request, { services }) => json(200, await listOrganizations(services, parsePage(request.query, /^[a-z0-9]{1,64}$/))),
});
