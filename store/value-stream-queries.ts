// The value stream of a kind aggregated in SQL, for large windows (100,000 items and more): the same
// numbers telemetry/item-paths.ts and telemetry/value-stream.ts compute from span rows in memory.
// Percentiles are percentile_disc (nearest rank), as in telemetry/percentiles.ts.
import { sql } from 'drizzle-orm';
import type { Store } from './database.js';

export interface SqlDistribution {
  count: number;
  totalMs: number;
  p50: number;
  p85: number;
  p95: number;
}

export interface SqlValueStreamFacts {
  started: number;
  done: number;
  steps: {
    capability: string;
    visits: number;
    wait: SqlDistribution;
    work: SqlDistribution;
    nodes: { nodeId: string; nodeKind: string | null; count: number }[];
  }[];
  edges: { from: string; to: string; count: number; handoffs: number; rework: number }[];
  lead: SqlDistribution;
  workOfDoneMs: number;
}

interface RawDist {
  n: number | string;
  total: number | string | null;
  p: (number | string)[] | null;
}

function dist(d: RawDist | null | undefined): SqlDistribution {
  const p = d?.p ?? [];
  return {
    count: Number(d?.n ?? 0),
    totalMs: Number(d?.total ?? 0),
    p50: Number(p[0] ?? 0),
    p85: Number(p[1] ?? 0),
    p95: Number(p[2] ?? 0),
  };
}

export async function aggregateValueStream(
  store: Store,
  kind: string,
  from: Date,
  to: Date,
): Promise<SqlValueStreamFacts> {
  // One pass over the kind's spans grouped per step, then windows per item; no joins between the
  // intermediate results, so the plan stays linear. Sorts and hashes get room to stay in memory.
  const [row] = await store.transaction(async (tx) => {
    await store.rows(sql`set local work_mem = '256MB'`, tx);
    return store.rows<{ facts: unknown }>(
      sql`
    with g as (
      select work_item_id, step_id,
        min(capability) filter (where source = 'hop') as capability,
        min(start_at) filter (where source in ('hop', 'item')) as first_at,
        coalesce(sum(duration_ms) filter (where hop = 'wait'), 0) as wait_ms,
        coalesce(sum(duration_ms) filter (where hop in ('work', 'approval')), 0) as work_ms,
        coalesce(bool_or(hop = 'handoff'), false) as handed_off,
        max(outcome) filter (where source = 'item') as end_state,
        max(end_at) filter (where source = 'item') as end_at,
        count(*) filter (where source = 'agent') as agent_n,
        array_agg(node_id) filter (where hop in ('work', 'approval') and node_id is not null) as workers,
        array_agg(coalesce(node_kind, '')) filter (where hop in ('work', 'approval') and node_id is not null) as worker_kinds
      from spans
      where kind = ${kind} and work_item_id is not null
      group by work_item_id, step_id
    ),
    x as (
      select g.*, (g.step_id is not null and g.capability is not null) as is_visit,
        min(g.first_at) over item as item_start,
        max(g.end_state) over item as item_state,
        max(g.end_at) over item as item_end,
        row_number() over w = 1 as first_row,
        lag(g.capability) over w as prev_cap,
        lag(g.handed_off) over w as prev_handed_off,
        coalesce(g.capability = any(array_agg(g.capability) over (w rows between unbounded preceding and 1 preceding)), false) as seen_before,
        lead(g.step_id) over w is null as last_row
      from g
      window item as (partition by g.work_item_id),
        w as (partition by g.work_item_id order by (g.step_id is not null and g.capability is not null), g.first_at, g.step_id)
    ),
    s as (
      select * from x where item_start >= ${from.toISOString()}::timestamptz and item_start < ${to.toISOString()}::timestamptz
    ),
    agent_extra as (
      select g.step_id, sum(a.duration_ms) as ms
      from g join spans a on a.work_item_id = g.work_item_id and a.step_id = g.step_id and a.source = 'agent'
      where g.agent_n > 0
        and not exists (select 1 from spans p
          where p.trace_id = a.trace_id and p.span_id = a.parent_span_id and p.source = 'agent')
        and not exists (select 1 from spans w
          where w.work_item_id = a.work_item_id and w.step_id = a.step_id and w.source = 'hop'
            and w.hop in ('work', 'approval') and w.start_at <= a.start_at and w.end_at >= a.end_at)
      group by g.step_id
    ),
    v as (
      select s.*, s.work_ms + coalesce(ae.ms, 0) as work_total
      from s left join agent_extra ae on ae.step_id = s.step_id
      where s.is_visit
    ),
    step_stats as (
      select capability, count(*) as visits,
        json_build_object('n', count(*), 'total', sum(wait_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by wait_ms)) as wait,
        json_build_object('n', count(*), 'total', sum(work_total),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by work_total)) as work
      from v group by capability
    ),
    node_stats as (
      select v.capability, w.node_id, min(nullif(w.node_kind, '')) as node_kind, count(*) as n
      from v cross join lateral unnest(v.workers, v.worker_kinds) as w(node_id, node_kind)
      group by v.capability, w.node_id
    ),
    edge_stats as (
      select coalesce(prev_cap, 'start') as from_node, capability as to_node, count(*) as n,
        count(*) filter (where not seen_before and coalesce(prev_handed_off, false)) as handoffs,
        count(*) filter (where seen_before) as rework
      from v group by 1, 2
      union all
      select capability, item_state, count(*), 0, 0
      from v where last_row and item_state is not null
      group by 1, 2
    ),
    done_items as (
      select extract(epoch from (item_end - item_start)) * 1000 as lead_ms
      from s where first_row and item_state = 'done'
    )
    select json_build_object(
      'started', (select count(*) from s where first_row),
      'done', (select count(*) from done_items),
      'steps', (select coalesce(json_agg(json_build_object('capability', capability, 'visits', visits,
          'wait', wait, 'work', work)), '[]'::json) from step_stats),
      'nodes', (select coalesce(json_agg(json_build_object('capability', capability, 'nodeId', node_id,
          'nodeKind', node_kind, 'count', n)), '[]'::json) from node_stats),
      'edges', (select coalesce(json_agg(json_build_object('from', from_node, 'to', to_node, 'count', n,
          'handoffs', handoffs, 'rework', rework)), '[]'::json) from edge_stats),
      'lead', (select json_build_object('n', count(*), 'total', sum(lead_ms),
          'p', percentile_disc(array[0.5, 0.85, 0.95]) within group (order by lead_ms)) from done_items),
      'workOfDone', (select coalesce(sum(work_total), 0) from v where item_state = 'done')
    ) as facts`,
      tx,
    );
  });
  const raw = (typeof row?.facts === 'string' ? JSON.parse(row.facts) : row?.facts) as {
    started: number | string;
    done: number | string;
    steps: { capability: string; visits: number | string; wait: RawDist; work: RawDist }[];
    nodes: { capability: string; nodeId: string; nodeKind: string | null; count: number | string }[];
    edges: {
      from: string;
      to: string;
      count: number | string;
      handoffs: number | string;
      rework: number | string;
    }[];
    lead: RawDist;
    workOfDone: number | string;
  };
  return {
    started: Number(raw.started),
    done: Number(raw.done),
    steps: raw.steps.map((s) => ({
      capability: s.capability,
      visits: Number(s.visits),
      wait: dist(s.wait),
      work: dist(s.work),
      nodes: raw.nodes
        .filter((n) => n.capability === s.capability)
        .map((n) => ({ nodeId: n.nodeId, nodeKind: n.nodeKind, count: Number(n.count) })),
    })),
    edges: raw.edges.map((e) => ({
      from: e.from,
      to: e.to,
      count: Number(e.count),
      handoffs: Number(e.handoffs),
      rework: Number(e.rework),
    })),
    lead: dist(raw.lead),
    workOfDoneMs: Number(raw.workOfDone),
  };
}
