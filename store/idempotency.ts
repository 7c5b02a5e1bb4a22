// Idempotency keys: a reservation row marks a request in flight; the response is stored with the work
// it produced, so a replay returns exactly the first answer.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Database, Store } from './database.js';
import { idempotencyKeys } from './schema/index.js';

export type Reservation =
  | { outcome: 'reserved' }
  | { outcome: 'in_flight'; requestHash: string }
  | { outcome: 'done'; requestHash: string; status: number; body: unknown };

/**
 * Reserves (scope, key) for a request with `requestHash`. A reservation left `in_flight` longer than
 * `staleAfterMs` (its request crashed) is taken over, so a crash never blocks the key for good.
 */
export async function reserveIdempotencyKey(
  store: Store,
  input: { scope: string; key: string; requestHash: string; now: Date; ttlMs: number; staleAfterMs: number },
): Promise<Reservation> {
  const now = input.now.toISOString();
  const stale = new Date(input.now.getTime() - input.staleAfterMs).toISOString();
  const expires = new Date(input.now.getTime() + input.ttlMs).toISOString();
  const rows = await store.rows<{
    inserted: boolean;
    state: string;
    request_hash: string;
    response_status: number | null;
    response_body: unknown;
  }>(sql`
    insert into idempotency_keys (scope, key, request_hash, state, created_at, expires_at)
    values (${input.scope}, ${input.key}, ${input.requestHash}, 'in_flight', ${now}::timestamptz, ${expires}::timestamptz)
    on conflict (scope, key) do update set
      request_hash = excluded.request_hash, state = 'in_flight', created_at = excluded.created_at,
      expires_at = excluded.expires_at, response_status = null, response_body = null
    where (idempotency_keys.state = 'in_flight' and idempotency_keys.created_at < ${stale}::timestamptz)
       or idempotency_keys.expires_at < ${now}::timestamptz
    returning true as inserted, state, request_hash, response_status, response_body`);
  if (rows.length > 0) return { outcome: 'reserved' };
  const [existing] = await store.db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, input.scope), eq(idempotencyKeys.key, input.key)));
  if (!existing) {
    // Deleted between the two statements (its request failed): try once more.
    return reserveIdempotencyKey(store, input);
  }
  if (existing.state === 'done' && existing.responseStatus !== null) {
    return {
      outcome: 'done',
      requestHash: existing.requestHash,
      status: existing.responseStatus,
      body: existing.responseBody,
    };
  }
  return { outcome: 'in_flight', requestHash: existing.requestHash };
}

/** Drops a reservation whose request failed, so the caller may retry with the same key. */
export async function releaseIdempotencyKey(db: Database, scope: string, key: string): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.scope, scope),
        eq(idempotencyKeys.key, key),
        eq(idempotencyKeys.state, 'in_flight'),
      ),
    );
}

export async function deleteExpiredIdempotencyKeys(db: Database, now: Date): Promise<number> {
  const rows = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.expiresAt, now))
    .returning({ key: idempotencyKeys.key });
  return rows.length;
}
