/**
 * Invitations: an operator invites an organization's first admin (or another operator, from the CLI); an admin
 * invites members. The invitation is a single-use 24-hour token; accepting it with a password activates the
 * account and its membership. Inviting an address that already has an account adds a membership to it, and
 * then the existing password must be given to accept.
 */
import { p, sql, UniqueViolationError } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { ApiError } from '../../errors';
import type { Principal, Role } from '../../http/route';
import type { SqlExecutor } from '../../ports';
import { appendAudit, orgChain, PLATFORM_CHAIN } from '../audit/audit';
import { mail } from '../mail/templates';
import { consumeOneTimeToken, createOneTimeToken } from './oneTimeTokens';
import { hashPassword, verifyPassword } from './passwords';
import { findOrCreateUser, getUser, markEmailVerified, setPassword } from './users';

export type MemberRole = Extract<Role, 'org_admin' | 'org_member'>;

export interface Invitation {
  readonly userId: string;
  readonly token: string;
  /** Sends the mail; call after the transaction that created the invitation has committed. */
  send(): Promise<void>;
}

export async function inviteToOrganization(
  tx: SqlExecutor,
  services: Services,
  actor: Principal,
  input: { organizationId: string; email: string; role: MemberRole },
): Promise<Invitation> {
  const cipher = await services.keyHierarchy.columnCipher();
  const { user } = await findOrCreateUser(tx, { cipher, clock: services.clock, random: services.random }, { email: input.email });
  const { token } = await createOneTimeToken(tx, services, {
    purpose: 'invite',
    userId: user.id,
    organizationId: input.organizationId,
    role: input.role,
  });
  await appendAudit(tx, services, {
    chain: orgChain(input.organizationId),
    action: 'member.invited',
    actor: { type: 'user', id: actor.subject },
    target: { type: 'user', id: user.id },
    details: { role: input.role },
  });
  const [organization] = await tx.query<{ name: string }>(sql('SELECT name FROM organizations WHERE id = @id', { id: p.text(input.organizationId) }));
  const what = `join ${organization?.name ?? 'an organization'} as ${input.role === 'org_admin' ? 'an administrator' : 'a member'}`;
  return {
    userId: user.id,
    token,
    send: () => services.mailer.send(mail.invitation(user.email, services.config.publicBaseUrl, token, what)),
  };
}

export async function inviteOperator(services: Services, input: { email: string }): Promise<{ userId: string; token: string; expiresAt: Date }> {
  const cipher = await services.keyHierarchy.columnCipher();
  return services.store.transaction(async (tx) => {
    const { user } = await findOrCreateUser(tx, { cipher, clock: services.clock, random: services.random }, { email: input.email });
    const { token, expiresAt } = await createOneTimeToken(tx, services, { purpose: 'invite', userId: user.id, organizationId: null, role: 'operator' });
    await appendAudit(tx, services, {
      chain: PLATFORM_CHAIN,
      action: 'member.invited',
      actor: { type: 'system', id: 'cli' },
      target: { type: 'user', id: user.id },
      details: { role: 'operator' },
    });
    return { userId: user.id, token, expiresAt };
  });
}

export async function acceptInvite(services: Services, input: { token: string; password: string }): Promise<{ userId: string }> {
  const cipher = await services.keyHierarchy.columnCipher();
  // Hashed before the transaction: argon2 takes tens of milliseconds and must not hold the database.
  const newHash = await hashPassword(input.password);
  return services.store.transaction(async (tx) => {
    const invitation = await consumeOneTimeToken(tx, services.clock, 'invite', input.token);
    const user = invitation.userId ? await getUser(tx, cipher, invitation.userId) : null;
    if (!user || user.disabledAt !== null) throw new ApiError(400, 'invalid_token', 'The link is invalid, expired or already used');
    if (user.passwordHash === null) await setPassword(tx, user.id, newHash);
    else if (!(await verifyPassword(user.passwordHash, input.password))) {
      throw new ApiError(403, 'forbidden', 'This address already has an account: accept with its current password');
    }
    await markEmailVerified(tx, services.clock, user.id);

    if (invitation.role === 'operator') {
      await tx.execute(sql('UPDATE users SET is_operator = @true WHERE id = @id', { true: p.bool(true), id: p.text(user.id) }));
    } else if (invitation.organizationId && (invitation.role === 'org_admin' || invitation.role === 'org_member')) {
      await addMembership(tx, services.clock.now().getTime(), invitation.organizationId, user.id, invitation.role);
    } else {
      throw new TypeError('An invitation names neither an operator nor an organization role');
    }
    await appendAudit(tx, services, {
      chain: invitation.organizationId ? orgChain(invitation.organizationId) : PLATFORM_CHAIN,
      action: 'member.joined',
      actor: { type: 'user', id: user.id },
      target: { type: 'user', id: user.id },
      details: { role: invitation.role },
    });
    return { userId: user.id };
  });
}

async function addMembership(tx: SqlExecutor, now: number, organizationId: string, userId: string, role: MemberRole): Promise<void> {
  try {
    await tx.execute(
      sql('INSERT INTO memberships (organization_id, user_id, role, created_at, disabled_at) VALUES (@org, @user, @role, @now, NULL)', {
        org: p.text(organizationId),
        user: p.text(userId),
        role: p.text(role),
        now: p.bigint(now),
      }),
    );
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
    // Re-invited after being disabled, or invited again with another role: the newest invitation decides.
    await tx.execute(
      sql('UPDATE memberships SET role = @role, disabled_at = NULL WHERE organization_id = @org AND user_id = @user', {
        org: p.text(organizationId),
        user: p.text(userId),
        role: p.text(role),
      }),
    );
  }
}
