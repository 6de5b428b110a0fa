import { CreateApiKeyRequestSchema } from '../lib/domain/apiKeys/schemas';
import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { createOrganizationApiKey } from '../lib/domain/organizations/apiKeyAdmin';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'createApiKey',
  methods: ['POST'],
  route: 'v1/organizations/{orgId}/api-keys',
  auth: { roles: ['org_admin'], stepUp: true },
  openapi: {
    summary: 'Create an API key (the secret is shown once)',
    tags: ['api-keys'],
    request: { contentType: 'application/json', schema: 'CreateApiKeyRequest' },
    responses: { 201: { description: 'The key; store `key` now, it is never shown again', schema: 'ApiKeySecret' }, 404: { description: 'Not your organization', schema: 'Problem' } },
  },
  handler: async (request, { services, principal, params }) => {
    const admin = requireOwnOrganization(principal, params.orgId!);
    const input = await readJson(request, CreateApiKeyRequestSchema, services.config.maxJsonBodyBytes);
    return json(201, await createOrganizationApiKey(services, admin, params.orgId!, input));
  },
});
