// Webhooks: subscriptions to the event log, and one delivery row per (webhook, event) with its attempts.
import { sql } from 'drizzle-orm';
import {
  bigint,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey(),
  url: text('url').notNull(),
  /** Event types or families (`escalation.*`); `*` is every event. */
  events: text('events').array().notNull(),
  /** The HMAC-SHA256 signing secret; kept because every delivery is signed with it. */
  secret: text('secret').notNull(),
  /** The last event id fanned out into deliveries. */
  cursor: bigint('cursor', { mode: 'number' }).notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
});

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    webhookId: uuid('webhook_id').notNull(),
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    /** The body, frozen when the event was fanned out, so every attempt sends the same bytes' meaning. */
    payload: jsonb('payload').notNull(),
    traceparent: text('traceparent'),
    /** `pending | succeeded | failed` (failed: attempts exhausted). */
    state: text('state').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** `[{attempt, at, status, error, durationMs}]`, oldest first. */
    log: jsonb('log').notNull().default(sql`'[]'::jsonb`),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    foreignKey({ columns: [t.webhookId], foreignColumns: [webhooks.id] }).onDelete('cascade'),
    uniqueIndex('webhook_deliveries_webhook_event_uq').on(t.webhookId, t.eventId),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
  ],
);
