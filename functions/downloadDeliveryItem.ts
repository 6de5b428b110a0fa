import { openItemDownload } from '../lib/domain/deliveries/downloads';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'downloadDeliveryItem',
  methods: ['GET'],
  route: 'v1/deliveries/{id}/items/{itemId}',
  // Step-up (DESIGN §5, RFC 9470): a download needs an MFA within the last 15 minutes.
  auth: { roles: ['requester'], stepUp: true },
  openapi: {
    summary: 'Download an item (decrypted as it streams; Range honoured)',
    description:
      'One `Range: bytes=…` range is answered 206; several are ignored (200, whole item). `Repr-Digest` (RFC 9530) and the strong ETag carry the SHA-256 of the whole item. Each download is recorded in my own audit log. `HEAD` on the same path answers the same status and headers (404, 410, 416 included) without the body, needs no step-up and is not recorded: it reads no content.',
    tags: ['deliveries'],
    responses: {
      200: { description: 'The item', contentType: 'application/octet-stream', schema: { type: 'string', format: 'binary' }, headers: { 'Repr-Digest': 'sha-256 of the item (RFC 9530)', ETag: 'The SHA-256, hex' } },
      206: { description: 'The requested range', contentType: 'application/octet-stream', schema: { type: 'string', format: 'binary' }, headers: { 'Content-Range': 'bytes first-last/size' } },
      404: { description: 'No such item, or not mine', schema: 'Problem' },
      410: { description: 'The delivery expired (purged or not)', schema: 'Problem' },
      416: { description: 'The range selects no byte', schema: 'Problem', headers: { 'Content-Range': 'bytes */size' } },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const download = await openItemDownload(services, principal!, {
      deliveryId: params.id!,
      itemId: params.itemId!,
      range: request.headers.get('range'),
      ifRange: request.headers.get('if-range'),
    });
    return { status: download.status, headers: download.headers, body: download.body };
  },
});
