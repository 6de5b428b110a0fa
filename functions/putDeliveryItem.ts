import { findReplay, idempotencyOf } from '../lib/domain/deliveries/idempotency';
import { normalizeItemName } from '../lib/domain/deliveries/itemNames';
import { ItemBody, MAX_VALIDATED_JSON_BYTES, parseItemUploadHeaders, putDeliveryItem } from '../lib/domain/deliveries/items';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'putDeliveryItem',
  methods: ['PUT'],
  route: 'v1/deliveries/{id}/items/{name}',
  auth: { roles: ['org_member', 'org_admin', 'service'] },
  openapi: {
    summary: 'Stream an item into a draft delivery (encrypted as it arrives)',
    description:
      'Any content type; `Content-Length` is required (no chunked bodies) and at most the configured item limit (default 100 MB). ' +
      `With \`?category=<code>\` (one of the request's categories) a JSON item is validated against that category's schema (GET /schemas/Category….json) first; at most ${MAX_VALIDATED_JSON_BYTES} bytes. ` +
      'The name (URL path segment, percent-encoded) is kept as given (NFC) and stored encrypted; path separators, dot names, control characters, bidirectional overrides and Windows device names are refused. ' +
      'Send an `Idempotency-Key` header to retry safely.',
    tags: ['deliveries'],
    query: [{ name: 'category', description: "Validate this JSON item against the category's published schema", schema: { type: 'string' } }],
    request: { contentType: 'application/octet-stream', schema: { type: 'string', format: 'binary' } },
    responses: {
      201: { description: 'The item, with the SHA-256 of the bytes received', schema: 'DeliveryItem', headers: { Location: 'Where the requester will download it' } },
      400: { description: 'A bad name, Content-Type, category or Idempotency-Key; JSON that does not match its schema; a body shorter than Content-Length', schema: 'Problem' },
      404: { description: 'No such delivery, or not mine', schema: 'Problem' },
      409: { description: 'Not a draft, the name is taken, the request accepts no delivery, or the Idempotency-Key was used for another request', schema: 'Problem' },
      411: { description: 'Content-Length is missing', schema: 'Problem' },
      413: { description: 'The item is over the limit', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const headers = parseItemUploadHeaders(request.headers, services.config.maxItemBytes);
    const body = new ItemBody(request, headers.contentLength);
    try {
      const name = normalizeItemName(params.name!);
      const category = request.query.get('category');
      const path = `/v1/deliveries/${params.id}/items/${encodeURIComponent(name)}`;
      const idempotency = idempotencyOf(request, principal!, 'putDeliveryItem', path, [String(headers.contentLength), headers.contentType, category ?? '']);
      const replay = await findReplay(services, idempotency);
      if (replay) {
        body.discard();
        return json(replay.status, replay.body);
      }
      const item = await putDeliveryItem(services, principal!, { deliveryId: params.id!, name, headers, category, body, idempotency });
      return json(201, item, { Location: `/v1/deliveries/${params.id}/items/${item.id}` });
    } catch (error) {
      // An answer given before the body is read would leave the connection stuck behind it.
      body.discard();
      throw error;
    }
  },
});
