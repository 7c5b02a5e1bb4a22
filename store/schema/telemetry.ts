// The span store: hop spans (and agent spans accepted at /v1/traces) kept for value-stream reconstruction.
// Spans are derived data: losing the last unflushed batch never loses work state (that is the event log).
import { sql } from 'drizzle-orm';
import {
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

export const spans = pgTable(
  'spans',
  {
    traceId: text('trace_id').notNull(),
    spanId: text('span_id').notNull(),
    parentSpanId: text('parent_span_id'),
    name: text('name').notNull(),
    /** `hop` (a flowmesh hop), `item` (the work item's root span) or `agent` (posted by an agent). */
    source: text('source').notNull(),
    /** route | wait | work | handoff | approval | escalate for hops; null otherwise. */
    hop: text('hop'),
    workItemId: uuid('work_item_id'),
    kind: text('kind'),
    stepId: uuid('step_id'),
    capability: text('capability'),
    nodeId: text('node_id'),
    nodeKind: text('node_kind'),
    attempt: integer('attempt'),
    outcome: text('outcome'),
    startAt: timestamp('start_at', { withTimezone: true, mode: 'date' }).notNull(),
    endAt: timestamp('end_at', { withTimezone: true, mode: 'date' }).notNull(),
    durationMs: doublePrecision('duration_ms').notNull(),
    attributes: jsonb('attributes').notNull().default(sql`'{}'::jsonb`),
  },
  (t) => [
    primaryKey({ columns: [t.traceId, t.spanId] }),
    index('spans_kind_start_idx').on(t.kind, t.startAt),
    index('spans_work_item_idx').on(t.workItemId, t.startAt),
    index('spans_end_idx').on(t.endAt),
  ],
);
