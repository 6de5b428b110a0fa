import { RotateApiKeyRequestSchema } from '../lib/domain/apiKeys/schemas';
import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { rotateOrganizationApiKey } from '../lib/domain/organizations/apiKeyAdmin';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'rotateApiKey',
  methods: ['POST'],
  route: 'v1/organizations/{orgId}/api-keys/{keyId}/rotate',
  auth: { roles: ['org_admin'], stepUp: true },
  openapi: {
    summary: 'Rotate an API key: the old one stops working at once (or after graceSeconds, at most 24 h)',
    description: 'Every token minted with the old key fails from the next request on (or when the grace ends).',
    tags: ['api-keys'],
    request: { contentType: 'application/json', schema: 'RotateApiKeyRequest', example: { graceSeconds: 0 } },
    responses: {
      201: { description: 'The new key; store `key` now', schema: 'ApiKeySecret' },
      404: { description: 'No such key in your organization', schema: 'Problem' },
      409: { description: 'The key is already revoked, expired or replaced', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const admin = requireOwnOrganization(principal, params.orgId!);
    const hasBody = request.headers.get('content-length') !== '0' && request.headers.get('content-type') !== null;
    const input = hasBody ? await readJson(request, RotateApiKeyRequestSchema, services.config.maxJsonBodyBytes) : {};
    return json(201, await rotateOrganizationApiKey(services, admin, params.orgId!, params.keyId!, input));
  },
});
