import { requireOwnOrganization } from '../lib/domain/organizations/access';
import { resetFactors } from '../lib/domain/mfa/resets';
import { noContent } from '../lib/http/reply';
import { defineRoute } from '../lib/http/route';

export const definition = defineRoute({
  name: 'resetMemberFactors',
  methods: ['POST'],
  route: 'v1/organizations/{orgId}/members/{memberId}/reset-factors',
  auth: { roles: ['org_admin'], stepUp: true },
  openapi: {
    summary: "Reset a member's MFA: remove every factor and recovery code and end their sessions",
    description:
      'For a member who lost every factor. Audited in the organization and the member, and mailed to the member; at their next sign-in they enroll a new factor. ' +
      'Refused for yourself and for people who also hold a role outside this organization (an operator resets those).',
    tags: ['members', 'mfa'],
    responses: {
      204: { description: 'Reset' },
      404: { description: 'No such member in your organization', schema: 'Problem' },
      409: { description: 'Yourself, or a person with roles elsewhere', schema: 'Problem' },
    },
  },
  handler: async (_request, { services, principal, params }) => {
    const admin = requireOwnOrganization(principal, params.orgId!);
    await resetFactors(services, admin, params.memberId!, { kind: 'org_admin', organizationId: params.orgId! });
    return noContent();
  },
});
