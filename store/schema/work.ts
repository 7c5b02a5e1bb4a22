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
    // Routing (capabilities/router): who may claim the step, who was left out and why.
    /** Node ids that may claim the step now. */
    eligibleNodes: text('eligible_nodes').array().notNull().default(sql`'{}'::text[]`),
    /** `[{nodeId, reason, ruleIds?}]` for nodes with the capability that were left out. */
    exclusions: jsonb('exclusions').notNull().default(sql`'[]'::jsonb`),
    /** `routable`, or `unroutable` when no node may take it (an escalation is open). */
    routing: text('routing').notNull().default('routable'),
    /** How many fallback tiers of the capability are open to this step (0 = the first tier only). */
    tier: integer('tier').notNull().default(0),
    /**
     * The claim slot of the node that holds the step (see flowmesh_claim_items, migration 0012): a node
     * with a large capacity is claimed for in up to 8 slots at once, each with its share of the capacity.
     */
    claimSlot: integer('claim_slot').notNull().default(0),
    /**
     * Claim order: queued_at minus the priority's head start (aging). Waiting time raises a step's
     * effective priority linearly, so ordering by this fixed instant equals ordering by
     * priority + aging at any moment, and an index can serve it.
     */
    rankAt: timestamp('rank_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('steps_work_item_idx').on(t.workItemId, t.seq),
    // The claim's order (rank_at, then id for ties), so a claim reads the queue's head in index order.
    index('steps_claim_idx')
      .on(t.capability, t.rankAt, t.id)
      .where(sql`${t.state} = 'queued' and ${t.routing} = 'routable'`),
    index('steps_held_idx').on(t.nodeId).where(sql`${t.state} = 'claimed'`),
    index('steps_lease_idx').on(t.leaseExpiresAt).where(sql`${t.state} = 'claimed'`),
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
