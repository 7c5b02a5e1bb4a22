// Queries of webhooks and their deliveries: subscriptions, fan-out from the event log, due deliveries.
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Database } from './database.js';
import { webhookDeliveries, webhooks } from './schema/index.js';

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type NewDelivery = typeof webhookDeliveries.$inferInsert;

export interface AttemptLogEntry {
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  durationMs: number;
}

export async function insertWebhook(db: Database, row: WebhookRow): Promise<void> {
  await db.insert(webhooks).values(row);
}

export async function listWebhookRows(db: Database): Promise<WebhookRow[]> {
  return db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id);
}

export async function findWebhookRow(db: Database, id: string): Promise<WebhookRow | undefined> {
  const [row] = await db.select().from(webhooks).where(eq(webhooks.id, id));
  return row;
}

export async function deleteWebhookRow(db: Database, id: string): Promise<boolean> {
  const rows = await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
  return rows.length > 0;
}

export async function insertDeliveries(tx: Database, rows: NewDelivery[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.insert(webhookDeliveries).values(rows).onConflictDoNothing();
}

export async function setWebhookCursor(tx: Database, id: string, cursor: number): Promise<void> {
  await tx.update(webhooks).set({ cursor }).where(eq(webhooks.id, id));
}

export interface DueDelivery extends DeliveryRow {
  url: string;
  secret: string;
}

/**
 * Takes up to `limit` due deliveries: counts the attempt and moves `next_attempt_at` past the request
 * timeout, so another instance does not send the same delivery while this one is waiting for an answer.
 */
export async function claimDueDeliveries(
  tx: Database,
  q: { now: Date; holdUntil: Date; limit: number },
): Promise<DueDelivery[]> {
  const result = (await tx.execute(sql`
    with due as (
      select id from webhook_deliveries
      where state = 'pending' and next_attempt_at <= ${q.now.toISOString()}::timestamptz
      order by next_attempt_at, id
      limit ${q.limit}
      for update skip locked
    )
    update webhook_deliveries d
    set attempts = d.attempts + 1, next_attempt_at = ${q.holdUntil.toISOString()}::timestamptz,
      updated_at = ${q.now.toISOString()}::timestamptz
    from due, webhooks w
    where d.id = due.id and w.id = d.webhook_id
    returning d.id, d.webhook_id, d.event_id, d.event_type, d.payload, d.traceparent, d.attempts, w.url, w.secret`)) as unknown;
  const rows = (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as Record<
    string,
    unknown
  >[];
  return rows.map((r) => ({
    id: r.id as string,
    webhookId: r.webhook_id as string,
    eventId: Number(r.event_id),
    eventType: r.event_type as string,
    payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
    traceparent: (r.traceparent as string | null) ?? null,
    state: 'pending',
    attempts: Number(r.attempts),
    nextAttemptAt: q.holdUntil,
    log: [],
    createdAt: q.now,
    updatedAt: q.now,
    deliveredAt: null,
    url: r.url as string,
    secret: r.secret as string,
  }));
}

/** Records one attempt's outcome and appends it to the delivery's log. */
export async function recordAttempt(
  db: Database,
  id: string,
  outcome: {
    state: 'pending' | 'succeeded' | 'failed';
    nextAttemptAt: Date;
    now: Date;
    entry: AttemptLogEntry;
  },
): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      state: outcome.state,
      nextAttemptAt: outcome.nextAttemptAt,
      updatedAt: outcome.now,
      deliveredAt: outcome.state === 'succeeded' ? outcome.now : null,
      log: sql`${webhookDeliveries.log} || ${JSON.stringify([outcome.entry])}::jsonb`,
    })
    .where(eq(webhookDeliveries.id, id));
}

export async function listDeliveryRows(
  db: Database,
  webhookId: string,
  q: { state?: string | undefined; limit: number },
): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        q.state ? eq(webhookDeliveries.state, q.state) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.eventId))
    .limit(q.limit);
}
