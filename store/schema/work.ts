// Tables of the work-item core: items, their steps, and the append-only event log.
import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const workItems = pgTable(
  'work_items',
  {
    id: uuid('id').primaryKey(),
    kind: text('kind').notNull(),
    title: text('title'),
    state: text('state').notNull(),
    priority: integer('priority').notNull(),
    attributes: jsonb('attributes').notNull().default(sql`'{}'::jsonb`),
    payload: jsonb('payload'),
    result: jsonb('result'),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }),
    traceparent: text('traceparent').notNull(),
    /** The API key (or `env:admin`) that submitted the item; submitters see only their own. */
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('work_items_state_id_idx').on(t.state, t.id),
    index('work_items_kind_id_idx').on(t.kind, t.id),
    index('work_items_created_by_id_idx').on(t.createdBy, t.id),
  ],
);

export const steps = pgTable(
  'steps',
  {
    id: uuid('id').primaryKey(),
    workItemId: uuid('work_item_id')
      .notNull()
      .references(() => workItems.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    capability: text('capability').notNull(),
    state: text('state').notNull(),
    nodeId: text('node_id'),
    attempt: integer('attempt').notNull().default(1),
    priority: integer('priority').notNull(),
    leaseToken: uuid('lease_token'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true, mode: 'date' }),
    queuedAt: timestamp('queued_at', { withTimezone: true, mode: 'date' }).notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    result: jsonb('result'),
    error: jsonb('error'),
  },
  (t) => [
    index('steps_work_item_idx').on(t.workItemId, t.seq),
    index('steps_queue_idx')
      .on(t.capability, t.priority.desc(), t.queuedAt)
      .where(sql`${t.state} = 'queued'`),
  ],
);

export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    workItemId: uuid('work_item_id').notNull(),
    stepId: uuid('step_id'),
    type: text('type').notNull(),
    data: jsonb('data').notNull().default(sql`'{}'::jsonb`),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('events_work_item_idx').on(t.workItemId, t.id)],
);
