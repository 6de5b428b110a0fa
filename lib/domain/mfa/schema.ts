import type { Migration } from '../../adapters/sql/migrations';

/**
 * Multi-factor authentication (DESIGN §4, §5).
 *
 *   mfa_factors      one row per enrolled (or pending) factor. `label` and `secret` are column-encrypted:
 *                    the TOTP secret, the SMS phone number, the WebAuthn credential (public key, id, counter,
 *                    transports) as JSON. `credential_id_index` is a blind index of a WebAuthn credential id.
 *                    `last_totp_step` makes a TOTP code single-use: a step at or below it is refused.
 *   recovery_codes   ten single-use codes per account, SHA-256 only (each carries ≥ 50 random bits).
 *   mfa_challenges   a pending second step: a login waiting for its factor (`login`: the chosen role,
 *                    organization, API key and scope), a step-up of a live session (`step_up`: the session and
 *                    the refresh token it began with), or the first verification of a new factor (`enroll`).
 *                    The id is the SHA-256 of the mfa_token handed to the client (a random id for `enroll`).
 *                    Codes and WebAuthn challenges sent for it live here too, with the number of wrong answers.
 *
 * Times are epoch milliseconds, except last_totp_step (a RFC 6238 time step).
 */
export const mfaMigration: Migration = {
  version: 8,
  name: 'mfa',
  up: (d) => [
    `CREATE TABLE mfa_factors (
      id ${d.key} NOT NULL,
      user_id ${d.key} NOT NULL,
      type ${d.key} NOT NULL,
      label ${d.blob} NOT NULL,
      status ${d.key} NOT NULL,
      secret ${d.blob} NULL,
      credential_id_index ${d.key} NULL,
      last_used_at ${d.bigint} NULL,
      last_totp_step ${d.bigint} NULL,
      created_at ${d.bigint} NOT NULL,
      activated_at ${d.bigint} NULL,
      CONSTRAINT pk_mfa_factors PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_mfa_factors_user_id ON mfa_factors (user_id)',
    'CREATE INDEX ix_mfa_factors_credential_id_index ON mfa_factors (credential_id_index)',
    `CREATE TABLE recovery_codes (
      user_id ${d.key} NOT NULL,
      code_hash ${d.key} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      used_at ${d.bigint} NULL,
      CONSTRAINT pk_recovery_codes PRIMARY KEY (user_id, code_hash)
    )`,
    `CREATE TABLE mfa_challenges (
      id ${d.key} NOT NULL,
      user_id ${d.key} NOT NULL,
      purpose ${d.key} NOT NULL,
      role ${d.key} NULL,
      organization_id ${d.key} NULL,
      api_key_id ${d.key} NULL,
      scope ${d.varchar(200)} NULL,
      session_id ${d.key} NULL,
      refresh_token_hash ${d.key} NULL,
      factor_id ${d.key} NULL,
      code_hash ${d.key} NULL,
      code_expires_at ${d.bigint} NULL,
      webauthn_challenge ${d.varchar(200)} NULL,
      sends ${d.int} NOT NULL,
      attempts ${d.int} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      expires_at ${d.bigint} NOT NULL,
      used_at ${d.bigint} NULL,
      CONSTRAINT pk_mfa_challenges PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_mfa_challenges_user_id ON mfa_challenges (user_id)',
    'CREATE INDEX ix_mfa_challenges_expires_at ON mfa_challenges (expires_at)',
  ],
};
