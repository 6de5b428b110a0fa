/**
 * The retention purge (DESIGN §2, §4, §8), run hourly by functions/purgeExpired.ts and on demand by
 * `npx connectid purge`. Access already ends exactly at expiresAt (reads check it); the purge makes the data
 * unrecoverable and reclaims storage, and leaves the requester a signed deletion receipt.
 *
 * Per batch of released deliveries whose expiresAt has passed, oldest first:
 *
 *   (a) one statement destroys their items' wrapped data keys (crypto-shredding: from this commit on no copy
 *       of the ciphertext — snapshot, backup, soft-deleted blob — can be decrypted);
 *   (b) their blobs are deleted (idempotent);
 *   (c) one transaction marks each delivery purged, stores its signed deletion receipt (column-encrypted) and
 *       appends `delivery.purged`, with the receipt, to the requester's audit chain.
 *
 * Every step is idempotent and selected by state, not remembered: a run cut off anywhere leaves deliveries
 * `released` and expired (with some keys already destroyed), and the next run redoes (b) and (c) for them.
 * (c) only changes a delivery still `released`, so two overlapping runs write one receipt per delivery.
 *
 * It also sweeps what expires on its own: orphaned uploads (blob + bookkeeping row), one-time tokens, sessions
 * with their refresh tokens, MFA challenges, idempotency records and quiet throttle counters.
 */
import { performance } from 'node:perf_hooks';
import { dialectFor } from '../../adapters/sql/dialect';
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { SqlExecutor, SqlParam } from '../../ports';
import { appendAudit, requesterChain } from '../audit/audit';
import { sweepMfaChallenges } from '../mfa/challenges';
import { containerOf } from '../organizations/organizations';
import { sweepThrottle } from '../throttle/throttle';
import { signJws } from '../tokens/accessTokens';
import type { DeletionReceiptPayload } from './deletionReceipts';

export interface PurgeOptions {
  /** Expired deliveries handled per batch. Default 200. */
  readonly batchSize?: number;
  /**
   * Stop starting new batches after this long; the next run continues. Default 9 minutes, under the
   * Functions timeout of 10, so a run ends on its own rather than being killed.
   */
  readonly maxDurationInMs?: number;
  /** Stops the run between batches (e.g. the host shutting down). */
  readonly signal?: AbortSignal;
  /** Blob deletions in flight at once. Default 32. */
  readonly blobConcurrency?: number;
}

export interface PurgeReport {
  readonly deliveriesPurged: number;
  /** Drafts nobody submitted within a week, now abandoned (their items are shredded with the others). */
  readonly draftsAbandoned: number;
  /** Items whose wrapped data key this run destroyed. */
  readonly itemsShredded: number;
  /** Item blobs this run deleted (or found already gone). */
  readonly blobsDeleted: number;
  /** Blobs of uploads that never became an item, deleted after a day. */
  readonly orphanBlobsDeleted: number;
  readonly tokensSwept: number;
  readonly sessionsSwept: number;
  readonly challengesSwept: number;
  readonly throttleSwept: number;
  readonly idempotencySwept: number;
  /** false when the run stopped early (time, signal) with work left for the next run. */
  readonly complete: boolean;
}

export const DELETION_RECEIPT_CONTEXT = 'deliveries.deletion_receipt';
export const DELETION_METHOD = 'crypto-shredding (data keys destroyed) + blob deletion';
/** An upload still pending after this long was abandoned (a crash between blob and row); no upload runs a day. */
export const ORPHAN_UPLOAD_AGE_IN_MS = 24 * 3600 * 1000;
/** Used one-time tokens are kept a day, then swept. */
export const USED_TOKEN_RETENTION_IN_MS = 24 * 3600 * 1000;
/** Idempotency-Key replays are honoured for a day (the window clients are told to retry within). */
export const IDEMPOTENCY_RETENTION_IN_MS = 24 * 3600 * 1000;
/** A draft nobody submitted within a week is abandoned: its items were never visible to anyone but their org. */
export const DRAFT_RETENTION_IN_MS = 7 * 24 * 3600 * 1000;

const DEFAULT_BATCH_SIZE = 200;
const DEFAULT_MAX_DURATION_IN_MS = 9 * 60 * 1000;
const DEFAULT_BLOB_CONCURRENCY = 32;
// SQL Server accepts at most 2,100 parameters per statement; the IN lists below stay far under it.
const MAX_BATCH_SIZE = 1000;

type Counts = { -readonly [K in keyof PurgeReport]: PurgeReport[K] };

export async function purgeExpired(services: Services, options: PurgeOptions = {}): Promise<PurgeReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}`);
  }
  const blobConcurrency = options.blobConcurrency ?? DEFAULT_BLOB_CONCURRENCY;
  if (!Number.isInteger(blobConcurrency) || blobConcurrency < 1) throw new RangeError('blobConcurrency must be a positive integer');
  // Real elapsed time, not services.clock: the limit is the host's timeout, which a frozen test clock does not stop.
  const deadline = performance.now() + (options.maxDurationInMs ?? DEFAULT_MAX_DURATION_IN_MS);
  const mayContinue = () => performance.now() < deadline && !options.signal?.aborted;

  // Audit entries are appended inside transactions, where the column key can no longer be loaded.
  await services.keyHierarchy.columnCipher();

  const counts: Counts = {
    deliveriesPurged: 0,
    draftsAbandoned: 0,
    itemsShredded: 0,
    blobsDeleted: 0,
    orphanBlobsDeleted: 0,
    ...(await sweepExpiredRecords(services)),
    complete: false,
  };

  let deliveriesLeft = true;
  while (deliveriesLeft && mayContinue()) {
    const batch = await dueDeliveries(services, batchSize);
    if (batch.length > 0) {
      const done = await purgeBatch(services, batch, blobConcurrency);
      counts.deliveriesPurged += done.deliveriesPurged;
      counts.itemsShredded += done.itemsShredded;
      counts.blobsDeleted += done.blobsDeleted;
    }
    deliveriesLeft = batch.length === batchSize;
  }

  let draftsLeft = !deliveriesLeft;
  while (draftsLeft && mayContinue()) {
    const swept = await sweepAbandonedDrafts(services, batchSize, blobConcurrency);
    counts.draftsAbandoned += swept.drafts;
    counts.itemsShredded += swept.items;
    counts.blobsDeleted += swept.items;
    draftsLeft = swept.items === batchSize;
  }

  let orphansLeft = true;
  while (!deliveriesLeft && !draftsLeft && orphansLeft && mayContinue()) {
    const swept = await sweepOrphanUploads(services, batchSize, blobConcurrency);
    counts.orphanBlobsDeleted += swept.blobsDeleted;
    orphansLeft = swept.rows === batchSize;
  }

  counts.complete = !deliveriesLeft && !draftsLeft && !orphansLeft;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Abandoned drafts

/**
 * Marks drafts older than DRAFT_RETENTION_IN_MS abandoned (an upload committing later finds no draft and is
 * refused), then shreds and deletes their items one batch at a time.
 */
async function sweepAbandonedDrafts(services: Services, batchSize: number, blobConcurrency: number): Promise<{ drafts: number; items: number }> {
  const { store, clock } = services;
  const now = clock.now().getTime();
  const abandoned = await store.execute(
    sql(`UPDATE deliveries SET status = @abandoned, purged_at = @now WHERE status = 'draft' AND created_at <= @cutoff`, {
      abandoned: p.text(ABANDONED),
      now: p.bigint(now),
      cutoff: p.bigint(now - DRAFT_RETENTION_IN_MS),
    }),
  );
  const items = await store.query<{ id: string; organization_id: string; blob_name: string }>(
    sql(
      `SELECT i.id, i.organization_id, i.blob_name FROM delivery_items i JOIN deliveries d ON d.id = i.delivery_id
       WHERE d.status = @abandoned AND i.destroyed_at IS NULL ORDER BY i.id${limitClause(services)}`,
      { abandoned: p.text(ABANDONED), limit: p.int(batchSize) },
    ),
  );
  if (items.length > 0) {
    const { placeholders, params } = inList('i', items.map((item) => item.id));
    // Keys first: from this commit on, no copy of these blobs is readable; then the storage is reclaimed.
    await store.execute(sql(`UPDATE delivery_items SET wrapped_dek = NULL, destroyed_at = @now WHERE id IN (${placeholders})`, { ...params, now: p.bigint(now) }));
    await forEachConcurrently(items, blobConcurrency, (item) => services.blobs.delete(containerOf(item.organization_id), item.blob_name));
  }
  return { drafts: abandoned.rowsAffected, items: items.length };
}

// ---------------------------------------------------------------------------------------------
// Expired deliveries

type DeliveryRow = {
  id: string;
  request_id: string;
  organization_id: string;
  requester_id: string;
  released_at: number | null;
  expires_at: number;
};

type ItemRow = {
  delivery_id: string;
  organization_id: string;
  blob_name: string;
  destroyed_at: number | null;
};

// The only statuses this module reads or writes; deliveries own the rest of the lifecycle.
const RELEASED = 'released';
const PURGED = 'purged';
const ABANDONED = 'abandoned';

async function dueDeliveries(services: Services, batchSize: number): Promise<DeliveryRow[]> {
  const { store, clock } = services;
  const rows = await store.query<DeliveryRow>(
    sql(
      `SELECT id, request_id, organization_id, requester_id, released_at, expires_at FROM deliveries
       WHERE status = @released AND expires_at <= @now ORDER BY expires_at${limitClause(services)}`,
      { released: p.text(RELEASED), now: p.bigint(clock.now().getTime()), limit: p.int(batchSize) },
    ),
  );
  return rows.map((row) => ({ ...row, released_at: row.released_at === null ? null : Number(row.released_at), expires_at: Number(row.expires_at) }));
}

async function purgeBatch(
  services: Services,
  batch: readonly DeliveryRow[],
  blobConcurrency: number,
): Promise<{ deliveriesPurged: number; itemsShredded: number; blobsDeleted: number }> {
  const { store, clock } = services;
  const now = clock.now().getTime();
  const { placeholders, params } = inList('d', batch.map((delivery) => delivery.id));

  // (a) The status and expiry are checked again in the statement itself, so nothing not yet due is shredded
  // whatever happened since the batch was read; COALESCE keeps the time of an earlier, interrupted run. (The
  // correlated EXISTS looks each delivery up by its key; an IN (subquery) would walk every expired delivery.)
  const shredded = await store.execute(
    sql(
      `UPDATE delivery_items SET wrapped_dek = NULL, destroyed_at = COALESCE(destroyed_at, @now)
       WHERE delivery_id IN (${placeholders}) AND (wrapped_dek IS NOT NULL OR destroyed_at IS NULL)
         AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = delivery_items.delivery_id AND d.status = @released AND d.expires_at <= @now)`,
      { ...params, now: p.bigint(now), released: p.text(RELEASED) },
    ),
  );

  // (b)
  const items = await store.query<ItemRow>(
    sql(`SELECT delivery_id, organization_id, blob_name, destroyed_at FROM delivery_items WHERE delivery_id IN (${placeholders})`, params),
  );
  await forEachConcurrently(items, blobConcurrency, (item) => services.blobs.delete(containerOf(item.organization_id), item.blob_name));

  // (c) Signing reads the signing keys through the store, so every receipt is signed before the transaction opens.
  const cipher = await services.keyHierarchy.columnCipher();
  const itemsOf = new Map<string, ItemRow[]>();
  for (const item of items) {
    const own = itemsOf.get(item.delivery_id);
    if (own) own.push(item);
    else itemsOf.set(item.delivery_id, [item]);
  }
  const receipts = await Promise.all(
    batch.map(async (delivery) => {
      const own = itemsOf.get(delivery.id) ?? [];
      const receipt = await signJws(services.signingKeys, deletionReceipt(delivery, own, now));
      return { delivery, receipt, itemCount: own.length };
    }),
  );
  // One fixed order of audit chains, so two transactions appending to several chains cannot deadlock (SQL Server).
  receipts.sort((a, b) => compare(a.delivery.requester_id, b.delivery.requester_id) || compare(a.delivery.id, b.delivery.id));
  const deliveriesPurged = await store.transaction(async (tx) => {
    let purged = 0;
    for (const { delivery, receipt, itemCount } of receipts) {
      if (await markPurged(tx, services, delivery, receipt, cipher.encrypt(receipt, DELETION_RECEIPT_CONTEXT), itemCount, now)) purged++;
    }
    return purged;
  });
  return { deliveriesPurged, itemsShredded: shredded.rowsAffected, blobsDeleted: items.length };
}

/** The receipt's claims (DESIGN §2: "receipt + audit written"). Ids only: the requester is named by opaque id. */
function deletionReceipt(delivery: DeliveryRow, items: readonly ItemRow[], now: number): DeletionReceiptPayload {
  const destroyedAt = items.reduce((latest, item) => Math.max(latest, Number(item.destroyed_at ?? now)), 0);
  return {
    receiptType: 'deletion',
    deliveryId: delivery.id,
    requestId: delivery.request_id,
    organizationId: delivery.organization_id,
    requesterId: delivery.requester_id,
    items: items.length,
    releasedAt: delivery.released_at === null ? null : iso(delivery.released_at),
    expiresAt: iso(delivery.expires_at),
    // A delivery without items had nothing to shred: its keys are "destroyed" when it is purged.
    destroyedAt: iso(items.length > 0 ? destroyedAt : now),
    purgedAt: iso(now),
    method: DELETION_METHOD,
  };
}

/** false when the delivery is no longer `released`: another run purged it first, and wrote its receipt. */
async function markPurged(
  tx: SqlExecutor,
  services: Services,
  delivery: DeliveryRow,
  receipt: string,
  sealedReceipt: Buffer,
  itemCount: number,
  now: number,
): Promise<boolean> {
  const updated = await tx.execute(
    sql(
      `UPDATE deliveries SET status = @purged, purged_at = @now, deletion_receipt = @receipt
       WHERE id = @id AND status = @released AND expires_at <= @now`,
      { id: p.text(delivery.id), purged: p.text(PURGED), released: p.text(RELEASED), now: p.bigint(now), receipt: p.blob(sealedReceipt) },
    ),
  );
  if (updated.rowsAffected === 0) return false;
  await appendAudit(tx, services, {
    chain: requesterChain(delivery.requester_id),
    action: 'delivery.purged',
    actor: { type: 'system', id: null },
    target: { type: 'delivery', id: delivery.id },
    details: { requestId: delivery.request_id, organizationId: delivery.organization_id, items: itemCount, receipt },
  });
  return true;
}

/** The signed deletion receipt (a compact JWS) of a purged delivery; null when it has none. */
export async function readDeletionReceipt(services: Services, deliveryId: string): Promise<string | null> {
  const [row] = await services.store.query<{ deletion_receipt: Uint8Array | null }>(
    sql('SELECT deletion_receipt FROM deliveries WHERE id = @id', { id: p.text(deliveryId) }),
  );
  if (!row?.deletion_receipt) return null;
  return (await services.keyHierarchy.columnCipher()).decrypt(row.deletion_receipt, DELETION_RECEIPT_CONTEXT);
}

// ---------------------------------------------------------------------------------------------
// Sweeps

type SweepCounts = Pick<PurgeReport, 'tokensSwept' | 'sessionsSwept' | 'challengesSwept' | 'throttleSwept' | 'idempotencySwept'>;

/** Each sweep is one or two statements over rows that only expire; none of them touches delivered data. */
async function sweepExpiredRecords(services: Services): Promise<SweepCounts> {
  const { store, clock } = services;
  const now = clock.now().getTime();

  const tokens = await store.execute(
    sql('DELETE FROM one_time_tokens WHERE expires_at <= @now OR used_at <= @usedBefore', {
      now: p.bigint(now),
      usedBefore: p.bigint(now - USED_TOKEN_RETENTION_IN_MS),
    }),
  );

  // A session past either expiry can never be refreshed again, and the authenticator already refuses its tokens.
  const sessionsSwept = await store.transaction(async (tx) => {
    const ended = 'SELECT id FROM sessions WHERE idle_expires_at <= @now OR absolute_expires_at <= @now';
    await tx.execute(sql(`DELETE FROM refresh_tokens WHERE session_id IN (${ended})`, { now: p.bigint(now) }));
    return (await tx.execute(sql('DELETE FROM sessions WHERE idle_expires_at <= @now OR absolute_expires_at <= @now', { now: p.bigint(now) })))
      .rowsAffected;
  });

  const challengesSwept = await sweepMfaChallenges(store, now);

  const idempotency = await store.execute(
    sql('DELETE FROM idempotency_keys WHERE created_at <= @before', { before: p.bigint(now - IDEMPOTENCY_RETENTION_IN_MS) }),
  );

  const throttleSwept = await sweepThrottle(store, clock);

  return { tokensSwept: tokens.rowsAffected, sessionsSwept, challengesSwept, throttleSwept, idempotencySwept: idempotency.rowsAffected };
}

type PendingUploadRow = { blob_name: string; organization_id: string };

/**
 * pending_uploads rows a day old: the upload never became an item (or the row outlived its item's insert).
 * A blob that an item refers to is never deleted here: only the stale row goes.
 */
async function sweepOrphanUploads(services: Services, batchSize: number, blobConcurrency: number): Promise<{ rows: number; blobsDeleted: number }> {
  const { store, clock } = services;
  const rows = await store.query<PendingUploadRow>(
    sql(`SELECT blob_name, organization_id FROM pending_uploads WHERE started_at <= @before ORDER BY started_at${limitClause(services)}`, {
      before: p.bigint(clock.now().getTime() - ORPHAN_UPLOAD_AGE_IN_MS),
      limit: p.int(batchSize),
    }),
  );
  if (rows.length === 0) return { rows: 0, blobsDeleted: 0 };
  const { placeholders, params } = inList('b', rows.map((row) => row.blob_name));
  // One look-up per batch: delivery_items has no index on blob_name, so a look-up per row would scan it per row.
  const items = await store.query<{ blob_name: string; organization_id: string }>(
    sql(`SELECT blob_name, organization_id FROM delivery_items WHERE blob_name IN (${placeholders})`, params),
  );
  const kept = new Set(items.map((item) => `${item.organization_id}/${item.blob_name}`));
  const orphans = rows.filter((row) => !kept.has(`${row.organization_id}/${row.blob_name}`));
  // Blob first, row second: a crash in between leaves the row, and the next run deletes the (missing) blob again.
  await forEachConcurrently(orphans, blobConcurrency, (row) => services.blobs.delete(containerOf(row.organization_id), row.blob_name));
  await store.execute(sql(`DELETE FROM pending_uploads WHERE blob_name IN (${placeholders})`, params));
  return { rows: rows.length, blobsDeleted: orphans.length };
}

// ---------------------------------------------------------------------------------------------

/**
 * Runs `work` over `items` with at most `limit` in flight. On the first failure no new work starts, and the
 * failure is thrown only once the work in flight has settled, so nothing runs on after the purge returns.
 */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

/** `@d0, @d1, …` and their parameters: only placeholders are generated, values travel as parameters. */
function inList(prefix: string, values: readonly string[]): { placeholders: string; params: Record<string, SqlParam> } {
  const params: Record<string, SqlParam> = {};
  values.forEach((value, index) => (params[`${prefix}${index}`] = p.text(value)));
  return { placeholders: values.map((_, index) => `@${prefix}${index}`).join(', '), params };
}

function limitClause(services: Services): string {
  return dialectFor(services.store.dialect).limit('limit');
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
