import { describeItemDownload } from '../lib/domain/deliveries/downloads';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'headDeliveryItem',
  methods: ['HEAD'],
  route: 'v1/deliveries/{id}/items/{itemId}',
  // No step-up: a HEAD reads no content, and what its headers tell (name, size, digest) GET /v1/deliveries/{id} tells.
  auth: { roles: ['requester'] },
  // HEAD is documented with the GET of the same path (OpenAPI generators derive it).
  openapi: false,
  handler: async (request, { services, principal, params }) => {
    const described = await describeItemDownload(services, principal!, {
      deliveryId: params.id!,
      itemId: params.itemId!,
      range: request.headers.get('range'),
      ifRange: request.headers.get('if-range'),
    });
    return { status: described.status, headers: described.headers };
  },
});
