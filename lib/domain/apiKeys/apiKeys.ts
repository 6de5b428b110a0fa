/**
 * API keys of an organization (DESIGN §4, §5): a `cid_` secret of 256 random bits, shown once and stored only as
 * its SHA-256. Each key acts for one service principal; rotation hands the principal to the new key, so requests
 * assigned to it survive a rotation.
 *
 * Revocation and rotation take effect on the very next request on every instance: nothing here caches a key's
 * state, `authenticateApiKey` and `isApiKeyUsable` read the row each time (one primary-key lookup).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { dialectFor } from '../../adapters/sql/dialect';
import { p, sql } from '../../adapters/sql/params';
import { errors } from '../../errors';
import type { Clock, Random, SqlExecutor, Store } from '../../ports';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../paging';

export const API_KEY_PREFIX = 'cid_';
/** `cid_` + base64url of 32 bytes (43 characters, no padding). */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + 43;
/** Enough to recognise a key in a list (`cid_` + 48 bits), far too little to guess the rest from. */
export const API_KEY_DISPLAY_PREFIX_LENGTH = 12;
export const API_KEY_NAME_MAX_LENGTH = 100;
/** Rotation overlap for zero-downtime deploys is capped at a day, so a forgotten old key still dies soon. */
export const MAX_ROTATION_GRACE_IN_SECONDS = 86_400;
/** last_used_at is informational; refreshing it at most this often keeps authentication from writing per request. */
export const LAST_USED_RESOLUTION_IN_MILLISECONDS = 60_000;

const SECRET_BYTES = 32;
// Ids are opaque, but only ever URL-safe; anything else cannot be a key id and needs no database round trip.
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;
const SECRET_PATTERN = /^cid_[A-Za-z0-9_-]{43}$/;

// "Usable" in one place, so authentication, the per-request token check and rotation cannot disagree.
// Expiry is exclusive: at expires_at the key is already dead, as delivery access ends exactly at expiresAt.
const USABLE = '(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now))';

export type ApiKeyStatus = 'active' | 'expiring' | 'revoked' | 'expired';

/** What create and rotate return: the only time the secret is ever available. */
export interface CreatedApiKey {
  readonly id: string;
  readonly prefix: string;
  /** The whole secret string; shown once, never stored. */
  readonly key: string;
  readonly name: string;
  readonly createdAt: string;
  /** The principal requests are assigned to when a backend (not a member) works them with this key. */
  readonly servicePrincipalId: string;
}

/** A key as lists show it: recognisable by its prefix, never its secret or hash. */
export interface ApiKeySummary {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly servicePrincipalId: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly status: ApiKeyStatus;
}

export interface ApiKeyPage {
  readonly items: ApiKeySummary[];
  readonly nextCursor: string | null;
}

export interface AuthenticatedApiKey {
  readonly id: string;
  readonly organizationId: string;
  readonly servicePrincipalId: string;
}

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

// A type alias, not an interface, so it satisfies the store's Record<string, unknown> row constraint.
type ApiKeyRow = {
  id: string;
  organization_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  created_by: string;
  created_at: number | string;
  last_used_at: number | string | null;
  expires_at: number | string | null;
  revoked_at: number | string | null;
  replaced_by: string | null;
  service_principal_id: string;
};

const SUMMARY_COLUMNS =
  'id, organization_id, name, prefix, created_by, created_at, last_used_at, expires_at, revoked_at, replaced_by, service_principal_id';

// ---------------------------------------------------------------------------------------------
// Create, rotate, revoke

export async function createApiKey(
  tx: SqlExecutor,
  deps: { readonly clock: Clock; readonly random: Random },
  input: { readonly organizationId: string; readonly name: string; readonly createdBy: string },
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (name.length < 1 || name.length > API_KEY_NAME_MAX_LENGTH) {
    throw errors.invalidRequest(`The name must be 1 to ${API_KEY_NAME_MAX_LENGTH} characters`, [
      { path: 'name', message: `Must be 1 to ${API_KEY_NAME_MAX_LENGTH} characters` },
    ]);
  }
  return insertKey(tx, deps, {
    organizationId: input.organizationId,
    name,
    createdBy: input.createdBy,
    servicePrincipalId: `svc_${deps.random.id()}`,
  });
}

/**
 * Replaces a key with a new one for the same service principal. With no grace the old key is revoked at once;
 * with grace it keeps working until now + grace (never later than an expiry it already had).
 */
export async function rotateApiKey(
  tx: SqlExecutor,
  deps: { readonly clock: Clock; readonly random: Random },
  input: { readonly organizationId: string; readonly keyId: string; readonly graceSeconds?: number; readonly rotatedBy: string },
): Promise<CreatedApiKey> {
  const graceSeconds = input.graceSeconds ?? 0;
  if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_IN_SECONDS) {
    throw errors.invalidRequest(`graceSeconds must be an integer from 0 to ${MAX_ROTATION_GRACE_IN_SECONDS}`, [
      { path: 'graceSeconds', message: `Must be an integer from 0 to ${MAX_ROTATION_GRACE_IN_SECONDS}` },
    ]);
  }
  const now = deps.clock.now().getTime();
  const newId = deps.random.id();
  // The guarded UPDATE comes first: it takes the row lock, so of two concurrent rotations of one key exactly
  // one matches (SQL Server re-evaluates the WHERE after the lock is released) and the other gets 409.
  const retired =
    graceSeconds === 0
      ? await tx.execute(
          sql(
            `UPDATE api_keys SET replaced_by = @newId, revoked_at = @now
             WHERE id = @id AND organization_id = @organizationId AND ${USABLE} AND replaced_by IS NULL`,
            { newId: p.text(newId), now: p.bigint(now), id: p.text(input.keyId), organizationId: p.text(input.organizationId) },
          ),
        )
      : await tx.execute(
          sql(
            `UPDATE api_keys SET replaced_by = @newId,
               expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < @graceEnd THEN expires_at ELSE @graceEnd END
             WHERE id = @id AND organization_id = @organizationId AND ${USABLE} AND replaced_by IS NULL`,
            {
              newId: p.text(newId),
              now: p.bigint(now),
              graceEnd: p.bigint(now + graceSeconds * 1000),
              id: p.text(input.keyId),
              organizationId: p.text(input.organizationId),
            },
          ),
        );
  const old = await findInOrganization(tx, input.organizationId, input.keyId);
  if (!old) throw errors.notFound('No such API key');
  if (retired.rowsAffected !== 1) {
    throw errors.conflict('This API key was already revoked, expired or replaced; rotate its replacement instead');
  }
  return insertKey(tx, deps, {
    id: newId,
    organizationId: input.organizationId,
    name: old.name,
    createdBy: input.rotatedBy,
    servicePrincipalId: old.service_principal_id,
  });
}

/** Revokes at once (also ending a rotation grace period early). Idempotent: a revoked key keeps its first revokedAt. */
export async function revokeApiKey(
  tx: SqlExecutor,
  deps: { readonly clock: Clock },
  input: { readonly organizationId: string; readonly keyId: string },
): Promise<ApiKeySummary> {
  const now = deps.clock.now().getTime();
  await tx.execute(
    sql('UPDATE api_keys SET revoked_at = @now WHERE id = @id AND organization_id = @organizationId AND revoked_at IS NULL', {
      now: p.bigint(now),
      id: p.text(input.keyId),
      organizationId: p.text(input.organizationId),
    }),
  );
  const row = await findInOrganization(tx, input.organizationId, input.keyId);
  if (!row) throw errors.notFound('No such API key');
  return summarize(row, now);
}

// ---------------------------------------------------------------------------------------------
// Read

/** Newest first, cursor-paginated (DESIGN §5). Revoked and expired keys stay listed with their status. */
export async function listApiKeys(
  store: Pick<Store, 'query' | 'dialect'>,
  deps: { readonly clock: Clock },
  organizationId: string,
  page: { readonly limit?: number; readonly cursor?: string | null } = {},
): Promise<ApiKeyPage> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`, [
      { path: 'limit', message: `Must be an integer from 1 to ${MAX_PAGE_SIZE}` },
    ]);
  }
  const after = page.cursor ? decodeCursor(page.cursor) : null;
  const rows = await store.query<ApiKeyRow>(
    sql(
      `SELECT ${SUMMARY_COLUMNS} FROM api_keys
       WHERE organization_id = @organizationId
         ${after ? 'AND (created_at < @afterCreatedAt OR (created_at = @afterCreatedAt AND id < @afterId))' : ''}
       ORDER BY created_at DESC, id DESC${dialectFor(store.dialect).limit('limit')}`,
      {
        organizationId: p.text(organizationId),
        // One more than asked tells whether another page exists without a COUNT.
        limit: p.int(limit + 1),
        ...(after ? { afterCreatedAt: p.bigint(after.createdAt), afterId: p.text(after.id) } : {}),
      },
    ),
  );
  const now = deps.clock.now().getTime();
  const items = rows.slice(0, limit).map((row) => summarize(row, now));
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor(millis(last.created_at), last.id) : null };
}

/** null when the key does not exist in this organization (another organization's key is not revealed). */
export async function getApiKey(
  store: SqlExecutor,
  deps: { readonly clock: Clock },
  organizationId: string,
  keyId: string,
): Promise<ApiKeySummary | null> {
  const row = await findInOrganization(store, organizationId, keyId);
  return row ? summarize(row, deps.clock.now().getTime()) : null;
}

// ---------------------------------------------------------------------------------------------
// Authentication

/**
 * Client authentication with an API key (client_id = key id, client_secret = the key). null for anything that is
 * not a usable key with exactly this secret; the caller answers invalid_client without saying which check failed.
 */
export async function authenticateApiKey(
  store: SqlExecutor,
  deps: { readonly clock: Clock },
  keyId: string,
  secret: string,
): Promise<AuthenticatedApiKey | null> {
  if (!KEY_ID_PATTERN.test(keyId) || !isWellFormedSecret(secret)) return null;
  const now = deps.clock.now().getTime();
  const [row] = await store.query<Pick<ApiKeyRow, 'organization_id' | 'secret_hash' | 'service_principal_id' | 'last_used_at'>>(
    sql(
      `SELECT organization_id, secret_hash, service_principal_id, last_used_at FROM api_keys WHERE id = @id AND ${USABLE}`,
      { id: p.text(keyId), now: p.bigint(now) },
    ),
  );
  if (!row || !secretMatches(secret, row.secret_hash)) return null;

  const lastUsedAt = millisOrNull(row.last_used_at);
  if (lastUsedAt === null || lastUsedAt < now - LAST_USED_RESOLUTION_IN_MILLISECONDS) {
    // The WHERE repeats the check so concurrent instances do not all write in the same minute.
    await store.execute(
      sql('UPDATE api_keys SET last_used_at = @now WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @staleBefore)', {
        now: p.bigint(now),
        id: p.text(keyId),
        staleBefore: p.bigint(now - LAST_USED_RESOLUTION_IN_MILLISECONDS),
      }),
    );
  }
  return { id: keyId, organizationId: row.organization_id, servicePrincipalId: row.service_principal_id };
}

/**
 * Whether tokens minted with this key (`akid`) may still be used: asked on every request, so a revocation or the
 * end of a rotation grace period is felt at once on every instance. One primary-key lookup.
 */
export async function isApiKeyUsable(store: SqlExecutor, clock: Clock, keyId: string): Promise<boolean> {
  if (!KEY_ID_PATTERN.test(keyId)) return false;
  const rows = await store.query(
    sql(`SELECT id FROM api_keys WHERE id = @id AND ${USABLE}`, { id: p.text(keyId), now: p.bigint(clock.now().getTime()) }),
  );
  return rows.length === 1;
}

/**
 * Whether a service principal of this organization can act now: one of its keys is usable. Rotation hands the
 * principal to the new key, so a principal stays active across rotations and ends when its last key does.
 */
export async function isServicePrincipalActive(
  store: SqlExecutor,
  clock: Clock,
  organizationId: string,
  servicePrincipalId: string,
): Promise<boolean> {
  const rows = await store.query(
    sql(`SELECT id FROM api_keys WHERE organization_id = @organizationId AND service_principal_id = @servicePrincipalId AND ${USABLE}`, {
      organizationId: p.text(organizationId),
      servicePrincipalId: p.text(servicePrincipalId),
      now: p.bigint(clock.now().getTime()),
    }),
  );
  return rows.length > 0;
}

/**
 * Client credentials of a token request (RFC 6749 §2.3.1): HTTP Basic or client_id/client_secret in the body,
 * never both (§2.3: one authentication method per request). null when the client sent none.
 */
export function parseClientCredentials(
  authorizationHeader: string | null | undefined,
  body: { readonly client_id?: unknown; readonly client_secret?: unknown },
): ClientCredentials | null {
  const basic = authorizationHeader ? parseBasic(authorizationHeader) : null;
  // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
  const bodyId = bodyParameter(body.client_id, 'client_id');
  const bodySecret = bodyParameter(body.client_secret, 'client_secret');
  if (basic && (bodyId !== null || bodySecret !== null)) {
    throw errors.invalidRequest('Send client credentials either by HTTP Basic or in the body, not both');
  }
  if (basic) return basic;
  if (bodyId === null && bodySecret === null) return null;
  if (bodyId === null || bodySecret === null) {
    throw errors.invalidRequest('client_id and client_secret must be sent together');
  }
  return { clientId: bodyId, clientSecret: bodySecret };
}

// ---------------------------------------------------------------------------------------------
// Internals

async function insertKey(
  tx: SqlExecutor,
  deps: { readonly clock: Clock; readonly random: Random },
  key: { readonly id?: string; readonly organizationId: string; readonly name: string; readonly createdBy: string; readonly servicePrincipalId: string },
): Promise<CreatedApiKey> {
  const bytes = deps.random.bytes(SECRET_BYTES);
  if (bytes.length !== SECRET_BYTES) throw new RangeError(`Random.bytes returned ${bytes.length} bytes, expected ${SECRET_BYTES}`);
  const secret = API_KEY_PREFIX + bytes.toString('base64url');
  const id = key.id ?? deps.random.id();
  const prefix = secret.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH);
  const createdAt = deps.clock.now().getTime();
  await tx.execute(
    sql(
      `INSERT INTO api_keys (id, organization_id, name, prefix, secret_hash, created_by, created_at, last_used_at, expires_at, revoked_at, replaced_by, service_principal_id)
       VALUES (@id, @organizationId, @name, @prefix, @secretHash, @createdBy, @createdAt, NULL, NULL, NULL, NULL, @servicePrincipalId)`,
      {
        id: p.text(id),
        organizationId: p.text(key.organizationId),
        name: p.text(key.name),
        prefix: p.text(prefix),
        secretHash: p.text(sha256(secret).toString('hex')),
        createdBy: p.text(key.createdBy),
        createdAt: p.bigint(createdAt),
        servicePrincipalId: p.text(key.servicePrincipalId),
      },
    ),
  );
  return { id, prefix, key: secret, name: key.name, createdAt: new Date(createdAt).toISOString(), servicePrincipalId: key.servicePrincipalId };
}

async function findInOrganization(executor: SqlExecutor, organizationId: string, keyId: string): Promise<ApiKeyRow | null> {
  const [row] = await executor.query<ApiKeyRow>(
    sql(`SELECT ${SUMMARY_COLUMNS} FROM api_keys WHERE id = @id AND organization_id = @organizationId`, {
      id: p.text(keyId),
      organizationId: p.text(organizationId),
    }),
  );
  return row ?? null;
}

function summarize(row: Omit<ApiKeyRow, 'secret_hash'>, now: number): ApiKeySummary {
  const expiresAt = millisOrNull(row.expires_at);
  const revokedAt = millisOrNull(row.revoked_at);
  const status: ApiKeyStatus =
    revokedAt !== null ? 'revoked' : expiresAt === null ? 'active' : expiresAt <= now ? 'expired' : 'expiring';
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    servicePrincipalId: row.service_principal_id,
    createdBy: row.created_by,
    createdAt: iso(millis(row.created_at)),
    lastUsedAt: isoOrNull(millisOrNull(row.last_used_at)),
    expiresAt: isoOrNull(expiresAt),
    revokedAt: isoOrNull(revokedAt),
    status,
  };
}

function isWellFormedSecret(secret: string): boolean {
  // The round trip rejects a last character with non-zero spare bits: such a string is not one we issued.
  return SECRET_PATTERN.test(secret) && Buffer.from(secret.slice(API_KEY_PREFIX.length), 'base64url').toString('base64url') === secret.slice(API_KEY_PREFIX.length);
}

function secretMatches(secret: string, storedHashHex: string): boolean {
  const expected = Buffer.from(storedHashHex, 'hex');
  const actual = sha256(secret);
  // DESIGN §4: constant-time comparison. Both sides are SHA-256 digests, so lengths only differ if the row is damaged.
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function parseBasic(header: string): ClientCredentials | null {
  const match = /^Basic(?:\s+(.*))?$/is.exec(header.trim());
  // Another scheme is not client authentication; the token endpoint treats the request as carrying none.
  if (!match) return null;
  const encoded = (match[1] ?? '').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw errors.invalidRequest('The Basic credentials are not valid base64');
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw errors.invalidRequest('The Basic credentials must be client_id:client_secret');
  // RFC 6749 §2.3.1: each part is application/x-www-form-urlencoded before base64, so a ':' in the id arrives as %3A.
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientId === '' || clientSecret === '') throw errors.invalidRequest('The Basic credentials must name a client and its secret');
  return { clientId, clientSecret };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw errors.invalidRequest('The Basic credentials contain a malformed percent-encoding');
  }
}

function bodyParameter(value: unknown, name: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw errors.invalidRequest(`${name} must be a string`, [{ path: name, message: 'Must be a string' }]);
  return value;
}

function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}.${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const dot = decoded.indexOf('.');
  const createdAt = Number(decoded.slice(0, dot));
  const id = decoded.slice(dot + 1);
  if (dot < 1 || !Number.isSafeInteger(createdAt) || !KEY_ID_PATTERN.test(id)) {
    throw errors.invalidRequest('The cursor is not one this list returned', [{ path: 'cursor', message: 'Invalid cursor' }]);
  }
  return { createdAt, id };
}

// SQL Server returns BIGINT as a string, SQLite as a number.
function millis(value: number | string): number {
  return Number(value);
}

function millisOrNull(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

function iso(milliseconds: number): string {
  return new Date(milliseconds).toISOString();
}

function isoOrNull(milliseconds: number | null): string | null {
  return milliseconds === null ? null : iso(milliseconds);
}
