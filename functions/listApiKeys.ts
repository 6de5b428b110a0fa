import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { listOrganizationApiKeys } from '../lib/domain/organizations/apiKeyAdmin';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listApiKeys',
  methods: ['GET'],
  route: 'v1/organizations/{orgId}/api-keys',
  auth: { roles: ['org_admin'] },
  openapi: {
    summary: 'List API keys: prefix, creator, created, last used, status — never the secret',
    tags: ['api-keys'],
    query: [
      { name: 'limit', description: 'Page size, 1–200', schema: { type: 'integer' } },
      { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string' } },
    ],
    responses: { 200: { description: 'A page of keys', schema: 'ApiKeyList' } },
  },
  handler: async (request, { services, principal, params }) => {
    requireOwnOrganization(principal, params.orgId!);
    return json(200, await listOrganizationApiKeys(services, params.orgId!, request.query));
  },
});
