/**
 * Brute-force counters (DESIGN §5 "Brute force"), shared by every instance because they live in the database.
 * `subject` is a keyed hash with a kind prefix (see throttle.ts), never an email or an IP address.
 */
import type { Migration } from '../../adapters/sql/migrations';

export const throttleMigration: Migration = {
  version: 4,
  name: 'throttle',
  up: (d) => [
    `CREATE TABLE throttle_counters (
      subject ${d.key} NOT NULL,
      failures ${d.int} NOT NULL,
      first_failure_at ${d.bigint} NOT NULL,
      last_failure_at ${d.bigint} NOT NULL,
      blocked_until ${d.bigint} NULL,
      lockout_notified_at ${d.bigint} NULL,
      CONSTRAINT pk_throttle_counters PRIMARY KEY (subject)
    )`,
    // The sweep deletes by age; without this it would scan the table on every purge run.
    'CREATE INDEX ix_throttle_counters_last_failure_at ON throttle_counters (last_failure_at)',
  ],
};
