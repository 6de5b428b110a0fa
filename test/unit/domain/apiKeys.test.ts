import { createHash } from 'node:crypto';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS, runMigrations } from '../../../lib/adapters/sql/migrations';
import { p, sql } from '../../../lib/adapters/sql/params';
import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { identityMigration } from '../../../lib/domain/accounts/schema';
import {
  authenticateApiKey,
  createApiKey,
  getApiKey,
  isApiKeyUsable,
  listApiKeys,
  parseClientCredentials,
  revokeApiKey,
  rotateApiKey,
  type CreatedApiKey,
} from '../../../lib/domain/apiKeys/apiKeys';
import {
  ApiKeyListSchema,
  ApiKeySecretSchema,
  CreateApiKeyRequestSchema,
  RotateApiKeyRequestSchema,
} from '../../../lib/domain/apiKeys/schemas';
import { ApiError } from '../../../lib/errors';
import { jsonSchemas } from '../../../lib/http/schemas';
import type { Store } from '../../../lib/ports';
import { cryptoRandom } from '../../../lib/system';
import { FakeClock } from '../../helpers/testApp';

const ORG = 'org-acme';
const OTHER_ORG = 'org-globex';
const ADMIN = 'user-admin';

let store: Store;
let clock: FakeClock;
const deps = () => ({ clock, random: cryptoRandom });

beforeEach(async () => {
  store = createSqliteStore({ file: ':memory:' });
  // Only the migrations this module needs, so migrations other features append do not change this test.
  await runMigrations(store, sqliteDialect, [...MIGRATIONS.filter((m) => m.version === 1), identityMigration]);
  clock = new FakeClock();
});

afterEach(async () => {
  await store.close();
});

function create(organizationId = ORG, name = 'Payroll export'): Promise<CreatedApiKey> {
  return store.transaction((tx) => createApiKey(tx, deps(), { organizationId, name, createdBy: ADMIN }));
}

function rotate(keyId: string, graceSeconds?: number, organizationId = ORG): Promise<CreatedApiKey> {
  return store.transaction((tx) => rotateApiKey(tx, deps(), { organizationId, keyId, graceSeconds, rotatedBy: 'user-rotator' }));
}

function revoke(keyId: string, organizationId = ORG) {
  return store.transaction((tx) => revokeApiKey(tx, { clock }, { organizationId, keyId }));
}

function authenticate(keyId: string, secret: string) {
  return authenticateApiKey(store, { clock }, keyId, secret);
}

async function apiErrorOf(work: Promise<unknown> | (() => unknown)): Promise<{ status: number; code: string } | string> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    return error instanceof ApiError ? { status: error.status, code: error.code } : `not an ApiError: ${String(error)}`;
  }
  return 'did not throw';
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

describe('creating an API key', () => {
  it('returns a cid_ secret of 47 characters with 256 random bits, its 12-character prefix and an opaque id', async () => {
    const key = await create();
    expect(key.key).toMatch(/^cid_[A-Za-z0-9_-]{43}$/);
    expect(key.key).toHaveLength(47);
    expect(Buffer.from(key.key.slice(4), 'base64url')).toHaveLength(32);
    expect(key.prefix).toBe(key.key.slice(0, 12));
    expect(key.id).not.toContain(key.key.slice(4, 12));
    expect(key.createdAt).toBe('2026-11-21T10:00:00.000Z');
    expect(key.servicePrincipalId).toMatch(/^svc_/);
  });

  it('stores only the SHA-256 of the secret, never the secret itself', async () => {
    const key = await create();
    const rows = await store.query(sql('SELECT * FROM api_keys'));
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.secret_hash).toBe(sha256Hex(key.key));
    for (const value of Object.values(row)) {
      expect(String(value)).not.toContain(key.key);
      expect(String(value)).not.toContain(key.key.slice(12));
    }
  });

  it('gives every key its own secret, id and service principal', async () => {
    const first = await create();
    const second = await create();
    expect(second.key).not.toBe(first.key);
    expect(second.id).not.toBe(first.id);
    expect(second.servicePrincipalId).not.toBe(first.servicePrincipalId);
  });

  it('trims the name and refuses an empty or over-long one as invalid_request', async () => {
    expect((await create(ORG, '  CI deploys  ')).name).toBe('CI deploys');
    expect(await apiErrorOf(create(ORG, '   '))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await apiErrorOf(create(ORG, 'x'.repeat(101)))).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('returns exactly the published ApiKeySecret shape', async () => {
    const key = await create();
    expect(ApiKeySecretSchema.parse(key)).toEqual(key);
  });
});

describe('authenticating with an API key', () => {
  it('accepts the right secret and names the organization and service principal', async () => {
    const key = await create();
    expect(await authenticate(key.id, key.key)).toEqual({ id: key.id, organizationId: ORG, servicePrincipalId: key.servicePrincipalId });
  });

  it('refuses a wrong secret, a one-character change, a truncated secret, another key id and garbage', async () => {
    const key = await create();
    const other = await create();
    const lastChar = key.key.at(-1);
    const changed = key.key.slice(0, 20) + (key.key[20] === 'A' ? 'B' : 'A') + key.key.slice(21);
    const attempts: Array<[string, string]> = [
      [key.id, other.key],
      [key.id, changed],
      [key.id, key.key.slice(0, -1)],
      [key.id, `${key.key}A`],
      [key.id, key.key.slice(0, -1) + (lastChar === 'A' ? 'E' : 'A')],
      [other.id, key.key],
      ['no-such-key', key.key],
      [key.id, ''],
      [key.id, 'cid_'],
      [key.id, key.key.replace('cid_', 'xid_')],
      [key.id, `cid_${'!'.repeat(43)}`],
      ['', key.key],
      ["' OR 1=1 --", key.key],
    ];
    for (const [keyId, secret] of attempts) expect(await authenticate(keyId, secret)).toBeNull();
    expect(await authenticate(key.id, key.key)).not.toBeNull();
  });

  it('refuses a secret whose last character carries spare bits, since no issued key looks like that', async () => {
    const key = await create();
    // The 43rd base64url character holds 4 data bits and 2 spare zero bits; the next character in the
    // alphabet decodes to the same bytes with a spare bit set (e.g. A → B, 8 → 9).
    const alias = key.key.slice(0, -1) + String.fromCharCode(key.key.charCodeAt(46) + 1);
    expect(Buffer.from(alias.slice(4), 'base64url').equals(Buffer.from(key.key.slice(4), 'base64url'))).toBe(true);
    expect(await authenticate(key.id, alias)).toBeNull();
  });

  it('records the last use at most once a minute', async () => {
    const key = await create();
    const lastUsedAt = async () => (await getApiKey(store, { clock }, ORG, key.id))!.lastUsedAt;
    expect(await lastUsedAt()).toBeNull();

    await authenticate(key.id, key.key);
    expect(await lastUsedAt()).toBe('2026-11-21T10:00:00.000Z');

    clock.advance(59_000);
    await authenticate(key.id, key.key);
    expect(await lastUsedAt()).toBe('2026-11-21T10:00:00.000Z');

    clock.advance(2_000);
    await authenticate(key.id, key.key);
    expect(await lastUsedAt()).toBe('2026-11-21T10:01:01.000Z');
  });

  it('does not record a use for a failed attempt', async () => {
    const key = await create();
    const other = await create();
    await authenticate(key.id, other.key);
    expect((await getApiKey(store, { clock }, ORG, key.id))!.lastUsedAt).toBeNull();
  });
});

describe('rotating an API key', () => {
  it('with no grace, the old key is refused at once and the new one works for the same service principal', async () => {
    const old = await create();
    const replacement = await rotate(old.id);

    expect(replacement.id).not.toBe(old.id);
    expect(replacement.key).not.toBe(old.key);
    expect(replacement.name).toBe(old.name);
    expect(replacement.servicePrincipalId).toBe(old.servicePrincipalId);
    expect(await authenticate(old.id, old.key)).toBeNull();
    expect(await isApiKeyUsable(store, clock, old.id)).toBe(false);
    expect(await authenticate(replacement.id, replacement.key)).toEqual({
      id: replacement.id,
      organizationId: ORG,
      servicePrincipalId: old.servicePrincipalId,
    });
    expect(await isApiKeyUsable(store, clock, replacement.id)).toBe(true);
  });

  it('records which key replaced the old one and who rotated it', async () => {
    const old = await create();
    const replacement = await rotate(old.id);
    const [row] = await store.query(sql('SELECT replaced_by FROM api_keys WHERE id = @id', { id: p.text(old.id) }));
    expect(row!.replaced_by).toBe(replacement.id);
    expect((await getApiKey(store, { clock }, ORG, replacement.id))!.createdBy).toBe('user-rotator');
  });

  it('with a grace of 600 seconds, the old key works until then and is refused from that instant on', async () => {
    const old = await create();
    const replacement = await rotate(old.id, 600);

    expect(await authenticate(old.id, old.key)).not.toBeNull();
    expect(await authenticate(replacement.id, replacement.key)).not.toBeNull();
    clock.advance(599_999);
    expect(await authenticate(old.id, old.key)).not.toBeNull();
    expect(await isApiKeyUsable(store, clock, old.id)).toBe(true);
    clock.advance(1);
    expect(await authenticate(old.id, old.key)).toBeNull();
    expect(await isApiKeyUsable(store, clock, old.id)).toBe(false);
    expect(await authenticate(replacement.id, replacement.key)).not.toBeNull();
  });

  it('never extends an expiry the old key already had', async () => {
    const old = await create();
    // No public operation sets an expiry without replacing the key yet; the rule must hold once one does.
    await store.execute(sql('UPDATE api_keys SET expires_at = @at WHERE id = @id', { at: p.bigint(clock.now().getTime() + 60_000), id: p.text(old.id) }));
    await rotate(old.id, 600);
    expect((await getApiKey(store, { clock }, ORG, old.id))!.expiresAt).toBe('2026-11-21T10:01:00.000Z');
  });

  it('accepts a grace of exactly 24 hours and refuses more, a negative or a fractional grace as invalid_request', async () => {
    const old = await create();
    for (const graceSeconds of [86_401, -1, 1.5, Number.NaN]) {
      expect(await apiErrorOf(rotate(old.id, graceSeconds))).toEqual({ status: 400, code: 'invalid_request' });
    }
    await expect(rotate(old.id, 86_400)).resolves.toMatchObject({ prefix: expect.stringMatching(/^cid_/) });
  });

  it('refuses to rotate the same old key twice, even within its grace period', async () => {
    const withGrace = await create();
    await rotate(withGrace.id, 600);
    expect(await apiErrorOf(rotate(withGrace.id, 600))).toEqual({ status: 409, code: 'conflict' });

    const withoutGrace = await create();
    await rotate(withoutGrace.id);
    expect(await apiErrorOf(rotate(withoutGrace.id))).toEqual({ status: 409, code: 'conflict' });
  });

  it('refuses to rotate a revoked key', async () => {
    const key = await create();
    await revoke(key.id);
    expect(await apiErrorOf(rotate(key.id))).toEqual({ status: 409, code: 'conflict' });
  });

  it('leaves nothing behind when it is refused', async () => {
    const key = await create();
    await revoke(key.id);
    await apiErrorOf(rotate(key.id));
    expect(await store.query(sql('SELECT id FROM api_keys'))).toHaveLength(1);
  });

  it('answers not_found for a key of another organization, and leaves that key working', async () => {
    const theirs = await create(OTHER_ORG);
    expect(await apiErrorOf(rotate(theirs.id, 0, ORG))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(rotate('no-such-key'))).toEqual({ status: 404, code: 'not_found' });
    expect(await authenticate(theirs.id, theirs.key)).not.toBeNull();
  });

  it('a replacement can itself be rotated, keeping the service principal', async () => {
    const first = await create();
    const second = await rotate(first.id);
    const third = await rotate(second.id);
    expect(third.servicePrincipalId).toBe(first.servicePrincipalId);
    expect(await authenticate(second.id, second.key)).toBeNull();
    expect(await authenticate(third.id, third.key)).not.toBeNull();
  });
});

describe('revoking an API key', () => {
  it('refuses the key on the very next call', async () => {
    const key = await create();
    expect(await authenticate(key.id, key.key)).not.toBeNull();
    const revoked = await revoke(key.id);
    expect(revoked.status).toBe('revoked');
    expect(await authenticate(key.id, key.key)).toBeNull();
    expect(await isApiKeyUsable(store, clock, key.id)).toBe(false);
  });

  it('is idempotent and keeps the first revocation time', async () => {
    const key = await create();
    const first = await revoke(key.id);
    clock.advance(5_000);
    const second = await revoke(key.id);
    expect(second).toEqual(first);
    expect(second.revokedAt).toBe('2026-11-21T10:00:00.000Z');
  });

  it('ends a rotation grace period early', async () => {
    const old = await create();
    await rotate(old.id, 600);
    await revoke(old.id);
    expect(await authenticate(old.id, old.key)).toBeNull();
  });

  it('answers not_found for a key of another organization, and leaves that key working', async () => {
    const theirs = await create(OTHER_ORG);
    expect(await apiErrorOf(revoke(theirs.id, ORG))).toEqual({ status: 404, code: 'not_found' });
    expect(await apiErrorOf(revoke('no-such-key'))).toEqual({ status: 404, code: 'not_found' });
    expect(await authenticate(theirs.id, theirs.key)).not.toBeNull();
  });
});

describe('checking whether a key is still usable (tokens minted with it)', () => {
  it('is true for a live key and false for an unknown or malformed id', async () => {
    const key = await create();
    expect(await isApiKeyUsable(store, clock, key.id)).toBe(true);
    expect(await isApiKeyUsable(store, clock, 'no-such-key')).toBe(false);
    expect(await isApiKeyUsable(store, clock, '')).toBe(false);
  });
});

describe('listing API keys', () => {
  it('shows each key newest first with its status, and never a secret or hash', async () => {
    const replaced = await create(ORG, 'Old deploy key');
    clock.advance(1_000);
    const revoked = await create(ORG, 'Leaked');
    await revoke(revoked.id);
    clock.advance(1_000);
    const expired = await create(ORG, 'Retired');
    clock.advance(1_000);
    await rotate(expired.id, 60);
    clock.advance(1_000);
    await rotate(replaced.id, 3_600);
    await create(OTHER_ORG, 'Not ours');
    clock.advance(61_000);

    const page = await listApiKeys(store, { clock }, ORG);
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((item) => [item.name, item.status])).toEqual([
      ['Old deploy key', 'active'],
      ['Retired', 'active'],
      ['Retired', 'expired'],
      ['Leaked', 'revoked'],
      ['Old deploy key', 'expiring'],
    ]);
    const expiring = page.items[4]!;
    expect(expiring).toMatchObject({ id: replaced.id, prefix: replaced.prefix, createdBy: ADMIN, createdAt: '2026-11-21T10:00:00.000Z' });
    expect(expiring.expiresAt).toBe('2026-11-21T11:00:04.000Z');

    const text = JSON.stringify(page);
    for (const secret of [replaced.key, revoked.key, expired.key]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(sha256Hex(secret));
    }
    expect(Object.keys(page.items[0]!)).not.toContain('secretHash');
    expect(ApiKeyListSchema.parse(page)).toEqual(page);
  });

  it('shows the last use', async () => {
    const key = await create();
    clock.advance(5_000);
    await authenticate(key.id, key.key);
    const [item] = (await listApiKeys(store, { clock }, ORG)).items;
    expect(item!.lastUsedAt).toBe('2026-11-21T10:00:05.000Z');
  });

  it('pages with a cursor, keys created in the same millisecond included', async () => {
    const created = [];
    for (let i = 0; i < 5; i += 1) {
      created.push(await create(ORG, `key ${i}`));
      if (i % 2 === 1) clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof listApiKeys>> = await listApiKeys(store, { clock }, ORG, { limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(created.map((key) => key.id)));
    const whole = await listApiKeys(store, { clock }, ORG);
    expect(whole.items.map((item) => item.id)).toEqual(seen);
  });

  it('refuses a cursor it did not issue and a limit out of range as invalid_request', async () => {
    expect(await apiErrorOf(listApiKeys(store, { clock }, ORG, { cursor: 'garbage' }))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await apiErrorOf(listApiKeys(store, { clock }, ORG, { limit: 0 }))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await apiErrorOf(listApiKeys(store, { clock }, ORG, { limit: 201 }))).toEqual({ status: 400, code: 'invalid_request' });
  });
});

describe('parsing client credentials (RFC 6749 §2.3.1)', () => {
  const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  it('reads HTTP Basic, form-decoding each part after splitting on the first colon', () => {
    expect(parseClientCredentials(basic('a%3Ab', 'c+d%2Be:f'), {})).toEqual({ clientId: 'a:b', clientSecret: 'c d+e:f' });
    expect(parseClientCredentials(basic('key-id', 'cid_abc'), {})).toEqual({ clientId: 'key-id', clientSecret: 'cid_abc' });
    expect(parseClientCredentials(`basic   ${Buffer.from('x:y').toString('base64')}`, {})).toEqual({ clientId: 'x', clientSecret: 'y' });
  });

  it('reads client_id and client_secret from the body', () => {
    expect(parseClientCredentials(null, { client_id: 'key-id', client_secret: 'cid_abc' })).toEqual({ clientId: 'key-id', clientSecret: 'cid_abc' });
  });

  it('returns null when the client sent no credentials, empty parameters counting as omitted (§3.1)', () => {
    expect(parseClientCredentials(null, {})).toBeNull();
    expect(parseClientCredentials(null, { client_id: '', client_secret: '' })).toBeNull();
    expect(parseClientCredentials('Bearer abc', {})).toBeNull();
  });

  it('refuses credentials sent both by Basic and in the body as invalid_request', async () => {
    expect(await apiErrorOf(() => parseClientCredentials(basic('a', 'b'), { client_id: 'a', client_secret: 'b' }))).toEqual({
      status: 400,
      code: 'invalid_request',
    });
    expect(await apiErrorOf(() => parseClientCredentials(basic('a', 'b'), { client_id: 'a' }))).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('refuses malformed Basic credentials as invalid_request', async () => {
    for (const header of [
      'Basic',
      'Basic !!!!',
      'Basic YWJj', // "abc": no colon
      'Basic YTpi=', // bad padding
      basic('a%ZZ', 'b'),
      basic('a', 'b%'),
      basic('', 'b'),
      basic('a', ''),
    ]) {
      expect(await apiErrorOf(() => parseClientCredentials(header, {}))).toEqual({ status: 400, code: 'invalid_request' });
    }
  });

  it('refuses half a pair or a non-string in the body as invalid_request', async () => {
    expect(await apiErrorOf(() => parseClientCredentials(null, { client_id: 'a' }))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await apiErrorOf(() => parseClientCredentials(null, { client_secret: 'b' }))).toEqual({ status: 400, code: 'invalid_request' });
    expect(await apiErrorOf(() => parseClientCredentials(null, { client_id: 1, client_secret: 'b' }))).toEqual({ status: 400, code: 'invalid_request' });
  });
});

describe('API key request schemas', () => {
  it('accept the documented bodies and reject unknown fields and out-of-range grace', () => {
    expect(CreateApiKeyRequestSchema.parse({ name: ' Payroll ' })).toEqual({ name: 'Payroll' });
    expect(CreateApiKeyRequestSchema.safeParse({ name: 'x', scope: 'all' }).success).toBe(false);
    expect(CreateApiKeyRequestSchema.safeParse({ name: '  ' }).success).toBe(false);
    expect(RotateApiKeyRequestSchema.parse({})).toEqual({});
    expect(RotateApiKeyRequestSchema.parse({ graceSeconds: 86_400 })).toEqual({ graceSeconds: 86_400 });
    expect(RotateApiKeyRequestSchema.safeParse({ graceSeconds: 86_401 }).success).toBe(false);
    expect(RotateApiKeyRequestSchema.safeParse({ graceSeconds: 1.5 }).success).toBe(false);
  });

  it('carry examples that match themselves', () => {
    for (const schema of [CreateApiKeyRequestSchema, RotateApiKeyRequestSchema, ApiKeySecretSchema, ApiKeyListSchema]) {
      const example = schema.meta()?.example;
      expect(example).toBeDefined();
      expect(schema.safeParse(example).success).toBe(true);
    }
  });

  it('are published as JSON Schemas, the list referring to the item by name', () => {
    const schemas = jsonSchemas((name) => `https://example.test/schemas/${name}.json`);
    for (const name of ['CreateApiKeyRequest', 'RotateApiKeyRequest', 'ApiKeySecret', 'ApiKey', 'ApiKeyList']) expect(schemas[name]).toBeDefined();
    expect(JSON.stringify(schemas.ApiKeyList)).toContain('https://example.test/schemas/ApiKey.json');
    expect(schemas.CreateApiKeyRequest).toMatchObject({ additionalProperties: false, required: ['name'] });
  });
});
