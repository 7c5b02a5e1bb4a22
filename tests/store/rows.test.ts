// Row mapping: PostgreSQL's text form of timestamps, as postgres.js hands them over under drizzle.
import { describe, expect, it } from 'vitest';
import { toDate } from '../../store/rows.js';

/** What Date makes of the same instant written as ISO 8601 (the general path). */
function viaIso(text: string): number {
  let s = text.replace(' ', 'T');
  if (/[+-]\d\d$/.test(s)) s += ':00';
  return new Date(s).getTime();
}

describe('toDate', () => {
  it('reads PostgreSQL timestamptz text exactly', () => {
    expect(toDate('2026-12-08 02:19:29.123456+00').toISOString()).toBe('2026-12-08T02:19:29.123Z');
    expect(toDate('2026-12-08 02:19:29+00').toISOString()).toBe('2026-12-08T02:19:29.000Z');
    expect(toDate('2026-12-08 02:19:29.5+00').toISOString()).toBe('2026-12-08T02:19:29.500Z');
    expect(toDate('2026-12-08 02:19:29.0999+01').toISOString()).toBe('2026-12-08T01:19:29.099Z');
    expect(toDate('2027-01-01 03:00:00-05').toISOString()).toBe('2027-01-01T08:00:00.000Z');
    expect(toDate('2026-03-01 00:10:00+05:30').toISOString()).toBe('2026-02-28T18:40:00.000Z');
    expect(toDate('1900-01-01 00:00:00+00:19:32').toISOString()).toBe('1899-12-31T23:40:28.000Z');
  });

  it('agrees with the ISO path over many instants, fractions and offsets', () => {
    const offsets = ['+00', '-05', '+05:30', '-03:30', '+14', '-12'];
    let seed = 7;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let k = 0; k < 2000; k++) {
      const instant = new Date(
        Date.UTC(1970 + next(130), next(12), 1 + next(28), next(24), next(60), next(60)),
      );
      const fraction = next(7);
      const digits = Array.from({ length: fraction }, () => String(next(10))).join('');
      const text = `${instant.toISOString().slice(0, 19).replace('T', ' ')}${fraction ? `.${digits}` : ''}${offsets[next(offsets.length)]}`;
      expect(toDate(text).getTime(), text).toBe(viaIso(text));
    }
  });

  it('leaves other forms to the general path', () => {
    expect(toDate('2026-12-08T02:19:29.123Z').toISOString()).toBe('2026-12-08T02:19:29.123Z');
    expect(toDate('0099-06-01 00:00:00+00').getUTCFullYear()).toBe(99);
    expect(Number.isNaN(toDate('infinity').getTime())).toBe(true);
    expect(Number.isNaN(toDate('2026-12-08 02:19:29.+00').getTime())).toBe(true);
    expect(toDate(1_765_000_000_000).getTime()).toBe(1_765_000_000_000);
    const d = new Date();
    expect(toDate(d)).toBe(d);
  });
});
