import { signUpRequester } from '../lib/domain/accounts/requesters';
import { SignUpRequest } from '../lib/domain/accounts/schemas';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'signUpRequester',
  methods: ['POST'],
  route: 'v1/requesters',
  auth: 'public',
  openapi: {
    summary: 'Create a requester account (a confirmation mail follows)',
    description: 'The answer is the same whether or not the address already has an account; the mail tells the owner what happened.',
    tags: ['accounts'],
    request: { contentType: 'application/json', schema: 'SignUpRequest' },
    responses: {
      201: { description: 'Created; confirm the address with the mailed link', schema: 'CreatedId' },
      400: { description: 'Invalid input', schema: 'Problem' },
    },
  },
  handler: async (request, { services }) => json(201, await signUpRequester(services, await readJson(request, SignUpRequest, services.config.maxJsonBodyBytes))),
});
