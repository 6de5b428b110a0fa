/**
 * The audit log's tables (registered in lib/adapters/sql/migrations.ts). See audit.ts for how rows are chained.
 *
 * audit_chains holds one head per chain: the last sequence number and MAC, plus head_mac, a MAC over the head
 * itself. Without head_mac, someone who deletes the newest events could rewind the head to an older event's
 * (seq, mac), which are readable in that event's row, and the truncation would go unnoticed.
 */
import type { Migration } from '../../adapters/sql/migrations';

export const auditMigration: Migration = {
  version: 3,
  name: 'audit',
  up: (d) => [
    `CREATE TABLE audit_chains (
      chain ${d.key} NOT NULL,
      last_seq ${d.bigint} NOT NULL,
      last_mac ${d.key} NOT NULL,
      head_mac ${d.key} NOT NULL,
      CONSTRAINT pk_audit_chains PRIMARY KEY (chain)
    )`,
    // details is column-encrypted JSON (DESIGN §4): it may name people. Every other column is an id or a code.
    `CREATE TABLE audit_events (
      chain ${d.key} NOT NULL,
      seq ${d.bigint} NOT NULL,
      id ${d.key} NOT NULL,
      occurred_at ${d.bigint} NOT NULL,
      actor_type ${d.key} NOT NULL,
      actor_id ${d.key} NULL,
      action ${d.key} NOT NULL,
      target_type ${d.key} NULL,
      target_id ${d.key} NULL,
      details ${d.blob} NULL,
      prev_mac ${d.key} NOT NULL,
      mac ${d.key} NOT NULL,
      CONSTRAINT pk_audit_events PRIMARY KEY (chain, seq),
      CONSTRAINT ux_audit_events_id UNIQUE (id)
    )`,
    // Time-range filters of GET /v1/organizations/{orgId}/audit; paging and verification use the primary key.
    'CREATE INDEX ix_audit_events_chain_occurred_at ON audit_events (chain, occurred_at)',
  ],
};
