// LangGraph's own conformance suite for checkpointers, run against StoreCheckpointSaver on this run's
// database (PGlite, and PostgreSQL when DATABASE_URL is set).
import { emptyCheckpoint } from '@langchain/langgraph-checkpoint';
import { validate } from '@langchain/langgraph-checkpoint-validation';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StoreCheckpointSaver } from '../../agents/checkpointer.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// The suite is written against Jest-style globals; this project imports them explicitly.
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it });

let database: TestDatabase | undefined;

function store() {
  if (!database) throw new Error('the test database is not open yet');
  return database.store;
}

validate({
  checkpointerName: 'flowmesh-store',
  beforeAllTimeout: 60_000,
  async beforeAll() {
    database = await createTestDatabase();
  },
  async afterAll() {
    await database?.drop();
  },
  async createCheckpointer() {
    // One database for the file; each checkpointer starts from empty tables, as the suite requires.
    await store().rows(sql`delete from checkpoint_writes`);
    await store().rows(sql`delete from checkpoints`);
    return new StoreCheckpointSaver(store());
  },
});

describe('writes of one task to a special channel', () => {
  let own: TestDatabase;
  beforeAll(async () => {
    own = await createTestDatabase();
  });
  afterAll(() => own.drop());

  it('keeps the last of several writes a task makes to one special channel in one call', async () => {
    // A node that passes several interrupts writes __resume__ once per interrupt, all in one call.
    const saver = new StoreCheckpointSaver(own.store);
    const config = { configurable: { thread_id: 'resumes', checkpoint_ns: '' } };
    const saved = await saver.put(config, emptyCheckpoint(), { source: 'loop', step: 0, parents: {} }, {});
    await saver.putWrites(
      saved,
      [
        ['__resume__', ['first']],
        ['__resume__', ['first', 'second']],
        ['answer', 42],
      ],
      'task-1',
    );
    const tuple = await saver.getTuple(saved);
    expect(tuple?.pendingWrites).toEqual([
      ['task-1', '__resume__', ['first', 'second']],
      ['task-1', 'answer', 42],
    ]);
  });
});
