/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for creating deliveries and putting items: a client
 * that lost an answer retries with the same key and gets the same answer, without a second delivery or blob.
 *
 * Only successes are remembered, and in the same transaction as the change they answer for, so a stored answer
 * always matches committed state and a crash can never leave a key stuck "in progress". Two concurrent
 * requests with one key may both do the work; only one commits, the other rolls back and replays the winner.
 * Keys are kept 24 hours (the purge deletes older rows; lookups ignore them already).
 */
import { createHash } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { ColumnCipher } from '../../crypto/columnCipher';
import { errors } from '../../errors';
import type { Principal } from '../../http/route';
import type { Clock, SqlExecutor } from '../../ports';

export const IDEMPOTENCY_KEY_TTL_IN_SECONDS = 24 * 60 * 60;
// The stored answer may name an item (a filename), so it is column-encrypted like the name itself.
const RESPONSE_CONTEXT = 'idempotency_keys.response';
const KEY_SHAPE = /^[\x20-\x7e]{1,200}$/;

export interface Idempotency {
  /** `${principal.subject}:${operation}`: one caller's keys never meet another's. */
  readonly scope: string;
  readonly key: string;
  /** What the request asked for; the same key with a different request is a client bug (409). */
  readonly requestHash: string;
}

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * null when the request carries no Idempotency-Key. `parts` are what makes two requests "the same" besides
 * method and path (a body, or a length and media type); they are length-prefixed so no two lists hash alike.
 */
export function idempotencyOf(
  request: HttpRequest,
  principal: Principal,
  operation: string,
  path: string,
  parts: readonly (string | Buffer)[],
): Idempotency | null {
  const header = request.headers.get('idempotency-key');
  if (header === null) return null;
  // The draft writes the key as a Structured Field string ("…"); plain tokens are what most clients send.
  const key = /^".*"$/.test(header) ? header.slice(1, -1) : header;
  if (!KEY_SHAPE.test(key)) {
    throw errors.invalidRequest('Idempotency-Key must be 1 to 200 printable ASCII characters', [{ path: 'Idempotency-Key', message: 'Not a valid key' }]);
  }
  const hash = createHash('sha256');
  for (const part of [request.method.toUpperCase(), path, ...parts]) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return { scope: `${principal.subject}:${operation}`, key, requestHash: hash.digest('hex') };
}

/** findStoredResponse for a handler, before it does any work. */
export async function findReplay(services: Pick<Services, 'store' | 'clock' | 'keyHierarchy'>, idempotency: Idempotency | null): Promise<StoredResponse | null> {
  if (!idempotency) return null;
  return findStoredResponse(services.store, await services.keyHierarchy.columnCipher(), services.clock, idempotency);
}

/** The answer remembered for this key, or null. The same key with another request → 409. */
export async function findStoredResponse(db: SqlExecutor, cipher: ColumnCipher, clock: Clock, idempotency: Idempotency): Promise<StoredResponse | null> {
  const [row] = await db.query<{ request_hash: string; response: Buffer | null }>(
    sql('SELECT request_hash, response FROM idempotency_keys WHERE scope = @scope AND idem_key = @key AND created_at > @cutoff', {
      scope: p.text(idempotency.scope),
      key: p.text(idempotency.key),
      cutoff: p.bigint(cutoff(clock)),
    }),
  );
  if (!row) return null;
  if (row.request_hash !== idempotency.requestHash) {
    throw errors.conflict('This Idempotency-Key was already used for a different request; use a new key for a new request');
  }
  if (row.response === null) return null;
  return JSON.parse(cipher.decrypt(row.response, RESPONSE_CONTEXT)) as StoredResponse;
}

/**
 * Remembers `response` for the key, inside the transaction of the change it answers for. Call it first in that
 * transaction: when a concurrent request with the same key committed already, it throws UniqueViolationError
 * before any other work, and the caller replays what that request stored.
 */
export async function storeResponse(tx: SqlExecutor, cipher: ColumnCipher, clock: Clock, idempotency: Idempotency, response: StoredResponse): Promise<void> {
  // An expired key the purge has not swept yet may be reused.
  await tx.execute(
    sql('DELETE FROM idempotency_keys WHERE scope = @scope AND idem_key = @key AND created_at <= @cutoff', {
      scope: p.text(idempotency.scope),
      key: p.text(idempotency.key),
      cutoff: p.bigint(cutoff(clock)),
    }),
  );
  await tx.execute(
    sql('INSERT INTO idempotency_keys (scope, idem_key, request_hash, response, created_at) VALUES (@scope, @key, @hash, @response, @now)', {
      scope: p.text(idempotency.scope),
      key: p.text(idempotency.key),
      hash: p.text(idempotency.requestHash),
      response: p.blob(cipher.encrypt(JSON.stringify(response), RESPONSE_CONTEXT)),
      now: p.bigint(clock.now().getTime()),
    }),
  );
}

function cutoff(clock: Clock): number {
  return clock.now().getTime() - IDEMPOTENCY_KEY_TTL_IN_SECONDS * 1000;
}
