import type { Migration } from '../../adapters/sql/migrations';

/**
 * Requests and their consent. Free text (purpose, message, decline reason) and the signed consent receipt are
 * column-encrypted: they describe a person's dealings with an organization. Category codes are not personal.
 */
export const requestsMigration: Migration = {
  version: 6,
  name: 'requests',
  up: (d) => [
    `CREATE TABLE requests (
      id ${d.key} NOT NULL,
      organization_id ${d.key} NOT NULL,
      requester_id ${d.key} NOT NULL,
      status ${d.key} NOT NULL,
      purpose ${d.blob} NOT NULL,
      categories ${d.varchar(1000)} NOT NULL,
      message ${d.blob} NULL,
      assignee_type ${d.key} NULL,
      assignee_id ${d.key} NULL,
      consent_given_at ${d.bigint} NOT NULL,
      consent_expires_at ${d.bigint} NULL,
      consent_withdrawn_at ${d.bigint} NULL,
      declined_at ${d.bigint} NULL,
      decline_reason ${d.blob} NULL,
      consent_receipt ${d.blob} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      updated_at ${d.bigint} NOT NULL,
      CONSTRAINT pk_requests PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_requests_organization_id_created_at ON requests (organization_id, created_at)',
    'CREATE INDEX ix_requests_requester_id_created_at ON requests (requester_id, created_at)',
    'CREATE INDEX ix_requests_assignee_id ON requests (assignee_id)',
  ],
};
