import { createRecoveryCodes } from '../lib/domain/mfa/enrollment';
import { HUMAN_ROLES } from '../lib/domain/mfa/routes';
import '../lib/domain/mfa/schemas';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'createRecoveryCodes',
  methods: ['POST'],
  route: 'v1/me/recovery-codes',
  auth: { roles: HUMAN_ROLES, stepUp: true },
  openapi: {
    summary: 'Create ten single-use recovery codes (replacing any earlier ones); shown once',
    description: 'A recovery code answers `mfa_required` as the factor `recovery`. Using one is audited and mailed to you.',
    tags: ['mfa'],
    responses: {
      201: { description: 'The codes; store them now', schema: 'RecoveryCodes' },
      409: { description: 'Enroll a factor first', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal }) => json(201, await createRecoveryCodes(services, principal!)),
});
