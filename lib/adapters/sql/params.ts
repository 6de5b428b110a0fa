/**
 * The vocabulary use cases write queries in, plus the little plumbing both Store adapters share.
 *
 *   store.query(sql('SELECT id FROM wrapped_keys WHERE purpose = @purpose', { purpose: p.text('org-kek') }))
 *
 * Values only ever travel as typed parameters; the SQL text is a constant in the code.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlParam, SqlStatement } from '../../ports';

export function sql(text: string, params: Record<string, SqlParam> = {}): SqlStatement {
  return Object.freeze({ text, params: Object.freeze({ ...params }) });
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

// TypeScript cannot tell an integer from a float; checking here turns a silent truncation (or an
// INT overflow that only SQL Server would report) into a RangeError at the call site.
function integer(value: number | null, min: number, max: number, kind: string): number | null {
  if (value !== null && (!Number.isSafeInteger(value) || value < min || value > max)) {
    throw new RangeError(`${kind} parameter must be an integer from ${min} to ${max}`);
  }
  return value;
}

export const p = {
  text: (value: string | null): SqlParam => ({ type: 'text', value }),
  int: (value: number | null): SqlParam => ({ type: 'int', value: integer(value, INT32_MIN, INT32_MAX, 'int') }),
  bigint: (value: number | null): SqlParam => ({
    type: 'bigint',
    value: integer(value, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'bigint'),
  }),
  blob: (value: Buffer | null): SqlParam => ({ type: 'blob', value }),
  bool: (value: boolean | null): SqlParam => ({ type: 'bool', value }),
} as const;

/**
 * A unique or primary-key constraint refused a write. Both adapters raise it, so use cases can
 * insert-then-catch instead of writing a dialect-specific upsert. The message names the constraint,
 * never the duplicate value (SQL Server puts the value in its message; it may be personal data).
 */
export class UniqueViolationError extends Error {
  constructor(message = 'Unique constraint violated') {
    super(message);
    this.name = 'UniqueViolationError';
  }
}

// ---------------------------------------------------------------------------------------------
// Adapter plumbing shared by the SQLite and SQL Server stores.

/** Runs tasks one at a time, in call order; a failing task does not stop the ones queued after it. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * Marks the async context of a running transaction. A store method called from inside `work` would
 * wait for the transaction that is waiting for it (SQLite: the queue; SQL Server: the row locks),
 * so it fails at once instead of hanging.
 */
export class TransactionScope {
  private readonly context = new AsyncLocalStorage<{ open: boolean }>();

  assertOutside(): void {
    if (this.context.getStore()?.open) {
      throw new TypeError('Inside transaction(work), run statements through the tx executor given to work, not the store');
    }
  }

  /** Runs `work` marked as inside; `isOpen` turns false once it settles, so a leaked `tx` refuses further use. */
  async run<T>(work: (isOpen: () => boolean) => Promise<T>): Promise<T> {
    const marker = { open: true };
    try {
      return await this.context.run(marker, () => work(() => marker.open));
    } finally {
      marker.open = false;
    }
  }
}

export function assertOpen(isOpen: () => boolean): void {
  if (!isOpen()) throw new TypeError('This transaction has ended; its tx executor can no longer be used');
}
