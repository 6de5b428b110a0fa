/**
 * Losing every factor: recovery codes get a person back in; failing that, an admin resets the account's MFA.
 * A reset deletes every factor, recovery code and pending challenge of the account, ends all its sessions, is
 * audited (the person's chain, and the organization's or the platform's) and mailed to the person. Their next
 * password login then leads through enrollment again.
 *
 *   org admin → a member of their organization, but not themselves, and not someone who also holds a role
 *               elsewhere (an operator, or a member of another organization): their factors guard more than
 *               this organization, so an operator decides.
 *   operator  → anyone but themselves.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { errors } from '../../errors';
import type { Principal } from '../../http/route';
import { getUser } from '../accounts/users';
import { appendAudit, orgChain, PLATFORM_CHAIN, requesterChain } from '../audit/audit';
import { revokeUserSessions } from '../auth/sessions';
import { mail } from '../mail/templates';
import { deleteEidStateOfUser } from '../eid/flows';

export type ResetAuthority = { readonly kind: 'org_admin'; readonly organizationId: string } | { readonly kind: 'operator' };

export async function resetFactors(services: Services, actor: Principal, targetUserId: string, authority: ResetAuthority): Promise<void> {
  const cipher = await services.keyHierarchy.columnCipher();
  const user = await getUser(services.store, cipher, targetUserId);
  const now = services.clock.now().getTime();
  await services.store.transaction(async (tx) => {
    if (authority.kind === 'org_admin') {
      const memberships = await tx.query<{ organization_id: string }>(
        sql('SELECT organization_id FROM memberships WHERE user_id = @user', { user: p.text(targetUserId) }),
      );
      // Another organization's member answers 404, exactly like an id that does not exist.
      if (!user || !memberships.some((m) => m.organization_id === authority.organizationId)) throw errors.notFound('No such member');
      if (targetUserId === actor.subject) throw errors.conflict('Admins cannot reset their own factors; ask another admin or an operator');
      if (user.isOperator || memberships.some((m) => m.organization_id !== authority.organizationId)) {
        throw errors.conflict('This person also holds a role outside your organization; an operator must reset their factors');
      }
    } else {
      if (!user) throw errors.notFound('No such user');
      if (targetUserId === actor.subject) throw errors.conflict('Operators cannot reset their own factors; ask another operator');
    }
    const removed = await tx.execute(sql('DELETE FROM mfa_factors WHERE user_id = @user', { user: p.text(targetUserId) }));
    await tx.execute(sql('DELETE FROM recovery_codes WHERE user_id = @user', { user: p.text(targetUserId) }));
    await tx.execute(sql('DELETE FROM mfa_challenges WHERE user_id = @user', { user: p.text(targetUserId) }));
    // eID bindings go with the factors (the person may bind the same eID again); the verified identity stays.
    await deleteEidStateOfUser(tx, targetUserId);
    await revokeUserSessions(tx, now, targetUserId, 'mfa_reset');
    const event = {
      action: 'mfa.factors.reset',
      actor: { type: 'user' as const, id: actor.subject },
      target: { type: 'user', id: targetUserId },
      details: { by: authority.kind, factorsRemoved: removed.rowsAffected },
    };
    await appendAudit(tx, services, { chain: requesterChain(targetUserId), ...event });
    await appendAudit(tx, services, { chain: authority.kind === 'org_admin' ? orgChain(authority.organizationId) : PLATFORM_CHAIN, ...event });
  });
  await services.mailer.send(mail.factorsReset(user!.email));
}
