/**
 * Password reset by mail. Asking always answers the same (no account enumeration); confirming sets the new
 * password, signs every session out, and tells the owner by mail.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { ApiError } from '../../errors';
import { appendAudit, requesterChain } from '../audit/audit';
import { mail } from '../mail/templates';
import { consumeOneTimeToken, createOneTimeToken } from './oneTimeTokens';
import { hashPassword } from './passwords';
import { findUserByEmail, getUser, markEmailVerified, setPassword } from './users';

export async function requestPasswordReset(services: Services, input: { email: string }): Promise<void> {
  const cipher = await services.keyHierarchy.columnCipher();
  const user = await findUserByEmail(services.store, cipher, input.email);
  if (!user || user.disabledAt !== null) return;
  const { token } = await services.store.transaction((tx) =>
    createOneTimeToken(tx, services, { purpose: 'password_reset', userId: user.id, organizationId: null, role: null }),
  );
  await services.mailer.send(mail.passwordReset(user.email, services.config.publicBaseUrl, token));
}

export async function confirmPasswordReset(services: Services, input: { token: string; password: string }): Promise<void> {
  const cipher = await services.keyHierarchy.columnCipher();
  const passwordHash = await hashPassword(input.password);
  const email = await services.store.transaction(async (tx) => {
    const reset = await consumeOneTimeToken(tx, services.clock, 'password_reset', input.token);
    const user = reset.userId ? await getUser(tx, cipher, reset.userId) : null;
    if (!user || user.disabledAt !== null) throw new ApiError(400, 'invalid_token', 'The link is invalid, expired or already used');
    await setPassword(tx, user.id, passwordHash);
    await markEmailVerified(tx, services.clock, user.id);
    const now = services.clock.now().getTime();
    await tx.execute(
      sql(`UPDATE sessions SET revoked_at = @now, revoked_reason = 'password_reset' WHERE user_id = @id AND revoked_at IS NULL`, {
        now: p.bigint(now),
        id: p.text(user.id),
      }),
    );
    await appendAudit(tx, services, {
      chain: requesterChain(user.id),
      action: 'auth.password_reset',
      actor: { type: 'user', id: user.id },
      target: { type: 'user', id: user.id },
    });
    return user.email;
  });
  await services.mailer.send(mail.passwordChanged(email));
}
