/**
 * "Who accessed my data" (DESIGN: a requester sees who touched their data). An organization's member or service
 * that is shown a requester's eID-verified identity — name, birth date, national number — on a request leaves an
 * `identity.viewed` entry in that requester's audit chain: who (the member or service principal), on which request.
 *
 * At most one entry per viewer and requester per hour: an organization's list read again and again must not flood
 * the chain (or the database), and an hour still tells the person when someone looked. Two reads racing inside
 * that hour may both write one; that is a duplicate line, never a missing one.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { Principal } from '../../http/route';
import type { SqlParam } from '../../ports';
import { appendAudit, requesterChain } from '../audit/audit';

export const IDENTITY_VIEWED = 'identity.viewed';
export const IDENTITY_VIEW_WINDOW_IN_MS = 60 * 60 * 1000;

/** A request as read from the database: whose it is, and whether it carried a verified identity. */
export interface ShownRequest {
  readonly id: string;
  readonly requester_id: string;
  readonly identity_provider: string | null;
}

export async function recordIdentityViews(services: Services, viewer: Principal, shown: readonly ShownRequest[]): Promise<void> {
  // The person sees their own identity; only the organization side is recorded.
  if (viewer.role === 'requester') return;
  const firstRequestOf = new Map<string, string>();
  for (const request of shown) {
    if (request.identity_provider !== null && !firstRequestOf.has(request.requester_id)) firstRequestOf.set(request.requester_id, request.id);
  }
  if (firstRequestOf.size === 0) return;

  const now = services.clock.now().getTime();
  const chains = [...firstRequestOf.keys()].map(requesterChain);
  const params: Record<string, SqlParam> = {};
  chains.forEach((chain, index) => (params[`c${index}`] = p.text(chain)));
  const recent = await services.store.query<{ chain: string }>(
    sql(
      `SELECT DISTINCT chain FROM audit_events
       WHERE chain IN (${chains.map((_, index) => `@c${index}`).join(', ')}) AND occurred_at > @since AND action = @action AND actor_id = @viewer`,
      { ...params, since: p.bigint(now - IDENTITY_VIEW_WINDOW_IN_MS), action: p.text(IDENTITY_VIEWED), viewer: p.text(viewer.subject) },
    ),
  );
  const seenLately = new Set(recent.map((row) => row.chain));
  // Chains in one fixed order, so two transactions appending to several chains cannot deadlock (SQL Server).
  const due = [...firstRequestOf].filter(([requesterId]) => !seenLately.has(requesterChain(requesterId))).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (due.length === 0) return;
  await services.keyHierarchy.columnCipher();
  await services.store.transaction(async (tx) => {
    for (const [requesterId, requestId] of due) {
      await appendAudit(tx, services, {
        chain: requesterChain(requesterId),
        action: IDENTITY_VIEWED,
        actor: { type: viewer.role === 'service' ? 'service' : 'user', id: viewer.subject },
        target: { type: 'request', id: requestId },
        ...(viewer.organizationId === null ? {} : { details: { organizationId: viewer.organizationId } }),
      });
    }
  });
}
