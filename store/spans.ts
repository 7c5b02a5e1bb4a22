// Reads of the span store: per-item and per-kind spans, kinds seen, and the live state the flow
// metrics need (queue depth, WIP) from the work tables. Writes are in store/span-writes.ts.
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

/** Kinds seen in hop and item spans, with how many items and when they were first and last seen (span_items). */
export async function listSpanKinds(
  store: Store,
): Promise<{ kind: string; items: number; firstAt: Date; lastAt: Date }[]> {
  const rows = await store.rows<{
    kind: string;
    items: number | string;
    first_at: string;
    last_at: string;
  }>(sql`
    select kind, count(*) as items, min(start_at) as first_at, max(coalesce(last_at, end_at, start_at)) as last_at
    from span_items group by kind order by kind`);
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
    sql`select min(start_at) as at from span_items where kind = ${kind}`,
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
