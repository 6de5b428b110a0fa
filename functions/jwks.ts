import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'jwks',
  methods: ['GET'],
  route: '.well-known/jwks.json',
  auth: 'public',
  openapi: {
    summary: 'The public keys that sign access tokens and receipts (current and recently retired)',
    tags: ['meta'],
    responses: { 200: { description: 'JWK Set (RFC 7517)', contentType: 'application/jwk-set+json', schema: { type: 'object' } } },
  },
  handler: async (_request, { services }) => ({
    status: 200,
    headers: { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'public, max-age=60' },
    body: JSON.stringify(await services.signingKeys.jwks()),
  }),
});
