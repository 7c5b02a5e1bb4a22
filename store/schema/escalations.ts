// Escalations: exceptions a person must look at. The router writes them (no capable node, retries
// exhausted); the escalation queue (owner, acknowledge, resolve) builds on the same table.
import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const escalations = pgTable(
  'escalations',
  {
    id: uuid('id').primaryKey(),
    /** `no_capable_node`, `retries_exhausted`, `step_failed`, `policy`, `sla_risk`… */
    kind: text('kind').notNull(),
    /** `low | medium | high | critical` */
    severity: text('severity').notNull(),
    workItemId: uuid('work_item_id').notNull(),
    stepId: uuid('step_id'),
    reason: text('reason').notNull(),
    /** `open | acknowledged | resolved` */
    state: text('state').notNull().default('open'),
    owner: text('owner'),
    /** Facts for whoever handles it: exclusions, last error, rule ids. */
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    resolution: jsonb('resolution'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // At most one open escalation of a kind per step: re-detection does not pile up duplicates.
    uniqueIndex('escalations_open_step_kind_uq').on(t.stepId, t.kind).where(sql`${t.state} = 'open'`),
    index('escalations_state_created_idx').on(t.state, t.createdAt),
    index('escalations_work_item_idx').on(t.workItemId),
  ],
);
