/**
 * The six-field NCRONTAB schedules Azure timer triggers use (`second minute hour day month day-of-week`), for the
 * dev host's timers. Supports `*`, numbers, ranges `a-b`, steps `* /n` and `a-b/n`, and lists; evaluated in UTC
 * like Azure by default.
 */
const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'dayOfWeek', min: 0, max: 6 },
] as const;

export interface Schedule {
  next(after: Date): Date;
}

export function parseNcrontab(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) throw new RangeError(`NCRONTAB needs 6 fields, got "${expression}"`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!));
  const [seconds, minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return {
    next(after) {
      const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      const limit = after.getTime() + 366 * 24 * 3600 * 1000 * 5;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!days.has(t.getUTCDate()) || !weekdays.has(t.getUTCDay())) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
        } else if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
        } else if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
        } else if (!seconds.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
        } else {
          return t;
        }
      }
      throw new RangeError(`NCRONTAB "${expression}" never fires`);
    },
  };
}

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new RangeError(`Bad ${field.name} field "${text}"`);
    const [from, to] = match[1] === '*' ? [field.min, field.max] : rangeOf(match[1]!);
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (from < field.min || to > field.max || from > to || step < 1) throw new RangeError(`Bad ${field.name} field "${text}"`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

function rangeOf(text: string): [number, number] {
  const [a, b] = text.split('-');
  return [Number(a), Number(b ?? a)];
}
