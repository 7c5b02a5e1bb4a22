import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFeed } from '../../capabilities/event-feed.js';
import { initialHorizon, safePrefix } from '../../work/event-horizon.js';
import { silentLogger } from '../../work/logger.js';
import { onPostgres } from '../support/database.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 5, 9, 0, s));

describe('safePrefix', () => {
  it('hands out rows up to the first gap that is younger than the grace period', () => {
    const rows = [
      { id: 11, at: at(0) },
      { id: 12, at: at(0) },
      { id: 14, at: at(9) },
      { id: 15, at: at(9) },
    ];
    expect(safePrefix(rows, 10, at(10), 5_000).map((r) => r.id)).toEqual([11, 12]);
  });

  it('skips a gap once the row after it is older than the grace period (a rollback)', () => {
    const rows = [
      { id: 11, at: at(0) },
      { id: 13, at: at(1) },
    ];
    expect(safePrefix(rows, 10, at(7), 5_000).map((r) => r.id)).toEqual([11, 13]);
  });

  it('holds back a gap right after the horizon', () => {
    expect(safePrefix([{ id: 12, at: at(9) }], 10, at(10), 5_000)).toEqual([]);
  });

  it('starts below the newest rows that are still within the grace period', () => {
    const rows = [
      { id: 5, at: at(0) },
      { id: 6, at: at(1) },
      { id: 8, at: at(9) },
    ];
    expect(initialHorizon(rows, at(10), 5_000)).toBe(6);
    expect(initialHorizon([], at(10), 5_000)).toBe(0);
  });
});

describe.runIf(onPostgres)('event feed on PostgreSQL', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await createTestRuntime();
  });
  afterAll(async () => {
    await t?.close();
  });

  const insertEvent = (db: Parameters<typeof t.runtime.store.rows>[1], type: string) =>
    t.runtime.store.rows<{ id: string }>(
      sql`insert into events (work_item_id, type, data, at)
        values (gen_random_uuid(), ${type}, '{}'::jsonb, ${t.clock.now().toISOString()}::timestamptz) returning id`,
      db,
    );

  it('does not hand out an event while an earlier id is still in an open transaction', async () => {
    const feed = createEventFeed({
      store: t.runtime.store,
      clock: t.clock,
      logger: silentLogger,
      pollMs: 10,
    });
    const sub = await feed.subscribe({ filter: { types: ['test.*'], kinds: [] } });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserted: () => void = () => {};
    const holding = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    const slow = t.runtime.store.transaction(async (tx) => {
      await insertEvent(tx, 'test.first');
      inserted();
      await gate;
    });
    await holding;
    await insertEvent(undefined, 'test.second');
    await feed.refresh();
    expect(await sub.next(50)).toEqual([]);

    release();
    await slow;
    await feed.refresh();
    const events = await sub.next(1_000);
    expect(events.map((e) => e.type)).toEqual(['test.first', 'test.second']);
    sub.close();
    feed.close();
  });
});
