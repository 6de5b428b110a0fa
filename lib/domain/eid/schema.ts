import type { Migration } from '../../adapters/sql/migrations';

/**
 * Third-party eID over OpenID Connect (migration 9).
 *
 *   eid_flows             one authorization request sent to a provider: an enrollment of an eID factor, or the
 *                         answer to a login / step-up challenge. The id is the SHA-256 of the `state` (256 random
 *                         bits, single use); the PKCE verifier is column-encrypted; the nonce is not secret (it
 *                         travels in the browser's URL). The callback sets completed_at once (so a state works
 *                         once), then the outcome (ok | cancelled | failed, with a stable error code), and for a
 *                         login the provider's acr and amr. The MFA grant spends an `ok` flow (used_at).
 *   eid_bindings          which account an eID subject is bound to, by blind index of issuer ‖ sub: the primary key
 *                         keeps one subject on one account, even when two enrollments race.
 *   eid_encryption_keys   our keys for encrypted UserInfo answers (ECDH-ES on P-256, RSA-OAEP): the public JWK as
 *                         published at /.well-known/eid-jwks.json, and the PKCS#8 private key sealed (AES-256-GCM)
 *                         under the eID root key, itself in wrapped_keys (purpose `eid-enc`) wrapped by the master
 *                         key — so `rewrap-keys` covers it with everything else.
 *   verified_identities   the person's last verified identity: provider, subject (blind index), the mapped claims
 *                         (name, birth date, national identifier — column-encrypted) and the assurance level.
 *   sessions.acr          the `acr` of the session's last MFA when it came from an eID provider (NULL = ours).
 *
 * Times are epoch milliseconds.
 */
export const eidMigration: Migration = {
  version: 9,
  name: 'eid',
  up: (d) => [
    `CREATE TABLE eid_flows (
      id ${d.key} NOT NULL,
      purpose ${d.key} NOT NULL,
      user_id ${d.key} NOT NULL,
      factor_id ${d.key} NOT NULL,
      challenge_id ${d.key} NULL,
      provider_id ${d.key} NOT NULL,
      nonce ${d.varchar(200)} NOT NULL,
      code_verifier ${d.blob} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      expires_at ${d.bigint} NOT NULL,
      completed_at ${d.bigint} NULL,
      outcome ${d.key} NULL,
      outcome_error ${d.key} NULL,
      acr ${d.varchar(400)} NULL,
      amr ${d.varchar(400)} NULL,
      used_at ${d.bigint} NULL,
      CONSTRAINT pk_eid_flows PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_eid_flows_challenge_id ON eid_flows (challenge_id)',
    'CREATE INDEX ix_eid_flows_factor_id ON eid_flows (factor_id)',
    'CREATE INDEX ix_eid_flows_user_id ON eid_flows (user_id)',
    'CREATE INDEX ix_eid_flows_expires_at ON eid_flows (expires_at)',
    `CREATE TABLE eid_bindings (
      subject_index ${d.key} NOT NULL,
      user_id ${d.key} NOT NULL,
      factor_id ${d.key} NOT NULL,
      provider_id ${d.key} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      CONSTRAINT pk_eid_bindings PRIMARY KEY (subject_index)
    )`,
    'CREATE INDEX ix_eid_bindings_factor_id ON eid_bindings (factor_id)',
    'CREATE INDEX ix_eid_bindings_user_id ON eid_bindings (user_id)',
    `CREATE TABLE eid_encryption_keys (
      kid ${d.key} NOT NULL,
      kty ${d.key} NOT NULL,
      public_jwk ${d.text} NOT NULL,
      sealed_private ${d.blob} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      retired_at ${d.bigint} NULL,
      CONSTRAINT pk_eid_encryption_keys PRIMARY KEY (kid)
    )`,
    `CREATE TABLE verified_identities (
      user_id ${d.key} NOT NULL,
      provider_id ${d.key} NOT NULL,
      subject_index ${d.key} NOT NULL,
      claims ${d.blob} NOT NULL,
      assurance_level ${d.varchar(200)} NULL,
      verified_at ${d.bigint} NOT NULL,
      CONSTRAINT pk_verified_identities PRIMARY KEY (user_id)
    )`,
    // SQLite and SQL Server both take ALTER TABLE … ADD <column> (COLUMN is optional in SQLite).
    `ALTER TABLE sessions ADD acr ${d.varchar(400)} NULL`,
  ],
};

/**
 * Rotation of the eID encryption keys (migration 11): `publish_until`, when a retired key leaves
 * /.well-known/eid-jwks.json and stops opening UserInfo answers (retired_at + the grace, or the rotation time for a
 * compromised key). A key with retired_at NULL is current; a retired key without publish_until is not used.
 */
export const eidKeyRotationMigration: Migration = {
  version: 11,
  name: 'eid_encryption_keys_rotation',
  up: (d) => [
    // SQLite and SQL Server both take ALTER TABLE … ADD <column> (COLUMN is optional in SQLite).
    `ALTER TABLE eid_encryption_keys ADD publish_until ${d.bigint} NULL`,
  ],
};
