/**
 * Requester sign-up. The answer never tells whether an address already has an account: a new address gets a
 * confirmation mail, a known one a mail saying someone tried. The chosen password travels with the
 * confirmation token and is applied only when the address owner confirms, so nobody can pre-claim an address.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { ApiError } from '../../errors';
import { appendAudit, requesterChain } from '../audit/audit';
import { mail } from '../mail/templates';
import { consumeOneTimeToken, createOneTimeToken } from './oneTimeTokens';
import { hashPassword } from './passwords';
import { findOrCreateUser, getUser, markEmailVerified, NAME_CONTEXT, setPassword } from './users';

export async function signUpRequester(services: Services, input: { email: string; password: string; name: string }): Promise<{ id: string }> {
  const cipher = await services.keyHierarchy.columnCipher();
  const passwordHash = await hashPassword(input.password);
  const { user, created, token } = await services.store.transaction(async (tx) => {
    const found = await findOrCreateUser(tx, { cipher, clock: services.clock, random: services.random }, { email: input.email, name: input.name });
    const confirmation = await createOneTimeToken(tx, services, {
      purpose: 'verify_email',
      userId: found.user.id,
      organizationId: null,
      role: 'requester',
      // A known, confirmed account keeps its password; otherwise the confirmer's sign-up password applies.
      passwordHash: found.user.emailVerifiedAt === null ? passwordHash : null,
    });
    if (!found.created && found.user.emailVerifiedAt === null && input.name) {
      await tx.execute(sql('UPDATE users SET name = @name WHERE id = @id', { name: p.blob(cipher.encrypt(input.name, NAME_CONTEXT)), id: p.text(found.user.id) }));
    }
    return { ...found, token: confirmation.token };
  });
  const baseUrl = services.config.publicBaseUrl;
  await services.mailer.send(created ? mail.verifyEmail(user.email, baseUrl, token) : mail.signUpForExistingAccount(user.email, baseUrl, token));
  // For a known address the id is a fresh random one: the answer looks the same either way.
  return { id: created ? user.id : services.random.id() };
}

export async function verifyEmail(services: Services, input: { token: string }): Promise<void> {
  const cipher = await services.keyHierarchy.columnCipher();
  await services.store.transaction(async (tx) => {
    const confirmation = await consumeOneTimeToken(tx, services.clock, 'verify_email', input.token);
    const user = confirmation.userId ? await getUser(tx, cipher, confirmation.userId) : null;
    if (!user || user.disabledAt !== null) throw new ApiError(400, 'invalid_token', 'The link is invalid, expired or already used');
    if (confirmation.passwordHash && user.emailVerifiedAt === null) await setPassword(tx, user.id, confirmation.passwordHash);
    await markEmailVerified(tx, services.clock, user.id);
    await tx.execute(sql('UPDATE users SET is_requester = @true WHERE id = @id', { true: p.bool(true), id: p.text(user.id) }));
    await appendAudit(tx, services, {
      chain: requesterChain(user.id),
      action: 'requester.verified',
      actor: { type: 'user', id: user.id },
      target: { type: 'user', id: user.id },
    });
  });
}
