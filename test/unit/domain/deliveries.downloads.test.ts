import { chooseRange } from '../../../lib/domain/deliveries/downloads';
import { ApiError } from '../../../lib/errors';

const ETAG = '"abc"';
const choose = (range: string | null, size = 1000, ifRange: string | null = null) => chooseRange(range, ifRange, ETAG, size);

function unsatisfiable(range: string, size = 1000): ApiError {
  try {
    choose(range, size);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error(`${range} was satisfiable`);
}

describe('choosing a range (RFC 9110 §14)', () => {
  test('no Range header: the whole item', () => {
    expect(choose(null)).toEqual({ kind: 'whole' });
  });

  test('first-last, first- and -suffix', () => {
    expect(choose('bytes=0-99')).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(choose('bytes=500-')).toEqual({ kind: 'partial', start: 500, end: 999 });
    expect(choose('bytes=-100')).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(choose('bytes = 1 - 2')).toEqual({ kind: 'partial', start: 1, end: 2 });
    expect(choose('BYTES=1-2')).toEqual({ kind: 'partial', start: 1, end: 2 });
  });

  test('a last byte past the end is clipped; a suffix longer than the item is the whole item as a range', () => {
    expect(choose('bytes=990-5000')).toEqual({ kind: 'partial', start: 990, end: 999 });
    expect(choose('bytes=-5000')).toEqual({ kind: 'partial', start: 0, end: 999 });
  });

  test('several ranges, other units and bad syntax are ignored: the whole item', () => {
    expect(choose('bytes=0-1,5-6')).toEqual({ kind: 'whole' });
    expect(choose('items=0-1')).toEqual({ kind: 'whole' });
    expect(choose('bytes=5-1')).toEqual({ kind: 'whole' });
    expect(choose('bytes=-')).toEqual({ kind: 'whole' });
    expect(choose('bytes=a-b')).toEqual({ kind: 'whole' });
    expect(choose('bytes=99999999999999999999-')).toEqual({ kind: 'whole' });
  });

  test('If-Range: the current ETag lets the range through, anything else sends the whole item', () => {
    expect(choose('bytes=0-1', 1000, ETAG)).toEqual({ kind: 'partial', start: 0, end: 1 });
    expect(choose('bytes=0-1', 1000, '"other"')).toEqual({ kind: 'whole' });
    expect(choose('bytes=0-1', 1000, 'Sat, 21 Nov 2026 10:00:00 GMT')).toEqual({ kind: 'whole' });
  });

  test('a range that selects nothing is 416 with Content-Range bytes */size', () => {
    for (const range of ['bytes=1000-', 'bytes=1000-2000', 'bytes=-0']) {
      const error = unsatisfiable(range);
      expect(error.status).toBe(416);
      expect(error.code).toBe('range_not_satisfiable');
      expect(error.extra.headers).toEqual({ 'Content-Range': 'bytes */1000' });
    }
    expect(unsatisfiable('bytes=0-', 0).extra.headers).toEqual({ 'Content-Range': 'bytes */0' });
    expect(unsatisfiable('bytes=-5', 0).status).toBe(416);
  });
});
