/**
 * The audit log: append-only, hash-chained per chain (one per organization, one per requester for events about
 * their data, one for the platform), written in the same transaction as the change it records.
 *
 * Tamper evidence. Every event carries prev_mac (the previous event's mac; 64 zeros for seq 1) and
 *
 *   mac = hex HMAC-SHA-256(auditKey, UTF-8 JSON.stringify([
 *           "connectid.audit.event.v1", chain, seq, id, occurred_at, actor_type, actor_id, action,
 *           target_type, target_id, details ciphertext as hex or "", prev_mac ]))
 *
 * (seq and occurred_at are JSON numbers, absent ids are JSON null; a JSON array is unambiguous where plain
 * concatenation is not.) The chain head (audit_chains) carries
 *
 *   head_mac = hex HMAC-SHA-256(auditKey, UTF-8 JSON.stringify(["connectid.audit.head.v1", chain, last_seq, last_mac]))
 *
 * The key is derived from the column root key (KeyHierarchy.auditKey), so someone who can only write to the
 * database cannot recompute a MAC: editing any column, deleting or moving an event, or rewinding a head shows
 * up in verifyAudit. What a keyed chain cannot show on its own is the removal of a whole chain, or a rollback of
 * a chain to an older copy of itself (a restored backup); anchoring heads outside the database would.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { dialectFor } from '../../adapters/sql/dialect';
import { p, sql } from '../../adapters/sql/params';
import type { KeyHierarchy } from '../../crypto/keyHierarchy';
import { errors } from '../../errors';
import type { Clock, Random, SqlExecutor, SqlParam, Store } from '../../ports';

// ---------------------------------------------------------------------------------------------
// Chains

export const PLATFORM_CHAIN = 'platform';

export function orgChain(orgId: string): string {
  return `org:${nonEmpty(orgId, 'An organization id')}`;
}

export function requesterChain(userId: string): string {
  return `requester:${nonEmpty(userId, 'A user id')}`;
}

// ---------------------------------------------------------------------------------------------
// Events

/**
 * The actions recorded so far. Later issues add theirs here, so this list documents the vocabulary; the type
 * stays open (any dotted lowercase name) so that adding one is not a breaking change.
 */
export const AUDIT_ACTIONS = [
  'auth.login.succeeded',
  'auth.login.failed',
  'auth.lockout',
  'api_key.created',
  'api_key.rotated',
  'api_key.revoked',
  'member.invited',
  'member.role_changed',
  'member.disabled',
  'token_family.revoked',
  'organization.created',
  'delivery.created',
  'delivery.item.added',
  'delivery.released',
  'delivery.purged',
  'delivery.item.downloaded',
  'request.opened',
  'request.assigned',
  'request.declined',
  'consent.withdrawn',
  'auth.mfa.failed',
  'mfa.factor.enrolled',
  'mfa.factor.removed',
  'mfa.factor.used',
  'mfa.recovery_code_used',
  'mfa.recovery_codes.created',
  'mfa.factors.reset',
  'eid.identity.verified',
  'identity.viewed',
] as const;

export type KnownAuditAction = (typeof AUDIT_ACTIONS)[number];
/** A known action, or a new one of the same shape; `Record<never, never>` keeps editor completion for known ones. */
export type AuditAction = KnownAuditAction | (string & Record<never, never>);

export type AuditActorType = 'user' | 'service' | 'system';

export interface AuditActor {
  readonly type: AuditActorType;
  /** null when the actor is unknown (a failed login for a name that has no account) or is the system. */
  readonly id: string | null;
}

export interface AuditTarget {
  readonly type: string;
  readonly id: string;
}

export interface AuditEvent {
  readonly chain: string;
  readonly action: AuditAction;
  readonly actor: AuditActor;
  readonly target?: AuditTarget;
  /** Free context. Never secrets; may name people, so it is column-encrypted. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditWriteDeps {
  readonly clock: Clock;
  readonly random: Pick<Random, 'id'>;
  readonly keyHierarchy: Pick<KeyHierarchy, 'columnCipher' | 'auditKey'>;
}

/** Reads page with the dialect's row limit, so they take the store (which knows its dialect), not a bare executor. */
export type AuditReader = Pick<Store, 'query' | 'dialect'>;

export interface AuditReadDeps {
  readonly keyHierarchy: Pick<KeyHierarchy, 'columnCipher'>;
}

export interface AuditVerifyDeps {
  readonly keyHierarchy: Pick<KeyHierarchy, 'auditKey'>;
}

/** The chain head does not match its MAC: someone rewrote it. Appending on top would hide that, so we refuse. */
export class AuditChainTamperedError extends Error {
  readonly code = 'audit_chain_tampered';
  constructor(readonly chain: string) {
    super('The audit chain head failed authentication; run `npx connectid verify-audit`');
    this.name = 'AuditChainTamperedError';
  }
}

const DETAILS_CONTEXT = 'audit_events.details';
const GENESIS_MAC = '0'.repeat(64);
const EVENT_MAC_LABEL = 'connectid.audit.event.v1';
const HEAD_MAC_LABEL = 'connectid.audit.head.v1';
const MAX_KEY_LENGTH = 200; // Dialect.key on SQL Server
const ACTION_SHAPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ACTOR_TYPES: readonly string[] = ['user', 'service', 'system'] satisfies readonly AuditActorType[];
// A guard against the obvious mistakes only; callers remain responsible for keeping secrets out of details.
const SECRET_DETAIL_KEYS = new Set(
  ['password', 'secret', 'client_secret', 'token', 'access_token', 'refresh_token', 'api_key', 'otp', 'recovery_code'].flatMap(
    (name) => [name, name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())],
  ),
);

/**
 * Appends `event` to its chain. Call it with the `tx` of the transaction that makes the change it records, so
 * both commit or neither does.
 *
 * - Load keys first: the column key is read through the store, which refuses use inside a transaction. Any
 *   earlier `keyHierarchy.columnCipher()` call (e.g. at start-up) is enough; it is cached for the process.
 * - Concurrency: the first statement bumps the chain head, which on SQL Server holds its row lock until the
 *   transaction ends, so appends to one chain serialize and get consecutive seqs. A transaction that appends to
 *   two chains should take them in one fixed order (organization before requester) so two cannot deadlock.
 * - The very first event of a chain inserts its head; two first events racing on SQL Server make one insert
 *   fail with UniqueViolationError. It propagates on purpose: the caller's transaction rolls back and can be
 *   retried as a whole, and then finds the head.
 */
export async function appendAudit(tx: SqlExecutor, deps: AuditWriteDeps, event: AuditEvent): Promise<{ id: string; seq: number }> {
  assertEvent(event);
  const { cipher, macKey } = await loadWriteKeys(deps.keyHierarchy);
  const { chain } = event;

  const bumped = await tx.execute(
    sql('UPDATE audit_chains SET last_seq = last_seq + 1 WHERE chain = @chain', { chain: p.text(chain) }),
  );
  let seq: number;
  let prevMac: string;
  if (bumped.rowsAffected === 0) {
    await tx.execute(
      sql('INSERT INTO audit_chains (chain, last_seq, last_mac, head_mac) VALUES (@chain, 1, @mac, @mac)', {
        chain: p.text(chain),
        mac: p.text(GENESIS_MAC),
      }),
    );
    seq = 1;
    prevMac = GENESIS_MAC;
  } else {
    const [head] = await tx.query<HeadRow>(
      sql('SELECT last_seq, last_mac, head_mac FROM audit_chains WHERE chain = @chain', { chain: p.text(chain) }),
    );
    if (!head) throw new Error('The audit chain head vanished inside the transaction');
    seq = Number(head.last_seq);
    prevMac = String(head.last_mac);
    if (!macMatches(String(head.head_mac), headMac(macKey, chain, seq - 1, prevMac))) throw new AuditChainTamperedError(chain);
  }

  const details = event.details === undefined ? null : cipher.encrypt(JSON.stringify(event.details), DETAILS_CONTEXT);
  const fields: MacFields = {
    chain,
    seq,
    id: deps.random.id(),
    occurredAt: deps.clock.now().getTime(),
    actorType: event.actor.type,
    actorId: event.actor.id,
    action: event.action,
    targetType: event.target?.type ?? null,
    targetId: event.target?.id ?? null,
    detailsHex: details ? details.toString('hex') : '',
    prevMac,
  };
  const mac = eventMac(macKey, fields);
  await tx.execute(
    sql(
      `INSERT INTO audit_events (chain, seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id, details, prev_mac, mac)
       VALUES (@chain, @seq, @id, @occurredAt, @actorType, @actorId, @action, @targetType, @targetId, @details, @prevMac, @mac)`,
      {
        chain: p.text(chain),
        seq: p.bigint(seq),
        id: p.text(fields.id),
        occurredAt: p.bigint(fields.occurredAt),
        actorType: p.text(fields.actorType),
        actorId: p.text(fields.actorId),
        action: p.text(fields.action),
        targetType: p.text(fields.targetType),
        targetId: p.text(fields.targetId),
        details: p.blob(details),
        prevMac: p.text(prevMac),
        mac: p.text(mac),
      },
    ),
  );
  await tx.execute(
    sql('UPDATE audit_chains SET last_mac = @mac, head_mac = @headMac WHERE chain = @chain', {
      chain: p.text(chain),
      mac: p.text(mac),
      headMac: p.text(headMac(macKey, chain, seq, mac)),
    }),
  );
  return { id: fields.id, seq };
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface AuditFilter {
  readonly action?: string;
  readonly actorId?: string;
  /** Inclusive. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
  /** 1..200, default 50. */
  readonly limit?: number;
  /** nextCursor of the previous page. */
  readonly cursor?: string | null;
}

export interface AuditItem {
  readonly id: string;
  readonly seq: number;
  /** RFC 3339 UTC. */
  readonly occurredAt: string;
  readonly actor: AuditActor;
  readonly action: string;
  readonly target: AuditTarget | null;
  readonly details: Record<string, unknown> | null;
}

export interface AuditPage {
  readonly items: AuditItem[];
  readonly nextCursor: string | null;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

/**
 * One page of a chain, newest first (by seq: the order the chain committed them, which clocks on several
 * instances need not agree with). Throws ApiError invalid_request for a bad limit or cursor.
 */
export async function listAudit(store: AuditReader, deps: AuditReadDeps, chain: string, filter: AuditFilter = {}): Promise<AuditPage> {
  const limit = filter.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw errors.invalidRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`, [{ path: 'limit', message: 'out of range' }]);
  }
  const beforeSeq = filter.cursor ? decodeCursor(filter.cursor) : null;
  const from = filter.from ? timeOf(filter.from, 'from') : null;
  const to = filter.to ? timeOf(filter.to, 'to') : null;

  // Each condition is a constant fragment; values still travel only as parameters.
  const conditions = ['chain = @chain'];
  const params: Record<string, SqlParam> = { chain: p.text(chain), limit: p.int(limit + 1) };
  if (beforeSeq !== null) {
    conditions.push('seq < @beforeSeq');
    params.beforeSeq = p.bigint(beforeSeq);
  }
  if (filter.action !== undefined) {
    conditions.push('action = @action');
    params.action = p.text(filter.action);
  }
  if (filter.actorId !== undefined) {
    conditions.push('actor_id = @actorId');
    params.actorId = p.text(filter.actorId);
  }
  if (from !== null) {
    conditions.push('occurred_at >= @from');
    params.from = p.bigint(from);
  }
  if (to !== null) {
    conditions.push('occurred_at < @to');
    params.to = p.bigint(to);
  }
  const rows = await store.query<EventRow>(
    sql(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE ${conditions.join(' AND ')} ORDER BY seq DESC${limitFor(store)}`, params),
  );
  const page = rows.slice(0, limit);
  const cipher = page.some((row) => row.details !== null) ? await deps.keyHierarchy.columnCipher() : null;
  const items = page.map((row): AuditItem => {
    const details = row.details === null || !cipher ? null : (JSON.parse(cipher.decrypt(row.details, DETAILS_CONTEXT)) as Record<string, unknown>);
    return {
      id: row.id,
      seq: Number(row.seq),
      occurredAt: new Date(Number(row.occurred_at)).toISOString(),
      actor: { type: row.actor_type as AuditActorType, id: row.actor_id },
      action: row.action,
      target: row.target_type !== null && row.target_id !== null ? { type: row.target_type, id: row.target_id } : null,
      details,
    };
  });
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null };
}

const CSV_COLUMNS = ['id', 'seq', 'occurredAt', 'actorType', 'actorId', 'action', 'targetType', 'targetId', 'details'] as const;

/**
 * The whole filtered chain as RFC 4180 CSV (CRLF, every field quoted), newest first, one page at a time so an
 * export never holds the chain in memory. Cells that a spreadsheet would run as a formula get a leading `'`.
 */
export async function* auditCsvChunks(
  store: AuditReader,
  deps: AuditReadDeps,
  chain: string,
  filter: Omit<AuditFilter, 'limit' | 'cursor'> = {},
): AsyncGenerator<string> {
  yield csvRecord(CSV_COLUMNS);
  let cursor: string | null = null;
  do {
    const page: AuditPage = await listAudit(store, deps, chain, { ...filter, limit: MAX_LIMIT, cursor });
    if (page.items.length > 0) {
      yield page.items
        .map((item) =>
          csvRecord([
            item.id,
            String(item.seq),
            item.occurredAt,
            item.actor.type,
            item.actor.id,
            item.action,
            item.target?.type ?? null,
            item.target?.id ?? null,
            item.details === null ? null : JSON.stringify(item.details),
          ]),
        )
        .join('');
    }
    cursor = page.nextCursor;
  } while (cursor);
}

/** auditCsvChunks collected into one string. */
export async function auditCsv(
  store: AuditReader,
  deps: AuditReadDeps,
  chain: string,
  filter: Omit<AuditFilter, 'limit' | 'cursor'> = {},
): Promise<string> {
  let csv = '';
  for await (const chunk of auditCsvChunks(store, deps, chain, filter)) csv += chunk;
  return csv;
}

// ---------------------------------------------------------------------------------------------
// Verification

export type AuditProblemKind = 'mac_mismatch' | 'missing_event' | 'chain_head_mismatch';

export interface AuditProblem {
  readonly chain: string;
  readonly seq: number;
  readonly problem: AuditProblemKind;
}

export interface AuditVerification {
  readonly chainsChecked: number;
  readonly eventsChecked: number;
  readonly problems: AuditProblem[];
}

const VERIFY_PAGE_SIZE = 500;

/**
 * Recomputes every MAC and link of one chain, or of every chain (those with a head and those with events
 * only), reading a page of events at a time. Reports the first missing seq of each gap, and a deleted tail as
 * the first seq past the last event that remains.
 */
export async function verifyAudit(
  store: AuditReader,
  deps: AuditVerifyDeps,
  chain?: string,
  options: { pageSize?: number } = {},
): Promise<AuditVerification> {
  const pageSize = options.pageSize ?? VERIFY_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const macKey = await deps.keyHierarchy.auditKey();
  const result = { chainsChecked: 0, eventsChecked: 0, problems: [] as AuditProblem[] };
  const chains = chain === undefined ? allChains(store, pageSize) : oneChain(chain);
  for await (const name of chains) {
    const checked = await verifyChain(store, macKey, name, pageSize, result.problems);
    if (checked.exists) result.chainsChecked++;
    result.eventsChecked += checked.events;
  }
  return result;
}

async function verifyChain(
  store: AuditReader,
  macKey: Buffer,
  chain: string,
  pageSize: number,
  problems: AuditProblem[],
): Promise<{ exists: boolean; events: number }> {
  let events = 0;
  let expectedSeq = 1;
  let prevMac = GENESIS_MAC;
  let previousIntact = true;
  let lastSeq = 0;
  for (;;) {
    const rows = await store.query<EventRow>(
      sql(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE chain = @chain AND seq > @afterSeq ORDER BY seq${limitFor(store)}`, {
        chain: p.text(chain),
        afterSeq: p.bigint(lastSeq),
        limit: p.int(pageSize),
      }),
    );
    for (const row of rows) {
      events++;
      const seq = Number(row.seq);
      const gap = seq > expectedSeq;
      if (gap) problems.push({ chain, seq: expectedSeq, problem: 'missing_event' });
      const intact = macMatches(String(row.mac), eventMac(macKey, macFieldsOf(row)));
      // A valid row whose prev_mac does not name its valid predecessor was spliced in from another chain state.
      const linked = gap || !previousIntact || String(row.prev_mac) === prevMac;
      if (!intact || !linked) problems.push({ chain, seq, problem: 'mac_mismatch' });
      previousIntact = intact;
      prevMac = String(row.mac);
      expectedSeq = seq + 1;
      lastSeq = seq;
    }
    if (rows.length < pageSize) break;
  }

  const [head] = await store.query<HeadRow>(
    sql('SELECT last_seq, last_mac, head_mac FROM audit_chains WHERE chain = @chain', { chain: p.text(chain) }),
  );
  if (!head) {
    if (events > 0) problems.push({ chain, seq: lastSeq, problem: 'chain_head_mismatch' });
    return { exists: events > 0, events };
  }
  const headSeq = Number(head.last_seq);
  const headLastMac = String(head.last_mac);
  if (!macMatches(String(head.head_mac), headMac(macKey, chain, headSeq, headLastMac))) {
    problems.push({ chain, seq: headSeq, problem: 'chain_head_mismatch' });
  } else if (headSeq > lastSeq) {
    problems.push({ chain, seq: lastSeq + 1, problem: 'missing_event' });
  } else if (headSeq < lastSeq || headLastMac !== prevMac) {
    problems.push({ chain, seq: lastSeq, problem: 'chain_head_mismatch' });
  }
  return { exists: true, events };
}

async function* allChains(store: AuditReader, pageSize: number): AsyncGenerator<string> {
  let after = '';
  for (;;) {
    // A chain whose head row was deleted still has events, and is still checked.
    const rows = await store.query<{ chain: string }>(
      sql(
        `SELECT chain FROM audit_chains WHERE chain > @after UNION SELECT chain FROM audit_events WHERE chain > @after ORDER BY chain${limitFor(store)}`,
        { after: p.text(after), limit: p.int(pageSize) },
      ),
    );
    for (const row of rows) yield row.chain;
    const last = rows[rows.length - 1];
    if (!last || rows.length < pageSize) return;
    after = last.chain;
  }
}

async function* oneChain(chain: string): AsyncGenerator<string> {
  yield chain;
}

// ---------------------------------------------------------------------------------------------
// Plumbing

type HeadRow = { last_seq: number | string; last_mac: string; head_mac: string };

type EventRow = {
  chain: string;
  seq: number | string;
  id: string;
  occurred_at: number | string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Uint8Array | null;
  prev_mac: string;
  mac: string;
};

const EVENT_COLUMNS = 'chain, seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id, details, prev_mac, mac';

interface MacFields {
  readonly chain: string;
  readonly seq: number;
  readonly id: string;
  readonly occurredAt: number;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly detailsHex: string;
  readonly prevMac: string;
}

function eventMac(key: Buffer, f: MacFields): string {
  const canonical = JSON.stringify([
    EVENT_MAC_LABEL,
    f.chain,
    f.seq,
    f.id,
    f.occurredAt,
    f.actorType,
    f.actorId,
    f.action,
    f.targetType,
    f.targetId,
    f.detailsHex,
    f.prevMac,
  ]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

function headMac(key: Buffer, chain: string, lastSeq: number, lastMac: string): string {
  return createHmac('sha256', key).update(JSON.stringify([HEAD_MAC_LABEL, chain, lastSeq, lastMac]), 'utf8').digest('hex');
}

function macFieldsOf(row: EventRow): MacFields {
  return {
    chain: row.chain,
    seq: Number(row.seq),
    id: row.id,
    occurredAt: Number(row.occurred_at),
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    detailsHex: row.details === null ? '' : Buffer.from(row.details).toString('hex'),
    prevMac: row.prev_mac,
  };
}

function macMatches(stored: string, expected: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

async function loadWriteKeys(keyHierarchy: AuditWriteDeps['keyHierarchy']) {
  try {
    const [cipher, macKey] = await Promise.all([keyHierarchy.columnCipher(), keyHierarchy.auditKey()]);
    return { cipher, macKey };
  } catch (error) {
    if (error instanceof TypeError) {
      throw new TypeError('appendAudit needs the column key loaded before the transaction: await keyHierarchy.columnCipher() first', {
        cause: error,
      });
    }
    throw error;
  }
}

function limitFor(store: AuditReader): string {
  return dialectFor(store.dialect).limit('limit');
}

function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = Number(text);
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(seq)) {
    throw errors.invalidRequest('cursor is not one this API returned', [{ path: 'cursor', message: 'invalid' }]);
  }
  return seq;
}

function timeOf(date: Date, name: string): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw errors.invalidRequest(`${name} must be a valid time`, [{ path: name, message: 'invalid' }]);
  return ms;
}

const FORMULA_START = /^[=+\-@\t\r]/;

function csvRecord(fields: readonly (string | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** RFC 4180 §2: quote, double inner quotes. OWASP CSV injection: a leading ' keeps a cell from running as a formula. */
function csvField(value: string | null): string {
  if (value === null) return '""';
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

function assertEvent(event: AuditEvent): void {
  if (!isKey(event.chain)) {
    throw new TypeError(`An audit chain is a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
  if (typeof event.action !== 'string' || !ACTION_SHAPE.test(event.action) || event.action.length > MAX_KEY_LENGTH) {
    throw new TypeError('An audit action is a dotted lowercase name such as "api_key.created"');
  }
  if (!ACTOR_TYPES.includes(event.actor?.type)) throw new TypeError('An audit actor type is user, service or system');
  if (event.actor.id !== null && !isKey(event.actor.id)) throw new TypeError('An audit actor id is a non-empty string or null');
  if (event.target !== undefined && (!isKey(event.target.type) || !isKey(event.target.id))) {
    throw new TypeError('An audit target has a non-empty type and id');
  }
  if (event.details !== undefined) {
    if (typeof event.details !== 'object' || event.details === null || Array.isArray(event.details)) {
      throw new TypeError('Audit details are a plain object');
    }
    const secret = Object.keys(event.details).find((key) => SECRET_DETAIL_KEYS.has(key));
    if (secret) throw new TypeError(`Audit details must not carry secrets (found "${secret}")`);
  }
}

// A lone surrogate does not survive the trip through UTF-8 storage, so its MAC would never verify again.
function isKey(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KEY_LENGTH && !/\p{Surrogate}/u.test(value);
}

function nonEmpty(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${what} is a non-empty string`);
  return value;
}
