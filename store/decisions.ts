// Queries of the policy engine: decisions (written in the transaction of the change they decided)
// and the steps policies required. Plain SQL, like the router's queries, since they join its hot paths.
import { type SQL, sql } from 'drizzle-orm';
import type { DecisionRecord, RequirementRecord } from '../work/decision.js';
import type { Database, Store } from './database.js';
import { pgArray } from './rows.js';

export const DECISION_INSERT_COLUMNS = sql.raw(
  '(id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at)',
);

export function decisionInsertValues(d: DecisionRecord): SQL {
  return sql`(${d.id}::uuid, ${d.workItemId}::uuid, ${d.stepId}::uuid, ${d.hook}, ${d.outcome}, ${d.policyVersion},
    ${pgArray(d.ruleIds)}::text[], ${JSON.stringify(d.details)}::jsonb, ${d.at.toISOString()}::timestamptz)`;
}

export async function insertDecisions(
  store: Store,
  db: Database,
  list: readonly DecisionRecord[],
): Promise<void> {
  if (list.length === 0) return;
  await store.rows(
    sql`insert into decisions ${DECISION_INSERT_COLUMNS} values ${sql.join(list.map(decisionInsertValues), sql`, `)}`,
    db,
  );
}

interface DecisionRow {
  id: string;
  work_item_id: string | null;
  step_id: string | null;
  hook: DecisionRecord['hook'];
  outcome: string;
  policy_version: string;
  rule_ids: string[] | string;
  details: unknown;
  at: Date | string;
}

function parseArray(v: string[] | string): string[] {
  if (Array.isArray(v)) return v;
  const inner = v.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',').map((s) => s.replace(/^"|"$/g, ''));
}

/** Oldest first (ids are time-ordered, so decisions of one instant keep the order they were made in). */
export async function listDecisions(
  store: Store,
  db: Database,
  workItemId: string,
): Promise<DecisionRecord[]> {
  const rows = await store.rows<DecisionRow>(
    sql`select id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at
      from decisions where work_item_id = ${workItemId}::uuid
      order by at, id`,
    db,
  );
  return rows.map((r) => ({
    id: r.id,
    workItemId: r.work_item_id,
    stepId: r.step_id,
    hook: r.hook,
    outcome: r.outcome,
    policyVersion: r.policy_version,
    ruleIds: parseArray(r.rule_ids),
    details: (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as DecisionRecord['details'],
    at: new Date(r.at),
  }));
}

export async function insertRequirements(
  store: Store,
  db: Database,
  list: readonly RequirementRecord[],
): Promise<void> {
  if (list.length === 0) return;
  const values = list.map(
    (
      r,
    ) => sql`(${r.stepId}::uuid, ${r.workItemId}::uuid, ${r.ruleId}, ${r.capability}, ${r.originStepId}::uuid,
      ${r.policyVersion}, ${r.createdAt.toISOString()}::timestamptz)`,
  );
  await store.rows(
    sql`insert into policy_requirements (step_id, work_item_id, rule_id, capability, origin_step_id, policy_version, created_at)
      values ${sql.join(values, sql`, `)}`,
    db,
  );
}

/** The requirements of an item (few: one per approval or review step). */
export async function findRequirements(
  store: Store,
  db: Database,
  workItemId: string,
): Promise<RequirementRecord[]> {
  const rows = await store.rows<{
    step_id: string;
    work_item_id: string;
    rule_id: string;
    capability: string;
    origin_step_id: string;
    policy_version: string;
    created_at: Date | string;
  }>(
    sql`select step_id, work_item_id, rule_id, capability, origin_step_id, policy_version, created_at
      from policy_requirements where work_item_id = ${workItemId}::uuid`,
    db,
  );
  return rows.map((r) => ({
    stepId: r.step_id,
    workItemId: r.work_item_id,
    ruleId: r.rule_id,
    capability: r.capability,
    originStepId: r.origin_step_id,
    policyVersion: r.policy_version,
    createdAt: new Date(r.created_at),
  }));
}

/** A step a completion policy required of a streamed item, for its value stream to route. */
export interface DeferredRequirement {
  capability: string;
  ruleId: string;
  reason: string;
  policyVersion: string;
}

/**
 * The steps the completion decision of `stepId` required and left to the item's value stream (a
 * streamed item's required steps are routed by its thread, so the decision names no step for them).
 */
export async function findDeferredRequirements(
  store: Store,
  db: Database,
  workItemId: string,
  stepId: string,
): Promise<DeferredRequirement[]> {
  const rows = await store.rows<{ policy_version: string; details: unknown }>(
    sql`select policy_version, details from decisions
      where work_item_id = ${workItemId}::uuid and step_id = ${stepId}::uuid
        and hook = 'complete' and outcome = 'required'
      order by at, id`,
    db,
  );
  return rows.flatMap((r) => {
    const details = (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as {
      required?: { capability: string; ruleId: string | null; reason?: string; stepId: string | null }[];
    };
    return (details.required ?? [])
      .filter((x) => x.stepId === null)
      .map((x) => ({
        capability: x.capability,
        ruleId: x.ruleId ?? 'unknown',
        reason: x.reason ?? `required by policy ${x.ruleId ?? 'unknown'}`,
        policyVersion: r.policy_version,
      }));
  });
}
