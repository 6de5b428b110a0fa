import { getDeletionReceipt } from '../lib/domain/retention/deletionReceipts';
import '../lib/domain/retention/schemas';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'getDeletionReceipt',
  methods: ['GET'],
  route: 'v1/deliveries/{id}/deletion-receipt',
  auth: { roles: ['requester', 'org_member', 'org_admin', 'service'] },
  openapi: {
    summary: 'The signed deletion receipt of a purged delivery',
    description:
      'Once a delivery has expired, the retention purge destroys its data and signs a receipt of the deletion. Verify `receipt` (compact JWS, ES256) with the keys at `jwksUri`; `payload` is its content, decoded for display. ' +
      'Who may see the delivery (GET /v1/deliveries/{id}) may see its receipt: the requester it was released to, and its creator and the assignee of its request. ' +
      'A delivery that has not been deleted yet (a draft, or released and not yet purged, even past expiresAt until the hourly purge has run) answers 409, as does an abandoned draft, which is destroyed without a receipt.',
    tags: ['deliveries'],
    responses: {
      200: { description: 'The receipt', schema: 'DeletionReceipt' },
      404: { description: 'No such delivery, or not one you may see', schema: 'Problem' },
      409: { description: 'The delivery has not been deleted yet, so it has no receipt (code `conflict`)', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => json(200, await getDeletionReceipt(services, principal!, params.id!)),
});
