/**
 * Deliveries: the assignee of a request drafts one, streams items into it (items.ts), and submits it; from then
 * the requester reads it (and downloads its items, downloads.ts) until expiresAt = releasedAt + 32 days.
 *
 * Who sees what:
 * - a draft: only its organization side, i.e. its creator and the request's current assignee;
 * - a released delivery: the requester it is for, and that same organization side (which learns nothing about
 *   the requester's reads beyond `downloaded`);
 * - anyone else: 404, exactly like an id that does not exist.
 * From expiresAt on the metadata stays readable (status, expired: true) but lists no items, and every item read
 * answers 410, whether or not the purge has run (DESIGN §2: access ends exactly at expiresAt).
 */
import { p, sql, UniqueViolationError } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { ColumnCipher } from '../../crypto/columnCipher';
import { errors } from '../../errors';
import type { Principal } from '../../http/route';
import type { SqlExecutor, SqlParam } from '../../ports';
import { getUser } from '../accounts/users';
import { appendAudit, orgChain, requesterChain, type AuditActor } from '../audit/audit';
import { mail } from '../mail/templates';
import { limitClause, toPage, type Page } from '../paging';
import { findStoredResponse, storeResponse, type Idempotency } from './idempotency';
import { isAssignee, loadDeliverableRequest } from '../requests/requests';

export const RETENTION_IN_DAYS = 32;
const DAY_IN_MS = 86_400_000;
export const TITLE_CONTEXT = 'deliveries.title';
export const ITEM_NAME_CONTEXT = 'delivery_items.name';

/** `abandoned`: a draft nobody submitted within a week; the purge shredded its items. */
export type DeliveryStatus = 'draft' | 'released' | 'purged' | 'abandoned';

/**
 * The deliveries a requester sees: those released to them, also once purged (their deletion receipt stays). Drafts
 * and abandoned drafts were never sent, so they do not exist for the requester — not even their titles.
 */
export const SEEN_BY_REQUESTER = "d.status IN ('released', 'purged')";

export interface DeliveryItemView {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
  readonly sha256: string;
}

export interface DeliveryDraft {
  readonly id: string;
  readonly requestId: string;
  readonly status: 'draft';
}

export interface DeliveryReleased {
  readonly id: string;
  readonly status: 'released';
  readonly releasedAt: string;
  readonly expiresAt: string;
}

export interface DeliveryView {
  readonly id: string;
  readonly requestId: string;
  readonly organizationId: string;
  readonly title: string;
  readonly status: DeliveryStatus;
  readonly createdAt: string;
  readonly releasedAt: string | null;
  readonly expiresAt: string | null;
  readonly expired: boolean;
  readonly daysLeft: number | null;
  readonly items: DeliveryItemView[];
  /** Organization side only. */
  readonly downloaded?: boolean;
}

export interface InboxEntry {
  readonly id: string;
  readonly requestId: string;
  readonly organizationId: string;
  readonly organizationName: string;
  readonly title: string;
  readonly status: Exclude<DeliveryStatus, 'draft'>;
  readonly releasedAt: string;
  readonly expiresAt: string;
  readonly expired: boolean;
  readonly daysLeft: number;
}

export type DeliveryRow = {
  id: string;
  request_id: string;
  organization_id: string;
  requester_id: string;
  status: DeliveryStatus;
  title: Buffer;
  created_by: string;
  created_at: number;
  released_at: number | null;
  expires_at: number | null;
};

const DELIVERY_COLUMNS = 'd.id, d.request_id, d.organization_id, d.requester_id, d.status, d.title, d.created_by, d.created_at, d.released_at, d.expires_at';

/** Members and admins act as users, company backends as services, in every audit entry. */
export function actorOf(principal: Principal): AuditActor {
  return { type: principal.role === 'service' ? 'service' : 'user', id: principal.subject };
}

/** Expired from expiresAt on (inclusive), purged or not. */
export function isExpired(row: Pick<DeliveryRow, 'status' | 'expires_at'>, nowMs: number): boolean {
  return row.status === 'purged' || (row.expires_at !== null && nowMs >= Number(row.expires_at));
}

// ---------------------------------------------------------------------------------------------
// Writing: the assignee

/**
 * A new draft for an open, consented request the caller is assigned to. With an Idempotency-Key, a retry
 * answers the first draft instead of creating another.
 */
export async function createDelivery(
  services: Services,
  principal: Principal,
  requestId: string,
  input: { readonly title: string },
  idempotency: Idempotency | null,
): Promise<DeliveryDraft> {
  const { store, clock, random } = services;
  const cipher = await services.keyHierarchy.columnCipher();
  const draft: DeliveryDraft = { id: random.id(), requestId, status: 'draft' };
  try {
    await store.transaction(async (tx) => {
      if (idempotency) await storeResponse(tx, cipher, clock, idempotency, { status: 201, body: draft });
      // Checked inside the transaction so a withdrawal that commits first is seen.
      const request = await loadDeliverableRequest(tx, principal, requestId, clock.now());
      await tx.execute(
        sql(
          `INSERT INTO deliveries (id, request_id, organization_id, requester_id, status, title, created_by, created_at, released_at, expires_at, purged_at, deletion_receipt)
           VALUES (@id, @requestId, @organizationId, @requesterId, 'draft', @title, @createdBy, @now, NULL, NULL, NULL, NULL)`,
          {
            id: p.text(draft.id),
            requestId: p.text(request.id),
            organizationId: p.text(request.organizationId),
            requesterId: p.text(request.requesterId),
            title: p.blob(cipher.encrypt(input.title, TITLE_CONTEXT)),
            createdBy: p.text(principal.subject),
            now: p.bigint(clock.now().getTime()),
          },
        ),
      );
      await appendAudit(tx, services, {
        chain: orgChain(request.organizationId),
        action: 'delivery.created',
        actor: actorOf(principal),
        target: { type: 'delivery', id: draft.id },
        details: { requestId: request.id },
      });
    });
  } catch (error) {
    // A concurrent request with the same key committed first: answer what it answered.
    if (idempotency && error instanceof UniqueViolationError) {
      const stored = await findStoredResponse(store, cipher, clock, idempotency);
      if (stored) return stored.body as DeliveryDraft;
    }
    throw error;
  }
  return draft;
}

/**
 * Releases a draft with at least one item: from now on the requester sees it, until now + 32 days. The
 * requester is mailed a link, no content.
 */
export async function submitDelivery(services: Services, principal: Principal, deliveryId: string): Promise<DeliveryReleased> {
  const { store, clock } = services;
  const cipher = await services.keyHierarchy.columnCipher();
  const delivery = await loadOrgDelivery(store, principal, deliveryId);
  const releasedAtMs = clock.now().getTime();
  const expiresAtMs = releasedAtMs + RETENTION_IN_DAYS * DAY_IN_MS;
  const itemCount = await store.transaction(async (tx) => {
    // Lock the request row before reading its consent: under SQL Server's READ COMMITTED a plain read takes no
    // lock, so a withdrawal committing in the same instant could still let this release through. Locked, the two
    // serialize: the withdrawal waits for this release, or this release reads the withdrawal. (SQLite transactions
    // here are BEGIN IMMEDIATE: writers are serialized already.)
    await tx.execute(sql('UPDATE requests SET updated_at = updated_at WHERE id = @id', { id: p.text(delivery.request_id) }));
    const request = await loadDeliverableRequest(tx, principal, delivery.request_id, clock.now());
    // The status change comes first: on SQL Server it locks the row, so an item upload committing concurrently
    // (which touches the same row, see items.ts) is either counted below or refused as no longer a draft.
    const released = await tx.execute(
      sql(`UPDATE deliveries SET status = 'released', released_at = @releasedAt, expires_at = @expiresAt WHERE id = @id AND status = 'draft'`, {
        id: p.text(delivery.id),
        releasedAt: p.bigint(releasedAtMs),
        expiresAt: p.bigint(expiresAtMs),
      }),
    );
    if (released.rowsAffected !== 1) throw errors.conflict('Only a draft can be submitted; this delivery was already released');
    const [count] = await tx.query<{ n: number }>(
      sql('SELECT COUNT(*) AS n FROM delivery_items WHERE delivery_id = @id AND destroyed_at IS NULL', { id: p.text(delivery.id) }),
    );
    const items = Number(count?.n ?? 0);
    if (items === 0) throw errors.conflict('A delivery needs at least one item before it can be submitted');
    const event = {
      action: 'delivery.released',
      actor: actorOf(principal),
      target: { type: 'delivery', id: delivery.id },
      details: { requestId: request.id, items, expiresAt: new Date(expiresAtMs).toISOString() },
    } as const;
    // Organization before requester: the fixed order appendAudit asks of two-chain transactions.
    await appendAudit(tx, services, { ...event, chain: orgChain(delivery.organization_id) });
    await appendAudit(tx, services, { ...event, chain: requesterChain(delivery.requester_id) });
    return items;
  });
  await notifyRequester(services, cipher, delivery).catch((error: unknown) => {
    // The delivery is released and in the inbox either way; a lost mail must not turn the release into a 500
    // that a client would retry into a 409.
    services.log.error('delivery mail failed', { deliveryId: delivery.id, errorName: error instanceof Error ? error.name : typeof error });
  });
  services.log.info('delivery released', { deliveryId: delivery.id, items: itemCount });
  return { id: delivery.id, status: 'released', releasedAt: new Date(releasedAtMs).toISOString(), expiresAt: new Date(expiresAtMs).toISOString() };
}

async function notifyRequester(services: Services, cipher: ColumnCipher, delivery: DeliveryRow): Promise<void> {
  const requester = await getUser(services.store, cipher, delivery.requester_id);
  const [organization] = await services.store.query<{ name: string }>(
    sql('SELECT name FROM organizations WHERE id = @id', { id: p.text(delivery.organization_id) }),
  );
  if (!requester || requester.disabledAt !== null || !organization) return;
  await services.mailer.send(mail.deliveryReleased(requester.email, services.config.publicBaseUrl, delivery.id, organization.name, RETENTION_IN_DAYS));
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * The delivery as its organization side may see it: the caller's organization owns it and the caller created
 * it or is the request's current assignee. Anything else → 404.
 */
export async function loadOrgDelivery(db: SqlExecutor, principal: Principal, deliveryId: string): Promise<DeliveryRow> {
  if (principal.role === 'requester' || principal.organizationId === null) throw errors.notFound('No such delivery');
  const [row] = await db.query<DeliveryRow & { assignee_type: string | null; assignee_id: string | null }>(
    sql(
      `SELECT ${DELIVERY_COLUMNS}, r.assignee_type, r.assignee_id
       FROM deliveries d JOIN requests r ON r.id = d.request_id
       WHERE d.id = @id AND d.organization_id = @organizationId`,
      { id: p.text(deliveryId), organizationId: p.text(principal.organizationId) },
    ),
  );
  if (!row || (row.created_by !== principal.subject && !isAssignee(principal, row.assignee_type, row.assignee_id))) {
    throw errors.notFound('No such delivery');
  }
  return row;
}

/** A requester's own delivery, once released (drafts do not exist for them). */
async function loadRequesterDelivery(db: SqlExecutor, principal: Principal, deliveryId: string): Promise<DeliveryRow> {
  const [row] = await db.query<DeliveryRow>(
    sql(`SELECT ${DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = @id AND d.requester_id = @requesterId AND ${SEEN_BY_REQUESTER}`, {
      id: p.text(deliveryId),
      requesterId: p.text(principal.subject),
    }),
  );
  if (!row) throw errors.notFound('No such delivery');
  return row;
}

export async function getDelivery(services: Services, principal: Principal, deliveryId: string): Promise<DeliveryView> {
  const { store } = services;
  const requesterSide = principal.role === 'requester';
  const row = requesterSide ? await loadRequesterDelivery(store, principal, deliveryId) : await loadOrgDelivery(store, principal, deliveryId);
  const cipher = await services.keyHierarchy.columnCipher();
  const nowMs = services.clock.now().getTime();
  const expired = isExpired(row, nowMs);
  const view: DeliveryView = {
    id: row.id,
    requestId: row.request_id,
    organizationId: row.organization_id,
    title: cipher.decrypt(row.title, TITLE_CONTEXT),
    status: row.status,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    releasedAt: row.released_at === null ? null : new Date(Number(row.released_at)).toISOString(),
    expiresAt: row.expires_at === null ? null : new Date(Number(row.expires_at)).toISOString(),
    expired,
    daysLeft: row.expires_at === null ? null : daysLeft(Number(row.expires_at), nowMs),
    items: expired ? [] : await listItems(store, cipher, row.id),
  };
  if (requesterSide) return view;
  return { ...view, downloaded: row.status === 'draft' ? false : await wasDownloaded(store, row) };
}

async function listItems(db: SqlExecutor, cipher: ColumnCipher, deliveryId: string): Promise<DeliveryItemView[]> {
  const rows = await db.query<{ id: string; name: Buffer; size: number; content_type: string; sha256: string }>(
    sql(
      `SELECT id, name, size, content_type, sha256 FROM delivery_items
       WHERE delivery_id = @id AND destroyed_at IS NULL ORDER BY created_at, id`,
      { id: p.text(deliveryId) },
    ),
  );
  return rows.map((row) => ({
    id: row.id,
    name: cipher.decrypt(row.name, ITEM_NAME_CONTEXT),
    size: Number(row.size),
    contentType: row.content_type,
    sha256: row.sha256,
  }));
}

/**
 * Whether the requester has read anything, from the requester's own audit chain. The organization gets this one
 * bit: not which item, not when, not how often.
 */
async function wasDownloaded(db: SqlExecutor, row: DeliveryRow): Promise<boolean> {
  const [found] = await db.query<{ n: number }>(
    sql(
      `SELECT COUNT(*) AS n FROM audit_events
       WHERE chain = @chain AND action = 'delivery.item.downloaded' AND target_type = 'delivery' AND target_id = @id`,
      { chain: p.text(requesterChain(row.requester_id)), id: p.text(row.id) },
    ),
  );
  return Number(found?.n ?? 0) > 0;
}

/** Cursor keys of the inbox: `<releasedAt ms>.<id>`, newest first. */
export const INBOX_CURSOR_KEY = /^\d{1,16}\.[A-Za-z0-9_-]{1,200}$/;

/** The requester's inbox: released (and purged) deliveries, newest first, with how long each stays readable. */
export async function listInbox(services: Services, principal: Principal, page: Page): Promise<{ items: InboxEntry[]; nextCursor: string | null }> {
  const { store } = services;
  const conditions = ['d.requester_id = @requesterId', SEEN_BY_REQUESTER];
  const params: Record<string, SqlParam> = { requesterId: p.text(principal.subject), limit: p.int(page.limit + 1) };
  if (page.after !== null) {
    const dot = page.after.indexOf('.');
    conditions.push('(d.released_at < @afterReleasedAt OR (d.released_at = @afterReleasedAt AND d.id < @afterId))');
    params.afterReleasedAt = p.bigint(Number(page.after.slice(0, dot)));
    params.afterId = p.text(page.after.slice(dot + 1));
  }
  const rows = await store.query<DeliveryRow & { organization_name: string }>(
    sql(
      `SELECT ${DELIVERY_COLUMNS}, o.name AS organization_name
       FROM deliveries d JOIN organizations o ON o.id = d.organization_id
       WHERE ${conditions.join(' AND ')}
       ORDER BY d.released_at DESC, d.id DESC${limitClause(store.dialect)}`,
      params,
    ),
  );
  const cipher = await services.keyHierarchy.columnCipher();
  const nowMs = services.clock.now().getTime();
  const entries = rows.map(
    (row): InboxEntry & { cursorKey: string } => ({
      id: row.id,
      requestId: row.request_id,
      organizationId: row.organization_id,
      organizationName: row.organization_name,
      title: cipher.decrypt(row.title, TITLE_CONTEXT),
      status: row.status as InboxEntry['status'],
      releasedAt: new Date(Number(row.released_at)).toISOString(),
      expiresAt: new Date(Number(row.expires_at)).toISOString(),
      expired: isExpired(row, nowMs),
      daysLeft: daysLeft(Number(row.expires_at), nowMs),
      cursorKey: `${Number(row.released_at)}.${row.id}`,
    }),
  );
  const { items, nextCursor } = toPage(entries, page.limit, (entry) => entry.cursorKey);
  return { items: items.map(({ cursorKey: _cursorKey, ...entry }) => entry), nextCursor };
}

/** Whole days left, rounded up: 32 right after release, 1 on the last day, 0 once expired. */
function daysLeft(expiresAtMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((expiresAtMs - nowMs) / DAY_IN_MS));
}
