// Transaction-scoped advisory locks: a background sweep runs on one instance at a time, span writes
// take turns, and the lock goes away with the transaction, so a crashed instance never holds it.
import { sql } from 'drizzle-orm';
import type { Database } from './database.js';

/** Lock keys of the background sweeps; one number per sweep, fixed forever. */
export const ADVISORY_LOCKS = {
  webhookFanOut: 0x666d0601,
  escalationDetectors: 0x666d0602,
  /** Span writes and retention: the step visits they maintain are read-modify-write per item. */
  spanWrites: 0x666d0603,
} as const;

/** Waits for the lock and holds it for the rest of `tx`. */
export async function advisoryXactLock(tx: Database, key: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${key}::bigint)::text as ok`);
}

/** Takes the lock for the rest of `tx` if nobody holds it; false when another instance does. */
export async function tryAdvisoryXactLock(tx: Database, key: number): Promise<boolean> {
  const result = (await tx.execute(
    sql`select pg_try_advisory_xact_lock(${key}::bigint) as locked`,
  )) as unknown;
  const rows = Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
  return (rows[0] as { locked?: boolean } | undefined)?.locked === true;
}

/**
 * Lock spaces of per-row locks, in the two-key form (space, hash of the row's id): PostgreSQL keeps
 * those apart from the single-key locks above, and two rows that share a hash only wait for each other.
 */
export const ADVISORY_LOCK_SPACES = {
  /** One value-stream thread of an item resumed at a time, across instances. */
  valueStreamItem: 0x666d0701,
} as const;

/** Waits until nobody holds the lock on `id` in `space`, then holds it for the rest of `tx`. */
export async function advisoryXactLockOn(tx: Database, space: number, id: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${space}::int, hashtext(${id}::text))::text as locked`);
}
