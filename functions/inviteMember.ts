import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { inviteMember } from '../lib/domain/organizations/members';
import { InviteMemberRequest } from '../lib/domain/organizations/schemas';
import { readJson } from '../lib/http/body';
import { json } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'inviteMember',
  methods: ['POST'],
  route: 'v1/organizations/{orgId}/members',
  auth: { roles: ['org_admin'] },
  openapi: {
    summary: 'Invite a member (mailed, valid 24 h); a new member sees nothing until a request is assigned to them',
    tags: ['members'],
    request: { contentType: 'application/json', schema: 'InviteMemberRequest' },
    responses: { 201: { description: 'Invited', schema: 'CreatedId' }, 404: { description: 'Not your organization', schema: 'Problem' } },
  },
  handler: async (request, { services, principal, params }) => {
    const admin = requireOwnOrganization(principal, params.orgId!);
    const input = await readJson(request, InviteMemberRequest, services.config.maxJsonBodyBytes);
    return json(201, await inviteMember(services, admin, params.orgId!, input));
  },
});
