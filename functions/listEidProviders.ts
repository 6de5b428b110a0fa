import '../lib/domain/eid/schemas';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'listEidProviders',
  methods: ['GET'],
  route: 'v1/auth/eid/providers',
  auth: 'public',
  openapi: {
    summary: 'The third-party eID providers offered as a second factor and identity proof (empty: eID is off)',
    tags: ['mfa'],
    responses: { 200: { description: 'The providers', schema: 'EidProviderList' } },
  },
  handler: async (_request, { services }) =>
    json(200, {
      items: services.config.eid.providers.map((provider) => ({ id: provider.id, label: provider.label, assuranceLevel: provider.assuranceLevel })),
      nextCursor: null,
    }),
});
