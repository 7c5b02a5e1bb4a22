// Queries of the work-item core. The submission is one statement (CTEs), so it costs one round trip
// and is atomic without an explicit transaction.
import { and, asc, desc, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { DecisionRecord } from '../work/decision.js';
import type { EscalationRecord } from '../work/escalation.js';
import type { LoggedEvent, NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { StepState, WorkItemState } from '../work/work-item.js';
import type { Database, Store } from './database.js';
import { DECISION_INSERT_COLUMNS, decisionInsertValues } from './decisions.js';
import { pgArray } from './rows.js';
import { events, steps, workItems } from './schema/index.js';

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const ts = (d: Date | null): string | null => (d ? d.toISOString() : null);

function stepValues(s: StepRecord): SQL {
  return sql`(${s.id}::uuid, ${s.workItemId}::uuid, ${s.seq}::int, ${s.capability}, ${s.state}, ${s.nodeId},
    ${s.attempt}::int, ${s.priority}::int, ${s.queuedAt.toISOString()}::timestamptz, ${pgArray(s.eligibleNodes)}::text[],
    ${JSON.stringify(s.exclusions)}::jsonb, ${s.routing}, ${s.tier}::int, ${s.rankAt.toISOString()}::timestamptz)`;
}

function escalationValues(e: EscalationRecord): SQL {
  return sql`(${e.id}::uuid, ${e.kind}, ${e.severity}, ${e.workItemId}::uuid, ${e.stepId}::uuid, ${e.reason},
    ${e.state}, ${e.owner}, ${JSON.stringify(e.details)}::jsonb, ${e.createdAt.toISOString()}::timestamptz,
    ${e.updatedAt.toISOString()}::timestamptz)`;
}

export function eventValues(e: NewEvent): SQL {
  return sql`(${e.workItemId}::uuid, ${e.stepId}::uuid, ${e.type}, ${JSON.stringify(e.data)}::jsonb, ${e.at.toISOString()}::timestamptz)`;
}

export interface IdempotencyCompletion {
  scope: string;
  key: string;
  status: number;
  body: unknown;
}

/** Writes a new item, its steps and its events (and completes its idempotency key) in one statement. */
export async function insertSubmission(
  store: Store,
  input: {
    item: WorkItemRecord;
    steps: StepRecord[];
    events: NewEvent[];
    /** Escalations raised by routing (no capable node), written in the same statement. */
    escalations?: readonly EscalationRecord[];
    /** Policy decisions (admission, routing of the first steps), written in the same statement. */
    decisions?: readonly DecisionRecord[];
    idempotency?: IdempotencyCompletion | undefined;
  },
): Promise<void> {
  const { item } = input;
  const idem = input.idempotency;
  await store.rows(sql`
    with i as (
      insert into work_items (id, kind, title, state, priority, attributes, payload, due_at, traceparent, created_by, created_at, updated_at)
      values (${item.id}::uuid, ${item.kind}, ${item.title}, ${item.state}, ${item.priority}::int, ${json(item.attributes)}::jsonb,
        ${json(item.payload)}::jsonb, ${ts(item.dueAt)}::timestamptz, ${item.traceparent}, ${item.createdBy},
        ${item.createdAt.toISOString()}::timestamptz, ${item.updatedAt.toISOString()}::timestamptz)
    ), s as (
      insert into steps (id, work_item_id, seq, capability, state, node_id, attempt, priority, queued_at,
        eligible_nodes, exclusions, routing, tier, rank_at)
      values ${sql.join(input.steps.map(stepValues), sql`, `)}
    ), e as (
      insert into events (work_item_id, step_id, type, data, at)
      values ${sql.join(input.events.map(eventValues), sql`, `)}
    )${
      input.escalations?.length
        ? sql`, x as (
      insert into escalations (id, kind, severity, work_item_id, step_id, reason, state, owner, details, created_at, updated_at)
      values ${sql.join(input.escalations.map(escalationValues), sql`, `)}
    )`
        : sql``
    }${
      input.decisions?.length
        ? sql`, d as (
      insert into decisions ${DECISION_INSERT_COLUMNS}
      values ${sql.join(input.decisions.map(decisionInsertValues), sql`, `)}
    )`
        : sql``
    }${
      idem
        ? sql`, k as (
      update idempotency_keys set state = 'done', response_status = ${idem.status}::int, response_body = ${JSON.stringify(idem.body)}::jsonb
      where scope = ${idem.scope} and key = ${idem.key}
    )`
        : sql``
    }
    select 1 as ok`);
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

/** Cancels the item's steps that are still queued or claimed; returns the ones it cancelled. */
export async function cancelOpenSteps(tx: Database, workItemId: string, now: Date): Promise<StepRecord[]> {
  const rows = await tx
    .update(steps)
    .set({ state: 'cancelled', finishedAt: now, leaseToken: null, leaseExpiresAt: null })
    .where(and(eq(steps.workItemId, workItemId), inArray(steps.state, ['queued', 'claimed'])))
    .returning();
  return rows.map(toStep);
}
