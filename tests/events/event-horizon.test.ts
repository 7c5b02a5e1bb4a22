import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventFeed } from '../../capabilities/event-feed.js';
import { createGapJudge } from '../../capabilities/log-gaps.js';
import { readEventLogPage } from '../../store/event-log.js';
import { manualClock } from '../../work/clock.js';
import { gapsBefore, safePrefix } from '../../work/event-horizon.js';
import { silentLogger } from '../../work/logger.js';
import { onPostgres } from '../support/database.js';
import { createTestRuntime, type TestRuntime } from '../support/runtime.js';

const rows = (...ids: number[]) => ids.map((id) => ({ id }));

describe('safePrefix', () => {
  it('hands out rows up to the first gap that is not settled', () => {
    expect(safePrefix(rows(11, 12, 14, 15), 10, () => false).map((r) => r.id)).toEqual([11, 12]);
  });

  it('passes a settled gap and stops at the next one', () => {
    const settled = (gap: number) => gap === 13;
    expect(safePrefix(rows(11, 12, 14, 16), 10, settled).map((r) => r.id)).toEqual([11, 12, 14]);
  });

  it('holds back a gap right after the horizon', () => {
    expect(safePrefix(rows(12), 10, () => false)).toEqual([]);
  });

  it('names each gap by its first missing id', () => {
    expect(gapsBefore(rows(11, 14, 15, 17), 10)).toEqual([12, 16]);
    expect(gapsBefore(rows(13), 10)).toEqual([11]);
    expect(gapsBefore([], 10)).toEqual([]);
  });
});

describe('the gap judge on PostgreSQL', () => {
  const horizon = (xmin: number, xmax: number) => ({ xmin: BigInt(xmin), xmax: BigInt(xmax) });
  /**
   * A judge for PostgreSQL with a 1 s grace, on a clock of its own, and `seen`: the ids it hands out
   * of rows 11 and 13 (a gap at 12) after 10, read in a snapshot with that xmin and xmax.
   */
  const judgeWithClock = () => {
    const clock = manualClock();
    const judge = createGapJudge({ kind: 'postgres', clock, minGraceMs: 1_000 });
    const seen = (xmin: number, xmax: number) =>
      judge.safeRows(rows(11, 13), 10, horizon(xmin, xmax)).map((r) => r.id);
    return { clock, seen };
  };

  it('waits while the snapshot shows a transaction older than the gap still running', () => {
    const { clock, seen } = judgeWithClock();
    expect(seen(100, 105)).toEqual([11]);
    clock.advance(3_600_000);
    expect(seen(104, 110)).toEqual([11]);
    expect(seen(109, 115)).toEqual([11]);
  });

  it('passes the gap once a snapshot has every transaction of a sighting after the grace ended', () => {
    const { clock, seen } = judgeWithClock();
    expect(seen(100, 105)).toEqual([11]);
    clock.advance(1_000);
    expect(seen(103, 106)).toEqual([11]);
    expect(seen(106, 110)).toEqual([11, 13]);
  });

  it('passes the gap at once when a sighting after the grace shows nothing running', () => {
    const { clock, seen } = judgeWithClock();
    seen(100, 105);
    clock.advance(1_000);
    expect(seen(120, 120)).toEqual([11, 13]);
  });

  it('does not trust the first sighting: the id may be taken before its transaction has an id', () => {
    const { clock, seen } = judgeWithClock();
    // First seen while the statement that took id 12 had no transaction id yet; it then got 105.
    seen(100, 105);
    clock.advance(1_000);
    // 105 is still running: every transaction of the first sighting (below 105) has ended, yet the gap holds.
    expect(seen(105, 106)).toEqual([11]);
    expect(seen(106, 107)).toEqual([11, 13]);
  });

  it('waits out the grace even when the transaction ids say the gap is over', () => {
    const { clock, seen } = judgeWithClock();
    seen(100, 105);
    clock.advance(999);
    expect(seen(200, 200)).toEqual([11]);
  });

  it('on PGlite passes every gap (one connection: nothing is in flight while the log is read)', () => {
    const judge = createGapJudge({ kind: 'pglite', clock: manualClock() });
    expect(judge.safeRows(rows(11, 13), 10, horizon(0, 0)).map((r) => r.id)).toEqual([11, 13]);
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

  /** A transaction that takes an event id and stays open until released; resolves once the id is taken. */
  async function holdEventOpen(type: string, outcome: 'commit' | 'rollback') {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let taken: () => void = () => {};
    const holding = new Promise<void>((resolve) => {
      taken = resolve;
    });
    const done = t.runtime.store
      .transaction(async (tx) => {
        await insertEvent(tx, type);
        taken();
        await gate;
        if (outcome === 'rollback') throw new Error('rolled back on purpose');
      })
      .catch((error: unknown) => {
        if (outcome === 'commit') throw error;
      });
    await holding;
    return {
      async end() {
        release();
        await done;
      },
    };
  }

  it('keeps waiting for a transaction that stays open far longer than any grace period', async () => {
    const feed = createEventFeed({
      store: t.runtime.store,
      clock: t.clock,
      logger: silentLogger,
      pollMs: 10,
    });
    const sub = await feed.subscribe({ filter: { types: ['long.*'], kinds: [] } });
    const slow = await holdEventOpen('long.first', 'commit');
    await insertEvent(undefined, 'long.second');
    for (let i = 0; i < 3; i++) {
      await feed.refresh();
      t.clock.advance(60_000);
      await feed.refresh();
      expect(await sub.next(20)).toEqual([]);
    }
    await slow.end();
    await feed.refresh();
    expect((await sub.next(5_000)).map((e) => e.type)).toEqual(['long.first', 'long.second']);
    sub.close();
    feed.close();
  });

  it('judges a gap by the snapshot its rows were read in, not by a later one', async () => {
    const judge = createGapJudge({ kind: 'postgres', clock: t.clock, minGraceMs: 1_000 });
    const from = Number(
      (await t.runtime.store.rows<{ id: string }>(sql`select max(id) as id from events`))[0]?.id ?? 0,
    );
    const slow = await holdEventOpen('snap.first', 'commit');
    await insertEvent(undefined, 'snap.second');
    const before = await readEventLogPage(t.runtime.store.db, { after: from, limit: 100 });
    expect(before.events.map((e) => e.type)).toEqual(['snap.second']);
    expect(judge.safeRows(before.events, from, before.horizon)).toEqual([]);
    // The transaction commits after the rows were read: those rows, with their own snapshot's
    // horizon, must still not pass the gap (a horizon read now would say the transaction has ended).
    await slow.end();
    t.clock.advance(60_000);
    expect(judge.safeRows(before.events, from, before.horizon)).toEqual([]);
    const after = await readEventLogPage(t.runtime.store.db, { after: from, limit: 100 });
    expect(judge.safeRows(after.events, from, after.horizon).map((e) => e.type)).toEqual([
      'snap.first',
      'snap.second',
    ]);
  });

  it('passes over the id of a rolled-back transaction once that transaction has ended', async () => {
    const feed = createEventFeed({
      store: t.runtime.store,
      clock: t.clock,
      logger: silentLogger,
      pollMs: 10,
    });
    const sub = await feed.subscribe({ filter: { types: ['undone.*'], kinds: [] } });
    const undone = await holdEventOpen('undone.first', 'rollback');
    await insertEvent(undefined, 'undone.second');
    await feed.refresh();
    t.clock.advance(5_000);
    await feed.refresh();
    expect(await sub.next(20)).toEqual([]);
    await undone.end();
    // Ended, but the gap is only passed once it has been seen for the least grace (clock-driven).
    await feed.refresh();
    t.clock.advance(1_000);
    await feed.refresh();
    expect((await sub.next(5_000)).map((e) => e.type)).toEqual(['undone.second']);
    sub.close();
    feed.close();
  });

  it('starts a subscription without a cursor after the newest event, even behind an open gap', async () => {
    const feed = createEventFeed({
      store: t.runtime.store,
      clock: t.clock,
      logger: silentLogger,
      pollMs: 10,
    });
    const slow = await holdEventOpen('fresh.old', 'commit');
    await insertEvent(undefined, 'fresh.before');
    const sub = await feed.subscribe({ filter: { types: ['fresh.*'], kinds: [] } });
    await insertEvent(undefined, 'fresh.after');
    await slow.end();
    await feed.refresh();
    expect((await sub.next(5_000)).map((e) => e.type)).toEqual(['fresh.after']);
    sub.close();
    feed.close();
  });
});
