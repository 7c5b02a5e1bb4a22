// The span store writer batches: a flush writes what was queued when it was asked, and a full queue
// writes full batches; spans that arrive during a write wait for the next full batch or flush, rather
// than each write chasing the few spans that came in during the one before (a transaction for a
// handful of rows, back to back, for as long as requests kept coming).
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../store/database.js';
import type { SpanRow } from '../../telemetry/span-row.js';
import { createSpanStoreWriter } from '../../telemetry/span-store.js';
import { silentLogger } from '../../work/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function waitSpan(): SpanRow {
  const start = new Date('2026-01-01T00:00:00Z');
  return {
    traceId: hex(16),
    spanId: hex(8),
    parentSpanId: null,
    name: 'wait bench.work',
    source: 'hop',
    hop: 'wait',
    workItemId: randomUUID(),
    kind: 'bench',
    stepId: randomUUID(),
    capability: 'bench.work',
    nodeId: 'bench-agent',
    nodeKind: 'ai_agent',
    attempt: 1,
    outcome: 'claimed',
    startAt: start,
    endAt: new Date(start.getTime() + 1000),
    attributes: {},
  };
}

describe('span store writer', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  /** The test store, with every transaction held until the test lets it through. */
  function gatedStore(): { store: Store; release(): void; writes(): number } {
    const store = db.store;
    let writes = 0;
    let open: (() => void) | undefined;
    let gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    return {
      store: {
        kind: store.kind,
        db: store.db,
        rows: (query, on) => store.rows(query, on),
        query: (text, params) => store.query(text, params),
        transaction: async (fn) => {
          writes += 1;
          await gate;
          return store.transaction(fn);
        },
        listen: (channel, onNotify) => store.listen(channel, onNotify),
        close: () => store.close(),
      },
      release() {
        open?.();
        gate = Promise.resolve();
      },
      writes: () => writes,
    };
  }

  async function storedBatches(): Promise<number[]> {
    // One transaction per write, so the spans' xmin tells which write stored them.
    const rows = await db.store.rows<{ n: number | string }>(
      sql`select count(*) as n from spans group by xmin::text order by count(*) desc`,
    );
    return rows.map((r) => Number(r.n));
  }

  it('a flush writes what was queued when it was asked, not what arrives while it writes', async () => {
    const gated = gatedStore();
    const writer = createSpanStoreWriter({
      store: gated.store,
      logger: silentLogger,
      maxBatch: 100,
      flushIntervalMs: 60_000,
    });
    writer.enqueue(Array.from({ length: 5 }, waitSpan));
    const flushed = writer.flush();
    await new Promise((resolve) => setImmediate(resolve));
    // Three more arrive while the flush's write waits.
    for (let i = 0; i < 3; i++) writer.enqueue([waitSpan()]);
    gated.release();
    await flushed;
    expect(gated.writes()).toBe(1);
    expect(writer.pending()).toBe(3);
    expect(await storedBatches()).toEqual([5]);
    await writer.flush();
    expect(writer.pending()).toBe(0);
    expect(await storedBatches()).toEqual([5, 3]);
    await writer.close();
  });

  it('a full queue writes full batches; the rest waits for the flush', async () => {
    const gated = gatedStore();
    const writer = createSpanStoreWriter({
      store: gated.store,
      logger: silentLogger,
      maxBatch: 10,
      flushIntervalMs: 60_000,
    });
    // One at a time, as hops arrive: the 10th starts a write, which waits; 15 more come meanwhile.
    for (let i = 0; i < 25; i++) {
      writer.enqueue([waitSpan()]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    gated.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.flush();
    expect(await storedBatches()).toEqual([10, 10, 5]);
    expect(gated.writes()).toBe(3);
    expect(writer.dropped()).toBe(0);
    await writer.close();
  });
});
