// Group commit: submissions that arrive together are written together, each caller learns the fate of
// its own rows, and one bad row does not fail the others.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupCommit } from '../../store/group-commit.js';
import { insertSubmissions, type SubmissionRows } from '../../store/work-items.js';
import { newSubmission } from '../../work/submission.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function submission(title: string): SubmissionRows {
  return newSubmission(
    { kind: 'support.question', title, capability: 'kb.answer', payload: { title } },
    { now: new Date(), createdBy: 'test', capability: 'kb.answer', traceparent: TRACEPARENT },
  );
}

describe('createGroupCommit', () => {
  it('writes rows added in the same turn as one batch, and later rows as the next', async () => {
    const batches: number[][] = [];
    const commit = createGroupCommit<number>(async (batch) => {
      batches.push([...batch]);
    });
    await Promise.all([commit.add(1), commit.add(2), commit.add(3)]);
    await commit.add(4);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('keeps batches within maxBatch and writes at most maxInFlight at once', async () => {
    let inFlight = 0;
    let most = 0;
    const sizes: number[] = [];
    const commit = createGroupCommit<number>(
      async (batch) => {
        inFlight++;
        most = Math.max(most, inFlight);
        sizes.push(batch.length);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
      },
      { maxBatch: 4, maxInFlight: 2 },
    );
    await Promise.all(Array.from({ length: 19 }, (_, i) => commit.add(i)));
    expect(most).toBe(2);
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(19);
  });

  it('gathers rows that arrive while every writer is busy into the next batch', async () => {
    const sizes: number[] = [];
    let release: (() => void) | undefined;
    const commit = createGroupCommit<number>(
      async (batch) => {
        sizes.push(batch.length);
        if (sizes.length === 1) await new Promise<void>((r) => (release = r));
      },
      { maxInFlight: 1 },
    );
    const first = commit.add(0);
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3, 4].map((i) => commit.add(i));
    await new Promise((r) => setImmediate(r));
    release?.();
    await Promise.all([first, ...rest]);
    expect(sizes).toEqual([1, 4]);
  });

  it('fails only the caller whose row failed, writing the others on their own', async () => {
    const written: string[] = [];
    const commit = createGroupCommit<string>(async (batch) => {
      if (batch.includes('bad')) throw new Error('bad row');
      written.push(...batch);
    });
    const outcomes = await Promise.allSettled([commit.add('a'), commit.add('bad'), commit.add('b')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('bad row'));
    expect(written.sort()).toEqual(['a', 'b']);
  });

  it('drains: resolves once everything added so far is written', async () => {
    const written: number[] = [];
    const commit = createGroupCommit<number>(async (batch) => {
      await new Promise((r) => setTimeout(r, 2));
      written.push(...batch);
    });
    for (let i = 0; i < 5; i++) void commit.add(i);
    await commit.drain();
    expect(written).toHaveLength(5);
    await commit.drain();
  });
});

describe('submissions written in one statement', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const count = async (table: 'work_items' | 'steps' | 'events', ids: string[]) => {
    const column = table === 'work_items' ? sql.raw('id') : sql.raw('work_item_id');
    const [row] = await db.store.rows<{ n: number }>(
      sql`select count(*)::int as n from ${sql.raw(table)} where ${column} = any(${`{${ids.join(',')}}`}::uuid[])`,
    );
    return row?.n ?? 0;
  };

  it('stores every item of a batch with its step and events', async () => {
    const list = Array.from({ length: 25 }, (_, i) => submission(`batch ${i}`));
    await insertSubmissions(db.store, list);
    const ids = list.map((s) => s.item.id);
    expect(await count('work_items', ids)).toBe(25);
    expect(await count('steps', ids)).toBe(25);
    expect(await count('events', ids)).toBe(list.reduce((n, s) => n + s.events.length, 0));
    const [stored] = await db.store.rows<{ title: string; payload: unknown }>(
      sql`select title, payload from work_items where id = ${ids[7]}::uuid`,
    );
    expect(stored?.title).toBe('batch 7');
    expect(stored?.payload).toEqual({ title: 'batch 7' });
  });

  it('rejects only the submission that cannot be written when a batch fails', async () => {
    const commit = createGroupCommit<SubmissionRows>((batch) => insertSubmissions(db.store, batch));
    const existing = submission('already there');
    await commit.add(existing);
    const good = [submission('good 1'), submission('good 2')];
    // Same item id as a stored one: the primary key refuses it, and with it the whole statement.
    const duplicate = { ...submission('duplicate'), item: existing.item };
    const outcomes = await Promise.allSettled([
      commit.add(good[0]!),
      commit.add(duplicate),
      commit.add(good[1]!),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(
      await count(
        'work_items',
        good.map((s) => s.item.id),
      ),
    ).toBe(2);
    expect(await count('steps', [existing.item.id])).toBe(1);
  });
});
