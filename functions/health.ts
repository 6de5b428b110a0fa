import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

/** Liveness only: it says nothing about dependencies or versions, so it tells an attacker nothing. */
export const definition = defineRoute({
  name: 'health',
  methods: ['GET'],
  route: 'health',
  auth: 'public',
  openapi: {
    summary: 'Liveness probe',
    tags: ['meta'],
    responses: { 200: { description: 'The host is up', schema: 'Health', example: { status: 'ok' } } },
  },
  handler: async () => json(200, { status: 'ok' }),
});
