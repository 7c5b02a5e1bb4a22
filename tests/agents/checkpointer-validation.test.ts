// LangGraph's own conformance suite for checkpointers, run against StoreCheckpointSaver on this run's
// database (PGlite, and PostgreSQL when DATABASE_URL is set).
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
