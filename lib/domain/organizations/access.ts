import { errors } from '../../errors';
import type { Principal } from '../../http/route';

/**
 * Organization isolation: a caller reaches only its own organization. Another organization's id answers 404,
 * exactly like an id that does not exist, so ids cannot be probed.
 */
export function requireOwnOrganization(principal: Principal | null, organizationId: string): Principal {
  if (!principal || principal.organizationId !== organizationId) throw errors.notFound('No such organization');
  return principal;
}
