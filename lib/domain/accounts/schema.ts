import type { Migration } from '../../adapters/sql/migrations';

/**
 * Identity: organizations, people (one account per email address, found by blind index), their memberships,
 * one-time tokens (invitations, email verification, password reset), sessions (one per refresh-token family),
 * refresh tokens and API keys. Personal values (emails, names) are column-encrypted blobs; secrets are stored
 * only as hashes.
 */
export const identityMigration: Migration = {
  version: 2,
  name: 'identity',
  up: (d) => [
    `CREATE TABLE organizations (
      id ${d.key} NOT NULL,
      name ${d.varchar(200)} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      CONSTRAINT pk_organizations PRIMARY KEY (id)
    )`,
    `CREATE TABLE users (
      id ${d.key} NOT NULL,
      email ${d.blob} NOT NULL,
      email_index ${d.key} NOT NULL,
      name ${d.blob} NULL,
      password_hash ${d.varchar(400)} NULL,
      is_requester ${d.bool} NOT NULL,
      is_operator ${d.bool} NOT NULL,
      email_verified_at ${d.bigint} NULL,
      disabled_at ${d.bigint} NULL,
      created_at ${d.bigint} NOT NULL,
      CONSTRAINT pk_users PRIMARY KEY (id)
    )`,
    'CREATE UNIQUE INDEX ux_users_email_index ON users (email_index)',
    `CREATE TABLE memberships (
      organization_id ${d.key} NOT NULL,
      user_id ${d.key} NOT NULL,
      role ${d.key} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      disabled_at ${d.bigint} NULL,
      CONSTRAINT pk_memberships PRIMARY KEY (organization_id, user_id)
    )`,
    'CREATE INDEX ix_memberships_user_id ON memberships (user_id)',
    `CREATE TABLE one_time_tokens (
      token_hash ${d.key} NOT NULL,
      purpose ${d.key} NOT NULL,
      user_id ${d.key} NULL,
      organization_id ${d.key} NULL,
      role ${d.key} NULL,
      password_hash ${d.varchar(400)} NULL,
      created_at ${d.bigint} NOT NULL,
      expires_at ${d.bigint} NOT NULL,
      used_at ${d.bigint} NULL,
      CONSTRAINT pk_one_time_tokens PRIMARY KEY (token_hash)
    )`,
    'CREATE INDEX ix_one_time_tokens_expires_at ON one_time_tokens (expires_at)',
    `CREATE TABLE sessions (
      id ${d.key} NOT NULL,
      user_id ${d.key} NOT NULL,
      role ${d.key} NOT NULL,
      organization_id ${d.key} NULL,
      api_key_id ${d.key} NULL,
      amr ${d.varchar(200)} NOT NULL,
      mfa_at ${d.bigint} NULL,
      auth_time ${d.bigint} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      idle_expires_at ${d.bigint} NOT NULL,
      absolute_expires_at ${d.bigint} NOT NULL,
      revoked_at ${d.bigint} NULL,
      revoked_reason ${d.key} NULL,
      CONSTRAINT pk_sessions PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_sessions_user_id ON sessions (user_id)',
    `CREATE TABLE refresh_tokens (
      token_hash ${d.key} NOT NULL,
      session_id ${d.key} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      used_at ${d.bigint} NULL,
      CONSTRAINT pk_refresh_tokens PRIMARY KEY (token_hash)
    )`,
    'CREATE INDEX ix_refresh_tokens_session_id ON refresh_tokens (session_id)',
    `CREATE TABLE api_keys (
      id ${d.key} NOT NULL,
      organization_id ${d.key} NOT NULL,
      name ${d.varchar(200)} NOT NULL,
      prefix ${d.key} NOT NULL,
      secret_hash ${d.key} NOT NULL,
      created_by ${d.key} NOT NULL,
      created_at ${d.bigint} NOT NULL,
      last_used_at ${d.bigint} NULL,
      expires_at ${d.bigint} NULL,
      revoked_at ${d.bigint} NULL,
      replaced_by ${d.key} NULL,
      service_principal_id ${d.key} NOT NULL,
      CONSTRAINT pk_api_keys PRIMARY KEY (id)
    )`,
    'CREATE INDEX ix_api_keys_organization_id ON api_keys (organization_id)',
  ],
};
