import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { updateMember } from '../lib/domain/organizations/members';
import { UpdateMemberRequest } from '../lib/domain/organizations/schemas';
import { readJson } from '../lib/http/body';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'updateMember',
  methods: ['PATCH'],
  route: 'v1/organizations/{orgId}/members/{memberId}',
  auth: { roles: ['org_admin'], stepUp: true },
  openapi: {
    summary: "Change a member's role or disable them; their sessions end at once",
    tags: ['members'],
    request: { contentType: 'application/json', schema: 'UpdateMemberRequest' },
    responses: {
      204: { description: 'Updated' },
      404: { description: 'No such member in your organization', schema: 'Problem' },
      409: { description: 'Admins cannot demote or disable themselves', schema: 'Problem' },
    },
  },
  handler: async (request, { services, principal, params }) => {
    const admin = requireOwnOrganization(principal, params.orgId!);
    await updateMember(services, admin, params.orgId!, params.memberId!, await readJson(request, UpdateMemberRequest, services.config.maxJsonBodyBytes));
    return noContent();
  },
});
