/**
 * Cursor pagination (DESIGN §5: `?limit=&cursor=` → `{ items, nextCursor }`). A cursor is the opaque
 * base64url of the last key seen; it is validated on the way back in, so a forged cursor is a 400.
 */
import { dialectFor } from '../adapters/sql/dialect';
import { errors } from '../errors';
import type { SqlDialectName } from '../ports';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface Page {
  readonly limit: number;
  readonly after: string | null;
}

export function parsePage(query: URLSearchParams, keyPattern: RegExp = /^[A-Za-z0-9_.:-]{1,200}$/): Page {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? DEFAULT_PAGE_SIZE : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw errors.invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`, [{ path: 'limit', message: 'Out of range' }]);
  }
  const cursor = query.get('cursor');
  if (cursor === null || cursor === '') return { limit, after: null };
  const after = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!keyPattern.test(after)) throw errors.invalidRequest('The cursor is not valid', [{ path: 'cursor', message: 'Not a cursor from this API' }]);
  return { limit, after };
}

/** Fetch `limit + 1` rows; this trims the extra one and turns it into the next cursor. */
export function toPage<T>(rows: readonly T[], limit: number, keyOf: (row: T) => string): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? Buffer.from(keyOf(last), 'utf8').toString('base64url') : null };
}

export function limitClause(dialect: SqlDialectName, paramName = 'limit'): string {
  return dialectFor(dialect).limit(paramName);
}
