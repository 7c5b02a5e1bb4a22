// Queries of the span store: batched inserts, retention, per-item and per-kind reads, and the live
// state the flow metrics need (queue depth, WIP) from the work tables.
import { and, asc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Database, Store } from './database.js';
import { spans, steps, workItems } from './schema/index.js';

export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  source: 'hop' | 'item' | 'agent';
  hop: string | null;
  workItemId: string | null;
  kind: string | null;
  stepId: string | null;
  capability: string | null;
  nodeId: string | null;
  nodeKind: string | null;
  attempt: number | null;
  outcome: string | null;
  startAt: Date;
  endAt: Date;
  attributes: Record<string, unknown>;
}

/**
 * Inserts spans; a span already stored (same trace and span id) is kept as it was. The batch travels
 * as one JSON parameter expanded by json_to_recordset: one statement, no per-value parameters.
 */
export async function insertSpans(db: Database, rows: readonly StoredSpan[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 2000) {
    const chunk = rows.slice(i, i + 2000).map((r) => ({
      trace_id: r.traceId,
      span_id: r.spanId,
      parent_span_id: r.parentSpanId,
      name: r.name,
      source: r.source,
      hop: r.hop,
      work_item_id: r.workItemId,
      kind: r.kind,
      step_id: r.stepId,
      capability: r.capability,
      node_id: r.nodeId,
      node_kind: r.nodeKind,
      attempt: r.attempt,
      outcome: r.outcome,
      start_at: r.startAt.toISOString(),
      end_at: r.endAt.toISOString(),
      duration_ms: r.endAt.getTime() - r.startAt.getTime(),
      attributes: r.attributes,
    }));
    await db.execute(sql`
      insert into spans (trace_id, span_id, parent_span_id, name, source, hop, work_item_id, kind, step_id,
        capability, node_id, node_kind, attempt, outcome, start_at, end_at, duration_ms, attributes)
      select * from json_to_recordset(${JSON.stringify(chunk)}::json) as r(trace_id text, span_id text,
        parent_span_id text, name text, source text, hop text, work_item_id uuid, kind text, step_id uuid,
        capability text, node_id text, node_kind text, attempt integer, outcome text, start_at timestamptz,
        end_at timestamptz, duration_ms double precision, attributes jsonb)
      on conflict (trace_id, span_id) do nothing`);
  }
}

/** Deletes spans that ended before `cutoff`; returns how many. */
export async function deleteSpansEndedBefore(db: Database, cutoff: Date): Promise<number> {
  const rows = await db.delete(spans).where(lt(spans.endAt, cutoff)).returning({ id: spans.spanId });
  return rows.length;
}

function toStored(r: typeof spans.$inferSelect): StoredSpan {
  const { durationMs: _, ...rest } = r;
  return {
    ...rest,
    source: r.source as StoredSpan['source'],
    attributes: r.attributes as Record<string, unknown>,
  };
}

export async function listItemSpans(db: Database, workItemId: string): Promise<StoredSpan[]> {
  const rows = await db
    .select()
    .from(spans)
    .where(eq(spans.workItemId, workItemId))
    // The item's root span first, then by time; a zero-length route hop before the wait it starts.
    .orderBy(asc(spans.startAt), sql`case when ${spans.source} = 'item' then 0 else 1 end`, asc(spans.endAt));
  return rows.map(toStored);
}

export async function listTraceSpans(db: Database, traceId: string): Promise<StoredSpan[]> {
  const rows = await db.select().from(spans).where(eq(spans.traceId, traceId));
  return rows.map(toStored);
}

/** Every span of the items of `kind` whose first span starts in [from, to). */
export async function listKindSpans(db: Database, kind: string, from: Date, to: Date): Promise<StoredSpan[]> {
  const scope = db
    .select({ id: spans.workItemId })
    .from(spans)
    .where(and(eq(spans.kind, kind), inArray(spans.source, ['hop', 'item'])))
    .groupBy(spans.workItemId)
    .having(
      and(
        gte(sql`min(${spans.startAt})`, sql`${from.toISOString()}::timestamptz`),
        lt(sql`min(${spans.startAt})`, sql`${to.toISOString()}::timestamptz`),
      ),
    );
  const rows = await db
    .select()
    .from(spans)
    .where(inArray(spans.workItemId, scope))
    .orderBy(asc(spans.startAt));
  return rows.map(toStored);
}

/** Kinds seen in hop spans, with how many items and when they were first and last seen. */
export async function listSpanKinds(
  store: Store,
): Promise<{ kind: string; items: number; firstAt: Date; lastAt: Date }[]> {
  const rows = await store.rows<{
    kind: string;
    items: number | string;
    first_at: string;
    last_at: string;
  }>(sql`
    select kind, count(distinct work_item_id) as items, min(start_at) as first_at, max(end_at) as last_at
    from spans where source = 'hop' and kind is not null group by kind order by kind`);
  return rows.map((r) => ({
    kind: r.kind,
    items: Number(r.items),
    firstAt: new Date(r.first_at),
    lastAt: new Date(r.last_at),
  }));
}

/** The first span start of a kind (the default start of its window), or undefined when unseen. */
export async function firstSpanAt(store: Store, kind: string): Promise<Date | undefined> {
  const [row] = await store.rows<{ at: string | null }>(
    sql`select min(start_at) as at from spans where kind = ${kind} and source = 'hop'`,
  );
  return row?.at ? new Date(row.at) : undefined;
}

/** The item ids whose hops carry this trace id (the item's trace), newest first. */
export async function findWorkItemByTrace(
  store: Store,
  traceId: string,
): Promise<{ id: string; kind: string; traceparent: string } | undefined> {
  const [row] = await store.rows<{ id: string; kind: string; traceparent: string }>(sql`
    select id, kind, traceparent from work_items where traceparent like ${`00-${traceId}-%`} limit 1`);
  return row;
}

/** The steps of an item, for attributing agent spans: id, capability, attempt, node, claim window. */
export async function listItemSteps(
  db: Database,
  workItemId: string,
): Promise<{ id: string; capability: string; attempt: number; nodeId: string | null; state: string }[]> {
  return db
    .select({
      id: steps.id,
      capability: steps.capability,
      attempt: steps.attempt,
      nodeId: steps.nodeId,
      state: steps.state,
    })
    .from(steps)
    .where(eq(steps.workItemId, workItemId))
    .orderBy(asc(steps.seq));
}

export interface LiveFlowState {
  queues: { capability: string; depth: number; oldestQueuedAt: Date | null }[];
  wipByNode: { nodeId: string; wip: number }[];
  wipByKind: { kind: string; wip: number }[];
}

/** Current queue depth per capability, WIP per node and per kind, from the work tables. */
export async function readLiveFlowState(store: Store): Promise<LiveFlowState> {
  const [queues, nodes, kinds] = await Promise.all([
    store.rows<{ capability: string; depth: number | string; oldest: string | null }>(sql`
      select capability, count(*) as depth, min(queued_at) as oldest from ${steps}
      where state = 'queued' group by capability order by capability`),
    store.rows<{ node_id: string; wip: number | string }>(sql`
      select node_id, count(*) as wip from ${steps}
      where state = 'claimed' and node_id is not null group by node_id order by node_id`),
    store.rows<{ kind: string; wip: number | string }>(sql`
      select kind, count(*) as wip from ${workItems} where state = 'open' group by kind order by kind`),
  ]);
  return {
    queues: queues.map((q) => ({
      capability: q.capability,
      depth: Number(q.depth),
      oldestQueuedAt: q.oldest ? new Date(q.oldest) : null,
    })),
    wipByNode: nodes.map((n) => ({ nodeId: n.node_id, wip: Number(n.wip) })),
    wipByKind: kinds.map((k) => ({ kind: k.kind, wip: Number(k.wip) })),
  };
}

/** Of these items, the ones that ended (done, failed, cancelled), with their trace and times. */
export async function findEndedItems(
  db: Database,
  ids: readonly string[],
): Promise<
  { id: string; kind: string; state: string; traceparent: string; createdAt: Date; updatedAt: Date }[]
> {
  if (ids.length === 0) return [];
  return db
    .select({
      id: workItems.id,
      kind: workItems.kind,
      state: workItems.state,
      traceparent: workItems.traceparent,
      createdAt: workItems.createdAt,
      updatedAt: workItems.updatedAt,
    })
    .from(workItems)
    .where(
      and(
        inArray(workItems.id, [...ids]),
        inArray(workItems.state, ['done', 'failed', 'cancelled', 'rejected']),
      ),
    );
}
