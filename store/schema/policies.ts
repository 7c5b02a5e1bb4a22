// Tables of the policy engine: every policy decision with the version and rule ids that made it, and
// the steps policies required (approvals, reviews), so their results can continue or end the item.
import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const decisions = pgTable(
  'decisions',
  {
    id: uuid('id').primaryKey(),
    /** Null for a refused submission: no item was created. */
    workItemId: uuid('work_item_id'),
    stepId: uuid('step_id'),
    /** `admit`, `route` or `complete`. */
    hook: text('hook').notNull(),
    /** `admitted`, `denied`, `routed`, `unroutable`, `continued`, `required`, `approved`, `rejected`. */
    outcome: text('outcome').notNull(),
    policyVersion: text('policy_version').notNull(),
    ruleIds: text('rule_ids').array().notNull().default(sql`'{}'::text[]`),
    /** Effects, failures (fail closed), and for routing the eligible nodes and every exclusion with its reason. */
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('decisions_work_item_idx').on(t.workItemId, t.at)],
);

export const policyRequirements = pgTable(
  'policy_requirements',
  {
    /** The inserted approval or review step. */
    stepId: uuid('step_id').primaryKey(),
    workItemId: uuid('work_item_id').notNull(),
    ruleId: text('rule_id').notNull(),
    capability: text('capability').notNull(),
    /** The step whose completion required it; its result becomes the item's when approved. */
    originStepId: uuid('origin_step_id').notNull(),
    policyVersion: text('policy_version').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('policy_requirements_work_item_idx').on(t.workItemId)],
);
