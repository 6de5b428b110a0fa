import type { Role } from '../../http/route';

/** Everyone who signs in as a person (and so has factors): all roles but service principals. */
export const HUMAN_ROLES: readonly Role[] = ['requester', 'org_admin', 'org_member', 'operator'];
