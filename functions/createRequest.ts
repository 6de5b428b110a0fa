import { openRequest } from '../lib/domain/requests/requests';
import { OpenRequestRequestSchema } from '../lib/domain/requests/schemas';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'createRequest',
  methods: ['POST'],
  route: 'v1/requests',
  auth: { roles: ['requester'] },
  openapi: {
    summary: 'Ask an organization for your data: records your consent and returns a signed consent receipt',
    description:
      'The consent covers the purpose and the data categories named, until `validUntil` (default 90 days, at most 365) or until you withdraw it. ' +
      'The receipt is a compact JWS after the Kantara Consent Receipt v1.1 (ISO/IEC 27560); verify it with /.well-known/jwks.json.',
    tags: ['requests'],
    request: { contentType: 'application/json', schema: 'OpenRequestRequest' },
    responses: {
      201: { description: 'The request is open; its consent and receipt', schema: 'OpenedRequest', headers: { Location: 'The new request' } },
      400: { description: 'Not valid: unknown fields, bad categories, validUntil out of range (see `errors`)', schema: 'Problem' },
      404: { description: 'No such organization', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal }) => {
    const input = await readJson(request, OpenRequestRequestSchema, services.config.maxJsonBodyBytes);
    const opened = await openRequest(services, principal!, input);
    return json(201, opened, { Location: `/v1/requests/${opened.id}` });
  },
});
