import { createSqliteStore } from '../../../lib/adapters/sqlite/sqliteStore';
import { sqliteDialect } from '../../../lib/adapters/sql/dialect';
import { MIGRATIONS, runMigrations } from '../../../lib/adapters/sql/migrations';
import { UniqueViolationError, p, sql } from '../../../lib/adapters/sql/params';
import { ColumnCipher } from '../../../lib/crypto/columnCipher';
import {
  ACCOUNT_FREE_FAILURES,
  ACCOUNT_LOCKOUT_AT_FAILURES,
  IP_FREE_FAILURES,
  MAX_DELAY_IN_SECONDS,
  RESET_AFTER_QUIET_IN_SECONDS,
  UNREADABLE_ADDRESS,
  assertNotThrottled,
  createThrottleSubjects,
  delayInSecondsAfter,
  normalizeIpForThrottle,
  recordFailure,
  recordSuccess,
  sweepThrottle,
} from '../../../lib/domain/throttle/throttle';
import { ApiError } from '../../../lib/errors';
import type { SqlExecutor, Store } from '../../../lib/ports';
import { FakeClock } from '../../helpers/testApp';

const SECOND = 1000;
const HOUR = 60 * 60 * SECOND;

const cipher = new ColumnCipher(Buffer.alloc(32, 7));
const subjects = createThrottleSubjects((value) => cipher.blindIndex(value, 'throttle'));
const ada = subjects.accountSubject('login', 'ada@example.com');
const bob = subjects.accountSubject('login', 'bob@example.com');
const adaIp = subjects.ipSubject('login', '203.0.113.7');
const otherIp = subjects.ipSubject('login', '198.51.100.9');

let store: Store;
let clock: FakeClock;

beforeEach(async () => {
  store = createSqliteStore({ file: ':memory:' });
  await runMigrations(store, sqliteDialect, MIGRATIONS);
  clock = new FakeClock();
});

afterEach(async () => {
  await store.close();
});

/** The ApiError an attempt is refused with, or null when it may go ahead. */
async function refusal(checked: readonly string[]): Promise<ApiError | null> {
  try {
    await assertNotThrottled(store, clock, checked);
    return null;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

function retryAfterOf(error: ApiError | null): string | undefined {
  return error?.extra.headers?.['Retry-After'];
}

async function fail(times: number, failed: readonly string[]): Promise<boolean[]> {
  const engaged: boolean[] = [];
  for (let i = 0; i < times; i++) engaged.push((await recordFailure(store, clock, failed)).lockoutEngaged);
  return engaged;
}

async function failuresOf(subject: string): Promise<number | null> {
  const [row] = await store.query<{ failures: number }>(
    sql('SELECT failures FROM throttle_counters WHERE subject = @subject', { subject: p.text(subject) }),
  );
  return row ? Number(row.failures) : null;
}

describe('the throttle policy', () => {
  it('lets an account fail five times for free, then waits 1 s, 2 s, 4 s … up to 15 minutes', () => {
    expect(ACCOUNT_FREE_FAILURES).toBe(5);
    expect(MAX_DELAY_IN_SECONDS).toBe(900);
    const delays = Array.from({ length: 20 }, (_, i) => delayInSecondsAfter(i + 1, ACCOUNT_FREE_FAILURES));
    expect(delays).toEqual([0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900]);
    expect(delayInSecondsAfter(1_000_000, ACCOUNT_FREE_FAILURES)).toBe(900);
  });

  it('lets an address fail twenty times for free', () => {
    expect(IP_FREE_FAILURES).toBe(20);
    expect(delayInSecondsAfter(20, IP_FREE_FAILURES)).toBe(0);
    expect(delayInSecondsAfter(21, IP_FREE_FAILURES)).toBe(1);
  });

  it('calls it a lockout at the sixteenth account failure, where the delay first reaches its cap', () => {
    expect(ACCOUNT_LOCKOUT_AT_FAILURES).toBe(16);
    expect(RESET_AFTER_QUIET_IN_SECONDS).toBe(24 * 60 * 60);
  });
});

describe('throttling an account', () => {
  it('lets five failures pass freely', async () => {
    await fail(5, [ada]);
    expect(await refusal([ada])).toBeNull();
  });

  it('blocks after the sixth failure for 1 s, the seventh for 2 s, growing and capped at 900 s', async () => {
    await fail(5, [ada]);
    const retryAfters: string[] = [];
    for (let failure = 6; failure <= 18; failure++) {
      await fail(1, [ada]);
      const refused = await refusal([ada]);
      expect(refused?.status).toBe(429);
      expect(refused?.code).toBe('too_many_requests');
      retryAfters.push(retryAfterOf(refused) ?? 'none');
      clock.advance(delayInSecondsAfter(failure, ACCOUNT_FREE_FAILURES) * SECOND);
    }
    expect(retryAfters).toEqual(['1', '2', '4', '8', '16', '32', '64', '128', '256', '512', '900', '900', '900']);
  });

  it('rounds Retry-After up to whole seconds and never says 0', async () => {
    await fail(8, [ada]); // blocked for 4 s
    clock.advance(1500);
    expect(retryAfterOf(await refusal([ada]))).toBe('3');
    clock.advance(2499);
    expect(retryAfterOf(await refusal([ada]))).toBe('1');
  });

  it('releases the account once the delay has passed', async () => {
    await fail(7, [ada]); // blocked for 2 s
    clock.advance(2 * SECOND - 1);
    expect(await refusal([ada])).not.toBeNull();
    clock.advance(1);
    expect(await refusal([ada])).toBeNull();
  });

  it('refuses a blocked attempt before the caller would check the password', async () => {
    const verifyPassword = jest.fn(async () => false);
    const login = async (): Promise<void> => {
      await assertNotThrottled(store, clock, [ada, adaIp]);
      if (!(await verifyPassword())) await recordFailure(store, clock, [ada, adaIp]);
    };
    for (let i = 0; i < 6; i++) await login();
    expect(verifyPassword).toHaveBeenCalledTimes(6);

    await expect(login()).rejects.toMatchObject({ status: 429, code: 'too_many_requests' });
    expect(verifyPassword).toHaveBeenCalledTimes(6);
    expect(await failuresOf(ada)).toBe(6);
  });

  it('engages the lockout exactly once per lockout, at the failure that reaches the cap', async () => {
    const engagedAt: number[] = [];
    for (let failure = 1; failure <= 25; failure++) {
      if ((await recordFailure(store, clock, [ada, adaIp])).lockoutEngaged) engagedAt.push(failure);
      clock.advance(MAX_DELAY_IN_SECONDS * SECOND);
    }
    expect(engagedAt).toEqual([ACCOUNT_LOCKOUT_AT_FAILURES]);
  });

  it('engages a new lockout after a success ends the streak', async () => {
    expect((await fail(16, [ada])).filter(Boolean)).toHaveLength(1);
    await recordSuccess(store, [ada]);
    const second = await fail(16, [ada]);
    expect(second.indexOf(true)).toBe(15);
    expect(second.filter(Boolean)).toHaveLength(1);
  });

  it('engages a new lockout after a quiet day ends the streak', async () => {
    await fail(16, [ada]);
    clock.advance(RESET_AFTER_QUIET_IN_SECONDS * SECOND);
    const second = await fail(16, [ada]);
    expect(second.indexOf(true)).toBe(15);
  });

  it('never reports a lockout for an address, however many failures', async () => {
    expect((await fail(60, [adaIp])).some(Boolean)).toBe(false);
  });
});

describe('throttling a client address', () => {
  it('blocks the address after twenty failures spread over many accounts', async () => {
    for (let i = 1; i <= IP_FREE_FAILURES; i++) {
      await recordFailure(store, clock, [subjects.accountSubject('login', `user${i}@example.com`), adaIp]);
    }
    expect(await refusal([bob, adaIp])).toBeNull();

    await recordFailure(store, clock, [subjects.accountSubject('login', 'user21@example.com'), adaIp]);
    const refused = await refusal([bob, adaIp]);
    expect(refused?.code).toBe('too_many_requests');
    expect(retryAfterOf(refused)).toBe('1');
  });

  it('keeps the address count independent of the account count', async () => {
    await fail(6, [ada, adaIp]);
    expect(await refusal([ada, otherIp])).not.toBeNull();
    expect(await refusal([bob, adaIp])).toBeNull();
    expect(await failuresOf(adaIp)).toBe(6);
  });

  it('checks both subjects of one call', async () => {
    await fail(6, [ada]);
    expect((await refusal([ada, otherIp]))?.code).toBe('too_many_requests');
    expect((await refusal([otherIp, ada]))?.code).toBe('too_many_requests');

    await fail(21, [adaIp]);
    expect((await refusal([bob, adaIp]))?.code).toBe('too_many_requests');
    expect(await refusal([bob, otherIp])).toBeNull();
  });

  it('answers with the longest of the blocks', async () => {
    await fail(8, [ada]); // 4 s
    await fail(22, [adaIp]); // 2 s
    expect(retryAfterOf(await refusal([adaIp, ada]))).toBe('4');
  });
});

describe('recording a success', () => {
  it('clears the account but not the address', async () => {
    await fail(6, [ada, adaIp]);
    await recordSuccess(store, [ada, adaIp]);
    expect(await failuresOf(ada)).toBeNull();
    expect(await failuresOf(adaIp)).toBe(6);
    expect(await refusal([ada])).toBeNull();
  });
});

describe('forgetting old failures', () => {
  it('keeps counting while failures are less than a day apart', async () => {
    await fail(5, [ada]);
    clock.advance(RESET_AFTER_QUIET_IN_SECONDS * SECOND - 1);
    await fail(1, [ada]);
    expect(await failuresOf(ada)).toBe(6);
    expect(await refusal([ada])).not.toBeNull();
  });

  it('starts the count over after a quiet day', async () => {
    await fail(6, [ada]);
    clock.advance(RESET_AFTER_QUIET_IN_SECONDS * SECOND);
    await fail(1, [ada]);
    expect(await failuresOf(ada)).toBe(1);
    expect(await refusal([ada])).toBeNull();
  });

  it('sweeps counters quiet for a day and keeps recent and blocked ones', async () => {
    await fail(3, [ada]);
    clock.advance(RESET_AFTER_QUIET_IN_SECONDS * SECOND);
    await fail(3, [bob]);
    // A block set by an instance whose clock ran far ahead: old last failure, still blocked.
    await store.execute(
      sql(
        'INSERT INTO throttle_counters (subject, failures, first_failure_at, last_failure_at, blocked_until, lockout_notified_at) ' +
          'VALUES (@subject, 30, 0, 0, @blockedUntil, NULL)',
        { subject: p.text(adaIp), blockedUntil: p.bigint(clock.now().getTime() + HOUR) },
      ),
    );

    expect(await sweepThrottle(store, clock)).toBe(1);
    expect(await failuresOf(ada)).toBeNull();
    expect(await failuresOf(bob)).toBe(3);
    expect(await failuresOf(adaIp)).toBe(30);
  });
});

describe('throttle subjects', () => {
  it('never store the raw email or address', async () => {
    await fail(6, [ada, adaIp]);
    const rows = await store.query<{ subject: string }>(sql('SELECT * FROM throttle_counters'));
    expect(rows.map((row) => row.subject).sort()).toEqual([ada, adaIp].sort());
    const stored = JSON.stringify(rows);
    for (const secret of ['ada', 'example.com', '203.0.113', '203', '113.7']) expect(stored).not.toContain(secret);
    expect(ada).toMatch(/^acct:login:[0-9a-f]{64}$/);
    expect(adaIp).toMatch(/^ip:login:[0-9a-f]{64}$/);
  });

  it('separate the kinds, so login failures do not throttle MFA answers', async () => {
    const adaMfa = subjects.accountSubject('mfa', 'ada@example.com');
    expect(adaMfa).not.toBe(ada);
    await fail(6, [ada]);
    expect(await refusal([adaMfa])).toBeNull();
  });

  it('group an IPv6 address by its /64', () => {
    expect(normalizeIpForThrottle('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(normalizeIpForThrottle('2001:0DB8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(normalizeIpForThrottle('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(subjects.ipSubject('login', '2001:db8:1:2::1')).toBe(subjects.ipSubject('login', '2001:db8:1:2:9:9:9:9'));
    expect(subjects.ipSubject('login', '2001:db8:1:2::1')).not.toBe(subjects.ipSubject('login', '2001:db8:1:3::1'));
  });

  it('treat an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(normalizeIpForThrottle('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(normalizeIpForThrottle('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(subjects.ipSubject('login', '::ffff:203.0.113.7')).toBe(adaIp);
  });

  it('drop ports, brackets, zones and surrounding spaces', () => {
    expect(normalizeIpForThrottle(' 203.0.113.7:51234 ')).toBe('203.0.113.7');
    expect(normalizeIpForThrottle('[2001:db8:1:2::1]:443')).toBe('2001:db8:1:2::/64');
    expect(normalizeIpForThrottle('[::ffff:203.0.113.7]')).toBe('203.0.113.7');
    expect(normalizeIpForThrottle('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('put every unreadable address in one shared bucket', () => {
    expect(normalizeIpForThrottle('')).toBe(UNREADABLE_ADDRESS);
    expect(normalizeIpForThrottle('not an address')).toBe(UNREADABLE_ADDRESS);
    expect(subjects.ipSubject('login', 'garbage')).toBe(subjects.ipSubject('login', 'other garbage'));
  });

  it('refuse an identity function in place of a keyed hash', () => {
    const plain = createThrottleSubjects((value) => value);
    expect(() => plain.accountSubject('login', 'ada@example.com')).toThrow(TypeError);
  });

  it('refuse subjects that were not made by createThrottleSubjects', async () => {
    await expect(recordFailure(store, clock, ['ada@example.com'])).rejects.toThrow(TypeError);
    await expect(assertNotThrottled(store, clock, ['203.0.113.7'])).rejects.toThrow(TypeError);
  });
});

describe('recording concurrently', () => {
  it('counts thirty simultaneous failures exactly, and engages the lockout once', async () => {
    // Counts the inserts that lost the race, to show the retry path really ran.
    let lostInserts = 0;
    const counting: SqlExecutor = {
      query: (statement) => store.query(statement),
      execute: (statement) =>
        store.execute(statement).catch((error: unknown) => {
          if (error instanceof UniqueViolationError) lostInserts++;
          throw error;
        }),
    };
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => recordFailure(counting, clock, [ada, adaIp])));
    expect(lostInserts).toBeGreaterThan(0);
    expect(await failuresOf(ada)).toBe(30);
    expect(await failuresOf(adaIp)).toBe(30);
    expect(outcomes.filter((outcome) => outcome.lockoutEngaged)).toHaveLength(1);
    expect(retryAfterOf(await refusal([ada]))).toBe('900');
  });
});

describe('recording inside a caller transaction', () => {
  it('commits the failure with the transaction', async () => {
    await store.transaction((tx) => recordFailure(store, clock, [ada], tx));
    expect(await failuresOf(ada)).toBe(1);
  });

  it('rolls the failure back with the transaction', async () => {
    await expect(
      store.transaction(async (tx) => {
        await recordFailure(store, clock, [ada], tx);
        throw new Error('the caller changed its mind');
      }),
    ).rejects.toThrow('the caller changed its mind');
    expect(await failuresOf(ada)).toBeNull();
  });

  it('clears the account inside the transaction too', async () => {
    await fail(6, [ada]);
    await store.transaction((tx) => recordSuccess(store, [ada], tx));
    expect(await failuresOf(ada)).toBeNull();
  });
});
