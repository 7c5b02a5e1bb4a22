// NOTIFY on a channel: the sending half of cross-instance wake-ups (store.listen is the receiving half).
import { sql } from 'drizzle-orm';
import type { Store } from './database.js';

export async function notifyChannel(store: Store, channel: string, payload: string): Promise<void> {
  await store.rows(sql`select pg_notify(${channel}, ${payload})::text as ok`);
}
