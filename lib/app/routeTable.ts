/**
 * The one route table both hosts serve. Adding an endpoint = adding its file under functions/ and one line here.
 * A definition without an auth policy, a duplicate name, or two routes claiming the same method and template
 * stop the app at load time.
 */
import { definition as docs } from '../../functions/docs';
import { definition as acceptInvite } from '../../functions/acceptInvite';
import { definition as confirmPasswordReset } from '../../functions/confirmPasswordReset';
import { definition as createApiKey } from '../../functions/createApiKey';
import { definition as createOrganization } from '../../functions/createOrganization';
import { definition as getMe } from '../../functions/getMe';
import { definition as inviteMember } from '../../functions/inviteMember';
import { definition as jwks } from '../../functions/jwks';
import { definition as listApiKeys } from '../../functions/listApiKeys';
import { definition as listMembers } from '../../functions/listMembers';
import { definition as listOrganizationAudit } from '../../functions/listOrganizationAudit';
import { definition as listOrganizations } from '../../functions/listOrganizations';
import { definition as oauthRevoke } from '../../functions/oauthRevoke';
import { definition as oauthToken } from '../../functions/oauthToken';
import { definition as openidConfiguration } from '../../functions/openidConfiguration';
import { definition as requestPasswordReset } from '../../functions/requestPasswordReset';
import { definition as revokeApiKey } from '../../functions/revokeApiKey';
import { definition as rotateApiKey } from '../../functions/rotateApiKey';
import { definition as signUpRequester } from '../../functions/signUpRequester';
import { definition as updateMember } from '../../functions/updateMember';
import { definition as verifyEmail } from '../../functions/verifyEmail';
import { definition as health } from '../../functions/health';
import { definition as jsonSchema } from '../../functions/jsonSchema';
import { definition as openapiDocument } from '../../functions/openapiDocument';
import type { RouteDefinition, TimerDefinition } from '../http/route';
import { ROLES } from '../http/route';

export const routes: readonly RouteDefinition[] = validateRoutes([
  health,
  openapiDocument,
  jsonSchema,
  docs,
  openidConfiguration,
  jwks,
  oauthToken,
  oauthRevoke,
  signUpRequester,
  verifyEmail,
  requestPasswordReset,
  confirmPasswordReset,
  acceptInvite,
  getMe,
  listOrganizations,
  createOrganization,
  listMembers,
  inviteMember,
  updateMember,
  listApiKeys,
  createApiKey,
  rotateApiKey,
  revokeApiKey,
  listOrganizationAudit,
]);

export const timers: readonly TimerDefinition[] = [];

export function validateRoutes(definitions: readonly RouteDefinition[]): readonly RouteDefinition[] {
  const names = new Set<string>();
  const claims = new Set<string>();
  for (const definition of definitions) {
    const { name, route, auth, methods } = definition;
    if (names.has(name)) throw new TypeError(`Route name "${name}" is used twice`);
    names.add(name);
    if (auth === undefined || auth === null) throw new TypeError(`Route "${name}" declares no auth policy`);
    if (auth !== 'public') {
      if (!Array.isArray(auth.roles) || auth.roles.length === 0) throw new TypeError(`Route "${name}" allows no role`);
      for (const role of auth.roles) if (!ROLES.includes(role)) throw new TypeError(`Route "${name}" names unknown role "${role}"`);
    }
    if (route.startsWith('/')) throw new TypeError(`Route "${name}" must not start with "/"`);
    if (methods.length === 0) throw new TypeError(`Route "${name}" declares no method`);
    const shape = route.toLowerCase().replace(/\{[^}]*\}/g, '{}');
    for (const method of methods) {
      const claim = `${method} ${shape}`;
      if (claims.has(claim)) throw new TypeError(`Route "${name}" repeats ${claim}`);
      claims.add(claim);
    }
  }
  return Object.freeze([...definitions]);
}
