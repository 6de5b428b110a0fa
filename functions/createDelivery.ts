import { createDelivery } from '../lib/domain/deliveries/deliveries';
import { findReplay, idempotencyOf } from '../lib/domain/deliveries/idempotency';
import { CreateDeliveryRequestSchema } from '../lib/domain/deliveries/schemas';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'createDelivery',
  methods: ['POST'],
  route: 'v1/requests/{id}/deliveries',
  auth: { roles: ['org_member', 'org_admin', 'service'] },
  openapi: {
    summary: 'Start a draft delivery for a request assigned to me',
    description:
      'The request must be open with valid consent. Send an `Idempotency-Key` header to retry safely: the same key and body answer the first draft again; the same key with another body is 409.',
    tags: ['deliveries'],
    request: { contentType: 'application/json', schema: 'CreateDeliveryRequest' },
    responses: {
      201: { description: 'The draft', schema: 'DeliveryDraft', headers: { Location: 'The new delivery' } },
      400: { description: 'A bad body or Idempotency-Key', schema: 'Problem' },
      404: { description: 'No such request, or not assigned to me', schema: 'Problem' },
      409: { description: 'The request accepts no delivery (not open, consent withdrawn or ended), or the Idempotency-Key was used for another body', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const input = await readJson(request, CreateDeliveryRequestSchema, services.config.maxJsonBodyBytes);
    // The validated body is what the request means, so two spellings of the same JSON are the same request.
    const idempotency = idempotencyOf(request, principal!, 'createDelivery', `/v1/requests/${params.id}/deliveries`, [JSON.stringify(input)]);
    const replay = await findReplay(services, idempotency);
    const { status, body } = replay ?? { status: 201, body: await createDelivery(services, principal!, params.id!, input, idempotency) };
    return json(status, body, { Location: `/v1/deliveries/${(body as { id: string }).id}` });
  },
});
