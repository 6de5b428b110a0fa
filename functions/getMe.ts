import { getUser } from '../lib/domain/accounts/users';
import { errors } from '../lib/errors';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'getMe',
  methods: ['GET'],
  route: 'v1/me',
  auth: { roles: ['requester', 'org_admin', 'org_member', 'operator'] },
  openapi: { summary: 'Who I am, as this token says', tags: ['me'], responses: { 200: { description: 'The signed-in account', schema: 'Me' } } },
  handler: async (_request, { services, principal }) => {
    const user = await getUser(services.store, await services.keyHierarchy.columnCipher(), principal!.subject);
    if (!user) throw errors.notFound();
    return json(200, {
      id: user.id,
      email: user.email,
      name: user.name,
      role: principal!.role,
      organizationId: principal!.organizationId,
      apiKeyId: principal!.apiKeyId,
      amr: principal!.amr,
    });
  },
});
