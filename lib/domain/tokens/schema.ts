/**
 * The table behind token signing keys (DESIGN §4: ES256 keys, private half wrapped by the master key).
 * Registered in lib/adapters/sql/migrations.ts with the other migrations.
 *
 *   retired_at     when the key stopped signing (null: it may still sign)
 *   publish_until  when it leaves the JWKS and stops verifying (null: published without end);
 *                  set at retirement to outlive every token and consent receipt it signed (400 days),
 *                  or to the rotation time when the rotation was for a compromised key
 *
 * Times are epoch milliseconds. Rows are kept after they leave the JWKS: the table grows by one row per
 * rotation, and a kid is never reused.
 */
import type { Migration } from '../../adapters/sql/migrations';

export const signingKeysMigration: Migration = {
  version: 5,
  name: 'signing_keys',
  up: (d) => [
    `CREATE TABLE signing_keys (
      kid ${d.key} NOT NULL,
      alg ${d.key} NOT NULL,
      public_jwk ${d.text} NOT NULL,
      wrapped_private ${d.blob} NOT NULL,
      master_key_id ${d.varchar(400)} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      retired_at ${d.bigint} NULL,
      publish_until ${d.bigint} NULL,
      CONSTRAINT pk_signing_keys PRIMARY KEY (kid)
    )`,
  ],
};
