/**
 * Members of an organization, as its admins manage them. Disabling a member (or changing their role) ends their
 * sessions at once: their tokens fail on the next request.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { errors } from '../../errors';
import type { Principal } from '../../http/route';
import { appendAudit, orgChain } from '../audit/audit';
import { EMAIL_CONTEXT, NAME_CONTEXT } from '../accounts/users';
import { inviteToOrganization, type MemberRole } from '../accounts/invitations';
import { limitClause, toPage, type Page } from '../paging';

export interface Member {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly role: MemberRole;
  readonly status: 'active' | 'disabled';
  readonly joinedAt: string;
}

export async function listMembers(services: Services, organizationId: string, page: Page): Promise<{ items: Member[]; nextCursor: string | null }> {
  const cipher = await services.keyHierarchy.columnCipher();
  const rows = await services.store.query<{ user_id: string; role: string; created_at: number; disabled_at: number | null; email: Buffer; name: Buffer | null }>(
    sql(
      `SELECT m.user_id, m.role, m.created_at, m.disabled_at, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.organization_id = @org AND m.user_id > @after ORDER BY m.user_id${limitClause(services.store.dialect)}`,
      { org: p.text(organizationId), after: p.text(page.after ?? ''), limit: p.int(page.limit + 1) },
    ),
  );
  const members = rows.map((row) => ({
    id: row.user_id,
    email: cipher.decrypt(row.email, EMAIL_CONTEXT),
    name: cipher.decryptNullable(row.name, NAME_CONTEXT),
    role: row.role as MemberRole,
    status: row.disabled_at === null ? ('active' as const) : ('disabled' as const),
    joinedAt: new Date(Number(row.created_at)).toISOString(),
  }));
  return toPage(members, page.limit, (member) => member.id);
}

export async function inviteMember(services: Services, admin: Principal, organizationId: string, input: { email: string; role: MemberRole }): Promise<{ id: string }> {
  const invitation = await services.store.transaction((tx) => inviteToOrganization(tx, services, admin, { organizationId, ...input }));
  await invitation.send();
  return { id: invitation.userId };
}

export async function updateMember(
  services: Services,
  admin: Principal,
  organizationId: string,
  memberId: string,
  change: { role?: MemberRole; disabled?: boolean },
): Promise<void> {
  const now = services.clock.now().getTime();
  await services.store.transaction(async (tx) => {
    const [membership] = await tx.query<{ role: string; disabled_at: number | null }>(
      sql('SELECT role, disabled_at FROM memberships WHERE organization_id = @org AND user_id = @user', { org: p.text(organizationId), user: p.text(memberId) }),
    );
    if (!membership) throw errors.notFound('No such member');
    if (memberId === admin.subject && (change.disabled || (change.role && change.role !== 'org_admin'))) {
      throw errors.conflict('Admins cannot demote or disable themselves; ask another admin');
    }
    if (change.role && change.role !== membership.role) {
      await tx.execute(sql('UPDATE memberships SET role = @role WHERE organization_id = @org AND user_id = @user', { role: p.text(change.role), org: p.text(organizationId), user: p.text(memberId) }));
      await appendAudit(tx, services, { chain: orgChain(organizationId), action: 'member.role_changed', actor: { type: 'user', id: admin.subject }, target: { type: 'user', id: memberId }, details: { from: membership.role, to: change.role } });
    }
    if (change.disabled !== undefined && change.disabled !== (membership.disabled_at !== null)) {
      await tx.execute(
        sql('UPDATE memberships SET disabled_at = @value WHERE organization_id = @org AND user_id = @user', {
          value: p.bigint(change.disabled ? now : null),
          org: p.text(organizationId),
          user: p.text(memberId),
        }),
      );
      await appendAudit(tx, services, { chain: orgChain(organizationId), action: change.disabled ? 'member.disabled' : 'member.enabled', actor: { type: 'user', id: admin.subject }, target: { type: 'user', id: memberId } });
    }
    // Tokens carry the role they were minted with: any change ends the member's sessions in this organization.
    await tx.execute(
      sql(`UPDATE sessions SET revoked_at = @now, revoked_reason = 'membership_changed' WHERE user_id = @user AND organization_id = @org AND revoked_at IS NULL`, {
        now: p.bigint(now),
        user: p.text(memberId),
        org: p.text(organizationId),
      }),
    );
  });
}
