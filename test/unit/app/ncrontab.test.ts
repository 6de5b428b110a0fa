import { parseNcrontab } from '../../../lib/app/devHost/ncrontab';

describe('NCRONTAB schedules for dev host timers', () => {
  test('hourly fires at the top of the next hour', () => {
    expect(parseNcrontab('0 0 * * * *').next(new Date('2026-11-21T10:15:30Z')).toISOString()).toBe('2026-11-21T11:00:00.000Z');
  });

  test('the next occurrence is strictly after the given time', () => {
    expect(parseNcrontab('0 0 * * * *').next(new Date('2026-11-21T11:00:00Z')).toISOString()).toBe('2026-11-21T12:00:00.000Z');
  });

  test('steps, ranges and lists', () => {
    expect(parseNcrontab('*/15 * * * * *').next(new Date('2026-11-21T10:00:07Z')).toISOString()).toBe('2026-11-21T10:00:15.000Z');
    expect(parseNcrontab('0 30 9-17 * * 1-5').next(new Date('2026-11-21T10:15:00Z')).toISOString()).toBe('2026-11-23T09:30:00.000Z');
    expect(parseNcrontab('0 0 0 1 1,7 *').next(new Date('2026-11-21T00:00:00Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  test('malformed schedules are refused at start-up', () => {
    expect(() => parseNcrontab('0 * * * *')).toThrow(RangeError);
    expect(() => parseNcrontab('0 61 * * * *')).toThrow(RangeError);
    expect(() => parseNcrontab('0 0 * * * x')).toThrow(RangeError);
  });
});
