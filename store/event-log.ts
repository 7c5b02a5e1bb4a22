// Reads of the append-only event log for live consumers (SSE streams, webhook fan-out): by id range,
// joined with the item's kind and submitter so filters run in SQL.
import { type SQL, sql } from 'drizzle-orm';
import { type EventFilter, type FeedEvent, splitTypes } from '../work/event-filter.js';
import type { Database } from './database.js';

interface EventRow {
  id: number | string;
  work_item_id: string;
  step_id: string | null;
  type: string;
  data: Record<string, unknown> | string;
  at: Date | string;
  kind: string | null;
  created_by: string | null;
  traceparent: string | null;
}

async function rows<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

function toFeedEvent(r: EventRow): FeedEvent {
  return {
    id: Number(r.id),
    workItemId: r.work_item_id,
    stepId: r.step_id,
    type: r.type,
    data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : r.data,
    at: r.at instanceof Date ? r.at : new Date(r.at),
    kind: r.kind ?? '',
    createdBy: r.created_by ?? '',
    traceparent: r.traceparent,
  };
}

function filterSql(filter: EventFilter | undefined): SQL[] {
  if (!filter) return [];
  const where: SQL[] = [];
  if (filter.createdBy !== undefined) where.push(sql`w.created_by = ${filter.createdBy}`);
  if (filter.workItemId !== undefined) where.push(sql`e.work_item_id = ${filter.workItemId}::uuid`);
  if (filter.kinds.length > 0)
    where.push(
      sql`w.kind in (${sql.join(
        filter.kinds.map((k) => sql`${k}`),
        sql`, `,
      )})`,
    );
  if (filter.types.length > 0) {
    const { exact, prefixes } = splitTypes(filter.types);
    const any: SQL[] = [];
    if (exact.length > 0)
      any.push(
        sql`e.type in (${sql.join(
          exact.map((t) => sql`${t}`),
          sql`, `,
        )})`,
      );
    for (const p of prefixes) any.push(sql`starts_with(e.type, ${p})`);
    where.push(sql`(${sql.join(any, sql` or `)})`);
  }
  return where;
}

/** Events with `after < id <= upTo` (no upper bound when absent) that pass the filter, oldest first. */
export async function readEventLog(
  db: Database,
  q: { after: number; upTo?: number | undefined; limit: number; filter?: EventFilter | undefined },
): Promise<FeedEvent[]> {
  const found = await rows<EventRow>(db, eventsQuery(q));
  return found.map(toFeedEvent);
}

/** The events with `after < id <= upTo` that pass the filter, oldest first, joined with their items. */
function eventsQuery(q: {
  after: number;
  upTo?: number | undefined;
  limit: number;
  filter?: EventFilter | undefined;
}): SQL {
  const where = [sql`e.id > ${q.after}`, ...filterSql(q.filter)];
  if (q.upTo !== undefined) where.push(sql`e.id <= ${q.upTo}`);
  return sql`select e.id, e.work_item_id, e.step_id, e.type, e.data, e.at, w.kind, w.created_by, w.traceparent
    from events e left join work_items w on w.id = e.work_item_id
    where ${sql.join(where, sql` and `)}
    order by e.id limit ${q.limit}`;
}

/** The id of the oldest of the newest `limit` events (0 when the log is empty). */
export async function oldestOfNewestEventId(db: Database, limit: number): Promise<number> {
  const [row] = await rows<{ id: number | string | null }>(
    db,
    sql`select min(id) as id from (select id from events order by id desc limit ${limit}) t`,
  );
  return Number(row?.id ?? 0);
}

/**
 * A snapshot's transaction horizon: every transaction id below `xmin` had ended when it was taken;
 * every transaction that had started by then has an id below `xmax` (PostgreSQL's pg_current_snapshot()).
 */
export interface TransactionHorizon {
  xmin: bigint;
  xmax: bigint;
}

export interface EventLogPage {
  /** Events with `after < id`, oldest first, at most `limit`. */
  events: FeedEvent[];
  /** The horizon of the snapshot the events were read in (one statement: the same snapshot). */
  horizon: TransactionHorizon;
}

/**
 * The next events of the log after `after`, read together with their snapshot's transaction horizon,
 * so a reader can tell whether a missing id's transaction had ended when the events were read.
 */
export async function readEventLogPage(
  db: Database,
  q: { after: number; limit: number },
): Promise<EventLogPage> {
  const found = await rows<Partial<EventRow> & { xmin: string; xmax: string }>(
    db,
    sql`select s.xmin, s.xmax, e.*
      from (select pg_snapshot_xmin(c)::text as xmin, pg_snapshot_xmax(c)::text as xmax
              from pg_current_snapshot() c) s
      left join (${eventsQuery(q)}) e on true
      order by e.id`,
  );
  const first = found[0];
  return {
    events: found
      .filter((r): r is EventRow & { xmin: string; xmax: string } => r.id != null)
      .map(toFeedEvent),
    horizon: { xmin: BigInt(first?.xmin ?? 0), xmax: BigInt(first?.xmax ?? 0) },
  };
}

/** The highest id in the log (0 when empty). */
export async function latestEventId(db: Database): Promise<number> {
  const [row] = await rows<{ id: number | string | null }>(db, sql`select max(id) as id from events`);
  return Number(row?.id ?? 0);
}
