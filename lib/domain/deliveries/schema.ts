import type { Migration } from '../../adapters/sql/migrations';

/**
 * Deliveries and their items. Item bytes live encrypted in the organization's blob container; the row keeps the
 * item's data key wrapped by the organization KEK (destroying it crypto-shreds every copy of the blob).
 * `pending_uploads` records a blob before it is written, so a crash between blob and row leaves a trace the purge
 * can sweep, instead of an orphan nobody knows about.
 */
export const deliveriesMigration: Migration = {
  version: 7,
  name: 'deliveries',
  up: (d) => [
    `CREATE TABLE deliveries (
      id ${d.key} NOT NULL,
      request_id ${d.key} NOT NULL,
      organization_id ${d.key} NOT NULL,
      requester_id ${d.key} NOT NULL,
      status ${d.key} NOT NULL,
      title ${d.blob} NOT NULL,
      created_by ${d.key} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      released_at ${d.bigint} NULL,
      expires_at ${d.bigint} NULL,
      purged_at ${d.bigint} NULL,
      deletion_receipt ${d.blob} NULL,
      CONSTRAINT pk_deliveries PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_deliveries_request_id ON deliveries (request_id)',
    'CREATE INDEX ix_deliveries_requester_id_released_at ON deliveries (requester_id, released_at)',
    'CREATE INDEX ix_deliveries_status_expires_at ON deliveries (status, expires_at)',
    `CREATE TABLE delivery_items (
      id ${d.key} NOT NULL,
      delivery_id ${d.key} NOT NULL,
      organization_id ${d.key} NOT NULL,
      name ${d.blob} NOT NULL,
      name_index ${d.key} NOT NULL,
      content_type ${d.varchar(200)} NOT NULL,
      size ${d.bigint} NOT NULL,
      sha256 ${d.key} NOT NULL,
      blob_name ${d.key} NOT NULL,
      wrapped_dek ${d.blob} NULL,
      created_at ${d.bigint} NOT NULL,
      destroyed_at ${d.bigint} NULL,
      CONSTRAINT pk_delivery_items PRIMARY KEY (id)
    )`,
    'CREATE UNIQUE INDEX ux_delivery_items_delivery_id_name_index ON delivery_items (delivery_id, name_index)',
    `CREATE TABLE pending_uploads (
      blob_name ${d.key} NOT NULL,
      organization_id ${d.key} NOT NULL,
      started_at ${d.bigint} NOT NULL,
      CONSTRAINT pk_pending_uploads PRIMARY KEY (blob_name)
    )`,
    'CREATE INDEX ix_pending_uploads_started_at ON pending_uploads (started_at)',
  ],
};

/** The orphan-upload sweep asks, per pending upload, whether an item already owns its blob. */
export const deliveryItemBlobIndexMigration: Migration = {
  version: 10,
  name: 'delivery_items_blob_name_index',
  up: () => ['CREATE INDEX ix_delivery_items_blob_name ON delivery_items (blob_name)'],
};
