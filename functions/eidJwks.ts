import { eidEnabled, eidRuntime } from '../lib/domain/eid/runtime';
import { errors } from '../lib/errors';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'eidJwks',
  methods: ['GET'],
  route: '.well-known/eid-jwks.json',
  auth: 'public',
  openapi: {
    summary: "The public keys eID providers encrypt UserInfo answers to (register it as the client's jwks_uri)",
    description: 'EC P-256 (ECDH-ES, ECDH-ES+A*KW) and RSA-2048 (RSA-OAEP-256, RSA-OAEP), use "enc". 404 when this installation offers no eID provider.',
    tags: ['meta'],
    responses: {
      200: { description: 'JWK Set (RFC 7517)', contentType: 'application/jwk-set+json', schema: { type: 'object' } },
      404: { description: 'No eID provider is configured', schema: 'Problem' },
    },
  },
  handler: async (_request, { services }) => {
    if (!eidEnabled(services)) throw errors.notFound('This installation offers no eID provider');
    return {
      status: 200,
      headers: { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'public, max-age=300' },
      body: JSON.stringify(await eidRuntime(services).encryptionKeys.jwks()),
    };
  },
});
