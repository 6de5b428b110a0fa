import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { revokeOrganizationApiKey } from '../lib/domain/organizations/apiKeyAdmin';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'revokeApiKey',
  methods: ['DELETE'],
  route: 'v1/organizations/{orgId}/api-keys/{keyId}',
  auth: { roles: ['org_admin'], stepUp: true },
  openapi: {
    summary: 'Revoke an API key at once, with every token minted with it',
    tags: ['api-keys'],
    responses: { 204: { description: 'Revoked (idempotent)' }, 404: { description: 'No such key in your organization', schema: 'Problem' } },
  },
  handler: async (_request, { services, principal, params }) => {
    const admin = requireOwnOrganization(principal, params.orgId!);
    await revokeOrganizationApiKey(services, admin, params.orgId!, params.keyId!);
    return noContent();
  },
});
