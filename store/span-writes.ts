// Writes to the span store: batched span inserts that keep the step visits (step_visits) and items
// (span_items) up to date in the same transaction, and retention, which rebuilds the visits of the
// items it touched. The value stream is read from the visits (store/value-stream-queries.ts).
import { type SQL, sql } from 'drizzle-orm';
import { ADVISORY_LOCKS, advisoryXactLock } from './advisory-locks.js';
import type { Database, Store } from './database.js';
import type { StoredSpan } from './spans.js';

/**
 * Spans per statement: the batch travels as one JSON parameter expanded by jsonb_to_recordset (half
 * the cost of json_to_recordset here, which parses each span's attributes a second time into jsonb).
 */
const CHUNK = 2000;
/** Items per statement when visits are rebuilt from their spans. */
const REBUILD_CHUNK = 5000;

/**
 * Visits and items are read, then written, per item; on PostgreSQL span writers of every instance
 * take turns (a batch takes milliseconds). PGlite is one connection: nothing can race.
 */
async function lockSpanWrites(store: Store, tx: Database): Promise<void> {
  if (store.kind === 'postgres') await advisoryXactLock(tx, ADVISORY_LOCKS.spanWrites);
}

/**
 * Inserts spans; a span already stored (same trace and span id) is kept as it was and counted once.
 * Each chunk inserts its spans and folds the newly inserted ones into their step visits and items
 * (INSERT … ON CONFLICT DO UPDATE aggregating) in one transaction; the items whose path changed (a new
 * visit, an earlier one, a handoff) get their visits' places in the path recomputed.
 */
export async function insertSpans(store: Store, rows: readonly StoredSpan[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const json = JSON.stringify(
      chunk.map((r) => ({
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
      })),
    );
    const agentSpans = chunk
      .filter((r) => r.source === 'agent')
      .map((r) => ({ trace_id: r.traceId, span_id: r.spanId }));
    await store.transaction(async (tx) => {
      await lockSpanWrites(store, tx);
      const touched = await store.rows<{ work_item_id: string; step_id: string | null; moved: boolean }>(
        sql`
        with ins as (
          insert into spans (trace_id, span_id, parent_span_id, name, source, hop, work_item_id, kind, step_id,
            capability, node_id, node_kind, attempt, outcome, start_at, end_at, duration_ms, attributes)
          select * from jsonb_to_recordset(${json}::jsonb) as r(trace_id text, span_id text,
            parent_span_id text, name text, source text, hop text, work_item_id uuid, kind text, step_id uuid,
            capability text, node_id text, node_kind text, attempt integer, outcome text, start_at timestamptz,
            end_at timestamptz, duration_ms double precision, attributes jsonb)
          on conflict (trace_id, span_id) do nothing
          returning source, hop, work_item_id, kind, step_id, capability, node_id, node_kind, outcome,
            start_at, end_at, duration_ms
        ),
        agg as (${visitAggregate(sql`ins`)}),
        visits as (
          -- A new visit's place is computed from the batch's visits of its item: right for an item the
          -- store had no visit of (all its visits are here); items it had are recomputed after (moved).
          insert into step_visits as v (${VISIT_COLUMNS}, ${PLACE_COLUMNS})
          select ${VISIT_COLUMNS}, ${PLACE_COLUMNS} from (
            select a.*, ${PLACES} from agg a where capability is not null
            window w as (partition by work_item_id order by first_at, step_id)
            union all
            select a.*, null, false, false, true from agg a where capability is null
          ) p
          on conflict (work_item_id, step_id) do update set
            capability = least(v.capability, excluded.capability),
            first_at = least(v.first_at, excluded.first_at),
            wait_ms = v.wait_ms + excluded.wait_ms,
            work_ms = v.work_ms + excluded.work_ms,
            handed_off = v.handed_off or excluded.handed_off,
            workers = v.workers || excluded.workers,
            worker_kinds = v.worker_kinds || excluded.worker_kinds,
            agent_spans = v.agent_spans + excluded.agent_spans
          returning v.work_item_id, v.step_id, v.agent_spans
        ),
        items as (
          insert into span_items as i (${ITEM_COLUMNS})
          ${itemAggregate(sql`ins`)}
          on conflict (work_item_id) do update set
            start_at = least(i.start_at, excluded.start_at),
            end_state = greatest(i.end_state, excluded.end_state),
            end_at = greatest(i.end_at, excluded.end_at),
            last_at = greatest(i.last_at, excluded.last_at)
        ),
        moved as (
          -- Read before the upsert above (one snapshot per statement): the visit as it was. Only items
          -- the store already had visits of: a new item's places were written with its visits.
          select distinct a.work_item_id from agg a
          left join step_visits o on o.work_item_id = a.work_item_id and o.step_id = a.step_id
          where a.capability is not null and (o.capability is null or a.capability < o.capability
            or a.first_at < o.first_at or (a.handed_off and not o.handed_off))
            and exists (select 1 from step_visits p where p.work_item_id = a.work_item_id)
        )
        select work_item_id, step_id, false as moved from visits where agent_spans > 0
        union all
        select work_item_id, null, true from moved`,
        tx,
        // The same text every batch (one parameter): planned once per connection, not per batch.
        { prepare: true },
      );
      const moved = touched.filter((t) => t.moved).map((t) => t.work_item_id);
      if (moved.length > 0) await refreshPlaces(store, tx, sql`work_item_id = any(${uuidArray(moved)})`);
      const withAgents = touched.filter((t) => !t.moved);
      if (withAgents.length > 0 || agentSpans.length > 0) {
        // Agent time depends on spans of the whole visit (covering work hops, parent agent spans),
        // which may arrive in any order: recompute it for the visits this batch can have changed.
        await refreshAgentWork(
          store,
          tx,
          sql`(v.work_item_id, v.step_id) in (
            select t.work_item_id, t.step_id
            from json_to_recordset(${JSON.stringify(withAgents)}::json) as t(work_item_id uuid, step_id uuid)
            union
            select c.work_item_id, c.step_id
            from json_to_recordset(${JSON.stringify(agentSpans)}::json) as p(trace_id text, span_id text)
            join spans c on c.trace_id = p.trace_id and c.parent_span_id = p.span_id
            where c.source = 'agent' and c.work_item_id is not null and c.step_id is not null)`,
        );
      }
    });
  }
}

const uuidArray = (ids: readonly string[]): SQL => sql`${`{${ids.join(',')}}`}::uuid[]`;

const VISIT_COLUMNS = sql.raw(
  'work_item_id, step_id, kind, capability, first_at, wait_ms, work_ms, handed_off, workers, worker_kinds, agent_spans',
);
const ITEM_COLUMNS = sql.raw('work_item_id, kind, start_at, end_state, end_at, last_at');

/**
 * Step visits aggregated from span rows (`from`: spans, or the rows just inserted), one per (item,
 * step), with VISIT_COLUMNS. The same sums telemetry/item-paths.ts makes from span rows in memory.
 */
function visitAggregate(from: SQL, where: SQL = sql`true`): SQL {
  return sql`select work_item_id, step_id, min(kind) as kind,
    min(capability) filter (where source = 'hop') as capability,
    min(start_at) filter (where source = 'hop') as first_at,
    coalesce(sum(duration_ms) filter (where hop = 'wait'), 0) as wait_ms,
    coalesce(sum(duration_ms) filter (where hop in ('work', 'approval')), 0) as work_ms,
    coalesce(bool_or(hop = 'handoff'), false) as handed_off,
    coalesce(array_agg(node_id) filter (where hop in ('work', 'approval') and node_id is not null), '{}') as workers,
    coalesce(array_agg(coalesce(node_kind, '')) filter (where hop in ('work', 'approval') and node_id is not null), '{}') as worker_kinds,
    count(*) filter (where source = 'agent')::int as agent_spans
    from ${from}
    where work_item_id is not null and step_id is not null and kind is not null and source in ('hop', 'agent')
      and ${where}
    group by work_item_id, step_id`;
}

/**
 * Items aggregated from span rows, with ITEM_COLUMNS: the earliest start, the end its root span records,
 * the latest end of any of its spans.
 */
function itemAggregate(from: SQL, where: SQL = sql`true`): SQL {
  return sql`select work_item_id, min(kind), min(start_at),
    max(outcome) filter (where source = 'item'),
    max(end_at) filter (where source = 'item'),
    max(end_at)
    from ${from}
    where work_item_id is not null and kind is not null and source in ('hop', 'item') and ${where}
    group by work_item_id`;
}

/**
 * Where a visit sits in its item's path (window `w`: the item's visits by first hop, then step id):
 * the capability before it, whether that visit was handed off, whether this capability was visited
 * before (rework), and whether it is the last.
 */
const PLACES = sql.raw(`lag(capability) over w as prev_capability,
  coalesce(lag(handed_off) over w, false) as prev_handed_off,
  coalesce(capability = any(array_agg(capability) over (w rows between unbounded preceding and 1 preceding)), false) as seen_before,
  lead(step_id) over w is null as last_visit`);
const PLACE_COLUMNS = sql.raw('prev_capability, prev_handed_off, seen_before, last_visit');

/** Recomputes the places of the visits of the items `where` selects; only rows that change are written. */
async function refreshPlaces(store: Store, tx: Database, where: SQL): Promise<void> {
  await store.rows(
    sql`
    update step_visits v set prev_capability = x.prev_capability, prev_handed_off = x.prev_handed_off,
      seen_before = x.seen_before, last_visit = x.last_visit
    from (
      select work_item_id, step_id, ${PLACES}
      from step_visits where capability is not null and ${where}
      window w as (partition by work_item_id order by first_at, step_id)
    ) x
    where v.work_item_id = x.work_item_id and v.step_id = x.step_id
      and (v.prev_capability is distinct from x.prev_capability or v.prev_handed_off <> x.prev_handed_off
        or v.seen_before <> x.seen_before or v.last_visit <> x.last_visit)`,
    tx,
  );
}

/**
 * Recomputes the agent work time of the visits `which` selects (over step_visits as `v`): the time of
 * the step's root agent spans (whose parent is not an agent span) that no work or approval hop of the
 * step covers, so nested model and tool calls, and agent work inside its claim, are not counted twice.
 */
async function refreshAgentWork(store: Store, tx: Database, which: SQL): Promise<void> {
  await store.rows(
    sql`
    update step_visits v set agent_work_ms = coalesce((
      select sum(a.duration_ms) from spans a
      where a.work_item_id = v.work_item_id and a.step_id = v.step_id and a.source = 'agent'
        and not exists (select 1 from spans p
          where p.trace_id = a.trace_id and p.span_id = a.parent_span_id and p.source = 'agent')
        and not exists (select 1 from spans w
          where w.work_item_id = a.work_item_id and w.step_id = a.step_id and w.source = 'hop'
            and w.hop in ('work', 'approval') and w.start_at <= a.start_at and w.end_at >= a.end_at)
    ), 0)
    where v.agent_spans > 0 and ${which}`,
    tx,
  );
}

/**
 * Rebuilds the visits and item rows of these items from their stored spans (all items when `ids` is
 * undefined): after retention deleted some of their spans, or after spans were written around
 * insertSpans (the benchmark's bulk seed). Inside `tx`.
 */
export async function rebuildStepVisits(store: Store, tx: Database, ids?: readonly string[]): Promise<void> {
  await lockSpanWrites(store, tx);
  if (ids === undefined) {
    await store.rows(sql`delete from step_visits`, tx);
    await store.rows(sql`delete from span_items`, tx);
    await insertVisits(store, tx, undefined);
    return;
  }
  for (let i = 0; i < ids.length; i += REBUILD_CHUNK) {
    const list = uuidArray(ids.slice(i, i + REBUILD_CHUNK));
    await store.rows(sql`delete from step_visits where work_item_id = any(${list})`, tx);
    await store.rows(sql`delete from span_items where work_item_id = any(${list})`, tx);
    await insertVisits(store, tx, list);
  }
}

/** Inserts the visits and item rows of the items in `list` (a uuid[]; all when undefined) from their spans. */
async function insertVisits(store: Store, tx: Database, list: SQL | undefined): Promise<void> {
  const where = list ? sql`work_item_id = any(${list})` : sql`true`;
  // Places are computed as the rows go in (no second version of every row); rows that are not visits
  // yet (no hop, so no capability) keep the defaults, as the incremental path leaves them.
  await store.rows(
    sql`with a as (${visitAggregate(sql`spans`, where)})
      insert into step_visits (${VISIT_COLUMNS}, ${PLACE_COLUMNS})
      select ${VISIT_COLUMNS}, ${PLACE_COLUMNS} from (
        select a.*, ${PLACES} from a where capability is not null
        window w as (partition by work_item_id order by first_at, step_id)
        union all
        select a.*, null, false, false, true from a where capability is null
      ) p`,
    tx,
  );
  await store.rows(sql`insert into span_items (${ITEM_COLUMNS}) ${itemAggregate(sql`spans`, where)}`, tx);
  await refreshAgentWork(store, tx, list ? sql`v.work_item_id = any(${list})` : sql`true`);
}

/**
 * Deletes spans that ended before `cutoff` and rebuilds the visits of the items they belonged to
 * from the spans that are left; returns how many spans were deleted.
 */
export async function deleteSpansEndedBefore(store: Store, cutoff: Date): Promise<number> {
  return store.transaction(async (tx) => {
    await lockSpanWrites(store, tx);
    const rows = await store.rows<{ work_item_id: string | null; n: number | string }>(
      sql`with d as (delete from spans where end_at < ${cutoff.toISOString()}::timestamptz returning work_item_id)
        select work_item_id, count(*) as n from d group by work_item_id`,
      tx,
    );
    const ids = rows.flatMap((r) => (r.work_item_id ? [r.work_item_id] : []));
    if (ids.length > 0) await rebuildStepVisits(store, tx, ids);
    return rows.reduce((t, r) => t + Number(r.n), 0);
  });
}
