// Readiness: does the database answer?
import { sql } from 'drizzle-orm';
import type { Store } from './database.js';

export async function pingDatabase(store: Store): Promise<void> {
  await store.rows(sql`select 1 as ok`);
}
