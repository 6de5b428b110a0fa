/**
 * Brute-force protection (DESIGN §5 "Brute force"): failed logins, MFA answers and token guesses are counted
 * per account and per client IP in `throttle_counters`, so every instance sees the same counts. Past a free
 * allowance each failure blocks the subject for a growing delay; while blocked, attempts are refused with
 * 429 + Retry-After before any password is checked.
 *
 * Use at a login (or MFA answer, or token redemption):
 *
 *   const subjects = [throttleSubjects.accountSubject('login', normalizeEmail(username)), throttleSubjects.ipSubject('login', clientIp)];
 *   await assertNotThrottled(store, clock, subjects);          // before argon2: a blocked attacker learns nothing, costs nothing
 *   if (!passwordOk) {
 *     const { lockoutEngaged } = await recordFailure(store, clock, subjects);
 *     if (lockoutEngaged) ...email the account owner...;
 *     throw ...the usual invalid-credentials error...;
 *   }
 *   await recordSuccess(store, subjects);
 *
 * Count the attempted username even when no such account exists, so the throttle does not reveal which exist.
 */
import { isIP } from 'node:net';
import { UniqueViolationError, p, sql } from '../../adapters/sql/params';
import { errors } from '../../errors';
import type { Clock, SqlExecutor, SqlParam } from '../../ports';

// ---------------------------------------------------------------------------------------------
// Policy

/**
 * Failures an account may have before delays start. Five absorbs honest typos and a caps-lock moment, while an
 * online guesser then needs ~2^n seconds per try: about 100 guesses a day against one account once capped.
 */
export const ACCOUNT_FREE_FAILURES = 5;
/**
 * Failures one client address may have before delays start. Higher than per account because many people can
 * share an address (office NAT, carrier-grade NAT, an IPv6 /64), yet low enough that spraying one password
 * across many accounts from one address is slowed as much as guessing many passwords for one account.
 */
export const IP_FREE_FAILURES = 20;
/**
 * The longest single delay (15 minutes). Longer would let an attacker lock a real owner out for hours just
 * by knowing the username; 15 minutes keeps guessing impractical (≤ 96 tries a day) at a bearable cost to the owner.
 */
export const MAX_DELAY_IN_SECONDS = 15 * 60;
/** Counters start over after a quiet day: old typos should not haunt tomorrow's login. */
export const RESET_AFTER_QUIET_IN_SECONDS = 24 * 60 * 60;

/**
 * The delay after the `failures`-th failure: nothing for the free ones, then 1 s, 2 s, 4 s … doubling,
 * capped at MAX_DELAY_IN_SECONDS. Doubling is gentle for a person retrying and ruinous for a script.
 */
export function delayInSecondsAfter(failures: number, freeFailures: number): number {
  const paid = failures - freeFailures;
  if (paid <= 0) return 0;
  // Capping the exponent first keeps 2 ** n finite for absurd counts.
  return Math.min(2 ** Math.min(paid - 1, 30), MAX_DELAY_IN_SECONDS);
}

/** The account failure at which the delay first reaches its cap: that is "lockout" and the owner is told. */
export const ACCOUNT_LOCKOUT_AT_FAILURES = firstFailureAtCap(ACCOUNT_FREE_FAILURES);

function firstFailureAtCap(freeFailures: number): number {
  let failures = freeFailures + 1;
  while (delayInSecondsAfter(failures, freeFailures) < MAX_DELAY_IN_SECONDS) failures++;
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Subjects

export type ThrottleKind = 'login' | 'mfa' | 'token';

/** A keyed one-way function (in the app: ColumnCipher.blindIndex(value, 'throttle')). */
export type KeyedHash = (value: string) => string;

export interface ThrottleSubjects {
  /** `acct:<kind>:<keyed hash>`. Pass a normalized identifier (e.g. normalizeEmail(username)) so case does not split counts. */
  accountSubject(kind: ThrottleKind, accountKey: string): string;
  /** `ip:<kind>:<keyed hash>` of the address as grouped by normalizeIpForThrottle. */
  ipSubject(kind: ThrottleKind, ip: string): string;
}

const ACCOUNT_PREFIX = 'acct:';
const IP_PREFIX = 'ip:';
// The subject is a primary key: DESIGN's key columns are NVARCHAR(200) on SQL Server.
const MAX_SUBJECT_LENGTH = 200;

/**
 * Subjects are keyed hashes, never raw identifiers: an IP address is personal data (GDPR, CJEU C-582/14) and an
 * email is too, so neither may sit in this table in the clear, and an unkeyed hash of an IPv4 address is
 * reversible by trying all 2^32.
 */
export function createThrottleSubjects(keyedHash: KeyedHash): ThrottleSubjects {
  const subject = (prefix: string, kind: ThrottleKind, value: string): string => {
    const hash = keyedHash(value);
    if (hash.length === 0 || hash === value) throw new TypeError('The throttle needs a keyed hash function, not the identity');
    const result = `${prefix}${kind}:${hash}`;
    if (result.length > MAX_SUBJECT_LENGTH) throw new RangeError(`A throttle subject must fit in ${MAX_SUBJECT_LENGTH} characters`);
    return result;
  };
  return Object.freeze({
    accountSubject: (kind: ThrottleKind, accountKey: string) => subject(ACCOUNT_PREFIX, kind, accountKey),
    ipSubject: (kind: ThrottleKind, ip: string) => subject(IP_PREFIX, kind, normalizeIpForThrottle(ip)),
  });
}

/** Every address that cannot be read shares this one bucket: failing closed, they throttle together rather than escape. */
export const UNREADABLE_ADDRESS = 'unreadable';

/**
 * The group an address is throttled as. IPv4 stays as is; an IPv4-mapped IPv6 address (::ffff:a.b.c.d, how a
 * dual-stack socket reports IPv4 clients) becomes its IPv4 form so one client has one counter; other IPv6
 * addresses become their /64, because one subscriber usually holds a whole /64 (RFC 6177) and could otherwise
 * rotate through 2^64 addresses. A port (`1.2.3.4:5678`, `[::1]:5678`, as some proxies forward it) and a
 * zone (`%eth0`) are dropped. Pass one address: picking it out of X-Forwarded-For is the caller's job.
 */
export function normalizeIpForThrottle(raw: string): string {
  let text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1] ?? '';
  else if (/^[\d.]+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);

  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return UNREADABLE_ADDRESS;
  const groups = ipv6Groups(text);
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff && g6 !== undefined && g7 !== undefined) {
    return `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of an address that net.isIP already accepted as IPv6. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const headGroups = parse(head);
  if (rest === undefined) return headGroups;
  const restGroups = parse(rest);
  return [...headGroups, ...new Array<number>(8 - headGroups.length - restGroups.length).fill(0), ...restGroups];
}

// ---------------------------------------------------------------------------------------------
// Operations

/**
 * Refuses with 429 + Retry-After while any of `subjects` is blocked. Call it before verifying the secret: a
 * blocked attacker then learns nothing from the answer, and costs us no argon2.
 */
export async function assertNotThrottled(store: SqlExecutor, clock: Clock, subjects: readonly string[]): Promise<void> {
  const unique = uniqueSubjects(subjects);
  if (unique.length === 0) return;
  const now = clock.now().getTime();
  const params: Record<string, SqlParam> = {};
  unique.forEach((subject, index) => (params[`s${index}`] = p.text(subject)));
  // Only placeholders are generated; the values still travel as parameters.
  const placeholders = unique.map((_, index) => `@s${index}`).join(', ');
  const rows = await store.query<{ blocked_until: number | string | null }>(
    sql(`SELECT blocked_until FROM throttle_counters WHERE subject IN (${placeholders}) AND blocked_until > @now`, {
      ...params,
      now: p.bigint(now),
    }),
  );
  const blockedUntil = Math.max(...rows.map((row) => Number(row.blocked_until)), now);
  if (blockedUntil > now) throw errors.tooManyRequests((blockedUntil - now) / 1000);
}

export interface FailureOutcome {
  /**
   * True for exactly one failure per lockout: the one whose account delay first reached the cap. Email the
   * owner then. Further failures in the same streak (until a success or a quiet day) stay false.
   */
  readonly lockoutEngaged: boolean;
}

/**
 * Counts one failure against each subject and blocks it for its policy's delay. Safe when instances record
 * the same subject at once: the count is an atomic `failures + 1`, never read-modify-write. Pass `tx` to
 * record inside your own transaction.
 */
export async function recordFailure(
  store: SqlExecutor,
  clock: Clock,
  subjects: readonly string[],
  tx?: SqlExecutor,
): Promise<FailureOutcome> {
  const db = tx ?? store;
  const now = clock.now().getTime();
  let lockoutEngaged = false;
  for (const subject of uniqueSubjects(subjects)) {
    const freeFailures = isAccountSubject(subject) ? ACCOUNT_FREE_FAILURES : IP_FREE_FAILURES;
    await increment(db, subject, now);
    const [row] = await db.query<{ failures: number | string }>(
      sql('SELECT failures FROM throttle_counters WHERE subject = @subject', { subject: p.text(subject) }),
    );
    // Gone only if a success or the sweep deleted it in between; nothing left to block then.
    if (!row) continue;
    const delayInSeconds = delayInSecondsAfter(Number(row.failures), freeFailures);
    if (delayInSeconds === 0) continue;
    // Another instance may have counted further and blocked for longer: only ever extend a block.
    const until = now + delayInSeconds * 1000;
    await db.execute(
      sql(
        'UPDATE throttle_counters SET blocked_until = @until WHERE subject = @subject AND (blocked_until IS NULL OR blocked_until < @until)',
        { subject: p.text(subject), until: p.bigint(until) },
      ),
    );
    if (isAccountSubject(subject) && delayInSeconds >= MAX_DELAY_IN_SECONDS) {
      // The conditional write succeeds for one caller only, however many instances race here.
      const claimed = await db.execute(
        sql(
          'UPDATE throttle_counters SET lockout_notified_at = @now WHERE subject = @subject AND lockout_notified_at IS NULL',
          { subject: p.text(subject), now: p.bigint(now) },
        ),
      );
      if (claimed.rowsAffected === 1) lockoutEngaged = true;
    }
  }
  return { lockoutEngaged };
}

/**
 * Clears the account counters after a successful authentication. Address counters stay: a success from an
 * address must not wash out the failures it produced against other accounts (password spraying).
 */
export async function recordSuccess(store: SqlExecutor, subjects: readonly string[], tx?: SqlExecutor): Promise<void> {
  const db = tx ?? store;
  for (const subject of uniqueSubjects(subjects)) {
    if (!isAccountSubject(subject)) continue;
    await db.execute(sql('DELETE FROM throttle_counters WHERE subject = @subject', { subject: p.text(subject) }));
  }
}

/** Deletes counters quiet for a day and not blocked (the purge timer calls this). Returns the rows deleted. */
export async function sweepThrottle(store: SqlExecutor, clock: Clock): Promise<number> {
  const now = clock.now().getTime();
  const { rowsAffected } = await store.execute(
    sql(
      'DELETE FROM throttle_counters WHERE last_failure_at <= @quietSince AND (blocked_until IS NULL OR blocked_until <= @now)',
      { quietSince: p.bigint(now - RESET_AFTER_QUIET_IN_SECONDS * 1000), now: p.bigint(now) },
    ),
  );
  return rowsAffected;
}

// Enough for any realistic interleaving of inserts and deletes; beyond it something is badly wrong.
const MAX_INCREMENT_ATTEMPTS = 5;

/**
 * failures + 1 in one statement (or a fresh row), restarting the count after a quiet day. Portable on purpose:
 * SQLite's upsert and SQL Server's MERGE differ, so update first, insert when there was nothing to update, and
 * when another instance inserted first (unique violation), update again.
 */
async function increment(db: SqlExecutor, subject: string, now: number): Promise<void> {
  const insertParams = { subject: p.text(subject), now: p.bigint(now) };
  const updateParams = { ...insertParams, quietSince: p.bigint(now - RESET_AFTER_QUIET_IN_SECONDS * 1000) };
  for (let attempt = 0; attempt < MAX_INCREMENT_ATTEMPTS; attempt++) {
    // SET expressions all see the row as it was before the update, so the CASEs read the old last_failure_at.
    const updated = await db.execute(
      sql(
        `UPDATE throttle_counters SET
          failures = CASE WHEN last_failure_at <= @quietSince THEN 1 ELSE failures + 1 END,
          first_failure_at = CASE WHEN last_failure_at <= @quietSince THEN @now ELSE first_failure_at END,
          lockout_notified_at = CASE WHEN last_failure_at <= @quietSince THEN NULL ELSE lockout_notified_at END,
          last_failure_at = @now
        WHERE subject = @subject`,
        updateParams,
      ),
    );
    if (updated.rowsAffected > 0) return;
    try {
      await db.execute(
        sql(
          `INSERT INTO throttle_counters (subject, failures, first_failure_at, last_failure_at, blocked_until, lockout_notified_at)
          VALUES (@subject, 1, @now, @now, NULL, NULL)`,
          insertParams,
        ),
      );
      return;
    } catch (error) {
      if (!(error instanceof UniqueViolationError)) throw error;
    }
  }
  throw new Error('Could not record a throttle failure: the counter kept appearing and disappearing');
}

function isAccountSubject(subject: string): boolean {
  if (subject.startsWith(ACCOUNT_PREFIX)) return true;
  if (subject.startsWith(IP_PREFIX)) return false;
  throw new TypeError('Throttle subjects come from createThrottleSubjects');
}

function uniqueSubjects(subjects: readonly string[]): string[] {
  const unique = [...new Set(subjects)];
  unique.forEach(isAccountSubject);
  return unique;
}
