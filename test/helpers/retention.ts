/**
 * Released deliveries made directly with SQL, with what the product stores for them: real encrypted blobs in the
 * organization's container and real data keys wrapped by the organization KEK. The purge tests use these so they
 * do not depend on the delivery endpoints.
 */
import { Readable } from 'node:stream';
import { p, sql } from '../../lib/adapters/sql/params';
import type { Services } from '../../lib/app/services';
import { createEncryptStream } from '../../lib/crypto/streamFormat';
import { containerOf } from '../../lib/domain/organizations/organizations';

export const HOUR_IN_MS = 3_600_000;
export const DAY_IN_MS = 24 * HOUR_IN_MS;
export const RETENTION_IN_MS = 32 * DAY_IN_MS;

export async function seedOrganization(services: Services): Promise<string> {
  const organizationId = services.random.id();
  await services.store.execute(
    sql('INSERT INTO organizations (id, name, created_at) VALUES (@id, @name, @now)', {
      id: p.text(organizationId),
      name: p.text(`Org ${organizationId.slice(0, 6)}`),
      now: p.bigint(services.clock.now().getTime()),
    }),
  );
  await services.keyHierarchy.createOrganizationKek(organizationId);
  await services.blobs.createContainer(containerOf(organizationId));
  return organizationId;
}

export interface SeededItem {
  readonly id: string;
  readonly blobName: string;
}

export interface SeededDelivery {
  readonly id: string;
  readonly requestId: string;
  readonly organizationId: string;
  readonly requesterId: string;
  readonly releasedAt: number;
  readonly expiresAt: number;
  readonly items: readonly SeededItem[];
}

/** A delivery released `releasedAt` (default: now), expiring 32 days later, with one encrypted blob per item. */
export async function seedReleasedDelivery(
  services: Services,
  input: { organizationId: string; requesterId?: string; releasedAt?: number; expiresAt?: number; items?: readonly string[] },
): Promise<SeededDelivery> {
  const { store, random, keyHierarchy, blobs } = services;
  const cipher = await keyHierarchy.columnCipher();
  const releasedAt = input.releasedAt ?? services.clock.now().getTime();
  const delivery = {
    id: random.id(),
    requestId: random.id(),
    organizationId: input.organizationId,
    requesterId: input.requesterId ?? random.id(),
    releasedAt,
    expiresAt: input.expiresAt ?? releasedAt + RETENTION_IN_MS,
  };
  const items: SeededItem[] = [];
  for (const content of input.items ?? ['first item']) {
    const item = { id: random.id(), blobName: random.id() };
    const { key, wrapped } = await keyHierarchy.newItemKey(delivery.organizationId);
    await blobs.upload(containerOf(delivery.organizationId), item.blobName, Readable.from([Buffer.from(content)]).pipe(createEncryptStream(key, random)));
    await store.execute(
      sql(
        `INSERT INTO delivery_items (id, delivery_id, organization_id, name, name_index, content_type, size, sha256, blob_name, wrapped_dek, created_at, destroyed_at)
         VALUES (@id, @deliveryId, @organizationId, @name, @nameIndex, 'text/plain', @size, @sha256, @blobName, @wrappedDek, @now, NULL)`,
        {
          id: p.text(item.id),
          deliveryId: p.text(delivery.id),
          organizationId: p.text(delivery.organizationId),
          // The contexts lib/domain/deliveries uses for these columns.
          name: p.blob(cipher.encrypt(`${item.id}.txt`, 'delivery_items.name')),
          nameIndex: p.text(cipher.blindIndex(`${delivery.id}\u0000${item.id}.txt`, 'delivery_items.name')),
          size: p.bigint(content.length),
          sha256: p.text('0'.repeat(64)),
          blobName: p.text(item.blobName),
          wrappedDek: p.blob(wrapped),
          now: p.bigint(releasedAt),
        },
      ),
    );
    items.push(item);
  }
  await store.execute(
    sql(
      `INSERT INTO deliveries (id, request_id, organization_id, requester_id, status, title, created_by, created_at, released_at, expires_at, purged_at, deletion_receipt)
       VALUES (@id, @requestId, @organizationId, @requesterId, 'released', @title, @createdBy, @releasedAt, @releasedAt, @expiresAt, NULL, NULL)`,
      {
        id: p.text(delivery.id),
        requestId: p.text(delivery.requestId),
        organizationId: p.text(delivery.organizationId),
        requesterId: p.text(delivery.requesterId),
        title: p.blob(cipher.encrypt('Your data', 'deliveries.title')),
        createdBy: p.text(random.id()),
        releasedAt: p.bigint(releasedAt),
        expiresAt: p.bigint(delivery.expiresAt),
      },
    ),
  );
  return { ...delivery, items };
}

export interface DeliveryState {
  readonly status: string;
  readonly purgedAt: number | null;
  readonly hasReceipt: boolean;
  /** Per item: whether its wrapped data key is still there, and whether its blob is. */
  readonly items: readonly { readonly hasKey: boolean; readonly destroyedAt: number | null; readonly hasBlob: boolean }[];
}

export async function deliveryState(services: Services, delivery: SeededDelivery): Promise<DeliveryState> {
  const [row] = await services.store.query<{ status: string; purged_at: number | null; deletion_receipt: Uint8Array | null }>(
    sql('SELECT status, purged_at, deletion_receipt FROM deliveries WHERE id = @id', { id: p.text(delivery.id) }),
  );
  if (!row) throw new Error(`no delivery ${delivery.id}`);
  const items = [];
  for (const item of delivery.items) {
    const [itemRow] = await services.store.query<{ wrapped_dek: Uint8Array | null; destroyed_at: number | null }>(
      sql('SELECT wrapped_dek, destroyed_at FROM delivery_items WHERE id = @id', { id: p.text(item.id) }),
    );
    const blob = await services.blobs.getProperties(containerOf(delivery.organizationId), item.blobName);
    items.push({
      hasKey: itemRow?.wrapped_dek !== null && itemRow?.wrapped_dek !== undefined,
      destroyedAt: itemRow?.destroyed_at === null || itemRow?.destroyed_at === undefined ? null : Number(itemRow.destroyed_at),
      hasBlob: blob !== null,
    });
  }
  return {
    status: row.status,
    purgedAt: row.purged_at === null ? null : Number(row.purged_at),
    hasReceipt: row.deletion_receipt !== null,
    items,
  };
}

/** What an untouched released delivery with `count` items looks like. */
export function untouched(count: number): DeliveryState {
  return { status: 'released', purgedAt: null, hasReceipt: false, items: Array.from({ length: count }, () => ({ hasKey: true, destroyedAt: null, hasBlob: true })) };
}

/** What a purged delivery with `count` items looks like, purged (and its keys destroyed) at `at`. */
export function purged(count: number, at: number): DeliveryState {
  return { status: 'purged', purgedAt: at, hasReceipt: true, items: Array.from({ length: count }, () => ({ hasKey: false, destroyedAt: at, hasBlob: false })) };
}
