// The span store: hop spans (and agent spans accepted at /v1/traces) kept for value-stream reconstruction.
// Spans are derived data: losing the last unflushed batch never loses work state (that is the event log).
import { sql } from 'drizzle-orm';
import {
  boolean,
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
    index('spans_work_item_idx').on(t.workItemId, t.startAt),
    index('spans_end_idx').on(t.endAt),
  ],
);

/**
 * One row per step visit (an item's stretch at one step), kept up to date with every batch of spans
 * written (store/span-writes.ts), so the value stream is rebuilt from visits instead of from every span.
 * `capability` and `first_at` stay null until a hop of the step is stored (agent spans can come first);
 * such rows are not visits yet.
 */
export const stepVisits = pgTable(
  'step_visits',
  {
    workItemId: uuid('work_item_id').notNull(),
    stepId: uuid('step_id').notNull(),
    kind: text('kind').notNull(),
    capability: text('capability'),
    /** The start of the step's first hop. */
    firstAt: timestamp('first_at', { withTimezone: true, mode: 'date' }),
    waitMs: doublePrecision('wait_ms').notNull().default(0),
    /** Work and approval hops. */
    workMs: doublePrecision('work_ms').notNull().default(0),
    handedOff: boolean('handed_off').notNull().default(false),
    /** One entry per work or approval hop with a node: its id, and its kind ('' when unknown). */
    workers: text('workers').array().notNull().default(sql`'{}'::text[]`),
    workerKinds: text('worker_kinds').array().notNull().default(sql`'{}'::text[]`),
    /** Where the visit sits in its item's path, ordered by first_at then step id (null before the first). */
    prevCapability: text('prev_capability'),
    prevHandedOff: boolean('prev_handed_off').notNull().default(false),
    /** The item visited this capability before: the edge into this visit is rework. */
    seenBefore: boolean('seen_before').notNull().default(false),
    lastVisit: boolean('last_visit').notNull().default(true),
    agentSpans: integer('agent_spans').notNull().default(0),
    /** Agent time outside the step's work hops (root agent spans only), recomputed as spans arrive. */
    agentWorkMs: doublePrecision('agent_work_ms').notNull().default(0),
  },
  // The rebuild joins visits to the items of its window by work_item_id (the key's first column).
  (t) => [primaryKey({ columns: [t.workItemId, t.stepId] })],
);

/**
 * One row per item seen in hop or item spans: when it started, when it was last seen and, once its root
 * span is stored, how it ended. The kinds seen (GET /v1/value-streams) are read from here, not from spans.
 */
export const spanItems = pgTable(
  'span_items',
  {
    workItemId: uuid('work_item_id').primaryKey(),
    kind: text('kind').notNull(),
    /** The start of the item's earliest hop or item span. */
    startAt: timestamp('start_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** done | failed | cancelled | rejected, from the item's root span; null while it is open. */
    endState: text('end_state'),
    endAt: timestamp('end_at', { withTimezone: true, mode: 'date' }),
    /** The latest end of the item's hop and item spans (null only on rows written before it was kept). */
    lastAt: timestamp('last_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('span_items_kind_start_idx').on(t.kind, t.startAt)],
);
