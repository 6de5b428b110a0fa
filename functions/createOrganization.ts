import { CreateOrganizationRequest } from '../lib/domain/accounts/schemas';
import { createOrganization } from '../lib/domain/organizations/organizations';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'createOrganization',
  methods: ['POST'],
  route: 'v1/organizations',
  auth: { roles: ['operator'] },
  openapi: {
    summary: 'Create an organization and invite its first administrator',
    tags: ['organizations'],
    request: { contentType: 'application/json', schema: 'CreateOrganizationRequest' },
    responses: { 201: { description: 'Created; the invitation is mailed', schema: 'Organization' }, 400: { description: 'Invalid input', schema: 'Problem' } },
  },
  handler: async (request, { services, principal }) =>
    json(201, await createOrganization(services, principal!, await readJson(request, CreateOrganizationRequest, services.config.maxJsonBodyBytes))),
});
