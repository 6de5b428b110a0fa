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
import { definition as purgeExpired } from '../../functions/purgeExpired';
import { definition as startMfaChallenge } from '../../functions/startMfaChallenge';
import { definition as listFactors } from '../../functions/listFactors';
import { definition as createFactor } from '../../functions/createFactor';
import { definition as verifyFactor } from '../../functions/verifyFactor';
import { definition as deleteFactor } from '../../functions/deleteFactor';
import { definition as createRecoveryCodes } from '../../functions/createRecoveryCodes';
import { definition as resetMemberFactors } from '../../functions/resetMemberFactors';
import { definition as resetUserFactors } from '../../functions/resetUserFactors';
import { definition as createRequest } from '../../functions/createRequest';
import { definition as listRequests } from '../../functions/listRequests';
import { definition as getRequest } from '../../functions/getRequest';
import { definition as assignRequest } from '../../functions/assignRequest';
import { definition as declineRequest } from '../../functions/declineRequest';
import { definition as withdrawConsent } from '../../functions/withdrawConsent';
import { definition as getConsentReceipt } from '../../functions/getConsentReceipt';
import { definition as getMyAudit } from '../../functions/getMyAudit';
import { definition as createDelivery } from '../../functions/createDelivery';
import { definition as putDeliveryItem } from '../../functions/putDeliveryItem';
import { definition as submitDelivery } from '../../functions/submitDelivery';
import { definition as listDeliveries } from '../../functions/listDeliveries';
import { definition as getDelivery } from '../../functions/getDelivery';
import { definition as downloadDeliveryItem } from '../../functions/downloadDeliveryItem';
import { definition as listEidProviders } from '../../functions/listEidProviders';
import { definition as eidCallback } from '../../functions/eidCallback';
import { definition as eidJwks } from '../../functions/eidJwks';
import { definition as portal } from '../../functions/portal';
import { definition as getDeletionReceipt } from '../../functions/getDeletionReceipt';
import { definition as headDeliveryItem } from '../../functions/headDeliveryItem';
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
  startMfaChallenge,
  listFactors,
  createFactor,
  verifyFactor,
  deleteFactor,
  createRecoveryCodes,
  resetMemberFactors,
  resetUserFactors,
  createRequest,
  listRequests,
  getRequest,
  assignRequest,
  declineRequest,
  withdrawConsent,
  getConsentReceipt,
  getMyAudit,
  createDelivery,
  putDeliveryItem,
  submitDelivery,
  listDeliveries,
  getDelivery,
  downloadDeliveryItem,
  listEidProviders,
  eidCallback,
  eidJwks,
  portal,
  getDeletionReceipt,
  headDeliveryItem,
]);

export const timers: readonly TimerDefinition[] = [purgeExpired];

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
