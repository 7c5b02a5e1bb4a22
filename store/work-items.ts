// Queries of the work-item core. The submission is one statement (CTEs), so it costs one round trip
// and is atomic without an explicit transaction.
import { and, asc, desc, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { DecisionRecord } from '../work/decision.js';
import type { EscalationRecord } from '../work/escalation.js';
import type { LoggedEvent, NewEvent } from '../work/events.js';
import type { StepRecord, WorkItemRecord } from '../work/records.js';
import type { StepState, WorkItemState } from '../work/work-item.js';
import type { Database, Store } from './database.js';
import { pgArray } from './rows.js';
import { events, steps, workItems } from './schema/index.js';

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const ts = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function eventValues(e: NewEvent): SQL {
  return sql`(${e.workItemId}::uuid, ${e.stepId}::uuid, ${e.type}, ${JSON.stringify(e.data)}::jsonb, ${e.at.toISOString()}::timestamptz)`;
}

export interface IdempotencyCompletion {
  scope: string;
  key: string;
  status: number;
  body: unknown;
}

/**
 * Positional parameters for hand-written SQL: `p.add(value, 'uuid')` appends the value and returns its
 * placeholder (`$7::uuid`).
 */
class Params {
  readonly list: unknown[] = [];
  add(value: unknown, cast?: string): string {
    this.list.push(value);
    return cast ? `$${this.list.length}::${cast}` : `$${this.list.length}`;
  }
}

function stepRow(p: Params, s: StepRecord): string {
  return `(${p.add(s.id, 'uuid')}, ${p.add(s.workItemId, 'uuid')}, ${p.add(s.seq, 'int')}, ${p.add(s.capability)}, ${p.add(s.state)}, ${p.add(s.nodeId)}, ${p.add(s.attempt, 'int')}, ${p.add(s.priority, 'int')}, ${p.add(s.queuedAt.toISOString(), 'timestamptz')}, ${p.add(pgArray(s.eligibleNodes), 'text[]')}, ${p.add(JSON.stringify(s.exclusions), 'jsonb')}, ${p.add(s.routing)}, ${p.add(s.tier, 'int')}, ${p.add(s.rankAt.toISOString(), 'timestamptz')})`;
}

function eventRow(p: Params, e: NewEvent): string {
  return `(${p.add(e.workItemId, 'uuid')}, ${p.add(e.stepId, 'uuid')}, ${p.add(e.type)}, ${p.add(JSON.stringify(e.data), 'jsonb')}, ${p.add(e.at.toISOString(), 'timestamptz')})`;
}

function escalationRow(p: Params, e: EscalationRecord): string {
  return `(${p.add(e.id, 'uuid')}, ${p.add(e.kind)}, ${p.add(e.severity)}, ${p.add(e.workItemId, 'uuid')}, ${p.add(e.stepId, 'uuid')}, ${p.add(e.reason)}, ${p.add(e.state)}, ${p.add(e.owner)}, ${p.add(JSON.stringify(e.details), 'jsonb')}, ${p.add(e.createdAt.toISOString(), 'timestamptz')}, ${p.add(e.updatedAt.toISOString(), 'timestamptz')})`;
}

/** The columns of store/decisions.ts DECISION_INSERT_COLUMNS, in the same order. */
function decisionRow(p: Params, d: DecisionRecord): string {
  return `(${p.add(d.id, 'uuid')}, ${p.add(d.workItemId, 'uuid')}, ${p.add(d.stepId, 'uuid')}, ${p.add(d.hook)}, ${p.add(d.outcome)}, ${p.add(d.policyVersion)}, ${p.add(pgArray(d.ruleIds), 'text[]')}, ${p.add(JSON.stringify(d.details), 'jsonb')}, ${p.add(d.at.toISOString(), 'timestamptz')})`;
}

/**
 * Writes a new item, its steps and its events (and completes its idempotency key) in one statement.
 * The hottest write of the service, so the SQL is built by hand and sent straight to the driver: drizzle's
 * `sql` templates cost a few hundred microseconds of CPU per submission for a statement this size.
 */
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
    /**
     * Value-stream bindings of the first steps (`<stream step>#1` → step), written in the same statement
     * so the step is known as a stream step from the moment anyone can claim it.
     */
    streamSteps?: readonly { stepKey: string; stepId: string }[];
    idempotency?: IdempotencyCompletion | undefined;
  },
): Promise<void> {
  const { item } = input;
  const idem = input.idempotency;
  const p = new Params();
  let text = `with i as (
      insert into work_items (id, kind, title, state, priority, attributes, payload, due_at, traceparent, created_by, created_at, updated_at)
      values (${p.add(item.id, 'uuid')}, ${p.add(item.kind)}, ${p.add(item.title)}, ${p.add(item.state)}, ${p.add(item.priority, 'int')}, ${p.add(json(item.attributes), 'jsonb')},
        ${p.add(json(item.payload), 'jsonb')}, ${p.add(ts(item.dueAt), 'timestamptz')}, ${p.add(item.traceparent)}, ${p.add(item.createdBy)},
        ${p.add(item.createdAt.toISOString(), 'timestamptz')}, ${p.add(item.updatedAt.toISOString(), 'timestamptz')})
    ), s as (
      insert into steps (id, work_item_id, seq, capability, state, node_id, attempt, priority, queued_at,
        eligible_nodes, exclusions, routing, tier, rank_at)
      values ${input.steps.map((row) => stepRow(p, row)).join(', ')}
    ), e as (
      insert into events (work_item_id, step_id, type, data, at)
      values ${input.events.map((row) => eventRow(p, row)).join(', ')}
    )`;
  if (input.escalations?.length) {
    text += `, x as (
      insert into escalations (id, kind, severity, work_item_id, step_id, reason, state, owner, details, created_at, updated_at)
      values ${input.escalations.map((row) => escalationRow(p, row)).join(', ')}
    )`;
  }
  if (input.decisions?.length) {
    text += `, d as (
      insert into decisions (id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at)
      values ${input.decisions.map((row) => decisionRow(p, row)).join(', ')}
    )`;
  }
  if (input.streamSteps?.length) {
    text += `, b as (
      insert into stream_steps (work_item_id, step_key, step_id)
      values ${input.streamSteps.map((row) => `(${p.add(item.id, 'uuid')}, ${p.add(row.stepKey)}, ${p.add(row.stepId, 'uuid')})`).join(', ')}
    )`;
  }
  if (idem) {
    text += `, k as (
      update idempotency_keys set state = 'done', response_status = ${p.add(idem.status, 'int')}, response_body = ${p.add(JSON.stringify(idem.body), 'jsonb')}
      where scope = ${p.add(idem.scope)} and key = ${p.add(idem.key)}
    )`;
  }
  await store.query(`${text}\n    select 1 as ok`, p.list);
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
