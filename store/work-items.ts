// Queries of the work-item core. A submission is one statement (CTEs), so it costs one round trip and
// is atomic without an explicit transaction; a batch of submissions is the same statement.
import { and, asc, desc, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { DecisionRecord } from '../work/decision.js';
import type { EscalationRecord } from '../work/escalation.js';
import type { LoggedEvent, NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { StepState, WorkItemState } from '../work/work-item.js';
import type { Database, Store } from './database.js';
import { decisionJson, eventJson } from './rows.js';
import { events, steps, workItems } from './schema/index.js';

export function eventValues(e: NewEvent): SQL {
  return sql`(${e.workItemId}::uuid, ${e.stepId}::uuid, ${e.type}, ${JSON.stringify(e.data)}::jsonb, ${e.at.toISOString()}::timestamptz)`;
}

export interface IdempotencyCompletion {
  scope: string;
  key: string;
  status: number;
  body: unknown;
}

/** One submission's rows: the item, its first steps, their events and what routing and admission wrote. */
export interface SubmissionRows {
  item: WorkItemRecord;
  steps: StepRecord[];
  events: NewEvent[];
  /** Escalations raised by routing (no capable node), written in the same statement. */
  escalations?: readonly EscalationRecord[];
  /** Policy decisions (admission, routing of the first steps), written in the same statement. */
  decisions?: readonly DecisionRecord[];
  /**
   * Value-stream bindings of the first steps (`<stream step>#1` → step), written in the same statement
   * so the step is known as a stream step from the moment anyone can claim it.
   */
  streamSteps?: readonly { stepKey: string; stepId: string }[];
  idempotency?: IdempotencyCompletion | undefined;
}

/**
 * Every table travels as one JSON parameter expanded by jsonb_to_recordset, so the statement text is the
 * same for one submission or a hundred: it is prepared once per connection, and a batch of submissions
 * (group-committed in capabilities/router.ts) costs one round trip and one commit. As jsonb the
 * parameter is parsed once; json_to_recordset parsed every jsonb column (payload, attributes, event
 * data) a second time, and the statement took about a fifth longer.
 */
const INSERT_SUBMISSIONS = `with i as (
    insert into work_items (id, kind, title, state, priority, attributes, payload, due_at, traceparent, created_by,
      created_at, updated_at)
    select * from jsonb_to_recordset($1::jsonb) as r(id uuid, kind text, title text, state text, priority int,
      attributes jsonb, payload jsonb, due_at timestamptz, traceparent text, created_by text, created_at timestamptz,
      updated_at timestamptz)
  ), s as (
    insert into steps (id, work_item_id, seq, capability, state, node_id, attempt, priority, queued_at,
      eligible_nodes, exclusions, routing, tier, rank_at)
    select * from jsonb_to_recordset($2::jsonb) as r(id uuid, work_item_id uuid, seq int, capability text, state text,
      node_id text, attempt int, priority int, queued_at timestamptz, eligible_nodes text[], exclusions jsonb,
      routing text, tier int, rank_at timestamptz)
  ), e as (
    insert into events (work_item_id, step_id, type, data, at)
    select * from jsonb_to_recordset($3::jsonb) as r(work_item_id uuid, step_id uuid, type text, data jsonb,
      at timestamptz)
  ), x as (
    insert into escalations (id, kind, severity, work_item_id, step_id, reason, state, owner, details, created_at,
      updated_at)
    select * from jsonb_to_recordset($4::jsonb) as r(id uuid, kind text, severity text, work_item_id uuid,
      step_id uuid, reason text, state text, owner text, details jsonb, created_at timestamptz,
      updated_at timestamptz)
  ), d as (
    insert into decisions (id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at)
    select * from jsonb_to_recordset($5::jsonb) as r(id uuid, work_item_id uuid, step_id uuid, hook text,
      outcome text, policy_version text, rule_ids text[], details jsonb, at timestamptz)
  ), b as (
    insert into stream_steps (work_item_id, step_key, step_id)
    select * from jsonb_to_recordset($6::jsonb) as r(work_item_id uuid, step_key text, step_id uuid)
  ), k as (
    update idempotency_keys ik set state = 'done', response_status = r.status, response_body = r.body
    from jsonb_to_recordset($7::jsonb) as r(scope text, key text, status int, body jsonb)
    where ik.scope = r.scope and ik.key = r.key
  )
  select 1 as ok`;

/**
 * Writes new items, their steps and events (and completes their idempotency keys) in one statement:
 * the hottest write of the service, so the SQL is plain text sent straight to the driver.
 */
export async function insertSubmissions(store: Store, list: readonly SubmissionRows[]): Promise<void> {
  if (list.length === 0) return;
  const items: unknown[] = [];
  const stepRows: unknown[] = [];
  const eventRows: unknown[] = [];
  const escalations: unknown[] = [];
  const decisions: unknown[] = [];
  const bindings: unknown[] = [];
  const keys: unknown[] = [];
  for (const input of list) {
    const { item } = input;
    // Dates become ISO strings through JSON.stringify (Date#toJSON).
    items.push({
      id: item.id,
      kind: item.kind,
      title: item.title,
      state: item.state,
      priority: item.priority,
      attributes: item.attributes,
      payload: item.payload,
      due_at: item.dueAt,
      traceparent: item.traceparent,
      created_by: item.createdBy,
      created_at: item.createdAt,
      updated_at: item.updatedAt,
    });
    for (const s of input.steps) {
      stepRows.push({
        id: s.id,
        work_item_id: s.workItemId,
        seq: s.seq,
        capability: s.capability,
        state: s.state,
        node_id: s.nodeId,
        attempt: s.attempt,
        priority: s.priority,
        queued_at: s.queuedAt,
        eligible_nodes: s.eligibleNodes,
        exclusions: s.exclusions,
        routing: s.routing,
        tier: s.tier,
        rank_at: s.rankAt,
      });
    }
    for (const e of input.events) eventRows.push(eventJson(e));
    for (const e of input.escalations ?? []) {
      escalations.push({
        id: e.id,
        kind: e.kind,
        severity: e.severity,
        work_item_id: e.workItemId,
        step_id: e.stepId,
        reason: e.reason,
        state: e.state,
        owner: e.owner,
        details: e.details,
        created_at: e.createdAt,
        updated_at: e.updatedAt,
      });
    }
    for (const d of input.decisions ?? []) decisions.push(decisionJson(d));
    for (const b of input.streamSteps ?? []) {
      bindings.push({ work_item_id: item.id, step_key: b.stepKey, step_id: b.stepId });
    }
    const idem = input.idempotency;
    if (idem) keys.push({ scope: idem.scope, key: idem.key, status: idem.status, body: idem.body });
  }
  await store.query(INSERT_SUBMISSIONS, [
    JSON.stringify(items),
    JSON.stringify(stepRows),
    JSON.stringify(eventRows),
    JSON.stringify(escalations),
    JSON.stringify(decisions),
    JSON.stringify(bindings),
    JSON.stringify(keys),
  ]);
}

/** One submission in its own statement (the path of the submission writer's retries and of the baseline). */
export function insertSubmission(store: Store, input: SubmissionRows): Promise<void> {
  return insertSubmissions(store, [input]);
}

export async function appendEvents(tx: Database, list: NewEvent[]): Promise<void> {
  if (list.length === 0) return;
  await tx.execute(
    sql`insert into events (work_item_id, step_id, type, data, at) values ${sql.join(list.map(eventValues), sql`, `)}`,
  );
}

function toItem(row: typeof workItems.$inferSelect): WorkItemRecord {
  return { ...row, state: row.state as WorkItemState } as WorkItemRecord;
}

function toStep(row: typeof steps.$inferSelect): StepRecord {
  return { ...row, state: row.state as StepState } as StepRecord;
}

export async function findWorkItem(
  db: Database,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<WorkItemRecord | undefined> {
  const q = db.select().from(workItems).where(eq(workItems.id, id));
  const [row] = options.forUpdate ? await q.for('update') : await q;
  return row ? toItem(row) : undefined;
}

export async function findSteps(db: Database, workItemIds: readonly string[]): Promise<StepRecord[]> {
  if (workItemIds.length === 0) return [];
  const rows = await db
    .select()
    .from(steps)
    .where(inArray(steps.workItemId, [...workItemIds]))
    .orderBy(asc(steps.workItemId), asc(steps.seq));
  return rows.map(toStep);
}

export interface ListWorkItemsQuery {
  state?: WorkItemState | undefined;
  kind?: string | undefined;
  createdBy?: string | undefined;
  /** Return items older than this id (ids are time-ordered UUIDv7). */
  beforeId?: string | undefined;
  limit: number;
}

/** Newest first, keyset-paginated on the time-ordered id. Returns one row more than `limit` to tell if more exist. */
export async function listWorkItems(db: Database, q: ListWorkItemsQuery): Promise<WorkItemRecord[]> {
  const where = [
    q.state ? eq(workItems.state, q.state) : undefined,
    q.kind ? eq(workItems.kind, q.kind) : undefined,
    q.createdBy ? eq(workItems.createdBy, q.createdBy) : undefined,
    q.beforeId ? lt(workItems.id, q.beforeId) : undefined,
  ].filter((c): c is SQL => c !== undefined);
  const rows = await db
    .select()
    .from(workItems)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(workItems.id))
    .limit(q.limit + 1);
  return rows.map(toItem);
}

export async function listEvents(
  db: Database,
  workItemId: string,
  q: { afterId?: number | undefined; limit: number },
): Promise<LoggedEvent[]> {
  const rows = await db
    .select()
    .from(events)
    .where(
      and(
        eq(events.workItemId, workItemId),
        q.afterId !== undefined ? sql`${events.id} > ${q.afterId}` : undefined,
      ),
    )
    .orderBy(asc(events.id))
    .limit(q.limit);
  return rows.map((r) => ({
    id: String(r.id),
    workItemId: r.workItemId,
    stepId: r.stepId,
    type: r.type,
    data: r.data as LoggedEvent['data'],
    at: r.at,
  }));
}

export async function updateWorkItemState(
  tx: Database,
  id: string,
  state: WorkItemState,
  now: Date,
  result?: unknown,
): Promise<void> {
  await tx
    .update(workItems)
    .set({ state, updatedAt: now, ...(result === undefined ? {} : { result }) })
    .where(eq(workItems.id, id));
}

/**
 * Adds attributes the item does not have yet (ones it has keep their value) to an open item; returns
 * the item's attributes afterwards, or undefined when the item is not open.
 */
export async function addWorkItemAttributes(
  store: Store,
  tx: Database,
  input: { id: string; attributes: Record<string, unknown>; now: Date },
): Promise<Record<string, unknown> | undefined> {
  const [row] = await store.rows<{ attributes: unknown }>(
    sql`update work_items set attributes = ${JSON.stringify(input.attributes)}::jsonb || attributes,
        updated_at = ${input.now.toISOString()}::timestamptz
      where id = ${input.id}::uuid and state = 'open' returning attributes`,
    tx,
  );
  if (!row) return undefined;
  const value = typeof row.attributes === 'string' ? JSON.parse(row.attributes) : row.attributes;
  return value as Record<string, unknown>;
}

/** Cancels the item's steps that are still queued or claimed; returns the ones it cancelled. */
export async function cancelOpenSteps(tx: Database, workItemId: string, now: Date): Promise<StepRecord[]> {
  const rows = await tx
    .update(steps)
    .set({ state: 'cancelled', finishedAt: now, leaseToken: null, leaseExpiresAt: null })
    .where(and(eq(steps.workItemId, workItemId), inArray(steps.state, ['queued', 'claimed'])))
    .returning();
  return rows.map(toStep);
}
